"""Install what the clouds need: Debian packages and the services' virtualenv.

Idempotent: the virtualenv records a hash of requirements.txt, constraints.txt
and the Python version; when it matches, nothing is installed.  Every package
is pinned by constraints.txt, so a new release on the registry cannot change
what is installed.
"""
import hashlib
import os
import shutil
import subprocess
import sys

from . import settings
from .procs import HarnessError

# graphviz is not the clouds' but the tests' and docs': downpour graph
# renders with its dot, and the docs draw the demo with it.  mariadb-server
# is Octavia's database (its API deadlocks on SQLite, see README.rst); we run
# our own mysqld, never Debian's service.
# e2fsprogs makes Swift's filesystem (lc/swiftdisk.py); Debian has it already.
APT_PACKAGES = ["rabbitmq-server", "qemu-utils", "graphviz", "mariadb-server", "openssl",
                "e2fsprogs"]
STAMP = ".downpour-localcloud-installed"


def _apt_missing():
    missing = []
    if not os.path.exists("/usr/lib/rabbitmq/bin/rabbitmq-server") or not shutil.which("epmd"):
        missing.append("rabbitmq-server")
    if not shutil.which("qemu-img"):
        missing.append("qemu-utils")
    if not shutil.which("dot"):
        missing.append("graphviz")
    if not os.path.exists(settings.MYSQLD) or not shutil.which("mariadb-install-db"):
        missing.append("mariadb-server")
    if not shutil.which("openssl"):  # makes Octavia's CA at each boot
        missing.append("openssl")
    if not os.path.exists(settings.MKFS_EXT4):
        missing.append("e2fsprogs")
    return missing


def _wanted_hash():
    h = hashlib.sha256()
    for path in (settings.REQUIREMENTS, settings.CONSTRAINTS):
        with open(path, "rb") as f:
            h.update(f.read())
    h.update(sys.version.encode())
    return h.hexdigest()


def venv_ok():
    stamp = os.path.join(settings.VENV, STAMP)
    try:
        with open(stamp) as f:
            return f.read().strip() == _wanted_hash()
    except OSError:
        return False


def install(say):
    """Returns True if anything was installed."""
    did = False
    missing = _apt_missing()
    if missing:
        if os.geteuid() != 0:
            raise HarnessError("missing Debian packages; as root run: apt-get install -y "
                               + " ".join(APT_PACKAGES))
        say("installing Debian packages: " + " ".join(missing))
        _apt_install(missing)
        did = True

    if not venv_ok():
        say(f"installing the OpenStack services into {settings.VENV} (about 2 minutes)")
        py = os.path.join(settings.VENV, "bin", "python")
        if not os.path.exists(py):
            # The base interpreter, also when localcloud runs from a venv (tox).
            base = getattr(sys, "_base_executable", sys.executable)
            _check([base, "-m", "venv", settings.VENV], "creating the virtualenv")
        # pip's output (including one warning per package for every missing
        # local index directory that a machine's pip.conf may name) goes to a log.
        os.makedirs(settings.LOGS, exist_ok=True)
        log = os.path.join(settings.LOGS, "install-pip.log")
        with open(log, "w") as out:
            rc = subprocess.call([py, "-m", "pip", "install", "--disable-pip-version-check",
                                  "-c", settings.CONSTRAINTS, "-r", settings.REQUIREMENTS],
                                 stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if rc != 0:
            with open(log, errors="replace") as f:
                tail = "".join(f.readlines()[-30:])
            raise HarnessError(f"pip install failed (exit {rc}); last lines of {log}:\n{tail}")
        with open(os.path.join(settings.VENV, STAMP), "w") as f:
            f.write(_wanted_hash() + "\n")
        did = True
    return did


def _apt_install(packages):
    # Debian starts services on install; a system-wide RabbitMQ/epmd would
    # listen on every address and take the source cloud's ports, and a
    # system MariaDB would hold port 3306 and run for nothing.  A temporary
    # policy-rc.d (the standard Debian switch) stops that, unless the machine
    # already has one of its own, which we leave alone.
    policy = "/usr/sbin/policy-rc.d"
    ours = not os.path.exists(policy)
    if ours:
        with open(policy, "w") as f:
            f.write("#!/bin/sh\n"
                    "# written by downpour localcloud during apt-get install\n"
                    "exit 101\n")
        os.chmod(policy, 0o755)
    try:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        _check(["apt-get", "update", "-qq"], "apt-get update", env=env)
        _check(["apt-get", "install", "-y", "-qq", *packages],
               "apt-get install", env=env)
    finally:
        if ours:
            os.remove(policy)


def _check(cmd, what, env=None):
    rc = subprocess.call(cmd, env=env)
    if rc != 0:
        raise HarnessError(f"{what} failed (exit {rc}): {' '.join(cmd)}")

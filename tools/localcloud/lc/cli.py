"""localcloud {install,up,down,status,env} [--cloud source|target]"""
import argparse
import contextlib
import fcntl
import os
import sys
import time

from . import install as installer
from . import mariadb
from . import procs
from . import settings
from .cloud import Cloud
from .procs import HarnessError, rss_kib_of_group

USAGE = """\
localcloud install          install Debian packages + the services' virtualenv (idempotent)
localcloud up [CLOUD...]    install, then start the clouds (reuses running ones), write clouds.yaml
localcloud down [CLOUD...]  stop the processes localcloud started (by their PID files)
localcloud status           each service: running? answering? (exit 3 if any is down,
                            4 if all run but one does not answer)
localcloud env              print: export OS_CLIENT_CONFIG_FILE=...
localcloud memory           resident memory of every service (RSS, summed per process group)

CLOUD is source or target (default: both).  Venv: $DOWNPOUR_LOCALCLOUD_VENV
({venv}); state and logs: $DOWNPOUR_LOCALCLOUD_STATE ({state}).
"""


def say(msg):
    print(f"localcloud: {msg}", flush=True)


def _clouds(names):
    return [Cloud(n) for n in (names or settings.CLOUD_NAMES)]


def cmd_install(_args):
    with _locked():
        _install()


def _install():
    t0 = time.monotonic()
    did = installer.install(say)
    say(f"install: {'done' if did else 'nothing to do'} in {time.monotonic() - t0:.0f} s")


@contextlib.contextmanager
def _locked():
    """One install/up/down at a time: tests, tools/demo and a developer may
    all call ``up`` at once, and two boots of one cloud would collide."""
    os.makedirs(settings.STATE, exist_ok=True)
    with open(os.path.join(settings.STATE, ".lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("waiting for another localcloud command to finish")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def cmd_up(args):
    with _locked():
        _install()
        for cloud in _clouds(args.clouds):
            if os.path.exists(cloud.ready_file) and cloud.processes_alive():
                silent = cloud.answering()
                if silent:
                    raise HarnessError(
                        f"{cloud.name}: every process is alive but {', '.join(silent)} does "
                        f"not answer; see {settings.LOGS} (restart: localcloud down {cloud.name})")
                say(f"{cloud.name}: already running")
                continue
            if cloud.any_running():
                # A half-dead cloud cannot be repaired in place (nova-compute
                # with the fake driver cannot restart): stop it and boot it again.
                dead = [s.name for s in cloud.services()
                        if procs.read_pid(cloud.pidfile(s.name)) is None]
                if mariadb.pid() is None:
                    dead.append(mariadb.NAME)
                say(f"{cloud.name}: not ready or not running: "
                    f"{', '.join(dead) or 'start unfinished'}; stopping it to start afresh "
                    f"(logs kept in {settings.LOGS}/previous)")
                cloud.stop()
            cloud.start(say)
        write_clouds_yaml()
    say(f"clouds.yaml: {settings.CLOUDS_YAML}")


def cmd_down(args):
    with _locked():
        _down(args)


def _down(args):
    for cloud in _clouds(args.clouds):
        stopped = cloud.stop()
        say(f"{cloud.name}: " + (f"stopped {', '.join(stopped)}" if stopped else "nothing running"))
    # The database server both clouds share goes with the last cloud.
    if not any(cloud.any_running() for cloud in _clouds(None)) and mariadb.stop():
        say(f"{mariadb.NAME}: stopped")


def cmd_status(args):
    """Exit 0: every cloud ready and answering; 4: every process alive but
    some API did not answer (busy?); 3: a cloud or a service is down."""
    rc = 0
    for cloud in _clouds(args.clouds):
        rows = cloud.status()
        if not any(pid for _s, pid, _ok, _d in rows):
            print(f"{cloud.name}: down")
            rc = 3
            continue
        ready = os.path.exists(cloud.ready_file)
        print(f"{cloud.name}: {'ready' if ready else 'NOT READY (start failed or in progress)'}")
        if not ready:
            rc = 3
        for svc, pid, ok, detail in rows:
            state = "up" if ok else ("DOWN" if pid is None else "SILENT")
            print(f"  {svc.name:<17} {state:<6} pid {pid or '-':<8} {detail}")
            if pid is None:
                rc = 3
            elif not ok and rc == 0:
                rc = 4
    pid, ok, detail = mariadb.status()
    clouds_up = rc != 3 or any(c.any_running() for c in _clouds(args.clouds))
    if pid is not None or clouds_up:
        state = "up" if ok else ("DOWN" if pid is None else "SILENT")
        print("shared (Octavia's database):")
        print(f"  {mariadb.NAME:<17} {state:<6} pid {pid or '-':<8} {detail}")
        if pid is None:
            rc = 3
        elif not ok and rc == 0:
            rc = 4
    print(f"logs: {settings.LOGS}")
    return rc


def cmd_memory(args):
    grand = procs_total = 0
    for cloud in _clouds(args.clouds):
        total = 0
        for svc, pid, _ok, _d in cloud.status():
            if pid is None:
                continue
            kib, n = rss_kib_of_group(pid)
            total += kib
            procs_total += n
            print(f"{cloud.name:<7} {svc.name:<17} {n:>3} proc {kib / 1024:>7.0f} MiB")
        print(f"{cloud.name:<7} {'total':<17} {'':>8} {total / 1024:>7.0f} MiB")
        grand += total
    pid = mariadb.pid()
    if pid is not None:
        kib, n = rss_kib_of_group(pid)
        procs_total += n
        grand += kib
        print(f"{'shared':<7} {mariadb.NAME:<17} {n:>3} proc {kib / 1024:>7.0f} MiB")
    print(f"all     {'total':<17} {procs_total:>3} proc {grand / 1024:>7.0f} MiB")


def cmd_env(_args):
    print(f"export OS_CLIENT_CONFIG_FILE={settings.CLOUDS_YAML}")


def write_clouds_yaml():
    """clouds.yaml with source, target (member users) and *-admin entries.
    Written by hand (JSON strings are valid YAML) so the tool needs no PyYAML."""
    import json
    lines = ["# written by tools/localcloud/localcloud up", "clouds:"]
    for name in settings.CLOUD_NAMES:
        cloud = Cloud(name)
        if not os.path.exists(cloud.ready_file):
            continue
        for entry, user, project, password in (
                (name, cloud.names["member_user"], cloud.names["member_project"],
                 cloud.passwords["member"]),
                (f"{name}-admin", "admin", "admin", cloud.passwords["admin"])):
            lines += [
                f"  {entry}:",
                "    auth:",
                f"      auth_url: {json.dumps(cloud.keystone_url)}",
                f"      username: {json.dumps(user)}",
                f"      password: {json.dumps(password)}",
                f"      project_name: {json.dumps(project)}",
                "      user_domain_name: Default",
                "      project_domain_name: Default",
                f"    region_name: {settings.REGION}",
                "    identity_api_version: 3",
                "    interface: public",
            ]
    tmp = settings.CLOUDS_YAML + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, settings.CLOUDS_YAML)


def main(argv):
    parser = argparse.ArgumentParser(
        prog="localcloud", description="downpour's local OpenStack test clouds",
        epilog=USAGE.format(venv=settings.VENV, state=settings.STATE),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["install", "up", "down", "status", "env", "memory"])
    parser.add_argument("clouds", nargs="*", choices=[[], *settings.CLOUD_NAMES], metavar="CLOUD",
                        help="source or target (default: both)")
    args = parser.parse_args(argv)
    commands = {"install": cmd_install, "up": cmd_up, "down": cmd_down,
                "status": cmd_status, "env": cmd_env, "memory": cmd_memory}
    try:
        return commands[args.command](args) or 0
    except HarnessError as exc:
        print(f"localcloud: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. "localcloud status | head"
        return 0
    except KeyboardInterrupt:
        print("localcloud: interrupted", file=sys.stderr)
        return 130

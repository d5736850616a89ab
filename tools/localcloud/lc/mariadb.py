"""The MariaDB server that holds Octavia's databases, one for both clouds.

Octavia cannot live on SQLite here: its migrations ALTER constraints, its API
opens a second session inside a write transaction (a self-deadlock under
sitecustomize's BEGIN IMMEDIATE) and parallel load balancers ended in ERROR
("database is locked").  One mysqld serves both clouds (a database and a user
each), so it is not a service of either cloud: the first cloud to boot starts
it and ``down`` stops it once no cloud runs.  Its data directory is kept
between boots (initialising one costs seconds); a cloud's database is dropped
and made again when that cloud boots, like its SQLite files.
"""
import os
import shutil
import subprocess
import time

from . import procs
from . import settings
from .procs import HarnessError

NAME = "mariadb"
DATA = os.path.join(settings.MYSQL_DIR, "data")
SOCKET = os.path.join(settings.MYSQL_DIR, "mysqld.sock")
PIDFILE = os.path.join(settings.MYSQL_DIR, "mariadb.pid")


def log():
    return os.path.join(settings.LOGS, "mariadb.log")


def pid():
    return procs.read_pid(PIDFILE)


def database(cloud):
    return f"octavia_{cloud}"


def url(cloud, password):
    return (f"mysql+pymysql://{database(cloud)}:{password}@{settings.HOST}:"
            f"{settings.MYSQL_PORT}/{database(cloud)}?charset=utf8mb4")


def _command():
    return [
        settings.MYSQLD, "--no-defaults", f"--datadir={DATA}", f"--socket={SOCKET}",
        f"--port={settings.MYSQL_PORT}", f"--bind-address={settings.HOST}",
        f"--pid-file={os.path.join(settings.MYSQL_DIR, 'mariadbd.pid')}",
        "--user=root", "--skip-name-resolve", "--skip-log-bin",
        # A test database: small, and durability traded for speed.
        "--performance-schema=OFF", "--innodb-buffer-pool-size=64M",
        "--innodb-log-file-size=32M", "--innodb-flush-log-at-trx-commit=2",
        "--innodb-doublewrite=0",
        # Containers often refuse io_setup()/io_uring; plain I/O always works.
        "--innodb-use-native-aio=0",
        "--max-connections=400",
        "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
    ]


def _sql(statements, what):
    """Run SQL as root over the socket (unix_socket authentication); the SQL
    goes through stdin so that passwords never show in a process list."""
    with open(log(), "ab") as out:
        proc = subprocess.run(["mariadb", "--no-defaults", f"--socket={SOCKET}", "-u", "root"],
                              input=statements.encode(), stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise HarnessError(f"mariadb: {what} failed (exit {proc.returncode}); see {log()}")


def _answers():
    return subprocess.call(["mariadb-admin", "--no-defaults", f"--socket={SOCKET}", "-u", "root",
                            "--connect-timeout=2", "ping"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0


def ensure_running(say, base_env):
    """Start the server unless it runs (the caller holds localcloud's lock)."""
    if pid() is not None:
        return
    if procs.port_open(settings.MYSQL_PORT):
        raise HarnessError(f"cannot start MariaDB: {settings.HOST}:{settings.MYSQL_PORT} is in "
                           "use by a process localcloud did not start")
    os.makedirs(settings.MYSQL_DIR, exist_ok=True)
    os.makedirs(settings.LOGS, exist_ok=True)
    t0 = time.monotonic()
    if not os.path.isdir(os.path.join(DATA, "mysql")):
        shutil.rmtree(DATA, ignore_errors=True)
        with open(log(), "ab") as out:
            rc = subprocess.call(
                ["mariadb-install-db", "--no-defaults", f"--datadir={DATA}", "--user=root",
                 "--auth-root-authentication-method=socket", "--skip-test-db"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if rc != 0:
            raise HarnessError(f"mariadb-install-db failed (exit {rc}); see {log()}")
    procs.spawn(_command(), PIDFILE, log(), base_env, settings.MYSQL_DIR)
    deadline = time.monotonic() + 60
    while not _answers():
        if pid() is None:
            raise HarnessError(f"MariaDB exited during start; see {log()}")
        if time.monotonic() > deadline:
            raise HarnessError(f"MariaDB did not answer within 60 s; see {log()}")
        time.sleep(0.3)
    say(f"mariadb: started ({time.monotonic() - t0:.0f} s)")


def fresh_database(cloud, password):
    db = database(cloud)
    # The names are ours and the password is URL-safe base64: no quoting issue.
    _sql(f"DROP DATABASE IF EXISTS {db};\n"
         f"CREATE DATABASE {db} CHARACTER SET utf8mb4;\n"
         f"CREATE USER IF NOT EXISTS '{db}'@'{settings.HOST}' IDENTIFIED BY '{password}';\n"
         f"ALTER USER '{db}'@'{settings.HOST}' IDENTIFIED BY '{password}';\n"
         f"GRANT ALL PRIVILEGES ON {db}.* TO '{db}'@'{settings.HOST}';\n",
         f"making database {db}")


def status():
    """(pid or None, answering bool, detail)"""
    p = pid()
    if p is None:
        return None, False, "not running"
    ok = procs.port_open(settings.MYSQL_PORT)
    where = f"{settings.HOST}:{settings.MYSQL_PORT}"
    return p, ok, where if ok else f"{where} closed"


def stop():
    # InnoDB flushes on TERM; give it longer than the services get.
    return procs.stop_groups([(NAME, PIDFILE)], grace=30.0)

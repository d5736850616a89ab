"""Starting and stopping the processes of the test clouds.

Every service runs in a session of its own (setsid), so its PID is also its
process-group ID and gunicorn workers, nova's forked workers, erlang helpers
etc. go down with it.  A PID file holds "<pid> <start time>"; the start time
(field 22 of /proc/<pid>/stat) guards against a recycled PID, so ``down``
never signals a process that localcloud did not start.
"""
import os
import signal
import socket
import subprocess
import time


class HarnessError(Exception):
    """An error with a message for the user (no traceback)."""


def _starttime(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces: split after its ')'.
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] == "Z":  # a zombie is as good as dead
        return None
    return fields[19]


def spawn(cmd, pidfile, logfile, env, cwd):
    """Start ``cmd`` in its own session, output to ``logfile``; record its PID."""
    with open(logfile, "ab") as log, open(os.devnull, "rb") as devnull:
        proc = subprocess.Popen(cmd, stdin=devnull, stdout=log, stderr=subprocess.STDOUT,
                                env=env, cwd=cwd, start_new_session=True)
    with open(pidfile, "w") as f:
        f.write(f"{proc.pid} {_starttime(proc.pid)}\n")
    return proc


def read_pid(pidfile):
    """PID recorded in ``pidfile`` if that very process is still alive, else None."""
    try:
        with open(pidfile) as f:
            pid_s, start = f.read().split()
        pid = int(pid_s)
    except (OSError, ValueError):
        return None
    return pid if _starttime(pid) == start else None


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg(0) also succeeds while only zombies remain: look for a live member.
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def stop_groups(pidfiles, grace=10.0):
    """TERM the process group of every live PID file, KILL what is left after
    ``grace`` seconds, and remove the PID files.  Returns the names stopped."""
    groups = {}
    for name, pidfile in pidfiles:
        pid = read_pid(pidfile)
        if pid is not None:
            groups[name] = pid
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_group_alive(g) for g in groups.values()):
        time.sleep(0.2)
    for pgid in groups.values():
        if _group_alive(pgid):
            # e.g. cinder services ignore TERM for a long time.
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for _name, pidfile in pidfiles:
        try:
            os.remove(pidfile)
        except FileNotFoundError:
            pass
    return sorted(groups)


def port_open(port, host="127.0.0.1", timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_answers(url, timeout=10.0):
    """True if anything answers HTTP at ``url`` (any status, 401 included)."""
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def rss_kib_of_group(pgid):
    """Summed VmRSS (KiB) of the live processes in a process group."""
    total = 0
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) != pgid:
                continue
            with open(f"/proc/{entry}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        count += 1
        except (OSError, ValueError):
            continue
    return total, count

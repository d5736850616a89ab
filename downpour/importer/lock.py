"""One import of an output directory at a time.

Two ``ansible-playbook`` runs of one playbook at once would each find
nothing made and make everything, twice.  The playbook's tasks are
processes of their own, so the lock cannot be held open from one task to
the next: it names the ``ansible-playbook`` process the module runs under
(its PID and start time, which tell it from a later process given the same
PID), and holds for as long as that process lives.  The tasks of one run
share it; another run stops at once, naming it.  Where the system shows no
processes (no /proc), the lock names the module's own process.

A killed ``ansible-playbook`` does not stop the module it started, which
goes on working under another parent while the lock names a dead process.
So each module also holds a second file locked (``BUSY``) for as long as
it lives: the kernel lets go of it when the process ends, however it ends,
and a run that finds it held stops until that module is done.
"""

import fcntl
import os

from .kind import ImportFailed

LOCK = '.downpour-import.lock'
BUSY = '.downpour-import.busy'
# The BUSY files this process holds, by directory: open until it ends.
_busy = {}


def _stat(pid):
    """(parent PID, start time) of process ``pid``; None when it is
    gone."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as stream:
            data = stream.read()
    except OSError:
        return None
    # The command's name, in parentheses, may hold anything: the fields
    # are those after its last ')'.
    fields = data[data.rindex(b')') + 2:].split()
    return int(fields[1]), fields[19].decode('ascii')


def _is_playbook(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as stream:
            args = stream.read().split(b'\0')[:2]
    except OSError:
        return False
    return any(os.path.basename(arg) == b'ansible-playbook' for arg in args)


def owner():
    """(PID, start time) of the ansible-playbook this process runs under,
    else of this process.  ansible-playbook forks a worker per task, which
    is ansible-playbook too: the one named is the first of them, which
    every task of the run shares."""
    pid, found = os.getpid(), None
    while pid > 1:
        stat = _stat(pid)
        if stat is None:
            break
        if _is_playbook(pid):
            found = (pid, stat[1])
        elif found is not None:
            break
        pid = stat[0]
    if found is not None:
        return found
    stat = _stat(os.getpid())
    return os.getpid(), stat[1] if stat else '0'


def _open(path):
    """A lock file of the owner's alone, never through a link."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise ImportFailed('%s: cannot take the lock: %s'
                           % (path, exc.strerror or exc)) from None


def _hold_busy(directory):
    """Hold ``directory``'s BUSY file for as long as this process lives,
    or fail naming the module that holds it."""
    key = os.path.realpath(directory)
    if key in _busy:
        return
    path = os.path.join(directory, BUSY)
    fd = _open(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        held = os.pread(fd, 32, 0).decode('ascii', 'replace').strip()
        os.close(fd)
        raise ImportFailed(
            'an import of this output directory is still working (process '
            '%s), though the ansible-playbook that started it may be gone: '
            'wait for it to end; two at once would make everything twice'
            % (held or 'unknown')) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, ('%d\n' % os.getpid()).encode('ascii'), 0)
    _busy[key] = fd


def hold(directory):
    """Take the lock of the output directory ``directory`` for this run,
    or fail naming the run that holds it."""
    path = os.path.join(directory, LOCK)
    me = owner()
    fd = _open(path)
    try:
        # Briefly, while one run reads and writes who holds it.
        fcntl.flock(fd, fcntl.LOCK_EX)
        held = os.pread(fd, 128, 0).decode('ascii', 'replace').split()
        if len(held) == 2 and held[0].isdigit() and \
                (int(held[0]), held[1]) != me:
            alive = _stat(int(held[0]))
            if alive is not None and alive[1] == held[1]:
                raise ImportFailed(
                    'another import of this output directory is running '
                    '(ansible-playbook, process %s): wait for it to end; '
                    'two at once would make everything twice' % held[0])
        # Once no live run is named: a run that is alive is named by its
        # ansible-playbook, the one the user sees.
        _hold_busy(directory)
        os.ftruncate(fd, 0)
        os.pwrite(fd, ('%d %s\n' % me).encode('ascii'), 0)
        os.fsync(fd)
    finally:
        os.close(fd)

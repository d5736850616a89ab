"""The output directory of an export: one writer at a time, private to its
owner, and a record of the export that writes it.

An export takes an exclusive lock on OUTPUT_DIR/.downpour.lock for its whole
run, so that a second export into the same directory stops at once instead
of writing the same blobs (one truncating the .part the other fills).  The
lock is flock(2): the kernel drops it when the process ends, however it
ends, so a killed export leaves no stale lock.  An export that fails
before it writes anything (a name the source does not have, too little
free space) removes its lock file, and the directory if it made it: the
directory is left as the user had it.

``.downpour-export.json`` says when the export that writes the directory
began and whether it finished.  A run that finds an unfinished export there
continues it (its captures are its own, taken at its start); a run that
finds a finished one is a new export, whose captures must be new.
"""

import contextlib
import datetime
import errno
import fcntl
import json
import logging
import os
import stat

from downpour.errors import DownpourError

LOG = logging.getLogger(__name__)

LOCK = '.downpour.lock'
STATE = '.downpour-export.json'


class Busy(DownpourError):
    """Another export is writing the output directory."""


def now():
    return datetime.datetime.now(datetime.UTC)


def iso(moment):
    return moment.isoformat(timespec='seconds')


def parse(text):
    try:
        moment = datetime.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def nofollow(path, flags):
    """os.open's opener that never follows a link at ``path``: one planted
    there would have downpour write through it into another file."""
    return os.open(path, flags | os.O_NOFOLLOW, 0o600)


def _missing(path):
    """``path`` and those of its parents that do not exist, top first."""
    missing = []
    path = os.path.abspath(path)
    while not os.path.lexists(path):
        missing.insert(0, path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return missing


def make_private(path):
    """Create ``path`` readable by its owner only; warn when it exists and
    others may read it (the blobs hold disks: keys, databases, tokens).
    Refuse one that another user owns or may write into: they could plant
    links where downpour writes, or change the blobs.  Returns the
    directories it created (see remove_created)."""
    created = _missing(path)
    try:
        os.makedirs(path, mode=0o700)
    except FileExistsError:
        info = os.stat(path)
        mode = stat.S_IMODE(info.st_mode)
        if not stat.S_ISDIR(info.st_mode):
            # Before the checks of a directory's mode, which would warn
            # of a file that others can read.
            raise DownpourError(
                'the output directory %s is a file, not a directory: give '
                'a new or existing directory' % path) from None
        if info.st_uid != os.geteuid():
            raise DownpourError(
                'the output directory %s belongs to another user (uid %d): '
                'export into a directory of your own'
                % (path, info.st_uid)) from None
        if mode & 0o022:
            raise DownpourError(
                'other users may write into the output directory %s (mode '
                '%04o): chmod go-w %s, or export into another directory'
                % (path, mode, path)) from None
        if mode & 0o077:
            LOG.warning('%s can be read by other users (mode %04o); the '
                        'files downpour writes in it are private, but '
                        'consider chmod 700 %s', path, mode, path)
        _restrict(path)
    except OSError as exc:
        raise DownpourError('cannot create the output directory %s: %s'
                            % (path, exc.strerror or exc)) from None
    return created


def _restrict(path):
    """What an earlier export (or version) left readable to others, under
    a directory it wrote, becomes its owner's only."""
    me = os.geteuid()
    for top, dirs, files in os.walk(path):
        for name, mode in [(d, 0o700) for d in dirs] + \
                [(f, 0o600) for f in files]:
            full = os.path.join(top, name)
            info = os.lstat(full)
            if info.st_uid == me and not stat.S_ISLNK(info.st_mode) and \
                    stat.S_IMODE(info.st_mode) & 0o077:
                os.chmod(full, stat.S_IMODE(info.st_mode) & mode)


@contextlib.contextmanager
def private_files():
    """Files and directories created meanwhile are their owner's only."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


class _Held:
    """The lock an export holds; ``discard()`` has it removed on release,
    for a run that leaves the directory as it found it."""

    def __init__(self, path):
        self.path = path
        self.remove = False

    def discard(self):
        self.remove = True


def _open_lock(path, lock_path):
    try:
        return nofollow(lock_path, os.O_RDWR | os.O_CREAT)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DownpourError('%s is a symbolic link, which downpour '
                                'does not follow: remove it' % lock_path
                                ) from None
        raise DownpourError('cannot lock the output directory %s: %s'
                            % (path, exc.strerror or exc)) from None


def _still_there(fd, lock_path):
    """Whether the file locked is still the one at ``lock_path``: a run
    that failed early removes its lock file, and one that opened it just
    before holds a lock on a file nobody else will open."""
    try:
        there = os.stat(lock_path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (there.st_dev, there.st_ino) == (mine.st_dev, mine.st_ino)


@contextlib.contextmanager
def locked(path):
    """Hold the output directory's lock, or stop at once naming who does."""
    lock_path = os.path.join(path, LOCK)
    while True:
        fd = _open_lock(path, lock_path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            try:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                    raise
                holder = os.pread(fd, 32, 0).decode(
                    'ascii', 'replace').strip()
            finally:
                os.close(fd)
            raise Busy('%s is in use by another export (process %s); wait '
                       'for it to finish, or export into another directory'
                       % (path, holder or 'unknown')) from None
        if _still_there(fd, lock_path):
            break
        os.close(fd)
    held = _Held(lock_path)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, b'%d\n' % os.getpid(), 0)
        yield held
    finally:
        if held.remove:
            # Removed while still held: see _still_there.
            with contextlib.suppress(OSError):
                os.unlink(lock_path)
        os.close(fd)  # releases the lock


def remove_created(created):
    """Remove the directories a failed run created, deepest first, if
    they are empty: the user is not left a directory that holds nothing
    (or only a lock) to wonder about."""
    for directory in reversed(created):
        try:
            os.rmdir(directory)
        except OSError:
            return


class ExportState:
    """When the export writing a directory began, and whether it is done."""

    def __init__(self, path, fresh=False):
        self.path = os.path.join(path, STATE)
        previous = {} if fresh else self._read()
        # A run after an unfinished one continues it: same start.
        self.resuming = bool(previous) and not previous.get('finished_at') \
            and parse(previous.get('started_at')) is not None
        # Whole seconds, as every time downpour writes down.
        self.started_at = parse(previous['started_at']) if self.resuming \
            else now().replace(microsecond=0)

    def _read(self):
        try:
            with open(self.path, encoding='utf-8') as stream:
                data = json.load(stream)
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data):
        tmp = self.path + '.tmp'
        with open(tmp, 'w', encoding='utf-8', opener=nofollow) as stream:
            json.dump(data, stream)
        os.replace(tmp, self.path)

    def begin(self):
        self._write({'started_at': iso(self.started_at)})

    def finish(self):
        self._write({'started_at': iso(self.started_at),
                     'finished_at': iso(now())})

    def owns(self, captured_at):
        """Whether a capture taken at ``captured_at`` (ISO text) belongs to
        this export: taken since it began."""
        moment = parse(captured_at)
        return moment is not None and moment >= self.started_at

"""The output directory of an export: one writer at a time, private to its
owner, and a record of the export that writes it.

An export takes an exclusive lock on OUTPUT_DIR/.downpour.lock for its whole
run, so that a second export into the same directory stops at once instead
of writing the same blobs (one truncating the .part the other fills).  The
lock is flock(2): the kernel drops it when the process ends, however it
ends, so a killed export leaves no stale lock.

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


def make_private(path):
    """Create ``path`` readable by its owner only; warn when it exists and
    others may read it (the blobs hold disks: keys, databases, tokens).
    Refuse one that another user owns or may write into: they could plant
    links where downpour writes, or change the blobs."""
    try:
        os.makedirs(path, mode=0o700)
    except FileExistsError:
        info = os.stat(path)
        mode = stat.S_IMODE(info.st_mode)
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


@contextlib.contextmanager
def locked(path):
    """Hold the output directory's lock, or stop at once naming who does."""
    lock_path = os.path.join(path, LOCK)
    try:
        fd = nofollow(lock_path, os.O_RDWR | os.O_CREAT)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DownpourError('%s is a symbolic link, which downpour '
                                'does not follow: remove it' % lock_path
                                ) from None
        raise DownpourError('cannot lock the output directory %s: %s'
                            % (path, exc.strerror or exc)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise
            holder = os.pread(fd, 32, 0).decode('ascii', 'replace').strip()
            raise Busy('%s is in use by another export (process %s); wait '
                       'for it to finish, or export into another directory'
                       % (path, holder or 'unknown')) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, b'%d\n' % os.getpid(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


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

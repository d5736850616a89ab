"""How blob transfers are shown: a bar redrawn on a terminal, one quiet
line per blob anywhere else (logs, CI), or nothing (``-q``).

transfer.py tells the current reporter when a blob starts, each chunk that
arrives, and how the blob ended; it does so from several threads at once,
so reporters lock what they share.  The reporter is chosen by the command
(see :func:`for_console`) and found by the transfer with :func:`current`,
which keeps it out of the export's signature; outside a command, the lines
go to the ``downpour.transfer`` logger.
"""

import contextlib
import contextvars
import logging
import shutil
import threading
import time

LOG = logging.getLogger('downpour.transfer')

_CURRENT = contextvars.ContextVar('downpour_progress', default=None)
REDRAW_SECONDS = 0.2


def human(size):
    """A byte count for people: 512 B, 3.0 KiB, 12.5 MiB, 1.00 GiB."""
    if size is None:
        return '? B'
    if size < 1024:
        return '%d B' % size
    for unit in ('KiB', 'MiB', 'GiB'):
        size /= 1024.0
        if size < 1024 or unit == 'GiB':
            return ('%.2f %s' if unit == 'GiB' else '%.1f %s') % (size, unit)
    raise AssertionError('unreachable')


class Reporter:
    """Says nothing (``-q``); the base of the others."""

    def start(self, blob, total, offset=0):
        """``blob`` starts downloading: ``total`` bytes (None if unknown),
        ``offset`` of them kept from an earlier, interrupted export."""

    def advance(self, blob, nbytes):
        """``nbytes`` more bytes of ``blob`` arrived."""

    def finish(self, blob, received, seconds):
        """``blob`` is verified: ``received`` bytes came over the network."""

    def skip(self, blob):
        """``blob`` was verified by an earlier export."""

    def note(self, blob, message):
        """Something worth a line: a retry, a restart."""

    def close(self):
        """The transfers are over."""


class Lines(Reporter):
    """One line per blob, and one per retry: for logs and CI."""

    def __init__(self, write):
        self._write = write

    def start(self, blob, total, offset=0):
        if offset:
            self._write('%s: resuming at %s of %s' % (
                blob.what, human(offset), human(total)))

    def finish(self, blob, received, seconds):
        rate = received / seconds if seconds > 0 else 0
        self._write('%s: %s verified (%s received in %.1f s, %s/s)' % (
            blob.what, human(blob.size), human(received), seconds,
            human(int(rate))))

    def skip(self, blob):
        self._write('%s: already downloaded and verified' % blob.what)

    def note(self, blob, message):
        self._write('%s: %s' % (blob.what, message))


class Bar(Lines):
    """A bar on the terminal's last line for all blobs together, redrawn
    at most every REDRAW_SECONDS; the per-blob lines are printed above it.
    """

    def __init__(self, stream):
        super().__init__(self._print_above)
        self._stream = stream
        self._lock = threading.Lock()
        self._totals = {}
        self._done = {}
        self._finished = set()
        self._skipped = 0
        self._received = 0
        self._started = None
        self._drawn_at = 0.0
        self._shown = False

    def start(self, blob, total, offset=0):
        with self._lock:
            if self._started is None:
                # The rate is of the transfers, not of the login before.
                self._started = time.monotonic()
            self._totals[id(blob)] = total or 0
            self._done[id(blob)] = offset
        super().start(blob, total, offset)

    def advance(self, blob, nbytes):
        with self._lock:
            self._done[id(blob)] = self._done.get(id(blob), 0) + nbytes
            self._received += nbytes
            if time.monotonic() - self._drawn_at >= REDRAW_SECONDS:
                self._draw()

    def finish(self, blob, received, seconds):
        with self._lock:
            self._finished.add(id(blob))
            self._totals[id(blob)] = self._done[id(blob)] = blob.size or 0
        super().finish(blob, received, seconds)

    def skip(self, blob):
        with self._lock:
            self._skipped += 1
        super().skip(blob)

    def close(self):
        with self._lock:
            self._clear()

    def _print_above(self, text):
        with self._lock:
            self._clear()
            self._stream.write(text + '\n')
            self._draw()

    def _clear(self):
        if self._shown:
            self._stream.write('\r\x1b[K')
            self._stream.flush()
            self._shown = False

    def _draw(self):
        total = sum(self._totals.values())
        done = sum(self._done.values())
        fraction = min(1.0, done / total) if total else 0.0
        elapsed = max(time.monotonic() - (self._started or 0), 1e-6)
        width = shutil.get_terminal_size((80, 24)).columns
        text = ' %3d%%  %s / %s  %s/s  blobs: %d done, %d running' % (
            fraction * 100, human(done), human(total),
            human(int(self._received / elapsed)),
            len(self._finished) + self._skipped,
            len(self._totals) - len(self._finished))
        cells = max(10, min(40, width - len(text) - 3))
        filled = int(fraction * cells)
        line = ('[' + '#' * filled + '.' * (cells - filled) + ']' + text)
        self._stream.write('\r' + line[:width - 1] + '\x1b[K')
        self._stream.flush()
        self._shown = True
        self._drawn_at = time.monotonic()


def for_console(stream, verbose_level=1):
    """The reporter a command uses: nothing with ``-q``, a bar when
    ``stream`` is a terminal, lines otherwise."""
    if verbose_level < 1:
        return Reporter()
    if getattr(stream, 'isatty', lambda: False)():
        return Bar(stream)

    def write(text):
        stream.write(text + '\n')
        stream.flush()
    return Lines(write)


def current():
    """The reporter in use: the command's, or lines to the log."""
    return _CURRENT.get() or Lines(LOG.info)


@contextlib.contextmanager
def using(reporter):
    """Report the transfers made inside the block with ``reporter``."""
    token = _CURRENT.set(reporter)
    try:
        yield reporter
    finally:
        _CURRENT.reset(token)
        reporter.close()

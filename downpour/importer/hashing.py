"""Several digests of one stream of bytes, computed side by side.

Each algorithm has a thread of its own, fed the same chunks through a short
queue: hashlib lets go of the GIL while it hashes a large chunk, so sha512,
md5 and sha256 of a blob take about as long as the slowest of them alone,
on another core than the download.  The queues are short, so the bytes in
memory are a few chunks whatever the blob's size, and a download is never
more than ``depth`` chunks ahead of the slowest hash.

Both sides use it: the export as a blob arrives, the import as it sends it
(so it is here, among the import's module_utils).
"""

import hashlib
import queue
import threading

# Chunks a hash may fall behind the download by, per algorithm.
DEPTH = 2
_END = object()


def hasher(algo):
    """hashlib's; ValueError for an algorithm it does not know."""
    try:
        return hashlib.new(algo)
    except (TypeError, ValueError):
        raise ValueError('unknown hash algorithm %r' % (algo,)) from None


class Digests:
    """The digests, by algorithm, of the chunks given to :meth:`update`.

    :meth:`result` waits for the hashes and gives them; :meth:`close` (also
    on leaving a ``with``) stops them, whatever their state, so that no
    thread outlives a failed download.
    """

    def __init__(self, algos, depth=DEPTH):
        self._hashers = {algo: hasher(algo) for algo in dict.fromkeys(algos)}
        self._stopped = False
        self._result = None
        self._errors = []
        self._lanes = []
        for algo, one in self._hashers.items():
            lane = queue.Queue(maxsize=max(1, depth))
            thread = threading.Thread(target=self._run, args=(one, lane),
                                      name='downpour-%s' % algo, daemon=True)
            thread.start()
            self._lanes.append((lane, thread))

    def _run(self, one, lane):
        while True:
            chunk = lane.get()
            if chunk is _END:
                return
            if self._stopped or self._errors:
                continue  # drained, so that update() never waits forever
            try:
                one.update(chunk)
            except Exception as exc:  # noqa: BLE001 - raised by result()
                self._errors.append(exc)

    def update(self, chunk):
        if self._result is not None or self._stopped:
            raise ValueError('these digests are finished')
        for lane, _ in self._lanes:
            lane.put(chunk)

    def _end(self):
        for lane, thread in self._lanes:
            lane.put(_END)
            thread.join()
        self._lanes = []

    def result(self):
        """{algorithm: hex digest} of every chunk given."""
        if self._result is None:
            if self._stopped:
                raise ValueError('these digests were stopped')
            self._end()
            if self._errors:
                raise self._errors[0]
            self._result = {algo: one.hexdigest()
                            for algo, one in self._hashers.items()}
        return dict(self._result)

    def close(self):
        if self._result is None:
            self._stopped = True
            self._end()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def of_file(path, algos, chunk_size, check=None, opener=None):
    """Digests of the file at ``path``, read once; ``check`` is called
    before each chunk (it raises to stop)."""
    with Digests(algos) as digests, \
            open(path, 'rb', opener=opener) as stream:
        for chunk in iter(lambda: stream.read(chunk_size), b''):
            if check is not None:
                check()
            digests.update(chunk)
        return digests.result()

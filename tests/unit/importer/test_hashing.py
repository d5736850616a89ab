"""Digests side by side: the same as hashlib's one after the other, each
in a thread of its own, never more than a few chunks held, and no thread
left behind."""

import hashlib
import os
import threading

import pytest

from downpour.importer import hashing

ALGOS = ('sha512', 'sha256', 'md5')


def _chunks():
    return [os.urandom(size) for size in (1, 4096, 1 << 20, 3, 70000, 0)]


def test_the_digests_are_hashlibs():
    chunks = _chunks()
    with hashing.Digests(ALGOS) as digests:
        for chunk in chunks:
            digests.update(chunk)
        got = digests.result()
    assert got == {algo: hashlib.new(algo, b''.join(chunks)).hexdigest()
                   for algo in ALGOS}
    assert list(got) == list(ALGOS)


def test_one_algorithm_named_twice_is_hashed_once():
    with hashing.Digests(('md5', 'sha256', 'md5')) as digests:
        digests.update(b'abc')
        assert digests.result() == {
            'md5': hashlib.md5(b'abc').hexdigest(),  # noqa: S324
            'sha256': hashlib.sha256(b'abc').hexdigest()}


def test_each_algorithm_hashes_in_a_thread_of_its_own(monkeypatch):
    threads = {}
    real = hashing.hasher

    class Recorded:
        def __init__(self, algo):
            self.algo, self.real = algo, real(algo)

        def update(self, chunk):
            threads.setdefault(self.algo, set()).add(threading.get_ident())
            self.real.update(chunk)

        def hexdigest(self):
            return self.real.hexdigest()

    monkeypatch.setattr(hashing, 'hasher', Recorded)
    with hashing.Digests(ALGOS) as digests:
        for chunk in _chunks():
            digests.update(chunk)
        digests.result()
    assert sorted(threads) == sorted(ALGOS)
    idents = [ident for algo in ALGOS for ident in threads[algo]]
    assert len(idents) == len(set(idents)) == len(ALGOS)
    assert threading.get_ident() not in idents


def test_a_slow_hash_holds_back_the_stream_after_a_few_chunks(monkeypatch):
    """Memory flat: while one hash is stuck, update() waits once the chunks
    queued for it are ``depth``; so the chunks alive are bounded however
    long the stream."""
    gate = threading.Event()
    real = hashing.hasher

    class Stuck:
        def __init__(self, algo):
            self.real = real(algo)

        def update(self, chunk):
            gate.wait(30)
            self.real.update(chunk)

        def hexdigest(self):
            return self.real.hexdigest()

    monkeypatch.setattr(hashing, 'hasher', Stuck)
    given = []
    digests = hashing.Digests(('sha256',), depth=2)

    def feed():
        for n in range(100):
            digests.update(b'%d' % n)
            given.append(n)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    feeder.join(1.0)
    # One chunk in the hash, two queued: the fourth update waits.
    assert len(given) == 3
    gate.set()
    feeder.join(30)
    assert len(given) == 100
    assert digests.result()['sha256'] == hashlib.sha256(
        b''.join(b'%d' % n for n in range(100))).hexdigest()


def test_closing_stops_every_thread_even_with_chunks_queued(monkeypatch):
    before = set(threading.enumerate())
    digests = hashing.Digests(ALGOS, depth=2)
    digests.update(os.urandom(1 << 20))
    digests.close()
    assert set(threading.enumerate()) == before
    with pytest.raises(ValueError):
        digests.update(b'more')
    with pytest.raises(ValueError):
        digests.result()


def test_a_failing_hash_is_raised_not_hidden(monkeypatch):
    class Broken:
        def __init__(self, algo):
            pass

        def update(self, chunk):
            raise MemoryError('no room')

    monkeypatch.setattr(hashing, 'hasher', Broken)
    digests = hashing.Digests(('sha256',), depth=1)
    for _ in range(10):  # the failed thread still drains its queue
        digests.update(b'x' * 4096)
    with pytest.raises(MemoryError):
        digests.result()


def test_an_unknown_algorithm_is_a_value_error_and_starts_nothing():
    before = set(threading.enumerate())
    with pytest.raises(ValueError, match="'rot13'"):
        hashing.Digests(('sha256', 'rot13'))
    assert set(threading.enumerate()) == before


def test_of_file_reads_the_file_once_and_can_be_stopped(tmp_path):
    data = os.urandom(5 * 1000 + 7)
    path = tmp_path / 'blob'
    path.write_bytes(data)
    calls = []
    got = hashing.of_file(str(path), ALGOS, 1000,
                          lambda: calls.append(1))
    assert got == {a: hashlib.new(a, data).hexdigest() for a in ALGOS}
    assert len(calls) == 6

    def stop():
        raise KeyError('interrupted')

    before = set(threading.enumerate())
    with pytest.raises(KeyError):
        hashing.of_file(str(path), ALGOS, 1000, stop)
    assert set(threading.enumerate()) == before

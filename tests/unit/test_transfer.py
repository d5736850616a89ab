"""Blob transfer: streamed in chunks, verified, renamed only when complete,
not downloaded again once verified, resumed after an interruption, retried
on network failures, and with a token renewed when the cloud refuses it."""

import datetime
import hashlib
import io
import json
import os
import threading
import time
import tracemalloc
from unittest import mock

import pytest

from downpour import outdir, progress, transfer
from downpour.errors import TransferError
from downpour.importer import hashing
from downpour.resources.base import Blob
from tests.unit.resources import sample

ID = sample.IMAGE


def _blob(data, algo='sha512'):
    return Blob(kind='image', file_id=ID, source_id=ID,
                what="image 'cirros' (%s)" % ID, hash_algo=algo,
                hash_value=hashlib.new(algo, data).hexdigest())


def _serve(fake_cloud, data, md5=None):
    return fake_cloud.get(
        'image', '/images/%s/file' % ID, content=data,
        headers={'Content-MD5': md5 or hashlib.md5(data).hexdigest()})  # noqa: S324


def test_download_is_verified_and_renamed(fake_cloud, tmp_path):
    data = os.urandom(3 * transfer.CHUNK_SIZE + 17)
    _serve(fake_cloud, data)
    (tmp_path / 'blobs').mkdir()
    blob = _blob(data)
    transfer.fetch(fake_cloud.connect(), blob, str(tmp_path))
    assert (tmp_path / 'blobs' / ID).read_bytes() == data
    assert not (tmp_path / 'blobs' / (ID + '.part')).exists()
    assert blob.size == len(data)


def test_blob_and_stamp_reach_the_disk_before_they_are_renamed(
        fake_cloud, tmp_path, monkeypatch):
    """After a crash, a blob or a stamp under its final name must hold all
    its bytes: each is flushed before its rename, and the directory after."""
    data = os.urandom(transfer.CHUNK_SIZE + 5)
    _serve(fake_cloud, data)
    (tmp_path / 'blobs').mkdir()
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(('fsync', os.readlink('/proc/self/fd/%d' % fd)))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(('replace', os.path.abspath(src),
                       os.path.abspath(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(transfer.os, 'fsync', fsync)
    monkeypatch.setattr(transfer.os, 'replace', replace)
    transfer.fetch(fake_cloud.connect(), _blob(data), str(tmp_path))

    blobs = str(tmp_path / 'blobs')
    final = os.path.join(blobs, ID)
    renames = [e for e in events if e[0] == 'replace']
    # (The resume information, <uuid>.part.json, is written the same way.)
    assert [e[2] for e in renames][-2:] == [final, final + '.verified']
    for _, src, dst in renames:
        at = events.index(('replace', src, dst))
        assert events[at - 1] == ('fsync', src)
        assert events[at + 1] == ('fsync', blobs)


def test_md5_checksum_when_no_multihash(fake_cloud, tmp_path):
    data = b'old glance'
    _serve(fake_cloud, data)
    (tmp_path / 'blobs').mkdir()
    transfer.fetch(fake_cloud.connect(), _blob(data, 'md5'), str(tmp_path))
    assert (tmp_path / 'blobs' / ID).read_bytes() == data


def test_mismatch_names_the_resource_and_keeps_nothing(fake_cloud,
                                                       tmp_path):
    _serve(fake_cloud, b'corrupted bytes')
    (tmp_path / 'blobs').mkdir()
    with pytest.raises(TransferError) as err:
        transfer.fetch(fake_cloud.connect(), _blob(b'good bytes'),
                       str(tmp_path))
    assert "image 'cirros'" in str(err.value)
    assert 'checksum mismatch' in str(err.value)
    assert os.listdir(tmp_path / 'blobs') == []


def test_part_file_is_never_taken_as_complete(fake_cloud, tmp_path):
    data = b'complete image'
    matcher = _serve(fake_cloud, data)
    blobs = tmp_path / 'blobs'
    blobs.mkdir()
    (blobs / (ID + '.part')).write_bytes(data[:5])
    transfer.fetch(fake_cloud.connect(), _blob(data), str(tmp_path))
    assert matcher.call_count == 1
    assert (blobs / ID).read_bytes() == data


def test_verified_blob_is_not_downloaded_again(fake_cloud, tmp_path):
    data = b'image bytes' * 100
    matcher = _serve(fake_cloud, data)
    (tmp_path / 'blobs').mkdir()
    conn = fake_cloud.connect()
    transfer.fetch(conn, _blob(data), str(tmp_path))
    transfer.fetch(conn, _blob(data), str(tmp_path))
    assert matcher.call_count == 1


def test_ctrl_c_stops_the_check_of_a_verified_blob_at_once(fake_cloud,
                                                           tmp_path):
    """A run again reads each verified blob to check it: Ctrl-C (the
    export's cancel event) during that read stops it within the few chunks
    the hash may lag behind, not at the blob's end, and the blob is not
    taken as checked."""
    count = 16
    data = bytes(range(256)) * (count * transfer.CHUNK_SIZE // 256)
    _serve(fake_cloud, data)
    (tmp_path / 'blobs').mkdir()
    conn = fake_cloud.connect()
    transfer.fetch(conn, _blob(data), str(tmp_path))
    cancel = threading.Event()
    chunks = []
    real = hashing.hasher

    class Interrupted:
        """Hashes, and Ctrl-C comes with the first chunk."""

        def __init__(self, hasher):
            self.hasher = hasher

        def update(self, chunk):
            chunks.append(len(chunk))
            cancel.set()
            self.hasher.update(chunk)

        def hexdigest(self):
            return self.hasher.hexdigest()

    with mock.patch.object(hashing, 'hasher',
                           lambda *a: Interrupted(real(*a))), \
            pytest.raises(TransferError, match='interrupted'):
        transfer.fetch(conn, _blob(data), str(tmp_path), cancel=cancel)
    # The first chunk, and at most those already queued behind it.
    assert 1 <= len(chunks) <= hashing.DEPTH + 2 < count


def test_truncated_blob_is_downloaded_again(fake_cloud, tmp_path):
    data = b'image bytes' * 100
    matcher = _serve(fake_cloud, data)
    (tmp_path / 'blobs').mkdir()
    conn = fake_cloud.connect()
    transfer.fetch(conn, _blob(data), str(tmp_path))
    with open(tmp_path / 'blobs' / ID, 'r+b') as stream:
        stream.truncate(10)
    transfer.fetch(conn, _blob(data), str(tmp_path))
    assert matcher.call_count == 2
    assert (tmp_path / 'blobs' / ID).read_bytes() == data


def test_refused_download_is_a_transfer_error(fake_cloud, tmp_path):
    fake_cloud.get('image', '/images/%s/file' % ID, status_code=403)
    (tmp_path / 'blobs').mkdir()
    with pytest.raises(TransferError, match='HTTP 403'):
        transfer.fetch(fake_cloud.connect(), _blob(b'x'), str(tmp_path))


# --- resuming, retrying, renewing ------------------------------------------

@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    """Retries happen at once; the delays asked for are recorded."""
    delays = []
    monkeypatch.setattr(transfer.time, 'sleep', delays.append)
    return delays


def _leave_part(tmp_path, data, image_id=ID, algo='sha512'):
    """What an export killed after ``data`` leaves in blobs/."""
    blobs = tmp_path / 'blobs'
    blobs.mkdir(exist_ok=True)
    (blobs / (ID + '.part')).write_bytes(data)
    full_hash = _blob(FULL).hash_value
    (blobs / (ID + '.part.json')).write_text(json.dumps({
        'image_id': image_id, 'hash_algo': algo, 'hash_value': full_hash}))


FULL = bytes(range(256)) * 40000   # 10 MB, not a whole number of chunks


def _ranged(request, context):
    """Glance's answer to GET /file, with or without a Range."""
    wanted = request.headers.get('Range')
    if not wanted:
        return FULL
    start = int(wanted.split('=')[1].rstrip('-'))
    context.status_code = 206
    context.headers['Content-Range'] = 'bytes %d-%d/%d' % (
        start, len(FULL) - 1, len(FULL))
    return FULL[start:]


def _in_turn(fake_cloud, responses):
    """GET /file answers with each of ``responses`` in turn."""
    return fake_cloud.mocker.get(
        fake_cloud.url('image', '/images/%s/file' % ID), responses)


def test_interrupted_export_is_resumed_with_range(fake_cloud, tmp_path):
    kept = 3 * transfer.CHUNK_SIZE + 5
    _leave_part(tmp_path, FULL[:kept])
    matcher = fake_cloud.get('image', '/images/%s/file' % ID,
                             content=_ranged)
    lines = []
    transfer.fetch(fake_cloud.connect(), _blob(FULL), str(tmp_path),
                   reporter=progress.Lines(lines.append))
    assert matcher.call_count == 1
    assert matcher.last_request.headers['Range'] == 'bytes=%d-' % kept
    assert (tmp_path / 'blobs' / ID).read_bytes() == FULL
    assert sorted(os.listdir(tmp_path / 'blobs')) == [ID, ID + '.verified']
    assert lines[0].startswith("image 'cirros'")
    assert 'resuming at 3.0 MiB' in lines[0]
    # Only the missing bytes crossed the network.
    assert '%s received' % progress.human(len(FULL) - kept) in lines[-1]


def test_server_without_range_restarts_from_zero(fake_cloud, tmp_path):
    _leave_part(tmp_path, FULL[:1000])
    matcher = fake_cloud.get('image', '/images/%s/file' % ID, content=FULL)
    lines = []
    transfer.fetch(fake_cloud.connect(), _blob(FULL), str(tmp_path),
                   reporter=progress.Lines(lines.append))
    assert matcher.call_count == 1
    assert (tmp_path / 'blobs' / ID).read_bytes() == FULL
    assert any('starting again' in line for line in lines)


def test_unexpected_range_answer_restarts(fake_cloud, tmp_path):
    """A 206 for another range than asked is not appended."""
    _leave_part(tmp_path, FULL[:1000])
    matcher = _in_turn(fake_cloud, [
        {'status_code': 206, 'content': FULL[10:],
         'headers': {'Content-Range': 'bytes 10-%d/%d' % (
             len(FULL) - 1, len(FULL))}},
        {'content': _ranged}])
    transfer.fetch(fake_cloud.connect(), _blob(FULL), str(tmp_path))
    assert [r.headers.get('Range') for r in matcher.request_history] == [
        'bytes=1000-', None]
    assert (tmp_path / 'blobs' / ID).read_bytes() == FULL


def test_part_info_without_part_starts_from_zero(fake_cloud, tmp_path):
    _leave_part(tmp_path, b'')
    (tmp_path / 'blobs' / (ID + '.part')).unlink()
    matcher = fake_cloud.get('image', '/images/%s/file' % ID,
                             content=_ranged)
    transfer.fetch(fake_cloud.connect(), _blob(FULL), str(tmp_path))
    assert 'Range' not in matcher.last_request.headers
    assert (tmp_path / 'blobs' / ID).read_bytes() == FULL


def test_part_of_another_image_is_not_resumed(fake_cloud, tmp_path):
    """A new capture of the same server is another image: its bytes are
    not the old capture's."""
    _leave_part(tmp_path, b'x' * 1000, image_id='another-capture')
    matcher = fake_cloud.get('image', '/images/%s/file' % ID,
                             content=_ranged)
    transfer.fetch(fake_cloud.connect(), _blob(FULL), str(tmp_path))
    assert 'Range' not in matcher.last_request.headers
    assert (tmp_path / 'blobs' / ID).read_bytes() == FULL


def test_corrupt_kept_bytes_are_downloaded_again(fake_cloud, tmp_path):
    """Bytes kept from a crash that do not hash right are thrown away,
    and the image is downloaded once more from the first byte."""
    _leave_part(tmp_path, b'\xff' * 4096)
    matcher = fake_cloud.get('image', '/images/%s/file' % ID,
                             content=_ranged)
    transfer.fetch(fake_cloud.connect(), _blob(FULL), str(tmp_path))
    assert [r.headers.get('Range') for r in matcher.request_history] == [
        'bytes=4096-', None]
    assert (tmp_path / 'blobs' / ID).read_bytes() == FULL


def _digests(data):
    return {algo: hashlib.new(algo, data).hexdigest()
            for algo in ('sha512', 'sha256', 'md5')}


def _reads_of(monkeypatch, *paths):
    """The opens for reading of the files at ``paths``, counted."""
    reads = []
    real = open

    def counting(file, mode='r', *args, **kwargs):
        if str(file) in paths and 'r' in mode and '+' not in mode:
            reads.append(str(file))
        return real(file, mode, *args, **kwargs)

    monkeypatch.setattr('builtins.open', counting)
    return reads


def test_a_download_is_read_once_and_every_digest_recorded(
        fake_cloud, tmp_path, monkeypatch):
    """The bytes cross the machine once: hashed as they arrive, never read
    back from the disk, and the stamp has every digest of the whole blob."""
    data = os.urandom(5 * transfer.CHUNK_SIZE + 3)
    _serve(fake_cloud, data)
    (tmp_path / 'blobs').mkdir()
    final = str(tmp_path / 'blobs' / ID)
    reads = _reads_of(monkeypatch, final, final + '.part')
    blob = _blob(data)
    transfer.fetch(fake_cloud.connect(), blob, str(tmp_path))
    assert reads == []
    stamp = json.loads((tmp_path / 'blobs' / (ID + '.verified')).read_text())
    assert stamp['digests'] == blob.digests == _digests(data)


def test_one_corrupted_byte_is_caught(fake_cloud, tmp_path):
    data = os.urandom(4 * transfer.CHUNK_SIZE + 9)
    corrupted = bytearray(data)
    corrupted[2 * transfer.CHUNK_SIZE + 1234] ^= 0x01
    _serve(fake_cloud, bytes(corrupted))
    (tmp_path / 'blobs').mkdir()
    with pytest.raises(TransferError, match='checksum mismatch'):
        transfer.fetch(fake_cloud.connect(), _blob(data), str(tmp_path))
    assert os.listdir(tmp_path / 'blobs') == []


def test_a_resumed_download_has_the_whole_files_digests(
        fake_cloud, tmp_path, monkeypatch):
    """The bytes kept are read from the disk once, to start every digest;
    the new ones continue them: the stamp's digests are the whole file's,
    not those of the bytes that came over the network this time."""
    kept = 3 * transfer.CHUNK_SIZE + 5
    _leave_part(tmp_path, FULL[:kept])
    matcher = fake_cloud.get('image', '/images/%s/file' % ID,
                             content=_ranged)
    final = str(tmp_path / 'blobs' / ID)
    reads = _reads_of(monkeypatch, final, final + '.part')
    blob = _blob(FULL)
    transfer.fetch(fake_cloud.connect(), blob, str(tmp_path))
    assert matcher.last_request.headers['Range'] == 'bytes=%d-' % kept
    assert reads == [final + '.part']
    stamp = json.loads((tmp_path / 'blobs' / (ID + '.verified')).read_text())
    assert stamp['digests'] == blob.digests == _digests(FULL)


def test_one_wrong_byte_among_the_kept_ones_is_caught(fake_cloud, tmp_path):
    """The resumed blob is checked whole: a byte kept on disk that changed
    since (a crash, a bad disk) fails the check, and the blob is
    downloaded again from the first byte."""
    kept = bytearray(FULL[:3 * transfer.CHUNK_SIZE])
    kept[transfer.CHUNK_SIZE + 7] ^= 0x80
    _leave_part(tmp_path, bytes(kept))
    matcher = fake_cloud.get('image', '/images/%s/file' % ID,
                             content=_ranged)
    lines = []
    blob = _blob(FULL)
    transfer.fetch(fake_cloud.connect(), blob, str(tmp_path),
                   reporter=progress.Lines(lines.append))
    assert [r.headers.get('Range') for r in matcher.request_history] == [
        'bytes=%d-' % len(kept), None]
    assert any('does not match its checksum' in line for line in lines)
    assert (tmp_path / 'blobs' / ID).read_bytes() == FULL
    assert blob.digests == _digests(FULL)


def test_a_hole_never_shows_bytes_left_past_the_offset(tmp_path):
    """Zeros are skipped over, not written: whatever the .part held past
    the bytes counted is cut first, so the hole reads back as the zeros
    that were hashed."""
    (tmp_path / 'blobs').mkdir()
    blob = _blob(b'')
    sink = transfer._Sink(str(tmp_path), blob, {
        'image_id': ID, 'hash_algo': 'sha512', 'hash_value': 'x'})
    sink.restart()
    try:
        sink.write([b'data'], lambda size: None)
        with open(sink.part, 'ab') as stream:
            stream.write(b'\xff' * 100)
        sink.write([bytes(64)], lambda size: None)
        sink.close()
        with open(sink.part, 'rb') as stream:
            assert stream.read() == b'data' + bytes(64)
        assert sink.result()['sha256'] == hashlib.sha256(
            b'data' + bytes(64)).hexdigest()
    finally:
        sink.stop()


def test_no_hashing_thread_outlives_a_failed_download(fake_cloud, tmp_path):
    before = set(threading.enumerate())
    _serve(fake_cloud, b'corrupted bytes')
    (tmp_path / 'blobs').mkdir()
    with pytest.raises(TransferError):
        transfer.fetch(fake_cloud.connect(), _blob(b'good bytes'),
                       str(tmp_path))
    fake_cloud.get('image', '/images/%s/file' % ID, status_code=403)
    with pytest.raises(TransferError):
        transfer.fetch(fake_cloud.connect(), _blob(b'good bytes'),
                       str(tmp_path))
    assert set(threading.enumerate()) == before


class _Broken(io.RawIOBase):
    """A response body whose connection is reset after ``good`` bytes."""

    def __init__(self, data, good):
        self.data, self.good, self.pos = data, good, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.pos >= self.good:
            raise ConnectionResetError(104, 'Connection reset by peer')
        size = min(len(buffer), self.good - self.pos)
        buffer[:size] = self.data[self.pos:self.pos + size]
        self.pos += size
        return size


def test_connection_reset_is_retried_from_the_bytes_written(
        fake_cloud, tmp_path, no_backoff):
    good = 2 * transfer.CHUNK_SIZE
    (tmp_path / 'blobs').mkdir()
    matcher = _in_turn(fake_cloud, [
        {'body': _Broken(FULL, good),
         'headers': {'Content-Length': str(len(FULL))}},
        {'content': _ranged}])
    lines = []
    transfer.fetch(fake_cloud.connect(), _blob(FULL), str(tmp_path),
                   reporter=progress.Lines(lines.append))
    assert matcher.call_count == 2
    assert matcher.last_request.headers['Range'] == 'bytes=%d-' % good
    assert (tmp_path / 'blobs' / ID).read_bytes() == FULL
    assert no_backoff == [transfer.BACKOFF_SECONDS]
    assert any('retrying in' in line and 'byte %d' % good in line
               for line in lines)


def test_failures_that_make_progress_do_not_add_up(
        fake_cloud, tmp_path, no_backoff, monkeypatch):
    """A connection that breaks again and again, but each time after more
    bytes, is followed to the end."""
    monkeypatch.setattr(transfer, 'ATTEMPTS', 2)
    (tmp_path / 'blobs').mkdir()
    step = transfer.CHUNK_SIZE

    def broken_after(good):
        def answer(request, context):
            start = int(request.headers.get('Range', 'bytes=0-')[6:-1])
            context.status_code = 206 if start else 200
            context.headers['Content-Length'] = str(len(FULL) - start)
            if start:
                context.headers['Content-Range'] = 'bytes %d-%d/%d' % (
                    start, len(FULL) - 1, len(FULL))
            return io.BufferedReader(_Broken(FULL[start:], good - start))
        return answer

    matcher = _in_turn(fake_cloud, [
        {'body': broken_after(step * n)} for n in (1, 2, 3, 4)] + [
        {'content': _ranged}])
    transfer.fetch(fake_cloud.connect(), _blob(FULL), str(tmp_path))
    assert matcher.call_count == 5
    assert no_backoff == [1, 1, 1, 1]
    assert (tmp_path / 'blobs' / ID).read_bytes() == FULL


def test_server_errors_are_retried_with_exponential_backoff(
        fake_cloud, tmp_path, no_backoff):
    (tmp_path / 'blobs').mkdir()
    matcher = _in_turn(fake_cloud, [
        {'status_code': 503}, {'status_code': 502}, {'status_code': 500},
        {'content': FULL}])
    transfer.fetch(fake_cloud.connect(), _blob(FULL), str(tmp_path))
    assert matcher.call_count == 4
    assert no_backoff == [1, 2, 4]
    assert (tmp_path / 'blobs' / ID).read_bytes() == FULL


def test_timeouts_are_retried(fake_cloud, tmp_path):
    import requests
    (tmp_path / 'blobs').mkdir()
    matcher = _in_turn(fake_cloud, [
        {'exc': requests.exceptions.ConnectTimeout}, {'content': FULL}])
    transfer.fetch(fake_cloud.connect(), _blob(FULL), str(tmp_path))
    assert matcher.call_count == 2
    assert (tmp_path / 'blobs' / ID).read_bytes() == FULL


def test_retries_give_up_with_the_resource_named(fake_cloud, tmp_path,
                                                 no_backoff):
    (tmp_path / 'blobs').mkdir()
    matcher = fake_cloud.get('image', '/images/%s/file' % ID,
                             status_code=503)
    with pytest.raises(TransferError) as err:
        transfer.fetch(fake_cloud.connect(), _blob(FULL), str(tmp_path))
    assert matcher.call_count == transfer.ATTEMPTS
    assert no_backoff == [1, 2, 4, 8, 16]
    assert str(err.value).startswith("image 'cirros'")
    assert 'HTTP 503' in str(err.value)
    assert not (tmp_path / 'blobs' / ID).exists()


def test_refused_token_is_renewed(fake_cloud, tmp_path):
    """A token that expired (or was revoked) during a long export: the
    cloud answers 401, keystoneauth logs in again and repeats the GET."""
    from tests.unit import fakecloud
    (tmp_path / 'blobs').mkdir()
    conn = fake_cloud.connect()
    conn.authorize()
    logins = fake_cloud.mocker.register_uri(
        'POST', fakecloud.AUTH_URL + '/v3/auth/tokens',
        json=fakecloud._token_body(),
        headers={'X-Subject-Token': 'renewed-token'}, status_code=201)
    matcher = _in_turn(fake_cloud, [
        {'status_code': 401}, {'content': FULL}])
    transfer.fetch(conn, _blob(FULL), str(tmp_path))
    assert logins.call_count == 1
    tokens = [r.headers['X-Auth-Token'] for r in matcher.request_history]
    assert tokens == [fakecloud.TOKEN, 'renewed-token']
    assert (tmp_path / 'blobs' / ID).read_bytes() == FULL


def test_runs_of_zeros_are_holes(fake_cloud, tmp_path):
    """A volume is mostly zeros: they cost no disk but are hashed."""
    data = (b'\0' * (8 * transfer.CHUNK_SIZE) + b'boot sector'
            + b'\0' * (8 * transfer.CHUNK_SIZE))
    _serve(fake_cloud, data)
    transfer.fetch_all(fake_cloud.connect(), [_blob(data)], str(tmp_path))
    path = tmp_path / 'blobs' / ID
    assert path.read_bytes() == data
    assert path.stat().st_size == len(data)
    # Two chunks at most hold data (the one with the text, which is not
    # chunk-aligned); the 15 others are holes.
    assert path.stat().st_blocks * 512 <= 2 * transfer.CHUNK_SIZE


class _Generated(io.RawIOBase):
    """A response body of ``count`` MiB made as it is read."""

    def __init__(self, count):
        self.count, self.pos = count, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        size = min(len(buffer), self.count * transfer.CHUNK_SIZE - self.pos)
        if size <= 0:
            return 0
        # Never zeros (those are not written), a new byte every MiB.
        value = self.pos // transfer.CHUNK_SIZE % 255 + 1
        buffer[:size] = bytes([value]) * size
        self.pos += size
        return size


def test_memory_does_not_grow_with_the_blob(fake_cloud, tmp_path):
    """64 MiB downloaded, through requests and the file: Python never
    holds more than a few chunks at a time."""
    count = 64
    digest = hashlib.sha512()
    for i in range(count):
        digest.update(bytes([i % 255 + 1]) * transfer.CHUNK_SIZE)
    blob = Blob(kind='image', file_id=ID, source_id=ID, what='big',
                hash_algo='sha512', hash_value=digest.hexdigest())
    fake_cloud.get('image', '/images/%s/file' % ID,
                   body=io.BufferedReader(_Generated(count)),
                   headers={'Content-Length': str(count * transfer.CHUNK_SIZE)})
    (tmp_path / 'blobs').mkdir()
    conn = fake_cloud.connect()
    conn.authorize()
    tracemalloc.start()
    try:
        transfer.fetch(conn, blob, str(tmp_path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert blob.size == count * transfer.CHUNK_SIZE
    assert (tmp_path / 'blobs' / ID).stat().st_size == blob.size
    assert peak < 8 * transfer.CHUNK_SIZE, peak


def test_parallel_downloads_overlap(fake_cloud, tmp_path):
    """With parallel=2, two downloads are in flight at once: neither body
    gives its first byte before the other download is reading."""
    other = 'c0ffee00-1111-4222-8333-444455556666'
    # Generous: on a loaded 2-core machine a thread may wait seconds for the
    # CPU; only a real serialisation of the downloads leaves it waiting.
    both = threading.Barrier(2, timeout=60)

    class Body(io.BytesIO):
        def read(self, *args):
            if self.tell() == 0:
                both.wait()
            return super().read(*args)

    fake_cloud.get('image', '/images/%s/file' % ID, body=Body(FULL))
    fake_cloud.get('image', '/images/%s/file' % other,
                   body=Body(b'second'))
    second = Blob(kind='image', file_id=other, source_id=other,
                  what='image second', hash_algo='sha512',
                  hash_value=hashlib.sha512(b'second').hexdigest())
    conn = fake_cloud.connect()
    # Log in and discover the image endpoint first, so that neither thread
    # holds the session's locks while the other waits at the barrier.
    conn.image.get_endpoint()
    transfer.fetch_all(conn, [_blob(FULL), second], str(tmp_path),
                       parallel=2)
    assert (tmp_path / 'blobs' / other).read_bytes() == b'second'
    assert (tmp_path / 'blobs' / ID).read_bytes() == FULL


def test_lines_reporter_one_line_per_blob(fake_cloud, tmp_path):
    data = b'image bytes' * 1000
    _serve(fake_cloud, data)
    lines = []
    conn = fake_cloud.connect()
    with progress.using(progress.Lines(lines.append)):
        transfer.fetch_all(conn, [_blob(data)], str(tmp_path))
        transfer.fetch_all(conn, [_blob(data)], str(tmp_path))
    assert len(lines) == 2
    assert lines[0].startswith("image 'cirros' (%s): 10.7 KiB verified" % ID)
    assert lines[1].endswith('already downloaded and verified')


def test_bar_on_a_terminal(fake_cloud, tmp_path):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    data = os.urandom(3 * transfer.CHUNK_SIZE)
    _serve(fake_cloud, data)
    terminal = Terminal()
    reporter = progress.for_console(terminal)
    assert isinstance(reporter, progress.Bar)
    with progress.using(reporter):
        transfer.fetch_all(fake_cloud.connect(), [_blob(data)],
                           str(tmp_path))
    out = terminal.getvalue()
    assert '[' + '#' * 10 in out and '100%' in out
    assert "image 'cirros'" in out and 'verified' in out
    # The bar is cleared at the end: the last thing written.
    assert out.endswith('\r\x1b[K')


def test_no_terminal_no_bar():
    stream = io.StringIO()
    assert type(progress.for_console(stream)) is progress.Lines
    assert type(progress.for_console(stream, 0)) is progress.Reporter


def test_interrupt_stops_at_the_next_chunk_and_keeps_the_bytes(
        fake_cloud, tmp_path):
    """Ctrl-C (fetch_all sets the event): the download stops at its next
    chunk, and what it wrote stays for the next export to resume."""
    cancel = threading.Event()

    class Body(_Generated):
        def readinto(self, buffer):
            if self.pos >= 2 * transfer.CHUNK_SIZE:
                cancel.set()
            return super().readinto(buffer)

    count = 16
    fake_cloud.get('image', '/images/%s/file' % ID,
                   body=io.BufferedReader(Body(count)))
    (tmp_path / 'blobs').mkdir()
    with pytest.raises(TransferError, match='interrupted'):
        transfer.fetch(fake_cloud.connect(), _blob(b'unused'),
                       str(tmp_path), cancel=cancel)
    part = tmp_path / 'blobs' / (ID + '.part')
    assert 2 * transfer.CHUNK_SIZE <= part.stat().st_size < (
        count * transfer.CHUNK_SIZE)
    assert (tmp_path / 'blobs' / (ID + '.part.json')).exists()
    assert not (tmp_path / 'blobs' / ID).exists()


def _volume_statuses(*statuses):
    """get_volume answers with these statuses in turn, then the last."""
    answers = iter(statuses)
    last = [statuses[-1]]

    def get_volume(volume_id):
        status = next(answers, last[0])
        return mock.Mock(id=volume_id, status=status, size=1)
    return get_volume


def test_temporary_volume_is_deleted_only_once_settled(monkeypatch,
                                                        tmp_path):
    # Cinder keeps a volume 'uploading' after the image is active and
    # refuses to delete it then (400): the export must wait, not leave the
    # temporary volume behind in the source.
    monkeypatch.setattr(transfer, 'POLL_SECONDS', 0)
    monkeypatch.setattr(transfer, 'download_image', mock.Mock())
    conn = mock.Mock()
    calls = []
    conn.block_storage.create_snapshot.return_value = mock.Mock(id='snap')
    conn.block_storage.get_snapshot.return_value = mock.Mock(
        status='available')
    conn.block_storage.create_volume.return_value = mock.Mock(id='temp')
    statuses = _volume_statuses('in-use', 'available', 'uploading',
                                'uploading', 'available')

    def get_volume(volume_id):
        volume = statuses(volume_id)
        calls.append(('status', volume_id, volume.status))
        return volume
    conn.block_storage.get_volume.side_effect = get_volume
    conn.block_storage.upload_volume_to_image.return_value = {
        'image_id': 'img'}
    conn.image.get_image.return_value = mock.Mock(
        id='img', status='active', disk_format='raw', container_format='bare')
    conn.block_storage.delete_volume.side_effect = (
        lambda volume_id: calls.append(('delete', volume_id)))
    conn.block_storage.wait_for_delete.return_value = None
    blob = Blob(kind='volume', file_id=ID, source_id=ID,
                what="volume 'data'", volume_in_use=True)

    transfer.capture_volume(conn, str(tmp_path), blob, keep_captures=False)

    deleted_at = calls.index(('delete', 'temp'))
    assert calls[deleted_at - 1] == ('status', 'temp', 'available')
    assert ('status', 'temp', 'uploading') in calls[:deleted_at]
    conn.block_storage.delete_snapshot.assert_called_once_with('snap')
    conn.image.delete_image.assert_called_once_with('img')
    # Captured as qcow2 unless the export asks otherwise.
    conn.block_storage.upload_volume_to_image.assert_called_once_with(
        'temp', transfer.CAPTURE_PREFIX + ID, disk_format='qcow2',
        container_format='bare')


def _source_of_one_volume(monkeypatch, disk_format):
    """A source whose volume is available and whose capture of it is
    active at once, in ``disk_format``; downloads do nothing."""
    monkeypatch.setattr(transfer, 'POLL_SECONDS', 0)
    monkeypatch.setattr(transfer, 'download_image', mock.Mock())
    conn = mock.Mock()
    conn.block_storage.get_volume.side_effect = _volume_statuses('available')
    conn.block_storage.upload_volume_to_image.return_value = {
        'image_id': 'img'}
    conn.image.get_image.return_value = mock.Mock(
        id='img', status='active', disk_format=disk_format,
        container_format='bare', size=2 ** 20)
    return conn


@pytest.mark.parametrize('asked', ['raw', 'qcow2'])
def test_a_volume_is_captured_in_the_format_asked(monkeypatch, tmp_path,
                                                  asked):
    conn = _source_of_one_volume(monkeypatch, asked)
    blob = Blob(kind='volume', file_id=ID, source_id=ID,
                what="volume 'spare'", disk_format=asked)

    transfer.capture_volume(conn, str(tmp_path), blob, keep_captures=False)

    assert conn.block_storage.upload_volume_to_image.call_args.kwargs[
        'disk_format'] == asked
    assert blob.disk_format == asked


def test_a_capture_is_asked_after_only_until_it_is_active(monkeypatch,
                                                           tmp_path):
    """Active at the first look: one GET of it, not one more before its
    size is checked and another before it is downloaded."""
    conn = _source_of_one_volume(monkeypatch, 'qcow2')
    blob = Blob(kind='volume', file_id=ID, source_id=ID,
                what="volume 'spare'", disk_format='qcow2', volume_size_gib=1)

    transfer.capture_volume(conn, str(tmp_path), blob, keep_captures=False)

    assert conn.image.get_image.call_count == 1
    transfer.download_image.assert_called_once()


def _captures_of_a_full_volume():
    """A full 1 GiB volume's captures by image ID: its qcow2 (a little
    over 1 GiB, its tables) and its raw (1 GiB)."""
    return {
        'qcow2-img': mock.Mock(id='qcow2-img', status='active',
                               disk_format='qcow2', container_format='bare',
                               size=2 ** 30 + 300 * 1024),
        'raw-img': mock.Mock(id='raw-img', status='active', disk_format='raw',
                             container_format='bare', size=2 ** 30)}


def test_a_resumed_capture_that_would_not_fit_is_captured_raw(monkeypatch,
                                                               tmp_path):
    """An earlier run of this export took a qcow2 capture of a full volume
    and was stopped before it checked its size: the next run checks it."""
    monkeypatch.setattr(transfer, 'POLL_SECONDS', 0)
    monkeypatch.setattr(transfer, 'download_image', mock.Mock())
    state = outdir.ExportState(str(tmp_path))
    state.begin()
    blob = Blob(kind='volume', file_id=ID, source_id=ID,
                what="volume 'full'", disk_format='qcow2', volume_size_gib=1)
    transfer._record_capture(str(tmp_path), blob, 'qcow2-img',
                             outdir.iso(outdir.now()))
    conn = mock.Mock()
    conn.block_storage.get_volume.side_effect = _volume_statuses('available')
    conn.block_storage.upload_volume_to_image.return_value = {
        'image_id': 'raw-img'}
    images = _captures_of_a_full_volume()
    conn.image.find_image.side_effect = lambda i, **kw: images[i]
    conn.image.get_image.side_effect = images.get

    transfer.capture_volume(conn, str(tmp_path), blob, keep_captures=False,
                            captures=transfer.Captures(
                                outdir.ExportState(str(tmp_path))))

    assert conn.block_storage.upload_volume_to_image.call_args.kwargs[
        'disk_format'] == 'raw'
    assert blob.disk_format == 'raw'
    downloaded = transfer.download_image.call_args.args[1]
    assert downloaded.id == 'raw-img'
    deleted = [c.args[0] for c in conn.image.delete_image.call_args_list]
    assert deleted == ['qcow2-img', 'raw-img']


def test_a_stamp_is_trusted_only_while_the_disk_has_its_bytes(
        fake_cloud, tmp_path):
    """Same size, other bytes (another writer, a bad disk, an edit): the
    stamp records the digest of the file, so the blob is fetched again."""
    data = b'image bytes' * 100
    matcher = _serve(fake_cloud, data)
    (tmp_path / 'blobs').mkdir()
    conn = fake_cloud.connect()
    blob = _blob(data)
    transfer.fetch(conn, blob, str(tmp_path))
    stamp = json.loads((tmp_path / 'blobs' / (ID + '.verified')).read_text())
    assert stamp['digests']['sha256'] == hashlib.sha256(data).hexdigest()
    assert stamp['digests']['md5'] == hashlib.md5(data).hexdigest()  # noqa: S324
    assert blob.digests == stamp['digests']
    (tmp_path / 'blobs' / ID).write_bytes(bytes(len(data)))
    transfer.fetch(conn, _blob(data), str(tmp_path))
    assert matcher.call_count == 2
    assert (tmp_path / 'blobs' / ID).read_bytes() == data


def test_a_stamp_of_the_size_only_is_not_trusted(fake_cloud, tmp_path):
    data = b'image bytes' * 100
    matcher = _serve(fake_cloud, data)
    (tmp_path / 'blobs').mkdir()
    (tmp_path / 'blobs' / ID).write_bytes(bytes(len(data)))
    (tmp_path / 'blobs' / (ID + '.verified')).write_text(json.dumps(
        {'size': len(data), 'hash_algo': 'sha512',
         'hash_value': _blob(data).hash_value}))
    transfer.fetch(fake_cloud.connect(), _blob(data), str(tmp_path))
    assert matcher.call_count == 1
    assert (tmp_path / 'blobs' / ID).read_bytes() == data


class _Capturing:
    """A source cloud that captures a server into image 'cap-N', serves its
    bytes, and says which captures it made and deleted."""

    def __init__(self, fake_cloud, data, properties=None):
        self.made, self.deleted = [], []
        self.data = data
        self.fake = fake_cloud
        for n in range(1, 4):
            fake_cloud.get('image', '/images/cap-%d' % n, json=dict({
                'id': 'cap-%d' % n, 'status': 'active', 'size': len(data),
                'disk_format': 'qcow2', 'container_format': 'bare',
                'os_hash_algo': 'sha512',
                'os_hash_value': hashlib.sha512(data).hexdigest(),
                'checksum': hashlib.md5(data).hexdigest()},  # noqa: S324
                **(properties or {})))
            fake_cloud.get('image', '/images/cap-%d/file' % n, content=data)
            fake_cloud.delete('image', '/images/cap-%d' % n,
                              status_code=204,
                              json=self._deleted('cap-%d' % n))

    def _deleted(self, image_id):
        def answer(request, context):
            self.deleted.append(image_id)
            return {}
        return answer

    def conn(self):
        conn = self.fake.connect()
        made = self.made

        def create_server_image(server, name):
            made.append('cap-%d' % (len(made) + 1))
            return mock.Mock(id=made[-1])
        conn.compute.create_server_image = create_server_image
        return conn


def _server_blob():
    return Blob(kind='server', file_id=sample.SERVER_1,
                source_id=sample.SERVER_1, what="server 'web-1'")


def test_a_captures_properties_are_kept_and_survive_a_rerun(fake_cloud,
                                                             tmp_path):
    # What Nova writes into a server's capture: the booted image's
    # properties, and its own bookkeeping about the source.
    source = _Capturing(fake_cloud, b'disk of web-1\n' * 500, properties={
        'hw_firmware_type': 'uefi', 'hw_disk_bus': 'scsi',
        'os_type': 'linux', 'image_type': 'snapshot',
        'instance_uuid': sample.SERVER_1, 'base_image_ref': 'gone',
        'user_id': 'someone', 'owner_project_name': 'source'})
    (tmp_path / 'blobs').mkdir()
    state = outdir.ExportState(str(tmp_path))
    state.begin()
    first = _server_blob()
    transfer.fetch(source.conn(), first, str(tmp_path),
                   captures=transfer.Captures(state))
    wanted = {'hw_firmware_type': 'uefi', 'hw_disk_bus': 'scsi',
              'os_type': 'linux'}
    assert first.properties == wanted
    # The same export again: the verified blob, and what it was, kept.
    again = _server_blob()
    transfer.fetch(source.conn(), again, str(tmp_path),
                   captures=transfer.Captures(outdir.ExportState(
                       str(tmp_path))))
    assert source.made == ['cap-1']
    assert again.properties == wanted


def test_a_new_export_captures_again_unless_told_to_reuse(fake_cloud,
                                                          tmp_path):
    source = _Capturing(fake_cloud, b'disk of web-1\n' * 500)
    (tmp_path / 'blobs').mkdir()
    state = outdir.ExportState(str(tmp_path))
    state.begin()
    first = _server_blob()
    transfer.fetch(source.conn(), first, str(tmp_path),
                   captures=transfer.Captures(state))
    assert source.made == ['cap-1'] and source.deleted == ['cap-1']
    assert outdir.parse(first.captured_at) >= state.started_at
    # The same export, run again (interrupted after this blob): its own.
    again = outdir.ExportState(str(tmp_path))
    transfer.fetch(source.conn(), _server_blob(), str(tmp_path),
                   captures=transfer.Captures(again))
    assert source.made == ['cap-1']
    state.finish()
    # A new export: a new capture, whatever the disk holds.
    later = outdir.ExportState(str(tmp_path))
    later.started_at += datetime.timedelta(seconds=1)
    later.begin()
    second = _server_blob()
    transfer.fetch(source.conn(), second, str(tmp_path),
                   captures=transfer.Captures(later))
    assert source.made == ['cap-1', 'cap-2']
    # Taken now, not the first one's time carried over (both may fall in
    # the same second; comparing with now() raced a slow machine's clock).
    assert first.captured_at <= second.captured_at <= outdir.iso(
        outdir.now())
    # Told to reuse: kept, and its age said.
    lines = []
    reporter = progress.Lines(lines.append)
    newest = outdir.ExportState(str(tmp_path))
    newest.started_at += datetime.timedelta(seconds=5)
    transfer.fetch(source.conn(), _server_blob(), str(tmp_path),
                   reporter=reporter,
                   captures=transfer.Captures(newest, reuse=True))
    assert source.made == ['cap-1', 'cap-2']
    assert any('reusing the disk copy taken at %s (0 min ago)'
               % second.captured_at in line for line in lines), lines


def test_an_interrupted_capture_is_kept_named_and_continued(fake_cloud,
                                                            tmp_path):
    data = b'disk of web-1\n' * 500
    source = _Capturing(fake_cloud, data)
    (tmp_path / 'blobs').mkdir()
    state = outdir.ExportState(str(tmp_path))
    state.begin()
    cancel = threading.Event()
    real = transfer.download_image

    def interrupted(*args, **kwargs):
        cancel.set()
        return real(*args, **dict(kwargs, cancel=cancel))
    with mock.patch.object(transfer, 'download_image', interrupted), \
            pytest.raises(TransferError) as caught:
        transfer.fetch(source.conn(), _server_blob(), str(tmp_path),
                       captures=transfer.Captures(state))
    assert 'image cap-1 in the source, is kept' in str(caught.value)
    assert source.deleted == []
    # Run again: the same capture, not a new one; then it goes.
    blob = _server_blob()
    transfer.fetch(source.conn(), blob, str(tmp_path),
                   captures=transfer.Captures(outdir.ExportState(
                       str(tmp_path))))
    assert source.made == ['cap-1'] and source.deleted == ['cap-1']
    assert (tmp_path / 'blobs' / sample.SERVER_1).read_bytes() == data
    assert not (tmp_path / 'blobs' / (sample.SERVER_1
                                      + '.capture.json')).exists()


def test_a_capture_gone_from_the_source_is_taken_again(fake_cloud,
                                                       tmp_path):
    source = _Capturing(fake_cloud, b'disk\n' * 100)
    fake_cloud.get('image', '/images/gone', status_code=404)
    fake_cloud.get('image', '/images', json={'images': []})
    (tmp_path / 'blobs').mkdir()
    state = outdir.ExportState(str(tmp_path))
    state.begin()
    (tmp_path / 'blobs' / (sample.SERVER_1 + '.capture.json')).write_text(
        json.dumps({'image_id': 'gone',
                    'captured_at': outdir.iso(state.started_at)}))
    lines = []
    transfer.fetch(source.conn(), _server_blob(), str(tmp_path),
                   reporter=progress.Lines(lines.append),
                   captures=transfer.Captures(state))
    assert source.made == ['cap-1']
    assert any('the disk copy (image gone) an earlier run was downloading is gone'
               in line for line in lines), lines


def test_a_wait_for_a_capture_stops_at_once_when_interrupted():
    cancel = threading.Event()
    conn = mock.Mock()
    conn.image.get_image.return_value = mock.Mock(status='queued')
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(TransferError, match='interrupted while queued'):
        transfer._wait_image(conn, 'cap', "server 'web-1'", cancel)
    assert time.monotonic() - started < transfer.POLL_SECONDS + 1


class _Busy:
    """How many of one kind of step ran at once, at most."""

    def __init__(self):
        self.now = 0
        self.most = 0
        self.lock = threading.Lock()

    def during(self, seconds):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        # Not time.sleep, which no_backoff makes return at once.
        threading.Event().wait(seconds)
        with self.lock:
            self.now -= 1


def _volume_blob(n):
    volume_id = '00000000-0000-4000-8000-%012d' % n
    return Blob(kind='volume', file_id=volume_id, source_id=volume_id,
                what='volume %d' % n)


def _fetch_with_fake_captures(tmp_path, blobs, capture=None, download=None,
                              **kwargs):
    """fetch_all, each volume "captured" by ``capture`` (which gives the
    image's ID) into an image that is at once active, each download done
    by ``download``."""
    def upload(conn, output_dir, blob, keep_captures, cancel):
        image_id = capture(conn, output_dir, blob, keep_captures, cancel) \
            if capture else 'image'
        return mock.Mock(id=image_id, disk_format='raw',
                         container_format='bare')

    with mock.patch.object(transfer, '_upload_volume', upload), \
            mock.patch.object(transfer, 'download_image',
                              download or mock.Mock()), \
            mock.patch.object(transfer, '_record_capture'):
        transfer.fetch_all(mock.Mock(), blobs, str(tmp_path), **kwargs)


def test_captures_overlap_the_downloads_which_stay_bounded(tmp_path):
    """Six volumes: their captures (which wait on the source cloud) all
    start at once, while no more than ``parallel`` downloads run."""
    captures, downloads = _Busy(), _Busy()
    blobs = [_volume_blob(n) for n in range(6)]

    def capture(conn, output_dir, blob, keep_captures, cancel):
        captures.during(0.2)
        return 'image-' + blob.source_id

    def download(conn, image, output_dir, blob, **kwargs):
        downloads.during(0.05)

    _fetch_with_fake_captures(tmp_path, blobs, capture, download,
                              parallel=2, capturing=8)

    assert captures.most == 6
    assert downloads.most <= 2


def test_captures_in_the_source_are_bounded_too(tmp_path):
    captures = _Busy()
    blobs = [_volume_blob(n) for n in range(8)]

    def capture(conn, output_dir, blob, keep_captures, cancel):
        captures.during(0.1)
        return 'image-' + blob.source_id

    _fetch_with_fake_captures(tmp_path, blobs, capture, parallel=1,
                              capturing=2)

    assert captures.most == 3  # 1 downloading (or about to) and 2 others


def _image_blob(n):
    image_id = '00000000-0000-4000-9000-%012d' % n
    return Blob(kind='image', file_id=image_id, source_id=image_id,
                what='image %d' % n)


def test_one_download_at_a_time_goes_in_the_order_given(tmp_path):
    """``--parallel 1``: each image is whole before the next one starts,
    even while captures run beside them, so an export killed midway leaves
    the first images verified and one partial file."""
    events, lock = [], threading.Lock()
    blobs = [_volume_blob(0)] + [_image_blob(n) for n in range(6)]

    def download(conn, image, output_dir, blob, *args, **kwargs):
        with lock:
            events.append(('start', blob.what))
        threading.Event().wait(0.02)
        with lock:
            events.append(('end', blob.what))

    def verified(output_dir, blob, *args):
        # The first image takes longest to be found not there yet (as when
        # a partial file of it is read again): it must still go first.
        if blob.what == 'image 0':
            threading.Event().wait(0.1)
        return False

    with mock.patch.object(transfer, 'already_verified', verified):
        _fetch_with_fake_captures(tmp_path, blobs, download=download,
                                  parallel=1, capturing=8)

    # Strictly one at a time: each start is followed by its own end.
    assert [e[0] for e in events] == ['start', 'end'] * 7
    assert [e[1] for e in events[::2]
            if e[1].startswith('image')] == [
        'image %d' % n for n in range(6)]


def test_a_full_volume_whose_qcow2_would_not_fit_is_captured_raw(
        monkeypatch, tmp_path):
    """The qcow2 of a full 1 GiB volume is a little over 1 GiB: the
    target's Cinder would refuse to make the volume from it."""
    monkeypatch.setattr(transfer, 'POLL_SECONDS', 0)
    monkeypatch.setattr(transfer, 'download_image', mock.Mock())
    conn = mock.Mock()
    conn.block_storage.get_volume.side_effect = _volume_statuses('available')
    conn.block_storage.upload_volume_to_image.side_effect = [
        {'image_id': 'qcow2-img'}, {'image_id': 'raw-img'}]
    images = _captures_of_a_full_volume()
    conn.image.get_image.side_effect = images.get
    blob = Blob(kind='volume', file_id=ID, source_id=ID,
                what="volume 'full'", disk_format='qcow2', volume_size_gib=1)

    transfer.capture_volume(conn, str(tmp_path), blob, keep_captures=False)

    formats = [c.kwargs['disk_format'] for c in
               conn.block_storage.upload_volume_to_image.call_args_list]
    assert formats == ['qcow2', 'raw']
    assert blob.disk_format == 'raw'
    deleted = [c.args[0] for c in conn.image.delete_image.call_args_list]
    assert 'qcow2-img' in deleted


def test_an_unknown_algorithm_of_the_source_is_a_clear_error(fake_cloud,
                                                             tmp_path):
    _serve(fake_cloud, b'bytes')
    blob = _blob(b'bytes')
    blob.hash_algo = 'rot13'
    with pytest.raises(TransferError, match="unknown checksum algorithm "
                                            "'rot13'"):
        transfer.fetch(fake_cloud.connect(), blob, str(tmp_path))

"""Blob transfer: streamed in chunks, verified, renamed only when complete,
and not downloaded again once verified."""

import hashlib
import os

import pytest

from downpour import transfer
from downpour.errors import TransferError
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


def test_stream_writes_chunk_by_chunk(tmp_path, monkeypatch):
    """Memory does not grow with the blob: each write is one chunk."""
    (tmp_path / 'blobs').mkdir()
    chunk = b'x' * transfer.CHUNK_SIZE
    count = 50
    digest = hashlib.sha256()
    for _ in range(count):
        digest.update(chunk)
    blob = Blob(kind='image', file_id=ID, source_id=ID, what='big')
    writes = []
    real_open = open

    class Spy:
        def __init__(self, stream):
            self.stream = stream

        def write(self, data):
            writes.append(len(data))
            return self.stream.write(data)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.stream.close()

    def spy_open(path, mode='r', *args, **kwargs):
        stream = real_open(path, mode, *args, **kwargs)
        return Spy(stream) if str(path).endswith('.part') else stream

    monkeypatch.setattr('builtins.open', spy_open)
    produced = []

    def chunks():
        for _ in range(count):
            produced.append(1)
            # The previous chunk is written before the next is produced.
            assert len(writes) == len(produced) - 1
            yield chunk

    transfer.stream_to_file(chunks(), str(tmp_path), blob, 'sha256',
                            digest.hexdigest())
    assert writes == [transfer.CHUNK_SIZE] * count
    assert blob.size == count * transfer.CHUNK_SIZE


def test_refused_download_is_a_transfer_error(fake_cloud, tmp_path):
    fake_cloud.get('image', '/images/%s/file' % ID, status_code=403)
    (tmp_path / 'blobs').mkdir()
    with pytest.raises(TransferError, match='HTTP 403'):
        transfer.fetch(fake_cloud.connect(), _blob(b'x'), str(tmp_path))

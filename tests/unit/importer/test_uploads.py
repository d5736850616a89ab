"""The bytes an upload sends: read once, a MiB at a time, hashed as they
go, and hashed again from the first byte when the request is sent again."""

import hashlib
import os

from downpour.importer import uploads


def _blob(tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / 'blob'
    path.write_bytes(data)
    return path, data


def test_the_blob_is_sent_in_chunks_of_a_mib_and_hashed_as_it_goes(
        tmp_path):
    path, data = _blob(tmp_path, 3 * uploads.CHUNK_SIZE + 11)
    with open(path, 'rb') as stream:
        body = uploads._HashingReader(stream, {'sha512', 'md5'})
        assert len(body) == len(data)
        chunks = list(body)
        sent = body.digests()
        body.close()
    assert [len(c) for c in chunks] == [uploads.CHUNK_SIZE] * 3 + [11]
    assert b''.join(chunks) == data
    assert sent == {'sha512': hashlib.sha512(data).hexdigest(),
                    'md5': hashlib.md5(data).hexdigest()}  # noqa: S324


def test_a_request_sent_again_sends_and_hashes_the_whole_blob(tmp_path):
    """keystoneauth sends a request again after a connection reset: the
    second sending starts from the first byte, and the digests are of it
    alone, not of the first one's bytes and its own."""
    path, data = _blob(tmp_path, 2 * uploads.CHUNK_SIZE + 5)
    with open(path, 'rb') as stream:
        body = uploads._HashingReader(stream, {'sha256'})
        first = iter(body)
        next(first)  # the connection drops after one chunk
        assert b''.join(body) == data
        assert body.digests() == {'sha256': hashlib.sha256(data).hexdigest()}
        body.close()


def test_a_blob_never_sent_has_the_digests_of_nothing(tmp_path):
    path, _ = _blob(tmp_path, 10)
    with open(path, 'rb') as stream:
        body = uploads._HashingReader(stream, {'sha256'})
        assert body.digests() == {'sha256': hashlib.sha256(b'').hexdigest()}

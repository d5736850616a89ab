"""Blob transfers on the real source cloud: an export killed with SIGKILL in
the middle of an image resumes where it stopped, keeps what it verified,
and ends with the bytes Glance has; zeros take no disk; a token the cloud
no longer accepts is renewed.

Sizes are small enough for CI (a 128 MiB image is the one killed: smaller
ones are over before the kill can land); tools/bench measures big blobs.
"""

import contextlib
import hashlib
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import openstack
import pytest
import yaml

from downpour import progress, transfer
from downpour.resources.base import Blob

pytestmark = pytest.mark.functional

BIN = pathlib.Path(sys.executable).parent
MiB = 1024 * 1024


def _write(path, size, pattern=None):
    """A file of ``size`` random bytes (or of ``pattern(offset, size)``)."""
    with open(path, 'wb') as stream:
        for offset in range(0, size, MiB):
            length = min(MiB, size - offset)
            stream.write(pattern(offset, length) if pattern
                         else os.urandom(length))
    return path


def _mostly_zeros(offset, length):
    # One MiB of data at 3 MiB, zeros elsewhere: a volume's usual shape.
    return os.urandom(length) if offset == 3 * MiB else bytes(length)


def _upload(conn, name, path):
    image = conn.create_image(name, filename=str(path), disk_format='raw',
                              container_format='bare', wait=True,
                              timeout=600)
    return conn.image.get_image(image.id)


def _sha512(path):
    digest = hashlib.sha512()
    with open(path, 'rb') as stream:
        for chunk in iter(lambda: stream.read(MiB), b''):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture
def source(fresh_project, tmp_path):
    project = fresh_project('source')
    clouds_yaml = tmp_path / 'clouds.yaml'
    clouds_yaml.write_text(yaml.safe_dump(
        {'clouds': {'fresh': project.cloud_config}}))
    project.env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds_yaml))
    project.env.pop('OS_CLOUD', None)
    return project


def test_killed_export_resumes(source, tmp_path):
    conn = source.conn
    images = {
        'small': _upload(conn, 'transfer-small',
                         _write(tmp_path / 'small', MiB + 7)),
        'zeros': _upload(conn, 'transfer-zeros',
                         _write(tmp_path / 'zeros', 16 * MiB, _mostly_zeros)),
        'big': _upload(conn, 'transfer-big',
                       _write(tmp_path / 'big', 128 * MiB)),
    }
    for name in images:
        os.unlink(tmp_path / name)
    resources = tmp_path / 'resources.yml'
    # In this order, one at a time: the small ones are verified before the
    # big one starts.
    resources.write_text(yaml.safe_dump({'images': [
        {'id': images[name].id} for name in ('small', 'zeros', 'big')]}))
    out = tmp_path / 'out'
    blobs = out / 'blobs'
    argv = [str(BIN / 'downpour'), '--os-cloud', 'fresh', 'export',
            str(resources), str(out), '--parallel', '1']
    big = images['big']
    part = blobs / (big.id + '.part')

    # 1. Killed with SIGKILL while the big image is being written.
    proc = subprocess.Popen(  # noqa: S603
        argv, env=source.env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    killed_at = None
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if part.stat().st_size >= 4 * MiB:
                os.killpg(proc.pid, signal.SIGKILL)
                killed_at = part.stat().st_size
                break
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    proc.wait(timeout=60)
    assert killed_at is not None, (
        'the export ended (status %s) before it could be killed'
        % proc.returncode)
    assert proc.returncode == -signal.SIGKILL
    kept = part.stat().st_size
    assert 0 < kept < big.size
    assert not (blobs / big.id).exists(), 'a partial file taken as complete'
    verified = {}
    for name in ('small', 'zeros'):
        path = blobs / images[name].id
        assert (blobs / (images[name].id + '.verified')).exists()
        verified[name] = (path.stat().st_ino, path.stat().st_mtime_ns)

    # 2. Run again: it completes, resuming the big image at the bytes kept.
    again = subprocess.run(argv, env=source.env, capture_output=True,  # noqa: S603
                           text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    log = again.stderr
    for name in ('small', 'zeros'):
        assert '(%s): already downloaded and verified' % (
            images[name].id) in log
        path = blobs / images[name].id
        assert (path.stat().st_ino, path.stat().st_mtime_ns) == (
            verified[name]), '%s was downloaded again' % name
    big_lines = [line for line in log.splitlines() if big.id in line]
    assert 'resuming at %s of %s' % (progress.human(kept),
                                     progress.human(big.size)) in big_lines[0]
    # Only the missing bytes came over the network (Glance honours Range).
    assert '(%s received' % progress.human(big.size - kept) in big_lines[-1]
    assert 'starting again' not in log

    # 3. Every blob is what Glance has, and nothing partial is left.
    for image in images.values():
        assert image.hash_algo == 'sha512'
        assert _sha512(blobs / image.id) == image.hash_value
        assert (blobs / image.id).stat().st_size == image.size
    assert sorted(p.name for p in blobs.iterdir()) == sorted(
        [i.id for i in images.values()]
        + [i.id + '.verified' for i in images.values()])

    # 4. The zeros of the mostly-empty image take no disk.
    zeros = (blobs / images['zeros'].id).stat()
    assert zeros.st_size == 16 * MiB
    assert zeros.st_blocks * 512 <= 2 * MiB


def test_refused_token_is_renewed(source, tmp_path):
    """The token is revoked (as it would expire during a long export):
    Glance refuses it, keystoneauth logs in again, the download succeeds."""
    image = _upload(source.conn, 'transfer-token',
                    _write(tmp_path / 'data', MiB))
    conn = openstack.connect(load_yaml_config=False, load_envvars=False,
                             **source.cloud_config)
    conn.authorize()
    token = conn.auth_token
    source.admin.identity.delete('/auth/tokens',
                                 headers={'X-Subject-Token': token})
    url = conn.image.get_endpoint().rstrip('/')
    if not url.endswith('/v2'):
        url += '/v2'
    refused = conn.session.session.get(
        '%s/images/%s' % (url, image.id), headers={'X-Auth-Token': token})
    assert refused.status_code == 401, 'the revoked token still works'

    out = tmp_path / 'out'
    (out / 'blobs').mkdir(parents=True)
    blob = Blob(kind='image', file_id=image.id, source_id=image.id,
                what='image %s' % image.id, size=image.size,
                hash_algo=image.hash_algo, hash_value=image.hash_value)
    transfer.fetch(conn, blob, str(out))
    assert conn.auth_token != token
    assert _sha512(out / 'blobs' / image.id) == image.hash_value


class CuttingProxy:
    """A TCP relay to Glance that resets the first image download after
    ``cut_after`` bytes of its answer, as a flaky network would, and
    records the requests for image files that pass through it."""

    def __init__(self, upstream, cut_after):
        import socket
        import threading
        self.upstream = upstream
        self.cut_after = cut_after
        self.file_requests = []
        self.cuts = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(('127.0.0.1', 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import socket
        import threading
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            state = {'armed': False, 'sent': 0}
            threading.Thread(target=self._up, args=(client, server, state),
                             daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, state),
                             daemon=True).start()

    def _up(self, client, server, state):
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                if b'/file HTTP/1.1' in data:
                    with self._lock:
                        self.file_requests.append(data.decode('latin-1'))
                        if self.cuts == 0:
                            state['armed'], state['sent'] = True, 0
                server.sendall(data)

    def _down(self, server, client, state):
        import socket
        import struct
        with contextlib.suppress(OSError):
            while data := server.recv(65536):
                client.sendall(data)
                state['sent'] += len(data)
                if state['armed'] and state['sent'] >= self.cut_after:
                    with self._lock:
                        self.cuts += 1
                    state['armed'] = False
                    # SO_LINGER 0: the close resets the connection.  The
                    # shutdown first wakes the thread reading the socket,
                    # which would otherwise hold it open.
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                      struct.pack('ii', 1, 0))
                    client.shutdown(socket.SHUT_RDWR)
                    client.close()
                    server.close()
                    return

    def close(self):
        self._server.close()


def test_connection_reset_is_resumed(source, tmp_path, monkeypatch):
    """A real download reset halfway by the network is retried, and the
    retry asks Glance only for the bytes missing."""
    import urllib.parse
    image = _upload(source.conn, 'transfer-reset',
                    _write(tmp_path / 'data', 24 * MiB))
    endpoint = urllib.parse.urlsplit(source.conn.image.get_endpoint())
    proxy = CuttingProxy((endpoint.hostname, endpoint.port), 5 * MiB)
    try:
        conn = openstack.connect(
            load_yaml_config=False, load_envvars=False,
            image_endpoint_override='http://127.0.0.1:%d' % proxy.port,
            **source.cloud_config)
        monkeypatch.setattr(transfer, 'BACKOFF_SECONDS', 0.1)
        # Were the reset lost, the read timeout would end the wait.
        monkeypatch.setattr(transfer, 'TIMEOUTS', (10, 20))
        out = tmp_path / 'out'
        (out / 'blobs').mkdir(parents=True)
        blob = Blob(kind='image', file_id=image.id, source_id=image.id,
                    what='image %s' % image.id, size=image.size,
                    hash_algo=image.hash_algo, hash_value=image.hash_value)
        lines = []
        transfer.fetch(conn, blob, str(out),
                       reporter=progress.Lines(lines.append))
    finally:
        proxy.close()
    assert proxy.cuts == 1
    assert len(proxy.file_requests) == 2
    assert 'Range:' not in proxy.file_requests[0]
    ranges = re.findall(r'Range: bytes=(\d+)-', proxy.file_requests[1])
    assert ranges and 0 < int(ranges[0]) <= 5 * MiB
    retries = [line for line in lines if 'retrying in' in line]
    assert len(retries) == 1 and 'Timeout' not in retries[0], lines
    assert _sha512(out / 'blobs' / image.id) == image.hash_value

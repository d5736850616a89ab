"""An export to trust at a cutover, on the real source cloud: one export
per output directory, captures taken anew by a new export (or reused when
asked, with their age), a killed volume download continued from its
capture, Ctrl-C within seconds, and private files.

The application "writes to its volume" between two exports by writing into
the volume's file in the local cloud's file-backed Cinder: a tenant's
server would do the same through its disk.  (A server's disk cannot change
on the local clouds' fake virt driver, whose captures are the bytes of the
image it booted from; servers and volumes share the capture code.)
"""

import hashlib
import os
import signal
import stat
import subprocess
import time

import pytest
import yaml

from downpour import progress
from tests.functional.helpers import BIN, volume_with_bytes, wait_for

pytestmark = pytest.mark.functional

MiB = 1024 * 1024
VOLUMES = '/var/tmp/downpour-localcloud/source/data/volumes'


@pytest.fixture
def source(fresh_project, tmp_path):
    """A fresh source project with a 1 GiB volume whose first 128 MiB are
    random (enough for a kill to land in the middle of its download)."""
    project = fresh_project('source')
    conn = project.conn
    head = os.urandom(128 * MiB)
    project.volume = volume_with_bytes(conn, 'cutover-data', head)
    project.head = head
    clouds_yaml = tmp_path / 'clouds.yaml'
    clouds_yaml.write_text(yaml.safe_dump(
        {'clouds': {'fresh': project.cloud_config}}))
    project.env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds_yaml))
    project.env.pop('OS_CLOUD', None)
    resources = tmp_path / 'resources.yml'
    resources.write_text(yaml.safe_dump(
        {'volumes': [{'id': project.volume.id}]}))
    project.argv = [str(BIN / 'downpour'), '--os-cloud', 'fresh', 'export',
                    str(resources)]
    return project


def _export(source, out, *extra, check=True):
    proc = subprocess.run(  # noqa: S603
        source.argv + [str(out), *extra], env=source.env,
        capture_output=True, text=True, timeout=900)
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _write_volume(volume, data):
    """The application writes ``data`` at the start of its volume."""
    with open(os.path.join(VOLUMES, 'volume-' + volume.id), 'r+b') as disk:
        disk.write(data)
        disk.flush()
        os.fsync(disk.fileno())


def _head(path, size):
    """The first ``size`` bytes of the volume a blob holds: a capture is
    qcow2 (only what was written), read through qemu-img as the target's
    Cinder reads it."""
    with open(path, 'rb') as stream:
        if stream.read(4) != b'QFI\xfb':
            stream.seek(0)
            return stream.read(size)
    raw = str(path) + '.raw'
    try:
        subprocess.run(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw',  # noqa: S607
                        str(path), raw], check=True, timeout=300)
        with open(raw, 'rb') as stream:
            return stream.read(size)
    finally:
        if os.path.exists(raw):
            os.unlink(raw)


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as stream:
        for chunk in iter(lambda: stream.read(MiB), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _volume_entry(out):
    """The volume's entry in the manifest (its type and zone have theirs)."""
    manifest = yaml.safe_load((out / 'manifest.yml').read_text())
    entry, = [r for r in manifest['resources'] if r['type'] == 'volume']
    return entry


def _captures_in_source(conn):
    return sorted(i.id for i in conn.image.images()
                  if (i.name or '').startswith('downpour-capture-'))


def test_one_writer_fresh_captures_and_private_files(source, tmp_path):
    volume = source.volume
    out = tmp_path / 'out'
    blob = out / 'blobs' / volume.id

    # 1. Two exports into one directory: the second stops at once, naming
    # the first, which goes on and ends with the volume's bytes, verified.
    first = subprocess.Popen(  # noqa: S603
        source.argv + [str(out)], env=source.env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    wait_for(lambda: (out / '.downpour-export.json').exists() or None,
             bool, 'the first export to take the directory', timeout=120)
    started = time.monotonic()
    second = _export(source, out, check=False)
    assert time.monotonic() - started < 30
    assert second.returncode == 1
    assert second.stderr.strip().splitlines()[-1] == (
        'downpour: error: %s is in use by another export (process %d); '
        'wait for it to finish, or export into another directory'
        % (out, first.pid))
    _, err = first.communicate(timeout=900)
    assert first.returncode == 0, err[-3000:]
    assert _head(blob, len(source.head)) == source.head
    captured = _volume_entry(out)
    assert captured['digests']['sha256'] == _sha256(blob)
    # The 128 MiB written, not the 1 GiB volume: qcow2 leaves the rest out.
    assert captured['size'] == blob.stat().st_size
    assert len(source.head) <= captured['size'] < len(source.head) + 8 * MiB
    # Private: the volume may hold anything.
    for path in [out, *out.rglob('*')]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    assert _captures_in_source(source.conn) == []

    # 2. The application writes; a new export into the finished directory
    # captures the volume again, and the new bytes arrive.
    written = os.urandom(MiB)
    _write_volume(volume, written)
    again = _export(source, out)
    assert 'already downloaded' not in again.stderr
    assert _head(blob, MiB) == written
    recaptured = _volume_entry(out)
    assert recaptured['captured_at'] > captured['captured_at']
    assert recaptured['digests']['sha256'] == _sha256(blob)

    # 3. A rehearsal may reuse the last capture: kept, and its age said.
    _write_volume(volume, os.urandom(MiB))
    reused = _export(source, out, '--reuse-captures')
    assert _head(blob, MiB) == written
    assert 'reusing the disk copy taken at %s (' % (
        recaptured['captured_at']) in reused.stderr, reused.stderr
    assert _volume_entry(out)['captured_at'] == \
        recaptured['captured_at']


def test_a_killed_volume_download_continues_from_its_capture(source,
                                                            tmp_path):
    volume = source.volume
    out = tmp_path / 'out'
    part = out / 'blobs' / (volume.id + '.part')
    proc = subprocess.Popen(  # noqa: S603
        source.argv + [str(out)], env=source.env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    killed = False
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if part.stat().st_size >= 8 * MiB:
                os.killpg(proc.pid, signal.SIGKILL)
                killed = True
                break
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    proc.wait(timeout=60)
    assert killed, 'the export ended (%s) before the kill' % proc.returncode
    kept = part.stat().st_size
    capture, = _captures_in_source(source.conn)  # kept for the next run

    again = _export(source, out)
    lines = [line for line in again.stderr.splitlines() if volume.id in line]
    assert 'continuing with the disk copy taken at' in lines[0], lines
    resumed = next(line for line in lines if 'resuming at' in line)
    total = (out / 'blobs' / volume.id).stat().st_size
    assert 'resuming at %s of %s' % (progress.human(kept),
                                     progress.human(total)) in resumed
    # Only the missing bytes came over the network.
    assert '(%s received' % progress.human(total - kept) in lines[-1]
    assert _head(out / 'blobs' / volume.id, len(source.head)) == source.head
    assert _volume_entry(out)['digests']['sha256'] == _sha256(
        out / 'blobs' / volume.id)
    # The capture went once its download was verified; no other was made.
    assert _captures_in_source(source.conn) == []
    assert capture not in [i.id for i in source.conn.image.images()]


def test_ctrl_c_during_a_capture_stops_within_seconds(source, tmp_path):
    volume = source.volume
    out = tmp_path / 'out'
    record = out / 'blobs' / (volume.id + '.capture.json')
    proc = subprocess.Popen(  # noqa: S603
        source.argv + [str(out)], env=source.env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    # The capture is under way once it is recorded; its bytes are not in
    # the image yet (Cinder is uploading them).
    wait_for(lambda: record.exists() or None, bool, 'the capture',
             timeout=300)
    interrupted = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    # Seconds, not the capture's minutes: each thread stops at its next
    # poll, but a request already sent to the source is answered first.
    # Full runs on the local clouds took 9 s twice (0.2 s alone): not yet
    # explained; a request to a Glance busy taking in the capture is the
    # likely one.
    assert time.monotonic() - interrupted < 20, err[-3000:]
    assert proc.returncode == 1, err[-3000:]
    assert err.strip().splitlines()[-1].startswith(
        'downpour: error: interrupted; run the same export again to '
        'continue it'), err[-3000:]
    assert 'Traceback' not in err
    # Run again: it finishes, with the volume's bytes.
    _export(source, out)
    assert _head(out / 'blobs' / volume.id, len(source.head)) == source.head
    wait_for(lambda: _captures_in_source(source.conn) == [] or None, bool,
             'the captures to be gone from the source', timeout=120)


def test_a_full_volume_travels_raw(fresh_project, tmp_path):
    """Every byte of a 1 GiB volume written: its qcow2 would be a little
    larger than the volume, which the target's Cinder refuses to make a
    volume of that size from, so the export captures it again as raw."""
    project = fresh_project('source')
    conn = project.conn
    full = os.urandom(1024 * MiB)
    volume = volume_with_bytes(conn, 'cutover-full', full)
    clouds_yaml = tmp_path / 'clouds.yaml'
    clouds_yaml.write_text(yaml.safe_dump(
        {'clouds': {'fresh': project.cloud_config}}))
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds_yaml))
    env.pop('OS_CLOUD', None)
    resources = tmp_path / 'resources.yml'
    resources.write_text(yaml.safe_dump({'volumes': [{'id': volume.id}]}))
    out = tmp_path / 'out'

    proc = subprocess.run(  # noqa: S603
        [str(BIN / 'downpour'), '--os-cloud', 'fresh', 'export',
         str(resources), str(out)], env=env, capture_output=True, text=True,
        timeout=1200)

    assert proc.returncode == 0, proc.stderr[-3000:]
    entry = _volume_entry(out)
    assert entry['disk_format'] == 'raw', entry
    blob = out / 'blobs' / volume.id
    assert blob.stat().st_size == 1024 * MiB
    assert _sha256(blob) == hashlib.sha256(full).hexdigest()
    playbook = (out / 'playbook.yml').read_text()
    assert 'disk_format: !unsafe "raw"' in playbook or \
        'disk_format: "raw"' in playbook
    # Neither capture is left in the source.
    wait_for(lambda: _captures_in_source(conn) == [] or None, bool,
             'the captures to be gone from the source', timeout=120)

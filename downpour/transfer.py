"""Blobs: image data, server captures and volume contents, streamed from
the source cloud to OUTDIR/blobs/<old-uuid> and verified.

A blob is written to <uuid>.part while it is hashed, and renamed only once
its checksum matches what Glance says; a stamp (<uuid>.verified) records
what was verified, so a second export skips it.  File names come only from
validated UUIDs (Blob.path).  Captures (server images, volume uploads,
snapshots, temporary volumes) are the only things downpour creates in the
source, and it deletes them once the download is verified.
"""

import concurrent.futures
import hashlib
import json
import logging
import os
import time

from downpour.errors import DownpourError, TransferError

LOG = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
WAIT_SECONDS = 3600
POLL_SECONDS = 2


def _final_path(output_dir, blob):
    return os.path.join(output_dir, blob.path)


def _stamp_path(output_dir, blob):
    return _final_path(output_dir, blob) + '.verified'


def _read_stamp(output_dir, blob):
    path = _final_path(output_dir, blob)
    try:
        with open(_stamp_path(output_dir, blob), encoding='utf-8') as stream:
            stamp = json.load(stream)
        size = os.path.getsize(path)
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get('size') != size:
        return None
    return stamp


def already_verified(output_dir, blob):
    """True when a previous export left this blob complete and verified."""
    stamp = _read_stamp(output_dir, blob)
    if stamp is None:
        return False
    if blob.kind == 'image' and blob.hash_value and (
            stamp.get('hash_algo'), stamp.get('hash_value')) != (
            blob.hash_algo, blob.hash_value):
        return False
    blob.size = stamp['size']
    blob.hash_algo = stamp.get('hash_algo')
    blob.hash_value = stamp.get('hash_value')
    blob.disk_format = stamp.get('disk_format')
    blob.container_format = stamp.get('container_format')
    return True


def _hasher(algo, what):
    try:
        return hashlib.new(algo)
    except (TypeError, ValueError):
        raise TransferError('%s: the source gives an unknown checksum '
                            'algorithm %r' % (what, algo)) from None


def stream_to_file(chunks, output_dir, blob, hash_algo, hash_value):
    """Write ``chunks`` to the blob's file, verifying as it goes."""
    final = _final_path(output_dir, blob)
    part = final + '.part'
    if not hash_value:
        raise TransferError('%s: the source gives no checksum to verify '
                            'the download against' % blob.what)
    hasher = _hasher(hash_algo, blob.what)
    size = 0
    try:
        with open(part, 'wb') as stream:
            for chunk in chunks:
                if not chunk:
                    continue
                hasher.update(chunk)
                stream.write(chunk)
                size += len(chunk)
    except OSError as exc:
        raise TransferError('%s: cannot write %s: %s'
                            % (blob.what, part, exc.strerror)) from None
    if hasher.hexdigest() != hash_value.lower():
        os.unlink(part)
        raise TransferError(
            '%s: checksum mismatch after download (%s %s expected, %s got)'
            % (blob.what, hash_algo, hash_value, hasher.hexdigest()))
    os.replace(part, final)
    blob.size, blob.hash_algo, blob.hash_value = size, hash_algo, hash_value
    with open(_stamp_path(output_dir, blob), 'w', encoding='utf-8') as out:
        json.dump({'size': size, 'hash_algo': hash_algo,
                   'hash_value': hash_value,
                   'disk_format': blob.disk_format,
                   'container_format': blob.container_format,
                   'source_id': blob.source_id}, out)


def _image_checksum(image):
    algo = getattr(image, 'hash_algo', None)
    value = getattr(image, 'hash_value', None)
    if algo and value:
        return algo, value
    return 'md5', image.checksum


def download_image(conn, image, output_dir, blob, algo=None, value=None):
    """Stream ``image`` (an Image, or an ID with its checksum given)."""
    if not value:
        if isinstance(image, str):
            image = conn.image.get_image(image)
        algo, value = _image_checksum(image)
    image_id = image if isinstance(image, str) else image.id
    # Straight from the file endpoint: openstacksdk's download_image GETs
    # the image record again first, and this one is already known.
    response = conn.image.get('/images/%s/file' % image_id, stream=True,
                              raise_exc=False)
    if response.status_code != 200:
        response.close()
        raise TransferError('%s: image download refused: HTTP %d'
                            % (blob.what, response.status_code))
    try:
        stream_to_file(response.iter_content(chunk_size=CHUNK_SIZE),
                       output_dir, blob, algo, value)
    finally:
        response.close()


def _wait(what, fetch, ready, failed=('error', 'killed', 'deleted')):
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        obj = fetch()
        status = (obj.status or '').lower()
        if status == ready:
            return obj
        if status in failed or status.startswith('error'):
            raise TransferError('%s went to status %s' % (what, status))
        if time.monotonic() > deadline:
            raise TransferError('%s: still %s after %d s'
                                % (what, status, WAIT_SECONDS))
        time.sleep(POLL_SECONDS)


def _wait_image(conn, image_id, what):
    return _wait('%s: capture image %s' % (what, image_id),
                 lambda: conn.image.get_image(image_id), 'active')


def capture_server(conn, output_dir, blob, keep_captures):
    name = 'downpour-capture-%s' % blob.source_id
    image = conn.compute.create_server_image(blob.source_id, name)
    try:
        captured = _wait_image(conn, image.id, blob.what)
        blob.disk_format = captured.disk_format
        blob.container_format = captured.container_format
        download_image(conn, captured, output_dir, blob)
    finally:
        if not keep_captures:
            _quietly(conn.image.delete_image, image.id)


def capture_volume(conn, output_dir, blob, keep_captures):
    """Volume contents through a raw image; an attached volume goes through
    a snapshot and a temporary volume, since clouds refuse to upload an
    in-use volume unless the operator allowed it."""
    cleanups = []
    source = blob.source_id
    try:
        if blob.volume_in_use:
            volume = conn.block_storage.get_volume(source)
            snapshot = conn.block_storage.create_snapshot(
                volume_id=source, force=True,
                name='downpour-capture-%s' % source)
            cleanups.append(lambda: conn.block_storage.delete_snapshot(
                snapshot.id))
            _wait('%s: snapshot %s' % (blob.what, snapshot.id),
                  lambda: conn.block_storage.get_snapshot(snapshot.id),
                  'available')
            temporary = conn.block_storage.create_volume(
                snapshot_id=snapshot.id, size=volume.size,
                name='downpour-capture-%s' % source)
            cleanups.append(lambda: _delete_volume_and_wait(
                conn, temporary.id))
            _wait('%s: temporary volume %s' % (blob.what, temporary.id),
                  lambda: conn.block_storage.get_volume(temporary.id),
                  'available')
            source = temporary.id
        upload = conn.block_storage.upload_volume_to_image(
            source, 'downpour-capture-%s' % blob.source_id,
            disk_format='raw', container_format='bare')
        image_id = upload['image_id']
        cleanups.append(lambda: conn.image.delete_image(image_id))
        captured = _wait_image(conn, image_id, blob.what)
        download_image(conn, captured, output_dir, blob)
    finally:
        if not keep_captures:
            # Newest first: the image, then the volume, then its snapshot.
            for cleanup in reversed(cleanups):
                _quietly(cleanup)


def _delete_volume_and_wait(conn, volume_id):
    conn.block_storage.delete_volume(volume_id)
    # The snapshot cannot go while the volume made from it is there.
    conn.block_storage.wait_for_delete(
        conn.block_storage.get_volume(volume_id), interval=POLL_SECONDS,
        wait=600)


def _quietly(action, *args):
    try:
        action(*args)
    except Exception as exc:  # a failed clean-up must not hide the result
        LOG.warning('could not delete a temporary capture: %s', exc)


def fetch(conn, blob, output_dir, keep_captures=False):
    if already_verified(output_dir, blob):
        LOG.info('%s: already downloaded and verified', blob.what)
        return blob
    try:
        if blob.kind == 'image':
            download_image(conn, blob.source_id, output_dir, blob,
                           blob.hash_algo, blob.hash_value)
        elif blob.kind == 'server':
            capture_server(conn, output_dir, blob, keep_captures)
        elif blob.kind == 'volume':
            capture_volume(conn, output_dir, blob, keep_captures)
        else:
            raise ValueError(blob.kind)
    except DownpourError:
        raise
    except Exception as exc:  # openstacksdk, requests, OS errors
        raise TransferError('%s: transfer failed: %s'
                            % (blob.what, exc)) from None
    return blob


def fetch_all(conn, blobs, output_dir, keep_captures=False, parallel=4):
    os.makedirs(os.path.join(output_dir, 'blobs'), exist_ok=True)
    if not blobs:
        return []
    with concurrent.futures.ThreadPoolExecutor(max(1, parallel)) as pool:
        futures = [pool.submit(fetch, conn, blob, output_dir, keep_captures)
                   for blob in blobs]
        errors = []
        for future in futures:
            try:
                future.result()
            except DownpourError as exc:
                errors.append(exc)
    if errors:
        if len(errors) == 1:
            raise errors[0]
        raise TransferError('; '.join(str(e) for e in errors))
    return blobs

"""Blobs: image data, server captures and volume contents, streamed from
the source cloud to OUTDIR/blobs/<old-uuid> and verified.

A blob is written to <uuid>.part while it is hashed, and renamed only once
its checksum matches what Glance says (``os_hash_value``, else the md5
``checksum``); a stamp (<uuid>.verified) then records what was verified,
so a second export skips it.  <uuid>.part.json says which image and
checksum the .part holds bytes of: an export killed halfway is resumed
from the bytes on disk (hashed again first, then an HTTP Range request),
and bytes of another image (a new capture of the same server) are never
resumed.  A .part is never taken as complete.

Every digest the stamp records (the source's algorithm, sha256, md5) is
computed once, as the bytes arrive, each in a thread of its own
(downpour.importer.hashing): the bytes are read once.  A resumed download reads the
bytes kept on disk once to start every digest, and continues them over the
bytes that come next, so that each digest is the whole file's.

Network failures (connection resets, timeouts, 5xx) are retried with
exponential backoff, resuming where the bytes stopped.  keystoneauth
renews a token that expired or was revoked: a 401 makes it log in again
and repeat the request once.  Runs of zeros (volumes are mostly zeros)
are seeked over rather than written, so blobs are sparse on disk; they are
hashed all the same.  Memory stays flat: one chunk at a time.

The stamp records digests of the bytes on disk: the chunks hashed are the
very objects written, at the offset counted; the .part is cut at that
offset before each write, so that a run of zeros skipped over (a hole)
reads back as zeros; and the file is flushed to the disk (fsync, whose
failure is an error) before it is renamed.  Reading it back at once would
be answered from the page cache the write just filled: it would check
nothing more.  A later export trusts a blob only while the file still has
the stamp's sha256, and the import checks the file against the digests as
it sends it.

Captures are point in time.  A server's or volume's blob is reused only
when the export that wrote it is the one still running (an interrupted run,
run again) or when the user asks for it (--reuse-captures, which says how
old each is); otherwise the server or volume is captured again.  The
capture image being downloaded is recorded in <uuid>.capture.json and kept
in the source until its download is verified, so that an interrupted
export, run again, continues that download with a Range request; if the
capture is gone, it captures again and says so.

File names come only from validated UUIDs (Blob.path).  Captures (server
images, volume uploads, snapshots, temporary volumes) are the only things
downpour creates in the source, and it deletes them once the download is
verified (an interrupted export keeps the capture it was downloading, and
names it; one killed with SIGKILL leaves what it was capturing, named
downpour-capture-<uuid>; the next export names those it sees in a
warning).
"""

import concurrent.futures
import contextlib
import json
import logging
import os
import threading
import time

import keystoneauth1.exceptions as ksa_exc
import requests
import urllib3

from downpour import outdir, progress
from downpour.errors import DownpourError, TransferError
from downpour.importer import hashing
from downpour.resources.image import user_properties

LOG = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
WAIT_SECONDS = 3600
POLL_SECONDS = 2
# What every temporary thing an export makes in the source is called.
CAPTURE_PREFIX = 'downpour-capture-'
# A blob is given up after this many failed requests in a row (that bring
# no bytes), waiting
# BACKOFF_SECONDS, then twice that, and so on, between them (1+2+4+8+16 s:
# long enough for a restarting API worker or load balancer).
ATTEMPTS = 6
BACKOFF_SECONDS = 1.0
# requests' (connect, read) timeouts: the read timeout is between two
# bytes, not for the whole blob.
TIMEOUTS = (30, 300)

_ZEROS = bytes(CHUNK_SIZE)
# Failures worth another attempt.  OSError is not among them (a full disk
# is not going to get better) but its ConnectionError subclasses are.
_NETWORK_ERRORS = (
    requests.exceptions.ConnectionError, requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError, urllib3.exceptions.HTTPError,
    ksa_exc.ConnectFailure, ksa_exc.ConnectTimeout,
    ksa_exc.RetriableConnectionFailure, ConnectionError, TimeoutError)


class _Retry(Exception):
    """This attempt failed in a way that another one may not."""


def _final_path(output_dir, blob):
    return os.path.join(output_dir, blob.path)


def _stamp_path(output_dir, blob):
    return _final_path(output_dir, blob) + '.verified'


def _capture_path(output_dir, blob):
    return _final_path(output_dir, blob) + '.capture.json'


# How a volume's contents are captured unless the export is told otherwise.
VOLUME_FORMAT = 'qcow2'
VOLUME_FORMATS = ('qcow2', 'raw')
# Always computed over the bytes on disk, besides the source's algorithm:
# sha256 is the import's check of the file, md5 what every Glance reports.
DIGESTS = ('sha256', 'md5')


def file_digests(path, algos, cancel=None, what=None):
    """Digests of the file at ``path``, read once, by algorithm."""
    def check():
        if cancel is not None and cancel.is_set():
            raise TransferError('%s: interrupted' % (what or path))
    return hashing.of_file(path, _known(algos, what or path), CHUNK_SIZE,
                           check)


def _known(algos, what):
    """``algos``, each one hashlib knows, else the error says which."""
    for algo in algos:
        try:
            hashing.hasher(algo)
        except ValueError:
            raise TransferError('%s: the source gives an unknown checksum '
                                'algorithm %r' % (what, algo)) from None
    return algos


def _read_stamp(output_dir, blob, cancel=None):
    """The stamp of a verified blob, if the file on disk still has the
    digest it records (read again: Ctrl-C, ``cancel``, stops it)."""
    path = _final_path(output_dir, blob)
    try:
        with open(_stamp_path(output_dir, blob), encoding='utf-8') as stream:
            stamp = json.load(stream)
        size = os.path.getsize(path)
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get('size') != size or \
            not isinstance(stamp.get('digests'), dict) or \
            not stamp['digests'].get('sha256'):
        return None  # an older stamp, of the size only: not trusted
    try:
        on_disk = file_digests(path, ['sha256'], cancel=cancel,
                               what=blob.what)
    except OSError:
        return None
    if on_disk['sha256'] != stamp['digests']['sha256']:
        return None
    return stamp


def _age(captured_at):
    moment = outdir.parse(captured_at)
    if moment is None:
        return 'of unknown age'
    minutes = int((outdir.now() - moment).total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = ['%d d' % days] if days else []
    parts += ['%d h' % hours] if hours or days else []
    return '%s ago' % ' '.join(parts + ['%d min' % minutes])


class Captures:
    """Which captures of servers and volumes an export may reuse: its own
    (taken since the export began, an interrupted run resumed), and any
    when the user said so (--reuse-captures)."""

    def __init__(self, state=None, reuse=False):
        self.state = state
        self.reuse = reuse

    def own(self, captured_at):
        return self.state is not None and self.state.owns(captured_at)

    def usable(self, captured_at):
        return self.reuse or self.own(captured_at)


def already_verified(output_dir, blob, captures=None, reporter=None,
                     cancel=None):
    """True when a previous export left this blob complete and verified,
    and (a capture) one this export may use."""
    stamp = _read_stamp(output_dir, blob, cancel)
    if stamp is None:
        return False
    if blob.kind == 'image' and blob.hash_value and (
            stamp.get('hash_algo'), stamp.get('hash_value')) != (
            blob.hash_algo, blob.hash_value):
        return False
    if blob.kind != 'image':
        captures = captures or Captures()
        if not captures.usable(stamp.get('captured_at')):
            return False
        if reporter is not None:
            # Its age, always: an export left unfinished last week and run
            # again tonight continues with last week's captures.
            reporter.note(blob, '%s the disk copy taken at %s (%s)' % (
                'keeping' if captures.own(stamp['captured_at'])
                else 'reusing', stamp['captured_at'],
                _age(stamp['captured_at'])))
    blob.size = stamp['size']
    blob.hash_algo = stamp.get('hash_algo')
    blob.hash_value = stamp.get('hash_value')
    blob.disk_format = stamp.get('disk_format')
    blob.container_format = stamp.get('container_format')
    blob.digests = stamp['digests']
    blob.captured_at = stamp.get('captured_at')
    blob.properties = stamp.get('properties')
    return True


def _fsync(path):
    """Flush ``path`` (a file or a directory) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _durable_replace(source, target):
    """Rename ``source`` over ``target`` so that after a crash the disk
    holds the old file or all of the new one, never a renamed file whose
    bytes were still in the page cache."""
    _fsync(source)
    os.replace(source, target)
    _fsync(os.path.dirname(os.path.abspath(target)))


def _write_json(path, data):
    """Replace ``path`` atomically: a reader sees the old or the new."""
    with open(path + '.tmp', 'w', encoding='utf-8',
              opener=outdir.nofollow) as out:
        json.dump(data, out)
    _durable_replace(path + '.tmp', path)


def _unlink(*paths):
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


class _Sink:
    """The .part file of a blob: where the bytes go, and their digests.

    ``offset`` bytes are hashed and in the file (runs of zeros may be holes
    in it); writing continues there.  The file's length can be short of
    ``offset`` when it ends with zeros: :meth:`close` sets it.
    """

    def __init__(self, output_dir, blob, origin, cancel=None):
        self.blob = blob
        self.final = _final_path(output_dir, blob)
        self.part = self.final + '.part'
        self.info = self.part + '.json'
        self.origin = origin
        self.cancel = cancel
        self.offset = 0
        self.digests = None
        # The source's algorithm first: it decides.
        self.algos = tuple(dict.fromkeys((origin['hash_algo'],) + DIGESTS))

    def _start_digests(self):
        self.stop()
        self.digests = hashing.Digests(_known(self.algos, self.blob.what))
        self.offset = 0

    def keep(self):
        """Take over the bytes an earlier, interrupted export left, if they
        are of the same image: read once from the disk, they start every
        digest, which the new bytes continue.  Returns their count."""
        try:
            with open(self.info, encoding='utf-8') as stream:
                same = json.load(stream) == self.origin
        except (OSError, ValueError):
            same = False
        if not same:
            self.restart()
            return 0
        self._start_digests()
        try:
            with open(self.part, 'rb', opener=outdir.nofollow) as stream:
                for chunk in iter(lambda: stream.read(CHUNK_SIZE), b''):
                    self._check_cancel()
                    self.digests.update(chunk)
                    self.offset += len(chunk)
        except FileNotFoundError:
            self.restart()
        except OSError as exc:
            raise self._write_error(exc) from None
        return self.offset

    def restart(self):
        self._start_digests()
        try:
            with open(self.part, 'wb', opener=outdir.nofollow):
                pass
            _write_json(self.info, self.origin)
        except OSError as exc:
            raise self._write_error(exc) from None

    def write(self, chunks, advance):
        """Append ``chunks``; network errors become _Retry, and what came
        before them stays written and counted."""
        try:
            stream = open(self.part, 'r+b',  # noqa: SIM115 (closed below)
                          opener=outdir.nofollow)
        except OSError as exc:
            raise self._write_error(exc) from None
        try:
            # Nothing past the bytes counted: a hole left below must read
            # back as the zeros that were hashed.
            stream.truncate(self.offset)
            stream.seek(self.offset)
            for chunk in chunks:
                self._check_cancel()
                if not chunk:
                    continue
                size = len(chunk)
                if chunk == (_ZEROS if size == CHUNK_SIZE else bytes(size)):
                    # A hole reads back as zeros, and costs no disk.
                    stream.seek(size, os.SEEK_CUR)
                else:
                    stream.write(chunk)
                self.digests.update(chunk)
                self.offset += size
                advance(size)
        except _NETWORK_ERRORS as exc:
            raise _Retry(_reason(exc)) from None
        except OSError as exc:
            raise self._write_error(exc) from None
        finally:
            stream.close()

    def close(self):
        """The file's length is the bytes counted (a last hole included)."""
        try:
            os.truncate(self.part, self.offset)
        except OSError as exc:
            raise self._write_error(exc) from None

    def result(self):
        """Every digest of the bytes counted, by algorithm."""
        return self.digests.result()

    def digest(self):
        return self.result()[self.origin['hash_algo']]

    def stop(self):
        """No thread hashes for this sink any more."""
        if self.digests is not None:
            self.digests.close()

    def commit(self):
        _durable_replace(self.part, self.final)
        _unlink(self.info)

    def discard(self):
        _unlink(self.part, self.info)

    def _check_cancel(self):
        if self.cancel is not None and self.cancel.is_set():
            raise TransferError('%s: interrupted (the bytes so far are kept '
                                'in %s)' % (self.blob.what, self.part))

    def _write_error(self, exc):
        return TransferError('%s: cannot write %s: %s' % (
            self.blob.what, self.part, exc.strerror or exc))


def _reason(exc):
    """A short, secret-free description of a network failure."""
    text = ' '.join(str(exc).split())
    return '%s%s' % (type(exc).__name__, (': ' + text[:200]) if text else '')


def _verify_and_commit(sink, output_dir, blob, hash_algo, hash_value):
    digests = sink.result()
    got = digests[hash_algo]
    if got != hash_value.lower():
        sink.discard()
        raise TransferError(
            '%s: checksum mismatch after download (%s %s expected, %s got)'
            % (blob.what, hash_algo, hash_value, got))
    sink.commit()
    blob.size, blob.hash_algo, blob.hash_value = (
        sink.offset, hash_algo, hash_value)
    blob.digests = digests
    _write_json(_stamp_path(output_dir, blob), {
        'size': sink.offset, 'hash_algo': hash_algo,
        'hash_value': hash_value, 'digests': digests,
        'captured_at': blob.captured_at, 'disk_format': blob.disk_format,
        'container_format': blob.container_format,
        'properties': blob.properties, 'source_id': blob.source_id})


def _image_checksum(image):
    algo = getattr(image, 'hash_algo', None)
    value = getattr(image, 'hash_value', None)
    if algo and value:
        return algo, value
    return 'md5', image.checksum


def _content_range_start(response):
    """The first byte of a 206 answer (``bytes 100-199/200``), or None."""
    value = response.headers.get('Content-Range', '')
    try:
        unit, spec = value.split(None, 1)
        return int(spec.split('-', 1)[0]) if unit == 'bytes' else None
    except ValueError:
        return None


def _content_length(response):
    try:
        return int(response.headers['Content-Length'])
    except (KeyError, ValueError):
        return None


class _ImageDownload:
    """One image's file, in as many requests as it takes."""

    def __init__(self, conn, image_id, sink, reporter):
        self.conn = conn
        self.url = '/images/%s/file' % image_id
        self.sink = sink
        self.blob = sink.blob
        self.reporter = reporter
        self.received = 0

    def run(self, total):
        """Fill the sink; True if some bytes came from before this call."""
        kept = self.sink.keep()
        self.reporter.start(self.blob, total, kept)
        failures = 0
        while True:
            before = self.sink.offset
            try:
                self._attempt()
                return kept > 0
            except _Retry as exc:
                # Failures in a row: an attempt that brought bytes starts
                # the count (and the backoff) again.
                failures = 1 if self.sink.offset > before else failures + 1
                if failures >= ATTEMPTS:
                    raise TransferError(
                        '%s: download failed after %d attempts: %s (run the '
                        'export again to resume it)'
                        % (self.blob.what, failures, exc)) from None
                delay = BACKOFF_SECONDS * 2 ** (failures - 1)
                self.reporter.note(self.blob, '%s; retrying in %g s from '
                                   'byte %d' % (exc, delay, self.sink.offset))
                if self.sink.cancel is not None:
                    self.sink.cancel.wait(delay)
                else:
                    time.sleep(delay)

    def _attempt(self):
        offset = self.sink.offset
        # Glance answers a Range with 206 (or 200 with the whole file, if
        # a proxy in front drops the header: then start again).
        headers = {'Range': 'bytes=%d-' % offset} if offset else {}
        try:
            # Retries are ours alone (openstacksdk would repeat a 503 five
            # times itself, from the first byte).
            response = self.conn.image.get(
                self.url, stream=True, raise_exc=False, headers=headers,
                timeout=TIMEOUTS, connect_retries=0, status_code_retries=0)
        except _NETWORK_ERRORS as exc:
            raise _Retry(_reason(exc)) from None
        with contextlib.closing(response):
            status = response.status_code
            if offset and status == 206 and (
                    _content_range_start(response) == offset):
                pass
            elif status == 200:
                if offset:
                    self.reporter.note(self.blob, 'the server does not '
                                       'resume downloads: starting again')
                    self.sink.restart()
            elif status in (206, 416) and offset:
                # Another range than asked for, or more bytes kept than the
                # image has: the bytes kept are not to be trusted.
                self.sink.restart()
                raise _Retry('HTTP %d for a resumed download' % status)
            elif status >= 500 or status == 429:
                raise _Retry('HTTP %d' % status)
            else:
                raise TransferError('%s: image download refused: HTTP %d'
                                    % (self.blob.what, status))
            expected = _content_length(response)
            before = self.sink.offset
            self.sink.write(response.iter_content(chunk_size=CHUNK_SIZE),
                            self._advance)
            got = self.sink.offset - before
            if expected is not None and got < expected:
                raise _Retry('the connection closed after %d of %d bytes'
                             % (got, expected))

    def _advance(self, size):
        self.received += size
        self.reporter.advance(self.blob, size)


def download_image(conn, image, output_dir, blob, algo=None, value=None,
                   reporter=None, cancel=None):
    """Stream ``image`` (an Image, or an ID with its checksum given)."""
    total = blob.size
    if not value:
        if isinstance(image, str):
            image = conn.image.get_image(image)
        algo, value = _image_checksum(image)
    if not isinstance(image, str):
        total = image.size
    image_id = image if isinstance(image, str) else image.id
    if not value:
        raise TransferError('%s: the source gives no checksum to verify '
                            'the download against' % blob.what)
    reporter = reporter or progress.current()
    sink = _Sink(output_dir, blob, {'image_id': image_id, 'hash_algo': algo,
                                    'hash_value': value.lower()}, cancel)
    started = time.monotonic()
    # Straight from the file endpoint: openstacksdk's download_image GETs
    # the image record again first, and this one is already known.
    download = _ImageDownload(conn, image_id, sink, reporter)
    try:
        resumed = download.run(total)
        sink.close()
        if resumed and sink.digest() != value.lower():
            # Bytes kept from before did not survive (a crash of the
            # machine rather than of downpour): one more time, from the
            # first byte.
            reporter.note(blob, 'the resumed download does not match its '
                          'checksum: downloading it from the start')
            sink.discard()
            download.run(total)
            sink.close()
        _verify_and_commit(sink, output_dir, blob, algo, value)
    finally:
        sink.stop()
    reporter.finish(blob, download.received, time.monotonic() - started)


def _wait(what, fetch, ready, failed=('error', 'killed', 'deleted'),
          cancel=None):
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
        if cancel is None:
            time.sleep(POLL_SECONDS)
        elif cancel.wait(POLL_SECONDS):
            raise TransferError('%s: interrupted while %s' % (what, status))


def _wait_image(conn, image_id, what, cancel=None):
    return _wait('%s: image %s (the copy of its disk)' % (what, image_id),
                 lambda: conn.image.get_image(image_id), 'active',
                 cancel=cancel)


def _recorded_capture(conn, output_dir, blob, captures, reporter):
    """The capture an earlier run of this export took and did not finish
    downloading, if it is still in the source: (image ID, taken at)."""
    path = _capture_path(output_dir, blob)
    try:
        with open(path, encoding='utf-8') as stream:
            recorded = json.load(stream)
        image_id, captured_at = recorded['image_id'], recorded['captured_at']
    except (OSError, ValueError, KeyError, TypeError):
        return None, None
    if not captures.usable(captured_at):
        # Another export's: left for the leftover warning to name.
        _unlink(path)
        return None, None
    image = conn.image.find_image(image_id, ignore_missing=True)
    if image is None or (image.status or '').lower() in (
            'killed', 'deleted', 'pending_delete'):
        reporter.note(blob, 'the disk copy (image %s) an earlier run was '
                      'downloading is gone from the source: copying the '
                      'disk again' % image_id)
        _unlink(path)
        return None, None
    reporter.note(blob, 'continuing with the disk copy taken at %s (%s)'
                  % (captured_at, _age(captured_at)))
    return image_id, captured_at


def _record_capture(output_dir, blob, image_id, captured_at):
    os.makedirs(os.path.dirname(_capture_path(output_dir, blob)),
                exist_ok=True)
    _write_json(_capture_path(output_dir, blob),
                {'image_id': image_id, 'captured_at': captured_at})


def _kept(exc, image_id):
    return TransferError('%s; its disk copy, image %s in the source, is '
                         'kept for the next export to continue from'
                         % (exc, image_id))


def _download_capture(conn, output_dir, blob, image_id, keep_captures,
                      reporter, cancel, slots=None, captured=None):
    """Download a capture (``captured``: already active); delete it once
    verified.  Until then it stays in the source, for the next run to
    resume, and the error names it."""
    done = False
    try:
        if captured is None:
            captured = _wait_image(conn, image_id, blob.what, cancel)
        blob.disk_format = captured.disk_format
        blob.container_format = captured.container_format
        if blob.kind == 'server':
            # Without the properties Nova bookkeeps about the source
            # (its server, user and project): they name nothing in the
            # target.
            blob.properties = user_properties(captured)
        with slots or contextlib.nullcontext():
            download_image(conn, captured, output_dir, blob,
                           reporter=reporter, cancel=cancel)
        done = True
    except DownpourError as exc:
        raise _kept(exc, image_id) from None
    finally:
        if done:
            _unlink(_capture_path(output_dir, blob))
            if not keep_captures:
                _quietly(conn.image.delete_image, image_id)


def capture_server(conn, output_dir, blob, keep_captures, reporter=None,
                   cancel=None, captures=None, slots=None):
    reporter = reporter or progress.current()
    image_id, blob.captured_at = _recorded_capture(
        conn, output_dir, blob, captures or Captures(), reporter)
    if image_id is None:
        blob.captured_at = outdir.iso(outdir.now())
        image = conn.compute.create_server_image(
            blob.source_id, CAPTURE_PREFIX + blob.source_id)
        image_id = image.id
        _record_capture(output_dir, blob, image_id, blob.captured_at)
    _download_capture(conn, output_dir, blob, image_id, keep_captures,
                      reporter, cancel, slots)


def capture_volume(conn, output_dir, blob, keep_captures, reporter=None,
                   cancel=None, captures=None, slots=None):
    """Volume contents through an image (qcow2 unless the export asks for
    raw); an attached volume goes through a snapshot and a temporary
    volume, since clouds refuse to upload an in-use volume unless the
    operator allowed it.  The snapshot and the temporary volume go as soon
    as the image holds the bytes."""
    reporter = reporter or progress.current()
    image_id, blob.captured_at = _recorded_capture(
        conn, output_dir, blob, captures or Captures(), reporter)
    if image_id is None:
        image = _upload_volume(conn, output_dir, blob, keep_captures, cancel)
    else:
        try:
            image = _wait_image(conn, image_id, blob.what, cancel)
        except DownpourError as exc:
            raise _kept(exc, image_id) from None
    # A resumed capture too: an earlier run may have stopped before this.
    image = _fitting(conn, output_dir, blob, image, keep_captures, cancel)
    _download_capture(conn, output_dir, blob, image.id, keep_captures,
                      reporter, cancel, slots, captured=image)


def _fitting(conn, output_dir, blob, image, keep_captures, cancel):
    """Cinder makes a volume from an image only if the image's bytes fit
    in the volume: the qcow2 of a nearly full volume is a little larger
    than the volume (its tables), so that one is captured again as raw.
    ``image`` is active; so is the capture returned."""
    if image.disk_format != 'qcow2' or not blob.volume_size_gib or \
            (image.size or 0) <= blob.volume_size_gib * 1024 ** 3:
        return image
    _unlink(_capture_path(output_dir, blob))
    _quietly(conn.image.delete_image, image.id)
    blob.disk_format = 'raw'
    return _upload_volume(conn, output_dir, blob, keep_captures, cancel)


def _upload_volume(conn, output_dir, blob, keep_captures, cancel):
    """Capture the volume's contents in an image of the source; the
    image, once active."""
    cleanups = []
    source = blob.source_id
    blob.captured_at = outdir.iso(outdir.now())
    image_id = None
    try:
        if blob.volume_in_use:
            volume = conn.block_storage.get_volume(source)
            snapshot = conn.block_storage.create_snapshot(
                volume_id=source, force=True,
                name=CAPTURE_PREFIX + source)
            cleanups.append(('snapshot', snapshot.id,
                             lambda: conn.block_storage.delete_snapshot(
                                 snapshot.id)))
            _wait('%s: snapshot %s' % (blob.what, snapshot.id),
                  lambda: conn.block_storage.get_snapshot(snapshot.id),
                  'available', cancel=cancel)
            temporary = conn.block_storage.create_volume(
                snapshot_id=snapshot.id, size=volume.size,
                name=CAPTURE_PREFIX + source)
            cleanups.append(('volume', temporary.id,
                             lambda: _delete_volume_and_wait(
                                 conn, temporary.id, blob.what)))
            _wait('%s: temporary volume %s' % (blob.what, temporary.id),
                  lambda: conn.block_storage.get_volume(temporary.id),
                  'available', cancel=cancel)
            source = temporary.id
        # qcow2 unless asked otherwise (export --volume-format): Cinder
        # leaves the unwritten parts of the volume out, so a mostly empty
        # volume travels as its data, and the target's Cinder writes it
        # back whole (doc/source/performance.rst, "Volume contents").
        upload = conn.block_storage.upload_volume_to_image(
            source, CAPTURE_PREFIX + blob.source_id,
            disk_format=blob.disk_format or VOLUME_FORMAT,
            container_format='bare')
        image_id = upload['image_id']
        # Recorded at once: an interrupted run's capture is the next run's.
        _record_capture(output_dir, blob, image_id, blob.captured_at)
        image = _wait_image(conn, image_id, blob.what, cancel)
        if not blob.volume_in_use:
            _wait_volume_settled(conn, source, blob.what, cancel)
        return image
    except DownpourError as exc:
        if cancel is not None and cancel.is_set():
            # Ctrl-C: no waiting for Cinder to let go of what it is busy
            # with; what stays is named, and the image (if any) continued.
            left = ['%s %s' % (kind, ident) for kind, ident, _ in cleanups]
            if image_id is not None:
                left.append('image %s, which the next export continues '
                            'from' % image_id)
            cleanups = []
            raise TransferError('%s; left in the source: %s' % (
                exc, ', '.join(left) or 'nothing')) from None
        if image_id is not None:
            # The capture failed: of no use to a later run.
            _unlink(_capture_path(output_dir, blob))
            cleanups.append(('image', image_id,
                             lambda: conn.image.delete_image(image_id)))
        raise
    finally:
        if not keep_captures:
            # Newest first: the image (if it failed), then the volume,
            # then its snapshot.
            for _kind, _ident, cleanup in reversed(cleanups):
                _quietly(cleanup)


def _wait_volume_settled(conn, volume_id, what, cancel=None):
    # Cinder keeps a volume 'uploading' for a while after the image it sent
    # is active; it refuses to delete it, and a user's own volume should be
    # left as it was found.
    return _wait('%s: volume %s' % (what, volume_id),
                 lambda: conn.block_storage.get_volume(volume_id),
                 'available', cancel=cancel)


def _delete_volume_and_wait(conn, volume_id, what):
    _wait_volume_settled(conn, volume_id, what)
    conn.block_storage.delete_volume(volume_id)
    # The snapshot cannot go while the volume made from it is there.
    conn.block_storage.wait_for_delete(
        conn.block_storage.get_volume(volume_id), interval=POLL_SECONDS,
        wait=600)


def _quietly(action, *args):
    try:
        action(*args)
    except Exception as exc:  # a failed clean-up must not hide the result
        LOG.warning('could not delete a temporary image, snapshot or volume '
                    'the export made in the source: %s', exc)


def fetch(conn, blob, output_dir, keep_captures=False, reporter=None,
          cancel=None, captures=None, slots=None):
    """Download ``blob``, capturing it first for a server or volume.  With
    ``slots`` (a semaphore), a download takes one of them: the captures,
    which wait on the source cloud, do not."""
    reporter = reporter or progress.current()
    captures = captures or Captures()
    if cancel is not None and cancel.is_set():
        raise TransferError('%s: interrupted before it started' % blob.what)
    if already_verified(output_dir, blob, captures, reporter, cancel):
        reporter.skip(blob)
        return blob
    try:
        if blob.kind == 'image':
            with slots or contextlib.nullcontext():
                download_image(conn, blob.source_id, output_dir, blob,
                               blob.hash_algo, blob.hash_value,
                               reporter=reporter, cancel=cancel)
        elif blob.kind == 'server':
            capture_server(conn, output_dir, blob, keep_captures, reporter,
                           cancel, captures, slots)
        elif blob.kind == 'volume':
            capture_volume(conn, output_dir, blob, keep_captures, reporter,
                           cancel, captures, slots)
        else:
            raise ValueError(blob.kind)
    except DownpourError:
        raise
    except Exception as exc:  # openstacksdk, requests, OS errors
        raise TransferError('%s: transfer failed: %s'
                            % (blob.what, exc)) from None
    return blob


def fetch_all(conn, blobs, output_dir, keep_captures=False, parallel=4,
              captures=None, capturing=8):
    """Fetch ``blobs``: ``parallel`` downloads at a time, and meanwhile up
    to ``capturing`` captures of servers and volumes in the source (they
    wait on the cloud, not on the network).  Every blob is tried even when
    another fails, so that a new export has less to do.  Ctrl-C stops them
    all within seconds, each where it is, and the error says what stays in
    the source."""
    os.makedirs(os.path.join(output_dir, 'blobs'), exist_ok=True)
    if not blobs:
        return []
    reporter = progress.current()
    cancel = threading.Event()
    slots = threading.BoundedSemaphore(max(1, parallel))
    captured = [blob for blob in blobs if blob.kind != 'image']
    images = [blob for blob in blobs if blob.kind == 'image']
    # Captures have a pool of their own (``capturing`` waiting on the
    # source cloud besides those downloading) and take a download slot only
    # for their download.  The images queue in the order given, ``parallel``
    # at a time: with ``--parallel 1`` each is whole before the next
    # begins, and an interrupted export leaves one partial file.
    pools = []
    interrupted = False
    errors = []
    try:
        futures = []
        downloading = max(1, parallel)
        for group, size in ((captured, downloading + max(0, capturing)),
                            (images, downloading)):
            if not group:
                continue
            pool = concurrent.futures.ThreadPoolExecutor(
                min(len(group), size))
            pools.append(pool)
            futures += [pool.submit(fetch, conn, blob, output_dir,
                                    keep_captures, reporter, cancel,
                                    captures, slots)
                        for blob in group]
        pending = list(futures)
        while pending:
            try:
                pending[0].result()
            except KeyboardInterrupt:
                # Stop the downloads at their next chunk and the waits at
                # their next poll; their state stays for the next export.
                interrupted = True
                cancel.set()
                continue
            except DownpourError as exc:
                errors.append(exc)
            pending.pop(0)
    finally:
        cancel.set()
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)
    if interrupted:
        # Each says where it stopped and what it left in the source.
        stopped = [str(e) for e in errors if 'before it started' not in str(e)]
        raise TransferError('interrupted; run the same export again to '
                            'continue it%s' % (
                                (': ' + '; '.join(stopped)) if stopped
                                else ''))
    if errors:
        if len(errors) == 1:
            raise errors[0]
        raise TransferError('; '.join(str(e) for e in errors))
    return blobs

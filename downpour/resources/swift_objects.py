"""A container's objects at export: each one's bytes streamed to
OUTDIR/blobs/<uuid downpour chose>, its MD5 checked against the listing's
hash and the download's ETag as the bytes arrive, and what the import
needs of each (name, ETag, headers, blob) in one manifest per container,
OUTDIR/objects/<container key>.json, that the container's one item names.

Requests: one listing per page of a container (and one more, empty, that
ends it: a cloud may give fewer than asked), and one GET per object, whose
headers carry its metadata; no HEAD.  Object names come from the source:
they are data in the manifest, never part of a path.
"""

import concurrent.futures
import hashlib
import json
import os
import re
import time
import uuid

from downpour import outdir
from downpour.errors import DownpourError
from downpour.importer import swift

CHUNK = 1 << 20
# Objects downloaded at once.
DOWNLOADS = 8
MANIFESTS = 'objects'
# Headers carried with an object besides its metadata, by manifest key.
CARRIED = {'content_type': 'Content-Type',
           'content_encoding': 'Content-Encoding',
           'content_disposition': 'Content-Disposition'}
# A dynamic large object's manifest and a symlink are carried as what
# they are: their own (empty) bytes, and the header that makes them one.
# The GET asks for the object itself, not what it points at.
POINTERS = {'object_manifest': 'X-Object-Manifest',
            'symlink_target': 'X-Symlink-Target'}
ITSELF = {'multipart-manifest': 'get', 'symlink': 'get'}
# Not carried by this version: a symlink into another account or pinned
# to an ETag.
NOT_PLAIN = ('X-Symlink-Target-Account', 'X-Symlink-Target-Etag')
# A static large object's manifest (its segments by path, ETag and size)
# is read whole: at most this many bytes (Swift's own limit is 8 MiB).
SLO_MANIFEST_MAX = 8 << 20
MD5 = re.compile(r'\A[0-9a-f]{32}\Z')


def _timestamp(value):
    """An X-Delete-At: whole seconds since the epoch, as Swift keeps it
    (None when there is none, or when it is not a number, which Swift
    never gives)."""
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


def manifest_path(key):
    return '%s/%s.json' % (MANIFESTS, key)


def _etag(value):
    return (value or '').strip('"').lower()


def _previous(output_dir, key):
    """The manifest an earlier export wrote for this container, by object
    name: its objects whose blob is whole need no second download."""
    path = os.path.join(output_dir, manifest_path(key))
    try:
        with open(path, encoding='utf-8') as stream:
            entries = json.load(stream)
    except (OSError, ValueError):
        return {}
    return {e['name']: e for e in entries if isinstance(e, dict)
            and isinstance(e.get('name'), str)}


def _kept(output_dir, old, entry):
    """Whether ``old`` (the earlier manifest's) is still ``entry`` of the
    listing, with its blob whole."""
    if not old or old.get('etag') != entry.get('hash') or \
            old.get('last_modified') != entry.get('last_modified'):
        return False
    blob = str(old.get('blob') or '')
    if not re.match(r'\Ablobs/[0-9a-f-]{36}\Z', blob):
        return False
    path = os.path.join(output_dir, blob)
    return os.path.isfile(path) and \
        os.path.getsize(path) == old.get('bytes')


def download(conn, container, name, path, wanted):
    """Stream object ``name`` to ``path``; its headers.  Its MD5, taken
    as the bytes arrive, must be the listing's and the ETag's."""
    # The stored bytes, whatever their Content-Encoding says: a gzip
    # object is carried as gzip, never decoded on the way.
    response = swift.request(conn, 'GET', (container, name), ok=(200,),
                             stream=True, params=ITSELF,
                             headers={'Accept-Encoding': 'identity'})
    headers = response.headers
    if any(headers.get(h) for h in NOT_PLAIN):
        response.close()
        return headers, None
    if str(headers.get('X-Static-Large-Object')).lower() == 'true':
        try:
            body = response.raw.read(SLO_MANIFEST_MAX + 1,
                                     decode_content=False)
        finally:
            response.close()
        # Its manifest's bytes are what the listing's hash and the ETag
        # name (the object's own ETag is its segments').
        got = hashlib.md5(body).hexdigest()  # noqa: S324
        if got != wanted or got != _etag(headers.get('ETag')):
            raise DownpourError(
                'static large object %r of container %r: its manifest has '
                'MD5 %s, Swift said %s: run the export again' % (
                    name, container, got, wanted))
        return headers, _slo(body)
    digest = hashlib.md5()  # noqa: S324 - Swift's ETag is MD5
    part = path + '.part'
    try:
        with open(part, 'wb', opener=outdir.nofollow) as stream:
            for chunk in response.raw.stream(CHUNK, decode_content=False):
                digest.update(chunk)
                stream.write(chunk)
            stream.flush()
            os.fsync(stream.fileno())
        got = digest.hexdigest()
        if got != wanted or got != _etag(headers.get('ETag')):
            raise DownpourError(
                'object %r of container %r: its bytes have MD5 %s, Swift '
                'said %s: run the export again' % (
                    name, container, got, wanted))
        os.replace(part, path)
    finally:
        response.close()
        if os.path.exists(part):
            os.unlink(part)
    return headers, got


def _slo(body):
    """A static large object's segments, as Swift takes them back
    (path, ETag, size, range); None when they are not what Swift gives
    (or name another static large object, not carried)."""
    if len(body) > SLO_MANIFEST_MAX:
        return None
    try:
        listed = json.loads(body)
    except ValueError:
        return None
    segments = []
    for seg in listed if isinstance(listed, list) else [None]:
        if not isinstance(seg, dict) or seg.get('sub_slo') or not \
                isinstance(seg.get('name'), str) or \
                not seg['name'].startswith('/') or \
                not MD5.match(_etag(seg.get('hash'))):
            return None
        segment = {'path': seg['name'], 'etag': _etag(seg['hash']),
                   'size_bytes': int(seg.get('bytes') or 0)}
        if seg.get('range'):
            segment['range'] = str(seg['range'])
        segments.append(segment)
    return {'segments': segments}


def export_container(exporter, record, key, output_dir, warn):
    """Download ``record``'s objects and write its manifest; the
    manifest's path, its count and bytes."""
    conn = exporter.conn
    name = record.name
    previous = _previous(output_dir, key)
    now = time.time()
    entries, skipped, expired, reused = [], [], 0, 0
    os.makedirs(os.path.join(output_dir, 'blobs'), exist_ok=True)
    os.makedirs(os.path.join(output_dir, MANIFESTS), exist_ok=True)
    # The listing first, then the downloads, several at once (small
    # objects cost a round trip each), then their results in its order.
    slots = []
    with concurrent.futures.ThreadPoolExecutor(DOWNLOADS) as pool:
        for listed in swift.listing(conn, name):
            obj_name = listed.get('name')
            wanted = _etag(listed.get('hash'))
            if not isinstance(obj_name, str) or not MD5.match(wanted):
                skipped.append(obj_name)
                continue
            old = previous.get(obj_name)
            if _kept(output_dir, old, listed):
                slots.append((listed, old, None, None))
                continue
            blob = 'blobs/%s' % uuid.uuid4()
            slots.append((listed, None, blob, pool.submit(
                download, conn, name, obj_name,
                os.path.join(output_dir, blob), wanted)))
    for listed, old, blob, future in slots:
        obj_name = listed['name']
        if old is not None:
            if old.get('delete_at') and int(old['delete_at']) <= now:
                expired += 1
                continue
            entries.append(old)
            reused += 1
            continue
        try:
            headers, got = future.result()
        except swift.SwiftError as exc:
            if ' HTTP 404' in str(exc):
                # Deleted, or expired, since the listing.
                expired += 1
                continue
            raise DownpourError(str(exc)) from None
        if isinstance(got, dict):
            slo = _carried_slo(exporter, record, got, obj_name, warn)
            if slo is None:
                skipped.append(obj_name)
                continue
            # Its ETag, which the target's listing gives for it too.
            blob, got = None, _slo_etag(listed, slo)
        if got is None:
            skipped.append(obj_name)
            continue
        delete_at = _timestamp(headers.get('X-Delete-At'))
        if delete_at and delete_at <= now:
            if blob:
                os.unlink(os.path.join(output_dir, blob))
            expired += 1
            continue
        entry = {'name': obj_name, 'blob': blob, 'etag': got,
                 'bytes': int(listed.get('bytes') or 0),
                 'last_modified': listed.get('last_modified'),
                 'metadata': swift.metadata(headers, swift.OBJECT_META)}
        for field, header in dict(CARRIED, **POINTERS).items():
            if headers.get(header):
                entry[field] = headers[header]
        if delete_at:
            entry['delete_at'] = delete_at
        if blob is None:
            # Made again over its segments, once they are there.
            del entry['blob']
            entry['slo'] = slo
        entries.append(entry)
    if skipped:
        warn('container %r: %d objects are symlinks to another account '
             'or to an ETag, static large objects of static large objects, '
             'or have no MD5: not carried by this version: %s' % (
                 name, len(skipped), ', '.join(map(repr, skipped[:10]))))
    if expired:
        warn('container %r: %d objects expired (X-Delete-At) or went '
             'during the export: not carried' % (name, expired))
    path = manifest_path(key)
    outdir_path = os.path.join(output_dir, path)
    tmp = outdir_path + '.tmp'
    with open(tmp, 'w', encoding='utf-8', opener=outdir.nofollow) as stream:
        json.dump(entries, stream, indent=1, sort_keys=True)
    os.replace(tmp, outdir_path)
    return path, len(entries), sum(e['bytes'] for e in entries), reused


def _slo_etag(listed, segments):
    """A static large object's ETag: the listing's ``slo_etag``, else
    as Swift makes it from its segments'."""
    if listed.get('slo_etag'):
        return _etag(listed['slo_etag'])
    return hashlib.md5(''.join(  # noqa: S324 - Swift's
        '%s:%s;' % (s['etag'], s['range']) if s.get('range') else s['etag']
        for s in segments).encode()).hexdigest()


def _carried_slo(exporter, record, slo, name, warn):
    """``slo``'s segments, when every container they are in is exported
    (the import makes the manifest once they are filled): those others
    are named in ``record``'s refs."""
    if slo is None:
        return None
    home = exporter.home('swift_container')
    others = []
    for segment in slo['segments']:
        container = segment['path'].lstrip('/').split('/', 1)[0]
        if container == record.name:
            continue
        other = exporter.find(home.type, container)
        if other is None:
            warn('container %r: static large object %r has segments in '
                 'container %r, which is not in the export: not carried'
                 % (record.name, name, container))
            return None
        if other not in others:
            others.append(other)
    listed = record.refs.setdefault('segment_containers', [])
    listed.extend(o for o in others if o not in listed)
    return slo['segments']


"""A container's objects at import: the manifest its item names is read,
the target container listed once (by pages), and only the objects whose
ETag differs there are uploaded, each streamed from its blob with its
ETag, which Swift checks against the bytes it receives (and answers
again, checked here).  Into a container the import did not make
(adopted), only the objects it lacks: none of its own is overwritten."""

import concurrent.futures
import json
import os
import re
import time

from . import swift
from .kind import ImportFailed, describe

_BLOB = re.compile(r'\Ablobs/[0-9a-f-]{36}\Z')
_HEADERS = {'content_type': 'Content-Type',
            'content_encoding': 'Content-Encoding',
            'content_disposition': 'Content-Disposition',
            # A dynamic large object's manifest, a symlink: what they
            # point at, in the same account, by container and name.
            'object_manifest': 'X-Object-Manifest',
            'symlink_target': 'X-Symlink-Target'}


def manifest(item):
    """The manifest's entries, and the output directory they are in."""
    path = item['objects']
    try:
        with open(path, encoding='utf-8') as stream:
            entries = json.load(stream)
    except (OSError, ValueError) as exc:
        raise ImportFailed('%s: its objects cannot be read from %s: %s'
                           % (describe(item), path, exc)) from None
    return entries, os.path.dirname(os.path.dirname(os.path.abspath(path)))


def headers_of(entry):
    headers = {'ETag': entry['etag']}
    for field, header in _HEADERS.items():
        if entry.get(field):
            headers[header] = str(entry[field])
    for key, value in (entry.get('metadata') or {}).items():
        headers['X-Object-Meta-' + str(key)] = str(value)
    if entry.get('delete_at'):
        headers['X-Delete-At'] = str(int(entry['delete_at']))
    return headers


def upload(conn, container, entry, path, what):
    with open(path, 'rb') as stream:
        response = swift.request(conn, 'PUT', (container, entry['name']),
                                 ok=(201,), data=stream,
                                 headers=headers_of(entry))
    if response.headers.get('ETag', '').strip('"') != entry['etag']:
        raise ImportFailed('%s: object %r was stored with ETag %r, not %r'
                           % (what, entry['name'],
                              response.headers.get('ETag'), entry['etag']))


def manifest_put(conn, container, entry, what):
    """A static large object, made again over its segments (which Swift
    checks, by ETag and size, as it takes the manifest)."""
    headers = headers_of(entry)
    # Its ETag is its segments' (MD5 of theirs), which Swift answers.
    del headers['ETag']
    response = swift.request(conn, 'PUT', (container, entry['name']),
                             ok=(201,), params={'multipart-manifest': 'put'},
                             data=json.dumps(entry['slo']), headers=headers)
    if response.headers.get('ETag', '').strip('"') != entry['etag']:
        raise ImportFailed('%s: static large object %r was made with ETag '
                           '%r, not %r' % (what, entry['name'],
                                           response.headers.get('ETag'),
                                           entry['etag']))


def fill(kind, item, obj, ours):
    what = describe(item)
    entries, root = manifest(item)
    # A static large object is listed with its manifest's MD5 as its hash,
    # and its own ETag (its segments') as slo_etag.
    have = {e.get('name'): (e.get('hash'),
                            str(e.get('slo_etag') or '').strip('"'))
            for e in swift.listing(kind.conn, obj.name)}
    now = time.time()
    todo, kept, slos = [], 0, []
    for entry in entries:
        if entry.get('delete_at') and int(entry['delete_at']) <= now:
            continue  # expired since the export: Swift would refuse it
        there = have.get(entry['name'])
        if there is not None:
            there = there[1] if entry.get('slo') else there[0]
        if there == entry['etag']:
            continue
        if there is not None and not ours:
            kept += 1
            continue
        if entry.get('slo'):
            slos.append((entry, None))
            continue
        blob = str(entry.get('blob') or '')
        if not _BLOB.match(blob):
            raise ImportFailed('%s: object %r has no blob of downpour\'s '
                               '(%r)' % (what, entry['name'], blob))
        todo.append((entry, os.path.join(root, blob)))
    if kept:
        kind.imp._note('%s: %d objects of the adopted container differ '
                       'from the exported ones and are left as they are'
                       % (what, kept))
    # A static large object's manifest last: Swift checks its segments.
    todo += slos
    if not todo or kind.imp.wait(item):
        return
    plain = [(entry, path) for entry, path in todo if path is not None]
    if plain:
        kind.imp.changed = True
        # Small objects cost a round trip each: several at once, as many
        # as the import works on in a lane.
        with concurrent.futures.ThreadPoolExecutor(
                max(1, min(kind.imp.parallel, len(plain)))) as pool:
            for future in [pool.submit(upload, kind.conn, obj.name, entry,
                                       path, what)
                           for entry, path in plain]:
                future.result()
    for entry, path in todo:
        if path is None:
            manifest_put(kind.conn, obj.name, entry, what)
            kind.imp.changed = True

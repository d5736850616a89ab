"""Swift as plain HTTP through openstacksdk's session: what both sides of
a container and its objects read and write.

openstacksdk's Swift resources map a few headers to attributes and drop
the rest; the carried ones (each metadata key, both ACLs, versioning) are
headers, so they are read and written as headers.  Names come from the
source and are quoted whole in a URL: a name never adds a path segment.
"""

import urllib.parse

from .kind import ImportFailed

# What Swift gives and takes at most per listing request; a cloud may give
# fewer, so a listing ends at an empty page, not at a short one.
PAGE = 10000
CONTAINER_META = 'x-container-meta-'
OBJECT_META = 'x-object-meta-'
# Container metadata that is a credential (temporary URLs' signing keys):
# never carried, never written to a file.
SECRET_META = ('temp-url-key', 'temp-url-key-2')
# Versioning: the header that names the container of old versions, by
# mode.
VERSIONS = {'versions': 'X-Versions-Location',
            'history': 'X-History-Location'}


class SwiftError(ImportFailed):
    """A request to Swift failed; the message says which."""


class Named:
    """A container as the engine sees it: its name is its ID (Swift has no
    other)."""

    def __init__(self, name, entry=None):
        self.id = self.name = name
        self.count = (entry or {}).get('count')
        self.bytes = (entry or {}).get('bytes')


def url(conn, *names):
    """The URL of the account, or of a container (and object) in it, each
    name quoted whole."""
    base = conn.object_store.get_endpoint().rstrip('/')
    return '/'.join([base] + [urllib.parse.quote(str(n), safe='')
                              for n in names])


def request(conn, method, names, ok=(200, 204), **kwargs):
    """One request on the account or on ``names``; SwiftError unless its
    status is one of ``ok``."""
    what = '/'.join(names) if names else 'the account'
    if len(names) > 1:
        # An object's bytes: never in a debug log (they may be anyone's
        # data), and never read by the logger, which would decode (and
        # so change) a gzip object's bytes before they are streamed.
        kwargs.setdefault('log', False)
    try:
        response = conn.object_store.request(
            url(conn, *names), method, raise_exc=False, **kwargs)
    except Exception as exc:  # noqa: BLE001 - keystoneauth's many
        raise SwiftError('Swift: %s %r: %s' % (method, what, exc)) from None
    if response.status_code not in ok:
        raise SwiftError('Swift: %s %r: HTTP %d' % (
            method, what, response.status_code))
    return response


def listing(conn, *names, prefix=None):
    """Each entry of the account's listing (containers) or of a
    container's (objects), page after page by marker."""
    marker = ''
    while True:
        params = {'format': 'json', 'limit': PAGE, 'marker': marker}
        if prefix:
            params['prefix'] = prefix
        # An account Swift has not made yet (at a project's first write)
        # has no containers.
        response = request(conn, 'GET', names, params=params,
                           ok=(200, 204) if names else (200, 204, 404))
        page = response.json() if response.status_code == 200 and \
            response.content else []
        if not page:
            return
        yield from page
        marker = page[-1]['name']


def containers(conn):
    return [Named(entry['name'], entry) for entry in listing(conn)]


def metadata(headers, prefix):
    """The ``prefix`` metadata of ``headers``, by key (Swift keeps keys
    title-cased, and compares them without case)."""
    return {key[len(prefix):].title(): value
            for key, value in headers.items()
            if key.lower().startswith(prefix)}


def acl(value):
    """An ACL header's elements, as a sorted list."""
    return sorted({part.strip() for part in (value or '').split(',')
                   if part.strip()})


def container_state(headers):
    """What the import compares of a container, from a HEAD's headers."""
    meta = metadata(headers, CONTAINER_META)
    for key in list(meta):
        if key.lower() in SECRET_META:
            del meta[key]
    versions = None
    for mode, header in VERSIONS.items():
        if headers.get(header):
            versions = (mode, urllib.parse.unquote(headers[header]))
    return {'metadata': meta,
            'read_acl': acl(headers.get('X-Container-Read')),
            'write_acl': acl(headers.get('X-Container-Write')),
            'versions': versions,
            'storage_policy': headers.get('X-Storage-Policy')}


def head(conn, *names):
    return request(conn, 'HEAD', names).headers

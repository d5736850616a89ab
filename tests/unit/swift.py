"""A fake Swift for unit tests, served by requests-mock beside
tests.unit.fakecloud: one account's containers (their headers) and
objects (bytes and headers) kept in dicts, changed as the requests say,
with Swift's answers where they matter (201 for a new container, 202 for
one that was there, 422 for an upload whose ETag is not its bytes' MD5,
listings a page at a time from a marker)."""

import hashlib
import json
import re
import urllib.parse

import requests_mock

from tests.unit.fakecloud import PROJECT_ID

ROOT = 'http://127.0.0.1:18080'
ACCOUNT = ROOT + '/v1/AUTH_' + PROJECT_ID


def _title(key):
    return '-'.join(part.capitalize() for part in key.split('-'))


class FakeSwift:
    """Seed with ``add_container`` / ``add_object``; look at
    ``containers`` (name: {'headers': ..., 'objects': {name: {'data',
    'headers'}}}) and ``requests`` ((method, container, object, headers)).
    ``page`` is the most a listing gives at once."""

    def __init__(self, fake_cloud, policies=('Policy-0',)):
        self.containers = {}
        self.requests = []
        self.page = 10000
        # False: the project's account is not made yet (Swift makes it at
        # its first write), and its listing answers 404.
        self.account = True
        self.policies = list(policies)
        fake_cloud.add_service('object-store', ACCOUNT)
        fake_cloud.mocker.register_uri(
            requests_mock.ANY, re.compile('^%s([/?].*)?$' % re.escape(ACCOUNT)),
            content=self._dispatch)
        fake_cloud.mocker.get(ROOT + '/info', json={'swift': {
            'policies': [{'name': name, 'default': n == 0}
                         for n, name in enumerate(self.policies)]}})

    def add_container(self, name, **headers):
        self.containers[name] = {'headers': dict(
            {'X-Storage-Policy': self.policies[0]},
            **{_title(k.replace('_', '-')): v for k, v in headers.items()}),
            'objects': {}}

    def add_object(self, container, name, data, **headers):
        self.containers[container]['objects'][name] = {
            'data': data, 'headers': dict(
                {'Content-Type': 'application/octet-stream'},
                **{_title(k.replace('_', '-')): v
                   for k, v in headers.items()}),
            'etag': hashlib.md5(data).hexdigest()}  # noqa: S324

    def add_slo(self, container, name, segments, **headers):
        """A static large object over ``segments`` ((container, name)
        of objects there already)."""
        stored = [{'name': '/%s/%s' % (c, n),
                   'hash': self.containers[c]['objects'][n]['etag'],
                   'bytes': len(self.containers[c]['objects'][n]['data'])}
                  for c, n in segments]
        self.add_object(container, name, json.dumps(stored).encode(),
                        x_static_large_object='True', **headers)
        # As Swift: its listing's hash is its manifest's MD5, its ETag
        # (listed as slo_etag, quoted) that of its segments' ETags.
        self.containers[container]['objects'][name]['slo_etag'] = \
            self._slo_etag(stored)

    @staticmethod
    def _slo_etag(stored):
        return hashlib.md5(''.join(  # noqa: S324
            s['hash'] for s in stored).encode()).hexdigest()

    def writes(self):
        return [r[:3] for r in self.requests if r[0] not in ('GET', 'HEAD')]

    # -- answering ---------------------------------------------------------

    def _dispatch(self, request, context):
        path = urllib.parse.urlsplit(request.url).path
        rest = path[len(urllib.parse.urlsplit(ACCOUNT).path):].lstrip('/')
        parts = [urllib.parse.unquote(p) for p in rest.split('/', 1)] \
            if rest else []
        container = parts[0] if parts else None
        obj = parts[1] if len(parts) > 1 else None
        self.requests.append((request.method, container, obj,
                              dict(request.headers)))
        if container is None:
            if not self.account:
                context.status_code = 404
                return b''
            return self._list(request, context, [
                {'name': n, 'count': len(c['objects']),
                 'bytes': sum(len(o['data'])
                              for o in c['objects'].values())}
                for n, c in sorted(self.containers.items())])
        if obj is None:
            return self._container(request, context, container)
        return self._object(request, context, container, obj)

    def _list(self, request, context, entries):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(
            request.url).query)
        marker = query.get('marker', [''])[0]
        prefix = query.get('prefix', [''])[0]
        limit = min(int(query.get('limit', [self.page])[0]), self.page)
        chosen = [e for e in entries if e['name'] > marker
                  and e['name'].startswith(prefix)][:limit]
        if not chosen:
            context.status_code = 204
            return b''
        context.headers['Content-Type'] = 'application/json'
        return json.dumps(chosen).encode('utf-8')

    def _container(self, request, context, name):
        found = self.containers.get(name)
        method = request.method
        if method == 'PUT':
            self.account = True
            if found is None:
                self.containers[name] = {'headers': {
                    'X-Storage-Policy': request.headers.get(
                        'X-Storage-Policy', self.policies[0])},
                    'objects': {}}
                context.status_code = 201
            else:
                context.status_code = 202
            return b''
        if found is None:
            context.status_code = 404
            return b''
        if method == 'HEAD':
            context.headers.update(found['headers'])
            context.headers['X-Container-Object-Count'] = str(
                len(found['objects']))
            context.headers['X-Container-Bytes-Used'] = str(sum(
                len(o['data']) for o in found['objects'].values()))
            context.status_code = 204
            return b''
        if method == 'POST':
            for key, value in request.headers.items():
                key = _title(key)
                if key.startswith('X-Remove-'):
                    found['headers'].pop('X-' + key[len('X-Remove-'):], None)
                elif key.startswith(('X-Container-', 'X-Versions-',
                                     'X-History-')):
                    found['headers'][key] = value
            context.status_code = 204
            return b''
        if method == 'DELETE':
            if found['objects']:
                context.status_code = 409
                return b''
            del self.containers[name]
            context.status_code = 204
            return b''
        if method == 'GET':
            return self._list(request, context, [dict(
                {'name': n, 'hash': o['etag'], 'bytes': len(o['data']),
                 'content_type': o['headers']['Content-Type'],
                 'last_modified': '2026-12-01T00:00:00.000000'},
                **({'slo_etag': '"%s"' % o['slo_etag']}
                   if o.get('slo_etag') else {}))
                for n, o in sorted(found['objects'].items())])
        context.status_code = 405
        return b''

    def _object(self, request, context, container, name):
        found = self.containers.get(container)
        if found is None:
            context.status_code = 404
            return b''
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(
            request.url).query)
        if request.method == 'PUT' and \
                query.get('multipart-manifest') == ['put']:
            return self._put_slo(request, context, found, name)
        if request.method == 'PUT':
            data = request.body
            if hasattr(data, 'read'):
                data = data.read()
            data = data or b''
            if isinstance(data, str):
                data = data.encode('utf-8')
            etag = hashlib.md5(data).hexdigest()  # noqa: S324
            if request.headers.get('ETag') not in (None, etag):
                context.status_code = 422
                return b''
            headers = {_title(k): v for k, v in request.headers.items()
                       if _title(k).startswith(('X-Object-Meta-',
                                                'Content-Type',
                                                'Content-Encoding',
                                                'Content-Disposition',
                                                'X-Delete-At',
                                                'X-Object-Manifest',
                                                'X-Symlink-Target'))}
            headers.setdefault('Content-Type', 'application/octet-stream')
            found['objects'][name] = {'data': data, 'headers': headers,
                                      'etag': etag}
            context.headers['ETag'] = etag
            context.status_code = 201
            return b''
        obj = found['objects'].get(name)
        if obj is None:
            context.status_code = 404
            return b''
        link = obj['headers'].get('X-Symlink-Target')
        if link and query.get('symlink') != ['get']:
            # Followed, unless the object itself is asked for.
            other, other_name = [urllib.parse.unquote(p)
                                 for p in link.split('/', 1)]
            return self._object(request, context, other, other_name)
        if obj['headers'].get('X-Static-Large-Object') and \
                query.get('multipart-manifest') != ['get']:
            context.headers.update(obj['headers'])
            return b''.join(
                self.containers[p.split('/')[1]]['objects'][
                    p.split('/', 2)[2]]['data']
                for p in (s['name'] for s in json.loads(obj['data'])))
        manifest = obj['headers'].get('X-Object-Manifest')
        if manifest and query.get('multipart-manifest') != ['get']:
            # Its segments' bytes, one after the other.
            other, prefix = manifest.split('/', 1)
            context.headers.update(obj['headers'])
            return b''.join(
                o['data'] for n, o in sorted(
                    self.containers[other]['objects'].items())
                if n.startswith(prefix))
        context.headers.update(obj['headers'])
        context.headers['ETag'] = obj['etag']
        context.headers['Content-Length'] = str(len(obj['data']))
        if request.method == 'HEAD':
            return b''
        return obj['data']

    def _put_slo(self, request, context, found, name):
        stored = []
        for segment in json.loads(request.body):
            container, obj = segment['path'].lstrip('/').split('/', 1)
            have = self.containers.get(container, {}).get(
                'objects', {}).get(obj)
            if have is None or have['etag'] != segment['etag'] or \
                    len(have['data']) != segment['size_bytes']:
                context.status_code = 400
                return b'bad segment'
            stored.append({'name': segment['path'], 'hash': have['etag'],
                           'bytes': len(have['data'])})
        headers = {_title(k): v for k, v in request.headers.items()
                   if _title(k).startswith(('X-Object-Meta-',
                                            'Content-Type'))}
        headers['X-Static-Large-Object'] = 'True'
        etag = self._slo_etag(stored)
        data = json.dumps(stored).encode()
        found['objects'][name] = {
            'data': data, 'headers': headers, 'slo_etag': etag,
            'etag': hashlib.md5(data).hexdigest()}  # noqa: S324
        context.headers['ETag'] = '"%s"' % etag
        context.status_code = 201
        return b''


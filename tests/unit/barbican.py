"""A fake Barbican for unit tests, served by requests-mock beside
tests.unit.fakecloud: secrets (with their payload's bytes), containers and
the project's quotas kept in dicts, changed as the requests say, and
refusing what Barbican refuses (a text payload with an encoding, a binary
one without base64, a container naming a secret it does not have)."""

import base64
import json
import re
import uuid

import requests_mock

URL = 'http://127.0.0.1:19311'
V1 = URL + '/v1'


class FakeBarbican:
    """Seed with ``add_secret`` / ``add_container``; look at ``secrets``,
    ``containers`` (by ID) and ``payloads`` (bytes by secret ID);
    ``requests`` is every request to it, (method, path, body)."""

    def __init__(self, fake_cloud, quotas=None):
        self.cloud = fake_cloud
        self.secrets, self.containers, self.payloads = {}, {}, {}
        self.quotas = quotas
        self.requests = []
        fake_cloud.add_service('key-manager', URL)
        fake_cloud.mocker.get(URL, json={'versions': {'values': [{
            'id': 'v1', 'status': 'stable',
            'links': [{'rel': 'self', 'href': V1 + '/'}]}]}})
        fake_cloud.mocker.register_uri(
            requests_mock.ANY, re.compile('^%s/.+' % re.escape(V1)),
            content=self._dispatch)

    # -- seeding -----------------------------------------------------------

    def add_secret(self, name, payload=None, content_type=None,
                   secret_type='opaque', **extra):  # noqa: S107
        secret_id = str(uuid.uuid4())
        self.secrets[secret_id] = dict({
            'secret_ref': '%s/secrets/%s' % (V1, secret_id), 'name': name,
            'secret_type': secret_type, 'algorithm': None,
            'bit_length': None, 'mode': None, 'expiration': None,
            'status': 'ACTIVE', 'created': '2026-01-01T00:00:00',
            'updated': '2026-01-01T00:00:00',
            'content_types': {'default': content_type}
            if content_type else None}, **extra)
        if payload is not None:
            self.payloads[secret_id] = payload
        return secret_id

    def add_container(self, name, secret_ids, type_='generic', names=None):
        container_id = str(uuid.uuid4())
        names = names or ['s%d' % n for n in range(len(secret_ids))]
        self.containers[container_id] = {
            'container_ref': '%s/containers/%s' % (V1, container_id),
            'name': name, 'type': type_, 'status': 'ACTIVE',
            'consumers': [],
            'secret_refs': [{'name': ref_name,
                             'secret_ref': self.secrets[s]['secret_ref']}
                            for ref_name, s in zip(names, secret_ids,
                                                   strict=True)]}
        return container_id

    def writes(self):
        return [(m, p) for m, p, _ in self.requests if m != 'GET']

    # -- answering ---------------------------------------------------------

    def _dispatch(self, request, context):
        path = request.path[len('/v1'):]
        body = request.body
        if isinstance(body, bytes):
            body = body.decode('utf-8')
        self.requests.append((request.method, path, body))
        parts = path.strip('/').split('/')
        route = (request.method, parts[0], len(parts))
        answer = {
            ('GET', 'secrets', 1): self._list_secrets,
            ('POST', 'secrets', 1): self._create_secret,
            ('GET', 'secrets', 2): self._get_secret,
            ('DELETE', 'secrets', 2): self._delete_secret,
            ('GET', 'secrets', 3): self._get_payload,
            ('GET', 'containers', 1): self._list_containers,
            ('POST', 'containers', 1): self._create_container,
            ('DELETE', 'containers', 2): self._delete_container,
            ('GET', 'quotas', 1): self._get_quotas,
        }.get(route)
        if answer is None:
            context.status_code = 501
            return ('the fake Barbican does not answer %s %s' % (
                request.method, path)).encode('utf-8')
        context.headers['Content-Type'] = 'application/json'
        result = answer(request, context, parts)
        if isinstance(result, bytes):
            return result
        if isinstance(result, str):
            return result.encode('utf-8')
        return json.dumps(result).encode('utf-8')

    def _refuse(self, context, status, message):
        context.status_code = status
        return {'code': status, 'title': 'refused', 'description': message}

    def _list_secrets(self, request, context, parts):
        return {'secrets': list(self.secrets.values()),
                'total': len(self.secrets)}

    def _get_secret(self, request, context, parts):
        if parts[1] not in self.secrets:
            return self._refuse(context, 404, 'Not Found')
        return self.secrets[parts[1]]

    def _delete_secret(self, request, context, parts):
        if self.secrets.pop(parts[1], None) is None:
            return self._refuse(context, 404, 'Not Found')
        self.payloads.pop(parts[1], None)
        context.status_code = 204
        return ''

    def _get_payload(self, request, context, parts):
        secret = self.secrets.get(parts[1])
        if secret is None or parts[1] not in self.payloads:
            return self._refuse(context, 404, 'Not Found')
        accept = request.headers.get('Accept', 'application/octet-stream')
        data = self.payloads[parts[1]]
        if accept == 'text/plain':
            context.headers['Content-Type'] = 'text/plain'
            return data.decode('utf-8')
        context.headers['Content-Type'] = accept
        return data

    def _create_secret(self, request, context, parts):
        body = request.json()
        payload = body.get('payload')
        content_type = body.get('payload_content_type')
        encoding = body.get('payload_content_encoding')
        data = None
        if payload is not None:
            if content_type == 'text/plain':
                if encoding:
                    return self._refuse(context, 400, 'text/plain takes '
                                        'no payload_content_encoding')
                data = payload.encode('utf-8')
            elif encoding != 'base64':
                return self._refuse(context, 400, 'a binary payload must '
                                    'be base64')
            else:
                data = base64.b64decode(payload)
        fields = {k: v for k, v in body.items()
                  if k not in ('payload', 'payload_content_type',
                               'payload_content_encoding')}
        secret_id = self.add_secret(fields.pop('name', None), data,
                                    content_type, **fields)
        context.status_code = 201
        return {'secret_ref': self.secrets[secret_id]['secret_ref']}

    def _list_containers(self, request, context, parts):
        return {'containers': list(self.containers.values()),
                'total': len(self.containers)}

    def _create_container(self, request, context, parts):
        body = request.json()
        ids = []
        for ref in body.get('secret_refs') or []:
            secret_id = ref['secret_ref'].rsplit('/', 1)[-1]
            if secret_id not in self.secrets:
                return self._refuse(context, 404, 'Secret provided for %s '
                                    "doesn't exist." % ref.get('name'))
            ids.append(secret_id)
        container_id = self.add_container(
            body.get('name'), ids, body.get('type', 'generic'),
            [ref.get('name') for ref in body.get('secret_refs') or []])
        context.status_code = 201
        return {'container_ref':
                self.containers[container_id]['container_ref']}

    def _delete_container(self, request, context, parts):
        if self.containers.pop(parts[1], None) is None:
            return self._refuse(context, 404, 'Not Found')
        context.status_code = 204
        return ''

    def _get_quotas(self, request, context, parts):
        if self.quotas is None:
            return self._refuse(context, 403, 'Forbidden')
        return {'quotas': self.quotas}

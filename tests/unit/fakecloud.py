"""A fake OpenStack cloud for unit tests, served by requests-mock.

Modelled on openstacksdk's own test harness: Keystone answers a password
login with a token whose catalogue points at the other services, and each
service root answers version discovery, so a real
:class:`openstack.connection.Connection` runs unchanged against it.  Tests
register the API responses they need with :meth:`FakeCloud.get` and friends,
and can assert on :attr:`FakeCloud.history` (every request that was made).

Endpoints use 127.0.0.1 ports that nothing listens on: nothing leaves the
process, but a test that forgot to mock a call fails instead of reaching a
real service.
"""

import uuid

import openstack
import pytest

AUTH_URL = 'http://127.0.0.1:15000'
PROJECT_ID = 'c4b9a2d1e0f84c52a3b1d2e3f4a5b6c7'
USER_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
TOKEN = 'fake-token-' + uuid.uuid4().hex

ENDPOINTS = {
    'compute': 'http://127.0.0.1:18774/v2.1',
    'network': 'http://127.0.0.1:19696',
    'image': 'http://127.0.0.1:19292',
    'block-storage': 'http://127.0.0.1:18776/v3/' + PROJECT_ID,
}
# What each service type is called in the catalogue.
CATALOG_TYPES = {
    'compute': 'compute',
    'network': 'network',
    'image': 'image',
    'block-storage': 'block-storage',
}

# Octavia: in the catalogue of a FakeCloud made with octavia=True only, as
# many clouds have none.
OCTAVIA = 'http://127.0.0.1:19876'

PASSWORD = 'fake-password-' + uuid.uuid4().hex


def _catalog(extra=None):
    services = {CATALOG_TYPES[service]: url
                for service, url in ENDPOINTS.items()}
    services.update(extra or {})
    return [
        {
            'type': service,
            'name': service,
            'id': uuid.uuid4().hex,
            'endpoints': [{
                'id': uuid.uuid4().hex,
                'interface': 'public',
                'region': 'RegionOne',
                'region_id': 'RegionOne',
                'url': url,
            }],
        }
        for service, url in services.items()
    ]


def _token_body(extra=None):
    return {'token': {
        'methods': ['password'],
        'expires_at': '2099-01-01T00:00:00.000000Z',
        'issued_at': '2026-01-01T00:00:00.000000Z',
        'user': {'id': USER_ID, 'name': 'member',
                 'domain': {'id': 'default', 'name': 'Default'}},
        'project': {'id': PROJECT_ID, 'name': 'demo',
                    'domain': {'id': 'default', 'name': 'Default'}},
        'roles': [{'id': uuid.uuid4().hex, 'name': 'member'}],
        'catalog': _catalog(extra),
    }}


def _version(id_, url, min_version='', version=''):
    return {'id': id_, 'status': 'CURRENT',
            'links': [{'rel': 'self', 'href': url + '/'}],
            'min_version': min_version, 'version': version}


class FakeCloud:
    """requests-mock with Keystone and version discovery already answered."""

    cloud_config = {
        'auth_type': 'password',
        'auth': {
            'auth_url': AUTH_URL,
            'username': 'member',
            'password': PASSWORD,
            'project_name': 'demo',
            'user_domain_name': 'Default',
            'project_domain_name': 'Default',
        },
        'region_name': 'RegionOne',
        'identity_api_version': '3',
    }

    def __init__(self, mocker, octavia=False):
        self.mocker = mocker
        # Services of the catalogue that many clouds lack, by type.
        self.extra = {}
        self._register_keystone()
        self._register_discovery()
        if octavia:
            self.add_service('load-balancer', OCTAVIA)
            self.mocker.get(OCTAVIA, json={'versions': [_version(
                'v2.0', OCTAVIA + '/v2', version='2.27')]})

    def add_service(self, service_type, url):
        """A service most clouds here lack (Barbican) in the catalogue
        of the logins from now on."""
        self.extra[service_type] = url
        self._register_keystone()

    def _register_keystone(self):
        self.mocker.get(AUTH_URL, json={'versions': {'values': [
            _version('v3.14', AUTH_URL + '/v3', version='3.14')]}})
        self.mocker.get(AUTH_URL + '/v3', json={'version': _version(
            'v3.14', AUTH_URL + '/v3', version='3.14')})
        self.mocker.post(AUTH_URL + '/v3/auth/tokens',
                         json=_token_body(self.extra),
                         headers={'X-Subject-Token': TOKEN}, status_code=201)

    def _register_discovery(self):
        compute = ENDPOINTS['compute']
        self.mocker.get(compute, json={'version': _version(
            'v2.1', compute, min_version='2.1', version='2.96')})
        network = ENDPOINTS['network']
        self.mocker.get(network, json={'versions': [
            _version('v2.0', network + '/v2.0')]})
        image = ENDPOINTS['image']
        self.mocker.get(image, json={'versions': [
            _version('v2.16', image + '/v2')]})
        volume = ENDPOINTS['block-storage']
        root = volume.rsplit('/v3/', 1)[0]
        self.mocker.get(volume, json={'version': _version(
            'v3.0', root + '/v3', min_version='3.0', version='3.71')})
        self.mocker.get(root, json={'versions': [_version(
            'v3.0', root + '/v3', min_version='3.0', version='3.71')]})
        self.mocker.get(root + '/v3/', json={'version': _version(
            'v3.0', root + '/v3', min_version='3.0', version='3.71')})

    # Paths are relative to a service's endpoint, e.g. url('compute',
    # '/servers/detail'); network paths include '/v2.0'.
    @staticmethod
    def url(service, path=''):
        # openstacksdk finds Octavia's v2 API at /v2.0 (its version's ID).
        base = OCTAVIA + '/v2.0' if service == 'load-balancer' \
            else ENDPOINTS[service]
        if service == 'image' and not path.startswith('/v2'):
            path = '/v2' + path
        return base + path

    def get(self, service, path, **kwargs):
        return self.mocker.get(self.url(service, path), **kwargs)

    def post(self, service, path, **kwargs):
        return self.mocker.post(self.url(service, path), **kwargs)

    def put(self, service, path, **kwargs):
        return self.mocker.put(self.url(service, path), **kwargs)

    def delete(self, service, path, **kwargs):
        return self.mocker.delete(self.url(service, path), **kwargs)

    @property
    def history(self):
        return self.mocker.request_history

    def api_calls(self, method=None):
        """(method, url) of each request, discovery and login excluded."""
        calls = []
        for request in self.history:
            if request.url.startswith(AUTH_URL):
                continue
            if method and request.method != method:
                continue
            calls.append((request.method, request.url))
        return calls

    def connect(self):
        return openstack.connection.Connection(
            config=openstack.config.get_cloud_region(
                load_yaml_config=False, load_envvars=False,
                **self.cloud_config))


@pytest.fixture
def fake_cloud(requests_mock):
    """A FakeCloud; ``fake_cloud.connect()`` gives an openstacksdk Connection."""
    return FakeCloud(requests_mock)


@pytest.fixture
def lb_cloud(requests_mock):
    """A FakeCloud with Octavia (``url('load-balancer', '/lbaas/...')``)."""
    return FakeCloud(requests_mock, octavia=True)

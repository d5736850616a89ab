"""Connecting: every failure is one CloudError naming the cloud."""

import pytest

from downpour import cloud
from downpour.errors import CloudError
from tests.unit import fakecloud, querycloud


@pytest.fixture
def clouds_yaml(tmp_path, monkeypatch):
    return querycloud.make_clouds_yaml(tmp_path, monkeypatch)


def connect_error(*args, **kwargs):
    with pytest.raises(CloudError) as info:
        cloud.connect(*args, **kwargs)
    message = str(info.value)
    assert fakecloud.PASSWORD not in message
    assert '\n' not in message
    return message


def test_connect(clouds_yaml, fake_cloud):
    conn = cloud.connect('fake')
    assert conn.current_project_id == fakecloud.PROJECT_ID
    # The token was asked for at once.
    assert any(r.method == 'POST' and r.url.endswith('/v3/auth/tokens')
               for r in fake_cloud.history)


def test_unreachable_cloud_names_cloud_and_endpoint(clouds_yaml):
    message = connect_error('down')
    assert message.startswith("cloud 'down': logging in failed: "
                              'cannot connect at http://127.0.0.1:9/v3')


def test_refused_credentials(clouds_yaml, fake_cloud):
    fake_cloud.mocker.post(fakecloud.AUTH_URL + '/v3/auth/tokens',
                           status_code=401,
                           json={'error': {'code': 401,
                                           'message': 'nope'}})
    message = connect_error('fake')
    assert message == (
        "cloud 'fake': logging in failed: the credentials were refused at "
        "http://127.0.0.1:15000 (HTTP 401)")


def test_unknown_cloud(clouds_yaml):
    message = connect_error('nope')
    assert message == "cloud 'nope' is not in clouds.yaml (%s)" % clouds_yaml


def test_missing_auth(clouds_yaml):
    message = connect_error('half')
    assert message.startswith("cloud 'half': missing credentials: auth_url")


def test_password_is_scrubbed_from_library_messages():
    exc = cloud.CloudError
    with pytest.raises(exc) as info:
        with cloud.cloud_errors('listing servers', cloud='c',
                                secrets=('hunter2',)):
            raise cloud.sdk_exc.SDKException('bad password hunter2 here')
    assert str(info.value) == (
        "cloud 'c': listing servers failed: bad password *** here")


def test_http_errors_are_explained():
    exc = cloud.sdk_exc.HttpException(message='Policy does not allow',
                                      http_status=403)
    assert cloud.explain(exc).startswith('not allowed (HTTP 403)')


def test_safe_url_drops_userinfo_and_query():
    assert cloud._safe_url('https://u:p@keystone:5000/v3?x=y') == (
        'https://keystone:5000/v3')


def test_block_storage_speaks_v3(clouds_yaml, fake_cloud):
    # os_client_config's own defaults asked for volume API v2, which
    # current clouds do not offer (and the choice stuck for the process).
    fake_cloud.get('block-storage', '/volumes/detail',
                   json={'volumes': [{'id': 'v-1', 'name': 'data'}]})
    conn = cloud.connect('fake')
    assert [v.name for v in conn.block_storage.volumes()] == ['data']

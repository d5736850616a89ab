"""Test helpers: a clouds.yaml for the fake cloud, and a populated project."""

import os

import yaml

from tests.unit import fakecloud

PROJECT = fakecloud.PROJECT_ID
OTHER = 'f' * 32


def make_clouds_yaml(tmp_path, monkeypatch):
    """clouds.yaml with 'fake' (the requests-mock cloud) and 'down' (a port
    nothing listens on), and no configuration from this machine."""
    for name in list(os.environ):
        if name.startswith('OS_'):
            monkeypatch.delenv(name)
    down = dict(fakecloud.FakeCloud.cloud_config)
    down['auth'] = dict(down['auth'], auth_url='http://127.0.0.1:9/v3')
    half = {'auth': {'username': 'u', 'password': 'pw'}}
    path = tmp_path / 'clouds.yaml'
    path.write_text(yaml.safe_dump({'clouds': {
        'fake': fakecloud.FakeCloud.cloud_config, 'down': down,
        'half': half}}), encoding='utf-8')
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', str(path))
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.setenv('XDG_CONFIG_HOME', str(tmp_path))
    return str(path)


def server(name, id_, status='ACTIVE', flavor='m1.small'):
    return {'id': id_, 'name': name, 'status': status,
            'tenant_id': PROJECT, 'flavor': {'original_name': flavor,
                                             'vcpus': 1, 'ram': 512,
                                             'disk': 1},
            'links': []}


def image(name, id_, owner=PROJECT, visibility='private'):
    return {'id': id_, 'name': name, 'owner': owner,
            'visibility': visibility, 'status': 'active'}


def network(name, id_, project=PROJECT):
    return {'id': id_, 'name': name, 'project_id': project,
            'tenant_id': project}


def volume(name, id_):
    return {'id': id_, 'name': name, 'status': 'available', 'size': 1}


def populate(fake_cloud):
    """A project with a few of everything, some names shared."""
    fake_cloud.get('compute', '/servers/detail', json={'servers': [
        server('web', 's-web'),
        server('web/db', 's-webdb'),
        server('db', 's-db1', status='SHUTOFF', flavor='m1.large'),
        server('db', 's-db2'),
        server('Web2', 's-web2'),
    ]})
    fake_cloud.get('compute', '/flavors/detail', json={'flavors': [
        {'id': 'f-small', 'name': 'm1.small'},
        {'id': 'f-large', 'name': 'm1.large'},
    ]})
    fake_cloud.get('image', '/images', json={'images': [
        image('mine', 'i-mine'),
        image('theirs-shared', 'i-shared', owner=OTHER, visibility='shared'),
        image('cirros', 'i-public', owner=OTHER, visibility='public'),
        image('mine-public', 'i-mine-pub', visibility='public'),
    ]})
    fake_cloud.get('block-storage', '/volumes/detail', json={'volumes': [
        volume('data', 'v-data'), volume(None, 'v-unnamed'),
        volume('data2', 'v-data2')]})
    fake_cloud.get('compute', '/os-keypairs', json={'keypairs': [
        {'keypair': {'name': 'ops', 'fingerprint': 'x', 'type': 'ssh'}}]})
    fake_cloud.get('network', '/v2.0/networks', json={'networks': [
        network('private', 'n-private'),
        network('public', 'n-public', project=OTHER)]})
    fake_cloud.get('network', '/v2.0/security-groups', json={
        'security_groups': [
            {'id': 'sg-web', 'name': 'web', 'project_id': PROJECT,
             'tenant_id': PROJECT, 'security_group_rules': []},
            {'id': 'sg-def', 'name': 'default', 'project_id': PROJECT,
             'tenant_id': PROJECT, 'security_group_rules': []}]})
    return fake_cloud

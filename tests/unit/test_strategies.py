"""What each selection strategy of ``downpour query`` selects, against a
fake project: servers on two hosts and two networks, with tags, creation
times, images, keypairs and the groups of their ports."""

import datetime

import pytest

from downpour import query
from downpour.errors import DownpourError
from tests.unit.querycloud import OTHER, PROJECT, image, network

UTC = datetime.UTC


def _server(name, host, created, image_id=None, key=None, tags=(),
            status='ACTIVE', flavor='m1.small'):
    return {'id': 's-' + name, 'name': name, 'status': status,
            'tenant_id': PROJECT, 'hostId': host, 'created': created,
            'tags': list(tags), 'key_name': key,
            'image': {'id': image_id} if image_id else '',
            'flavor': {'original_name': flavor, 'vcpus': 1, 'ram': 512,
                       'disk': 1}, 'links': []}


def _port(device, net, groups):
    return {'id': 'p-%s-%s' % (device, net), 'device_id': device,
            'network_id': net, 'security_group_ids': list(groups),
            'project_id': PROJECT, 'tenant_id': PROJECT}


@pytest.fixture
def cloud(fake_cloud):
    fake_cloud.get('compute', '/servers/detail', json={'servers': [
        _server('a', 'h1', '2026-11-01T10:00:00Z', 'i-1', 'k1', ['blue']),
        _server('b', 'h1', '2026-11-02T10:00:00Z', 'i-2', None, ['red'],
                status='SHUTOFF', flavor='m1.large'),
        _server('c', 'h2', '2026-11-03T10:00:00Z', None, 'k1', []),
        _server('d', '', '2026-11-04T10:00:00Z', 'i-pub', 'k2', ['red'],
                status='ERROR'),
    ]})
    fake_cloud.get('compute', '/flavors/detail', json={'flavors': [
        {'id': 'f-small', 'name': 'm1.small'},
        {'id': 'f-large', 'name': 'm1.large'}]})
    fake_cloud.get('image', '/images', json={'images': [
        image('one', 'i-1'), image('two', 'i-2'), image('unused', 'i-3'),
        image('shared', 'i-sh', owner=OTHER, visibility='shared'),
        image('cirros', 'i-pub', owner=OTHER, visibility='public')]})
    fake_cloud.get('compute', '/os-keypairs', json={'keypairs': [
        {'keypair': {'name': n, 'fingerprint': 'x', 'type': 'ssh'}}
        for n in ('k1', 'k2', 'k3')]})
    fake_cloud.get('network', '/v2.0/networks', json={'networks': [
        network('front', 'n-front'), network('back', 'n-back'),
        network('public', 'n-public', project=OTHER)]})
    fake_cloud.get('network', '/v2.0/ports', json={'ports': [
        _port('s-a', 'n-front', ['sg-web']),
        _port('s-b', 'n-back', ['sg-db', 'sg-web']),
        _port('s-c', 'n-front', []),
        _port('router-1', 'n-back', ['sg-unused'])]})
    fake_cloud.get('network', '/v2.0/security-groups', json={
        'security_groups': [
            {'id': sg, 'name': sg[3:], 'project_id': PROJECT,
             'tenant_id': PROJECT, 'security_group_rules': []}
            for sg in ('sg-web', 'sg-db', 'sg-unused', 'sg-default')]})
    fake_cloud.get('block-storage', '/volumes/detail', json={'volumes': [
        {'id': 'v-1', 'name': 'data', 'status': 'available', 'size': 1}]})
    fake_cloud.get('network', '/v2.0/floatingips', json={'floatingips': [
        {'id': 'fip-1', 'floating_ip_address': '203.0.113.9',
         'floating_network_id': 'public', 'project_id': PROJECT,
         'port_id': None, 'status': 'DOWN'}]})
    return fake_cloud


def _found(cloud, **filters):
    return [(m.section, m.name) for m in
            query.find(cloud.connect(), query.Filters(**filters))]


def _servers(cloud, **filters):
    return [name for section, name in _found(cloud, **filters)
            if section == 'servers']


def test_all_is_everything_the_project_owns(cloud):
    assert _found(cloud, select_all=True) == [
        ('servers', 'a'), ('servers', 'b'), ('servers', 'c'),
        ('servers', 'd'),
        ('keypairs', 'k1'), ('keypairs', 'k2'), ('keypairs', 'k3'),
        ('networks', 'back'), ('networks', 'front'),
        ('security_groups', 'db'), ('security_groups', 'default'),
        ('security_groups', 'unused'), ('security_groups', 'web'),
        ('images', 'one'), ('images', 'two'), ('images', 'unused'),
        ('volumes', 'data'),
        ('floating_ips', '203.0.113.9')]
    assert ('images', 'cirros') in _found(cloud, select_all=True,
                                          include_public=True)


def test_all_takes_barbicans_secrets_where_the_cloud_has_it(cloud):
    # Without key-manager in the catalogue (above), none are asked for.
    from tests.unit.barbican import FakeBarbican
    barbican = FakeBarbican(cloud)
    cert = barbican.add_secret('cert', b'x', 'text/plain')
    nameless = barbican.add_secret(None, b'y', 'text/plain')
    barbican.add_container('tls', [cert])
    matches = query.find(cloud.connect(), query.Filters(select_all=True))
    assert [(m.section, m.name, m.id) for m in matches
            if m.section.startswith('secret')] == [
        ('secrets', None, nameless), ('secrets', 'cert', cert),
        ('secret_containers', 'tls', list(barbican.containers)[0])]


def test_used_is_what_the_selected_servers_use(cloud):
    assert _found(cloud, server_names=['a', 'b'], used_only=True) == [
        ('servers', 'a'), ('servers', 'b'), ('keypairs', 'k1'),
        ('security_groups', 'db'), ('security_groups', 'web'),
        ('images', 'one'), ('images', 'two')]
    # A public image only with --include-public, as always.
    assert _found(cloud, server_names=['d'], used_only=True) == [
        ('servers', 'd'), ('keypairs', 'k2')]
    assert ('images', 'cirros') in _found(
        cloud, server_names=['d'], used_only=True, include_public=True)


def test_all_used(cloud):
    found = _found(cloud, select_all=True, used_only=True)
    assert [n for s, n in found if s == 'images'] == ['one', 'two']
    assert [n for s, n in found if s == 'keypairs'] == ['k1', 'k2']
    assert [n for s, n in found if s == 'security_groups'] == ['db', 'web']
    assert [n for s, n in found if s == 'networks'] == ['back', 'front']


def test_same_host_as(cloud):
    assert _servers(cloud, same_host_as='a') == ['a', 'b']
    assert _servers(cloud, same_host_as='s-c') == ['c']
    with pytest.raises(DownpourError, match='no server has that name'):
        _servers(cloud, same_host_as='zzz')
    with pytest.raises(DownpourError, match='shows no host'):
        _servers(cloud, same_host_as='d')


def test_network_tag_status_flavor(cloud):
    assert _servers(cloud, server_networks=['front']) == ['a', 'c']
    assert _servers(cloud, server_networks=['n-back']) == ['b']
    assert _servers(cloud, server_tags=['red']) == ['b', 'd']
    assert _servers(cloud, server_statuses=['shutoff']) == ['b']
    assert _servers(cloud, server_flavors=['m1.large']) == ['b']


def test_created(cloud):
    nov = lambda day: datetime.datetime(2026, 11, day, 10, tzinfo=UTC)  # noqa
    assert _servers(cloud, created_before=nov(2)) == ['a']
    assert _servers(cloud, created_after=nov(2)) == ['b', 'c', 'd']
    assert _servers(cloud, created_after=nov(2),
                    created_before=nov(4)) == ['b', 'c']


def test_filters_combine(cloud):
    assert _servers(cloud, server_tags=['red'],
                    server_networks=['back']) == ['b']
    assert _servers(cloud, server_names=['a', 'c'],
                    same_host_as='b') == ['a']
    assert _servers(cloud, select_all=True, server_statuses=['ERROR']) \
        == ['d']


def test_each_list_is_fetched_once(cloud):
    _found(cloud, select_all=True, used_only=True,
           server_networks=['front', 'back'])
    gets = [r.path for r in cloud.history if r.method == 'GET']
    assert gets.count('/v2.0/ports') == 1
    assert gets.count('/v2.0/networks') == 1

"""The import engine: ports made as they were (fixed IPs in order, MAC,
allowed address pairs, port security, tags), router static routes set
once the interfaces exist, and tags on what the import makes, corrected
only on what it made.

Against the shared fake target (tests/unit/importer/target.py), which
fills ports in and refuses routes and port security changes as Neutron
does.
"""

import copy

import pytest

from tests.unit.importer.items import (
    group,
    image,
    network,
    port,
    router,
    server,
    subnet,
)
from tests.unit.importer.target import Target
from tests.unit.importer.test_engine import Files, run


@pytest.fixture
def files(tmp_path):
    return Files(tmp_path)


def _unchanged(fake_cloud, target, items, files):
    """A second look finds nothing to do, and writes nothing."""
    target.mark()
    look = run(fake_cloud, items, files, check_mode=True)
    assert (look.pending, target.writes()) == ([], [])


def _tag_calls(target):
    """The requests that set tags, of whatever resource."""
    return [(m, r) for m, r in target.calls('PUT') if r.endswith('/tags')]


def _network(name='app-net', tags=()):
    net = network(name)
    net['tags'] = list(tags)
    sub = subnet(name + '-subnet', net)
    sub['tags'] = []
    return net, sub


def test_a_port_is_made_as_it_was(fake_cloud, files):
    target = Target(fake_cloud)
    net, sub = _network()
    web = group('web')
    item = port('web-1-eth0', net, [(sub, '10.20.0.21'), (sub, '10.20.0.9')],
                [web], description='front', mac_address='fa:16:3e:01:02:03',
                allowed_address_pairs=[
                    {'ip_address': '10.20.0.100'},
                    {'ip_address': '10.20.0.128/28',
                     'mac_address': 'fa:16:3e:aa:bb:cc'}],
                port_security_enabled=True, tags=['web', 'tier=front'])
    items = [net, sub, web, item]

    importer = run(fake_cloud, items, files)

    posted, = target.bodies('POST', '/ports')
    assert posted == {'port': {
        'name': 'web-1-eth0', 'description': 'front',
        'network_id': importer.ids[net['id']],
        'fixed_ips': [
            {'subnet_id': importer.ids[sub['id']],
             'ip_address': '10.20.0.21'},
            {'subnet_id': importer.ids[sub['id']],
             'ip_address': '10.20.0.9'}],
        'security_groups': [importer.ids[web['id']]],
        'mac_address': 'fa:16:3e:01:02:03',
        'port_security_enabled': True,
        'allowed_address_pairs': [
            {'ip_address': '10.20.0.100'},
            {'ip_address': '10.20.0.128/28',
             'mac_address': 'fa:16:3e:aa:bb:cc'}]}}
    made = target.ports[importer.ids[item['id']]]
    assert sorted(made['tags']) == ['tier=front', 'web']
    assert ['port', 'web-1-eth0', item['id'], made['id'], 'created'] in \
        files.journal_rows()
    # Neutron put the port's MAC in the pair that named none: the same.
    _unchanged(fake_cloud, target, items, files)


def test_a_port_without_port_security_has_no_groups_or_pairs(fake_cloud,
                                                            files):
    target = Target(fake_cloud)
    net, sub = _network()
    item = port('bare', net, [(sub, '10.20.0.30')],
                mac_address='fa:16:3e:01:02:04', allowed_address_pairs=[],
                port_security_enabled=False, tags=[])
    run(fake_cloud, [net, sub, item], files)
    posted, = target.bodies('POST', '/ports')
    assert posted['port']['port_security_enabled'] is False
    assert posted['port']['security_groups'] == []
    assert 'allowed_address_pairs' not in posted['port']
    # No tags, no tags call.
    assert not _tag_calls(target)
    _unchanged(fake_cloud, target, [net, sub, item], files)


def test_an_address_derived_from_the_mac_is_not_asked_for(fake_cloud, files):
    target = Target(fake_cloud)
    net, sub = _network()
    item = port('v6', net, [(sub, '10.20.0.31')])
    item['fixed_ips'].append({'subnet': sub['id'], 'ip_address': None})
    importer = run(fake_cloud, [net, sub, item], files)
    posted, = target.bodies('POST', '/ports')
    assert posted['port']['fixed_ips'][1] == {
        'subnet_id': importer.ids[sub['id']]}


def test_our_port_is_corrected_but_never_its_mac(fake_cloud, files):
    target = Target(fake_cloud)
    net, sub = _network()
    web = group('web')
    item = port('eth0', net, [(sub, '10.20.0.21')], [web],
                mac_address='fa:16:3e:01:02:05',
                allowed_address_pairs=[{'ip_address': '10.20.0.100'}],
                port_security_enabled=True, tags=['web'])
    items = [net, sub, web, item]
    importer = run(fake_cloud, items, files)
    made = target.ports[importer.ids[item['id']]]
    made.update(name='renamed', tags=['other'], allowed_address_pairs=[],
                security_groups=[target.default['id']],
                mac_address='fa:16:3e:09:09:09')
    target.mark()

    look = run(fake_cloud, items, files, check_mode=True)
    assert look.pending == [item['id']]
    assert target.writes() == []
    run(fake_cloud, items, files)

    updated, = target.bodies('PUT', '/ports/{id}', of=made['id'], since=0)
    assert updated == {'port': {
        'name': 'eth0', 'security_groups': [importer.ids[web['id']]],
        'allowed_address_pairs': [{'ip_address': '10.20.0.100'}]}}
    assert made['tags'] == ['web']
    assert made['mac_address'] == 'fa:16:3e:09:09:09'


def test_port_security_turned_off_again_takes_groups_and_pairs_along(
        fake_cloud, files):
    target = Target(fake_cloud)
    net, sub = _network()
    item = port('bare', net, [(sub, '10.20.0.30')],
                allowed_address_pairs=[], port_security_enabled=False,
                tags=[])
    importer = run(fake_cloud, [net, sub, item], files)
    made = target.ports[importer.ids[item['id']]]
    made.update(port_security_enabled=True,
                security_groups=[target.default['id']],
                allowed_address_pairs=[{'ip_address': '10.20.0.99',
                                        'mac_address': made['mac_address']}])
    target.mark()
    run(fake_cloud, [net, sub, item], files)
    updated, = target.bodies('PUT', '/ports/{id}', of=made['id'], since=0)
    # One request: Neutron refuses groups or pairs without port security.
    assert updated == {'port': {'port_security_enabled': False,
                                'security_groups': [],
                                'allowed_address_pairs': []}}


def test_a_port_of_that_name_that_is_not_ours_is_never_touched(fake_cloud,
                                                               files):
    target = Target(fake_cloud)
    net, sub = _network()
    importer = run(fake_cloud, [net, sub], files)
    theirs = target.add_port('eth0', target.networks[importer.ids[net['id']]],
                             tags=['theirs'], description='theirs')
    before = copy.deepcopy(theirs)
    item = port('eth0', net, [(sub, '10.20.0.21')],
                mac_address='fa:16:3e:01:02:06', allowed_address_pairs=[],
                port_security_enabled=True, tags=['ours'])
    target.mark()

    importer = run(fake_cloud, [net, sub, item], files, name_clash='adopt')

    assert importer.ids[item['id']] != theirs['id']
    assert target.ports[theirs['id']] == before
    assert target.writes(of=theirs['id']) == []
    assert any('never adopted' in c for c in importer.clashes)


def test_router_routes_are_set_once_its_interfaces_exist(fake_cloud, files):
    target = Target(fake_cloud)
    net, sub = _network()
    item = router('app-router', interfaces=[(sub, None)])
    item.update(tags=['edge'], routes=[
        {'destination': '192.168.50.0/24', 'nexthop': '10.20.0.254'}])
    items = [net, sub, item]

    importer = run(fake_cloud, items, files)

    made = target.routers[importer.ids[item['id']]]
    assert made['routes'] == item['routes']
    assert made['tags'] == ['edge']
    # Created without them (Neutron would refuse the next hop), then set
    # after the interface.
    created, = target.bodies('POST', '/routers')
    assert 'routes' not in created['router']
    calls = target.writes(of=made['id'])
    assert calls.index(('PUT', '/routers/{id}/add_router_interface')) < \
        calls.index(('PUT', '/routers/{id}'))
    _unchanged(fake_cloud, target, items, files)

    # Ours: corrected to exactly the exported routes.
    made['routes'] = [{'destination': '0.0.0.0/0', 'nexthop': '10.20.0.5'}]
    run(fake_cloud, items, files)
    assert made['routes'] == item['routes']


def test_a_router_not_ours_is_adopted_only_with_every_route_and_keeps_its(
        fake_cloud, files):
    target = Target(fake_cloud)
    net, sub = _network()
    importer = run(fake_cloud, [net, sub], files)
    theirs = target.add_router(
        'app-router', subnets=[target.subnets[importer.ids[sub['id']]]],
        routes=[{'destination': '10.99.0.0/16', 'nexthop': '10.20.0.253'}])
    item = router('app-router', interfaces=[(sub, None)])
    item.update(tags=[], routes=[
        {'destination': '192.168.50.0/24', 'nexthop': '10.20.0.254'}])

    look = run(fake_cloud, [net, sub, item], files, check_mode=True,
               name_clash='adopt')
    # Not equivalent without the route: a new router is made.
    assert any('no route to 192.168.50.0/24 via 10.20.0.254' in c
               for c in look.clashes)
    assert look.pending == [item['id']]

    theirs['routes'].append(dict(item['routes'][0]))
    before = [dict(r) for r in theirs['routes']]
    target.mark()
    importer = run(fake_cloud, [net, sub, item], files, name_clash='adopt')
    assert importer.ids[item['id']] == theirs['id']
    # Adopted: its own route stays, nothing is written to it.
    assert theirs['routes'] == before
    assert target.writes(of=theirs['id']) == []


@pytest.mark.parametrize('rtype', ['network', 'subnet', 'router',
                                   'security_group'])
def test_tags_are_set_on_what_the_import_makes_and_corrected_there(
        fake_cloud, files, rtype):
    target = Target(fake_cloud)
    net, sub = _network(tags=['n'])
    sub['tags'] = ['s']
    rtr = router('r', interfaces=[(sub, None)])
    rtr.update(tags=['r'], routes=[])
    web = group('web')
    web['tags'] = ['g']
    items = [net, sub, rtr, web]
    importer = run(fake_cloud, items, files)
    stores = {'network': (target.networks, net, 'networks'),
              'subnet': (target.subnets, sub, 'subnets'),
              'router': (target.routers, rtr, 'routers'),
              'security_group': (target.groups, web, 'security-groups')}
    store, item, plural = stores[rtype]
    made = store[importer.ids[item['id']]]
    assert made['tags'] == item['tags']
    _unchanged(fake_cloud, target, items, files)

    made['tags'] = [item['tags'][0], 'added-in-the-target']
    look = run(fake_cloud, items, files, check_mode=True)
    assert look.pending == [item['id']]
    target.mark()
    run(fake_cloud, items, files)
    assert made['tags'] == item['tags']
    # Only the tags call: nothing else differed.
    assert target.writes(of=made['id']) == [('PUT', '/%s/{id}/tags' % plural)]


def test_the_default_group_is_not_tagged(fake_cloud, files):
    target = Target(fake_cloud)
    default = group('default', default=True)
    default['tags'] = ['from-the-source']
    run(fake_cloud, [default], files)
    assert target.default['tags'] == []
    assert not _tag_calls(target)


def test_image_tags_go_with_the_upload_and_are_corrected(fake_cloud, files,
                                                        tmp_path):
    target = Target(fake_cloud)
    item = image(tmp_path, 'img', b'bytes')
    item['attributes']['tags'] = ['golden', 'os=cirros']

    importer = run(fake_cloud, [item], files)

    posted, = target.bodies('POST', '/images')
    assert posted['tags'] == ['golden', 'os=cirros']
    made = target.images[importer.ids[item['id']]]
    made['tags'] = ['golden', 'stale']
    run(fake_cloud, [item], files)
    assert sorted(made['tags']) == ['golden', 'os=cirros']


def test_server_tags_go_with_the_boot_and_are_corrected(fake_cloud, files):
    target = Target(fake_cloud)
    ids = {'flavor_001': 'flavor-m1.tiny',
           'img': target.add_image('img', b'img')['id']}
    item = server('web', 'flavor_001', 'img')
    item.update(metadata={}, description='front end',
                tags=['web', 'tier=front'])
    importer = run(fake_cloud, [item], files, ids=dict(ids))
    body, = target.bodies('POST', '/servers')
    # Tags in the create request (compute API 2.52 and later).
    assert body['server']['tags'] == ['web', 'tier=front']
    assert body['server']['description'] == 'front end'
    made = target.servers[importer.ids[item['id']]]

    made.update(tags=['web'], description=None)
    look = run(fake_cloud, [item], files, ids=dict(ids), check_mode=True)
    assert look.pending == [item['id']]
    run(fake_cloud, [item], files, ids=dict(ids))
    assert sorted(made['tags']) == ['tier=front', 'web']
    assert made['description'] == 'front end'
    assert len(target.bodies('POST', '/servers')) == 1

"""downpour_resources: ports made as they were (fixed IPs in order, MAC,
allowed address pairs, port security, tags), router static routes set
once the interfaces exist, and tags on what the import makes, corrected
only on what it made.

The stateful Neutron of test_downpour_resources, with the parts these
need: tags, and ports the way Neutron fills them in.
"""

import itertools
import re
import uuid

import pytest

from tests.unit.library.legacy_target import (
    GLANCE,
    NEUTRON,
    NOVA,
    Target,
    _member,
    dr,
    group,
    image,
    network,
    old_id,
    router,
    rows,
    subnet,
)

_MACS = itertools.count(1)


class Neutron(Target):
    """Tags through their own call, and ports the way Neutron fills
    them in: a MAC, port security on, the default group, the port's MAC
    in each address pair that names none."""

    def _register(self):
        super()._register()
        for name, store in (('networks', self.networks),
                            ('subnets', self.subnets),
                            ('routers', self.routers),
                            ('ports', self.ports),
                            ('security-groups', self.groups)):
            self.cloud.mocker.put(
                _member(NEUTRON, name, '/tags'),
                json=self._guard('PUT', name + '/tags', self._tagger(store)))

    @staticmethod
    def _tagger(store):
        def answer(request, context):
            obj = store[request.path.split('/')[-2]]
            obj['tags'] = list(request.json()['tags'])
            return {'tags': obj['tags']}
        return answer

    def _make_port(self, body):
        body = dict(body)
        body.setdefault('mac_address', 'fa:16:3e:ff:00:%02x' % next(_MACS))
        body.setdefault('port_security_enabled', True)
        if body['port_security_enabled']:
            body.setdefault('security_groups', [self.default['id']])
        body['allowed_address_pairs'] = [
            dict(pair, mac_address=pair.get('mac_address')
                 or body['mac_address'])
            for pair in body.get('allowed_address_pairs') or []]
        body.setdefault('tags', [])
        return super()._make_port(body)

    def add_port(self, name, net, **extra):
        return self._make_port(dict({'name': name, 'network_id': net['id'],
                                     'description': ''}, **extra))


def port(name, net, fixed_ips=(), groups=(), old=None, **extra):
    return dict({'type': 'port', 'id': old or old_id(), 'name': name,
                 'csv_type': 'port', 'description': '',
                 'network': net['id'],
                 'fixed_ips': [{'subnet': sub['id'], 'ip_address': address}
                               for sub, address in fixed_ips],
                 'security_groups': [g['id'] for g in groups]}, **extra)


def run(fake_cloud, items, tmp_path, check_mode=False, name_clash='create'):
    """One module process over every item, in the order of its kinds."""
    importer = dr.Importer(fake_cloud.connect(),
                           journal=dr.Journal(str(tmp_path / 'journal.csv')),
                           check_mode=check_mode, parallel=1,
                           name_clash=name_clash)
    importer.run(items)
    return importer


def _unchanged(fake_cloud, target, items, tmp_path):
    """A second look finds nothing to do, and writes nothing."""
    target.mark()
    look = run(fake_cloud, items, tmp_path, check_mode=True)
    assert (look.pending, target.writes()) == ([], [])


def _puts(target, port_id):
    """The bodies of the updates of port ``port_id`` (its tags apart)."""
    return [request.json() for request in target.cloud.history
            if request.method == 'PUT'
            and request.path.endswith('/ports/' + port_id)]


def _network(name='app-net', tags=()):
    net = network(name)
    net['tags'] = list(tags)
    sub = subnet(name + '-subnet', net)
    sub['tags'] = []
    return net, sub


def test_a_port_is_made_as_it_was(fake_cloud, tmp_path):
    target = Neutron(fake_cloud)
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

    importer = run(fake_cloud, items, tmp_path)

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
        rows(tmp_path / 'journal.csv')
    # Neutron put the port's MAC in the pair that named none: the same.
    _unchanged(fake_cloud, target, items, tmp_path)


def test_a_port_without_port_security_has_no_groups_or_pairs(fake_cloud,
                                                            tmp_path):
    target = Neutron(fake_cloud)
    net, sub = _network()
    item = port('bare', net, [(sub, '10.20.0.30')],
                mac_address='fa:16:3e:01:02:04', allowed_address_pairs=[],
                port_security_enabled=False, tags=[])
    run(fake_cloud, [net, sub, item], tmp_path)
    posted, = target.bodies('POST', '/ports')
    assert posted['port']['port_security_enabled'] is False
    assert posted['port']['security_groups'] == []
    assert 'allowed_address_pairs' not in posted['port']
    # No tags, no tags call.
    assert not target.calls('PUT', '/tags')
    _unchanged(fake_cloud, target, [net, sub, item], tmp_path)


def test_an_address_derived_from_the_mac_is_not_asked_for(fake_cloud,
                                                          tmp_path):
    target = Neutron(fake_cloud)
    net, sub = _network()
    item = port('v6', net, [(sub, '10.20.0.31')])
    item['fixed_ips'].append({'subnet': sub['id'], 'ip_address': None})
    importer = run(fake_cloud, [net, sub, item], tmp_path)
    posted, = target.bodies('POST', '/ports')
    assert posted['port']['fixed_ips'][1] == {
        'subnet_id': importer.ids[sub['id']]}


def test_our_port_is_corrected_but_never_its_mac(fake_cloud, tmp_path):
    target = Neutron(fake_cloud)
    net, sub = _network()
    web = group('web')
    item = port('eth0', net, [(sub, '10.20.0.21')], [web],
                mac_address='fa:16:3e:01:02:05',
                allowed_address_pairs=[{'ip_address': '10.20.0.100'}],
                port_security_enabled=True, tags=['web'])
    items = [net, sub, web, item]
    importer = run(fake_cloud, items, tmp_path)
    made = target.ports[importer.ids[item['id']]]
    made.update(name='renamed', tags=['other'], allowed_address_pairs=[],
                security_groups=[target.default['id']],
                mac_address='fa:16:3e:09:09:09')
    target.mark()

    look = run(fake_cloud, items, tmp_path, check_mode=True)
    assert look.pending == [item['id']]
    assert target.writes() == []
    run(fake_cloud, items, tmp_path)

    updated, = _puts(target, made['id'])
    assert updated == {'port': {
        'name': 'eth0', 'security_groups': [importer.ids[web['id']]],
        'allowed_address_pairs': [{'ip_address': '10.20.0.100'}]}}
    assert made['tags'] == ['web']
    assert made['mac_address'] == 'fa:16:3e:09:09:09'


def test_port_security_turned_off_again_takes_groups_and_pairs_along(
        fake_cloud, tmp_path):
    target = Neutron(fake_cloud)
    net, sub = _network()
    item = port('bare', net, [(sub, '10.20.0.30')],
                allowed_address_pairs=[], port_security_enabled=False,
                tags=[])
    importer = run(fake_cloud, [net, sub, item], tmp_path)
    made = target.ports[importer.ids[item['id']]]
    made.update(port_security_enabled=True,
                security_groups=[target.default['id']],
                allowed_address_pairs=[{'ip_address': '10.20.0.99',
                                        'mac_address': made['mac_address']}])
    target.mark()
    run(fake_cloud, [net, sub, item], tmp_path)
    updated, = _puts(target, made['id'])
    # One request: Neutron refuses groups or pairs without port security.
    assert updated == {'port': {'port_security_enabled': False,
                                'security_groups': [],
                                'allowed_address_pairs': []}}


def test_a_port_of_that_name_that_is_not_ours_is_never_touched(fake_cloud,
                                                               tmp_path):
    target = Neutron(fake_cloud)
    net, sub = _network()
    importer = run(fake_cloud, [net, sub], tmp_path)
    theirs = target.add_port('eth0', {'id': importer.ids[net['id']]},
                             tags=['theirs'], description='theirs')
    before = dict(theirs)
    item = port('eth0', net, [(sub, '10.20.0.21')],
                mac_address='fa:16:3e:01:02:06', allowed_address_pairs=[],
                port_security_enabled=True, tags=['ours'])
    target.mark()

    importer = run(fake_cloud, [net, sub, item], tmp_path,
                   name_clash='adopt')

    assert importer.ids[item['id']] != theirs['id']
    assert target.ports[theirs['id']] == before
    assert [m for m, p in target.writes() if theirs['id'] in p] == []
    assert any('never adopted' in c for c in importer.clashes)


def test_router_routes_are_set_once_its_interfaces_exist(fake_cloud,
                                                         tmp_path):
    target = Neutron(fake_cloud)
    net, sub = _network()
    item = router('app-router', interfaces=[(sub, None)])
    item.update(tags=['edge'], routes=[
        {'destination': '192.168.50.0/24', 'nexthop': '10.20.0.254'}])
    items = [net, sub, item]

    importer = run(fake_cloud, items, tmp_path)

    made = target.routers[importer.ids[item['id']]]
    assert made['routes'] == item['routes']
    assert made['tags'] == ['edge']
    # Created without them (Neutron would refuse the next hop), then set
    # after the interface.
    created, = target.bodies('POST', '/routers')
    assert 'routes' not in created['router']
    calls = [p for m, p in target.writes() if made['id'] in p]
    assert calls.index(NEUTRON + '/routers/%s/add_router_interface'
                       % made['id']) < calls.index(
        NEUTRON + '/routers/%s' % made['id'])
    _unchanged(fake_cloud, target, items, tmp_path)

    # Ours: corrected to exactly the exported routes.
    made['routes'] = [{'destination': '0.0.0.0/0', 'nexthop': '10.20.0.5'}]
    run(fake_cloud, items, tmp_path)
    assert made['routes'] == item['routes']


def test_a_router_not_ours_is_adopted_only_with_every_route_and_keeps_its(
        fake_cloud, tmp_path):
    target = Neutron(fake_cloud)
    net, sub = _network()
    importer = run(fake_cloud, [net, sub], tmp_path)
    theirs = target.add_router('app-router', routes=[
        {'destination': '10.99.0.0/16', 'nexthop': '10.20.0.253'}])
    target._add_interface(type('Request', (), {
        'path': '/v2.0/routers/%s/add_router_interface' % theirs['id'],
        'json': lambda self: {'subnet_id': importer.ids[sub['id']]}})(),
        None)
    item = router('app-router', interfaces=[(sub, None)])
    item.update(tags=[], routes=[
        {'destination': '192.168.50.0/24', 'nexthop': '10.20.0.254'}])

    look = run(fake_cloud, [net, sub, item], tmp_path, check_mode=True,
               name_clash='adopt')
    # Not equivalent without the route: a new router is made.
    assert any('no route to 192.168.50.0/24 via 10.20.0.254' in c
               for c in look.clashes)
    assert look.pending == [item['id']]

    theirs['routes'].append(dict(item['routes'][0]))
    before = [dict(r) for r in theirs['routes']]
    target.mark()
    importer = run(fake_cloud, [net, sub, item], tmp_path,
                   name_clash='adopt')
    assert importer.ids[item['id']] == theirs['id']
    # Adopted: its own route stays, nothing is written to it.
    assert theirs['routes'] == before
    assert [m for m, p in target.writes() if theirs['id'] in p] == []


@pytest.mark.parametrize('rtype', ['network', 'subnet', 'router',
                                   'security_group'])
def test_tags_are_set_on_what_the_import_makes_and_corrected_there(
        fake_cloud, tmp_path, rtype):
    target = Neutron(fake_cloud)
    net, sub = _network(tags=['n'])
    sub['tags'] = ['s']
    rtr = router('r', interfaces=[(sub, None)])
    rtr.update(tags=['r'], routes=[])
    web = group('web')
    web['tags'] = ['g']
    items = [net, sub, rtr, web]
    importer = run(fake_cloud, items, tmp_path)
    stores = {'network': (target.networks, net),
              'subnet': (target.subnets, sub),
              'router': (target.routers, rtr),
              'security_group': (target.groups, web)}
    store, item = stores[rtype]
    made = store[importer.ids[item['id']]]
    assert made['tags'] == item['tags']
    _unchanged(fake_cloud, target, items, tmp_path)

    made['tags'] = [item['tags'][0], 'added-in-the-target']
    look = run(fake_cloud, items, tmp_path, check_mode=True)
    assert look.pending == [item['id']]
    target.mark()
    run(fake_cloud, items, tmp_path)
    assert made['tags'] == item['tags']
    # Only the tags call: nothing else differed.
    assert [m for m, p in target.writes() if made['id'] in p] == ['PUT']


def test_the_default_group_is_not_tagged(fake_cloud, tmp_path):
    target = Neutron(fake_cloud)
    default = group('default', default=True)
    default['tags'] = ['from-the-source']
    run(fake_cloud, [default], tmp_path)
    assert target.default.get('tags', []) == []
    assert not target.calls('PUT', '/tags')


def test_image_tags_go_with_the_upload_and_are_corrected(fake_cloud,
                                                        tmp_path):
    target = Neutron(fake_cloud)
    tags_of = {}

    def tag(request, context):
        image_id, _, name = request.path.split('/')[-3:]
        tags = target.images[image_id]['tags']
        if request.method == 'PUT' and name not in tags:
            tags.append(name)
        elif request.method == 'DELETE' and name in tags:
            tags.remove(name)
        tags_of[image_id] = list(tags)
        return ''

    pattern = re.compile('^%s/images/([^/]+)/tags/([^/?]+)$'
                         % re.escape(GLANCE))
    fake_cloud.mocker.put(pattern, status_code=204, text=tag)
    fake_cloud.mocker.delete(pattern, status_code=204, text=tag)
    item = image(tmp_path, 'img', b'bytes')
    item['attributes']['tags'] = ['golden', 'os=cirros']

    importer = run(fake_cloud, [item], tmp_path)

    posted, = target.bodies('POST', '/images')
    assert posted['tags'] == ['golden', 'os=cirros']
    made = target.images[importer.ids[item['id']]]
    made['tags'] = ['golden', 'stale']
    run(fake_cloud, [item], tmp_path)
    assert sorted(made['tags']) == ['golden', 'os=cirros']


def _nova(fake_cloud, servers):
    """Nova's servers, made ACTIVE at once; the create request kept."""
    created = []

    def create(request, context):
        body = request.json()['server']
        created.append(body)
        server = {'id': str(uuid.uuid4()), 'name': body['name'],
                  'status': 'ACTIVE', 'tags': list(body.get('tags') or []),
                  'description': body.get('description'),
                  'os-extended-volumes:volumes_attached': []}
        servers[server['id']] = server
        context.status_code = 202
        return {'server': {'id': server['id']}}

    fake_cloud.mocker.post(re.compile('^%s/servers$' % re.escape(NOVA)),
                           json=create)
    fake_cloud.mocker.get(
        re.compile('^%s/servers/detail(\\?.*)?$' % re.escape(NOVA)),
        json=lambda r, c: {'servers': list(servers.values())})
    fake_cloud.mocker.get(
        re.compile('^%s/servers/(?!detail)([^/?]+)$' % re.escape(NOVA)),
        json=lambda r, c: {'server': servers[r.path.split('/')[-1]]})

    def update(request, context):
        server = servers[request.path.split('/')[-1]]
        server.update(request.json()['server'])
        return {'server': server}

    fake_cloud.mocker.put(
        re.compile('^%s/servers/(?!detail)([^/?]+)$' % re.escape(NOVA)), json=update)

    def retag(request, context):
        server = servers[request.path.split('/')[-2]]
        server['tags'] = list(request.json()['tags'])
        return {'tags': server['tags']}

    fake_cloud.mocker.put(
        re.compile('^%s/servers/([^/?]+)/tags$' % re.escape(NOVA)),
        json=retag)
    return created


def test_server_tags_go_with_the_boot_and_are_corrected(fake_cloud,
                                                        tmp_path):
    Neutron(fake_cloud)
    servers = {}
    created = _nova(fake_cloud, servers)
    item = {'type': 'server', 'id': old_id(), 'name': 'web',
            'csv_type': 'server', 'flavor': 'flavor_001', 'image': 'img',
            'ports': [], 'volumes': [], 'metadata': {},
            'description': 'front end', 'config_drive': False,
            'key_name': None, 'tags': ['web', 'tier=front']}
    importer = dr.Importer(fake_cloud.connect(),
                           ids={'flavor_001': 'f', 'img': 'i'},
                           journal=dr.Journal(str(tmp_path / 'j.csv')),
                           parallel=1)
    importer.run([item])
    body, = created
    # Tags in the create request (compute API 2.52 and later).
    assert body['tags'] == ['web', 'tier=front']
    assert body['description'] == 'front end'
    server = servers[importer.ids[item['id']]]

    server.update(tags=['web'], description=None)
    look = dr.Importer(fake_cloud.connect(),
                       ids={'flavor_001': 'f', 'img': 'i'},
                       journal=dr.Journal(str(tmp_path / 'j.csv')),
                       check_mode=True)
    look.run([item])
    assert look.pending == [item['id']]
    importer = dr.Importer(fake_cloud.connect(),
                           ids={'flavor_001': 'f', 'img': 'i'},
                           journal=dr.Journal(str(tmp_path / 'j.csv')),
                           parallel=1)
    importer.run([item])
    assert sorted(server['tags']) == ['tier=front', 'web']
    assert server['description'] == 'front end'
    assert len(created) == 1


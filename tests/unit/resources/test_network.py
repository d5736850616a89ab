"""Ports as they were: every fixed IP in order, the MAC, allowed address
pairs, port security, names, descriptions and tags; the keepalived VIP
that other ports name; router static routes; tags of every type that has
them."""

import copy

import pytest

from downpour import export
from downpour.resourcefile import Entry
from tests.unit.fakecloud import PROJECT_ID
from tests.unit.resources import sample

SUBNET_B = '33333333-3333-4333-8333-33333333333b'
SUBNET_V6 = '33333333-3333-4333-8333-333333333336'
PORT_2ND = 'aaaaaaaa-0000-4000-8000-0000000000b2'
LEFTOVER = 'aaaaaaaa-0000-4000-8000-0000000000ff'


def _resolve(fake_cloud, entries, **lists):
    """The sample project, with ``lists`` (networks=..., ports=...)
    replacing its list answers."""
    sample.register(fake_cloud)
    paths = {'networks': ('network', '/v2.0/networks'),
             'subnets': ('network', '/v2.0/subnets'),
             'ports': ('network', '/v2.0/ports'),
             'routers': ('network', '/v2.0/routers'),
             'security_groups': ('network', '/v2.0/security-groups'),
             'images': ('image', '/images'),
             'servers': ('compute', '/servers/detail')}
    for key, value in lists.items():
        service, path = paths[key]
        fake_cloud.get(service, path, json={key: value})
    exporter = export.Exporter(fake_cloud.connect(), 'resources.yml')
    return exporter, exporter.resolve(entries)


def _of(records, rtype, old_id):
    found, = [r for r in records if r.type == rtype and r.old_id == old_id]
    return found


def _port(ports, port_id):
    found, = [p for p in ports if p['id'] == port_id]
    return found


def test_a_port_keeps_its_mac_pairs_port_security_and_tags(fake_cloud):
    _, records = _resolve(fake_cloud, [Entry('servers', name='web-1')])
    port = _of(records, 'port', sample.PORT_1)
    assert port.params['mac_address'] == 'fa:16:3e:00:00:02'
    # The pair names the port's own MAC: it is left to follow the new
    # port's (the same MAC, set from the source).
    assert port.params['allowed_address_pairs'] == [
        {'ip_address': '10.20.0.50'}]
    assert port.params['port_security_enabled'] is True
    assert port.params['tags'] == ['web']


def test_a_pair_with_a_mac_of_its_own_keeps_it(fake_cloud):
    ports = sample.ports()
    _port(ports, sample.PORT_1)['allowed_address_pairs'] = [
        {'ip_address': '10.20.0.50', 'mac_address': 'fa:16:3e:99:99:99'},
        {'ip_address': '10.20.0.48/29',
         'mac_address': 'fa:16:3e:00:00:02'}]
    _, records = _resolve(fake_cloud, [Entry('servers', name='web-1')],
                          ports=ports)
    assert _of(records, 'port', sample.PORT_1).params[
        'allowed_address_pairs'] == [
        {'ip_address': '10.20.0.50', 'mac_address': 'fa:16:3e:99:99:99'},
        {'ip_address': '10.20.0.48/29'}]


def test_several_fixed_ips_on_a_port_and_several_ports_in_order(fake_cloud):
    """The server's ports in the order of its interfaces, which Nova's
    addresses show, not in the order they were made; each port's fixed IPs
    in the source's order, on their subnets."""
    subnets = sample.subnets() + [dict(
        sample.subnets()[0], id=SUBNET_B, name='app-subnet-b',
        cidr='10.21.0.0/24', gateway_ip='10.21.0.1',
        allocation_pools=[{'start': '10.21.0.2', 'end': '10.21.0.254'}])]
    ports = sample.ports()
    first = _port(ports, sample.PORT_1)
    first['fixed_ips'] = [
        {'subnet_id': sample.SUBNET, 'ip_address': '10.20.0.101'},
        {'subnet_id': SUBNET_B, 'ip_address': '10.21.0.7'},
        {'subnet_id': sample.SUBNET, 'ip_address': '10.20.0.9'}]
    # The second interface's port was made first.
    second = dict(first, id=PORT_2ND, mac_address='fa:16:3e:00:00:b2',
                  fixed_ips=[{'subnet_id': SUBNET_B,
                              'ip_address': '10.21.0.8'}],
                  allowed_address_pairs=[], tags=[],
                  created_at='2026-01-01T00:00:00Z')
    ports.append(second)
    servers = sample.servers()
    servers[0]['addresses'] = {'app-net': [
        {'addr': '10.20.0.101', 'OS-EXT-IPS-MAC:mac_addr':
         first['mac_address']},
        {'addr': '10.21.0.7', 'OS-EXT-IPS-MAC:mac_addr':
         first['mac_address']},
        {'addr': '10.20.0.9', 'OS-EXT-IPS-MAC:mac_addr':
         first['mac_address']},
        {'addr': '10.21.0.8', 'OS-EXT-IPS-MAC:mac_addr':
         second['mac_address']}]}
    _, records = _resolve(fake_cloud, [Entry('servers', name='web-1')],
                          subnets=subnets, ports=ports, servers=servers)

    server = _of(records, 'server', sample.SERVER_1)
    assert [p.old_id for p in server.refs['ports']] == [sample.PORT_1,
                                                        PORT_2ND]
    assert [(ip['subnet'].old_id, ip['ip_address']) for ip in
            server.refs['ports'][0].refs['fixed_ips']] == [
        (sample.SUBNET, '10.20.0.101'), (SUBNET_B, '10.21.0.7'),
        (sample.SUBNET, '10.20.0.9')]


def test_without_addresses_ports_keep_the_order_they_were_made(fake_cloud):
    ports = sample.ports()
    ports.append(dict(_port(ports, sample.PORT_1), id=PORT_2ND,
                      mac_address='fa:16:3e:00:00:b2',
                      allowed_address_pairs=[],
                      created_at='2026-01-01T00:00:00Z'))
    _, records = _resolve(fake_cloud, [Entry('servers', name='web-1')],
                          ports=ports)
    server = _of(records, 'server', sample.SERVER_1)
    assert [p.old_id for p in server.refs['ports']] == [PORT_2ND,
                                                        sample.PORT_1]


def test_a_port_without_port_security(fake_cloud):
    ports = sample.ports()
    port = _port(ports, sample.PORT_1)
    port.update(port_security_enabled=False, security_groups=[],
                allowed_address_pairs=[])
    _, records = _resolve(fake_cloud, [Entry('servers', name='web-1')],
                          ports=ports)
    record = _of(records, 'port', sample.PORT_1)
    assert record.params['port_security_enabled'] is False
    assert record.refs['security_groups'] == []
    # No pairs, so no VIP: nothing names its address.
    assert [r for r in records if r.info.get('vip')] == []


def test_an_address_on_a_slaac_subnet_is_left_to_the_mac(fake_cloud):
    subnets = sample.subnets() + [dict(
        sample.subnets()[0], id=SUBNET_V6, name='app-v6',
        cidr='2001:db8::/64', ip_version=6, gateway_ip='2001:db8::1',
        ipv6_address_mode='slaac', ipv6_ra_mode='slaac',
        allocation_pools=[{'start': '2001:db8::2',
                           'end': '2001:db8::ffff:ffff:ffff:ffff'}])]
    ports = sample.ports()
    _port(ports, sample.PORT_1)['fixed_ips'].append(
        {'subnet_id': SUBNET_V6, 'ip_address': '2001:db8::f816:3eff:fe00:2'})
    _, records = _resolve(fake_cloud, [Entry('servers', name='web-1')],
                          subnets=subnets, ports=ports)
    assert [(ip['subnet'].old_id, ip['ip_address']) for ip in _of(
        records, 'port', sample.PORT_1).refs['fixed_ips']] == [
        (sample.SUBNET, '10.20.0.101'), (SUBNET_V6, None)]


def test_the_vip_a_pair_names_comes_with_its_network_before_the_port(
        fake_cloud):
    _, records = _resolve(fake_cloud, [Entry('servers', name='web-1')])
    vip = _of(records, 'port', sample.PORT_VIP)
    assert vip.info['vip'] is True
    assert vip.name == 'web-vip'
    assert vip.params['description'] == 'keepalived'
    assert vip.params['mac_address'] == 'fa:16:3e:00:00:04'
    assert vip.refs['network'].old_id == sample.NET
    assert [(ip['subnet'].old_id, ip['ip_address'])
            for ip in vip.refs['fixed_ips']] == [(sample.SUBNET,
                                                  '10.20.0.50')]
    assert [g.name for g in vip.refs['security_groups']] == ['web']
    # Not a port of the server: it is made on its own, before the port
    # that names its address, and the server is not made on it.
    server = _of(records, 'server', sample.SERVER_1)
    assert [p.old_id for p in server.refs['ports']] == [sample.PORT_1]
    position = {id(r): n for n, r in enumerate(records)}
    assert position[id(vip)] < position[id(_of(records, 'port',
                                               sample.PORT_1))]


def test_ports_no_pair_names_are_left_behind(fake_cloud):
    ports = sample.ports()
    # A port without a device in the range a pair names, and one on
    # another project's network: neither is a VIP of this export.
    ports.append(dict(_port(ports, sample.PORT_VIP), id=LEFTOVER,
                      name='leftover', fixed_ips=[
                          {'subnet_id': sample.SUBNET,
                           'ip_address': '10.20.0.48'}]))
    _port(ports, sample.PORT_1)['allowed_address_pairs'].append(
        {'ip_address': '10.20.0.48/29', 'mac_address': 'fa:16:3e:00:00:02'})
    _, records = _resolve(fake_cloud, [Entry('servers', name='web-1')],
                          ports=ports)
    assert [r.old_id for r in records if r.type == 'port'] == [
        sample.PORT_VIP, sample.PORT_1]
    # web-2 names no address: the VIP does not come with it.
    fake_cloud.mocker.reset_mock()
    _, records = _resolve(fake_cloud, [Entry('servers', name='web-2')])
    assert [r.old_id for r in records if r.type == 'port'] == [
        'aaaaaaaa-0000-4000-8000-000000000003']


def test_a_vip_of_another_project_or_with_a_device_is_not_taken(
        fake_cloud):
    ports = sample.ports()
    vip = _port(ports, sample.PORT_VIP)
    vip['project_id'] = sample.OTHER_PROJECT
    _, records = _resolve(fake_cloud, [Entry('servers', name='web-1')],
                          ports=ports)
    assert [r for r in records if r.info.get('vip')] == []
    ports = sample.ports()
    _port(ports, sample.PORT_VIP).update(device_id=sample.SERVER_2,
                                         device_owner='compute:nova')
    _, records = _resolve(fake_cloud, [Entry('servers', name='web-1')],
                          ports=ports)
    assert [r for r in records if r.info.get('vip')] == []


def test_a_port_on_an_external_network_says_what_it_cannot_keep(
        fake_cloud):
    ports = sample.ports()
    port = _port(ports, sample.PORT_1)
    port.update(network_id=sample.PUBLIC_NET, fixed_ips=[
        {'subnet_id': sample.PUBLIC_SUBNET, 'ip_address': '203.0.113.7'}])
    exporter, records = _resolve(
        fake_cloud, [Entry('servers', name='web-1')], ports=ports)
    record = _of(records, 'port', sample.PORT_1)
    # Only the network's owner may choose these.
    for key in ('mac_address', 'allowed_address_pairs',
                'port_security_enabled'):
        assert key not in record.params
    assert record.refs['fixed_ips'] == []
    assert record.params['tags'] == ['web']
    warning, = [w for w in exporter.warnings if sample.PORT_1 in w]
    for lost in ('fa:16:3e:00:00:02', '203.0.113.7', '10.20.0.50',
                 "'public'"):
        assert lost in warning
    # Its pair named a VIP on another network: not taken.
    assert [r for r in records if r.info.get('vip')] == []


def test_router_routes_whose_next_hop_is_on_an_exported_subnet(fake_cloud):
    routers = copy.deepcopy(sample.routers())
    routers[0]['routes'] = [
        {'destination': '192.0.2.0/24', 'nexthop': '10.20.0.254'},
        # Through the external network, which the target does not share.
        {'destination': '198.18.0.0/15', 'nexthop': '203.0.113.20'},
        {'destination': '2001:db8:1::/48', 'nexthop': '2001:db8::9'}]
    exporter, records = _resolve(
        fake_cloud, [Entry('networks', name='app-net')], routers=routers)
    router = _of(records, 'router', sample.ROUTER)
    assert router.params['routes'] == [
        {'destination': '192.0.2.0/24', 'nexthop': '10.20.0.254'}]
    warning, = [w for w in exporter.warnings if 'static routes' in w]
    assert '198.18.0.0/15 via 203.0.113.20' in warning
    assert '2001:db8:1::/48 via 2001:db8::9' in warning


def test_a_route_on_a_subnet_reached_later_is_kept(fake_cloud):
    """The router is reached from web-1's subnet first; the route's next
    hop is on a second subnet exported after it (web-2's)."""
    net2 = '22222222-2222-4222-8222-222222222223'
    subnet2 = '33333333-3333-4333-8333-333333333334'
    networks = sample.networks() + [dict(
        sample.networks()[1], id=net2, name='db-net', subnets=[subnet2])]
    subnets = sample.subnets() + [dict(
        sample.subnets()[0], id=subnet2, name='db-subnet', network_id=net2,
        cidr='10.30.0.0/24', gateway_ip='10.30.0.1')]
    ports = [p for p in sample.ports() if p['device_id'] != sample.SERVER_2]
    ports += [
        {'id': 'aaaaaaaa-0000-4000-8000-000000000011', 'network_id': net2,
         'device_id': sample.ROUTER,
         'device_owner': 'network:router_interface',
         'fixed_ips': [{'subnet_id': subnet2, 'ip_address': '10.30.0.1'}],
         'security_groups': [], 'created_at': '2026-01-01T00:00:04Z'},
        {'id': 'aaaaaaaa-0000-4000-8000-000000000012', 'network_id': net2,
         'device_id': sample.SERVER_2, 'device_owner': 'compute:nova',
         'fixed_ips': [{'subnet_id': subnet2, 'ip_address': '10.30.0.9'}],
         'security_groups': [sample.SG_WEB], 'project_id': PROJECT_ID,
         'created_at': '2026-01-01T00:00:05Z'}]
    routers = copy.deepcopy(sample.routers())
    routers[0]['routes'] = [{'destination': '192.0.2.0/24',
                             'nexthop': '10.30.0.254'}]
    exporter, records = _resolve(
        fake_cloud, [Entry('servers', name='web-1'),
                     Entry('servers', name='web-2')],
        networks=networks, subnets=subnets, ports=ports, routers=routers)
    assert _of(records, 'router', sample.ROUTER).params['routes'] == [
        {'destination': '192.0.2.0/24', 'nexthop': '10.30.0.254'}]
    assert not [w for w in exporter.warnings if 'static routes' in w]


@pytest.mark.parametrize('rtype, old_id, key, section', [
    ('network', sample.NET, 'networks', 'networks'),
    ('subnet', sample.SUBNET, 'subnets', 'networks'),
    ('router', sample.ROUTER, 'routers', 'networks'),
    ('security_group', sample.SG_WEB, 'security_groups', 'security_groups'),
    ('image', sample.IMAGE, 'images', 'images'),
])
def test_tags_of_every_type_that_has_them(fake_cloud, rtype, old_id, key,
                                          section):
    listed = copy.deepcopy(getattr(sample, key)())
    for obj in listed:
        if obj['id'] == old_id:
            obj['tags'] = ['blue', 'env=prod', 'x' * 60]
    name = {'networks': 'app-net', 'security_groups': 'web',
            'images': 'cirros'}[section]
    _, records = _resolve(fake_cloud, [Entry(section, name=name)],
                          **{key: listed})
    assert _of(records, rtype, old_id).params['tags'] == [
        'blue', 'env=prod', 'x' * 60]


def test_server_tags_and_description(fake_cloud):
    servers = sample.servers()
    servers[1].update(tags=['web', 'tier=front'], description='front end')
    _, records = _resolve(fake_cloud, [Entry('servers', name='web-2')],
                          servers=servers)
    server = _of(records, 'server', sample.SERVER_2)
    assert server.params['tags'] == ['web', 'tier=front']
    assert server.params['description'] == 'front end'

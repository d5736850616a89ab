"""Ports as they were, router static routes, tags and descriptions, on the
two local clouds (issue 14, items 3 and 5).

The source project holds a keepalived pair behind a router:

* network ``pw-net`` (tags, description) with subnets ``pw-a``
  (10.40.0.0/24) and ``pw-b`` (10.41.0.0/24), behind ``pw-router`` (gateway
  on the external network, an interface on each subnet, two static routes
  through next hops on them, tags, description);
* security group ``pw-sg`` (tags, description);
* ``pw-vip``, a port without a device holding 10.40.0.100, the address
  both web servers carry as an allowed address pair;
* ``pw-web-1`` (tags, description) on two ports, the second of which was
  made first: ``pw-web-1-eth0`` with three fixed IPs on the two subnets, a
  MAC set by the network's owner, two address pairs (the VIP, and a range
  with a MAC of its own), tags and a description; ``pw-web-1-mgmt`` with
  port security off and no group;
* ``pw-web-2`` (tags) on one port with a set MAC and the VIP pair;
* ``pw-spare``, a port without a device no pair names: it stays behind;
* the servers boot from ``pw-image``, an image with tags.

Both servers are exported (``save_state: false``) and imported into a fresh
target project.  The target is then checked attribute by attribute against
the source; uuids.csv maps every port once; a second run changes nothing;
then what the test changes on the import's own resources in the target
(tags, pairs, routes, a server's description) is put back by a third run.
"""

import csv
import time

import pytest
import yaml

from tests.functional.helpers import (
    BIN,
    recap_changed,
    run,
    upload_image,
    wait_for,
)

pytestmark = pytest.mark.functional

NET_TAGS = ['app=shop', 'env=prod']
SUBNET_TAGS = ['zone=a']
ROUTER_TAGS = ['edge']
GROUP_TAGS = ['web', 'managed-by=ops']
IMAGE_TAGS = ['golden', 'os=cirros']
ROUTES = [{'destination': '192.168.50.0/24', 'nexthop': '10.40.0.254'},
          {'destination': '192.168.60.0/24', 'nexthop': '10.41.0.254'}]
IMAGE_BYTES = b''.join(b'ports as they were %06d\n' % i
                       for i in range(4000))


def build_source(conn):
    """The keepalived pair behind its router; the source objects by
    role."""
    net = conn.network
    public = net.find_network('public', ignore_missing=False)
    image = upload_image(conn, 'pw-image', IMAGE_BYTES, tags=IMAGE_TAGS)

    network = net.create_network(name='pw-net',
                                 description='production web')
    net.set_tags(network, NET_TAGS)
    subnet_a = net.create_subnet(
        network_id=network.id, name='pw-a', ip_version=4,
        cidr='10.40.0.0/24', description='front subnet')
    net.set_tags(subnet_a, SUBNET_TAGS)
    subnet_b = net.create_subnet(
        network_id=network.id, name='pw-b', ip_version=4,
        cidr='10.41.0.0/24', description='management subnet')
    router = net.create_router(
        name='pw-router', description='edge router',
        external_gateway_info={'network_id': public.id})
    net.add_interface_to_router(router, subnet_id=subnet_a.id)
    net.add_interface_to_router(router, subnet_id=subnet_b.id)
    net.update_router(router, routes=ROUTES)
    net.set_tags(router, ROUTER_TAGS)

    group = net.create_security_group(name='pw-sg',
                                      description='web servers')
    net.set_tags(group, GROUP_TAGS)
    net.create_security_group_rule(
        security_group_id=group.id, direction='ingress', ethertype='IPv4',
        protocol='tcp', port_range_min=80, port_range_max=80)

    def port(name, fixed, **extra):
        made = net.create_port(
            network_id=network.id, name=name,
            fixed_ips=[{'subnet_id': subnet.id, 'ip_address': address}
                       for subnet, address in fixed], **extra)
        return made

    vip = port('pw-vip', [(subnet_a, '10.40.0.100')],
               description='keepalived VIP', security_group_ids=[group.id])
    net.set_tags(vip, ['vip'])
    spare = port('pw-spare', [(subnet_a, '10.40.0.200')])
    # Made before eth0, but the server's second interface.
    mgmt = port('pw-web-1-mgmt', [(subnet_b, '10.41.0.11')],
                is_port_security_enabled=False, security_group_ids=[])
    eth0 = port('pw-web-1-eth0',
                [(subnet_a, '10.40.0.21'), (subnet_b, '10.41.0.21'),
                 (subnet_a, '10.40.0.3')],
                description='web one, front', mac_address='fa:16:3e:40:00:21',
                security_group_ids=[group.id],
                allowed_address_pairs=[
                    {'ip_address': '10.40.0.100'},
                    {'ip_address': '10.40.0.128/28',
                     'mac_address': 'fa:16:3e:40:01:28'}])
    net.set_tags(eth0, ['nic=front'])
    web2_port = port('pw-web-2-eth0', [(subnet_a, '10.40.0.22')],
                     mac_address='fa:16:3e:40:00:22',
                     security_group_ids=[group.id],
                     allowed_address_pairs=[{'ip_address': '10.40.0.100'}])

    flavor = conn.compute.find_flavor('m1.tiny', ignore_missing=False)
    servers = {}
    for name, ports, extra in (
            ('pw-web-1', [eth0, mgmt], {'description': 'web one',
                                        'tags': ['web', 'tier=front']}),
            ('pw-web-2', [web2_port], {'tags': ['web']})):
        servers[name] = conn.compute.create_server(
            name=name, flavor_id=flavor.id, image_id=image.id,
            networks=[{'port': p.id} for p in ports], **extra)
    for name, server in servers.items():
        servers[name] = wait_for(
            lambda s=server: conn.compute.get_server(s.id),
            lambda s: s.status in ('ACTIVE', 'ERROR'), 'server %r' % name)
        assert servers[name].status == 'ACTIVE', name
    return {'network': network, 'subnets': [subnet_a, subnet_b],
            'router': router, 'group': group, 'image': image,
            'ports': {p.name: p for p in (vip, spare, mgmt, eth0,
                                          web2_port)},
            'servers': servers}


def read_map(path):
    with open(path, newline='') as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ['Resource Type', 'Resource Name', 'Old', 'New']
    olds = [row[2] for row in rows[1:]]
    assert len(olds) == len(set(olds)), 'an old ID twice in uuids.csv'
    return {(row[0], row[2]): row[3] for row in rows[1:]}


def interfaces(server):
    """The server's interfaces in Nova's order, each (MAC, its addresses).

    The addresses of one interface are sorted: Nova's cache lists two
    fixed IPs of one port in either order (seen on the local clouds); the
    port's own order is checked on the port."""
    order, addresses = [], {}
    for entries in server.addresses.values():
        for entry in entries:
            mac = entry['OS-EXT-IPS-MAC:mac_addr']
            if mac not in addresses:
                order.append(mac)
                addresses[mac] = []
            addresses[mac].append(entry['addr'])
    return [(mac, sorted(addresses[mac])) for mac in order]


def pairs(port):
    return sorted((p['ip_address'], p['mac_address'])
                  for p in port.allowed_address_pairs or [])


def test_ports_routes_and_tags_arrive_as_they_were(tmp_path, migration):
    src, dst = migration.source.conn, migration.target.conn
    env = migration.env
    started = time.monotonic()
    source = build_source(src)
    built = time.monotonic() - started

    resources = tmp_path / 'resources.yml'
    resources.write_text(yaml.safe_dump({'servers': [
        {'name': 'pw-web-1', 'save_state': False},
        {'name': 'pw-web-2', 'save_state': False}]}))
    out = tmp_path / 'out'
    started = time.monotonic()
    run([BIN / 'downpour', '--os-cloud', 'src', 'export', resources, out],
        env)
    exported = time.monotonic() - started
    manifest = yaml.safe_load((out / 'manifest.yml').read_text())
    exported_ports = {r['old_id'] for r in manifest['resources']
                      if r['type'] == 'port'}
    # The VIP comes with the network; the port no pair names does not.
    assert exported_ports == {source['ports'][name].id for name in (
        'pw-vip', 'pw-web-1-eth0', 'pw-web-1-mgmt', 'pw-web-2-eth0')}

    started = time.monotonic()
    first = run([BIN / 'ansible-playbook', out / 'playbook.yml',
                 '-e', 'cloud=dst'], env)
    imported = time.monotonic() - started
    print('\nbuild %.1f s, export %.1f s, import %.1f s'
          % (built, exported, imported))
    assert recap_changed(first.stdout) > 0
    uuids = read_map(out / 'uuids.csv')

    def new(kind, old):
        assert (kind, old.id) in uuids, '%s %s not in uuids.csv' % (
            kind, old.name)
        return uuids[(kind, old.id)]

    # --- the network, its subnets, router and group -----------------------
    network = dst.network.get_network(new('network', source['network']))
    assert network.description == 'production web'
    assert sorted(network.tags) == sorted(NET_TAGS)
    subnet_ids = {}
    for old in source['subnets']:
        subnet = dst.network.get_subnet(new('subnet', old))
        subnet_ids[old.id] = subnet.id
        assert subnet.network_id == network.id
        assert (subnet.cidr, subnet.description, sorted(subnet.tags)) == (
            old.cidr, old.description, sorted(old.tags))
    router = dst.network.get_router(new('router', source['router']))
    assert router.description == 'edge router'
    assert router.tags == ROUTER_TAGS
    assert sorted(map(sorted, (r.items() for r in router.routes))) == \
        sorted(map(sorted, (r.items() for r in ROUTES)))
    assert sorted(ip['subnet_id'] for p in dst.network.ports(
        device_id=router.id, device_owner='network:router_interface')
        for ip in p.fixed_ips) == sorted(subnet_ids.values())
    group = dst.network.get_security_group(
        new('security group', source['group']))
    assert group.description == 'web servers'
    assert sorted(group.tags) == sorted(GROUP_TAGS)
    image = dst.image.get_image(new('image', source['image']))
    assert sorted(image.tags) == sorted(IMAGE_TAGS)

    # --- every port, attribute by attribute --------------------------------
    groups = {source['group'].id: group.id}
    for name in ('pw-vip', 'pw-web-1-eth0', 'pw-web-1-mgmt',
                 'pw-web-2-eth0'):
        old = src.network.get_port(source['ports'][name].id)
        port = dst.network.get_port(new('port', old))
        assert port.network_id == network.id, name
        assert (port.name, port.description, sorted(port.tags)) == (
            old.name, old.description, sorted(old.tags)), name
        assert port.mac_address == old.mac_address, name
        # Every fixed IP, on the subnet made from the source's, in order.
        assert [(ip['subnet_id'], ip['ip_address'])
                for ip in port.fixed_ips] == [
            (subnet_ids[ip['subnet_id']], ip['ip_address'])
            for ip in old.fixed_ips], name
        assert pairs(port) == pairs(old), name
        assert port.is_port_security_enabled == \
            old.is_port_security_enabled, name
        assert sorted(port.security_group_ids) == sorted(
            groups[g] for g in old.security_group_ids), name
    eth0 = dst.network.get_port(new('port', source['ports']['pw-web-1-eth0']))
    assert len(eth0.fixed_ips) == 3
    assert pairs(eth0) == [('10.40.0.100', 'fa:16:3e:40:00:21'),
                           ('10.40.0.128/28', 'fa:16:3e:40:01:28')]
    mgmt = dst.network.get_port(new('port', source['ports']['pw-web-1-mgmt']))
    assert (mgmt.is_port_security_enabled, mgmt.security_group_ids) == (
        False, [])
    vip = dst.network.get_port(new('port', source['ports']['pw-vip']))
    assert ([ip['ip_address'] for ip in vip.fixed_ips], vip.device_id,
            vip.device_owner) == (['10.40.0.100'], '', '')
    # The port no pair names stayed behind.
    assert ('port', source['ports']['pw-spare'].id) not in uuids
    assert not [p for p in dst.network.ports(project_id=dst.current_project_id)
                if any(ip['ip_address'] == '10.40.0.200'
                       for ip in p.fixed_ips)]
    # uuids.csv maps every exported port once, and no other port.
    assert {old for kind, old in uuids if kind == 'port'} == exported_ports

    # --- the servers: on those ports, in the order of their interfaces ----
    for name, old in source['servers'].items():
        old = src.compute.get_server(old.id)
        server = dst.compute.get_server(new('server', old))
        assert server.status == 'ACTIVE', name
        assert interfaces(server) == interfaces(old), name
        assert (server.description, sorted(server.tags)) == (
            old.description, sorted(old.tags)), name
    web1 = dst.compute.get_server(new('server', source['servers']['pw-web-1']))
    # Its first port, with its set MAC and three addresses, then mgmt.
    assert [(mac, len(addresses)) for mac, addresses in interfaces(web1)] \
        == [('fa:16:3e:40:00:21', 3), (mgmt.mac_address, 1)]
    assert web1.description == 'web one'

    # --- a second run changes nothing --------------------------------------
    first_map = (out / 'uuids.csv').read_bytes()
    second = run([BIN / 'ansible-playbook', out / 'playbook.yml',
                  '-e', 'cloud=dst'], env)
    assert recap_changed(second.stdout) == 0, second.stdout[-4000:]
    assert (out / 'uuids.csv').read_bytes() == first_map

    # --- what was changed on the import's own is put back -------------------
    dst.network.set_tags(eth0, ['changed'])
    dst.network.update_port(eth0, allowed_address_pairs=[])
    dst.network.update_router(router, routes=[ROUTES[0]])
    dst.network.set_tags(network, [])
    dst.compute.update_server(web1, description='changed')
    web1.set_tags(dst.compute, [])
    third = run([BIN / 'ansible-playbook', out / 'playbook.yml',
                 '-e', 'cloud=dst'], env)
    assert recap_changed(third.stdout) > 0
    eth0 = dst.network.get_port(eth0.id)
    assert (eth0.tags, pairs(eth0)) == (
        ['nic=front'], [('10.40.0.100', 'fa:16:3e:40:00:21'),
                        ('10.40.0.128/28', 'fa:16:3e:40:01:28')])
    assert len(dst.network.get_router(router.id).routes) == 2
    assert sorted(dst.network.get_network(network.id).tags) == \
        sorted(NET_TAGS)
    web1 = dst.compute.get_server(web1.id)
    assert (web1.description, sorted(web1.tags)) == (
        'web one', ['tier=front', 'web'])
    assert (out / 'uuids.csv').read_bytes() == first_map

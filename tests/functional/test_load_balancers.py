"""A load balancer moved between the two local clouds (Octavia with its
no-op drivers: real API, database and VIP port, no amphora).

The source project has two web servers on a subnet behind a router, and a
load balancer in front of them: an HTTP listener, a pool with both
servers as members, a health monitor, an L7 policy that redirects
``/old`` elsewhere, and a floating IP on the VIP.  The resource file names
only the load balancer: its servers come with it.  The target already has
a load balancer of the same name, which stays untouched.

After the import, the target's new load balancer is ACTIVE with the same
shape: its VIP at the source's address, its members at the new servers'
addresses, the floating IP on its VIP port, in addresses.csv.  A second
import changes nothing.  An HTTPS load balancer, with its certificate,
is test_https_load_balancer's.
"""

import csv
import json
import time

import pytest
import yaml

from tests.functional.helpers import (
    BIN,
    boot,
    default_group,
    laps,
    recap_changed,
    run,
    upload_image,
)

pytestmark = pytest.mark.functional

PREFIX = 'lbt'
LB, POOL, LISTENER, POLICY = ('%s-lb' % PREFIX, '%s-pool' % PREFIX,
                              '%s-http' % PREFIX, '%s-old' % PREFIX)
VIP = '10.58.0.50'
IMAGE_BYTES = b'downpour load balancers\n' * 32768


def _active(conn, lb_id):
    return conn.load_balancer.wait_for_load_balancer(lb_id, wait=300)


def _build_source(conn, project_id):
    public = conn.network.find_network('public', ignore_missing=False)
    net = conn.network.create_network(name='%s-net' % PREFIX)
    subnet = conn.network.create_subnet(
        name='%s-subnet' % PREFIX, network_id=net.id, ip_version=4,
        cidr='10.58.0.0/24', gateway_ip='10.58.0.1')
    router = conn.network.create_router(
        name='%s-router' % PREFIX,
        external_gateway_info={'network_id': public.id})
    conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    group = default_group(conn, project_id)
    image = upload_image(conn, '%s-image' % PREFIX, IMAGE_BYTES)
    servers = [boot(conn, '%s-web-%d' % (PREFIX, n), image.id, net.id,
                    group.id) for n in (1, 2)]
    addresses = [next(conn.network.ports(device_id=s.id)).fixed_ips[0][
        'ip_address'] for s in servers]

    lb = conn.load_balancer.create_load_balancer(
        name=LB, vip_subnet_id=subnet.id, vip_address=VIP,
        description='front door', tags=['shop'])
    _active(conn, lb.id)
    pool = conn.load_balancer.create_pool(
        name=POOL, loadbalancer_id=lb.id, protocol='HTTP',
        lb_algorithm='ROUND_ROBIN',
        session_persistence={'type': 'HTTP_COOKIE'})
    _active(conn, lb.id)
    for address in addresses:
        conn.load_balancer.create_member(pool, address=address,
                                         protocol_port=80,
                                         subnet_id=subnet.id)
        _active(conn, lb.id)
    conn.load_balancer.create_health_monitor(
        pool_id=pool.id, type='HTTP', delay=5, timeout=3, max_retries=3,
        url_path='/health', name='%s-hm' % PREFIX)
    _active(conn, lb.id)
    listener = conn.load_balancer.create_listener(
        name=LISTENER, loadbalancer_id=lb.id, protocol='HTTP',
        protocol_port=80, default_pool_id=pool.id, connection_limit=1000)
    _active(conn, lb.id)
    policy = conn.load_balancer.create_l7_policy(
        name=POLICY, listener_id=listener.id, action='REDIRECT_TO_URL',
        redirect_url='https://shop.example/new', position=1)
    _active(conn, lb.id)
    conn.load_balancer.create_l7_rule(policy, type='PATH',
                                      compare_type='STARTS_WITH',
                                      value='/old')
    lb = _active(conn, lb.id)
    fip = conn.network.create_ip(floating_network_id=public.id,
                                 port_id=lb.vip_port_id,
                                 fixed_ip_address=lb.vip_address)
    return {'lb': lb, 'addresses': addresses, 'fip': fip}


def _delete_lbs(conn):
    """Octavia's objects are not among what the fixtures clean up; a VIP
    port would keep its network."""
    for lb in list(conn.load_balancer.load_balancers(
            project_id=conn.current_project_id)):
        # Octavia deletes only one that is not PENDING_*.
        deadline = time.monotonic() + 300
        while conn.load_balancer.get_load_balancer(
                lb.id).provisioning_status.startswith('PENDING_'):
            assert time.monotonic() < deadline, 'load balancer pending'
            time.sleep(2)
        conn.load_balancer.delete_load_balancer(lb, cascade=True,
                                                ignore_missing=True)
    deadline = time.monotonic() + 300
    while list(conn.load_balancer.load_balancers(
            project_id=conn.current_project_id)):
        assert time.monotonic() < deadline, 'load balancers still there'
        time.sleep(2)


def _shape(conn, lb_id):
    """A load balancer and what is on it, as comparable values."""
    lb = conn.load_balancer.get_load_balancer(lb_id)
    listeners = [conn.load_balancer.get_listener(ref['id'])
                 for ref in lb.listeners]
    pools = [conn.load_balancer.get_pool(ref['id']) for ref in lb.pools]
    members = sorted(m.address for p in pools
                     for m in conn.load_balancer.members(p))
    monitors = [conn.load_balancer.get_health_monitor(p.health_monitor_id)
                for p in pools if p.health_monitor_id]
    policies = [conn.load_balancer.get_l7_policy(ref['id'])
                for listener in listeners for ref in listener.l7_policies]
    rules = sorted((r.type, r.compare_type, r.rule_value)
                   for p in policies for r in conn.load_balancer.l7_rules(p))
    return {
        'lb': (lb.name, lb.description, sorted(lb.tags or []),
               lb.vip_address, lb.provisioning_status),
        'listeners': [(x.name, x.protocol, x.protocol_port,
                       x.connection_limit) for x in listeners],
        'pools': [(p.name, p.protocol, p.lb_algorithm,
                   (p.session_persistence or {}).get('type'))
                  for p in pools],
        'members': members,
        'monitors': [(m.type, m.delay, m.timeout, m.max_retries, m.url_path)
                     for m in monitors],
        'policies': [(p.name, p.action, p.redirect_url) for p in policies],
        'rules': rules}


def test_a_load_balancer_moves_with_its_servers(tmp_path, migration):
    src, dst = migration.source.conn, migration.target.conn
    env = migration.env
    lap = laps()
    try:
        made = _build_source(src, migration.source.project_id)
        lap('source built')
        # The target's own load balancer of that name, on its own network.
        own_net = dst.network.create_network(name='their-net')
        own_subnet = dst.network.create_subnet(
            name='their-subnet', network_id=own_net.id, ip_version=4,
            cidr='10.59.0.0/24')
        theirs = dst.load_balancer.create_load_balancer(
            name=LB, vip_subnet_id=own_subnet.id,
            description="the target's own")
        theirs = _active(dst, theirs.id)

        resources = tmp_path / 'resources.yml'
        resources.write_text(yaml.safe_dump(
            {'load_balancers': [{'name': LB}]}))
        out = tmp_path / 'out'
        run([BIN / 'downpour', '--os-cloud', 'src', 'export', resources,
             out], env)
        lap('export')
        manifest = yaml.safe_load((out / 'manifest.yml').read_text())
        exported = {r['type'] for r in manifest['resources']}
        assert {'load_balancer', 'listener', 'pool', 'member',
                'health_monitor', 'l7_policy', 'server',
                'floating_ip'} <= exported
        # Octavia's VIP port is not a port of the export.
        assert made['lb'].vip_port_id not in {
            r['old_id'] for r in manifest['resources']}

        # The check before the import: Octavia's quotas counted, the
        # target's load balancer of that name named (exit 1: a clash).
        checked = run([BIN / 'downpour', '--os-cloud', 'dst', 'check', '-f',
                       'json', out], env, check=False)
        assert checked.returncode == 1, checked.stderr[-3000:]
        rows = {row['Check']: row for row in json.loads(checked.stdout)}
        assert (rows['load balancers']['Needed'],
                rows['load balancer members']['Needed'],
                rows['load balancer L7 rules']['Needed']) == (1, 2, 1)
        assert theirs.id in rows['name clash']['Verdict']
        lap('check')

        playbook = [BIN / 'ansible-playbook', out / 'playbook.yml',
                    '-e', 'cloud=dst', '-e',
                    '{"network_map": {"public": "ext-net"}}']
        run(playbook, env)
        lap('import')

        lbs = {lb.id: lb for lb in dst.load_balancer.load_balancers(
            project_id=migration.target.project_id)}
        assert len(lbs) == 2
        new_id, = [i for i in lbs if i != theirs.id]
        want = _shape(src, made['lb'].id)
        got = _shape(dst, new_id)
        new_addresses = sorted(
            next(dst.network.ports(device_id=s.id)).fixed_ips[0][
                'ip_address'] for s in dst.compute.servers())
        assert got['members'] == new_addresses
        assert dict(got, members=None) == dict(want, members=None)
        assert got['lb'][3] == VIP
        # The target's own, untouched.
        theirs_now = dst.load_balancer.get_load_balancer(theirs.id)
        assert (theirs_now.description, theirs_now.listeners,
                theirs_now.pools) == ("the target's own", [], [])
        # The floating IP on the new VIP port, listed with the others.
        new_lb = lbs[new_id]
        fip, = [f for f in dst.network.ips(
            project_id=migration.target.project_id)
            if f.port_id == new_lb.vip_port_id]
        with open(out / 'addresses.csv', newline='') as stream:
            rows = list(csv.reader(stream))[1:]
        assert [made['fip'].floating_ip_address,
                fip.floating_ip_address] in [row[:2] for row in rows]

        again = run(playbook, env)
        lap('import again')
        assert recap_changed(again.stdout) == 0
    finally:
        _delete_lbs(src)
        _delete_lbs(dst)

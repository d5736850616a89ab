"""Load balancers at export: everything on one comes with it, and always
the servers its members are; a server brings the load balancers that hold
it only when asked; a floating IP on the VIP names the load balancer, and
Octavia's VIP port is never a port of the export; a listener's or pool's
certificates in Barbican come with it, and one that is not the project's
stops the export."""

import pytest
import yaml

from downpour import export, render
from downpour.errors import ResolveError
from downpour.importer import definitions
from downpour.resourcefile import Entry
from tests.unit.fakecloud import PROJECT_ID
from tests.unit.resources import sample

LB = 'bbbbbbbb-0000-4000-8000-000000000001'
VIP_PORT = 'aaaaaaaa-0000-4000-8000-0000000000c1'
POOL = 'bbbbbbbb-0000-4000-8000-000000000002'
SORRY = 'bbbbbbbb-0000-4000-8000-000000000003'
LISTENER = 'bbbbbbbb-0000-4000-8000-000000000004'
MONITOR = 'bbbbbbbb-0000-4000-8000-000000000005'
POLICY = 'bbbbbbbb-0000-4000-8000-000000000006'
MEMBERS = ('bbbbbbbb-0000-4000-8000-0000000000a1',
           'bbbbbbbb-0000-4000-8000-0000000000a2',
           'bbbbbbbb-0000-4000-8000-0000000000a3')
VIP_FIP = 'dddddddd-dddd-4ddd-8ddd-ddddddddddd3'


def _lb(**extra):
    return dict({
        'id': LB, 'name': 'shop-lb', 'description': 'front door',
        'admin_state_up': True, 'tags': ['shop'], 'project_id': PROJECT_ID,
        'provisioning_status': 'ACTIVE', 'operating_status': 'ONLINE',
        'vip_address': '10.20.0.60', 'vip_network_id': sample.NET,
        'vip_subnet_id': sample.SUBNET, 'vip_port_id': VIP_PORT,
        'flavor_id': 'f1', 'availability_zone': 'az1',
        'provider': 'amphora', 'listeners': [{'id': LISTENER}],
        'pools': [{'id': POOL}, {'id': SORRY}]}, **extra)


def _pool(id_, name, members, monitor=None, **extra):
    return dict({
        'id': id_, 'name': name, 'description': '', 'tags': [],
        'admin_state_up': True, 'protocol': 'HTTP',
        'lb_algorithm': 'ROUND_ROBIN', 'tls_enabled': False,
        # Octavia's defaults, even without TLS.
        'tls_versions': ['TLSv1.2'], 'alpn_protocols': ['http/1.1'],
        'session_persistence': {'type': 'HTTP_COOKIE', 'cookie_name': None},
        'loadbalancers': [{'id': LB}], 'listeners': [],
        'members': [{'id': m} for m in members], 'healthmonitor_id': monitor,
        'project_id': PROJECT_ID}, **extra)


def _member(id_, address, subnet=sample.SUBNET):
    return {'id': id_, 'name': '', 'address': address, 'protocol_port': 80,
            'weight': 1, 'backup': False, 'monitor_address': None,
            'monitor_port': None, 'subnet_id': subnet, 'tags': [],
            'admin_state_up': True, 'project_id': PROJECT_ID}


def _listener(**extra):
    return dict({
        'id': LISTENER, 'name': 'shop-http', 'description': '', 'tags': [],
        'admin_state_up': True, 'protocol': 'HTTP', 'protocol_port': 80,
        'connection_limit': -1, 'timeout_client_data': 50000,
        'timeout_member_connect': 5000, 'timeout_member_data': 50000,
        'timeout_tcp_inspect': 0, 'allowed_cidrs': None,
        'insert_headers': {'X-Forwarded-For': 'true'},
        'tls_versions': ['TLSv1.2'], 'default_pool_id': POOL,
        'default_tls_container_ref': None, 'sni_container_refs': [],
        'loadbalancers': [{'id': LB}], 'project_id': PROJECT_ID}, **extra)


def register(cloud, listener=None, pool=None):
    """The sample project with a load balancer in front of web-1 and
    web-2, and a member outside the project."""
    sample.register(cloud)
    ports = sample.ports() + [{
        'id': VIP_PORT, 'name': 'octavia-lb-' + LB, 'network_id': sample.NET,
        'device_id': 'lb-' + LB, 'device_owner': 'Octavia',
        'fixed_ips': [{'subnet_id': sample.SUBNET,
                       'ip_address': '10.20.0.60'}],
        'mac_address': 'fa:16:3e:00:00:60', 'project_id': PROJECT_ID,
        'security_groups': [], 'created_at': '2026-01-01T00:00:05Z'}]
    cloud.get('network', '/v2.0/ports', json={'ports': ports})
    cloud.get('network', '/v2.0/floatingips', json={'floatingips': (
        sample.floating_ips() + [{
            'id': VIP_FIP, 'floating_ip_address': '203.0.113.60',
            'floating_network_id': sample.PUBLIC_NET, 'port_id': VIP_PORT,
            'fixed_ip_address': '10.20.0.60', 'status': 'ACTIVE',
            'router_id': sample.ROUTER, 'description': 'shop',
            'tags': [], 'project_id': PROJECT_ID}])})
    lbaas = {
        '/lbaas/loadbalancers': {'loadbalancers': [_lb()]},
        '/lbaas/pools': {'pools': [
            pool or _pool(POOL, 'shop-pool', MEMBERS, MONITOR),
            _pool(SORRY, 'sorry', [], session_persistence=None)]},
        '/lbaas/listeners': {'listeners': [listener or _listener()]},
        '/lbaas/healthmonitors': {'healthmonitors': [{
            'id': MONITOR, 'name': 'hm', 'type': 'HTTP', 'delay': 5,
            'timeout': 3, 'max_retries': 3, 'max_retries_down': 3,
            'http_method': 'GET', 'url_path': '/health',
            'expected_codes': '200', 'domain_name': None,
            'http_version': 1.1, 'tags': [], 'admin_state_up': True,
            'pools': [{'id': POOL}], 'project_id': PROJECT_ID}]},
        '/lbaas/l7policies': {'l7policies': [{
            'id': POLICY, 'name': 'sorry-page', 'description': '',
            'tags': [], 'admin_state_up': True,
            'action': 'REDIRECT_TO_POOL', 'position': 1,
            'redirect_pool_id': SORRY, 'redirect_url': None,
            'listener_id': LISTENER, 'rules': [{'id': 'r1'}, {'id': 'r2'}],
            'project_id': PROJECT_ID}]},
        '/lbaas/l7policies/%s/rules' % POLICY: {'rules': [
            {'id': 'r2', 'type': 'PATH', 'compare_type': 'STARTS_WITH',
             'key': None, 'value': '/old', 'invert': False, 'tags': []},
            {'id': 'r1', 'type': 'HEADER', 'compare_type': 'EQUAL_TO',
             'key': 'X-Maintenance', 'value': 'on', 'invert': True,
             'tags': ['ops']}]},
        '/lbaas/pools/%s/members' % POOL: {'members': [
            _member(MEMBERS[0], '10.20.0.101'),
            _member(MEMBERS[1], '10.20.0.102'),
            _member(MEMBERS[2], '192.168.1.5', subnet=None)]},
        '/lbaas/flavors': {'flavors': [
            {'id': 'f1', 'name': 'small', 'enabled': True}]}}
    for path, answer in lbaas.items():
        cloud.get('load-balancer', path, json=answer)


def _resolve(cloud, entries, **options):
    exporter = export.Exporter(cloud.connect(), 'resources.yml', **options)
    return exporter, exporter.resolve(entries)


def _of(records, rtype):
    return [r for r in records if r.type == rtype]


def _items(records):
    text = render.render_playbook(records)
    play, = yaml.load(text, Loader=render.UnsafeLoader)  # noqa: S506
    return [item for key, value in play['vars'].items()
            if key.startswith('downpour_') and isinstance(value, list)
            for item in value]


def test_a_load_balancer_brings_everything_on_it_and_its_servers(lb_cloud):
    register(lb_cloud)
    exporter, records = _resolve(lb_cloud, [Entry('load_balancers',
                                                  name='shop-lb')])

    lb, = _of(records, 'load_balancer')
    assert lb.params == {'description': 'front door', 'tags': ['shop'],
                         'admin_state_up': True, 'vip_address': '10.20.0.60'}
    assert lb.info['provider'] == 'amphora'
    assert lb.refs['vip_subnet'].old_id == sample.SUBNET
    assert lb.refs['flavor'].name == 'small'
    assert lb.refs['availability_zone'].name == 'az1'
    assert {r.name for r in _of(records, 'pool')} == {'shop-pool', 'sorry'}
    pool, = [r for r in _of(records, 'pool') if r.name == 'shop-pool']
    # TLS settings only where TLS is on; what Octavia left unsaid, out.
    assert 'tls_versions' not in pool.params
    assert pool.params['session_persistence'] == {'type': 'HTTP_COOKIE'}
    listener, = _of(records, 'listener')
    assert listener.refs['default_pool'] is pool
    assert 'tls_versions' not in listener.params
    assert 'allowed_cidrs' not in listener.params
    # Its members' servers, always, with their ports.
    assert {r.name for r in _of(records, 'server')} == {'web-1', 'web-2'}
    members = {r.params['address']: r for r in _of(records, 'member')}
    assert members['10.20.0.101'].refs['port'].old_id == sample.PORT_1
    assert members['10.20.0.101'].refs['server'].name == 'web-1'
    assert members['10.20.0.101'].refs['subnet'].old_id == sample.SUBNET
    assert 'port' not in members['192.168.1.5'].refs
    assert any('192.168.1.5 is on no port of an exported server' in w
               for w in exporter.warnings)
    monitor, = _of(records, 'health_monitor')
    assert (monitor.params['monitor_type'], monitor.params['http_version'],
            monitor.refs['pool']) == ('HTTP', 1.1, pool)
    policy, = _of(records, 'l7_policy')
    assert policy.refs['redirect_pool'].name == 'sorry'
    assert [r['value'] for r in policy.params['rules']] == ['on', '/old']
    # Octavia's VIP port is never a port of the export; the floating IP
    # on it names the load balancer.
    assert VIP_PORT not in {r.old_id for r in _of(records, 'port')}
    fip, = [r for r in _of(records, 'floating_ip') if r.old_id == VIP_FIP]
    assert fip.refs['vip_of'] is lb and 'port' not in fip.refs
    assert fip.params['fixed_ip_address'] == '10.20.0.60'
    # Made after what it needs.
    order = [r.type for r in records]
    assert order.index('load_balancer') < order.index('pool') < \
        order.index('listener') < order.index('l7_policy')
    assert order.index('server') < order.index('member')


def test_its_items_hold_what_their_types_declare(lb_cloud):
    register(lb_cloud)
    _, records = _resolve(lb_cloud, [Entry('load_balancers',
                                           name='shop-lb')])
    items = _items(records)
    by_key = {item['id']: item for item in items}
    octavia_types = {'load_balancer', 'pool', 'listener', 'member',
                     'health_monitor', 'l7_policy', 'load_balancer_flavor',
                     'load_balancer_availability_zone'}
    assert octavia_types <= {item['type'] for item in items}
    for item in items:
        declared = definitions.BY_NAME[item['type']]
        assert not set(item) - set(definitions.HEAD) - set(declared.fields)
        for ref in declared.refs:
            for key in ref.keys(item):
                assert by_key[key]['type'] in ref.types
    lb, = [i for i in items if i['type'] == 'load_balancer']
    assert lb['vip_address'] == '10.20.0.60' and lb['provider'] == 'amphora'
    vip_fip, = [i for i in items if i.get('vip_of')]
    assert vip_fip['vip_of'] == LB


def test_a_server_brings_its_load_balancers_only_when_asked(lb_cloud):
    register(lb_cloud)
    _, records = _resolve(lb_cloud, [Entry('servers', name='web-1')])
    assert _of(records, 'load_balancer') == []
    assert not any('lbaas' in r.url for r in lb_cloud.history)

    _, records = _resolve(lb_cloud, [Entry('servers', name='web-1')],
                          with_load_balancers=True)
    assert [r.name for r in _of(records, 'load_balancer')] == ['shop-lb']
    # And with it the other server of its pool.
    assert {r.name for r in _of(records, 'server')} == {'web-1', 'web-2'}


def _barbican(cloud):
    from tests.unit.barbican import FakeBarbican
    barbican = FakeBarbican(cloud)
    cert = barbican.add_secret('shop-cert', b'-----BEGIN CERTIFICATE-----',
                               'text/plain', secret_type='certificate')
    key = barbican.add_secret('shop-key', b'-----BEGIN PRIVATE KEY-----',
                              'text/plain', secret_type='private')
    container = barbican.add_container('shop-tls', [cert, key],
                                       type_='certificate',
                                       names=['certificate', 'private_key'])
    ca = barbican.add_secret('client-ca', b'-----BEGIN CERTIFICATE-----',
                             'text/plain', secret_type='certificate')
    return barbican, container, ca


def test_a_listener_brings_its_certificates_from_barbican(lb_cloud):
    barbican, container, ca = _barbican(lb_cloud)
    href = barbican.containers[container]['container_ref']
    ca_href = barbican.secrets[ca]['secret_ref']
    register(lb_cloud, listener=_listener(
        protocol='TERMINATED_HTTPS', protocol_port=443,
        default_tls_container_ref=href, sni_container_refs=[href],
        client_ca_tls_container_ref=ca_href, client_authentication='OPTIONAL',
        tls_versions=['TLSv1.3']))
    _, records = _resolve(lb_cloud, [Entry('load_balancers',
                                           name='shop-lb')])
    listener, = _of(records, 'listener')
    assert listener.refs['default_tls_container'].old_id == container
    assert [r.old_id for r in listener.refs['sni_containers']] == [container]
    assert listener.refs['client_ca_tls_container'].old_id == ca
    assert (listener.params['tls_versions'],
            listener.params['client_authentication']) == (['TLSv1.3'],
                                                          'OPTIONAL')
    # The container (with its secrets) is exported before the listener.
    order = [r.old_id for r in records]
    assert order.index(container) < order.index(LISTENER)
    item, = [i for i in _items(records) if i['type'] == 'listener']
    assert item['default_tls_container'] == container
    assert item['sni_containers'] == [container]
    assert item['client_ca_tls_container'] == ca


def test_a_certificate_that_is_not_the_project_s_stops_the_export(
        lb_cloud):
    _barbican(lb_cloud)
    register(lb_cloud, pool=_pool(
        POOL, 'shop-pool', MEMBERS, MONITOR, tls_enabled=True,
        ca_tls_container_ref='http://127.0.0.1:19311/v1/secrets/'
                             '0b0b0b0b-0000-4000-8000-000000000000'))
    with pytest.raises(ResolveError, match=r"pool 'shop-pool' .*refers in "
                       r'ca_tls_container_ref to .*0b0b0b0b.*, which is not '
                       r"among the project's secrets and containers"):
        _resolve(lb_cloud, [Entry('load_balancers', name='shop-lb')])


def test_a_vip_port_does_not_disturb_a_network_export(lb_cloud):
    register(lb_cloud)
    _, records = _resolve(lb_cloud, [Entry('networks', name='app-net')])
    assert VIP_PORT not in {r.old_id for r in records}
    assert _of(records, 'load_balancer') == []

"""The import engine: load balancers and what is on them, in the fake
target (tests/unit/importer/target.py) with a fake Octavia
(tests/unit/importer/octavia.py) that refuses any change to a load
balancer that is not ACTIVE, as Octavia does."""

import pytest

from downpour import importer as dr
from downpour.importer import octavia as octavia_home
from tests.unit.importer import items
from tests.unit.importer.octavia import Octavia
from tests.unit.importer.target import Target
from tests.unit.importer.test_engine import Files


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(octavia_home, 'POLL', 0)


@pytest.fixture
def files(tmp_path):
    return Files(tmp_path)


@pytest.fixture
def target(lb_cloud):
    return Target(lb_cloud)


@pytest.fixture
def octavia(lb_cloud, target):
    return Octavia(lb_cloud, target)


def run(cloud, resources, files, check_mode=False, parallel=4, **options):
    journal = dr.Journal(str(files.journal))
    importer = dr.Importer(cloud.connect(), journal=journal,
                           check_mode=check_mode, parallel=parallel,
                           **options)
    try:
        importer.run(resources)
    finally:
        journal.write_map(str(files.uuids))
    return importer


class Shop:
    """Two servers' ports on a subnet the import makes, behind a load
    balancer with the source's VIP address: an HTTP listener, a pool of
    both, a health monitor and an L7 redirect policy with two rules."""

    def __init__(self):
        self.net = items.network('shop-net')
        self.sub = items.subnet('shop-subnet', self.net)
        self.ports = [items.port('web-%d' % n, self.net,
                                 fixed=[(self.sub, '10.20.0.%d' % (10 + n))])
                      for n in (1, 2)]
        self.flavor = items.lb_flavor('small')
        self.lb = items.load_balancer('shop-lb', self.net, self.sub,
                                      address='10.20.0.50',
                                      flavor_=self.flavor, tags=['shop'])
        self.pool = items.pool('shop-pool', self.lb)
        self.members = [items.member(self.pool, '10.20.0.%d' % (10 + n),
                                     port_=port, sub=self.sub,
                                     monitor_address='10.20.0.%d' % (10 + n))
                        for n, port in zip((1, 2), self.ports, strict=True)]
        self.monitor = items.health_monitor(self.pool)
        self.listener = items.listener('shop-http', self.lb, self.pool,
                                       timeout_client_data=50000)
        self.policies = [
            items.l7_policy('old-shop', self.listener, position=2, rules=[
                items.l7_rule('/old'), items.l7_rule(
                    'shop.example', compare_type='EQUAL_TO',
                    rule_type='HOST_NAME', tags=['legacy'])]),
            items.l7_policy('first', self.listener, position=1,
                            rules=[items.l7_rule('/first')])]

    def all(self):
        return [self.net, self.sub, *self.ports, self.flavor, self.lb,
                self.pool, *self.members, self.monitor, self.listener,
                *self.policies]


@pytest.fixture
def shop():
    return Shop()


def _only(store):
    found, = store.values()
    return found


def test_a_load_balancer_is_made_whole_one_change_at_a_time(
        lb_cloud, target, octavia, files, shop):
    look = run(lb_cloud, shop.all(), files, check_mode=True)
    assert octavia.writes() == []
    assert shop.lb['id'] in look.pending

    made = run(lb_cloud, shop.all(), files)

    # Octavia refused nothing: every change waited for ACTIVE.
    assert octavia.refused == []
    lb = _only(octavia.lbs)
    assert lb['provisioning_status'] == 'ACTIVE'
    assert (lb['name'], lb['vip_address'], lb['tags'], lb['flavor_id']) == \
        ('shop-lb', '10.20.0.50', ['shop'], 'f-small')
    assert lb['vip_subnet_id'] == made.ids[shop.sub['id']]
    # The provider is the target's own: never sent.
    assert 'provider' not in octavia.bodies('POST', '/loadbalancers')[0][
        'loadbalancer']
    pool = _only(octavia.pools)
    assert pool['loadbalancer_id'] == lb['id']
    listener = _only(octavia.listeners)
    assert (listener['default_pool_id'], listener['protocol_port'],
            listener['timeout_client_data']) == (pool['id'], 80, 50000)
    # Each member at its new port's address, on the new subnet.
    addresses = {ip['ip_address'] for port_item in shop.ports
                 for ip in target.ports[made.ids[port_item['id']]][
                     'fixed_ips']}
    assert {m['address'] for m in octavia.members.values()} == addresses
    assert {m['monitor_address'] for m in octavia.members.values()} == \
        addresses
    assert {m['subnet_id'] for m in octavia.members.values()} == \
        {made.ids[shop.sub['id']]}
    monitor = _only(octavia.monitors)
    assert (monitor['type'], monitor['pool_id'], monitor['url_path']) == \
        ('HTTP', pool['id'], '/health')
    # The policies in the source's order, each with its rules.
    policies = sorted(octavia.policies.values(),
                      key=lambda p: p['position'])
    assert [p['name'] for p in policies] == ['first', 'old-shop']
    rules = {(r['l7policy_id'], r['value']) for r in octavia.rules.values()}
    assert rules == {(policies[0]['id'], '/first'),
                     (policies[1]['id'], '/old'),
                     (policies[1]['id'], 'shop.example')}
    rows = {(row[0], row[1]) for row in files.journal_rows()}
    assert {('load balancer', 'shop-lb'), ('pool', 'shop-pool'),
            ('listener', 'shop-http'), ('member', ''),
            ('health monitor', 'hm'), ('l7 policy', 'first'),
            ('l7 policy', 'old-shop')} <= rows
    assert ('listener', 'shop-http', shop.listener['id'],
            listener['id']) in {tuple(r) for r in files.uuids_rows()}

    octavia.mark()
    again = run(lb_cloud, shop.all(), files)
    assert octavia.writes() == []
    assert again.created == []
    assert not again.changed


def test_a_run_stopped_half_way_goes_on_with_the_load_balancer(
        lb_cloud, target, octavia, files, shop, monkeypatch):
    # The load balancer never gets ACTIVE within this run's wait.
    octavia.pending = 1000
    monkeypatch.setattr(octavia_home, 'WAIT', 0)
    with pytest.raises(dr.ImportFailed, match=r"load balancer 'shop-lb' "
                       r'\(source ID .*\): the target load balancer .* is '
                       r'still PENDING_CREATE after 0 s'):
        run(lb_cloud, shop.all(), files)
    first = _only(octavia.lbs)
    assert octavia.pools == {}

    octavia._left[first['id']] = 1
    monkeypatch.setattr(octavia_home, 'WAIT', 900)
    octavia.pending = 2
    run(lb_cloud, shop.all(), files)
    # The same load balancer, found by the journal, finished.
    assert list(octavia.lbs) == [first['id']]
    assert len(octavia.pools) == len(octavia.listeners) == 1
    assert len(octavia.members) == 2


def test_an_object_in_error_is_named_and_replaced_by_the_next_run(
        lb_cloud, target, octavia, files, shop):
    octavia.breaks.add('shop-http')
    with pytest.raises(dr.ImportFailed, match=r"listener 'shop-http' "
                       r'\(source ID .*\): the target load balancer .* is '
                       r'ERROR'):
        run(lb_cloud, shop.all(), files)
    broken = _only(octavia.listeners)
    assert broken['provisioning_status'] == 'ERROR'
    # As Octavia lets a tenant do after an ERROR: set it back, retry.
    _only(octavia.lbs)['provisioning_status'] = 'ACTIVE'
    octavia.breaks.clear()

    run(lb_cloud, shop.all(), files)
    listener = _only(octavia.listeners)
    assert listener['id'] != broken['id']
    assert listener['provisioning_status'] == 'ACTIVE'


def test_a_load_balancer_of_ours_in_error_is_made_again_whole(
        lb_cloud, target, octavia, files, shop):
    first = run(lb_cloud, shop.all(), files)
    old_lb = first.ids[shop.lb['id']]
    old_listener = first.ids[shop.listener['id']]
    octavia.lbs[old_lb]['provisioning_status'] = 'ERROR'

    again = run(lb_cloud, shop.all(), files)

    # Deleted (with everything on it), waited for until gone (404), and
    # made again.
    assert [(m, p) for m, p, _ in octavia.refused] == [
        ('GET', '/loadbalancers/%s' % old_lb)]
    lb = _only(octavia.lbs)
    assert lb['id'] == again.ids[shop.lb['id']] != old_lb
    assert lb['vip_address'] == '10.20.0.50'
    # Everything on it made again, on the new one, and recorded.
    assert _only(octavia.listeners)['id'] not in (old_listener,)
    assert _only(octavia.listeners)['loadbalancer_id'] == lb['id']
    assert len(octavia.members) == 2 and len(octavia.policies) == 2
    assert files.uuids_map()[('listener', shop.listener['id'])] == \
        _only(octavia.listeners)['id']
    octavia.mark()
    run(lb_cloud, shop.all(), files)
    assert octavia.writes() == []


def test_a_same_named_load_balancer_of_the_target_is_never_taken(
        lb_cloud, target, octavia, files, shop):
    theirs = octavia.add_lb('shop-lb', description='production')
    before = dict(theirs)

    look = run(lb_cloud, shop.all(), files, check_mode=True)
    assert any('shop-lb' in line and theirs['id'] in line
               for line in look.clashes)
    with pytest.raises(dr.ImportFailed, match='name_clash is stop'):
        run(lb_cloud, shop.all(), files, name_clash='stop')
    assert octavia.writes() == []

    # adopt: never for a load balancer; a new one beside it.
    made = run(lb_cloud, shop.all(), files, name_clash='adopt')
    assert made.ids[shop.lb['id']] != theirs['id']
    assert octavia.lbs[theirs['id']] == before
    assert len(octavia.lbs) == 2


def test_a_policy_of_ours_ends_with_exactly_the_exported_rules(
        lb_cloud, target, octavia, files, shop):
    made = run(lb_cloud, shop.all(), files)
    policy = octavia.policies[made.ids[shop.policies[0]['id']]]
    rules = {r['value']: r for r in octavia.rules.values()
             if r['l7policy_id'] == policy['id']}
    # Someone adds a rule, drops another and retags the third.
    del octavia.rules[rules['/old']['id']]
    octavia.rules['extra'] = {'id': 'extra', 'l7policy_id': policy['id'],
                              'type': 'PATH', 'compare_type': 'REGEX',
                              'value': '.*', 'invert': False, 'tags': []}
    rules['shop.example']['tags'] = []
    policy['name'] = 'renamed'

    octavia.mark()
    run(lb_cloud, shop.all(), files)
    assert octavia.refused == []
    now = {(r['value'], tuple(r['tags'])) for r in octavia.rules.values()
           if r['l7policy_id'] == policy['id']}
    assert now == {('/old', ()), ('shop.example', ('legacy',))}
    assert policy['name'] == 'old-shop'
    # The position is never asked for again (Octavia renumbers).
    puts = [b['l7policy'] for b in octavia.bodies('PUT', '/l7policies/')
            if 'l7policy' in b]
    assert puts == [{'name': 'old-shop'}]


def test_a_floating_ip_on_the_vip_goes_to_the_new_vip_port(
        lb_cloud, target, octavia, files, shop):
    public = items.external('public')
    router = items.router('shop-router', gateway=public,
                          interfaces=[(shop.sub, None)])
    fip = items.floating_ip('192.0.2.40', public)
    fip.update(vip_of=shop.lb['id'], fixed_ip_address='10.20.0.50')
    resources = [public, router, *shop.all(), fip]

    made = run(lb_cloud, resources, files)

    new = target.fips[made.ids[fip['id']]]
    lb = _only(octavia.lbs)
    assert (new['port_id'], new['fixed_ip_address']) == \
        (lb['vip_port_id'], '10.20.0.50')
    assert target.ports[lb['vip_port_id']]['device_owner'] == 'Octavia'
    assert made.rows[fip['id']]['port'] == lb['vip_port_id']
    target.mark()
    again = run(lb_cloud, resources, files)
    assert again.created == [] and target.writes() == []


def test_a_member_by_address_keeps_it(lb_cloud, target, octavia, files,
                                      shop):
    outside = items.member(shop.pool, '192.168.7.7', protocol_port=8080)
    run(lb_cloud, shop.all() + [outside], files)
    assert '192.168.7.7' in {m['address'] for m in octavia.members.values()}


def test_the_flavor_is_chosen_like_a_volume_type(lb_cloud, target, octavia,
                                                 files, shop):
    shop.flavor['name'] = 'gold'
    look = run(lb_cloud, shop.all(), files, check_mode=True)
    assert "load balancer flavor 'gold' -> the target's default (it has " \
        'none of that name)' in look.choices
    look = run(lb_cloud, shop.all(), files, check_mode=True,
               lb_flavor_map={'gold': 'platinum'})
    assert look.unmatched == ["load balancer flavor 'gold': lb_flavor_map "
                              "names 'platinum', which the target does not "
                              'have']
    run(lb_cloud, shop.all(), files, lb_flavor_map={'gold': 'small'})
    assert _only(octavia.lbs)['flavor_id'] == 'f-small'


def test_the_zone_is_chosen_by_name_else_the_default(lb_cloud, target,
                                                     octavia, files, shop):
    zone = {'type': 'load_balancer_availability_zone',
            'id': 'lbz_' + items.old_id()[:8], 'name': 'az1'}
    shop.lb['availability_zone'] = zone['id']
    look = run(lb_cloud, [zone] + shop.all(), files, check_mode=True)
    assert "load balancer availability zone 'az1' -> 'az1' (same name)" in \
        look.choices
    look = run(lb_cloud, [zone] + shop.all(), files, check_mode=True,
               lb_az_map={'az1': ''})
    # "" in the map: the target's default, asked for by naming none.
    assert look.ids[zone['id']] == ''
    run(lb_cloud, [zone] + shop.all(), files)
    assert _only(octavia.lbs)['availability_zone'] == 'az1'


def test_a_listing_follows_octavia_s_pages_and_an_error_says_octavia_s_word(
        lb_cloud):
    base = lb_cloud.url('load-balancer', '/lbaas/pools')
    lb_cloud.mocker.get(base + '?project_id=p', json={
        'pools': [{'id': 'a', 'name': 'one'}],
        'pools_links': [{'rel': 'next', 'href': base + '?marker=a'}]})
    lb_cloud.mocker.get(base + '?marker=a', json={
        'pools': [{'id': 'b', 'name': 'two'}], 'pools_links': [
            {'rel': 'previous', 'href': base}]})
    conn = lb_cloud.connect()
    pools = octavia_home.listing(conn, '/lbaas/pools', 'pools',
                                 project_id='p')
    assert [(p.id, p.name) for p in pools] == [('a', 'one'), ('b', 'two')]

    lb_cloud.mocker.get(lb_cloud.url('load-balancer', '/lbaas/flavors'),
                        status_code=403, json={
                            'faultcode': 'Client', 'faultstring':
                            'Policy does not allow this request'})
    with pytest.raises(dr.ImportFailed, match=r'^listing flavors of the '
                       r'target: Octavia answered 403 to GET '
                       r'/lbaas/flavors: Policy does not allow this '
                       r'request$'):
        octavia_home.listing(conn, '/lbaas/flavors', 'flavors')


def test_what_a_killed_run_made_but_did_not_record_is_taken_not_doubled(
        lb_cloud, target, octavia, files, shop):
    first = run(lb_cloud, shop.all(), files)
    # As if the run had been killed between Octavia's answers and the
    # journal: the members, the health monitor and the listener are
    # there, unrecorded.
    lost = {'member', 'health monitor', 'listener', 'l7 policy'}
    rows = files.journal.read_text().splitlines()
    files.journal.write_text('\n'.join(
        [rows[0]] + [r for r in rows[1:]
                     if r.split(',')[0].strip('"') not in lost]) + '\n')
    before = (set(octavia.members), set(octavia.monitors),
              set(octavia.listeners))

    octavia.mark()
    again = run(lb_cloud, shop.all(), files)

    assert octavia.refused == []
    assert (set(octavia.members), set(octavia.monitors),
            set(octavia.listeners)) == before
    # Recorded now, as made by this import.
    assert again.ids[shop.listener['id']] == first.ids[shop.listener['id']]
    assert {again.ids[m['id']] for m in shop.members} == before[0]
    assert files.uuids_map()[('health monitor', shop.monitor['id'])] in \
        before[1]
    # L7 policies have no such key: made again (the window every type has,
    # of a resource made but not recorded).
    assert len(octavia.policies) == 4


def test_a_change_refused_as_immutable_is_asked_again(lb_cloud, target,
                                                      octavia, files, shop):
    octavia.immutable = 2
    run(lb_cloud, shop.all(), files)
    assert [status for _m, _p, status in octavia.refused
            if 'immutable' in status] and octavia.immutable == 0
    assert len(octavia.members) == 2 and len(octavia.listeners) == 1


def test_an_https_listener_gets_the_new_certificates_urls(
        lb_cloud, target, octavia, files, shop):
    import base64

    from tests.unit.barbican import FakeBarbican
    barbican = FakeBarbican(lb_cloud)
    cert = items.secret('shop-cert', 'text/plain', secret_type='certificate')
    key = items.secret('shop-key', 'text/plain', secret_type='private')
    tls = items.secret_container('shop-tls', [('certificate', cert),
                                              ('private_key', key)])
    payloads = {s['id']: {'payload_b64': base64.b64encode(b'PEM').decode(),
                          'content_type': 'text/plain'} for s in (cert, key)}
    shop.listener.update(protocol='TERMINATED_HTTPS', protocol_port=443,
                         default_tls_container=tls['id'],
                         sni_containers=[tls['id']])
    resources = [cert, key, tls] + shop.all()

    look = run(lb_cloud, resources, files, check_mode=True,
               payloads=payloads)
    assert shop.listener['id'] in look.pending
    run(lb_cloud, resources, files, payloads=payloads)

    made, = barbican.containers.values()
    listener = _only(octavia.listeners)
    assert listener['default_tls_container_ref'] == made['container_ref']
    assert listener['sni_container_refs'] == [made['container_ref']]
    octavia.mark()
    run(lb_cloud, resources, files, payloads=payloads)
    assert octavia.writes() == []

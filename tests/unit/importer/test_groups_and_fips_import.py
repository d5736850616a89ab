"""The import engine: server groups and floating IPs in the target
(tests/unit/importer/target.py), by the rules of ``Importer.sync``: a
resource is this import's own only when the journal records it; a server
group of the target's is never adopted; a floating IP has no name, so none
of the target's is ever a clash.  The address table is written from what
the look or the task found.
"""

import csv
import os

import pytest

from downpour.importer.floating_ip import FloatingIPs, write_addresses
from tests.unit.importer import items
from tests.unit.importer.target import OTHER_PROJECT, Target
from tests.unit.importer.test_engine import Files, dr, run


@pytest.fixture
def files(tmp_path):
    return Files(tmp_path)


@pytest.fixture
def target(fake_cloud):
    return Target(fake_cloud)


class App:
    """What the playbook lists for one server's port behind a router, with
    a floating IP on it and one spare."""

    def __init__(self):
        self.public = items.external('public')
        self.net = items.network('app-net')
        self.sub = items.subnet('app-subnet', self.net)
        self.router = items.router('app-router', gateway=self.public,
                                   interfaces=[(self.sub, None)])
        self.port = items.port('', self.net, fixed=[(self.sub,
                                                     '10.20.0.101')])
        self.fip = items.floating_ip(
            '192.0.2.20', self.public, port=self.port, fixed_ip='10.20.0.101',
            description='web-1 public', tags=('web', 'public'))
        self.spare = items.floating_ip('192.0.2.30', self.public,
                                       description='spare', tags=('spare',))

    def network_items(self):
        return [self.public, self.net, self.sub, self.router, self.port]

    def all(self):
        return self.network_items() + [self.fip, self.spare]


@pytest.fixture
def app():
    return App()


def _rows(path):
    with open(path, newline='', encoding='utf-8') as stream:
        return list(csv.reader(stream))


# -- server groups -------------------------------------------------------------

def test_a_group_is_made_once_with_its_policy_and_rules(fake_cloud, target,
                                                        files):
    group = items.server_group('web-group', rules={'max_server_per_host': 2})
    look = run(fake_cloud, [group], files, check_mode=True)
    assert (look.pending, target.writes()) == ([group['id']], [])

    made = run(fake_cloud, [group], files)
    new, = target.server_groups.values()
    assert made.ids[group['id']] == new['id']
    assert target.bodies('POST', '/os-server-groups') == [{'server_group': {
        'name': 'web-group', 'policy': 'anti-affinity',
        'rules': {'max_server_per_host': 2}}}]
    assert files.journal_rows() == [
        ['server group', 'web-group', group['id'], new['id'], 'created']]
    assert files.uuids_map() == {('server group', group['id']): new['id']}

    target.mark()
    again = run(fake_cloud, [group], files, check_mode=True)
    assert (again.pending, again.clashes, target.writes()) == ([], [], [])
    assert again.ids[group['id']] == new['id']


def test_a_group_without_rules_is_sent_none(fake_cloud, target, files):
    group = items.server_group('web-group', policy='soft-anti-affinity')
    run(fake_cloud, [group], files)
    assert target.bodies('POST', '/os-server-groups') == [{'server_group': {
        'name': 'web-group', 'policy': 'soft-anti-affinity'}}]


def test_the_targets_own_group_is_a_clash_and_never_adopted(
        fake_cloud, target, files):
    theirs = target.add_server_group('web-group', policy='anti-affinity',
                                     rules={'max_server_per_host': 2})
    group = items.server_group('web-group', rules={'max_server_per_host': 2})
    look = run(fake_cloud, [group], files, check_mode=True,
               name_clash='stop')
    clash, = look.clashes
    assert "server group 'web-group'" in clash and theirs['id'] in clash
    with pytest.raises(dr.ImportFailed, match='name_clash is stop'):
        run(fake_cloud, [group], files, name_clash='stop')
    assert list(target.server_groups) == [theirs['id']]

    # Even exactly alike, the target's group is not taken.
    made = run(fake_cloud, [group], files, name_clash='adopt')
    assert made.ids[group['id']] != theirs['id']
    assert 'never adopted' in made.clashes[0]
    assert len(target.server_groups) == 2
    assert theirs['members'] == []


def test_servers_are_made_into_their_new_group(fake_cloud, target, files,
                                               tmp_path):
    image = target.add_image('cirros', b'bytes')
    group = items.server_group('web-group', policy='soft-anti-affinity')
    servers = []
    for name in ('web-1', 'web-2'):
        server = items.server(name, 'flavor_001', image_key='img')
        server['server_group'] = group['id']
        servers.append(server)
    lone = items.server('lone', 'flavor_001', image_key='img')
    made = run(fake_cloud, [group] + servers + [lone], files,
               ids={'flavor_001': 'flavor-m1.tiny', 'img': image['id']})
    new_group = target.server_groups[made.ids[group['id']]]
    assert sorted(new_group['members']) == sorted(
        made.ids[s['id']] for s in servers)
    hints = {body['server']['name']: body.get('OS-SCH-HNT:scheduler_hints')
             for body in target.bodies('POST', '/servers')}
    assert hints == {'web-1': {'group': new_group['id']},
                     'web-2': {'group': new_group['id']}, 'lone': None}


def test_a_server_whose_group_is_missing_is_not_made(fake_cloud, target,
                                                     files):
    image = target.add_image('cirros', b'bytes')
    server = items.server('web-1', 'flavor_001', image_key='img')
    server['server_group'] = items.old_id()
    with pytest.raises(dr.ImportFailed, match='its server group'):
        run(fake_cloud, [server], files,
            ids={'flavor_001': 'flavor-m1.tiny', 'img': image['id']})
    assert target.servers == {}


# -- floating IPs ----------------------------------------------------------------

def test_floating_ips_are_allocated_associated_and_listed(fake_cloud, target,
                                                          files, app):
    look = run(fake_cloud, app.all(), files, check_mode=True)
    assert {app.fip['id'], app.spare['id']} <= set(look.pending)
    assert (look.rows_of(FloatingIPs), target.writes()) == ([], [])

    made = run(fake_cloud, app.all(), files)
    new_port, = [p for p in target.ports.values() if not p['device_id']]
    fip = target.fips[made.ids[app.fip['id']]]
    spare = target.fips[made.ids[app.spare['id']]]
    # On the external network chosen for the source's, on the new port with
    # the same fixed IP, in one request each; then the tags.  Side by side:
    # in any order.
    assert sorted(target.bodies('POST', '/floatingips'), key=lambda body:
                  body['floatingip']['description']) == [
        {'floatingip': {'floating_network_id': target.public['id'],
                        'description': 'spare'}},
        {'floatingip': {'floating_network_id': target.public['id'],
                        'description': 'web-1 public',
                        'port_id': new_port['id'],
                        'fixed_ip_address': '10.20.0.101'}}]
    assert (fip['port_id'], fip['fixed_ip_address']) == (new_port['id'],
                                                          '10.20.0.101')
    assert (spare['port_id'], spare['fixed_ip_address']) == (None, None)
    assert (sorted(fip['tags']), spare['tags']) == (['public', 'web'],
                                                    ['spare'])
    assert made.rows_of(FloatingIPs) == [
        {'old_address': '192.0.2.20', 'new_address': fip[
            'floating_ip_address'], 'fixed_ip': '10.20.0.101',
         'port': new_port['id'], 'old': app.fip['id'], 'new': fip['id']},
        {'old_address': '192.0.2.30',
         'new_address': spare['floating_ip_address'], 'fixed_ip': '',
         'port': '', 'old': app.spare['id'], 'new': spare['id']}]
    assert fip['floating_ip_address'] != spare['floating_ip_address']
    uuids = files.uuids_map()
    assert uuids[('floating ip', app.fip['id'])] == fip['id']
    assert uuids[('floating ip', app.spare['id'])] == spare['id']
    assert ['floating ip', '192.0.2.20', app.fip['id'], fip['id']] in \
        files.uuids_rows()

    # The look of a second run: nothing to do, the same table.
    target.mark()
    again = run(fake_cloud, app.all(), files, check_mode=True)
    assert (again.pending, target.writes()) == ([], [])
    assert again.rows_of(FloatingIPs) == made.rows_of(FloatingIPs)


def test_the_address_table_is_written_when_it_differs(tmp_path):
    path = tmp_path / 'addresses.csv'
    table = [{'old_address': '203.0.113.20', 'new_address': '198.51.100.7',
              'fixed_ip': '10.0.0.5', 'port': 'p-1', 'old': 'o-1',
              'new': 'n-1'}]
    assert not write_addresses(str(path), [])
    assert not path.exists()
    assert write_addresses(str(path), table)
    assert _rows(path) == [
        ['Old Address', 'New Address', 'Fixed IP', 'Port', 'Old', 'New'],
        ['203.0.113.20', '198.51.100.7', '10.0.0.5', 'p-1', 'o-1', 'n-1']]
    assert path.read_text().splitlines()[1] == \
        '"203.0.113.20","198.51.100.7","10.0.0.5","p-1","o-1","n-1"'
    assert os.stat(path).st_mode & 0o077 == 0
    assert not write_addresses(str(path), table)
    assert write_addresses(str(path), [dict(table[0], new='n-2')])
    assert _rows(path)[1][-1] == 'n-2'


def test_a_floating_ip_is_never_a_clash(fake_cloud, target, files, app):
    # The target holds the old address: that says nothing about it, even
    # when a clash would stop the import, or adopt.
    theirs = target.add_fip(target.public, address='192.0.2.20',
                            description='theirs')
    before = dict(theirs)
    look = run(fake_cloud, app.all(), files, check_mode=True,
               name_clash='stop')
    assert look.clashes == []
    made = run(fake_cloud, app.all(), files, name_clash='adopt')
    assert made.clashes == []
    assert theirs['id'] not in made.ids.values()
    assert target.fips[theirs['id']] == before
    assert len(target.fips) == 3


def test_one_of_ours_moved_or_retagged_is_put_back(fake_cloud, target,
                                                   files, app):
    made = run(fake_cloud, app.all(), files)
    ours = target.fips[made.ids[app.fip['id']]]
    port_id = ours['port_id']
    ours.update(port_id=None, fixed_ip_address=None, tags=['other'],
                description='changed')
    target.mark()
    look = run(fake_cloud, app.all(), files, check_mode=True)
    assert (look.pending, target.writes()) == ([app.fip['id']], [])
    run(fake_cloud, app.all(), files)
    assert (ours['port_id'], ours['fixed_ip_address'], ours['description'],
            sorted(ours['tags'])) == (port_id, '10.20.0.101',
                                      'web-1 public', ['public', 'web'])
    assert len(target.fips) == 2


def test_a_spare_one_given_a_port_since_keeps_it(fake_cloud, target, files,
                                                 app):
    made = run(fake_cloud, app.all(), files)
    spare = target.fips[made.ids[app.spare['id']]]
    spare.update(port_id='p-somewhere', fixed_ip_address='10.9.9.9')
    target.mark()
    again = run(fake_cloud, app.all(), files, check_mode=True)
    assert (again.pending, target.writes()) == ([], [])


def test_one_recorded_but_gone_is_allocated_again(fake_cloud, target, files,
                                                  app):
    made = run(fake_cloud, app.all(), files)
    target.fips.pop(made.ids[app.spare['id']])
    again = run(fake_cloud, app.all(), files)
    new = again.ids[app.spare['id']]
    assert new in target.fips and new != made.ids[app.spare['id']]
    # uuids.csv maps the old ID once, to the new one.
    assert files.uuids_map()[('floating ip', app.spare['id'])] == new


def test_the_look_waits_for_a_port_yet_to_be_made(fake_cloud, target, files,
                                                  app):
    look = run(fake_cloud, app.all(), files, check_mode=True)
    assert app.fip['id'] in look.pending
    assert target.writes() == []
    # A task given no ID for the port stops, naming it, and makes nothing.
    with pytest.raises(dr.ImportFailed, match='its port'):
        run(fake_cloud, [app.fip], files,
            ids={app.public['id']: target.public['id']})
    assert target.fips == {}


def test_a_port_the_network_cannot_reach_stops_with_neutrons_word(
        fake_cloud, target, files, app):
    # No router to the external network: Neutron refuses the association,
    # and nothing is allocated.
    app.router.pop('gateway')
    with pytest.raises(dr.ImportFailed, match='not reachable'):
        run(fake_cloud, app.network_items() + [app.fip], files)
    assert target.fips == {}


# -- on a network the import does not make (issue 21, item 10) ---------------

class Shared:
    """A server's port on a network shared with the project by another,
    which the import chooses and does not make: the source's fixed IP is
    not carried, the target gives the port an address of its own.  The
    network's owner joins it to the external network with a router of
    its own."""

    def __init__(self, target):
        self.net = target.add_network('common', project=OTHER_PROJECT,
                                      shared=True)
        self.subnet = target.add_subnet('common-subnet', self.net,
                                        cidr='10.30.0.0/24',
                                        gateway='10.30.0.1',
                                        project=OTHER_PROJECT)
        target.add_router('common-router', gateway=target.public,
                          subnets=[self.subnet], project_id=OTHER_PROJECT,
                          tenant_id=OTHER_PROJECT)
        self.public = items.external('public')
        self.common = dict(items.external('common'), external=False)
        self.port = items.port('', self.common)
        self.fip = items.floating_ip('192.0.2.40', self.public,
                                     port=self.port, fixed_ip='10.77.0.15',
                                     description='on common')

    def all(self):
        return [self.public, self.common, self.port, self.fip]


def test_one_on_a_network_not_made_goes_to_the_new_ports_own_address(
        fake_cloud, target, files):
    shared = Shared(target)

    made = run(fake_cloud, shared.all(), files)

    new_port = target.ports[made.ids[shared.port['id']]]
    own, = new_port['fixed_ips']
    assert own['subnet_id'] == shared.subnet['id']
    assert own['ip_address'] != '10.77.0.15'
    fip = target.fips[made.ids[shared.fip['id']]]
    assert (fip['port_id'], fip['fixed_ip_address']) == (
        new_port['id'], own['ip_address'])
    # In the one request, and in the table: where it went.
    body, = target.bodies('POST', '/floatingips')
    assert body['floatingip']['fixed_ip_address'] == own['ip_address']
    assert made.rows_of(FloatingIPs) == [
        {'old_address': '192.0.2.40',
         'new_address': fip['floating_ip_address'],
         'fixed_ip': own['ip_address'], 'port': new_port['id'],
         'old': shared.fip['id'], 'new': fip['id']}]

    # Again: nothing to put back, no request that changes anything.
    target.mark()
    look = run(fake_cloud, shared.all(), files, check_mode=True)
    assert (look.pending, target.writes()) == ([], [])
    assert look.rows_of(FloatingIPs) == made.rows_of(FloatingIPs)
    run(fake_cloud, shared.all(), files)
    assert target.writes() == []


def test_one_moved_off_the_new_ports_own_address_is_put_back(
        fake_cloud, target, files):
    shared = Shared(target)
    made = run(fake_cloud, shared.all(), files)
    fip = target.fips[made.ids[shared.fip['id']]]
    where = (fip['port_id'], fip['fixed_ip_address'])
    fip.update(port_id=None, fixed_ip_address=None)

    again = run(fake_cloud, shared.all(), files)

    assert (fip['port_id'], fip['fixed_ip_address']) == where
    assert target.bodies('PUT', '/floatingips/{id}') == [
        {'floatingip': {'port_id': where[0], 'fixed_ip_address': where[1]}}]
    # The table says where it is once put back.
    row, = again.rows_of(FloatingIPs)
    assert (row['port'], row['fixed_ip']) == where


def test_the_address_stands_for_the_source_s_as_best_the_port_can():
    class Port:
        def __init__(self, *fixed):
            self.fixed_ips = [{'subnet_id': s, 'ip_address': a}
                              for s, a in fixed]

    net = items.network('net')
    low = items.subnet('low', net, cidr='10.1.0.0/24')
    high = items.subnet('high', net, cidr='10.2.0.0/24')
    v6 = items.subnet('v6', net, cidr='fd00::/64', ip_version=6)
    port = items.port('', net, fixed=[(low, '10.1.0.5'), (high, '10.2.0.5'),
                                      (v6, None)])
    fip = items.floating_ip('192.0.2.50', items.external('public'),
                            port=port, fixed_ip='10.2.0.5')

    class Importer:
        conn = None
        ids = {low['id']: 'low-new', high['id']: 'high-new',
               v6['id']: 'v6-new'}

        @staticmethod
        def item(key):
            return {i['id']: i for i in (net, low, high, v6, port)}.get(key)

    kind = FloatingIPs(Importer())
    both = ('low-new', '10.1.0.5'), ('high-new', '10.2.0.5')
    # The source's own, carried by the import.
    assert kind.fixed_ip(fip, Port(*both)) == '10.2.0.5'
    # Else the port's on the subnet that held it.
    assert kind.fixed_ip(fip, Port(('v6-new', 'fd00::5'),
                                   ('low-new', '10.1.0.5'),
                                   ('high-new', '10.2.0.9'))) == '10.2.0.9'
    # Else its first IPv4 one (a network the import does not make).
    assert kind.fixed_ip(fip, Port(('v6-new', 'fd00::5'),
                                   ('other', '10.9.0.7'),
                                   ('else', '10.9.1.7'))) == '10.9.0.7'
    # None: for Neutron to say why it takes none.
    assert kind.fixed_ip(fip, Port(('v6-new', 'fd00::5'))) is None


def test_one_that_fails_does_not_stop_the_others_and_is_named(
        fake_cloud, target, files, app):
    # A port no router joins to the external network: Neutron refuses its
    # floating IP.  It comes first; the others are made all the same.
    alone = items.network('alone-net')
    alone_sub = items.subnet('alone-subnet', alone, cidr='10.40.0.0/24',
                             gateway='10.40.0.1')
    alone_port = items.port('', alone, fixed=[(alone_sub, '10.40.0.9')])
    doomed = items.floating_ip('192.0.2.60', app.public, port=alone_port,
                               fixed_ip='10.40.0.9')
    listed = [app.public, alone, alone_sub, alone_port] + \
        app.network_items()[1:] + [doomed, app.fip, app.spare]

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, listed, files)

    message = str(failed.value)
    assert "floating ip '192.0.2.60' (source ID %s)" % doomed['id'] in message
    assert 'not reachable' in message
    assert app.fip['id'] not in message and app.spare['id'] not in message
    made = {(f['description'], f['fixed_ip_address'])
            for f in target.fips.values()}
    assert made == {('web-1 public', '10.20.0.101'), ('spare', None)}
    # Both are recorded.
    uuids = files.uuids_map()
    assert {('floating ip', app.fip['id']),
            ('floating ip', app.spare['id'])} <= set(uuids)
    assert ('floating ip', doomed['id']) not in uuids


def test_a_port_given_by_id_alone_is_read_for_its_address(fake_cloud, target,
                                                          files, app):
    made = run(fake_cloud, app.all(), files)
    target.mark()

    run(fake_cloud, [app.fip], files,
        ids={key: made.ids[key] for key in (app.public['id'],
                                            app.port['id'])})

    assert target.calls('GET', '/ports/{id}') == [('GET', '/ports/{id}')]
    assert target.writes() == []


def test_one_waits_for_its_port_and_the_routers_on_its_network(fake_cloud,
                                                               app):
    # Neutron associates it only once a router joins the port's subnet to
    # the external network; a router elsewhere is not waited for.
    other_net = items.network('other-net')
    other_sub = items.subnet('other-subnet', other_net, cidr='10.50.0.0/24',
                             gateway='10.50.0.1')
    elsewhere = items.router('elsewhere', gateway=app.public,
                             interfaces=[(other_sub, None)])
    importer = dr.Importer(fake_cloud.connect())
    importer.items = app.all() + [other_net, other_sub, elsewhere]
    kind = FloatingIPs(importer)

    assert set(kind.needs(app.fip)) == {app.public['id'], app.port['id'],
                                        app.router['id']}
    assert kind.needs(app.spare) == (app.public['id'],)

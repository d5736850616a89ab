"""The import engine (downpour.importer: the Importer, its kinds and the
Journal) and the module the playbook runs it with, as Ansible runs it,
against a stateful fake target project
(tests/unit/importer/target.py); the items are built as the playbook lists
them (tests/unit/importer/items.py).

What the tests check is what a user would: the target's resources, the
requests made, journal.csv and uuids.csv.  The rules are those of issue 12:
a target resource is this import's own only when the journal records it
as created; a name proves nothing; what is not ours is never narrowed.

The module is tested as an export ships it: the collection written by
downpour.ansiblefiles, imported by the name Ansible gives it.
"""

import csv
import functools
import hashlib
import importlib
import json
import os
import stat
import subprocess
import sys
import tempfile
import threading

import pytest
import yaml

from downpour import ansiblefiles, export, render
from downpour import importer as dr
from downpour.importer import server as server_home
from downpour.importer.network import Networks
from downpour.resourcefile import Entry
from downpour.resources import BY_TYPE
from tests.unit.fakecloud import FakeCloud
from tests.unit.importer.items import (
    external,
    flavor,
    group,
    image,
    keypair,
    network,
    old_id,
    port,
    router,
    rule,
    server,
    subnet,
    tcp,
    volume,
)
from tests.unit.importer.target import NOVA, OTHER_PROJECT, Target
from tests.unit.resources import sample

# The playbook's lists as render writes them: those only the look takes
# (chosen, never made), then those of a task each, with their types.
LOOKED_AT = tuple('downpour_' + key for key in render.CHOSEN)
# Each task: its key, its lists and their types.
TASKS = tuple((key, tuple('downpour_' + name for name, _, _ in lists),
               tuple(sorted(t.type for t in BY_TYPE.values()
                            if t.definition.list in [name for name, _, _
                                                     in lists])))
              for key, lists in render.TASKS)
EVERY_LIST = LOOKED_AT + tuple(name for _, lists, _ in TASKS
                               for name in lists)

# What the sample's captures and volume hold (the image's bytes are
# sample.IMAGE_BYTES, which its checksum in the export is of).
SNAPSHOT_BYTES = b'the disk of web-1\n' * 500
VOLUME_BYTES = b'web-data contents\n' * 500


# -- running it ----------------------------------------------------------------


class Files:
    """journal.csv and uuids.csv of one playbook directory."""

    def __init__(self, directory):
        self.journal = directory / 'journal.csv'
        self.uuids = directory / 'uuids.csv'

    @staticmethod
    def _read(path):
        with open(path, newline='', encoding='utf-8') as stream:
            return list(csv.reader(stream))

    def journal_rows(self):
        """The journal's rows, header left out, without their capture
        time (the sixth column, which the tests of staleness read with
        ``journal_captures``)."""
        return [row[:5] for row in self._read(self.journal)[1:]] \
            if self.journal.exists() else []

    def journal_captures(self):
        """The capture time of each row, by (type, old ID): the last."""
        return {(row[0], row[2]): row[5]
                for row in self._read(self.journal)[1:]} \
            if self.journal.exists() else {}

    def uuids_rows(self):
        return self._read(self.uuids)[1:] if self.uuids.exists() else []

    def uuids_map(self):
        """uuids.csv as {(type, old): new}; fails if an old ID repeats:
        it is a map."""
        found = {}
        for kind, _name, old, new in self.uuids_rows():
            assert old not in {o for _, o in found}, \
                'uuids.csv repeats %s' % old
            found[(kind, old)] = new
        return found

    def record(self, item, new_id, how='created'):
        """A journal row, as an earlier run would have left it."""
        dr.Journal(str(self.journal)).record(item, new_id, how)


@pytest.fixture
def files(tmp_path):
    return Files(tmp_path)


def run(fake_cloud, items, files=None, ids=None, check_mode=False,
        name_clash='create', network_map=None, flavor_map=None, parallel=2,
        widen_default_group=False):
    """One module process, as DownpourResources.run is one: its own login,
    its own Journal read from journal.csv at the start, and uuids.csv
    written from the journal at the end, whether the run failed or not."""
    journal = dr.Journal(str(files.journal) if files else None)
    importer = dr.Importer(fake_cloud.connect(), ids=ids, journal=journal,
                           check_mode=check_mode, parallel=parallel,
                           network_map=network_map, flavor_map=flavor_map,
                           name_clash=name_clash,
                           widen_default_group=widen_default_group)
    try:
        importer.run(items)
    finally:
        journal.write_map(str(files.uuids) if files else None)
    return importer


class Stopped(Exception):
    """The playbook's task that fails after the look."""


def play(fake_cloud, lists, files, name_clash='create', network_map=None,
         flavor_map=None):
    """What the playbook does: the look (check mode) over every list,
    which chooses flavors and external networks; a stop if something is
    missing (or, with name_clash=stop, a name clashes); then the task of
    each list the look found work for, given the IDs known so far."""
    look = run(fake_cloud, [i for key in EVERY_LIST
                            for i in lists.get(key, [])], files,
               check_mode=True, name_clash=name_clash,
               network_map=network_map, flavor_map=flavor_map)
    stop = ['missing: %s' % key for key in look.missing]
    if name_clash == 'stop':
        stop += look.clashes
    if stop:
        raise Stopped(stop)
    ids = dict(look.ids)
    ran = []
    for key, names, types in TASKS:
        items = [i for name in names for i in lists.get(name, [])]
        if set(look.pending_types) & set(types) and items:
            ids.update(run(fake_cloud, items, files, ids=ids,
                           name_clash=name_clash).ids)
            ran.append(key)
    return look, ids, ran


def _sample_lists(fake_cloud, tmp_path):
    """The typed lists of the playbook downpour writes for the sample
    export, read back as Ansible gives them to the module, with the blobs
    the export would have written."""
    sample.register(fake_cloud)
    records = export.Exporter(fake_cloud.connect(), 'resources.yml').resolve([
        Entry('servers', name='web-1', index=0),
        Entry('servers', name='web-2', save_state=False, index=1),
        Entry('volumes', name='spare', save_state=False, index=0)])
    text = render.render_playbook(records)
    play_, = yaml.safe_load(text.replace('!unsafe ', ''))
    # The sample has no Barbican secrets nor load balancers: their lists
    # are not written.
    lists = {key: play_['vars'][key] for key in EVERY_LIST
             if key in play_['vars']}
    blobs = tmp_path / 'blobs'
    blobs.mkdir()
    contents = {sample.IMAGE: sample.IMAGE_BYTES,
                sample.SERVER_1: SNAPSHOT_BYTES,
                sample.VOLUME_DATA: VOLUME_BYTES}
    for item in lists['downpour_images'] + lists['downpour_volumes']:
        if 'filename' in item:
            item['filename'] = item['filename'].replace('{{ playbook_dir }}',
                                                        str(tmp_path))
            data = contents[os.path.basename(item['filename'])]
            (blobs / os.path.basename(item['filename'])).write_bytes(data)
            # What the transfer of the blob adds to the playbook.
            algo = (item.get('checksum') or {}).get('algo') or 'sha512'
            item['checksum'] = {'algo': algo,
                                'value': hashlib.new(algo, data).hexdigest()}
            item['digests'] = {a: hashlib.new(a, data).hexdigest()
                               for a in (algo, 'sha256', 'md5')}
    return lists


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _rules(group_):
    """A group's rules, what each lets through, sorted; "any address" is
    written either way in Neutron."""
    return sorted((r['direction'], r['ethertype'], r['protocol'],
                   r['port_range_min'], r['port_range_max'],
                   None if r['remote_ip_prefix'] in ('0.0.0.0/0', '::/0')
                   else r['remote_ip_prefix'], r['remote_group_id'])
                  for r in group_['security_group_rules'])


EGRESS_V4 = ('egress', 'IPv4', None, None, None, None, None)


def _tcp_key(port_, remote_group=None, prefix=None):
    return ('ingress', 'IPv4', 'tcp', port_, port_, prefix, remote_group)


# -- the whole import ----------------------------------------------------------


def test_a_first_run_makes_everything_and_a_second_nothing(fake_cloud,
                                                          tmp_path, files):
    lists = _sample_lists(fake_cloud, tmp_path)
    target = Target(fake_cloud)

    look, ids, ran = play(fake_cloud, lists, files)

    # In the order of the kinds (definitions.ORDER).
    assert look.pending_types == [
        'keypair', 'network', 'subnet', 'router', 'security_group',
        'server_group', 'image', 'server_snapshot', 'volume', 'port',
        'server', 'floating_ip']
    assert ran == [key for key, _, _ in TASKS]
    assert target.keypairs['app-key']['public_key'] == \
        'ssh-ed25519 AAAAC3Nza test@host'
    # The network, its subnet and router, as exported.
    net, = target.named(target.networks, 'app-net')
    sub, = target.named(target.subnets, 'app-subnet')
    rtr, = target.named(target.routers, 'app-router')
    posted, = target.bodies('POST', '/networks')
    assert posted == {'network': {'name': 'app-net', 'admin_state_up': True,
                                  'description': '',
                                  'port_security_enabled': True}}
    assert (sub['network_id'], sub['cidr'], sub['gateway_ip']) == (
        net['id'], '10.20.0.0/24', '10.20.0.1')
    assert sub['host_routes'] == [{'destination': '198.51.100.0/24',
                                   'nexthop': '10.20.0.254'}]
    assert sub['dns_nameservers'] == ['192.0.2.53']
    assert rtr['external_gateway_info']['network_id'] == target.public['id']
    interface, = [p for p in target.ports.values()
                  if p['device_id'] == rtr['id']]
    assert interface['fixed_ips'] == [{'subnet_id': sub['id'],
                                       'ip_address': '10.20.0.1'}]
    # The web group has exactly the exported rules, those naming a group
    # naming the target's groups; they went in with one request.  The
    # project's default group already had its two.
    web, = target.named(target.groups, 'web')
    assert _rules(web) == sorted([
        EGRESS_V4, _tcp_key(22),
        _tcp_key(443, target.default['id']), _tcp_key(80, web['id'])])
    assert target.calls('POST', '/security-group-rules') == [
        ('POST', '/security-group-rules')]
    # The images, private, with the exported bytes; the volume's temporary
    # image is gone.
    snap, = target.named(target.images, 'web-1-snapshot')
    cirros, = target.named(target.images, 'cirros')
    assert set(target.images) == {snap['id'], cirros['id']}
    assert target.image_data[snap['id']] == SNAPSHOT_BYTES
    assert target.image_data[cirros['id']] == sample.IMAGE_BYTES
    assert (cirros['status'], cirros['visibility'], cirros['min_disk'],
            cirros['hw_disk_bus']) == ('active', 'private', 1, 'virtio')
    # The volumes: web-data with its bytes, not bootable (Cinder marks one
    # made from an image bootable), attached to web-1; spare empty.
    data, = target.named(target.volumes, 'web-data')
    spare, = target.named(target.volumes, 'spare')
    assert target.volume_data[data['id']] == VOLUME_BYTES
    assert (data['size'], data['bootable'], data['status']) == (
        1, 'false', 'in-use')
    assert (spare['size'], spare['metadata'], spare['status']) == (
        2, {'purpose': 'scratch'}, 'available')
    assert spare['id'] not in target.volume_data
    # The servers, on their own ports with the source's addresses and
    # groups, everything given by ID.
    web1, = target.named(target.servers, 'web-1')
    web2, = target.named(target.servers, 'web-2')
    port1, = [p for p in target.ports.values() if p['device_id'] == web1['id']]
    port2, = [p for p in target.ports.values() if p['device_id'] == web2['id']]
    assert port1['fixed_ips'] == [{'subnet_id': sub['id'],
                                   'ip_address': '10.20.0.101'}]
    assert port1['security_groups'] == [web['id'], target.default['id']]
    assert port2['fixed_ips'][0]['ip_address'] == '10.20.0.102'
    assert port2['security_groups'] == [web['id']]
    assert (web1['image']['id'], web2['image']['id']) == (snap['id'],
                                                          cirros['id'])
    assert web1['flavor']['original_name'] == 'm1.small'
    assert web1['key_name'] == 'app-key'
    assert web1['metadata'] == {'role': 'web'}
    assert web1['os-extended-volumes:volumes_attached'] == [
        {'id': data['id'], 'delete_on_termination': False}]
    assert data['attachments'][0]['server_id'] == web1['id']
    booted = {body['server']['name']: body['server']
              for body in target.bodies('POST', '/servers')}
    assert booted['web-1']['networks'] == [{'port': port1['id']}]
    assert booted['web-1']['flavorRef'] == 'flavor-m1.small'
    # Their group, with its policy and rule, holds both.
    group, = target.server_groups.values()
    assert (group['name'], group['policy'], group['rules']) == (
        'web-group', 'anti-affinity', {'max_server_per_host': 2})
    assert sorted(group['members']) == sorted([web1['id'], web2['id']])
    # web-1's floating IP, on the external network, on its new port with
    # the same fixed IP, described and tagged.
    fip, = target.fips.values()
    assert (fip['floating_network_id'], fip['port_id'],
            fip['fixed_ip_address'], fip['description'],
            sorted(fip['tags'])) == (
        target.public['id'], port1['id'], '10.20.0.101', 'web-1 public',
        ['public', 'web'])
    # Every key the playbook refers to has its target ID.
    assert {key: ids[key] for key in (
        'flavor_001', sample.PUBLIC_NET, 'app-key', sample.NET,
        sample.SUBNET, sample.ROUTER, sample.SG_DEFAULT, sample.SG_WEB,
        'snapshot-' + sample.SERVER_1, sample.IMAGE, sample.VOLUME_DATA,
        sample.VOLUME_SPARE, sample.PORT_1, sample.SERVER_1,
        sample.SERVER_2)} == {
        'flavor_001': 'flavor-m1.small', sample.PUBLIC_NET:
        target.public['id'], 'app-key': 'app-key', sample.NET: net['id'],
        sample.SUBNET: sub['id'], sample.ROUTER: rtr['id'],
        sample.SG_DEFAULT: target.default['id'], sample.SG_WEB: web['id'],
        'snapshot-' + sample.SERVER_1: snap['id'],
        sample.IMAGE: cirros['id'], sample.VOLUME_DATA: data['id'],
        sample.VOLUME_SPARE: spare['id'], sample.PORT_1: port1['id'],
        sample.SERVER_1: web1['id'], sample.SERVER_2: web2['id']}
    # uuids.csv maps each old ID once; the capture and the temporary image
    # are in the journal only.
    assert files.uuids_map() == {
        ('keypair', 'app-key'): 'app-key',
        ('network', sample.NET): net['id'],
        ('subnet', sample.SUBNET): sub['id'],
        ('router', sample.ROUTER): rtr['id'],
        ('security group', sample.SG_DEFAULT): target.default['id'],
        ('security group', sample.SG_WEB): web['id'],
        ('image', sample.IMAGE): cirros['id'],
        ('volume', sample.VOLUME_DATA): data['id'],
        ('volume', sample.VOLUME_SPARE): spare['id'],
        ('port', sample.PORT_1): port1['id'],
        ('port', 'aaaaaaaa-0000-4000-8000-000000000003'): port2['id'],
        # The keepalived VIP, a port of no server, comes with its network.
        ('port', sample.PORT_VIP):
            target.named(target.ports, 'web-vip')[0]['id'],
        ('server', sample.SERVER_1): web1['id'],
        ('server', sample.SERVER_2): web2['id'],
        ('server group', sample.GROUP): group['id'],
        ('floating ip', sample.FIP): fip['id']}
    journal = {(row[0], row[2]): (row[3], row[4])
               for row in files.journal_rows()}
    assert journal[('server snapshot', 'snapshot-' + sample.SERVER_1)] == (
        snap['id'], 'created')
    assert journal[('security group', sample.SG_DEFAULT)] == (
        target.default['id'], 'mapped')
    assert journal[('volume contents', sample.VOLUME_DATA)][1] == 'created'
    assert _mode(files.journal) == _mode(files.uuids) == 0o600

    # Again: the look finds everything, and nothing is run or written.
    uuids_before = files.uuids.read_bytes()
    target.mark()
    again, ids_again, ran = play(fake_cloud, lists, files)
    assert (again.pending, again.pending_types, ran) == ([], [], [])
    assert again.clashes == []
    assert target.writes() == []
    assert ids_again == ids
    assert files.uuids.read_bytes() == uuids_before
    # One list call per type, in one process.
    assert sorted(target.calls()) == sorted([
        ('GET', '/flavors/detail'), ('GET', '/os-keypairs'),
        ('GET', '/networks'), ('GET', '/subnets'), ('GET', '/routers'),
        ('GET', '/ports'), ('GET', '/security-groups'), ('GET', '/images'),
        ('GET', '/volumes/detail'), ('GET', '/servers/detail'),
        ('GET', '/os-server-groups'), ('GET', '/floatingips'),
        # Volume types and the zones of Nova and of Cinder, chosen.
        ('GET', '/types'),
        ('GET', '/os-availability-zone'), ('GET', '/os-availability-zone')])


def test_check_mode_changes_nothing_and_says_what_is_pending(fake_cloud,
                                                             tmp_path, files):
    target = Target(fake_cloud)
    net = network('app-net')
    sub = subnet('app-subnet', net)
    sg = group('g', [tcp(22)])
    img = image(tmp_path, 'img', b'bytes')
    size = flavor('m1.tiny')
    vol = volume('data', tmp_path, b'volume bytes')
    nic = port('nic', net, [(sub, '10.20.0.5')], [sg])
    items = [size, keypair('k'), net, sub,
             router('r', interfaces=[(sub, None)]), sg, img, vol, nic,
             server('s', size['id'], img['id'], ports=[nic], volumes=[vol])]
    target.mark()

    look = run(fake_cloud, items, files, check_mode=True)

    assert target.writes() == []
    assert not files.journal.exists() and not files.uuids.exists()
    assert look.created == [] and not look.changed
    assert look.pending == [i['id'] for i in items[1:]]
    assert look.pending_types == ['keypair', 'network', 'subnet', 'router',
                                  'security_group', 'image', 'volume',
                                  'port', 'server']
    assert look.ids == {size['id']: 'flavor-m1.tiny'}


def test_check_mode_lists_only_what_differs(fake_cloud, files):
    target = Target(fake_cloud)
    net = network('app-net', description='new text')
    same = network('same')
    files.record(net, target.add_network('app-net',
                                         description='old text')['id'])
    files.record(same, target.add_network('same')['id'])
    target.mark()

    look = run(fake_cloud, [net, same], files, check_mode=True)

    assert target.writes() == []
    assert look.pending == [net['id']]
    assert look.pending_types == ['network']
    assert set(look.ids) == {net['id'], same['id']}


def test_the_look_writes_a_lost_uuids_csv_again(fake_cloud, files):
    target = Target(fake_cloud)
    item = network('n')
    run(fake_cloud, [item], files)
    written = files.uuids.read_bytes()
    files.uuids.unlink()
    target.mark()

    run(fake_cloud, [item], files, check_mode=True)

    assert files.uuids.read_bytes() == written
    assert target.writes() == []


# -- the target's lists -----------------------------------------------------------


def test_the_look_asks_for_its_lists_side_by_side(fake_cloud, tmp_path,
                                                   files, monkeypatch):
    """Neutron, Glance, Cinder and Nova answer at once, not in turn: each
    list here waits until the three others have been asked for."""
    asked = threading.Barrier(4, timeout=10)

    def held(fetch):
        def answer(conn):
            asked.wait()
            return fetch(conn)
        return answer

    for name in ('networks', 'images', 'volumes', 'keypairs'):
        monkeypatch.setitem(dr.LISTS, name, held(dr.LISTS[name]))
    Target(fake_cloud)
    items = [network('app-net'), image(tmp_path, 'app-image', b'bytes'),
             volume('app-data'), keypair('app-key')]

    look = run(fake_cloud, items, files, check_mode=True)

    assert look.pending_types == ['keypair', 'network', 'image', 'volume']


def test_each_list_is_asked_for_once_however_many_kinds_read_it(
        fake_cloud, tmp_path, files):
    """The external network and the project's networks come from one list
    of networks; the router's interfaces and the ports from one of
    ports."""
    target = Target(fake_cloud)
    target.add_network('public', project=OTHER_PROJECT, external=True)
    public = external('public')
    net = network('app-net')
    sub = subnet('app-subnet', net)
    items = [public, net, sub,
             router('app-router', gateway=public, interfaces=[(sub, None)]),
             port('app-port', net, fixed=[(sub, '10.20.0.5')])]
    target.mark()

    run(fake_cloud, items, files, check_mode=True)

    lists = [route for method, route in target.calls() if method == 'GET']
    assert sorted(lists) == sorted(set(lists))
    assert ('GET', '/networks') in target.calls()
    assert ('GET', '/ports') in target.calls()


def test_a_list_the_target_refuses_names_what_needed_it(fake_cloud,
                                                         tmp_path, files):
    target = Target(fake_cloud)
    target.refuse('GET', '/volumes/detail', status=503,
                  message='cinder is down')
    items = [network('app-net'), volume('app-data')]

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, items, files, check_mode=True)

    assert "volume 'app-data'" in str(failed.value)
    assert 'cinder is down' in str(failed.value)


# -- ours means recorded -------------------------------------------------------


def _seed_network(target, files, net):
    """A network an earlier run of this import made."""
    made = target.add_network(net['name'])
    files.record(net, made['id'])
    return made


def _clash_network(target, files, tmp_path):
    item = network('app-net')
    return [item], {}, target.networks, target.add_network(
        'app-net', description='theirs')


def _clash_subnet(target, files, tmp_path):
    # Someone added a subnet of the exported name to our network.
    net = network('app-net')
    ours = _seed_network(target, files, net)
    item = subnet('app-subnet', net)
    return [net, item], {}, target.subnets, target.add_subnet(
        'app-subnet', ours, cidr='10.30.0.0/24', gateway='10.30.0.1')


def _clash_router(target, files, tmp_path):
    return [router('r')], {}, target.routers, target.add_router(
        'r', gateway=target.public)


def _clash_group(target, files, tmp_path):
    return [group('web', [tcp(22)])], {}, target.groups, target.add_group(
        'web', rules=[{'protocol': 'tcp', 'port_range_min': 23,
                       'port_range_max': 23}])


def _clash_image(target, files, tmp_path):
    # Even with the very same bytes.
    return [image(tmp_path, 'cirros', b'cirros')], {}, target.images, \
        target.add_image('cirros', b'cirros')


def _clash_volume(target, files, tmp_path):
    return [volume('data', tmp_path, b'data')], {}, target.volumes, \
        target.add_volume('data')


def _clash_port(target, files, tmp_path):
    net = network('app-net')
    ours = _seed_network(target, files, net)
    return [net, port('nic', net)], {}, target.ports, target.add_port(
        'nic', ours)


def _clash_server(target, files, tmp_path):
    size = flavor('m1.tiny')
    base = target.add_image('base', b'base')
    return [size, server('web', size['id'], 'base-key')], \
        {'base-key': base['id']}, target.servers, target.add_server('web')


CLASHES = {'network': _clash_network, 'subnet': _clash_subnet,
           'router': _clash_router, 'security_group': _clash_group,
           'image': _clash_image, 'volume': _clash_volume,
           'port': _clash_port, 'server': _clash_server}


@pytest.mark.parametrize('kind', sorted(CLASHES))
def test_a_same_named_resource_is_not_ours_and_a_new_one_is_made(
        fake_cloud, tmp_path, files, kind):
    target = Target(fake_cloud)
    items, ids, store, theirs = CLASHES[kind](target, files, tmp_path)
    item = items[-1]
    before = target.snapshot()

    done = run(fake_cloud, items, files, ids=ids)

    # Theirs is exactly as it was (rules included); ours is beside it.
    assert store[theirs['id']] == \
        next(s for s in before if theirs['id'] in s)[theirs['id']]
    made = done.ids[item['id']]
    assert made != theirs['id']
    assert {o['id'] for o in target.named(store, item['name'])} == {
        theirs['id'], made}
    assert files.uuids_map()[(item['csv_type'], item['id'])] == made
    assert files.journal_rows()[-1] == [item['csv_type'], item['name'],
                                        item['id'], made, 'created']
    clash, = done.clashes
    assert clash.startswith(dr.describe(item) + ': the target already has 1 '
                            'of that name that this import did not make')
    assert theirs['id'] in clash
    assert clash.endswith('a new one is made beside it')


def test_the_look_reports_the_clash_and_a_second_run_none(fake_cloud,
                                                          files):
    target = Target(fake_cloud)
    theirs = [target.add_network('app-net'), target.add_network('app-net')]
    item = network('app-net')

    look = run(fake_cloud, [item], files, check_mode=True)
    assert look.pending == [item['id']]
    clash, = look.clashes
    assert 'the target already has 2 of that name' in clash
    assert all(net['id'] in clash for net in theirs)
    run(fake_cloud, [item], files)

    # Now ours is recorded: theirs is no clash any more.
    again = run(fake_cloud, [item], files, check_mode=True)
    assert (again.pending, again.clashes) == ([], [])


def test_a_recorded_id_wins_over_names(fake_cloud, files):
    """The journal says which target resource is which, whatever its name
    now, and even when several have that name."""
    target = Target(fake_cloud)
    renamed = target.add_network('renamed by hand')
    twins = [target.add_network('twin'), target.add_network('twin')]
    target.add_network('app-net')  # a decoy with the exported name
    groups = [target.add_group('twin'), target.add_group('twin')]
    app = network('app-net')
    nets = [network('twin'), network('twin')]
    sgs = [group('twin'), group('twin')]
    files.record(app, renamed['id'])
    for item, obj in zip(nets + sgs, twins + groups, strict=True):
        files.record(item, obj['id'])
    target.mark()

    look = run(fake_cloud, [app] + nets + sgs, files, check_mode=True)
    assert look.ids == dict({app['id']: renamed['id']},
                            **{i['id']: o['id'] for i, o in
                               zip(nets + sgs, twins + groups,
                                   strict=True)})
    # Only the name of the renamed one is to be put right.
    assert look.pending == [app['id']]

    done = run(fake_cloud, [app] + nets + sgs, files)
    assert done.ids == look.ids
    assert target.writes() == [('PUT', '/networks/{id}')]
    assert target.networks[renamed['id']]['name'] == 'app-net'
    assert len(files.journal_rows()) == 5  # nothing new recorded


@pytest.mark.parametrize('how', ['reused', 'adopted'])
def test_only_what_the_import_created_is_corrected(fake_cloud, files, how):
    target = Target(fake_cloud)
    mine, theirs = network('mine'), network('theirs')
    files.record(mine, target.add_network('mine', description='by hand')['id'])
    files.record(theirs, target.add_network(
        'theirs', description='by hand')['id'], how)
    target.mark()

    done = run(fake_cloud, [mine, theirs], files)

    assert target.writes() == [('PUT', '/networks/{id}')]
    assert target.networks[done.ids[mine['id']]]['description'] == ''
    assert target.networks[done.ids[theirs['id']]]['description'] == \
        'by hand'
    assert done.clashes == []


def test_our_port_gets_back_its_group_made_again_in_the_same_run(
        fake_cloud, files):
    """The group is made again and the port corrected in one run: the
    correction waits for the group, as a creation would."""
    target = Target(fake_cloud)
    net = network('n')
    sub = subnet('s', net)
    web = group('web')
    nic = port('nic', net, fixed=[(sub, '10.20.0.5')], groups=[web])
    items = [net, sub, web, nic]
    first = run(fake_cloud, items, files)
    # Someone deletes the group; Neutron takes it off the port.
    del target.groups[first.ids[web['id']]]
    target.ports[first.ids[nic['id']]]['security_groups'] = []

    done = run(fake_cloud, items, files)

    again = done.ids[web['id']]
    assert again != first.ids[web['id']] and again in target.groups
    assert target.ports[first.ids[nic['id']]]['security_groups'] == [again]


def test_a_recorded_id_the_target_lost_is_made_again(fake_cloud, files):
    target = Target(fake_cloud)
    item = network('app-net')
    files.record(item, '0badc0de-0000-4000-8000-000000000000')

    done = run(fake_cloud, [item], files)

    net, = target.named(target.networks, 'app-net')
    assert done.ids == {item['id']: net['id']}
    assert files.journal_rows()[-1] == ['network', 'app-net', item['id'],
                                        net['id'], 'created']
    assert files.uuids_map() == {('network', item['id']): net['id']}


def test_names_that_repeat_are_all_made_and_each_recorded_at_once(
        fake_cloud, files):
    target = Target(fake_cloud)
    theirs = target.add_network('twin')
    items = [network('twin'), network('twin'), network('twin')]
    # The third fails: the two made before it are on record already.  One
    # at a time, so that the third request is the third item's.
    target.refuse('POST', '/networks', status=500, message='boom', after=2)

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, items, files, parallel=1)

    made = [n for n in target.named(target.networks, 'twin')
            if n is not theirs]
    assert len(made) == 2
    assert files.uuids_rows() == [
        ['network', 'twin', items[0]['id'], made[0]['id']],
        ['network', 'twin', items[1]['id'], made[1]['id']]]
    assert str(failed.value).startswith(dr.describe(items[2]) + ': ')
    assert 'boom' in str(failed.value)

    # Next time the two are found by their recorded IDs, the third made.
    target.mark()
    done = run(fake_cloud, items, files)
    assert target.writes() == [('POST', '/networks')]
    assert [done.ids[i['id']] for i in items[:2]] == [n['id'] for n in made]
    assert done.ids[items[2]['id']] not in (theirs['id'], made[0]['id'],
                                            made[1]['id'])
    assert len(files.uuids_rows()) == 3


# -- keypairs: one name per user ----------------------------------------------


def test_a_keypair_with_the_same_public_key_is_reused_and_recorded(
        fake_cloud, files):
    target = Target(fake_cloud)
    # Nova may hand the key back with another line ending.
    target.add_keypair('ops', 'ssh-ed25519 AAAAC3Nza test@host\n')
    target.mark()

    done = run(fake_cloud, [keypair('ops')], files)

    assert done.ids == {'ops': 'ops'}
    assert target.writes() == []
    assert files.journal_rows() == [['keypair', 'ops', 'ops', 'ops',
                                     'reused']]
    assert files.uuids_map() == {('keypair', 'ops'): 'ops'}


def test_the_playbook_records_a_reused_keypair(fake_cloud, files):
    target = Target(fake_cloud)
    target.add_keypair('ops', 'ssh-ed25519 AAAAC3Nza test@host')

    play(fake_cloud, {'downpour_keypairs': [keypair('ops')]}, files)

    assert files.journal_rows() == [['keypair', 'ops', 'ops', 'ops',
                                     'reused']]


@pytest.mark.parametrize('check_mode', [True, False])
def test_a_keypair_with_another_public_key_stops_the_import(
        fake_cloud, files, check_mode):
    target = Target(fake_cloud)
    target.add_keypair('ops', 'ssh-ed25519 AAAAother someone@else')
    target.mark()

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, [keypair('ops'), network('n')], files,
            check_mode=check_mode, name_clash='adopt')

    assert str(failed.value).startswith(
        "keypair 'ops' (source ID ops): the target has a keypair of that "
        'name with another public key')
    assert target.writes() == []
    assert files.journal_rows() == []


@pytest.mark.parametrize('how', ['created', 'reused'])
def test_a_recorded_keypair_whose_key_changed_since_stops_the_import(
        fake_cloud, files, how):
    """Recorded by an earlier run, and since replaced in the target by
    another key of the same name: the servers would boot with it."""
    target = Target(fake_cloud)
    target.add_keypair('ops', 'ssh-ed25519 AAAAother someone@else')
    files.record(keypair('ops'), 'ops', how)
    target.mark()

    with pytest.raises(dr.ImportFailed, match='with another public key'):
        run(fake_cloud, [keypair('ops')], files, check_mode=True)
    assert target.writes() == []


# -- name_clash=stop -----------------------------------------------------------


def test_stop_the_look_lists_every_clash_and_the_play_stops(fake_cloud,
                                                            tmp_path, files):
    target = Target(fake_cloud)
    # One exported resource of each kind whose name the target uses.
    for store in ('network', 'group', 'volume', 'server'):
        getattr(target, 'add_' + store)(store[0])
    target.add_image('i', b'i')
    size = flavor('m1.tiny')
    items = [size, network('n'), group('g'), image(tmp_path, 'i', b'i'),
             volume('v'), server('s', size['id'], 'image-key')]
    target.mark()

    look = run(fake_cloud, items, files, check_mode=True, name_clash='stop')

    assert [c.split(':', 1)[0] for c in look.clashes] == [
        dr.describe(i) for i in items[1:]]
    assert target.writes() == []
    assert not files.journal.exists()

    lists = {'downpour_flavors': items[:1], 'downpour_networks': items[1:2],
             'downpour_security_groups': items[2:3],
             'downpour_images': items[3:4], 'downpour_volumes': items[4:5],
             'downpour_servers': items[5:]}
    with pytest.raises(Stopped) as stopped:
        play(fake_cloud, lists, files, name_clash='stop')
    assert len(stopped.value.args[0]) == 5
    assert target.writes() == []


def test_stop_a_run_fails_before_making_what_clashes(fake_cloud, files):
    target = Target(fake_cloud)
    theirs = target.add_network('n')
    items = [network('fresh'), network('n')]
    target.mark()

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, items, files, name_clash='stop')

    message = str(failed.value)
    assert message.startswith(dr.describe(items[1]))
    assert theirs['id'] in message and 'name_clash is stop' in message
    assert target.writes() == []
    assert files.journal_rows() == []


# -- name_clash=adopt ----------------------------------------------------------


def test_adopt_takes_a_network_and_subnet_proven_equivalent(fake_cloud,
                                                            files):
    target = Target(fake_cloud)
    theirs = target.add_network('app-net', description='theirs')
    their_subnet = target.add_subnet('app-subnet', theirs,
                                     dns_nameservers=['192.0.2.1'])
    net = network('app-net')
    sub = subnet('app-subnet', net, dns_nameservers=['192.0.2.53'])
    before = target.snapshot()

    done = run(fake_cloud, [net, sub], files, name_clash='adopt')

    assert done.ids == {net['id']: theirs['id'], sub['id']: their_subnet['id']}
    # Adopted, not ours: nothing of it is corrected.
    assert target.snapshot() == before
    assert files.journal_rows() == [
        ['network', 'app-net', net['id'], theirs['id'], 'adopted'],
        ['subnet', 'app-subnet', sub['id'], their_subnet['id'], 'adopted']]
    assert files.uuids_map() == {('network', net['id']): theirs['id'],
                                 ('subnet', sub['id']): their_subnet['id']}
    assert [c.endswith('proven equivalent') for c in done.clashes] == [
        True, True]

    # A later run finds them by the journal: no clash any more.
    again = run(fake_cloud, [net, sub], files, check_mode=True,
                name_clash='adopt')
    assert (again.pending, again.clashes) == ([], [])
    assert again.ids == done.ids


def test_the_playbook_records_an_adopted_network(fake_cloud, files):
    target = Target(fake_cloud)
    theirs = target.add_network('app-net')
    net = network('app-net')

    play(fake_cloud, {'downpour_networks': [net]}, files,
         name_clash='adopt')

    assert files.uuids_map() == {('network', net['id']): theirs['id']}


def test_adopt_refuses_a_network_without_the_exported_subnet(fake_cloud,
                                                             files):
    target = Target(fake_cloud)
    theirs = target.add_network('app-net')
    target.add_subnet('app-subnet', theirs, cidr='10.30.0.0/24',
                      gateway='10.30.0.1')
    before = target.snapshot()
    net = network('app-net')
    sub = subnet('app-subnet', net)

    done = run(fake_cloud, [net, sub], files, name_clash='adopt')

    assert done.ids[net['id']] != theirs['id']
    assert target.subnets[done.ids[sub['id']]]['network_id'] == \
        done.ids[net['id']]
    assert {k: v for k, v in target.networks.items() if k in before[0]} == \
        before[0]
    clash, = done.clashes
    assert "it has no subnet 'app-subnet' like the exported one" in clash
    assert clash.endswith('a new one is made')


def test_adopt_refuses_a_subnet_with_another_gateway(fake_cloud, files):
    target = Target(fake_cloud)
    net = network('app-net')
    ours = _seed_network(target, files, net)
    # Added to our network by hand: the exported name and CIDR, another
    # gateway.
    theirs = target.add_subnet('app-subnet', ours, gateway='10.20.0.254')
    sub = subnet('app-subnet', net)

    look = run(fake_cloud, [net, sub], files, check_mode=True,
               name_clash='adopt')
    clash, = look.clashes
    assert 'its gateway_ip is 10.20.0.254, not 10.20.0.1' in clash
    assert look.pending == [sub['id']]

    # Not adopted: a new one beside it overlaps, which Neutron refuses,
    # and the error says which subnet.
    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, [net, sub], files, name_clash='adopt')
    assert str(failed.value).startswith(dr.describe(sub))
    assert 'overlaps' in str(failed.value)
    assert target.named(target.subnets, 'app-subnet') == [theirs]
    assert files.journal_rows()[-1][0] == 'network'


def test_adopt_takes_a_router_with_the_same_gateway_and_interfaces(
        fake_cloud, files):
    target = Target(fake_cloud)
    public = external('public')
    their_net = target.add_network('app-net')
    their_subnet = target.add_subnet('app-subnet', their_net)
    theirs = target.add_router('app-router', gateway=target.public,
                               subnets=[their_subnet])
    net = network('app-net')
    sub = subnet('app-subnet', net)
    item = router('app-router', gateway=public, interfaces=[(sub, None)])
    before = target.snapshot()

    done = run(fake_cloud, [public, net, sub, item], files,
               name_clash='adopt')

    assert done.ids[item['id']] == theirs['id']
    assert target.snapshot() == before
    assert files.journal_rows()[-1] == ['router', 'app-router', item['id'],
                                        theirs['id'], 'adopted']


def test_adopt_refuses_a_router_on_another_gateway(fake_cloud, files):
    target = Target(fake_cloud)
    other = target.add_network('other-ext', project=OTHER_PROJECT,
                               external=True)
    theirs = target.add_router('app-router', gateway=other)
    public = external('public')
    item = router('app-router', gateway=public)
    before = target.snapshot()

    done = run(fake_cloud, [public, item], files, name_clash='adopt')

    assert done.ids[item['id']] != theirs['id']
    assert target.routers[theirs['id']] == before[2][theirs['id']]
    assert target.routers[done.ids[item['id']]]['external_gateway_info'][
        'network_id'] == target.public['id']
    clash, = done.clashes
    assert 'its gateway is on another network' in clash


@pytest.mark.parametrize('digests', [True, False])
def test_adopt_takes_an_image_with_the_same_checksum(fake_cloud, tmp_path,
                                                     files, digests):
    """By the blob's digests, or (an earlier playbook) the checksum."""
    target = Target(fake_cloud)
    theirs = target.add_image('cirros', b'cirros bytes', visibility='public')
    target.add_image('other', b'other bytes')
    same = image(tmp_path, 'cirros', b'cirros bytes', digests=digests)
    other = image(tmp_path, 'other', b'new bytes', digests=digests)
    target.mark()

    done = run(fake_cloud, [same, other], files, name_clash='adopt')

    assert done.ids[same['id']] == theirs['id']
    assert files.uuids_map()[('image', same['id'])] == theirs['id']
    # Another image of that name, with other bytes, is not this one.
    assert target.calls('POST', '/images') == [('POST', '/images')]
    assert target.image_data[done.ids[other['id']]] == b'new bytes'
    assert any(dr.describe(other) in c and 'its checksum differs' in c
               for c in done.clashes)


def test_adopt_takes_a_group_with_exactly_the_exported_rules(fake_cloud,
                                                             files):
    target = Target(fake_cloud)
    theirs = target.add_group('web', rules=[
        {'protocol': 'tcp', 'port_range_min': 22, 'port_range_max': 22}])
    item = group('web', [tcp(22)])
    target.mark()

    done = run(fake_cloud, [item], files, name_clash='adopt')

    assert done.ids[item['id']] == theirs['id']
    assert target.writes() == []
    assert files.journal_rows()[-1][-1] == 'adopted'
    # Later runs change nothing either.
    run(fake_cloud, [item], files, name_clash='adopt')
    assert target.writes() == []


@pytest.mark.parametrize('rules', [
    [{'protocol': 'tcp', 'port_range_min': 22, 'port_range_max': 22}],
    [{'protocol': 'tcp', 'port_range_min': p, 'port_range_max': p}
     for p in (22, 23, 80)]], ids=['fewer', 'more'])
def test_adopt_refuses_a_group_whose_rules_are_not_the_exported_ones(
        fake_cloud, files, rules):
    """A group of the target with fewer rules would be widened by the
    import; one with more lets in what the source did not: neither is
    taken, nor changed.  The import makes its own beside it."""
    target = Target(fake_cloud)
    theirs = target.add_group('web', rules=rules)
    before = _rules(theirs)
    item = group('web', [tcp(22), tcp(80)])

    done = run(fake_cloud, [item], files, name_clash='adopt')

    assert done.ids[item['id']] != theirs['id']
    assert _rules(target.groups[theirs['id']]) == before
    assert target.calls('POST', of=theirs['id']) == []
    assert files.journal_rows()[-1][-1] == 'created'
    assert any('not adopted' in c and 'rules are not the exported'
               in c for c in done.clashes)


@pytest.mark.parametrize('kind', ['volume', 'port', 'server'])
def test_adopt_never_takes_a_volume_a_port_or_a_server(fake_cloud, tmp_path,
                                                      files, kind):
    target = Target(fake_cloud)
    items, ids, store, theirs = CLASHES[kind](target, files, tmp_path)

    done = run(fake_cloud, items, files, ids=ids, name_clash='adopt')

    assert done.ids[items[-1]['id']] not in (None, theirs['id'])
    clash, = done.clashes
    assert clash.endswith('a %s is never adopted, a new one is made' % kind)


def test_adopt_takes_none_of_two_equivalent_ones(fake_cloud, tmp_path,
                                                files):
    target = Target(fake_cloud)
    first = target.add_image('cirros', b'cirros')
    second = target.add_image('cirros', b'cirros')
    item = image(tmp_path, 'cirros', b'cirros')

    done = run(fake_cloud, [item], files, name_clash='adopt')

    assert done.ids[item['id']] not in (first['id'], second['id'])
    clash, = done.clashes
    assert 'as equivalent as another' in clash


# -- never narrow what is not ours ----------------------------------------------


def test_the_default_group_only_gains_rules(fake_cloud, files):
    target = Target(fake_cloud)
    before = {r['id'] for r in target.default['security_group_rules']}
    item = group('default', default=True, rules=[
        rule('egress'),  # Neutron's own, with a prefix written either way
        rule('egress', remote_ip_prefix='0.0.0.0/0'),
        tcp(22, remote_ip_prefix='0.0.0.0/0'),
        rule(protocol='icmp')])
    target.mark()

    done = run(fake_cloud, [item], files)

    assert done.ids == {item['id']: target.default['id']}
    assert target.calls('DELETE') == []
    posted, = target.bodies('POST', '/security-group-rules')
    assert sorted((r['protocol'], r.get('port_range_min'))
                  for r in posted['security_group_rules']) == [
        ('icmp', None), ('tcp', 22)]
    after = {r['id'] for r in target.default['security_group_rules']}
    assert before < after and len(after) == 6
    assert files.journal_rows() == [['security group', 'default', item['id'],
                                     target.default['id'], 'mapped']]
    assert done.clashes == []


def test_a_group_this_import_made_gets_exactly_the_exported_rules(
        fake_cloud, files):
    target = Target(fake_cloud)
    item = group('web', description='Web servers',
                 rules=[rule('egress'), tcp(22)])
    done = run(fake_cloud, [item], files)
    made = target.groups[done.ids[item['id']]]
    # Neutron's egress IPv6 rule is not exported: it goes.
    assert _rules(made) == sorted([EGRESS_V4, _tcp_key(22)])
    keep = next(r['id'] for r in made['security_group_rules']
                if r['direction'] == 'egress')
    # By hand, someone opens port 23 and closes 22.
    made['security_group_rules'] = [
        r for r in made['security_group_rules'] if r['protocol'] != 'tcp'] \
        + [target._rule(made['id'], protocol='tcp', port_range_min=23,
                        port_range_max=23)]
    target.mark()

    run(fake_cloud, [item], files)

    assert _rules(made) == sorted([EGRESS_V4, _tcp_key(22)])
    assert keep in {r['id'] for r in made['security_group_rules']}
    assert target.writes() == [('DELETE', '/security-group-rules/{id}'),
                               ('POST', '/security-group-rules')]


def test_adopted_networks_subnets_and_routers_are_never_modified(
        fake_cloud, files):
    """Recorded as adopted (or reused), and since then changed by hand:
    not ours to put right, not even a router's lost interface."""
    target = Target(fake_cloud)
    public = external('public')
    net = network('app-net')
    sub = subnet('app-subnet', net, dns_nameservers=['192.0.2.53'])
    item = router('app-router', gateway=public, interfaces=[(sub, None)])
    their_net = target.add_network('app-net', description='changed')
    their_subnet = target.add_subnet('app-subnet', their_net)
    theirs = target.add_router('app-router')  # no gateway, no interface
    files.record(net, their_net['id'], 'adopted')
    files.record(sub, their_subnet['id'], 'adopted')
    files.record(item, theirs['id'], 'adopted')
    target.mark()

    look = run(fake_cloud, [public, net, sub, item], files, check_mode=True)
    done = run(fake_cloud, [public, net, sub, item], files)

    assert look.pending == []
    assert target.writes() == []
    assert done.ids[item['id']] == theirs['id']


# -- references by ID ----------------------------------------------------------


def _network_for_servers(target, files):
    net = network('app-net')
    sub = subnet('app-subnet', net)
    made = _seed_network(target, files, net)
    files.record(sub, target.add_subnet('app-subnet', made)['id'])
    return net, sub


def test_a_server_boots_from_the_copy_of_its_root_volume(fake_cloud,
                                                         tmp_path, files):
    target = Target(fake_cloud)
    net, sub = _network_for_servers(target, files)
    size = flavor('m1.tiny')
    root = volume('root', tmp_path, b'root disk', bootable=True, size=5)
    nic = port('', net, [(sub, '10.20.0.9')])
    item = server('db', size['id'], boot_volume=root, ports=[nic])

    done = run(fake_cloud, [size, net, sub, root, nic, item], files)

    made = target.servers[done.ids[item['id']]]
    copy_ = target.volumes[done.ids[root['id']]]
    assert target.volume_data[copy_['id']] == b'root disk'
    assert (copy_['bootable'], copy_['status'], copy_['size']) == (
        'true', 'in-use', 5)
    body, = target.bodies('POST', '/servers')
    assert 'imageRef' not in body['server']
    assert body['server']['block_device_mapping_v2'] == [{
        'boot_index': 0, 'source_type': 'volume',
        'destination_type': 'volume', 'delete_on_termination': False,
        'uuid': copy_['id']}]
    assert body['server']['networks'] == [{'port': done.ids[nic['id']]}]
    assert made['status'] == 'ACTIVE'
    # No attachment request: it is attached as the root disk.
    assert target.calls('POST', '/servers/{id}/os-volume_attachments') == []


@pytest.mark.parametrize('servers', [1, 2])
def test_a_reference_nothing_made_stops_the_resource_and_names_it(
        fake_cloud, files, servers):
    target = Target(fake_cloud)
    size = flavor('m1.tiny')
    base = target.add_image('base', b'base')
    item = server('web', size['id'], 'base-key',
                  ports=[{'id': 'p-never-made'}])
    others = [server('db', size['id'], 'base-key')
              for _ in range(servers - 1)]

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, [size, item] + others, files,
            ids={'base-key': base['id']})

    assert str(failed.value) == (
        '%s: its port (source ID p-never-made) was neither found nor made'
        % dr.describe(item))
    assert target.named(target.servers, 'web') == []


# -- the journal and uuids.csv -------------------------------------------------


HOSTILE = ['a\n"b","c"', 'cr\r\nlf', "it's {{ lookup('pipe', 'id') }}", 'café ☕, ok',
           ' spaced ', '=1+2']


def test_names_of_every_kind_round_trip_through_both_files(tmp_path):
    path = tmp_path / 'journal.csv'
    journal = dr.Journal(str(path))
    items = [network(name) for name in HOSTILE]
    for number, item in enumerate(items):
        journal.record(item, 'NEW-%d' % number, 'created')
    server_item = {'type': 'server', 'id': 'SERVER', 'name': 's',
                   'csv_type': 'server'}
    snapshot_item = {'type': 'server_snapshot', 'id': 'snapshot-SERVER',
                     'name': 's-snapshot', 'csv_type': 'server snapshot'}
    contents = {'type': 'volume_contents', 'id': 'VOLUME', 'name': 'c',
                'csv_type': 'volume contents'}
    volume_item = volume('v', old='VOLUME')
    journal.record(snapshot_item, 'IMAGE', 'created')
    journal.record(server_item, 'SERVER-1', 'created')
    journal.record(contents, 'CONTENTS', 'created')
    journal.record(volume_item, 'VOLUME-1', 'created')
    # Made again after the target lost it: the last row wins.
    journal.record(server_item, 'SERVER-2', 'created')

    again = dr.Journal(str(path))
    for number, item in enumerate(items):
        assert again.recall(item) == ('NEW-%d' % number, 'created')
    assert again.recall(server_item) == ('SERVER-2', 'created')
    assert again.recall(snapshot_item) == ('IMAGE', 'created')

    uuids = tmp_path / 'uuids.csv'
    assert again.write_map(str(uuids)) is True
    assert again.write_map(str(uuids)) is False  # already says that
    files = Files(tmp_path)
    assert files._read(uuids)[0] == ['Resource Type', 'Resource Name', 'Old',
                                     'New']
    assert sorted(files.uuids_rows()) == sorted(
        [['network', name, item['id'], 'NEW-%d' % number]
         for number, (name, item) in enumerate(zip(HOSTILE, items,
                                                   strict=True))]
        + [['server', 's', 'SERVER', 'SERVER-2'],
           ['volume', 'v', 'VOLUME', 'VOLUME-1']])
    assert files._read(path)[0] == list(dr.Journal.HEADER)
    assert len(files.journal_rows()) == len(HOSTILE) + 5
    assert _mode(path) == _mode(uuids) == 0o600


@pytest.mark.parametrize('torn', [
    '"network","a","00000001-0000-4000-8000-000000000000","NEW-',
    '"network","a","0000',
    '"net',
    # Torn right after a line break in a name (names may hold them).
    '"network","line one\n'])
def test_a_row_torn_by_a_crash_loses_no_later_row(tmp_path, torn):
    """A crash in the middle of an append leaves a row without its end;
    the next run's rows are read whole, and the torn one not at all (its
    new ID may be cut short)."""
    path = tmp_path / 'journal.csv'
    first, second = network('first'), network('second')
    dr.Journal(str(path)).record(first, 'NEW-1', 'created')
    with open(path, 'a', encoding='utf-8') as stream:
        stream.write(torn)

    dr.Journal(str(path)).record(second, 'NEW-2', 'created')

    again = dr.Journal(str(path))
    assert again.recall(first) == ('NEW-1', 'created')
    assert again.recall(second) == ('NEW-2', 'created')
    assert len(again.rows) == 2
    # Torn at the very end: what it says is not trusted either.
    with open(path, 'a', encoding='utf-8') as stream:
        stream.write('"network","third","OLD-3","NEW-3","crea')
    assert len(dr.Journal(str(path)).rows) == 2


def test_an_empty_or_missing_journal_recalls_nothing(tmp_path):
    assert dr.Journal(str(tmp_path / 'missing.csv')).rows == {}
    assert dr.Journal(None).recall(network('n')) is None
    assert dr.Journal(None).write_map(str(tmp_path / 'uuids.csv')) is False
    assert not (tmp_path / 'uuids.csv').exists()


def test_a_server_and_its_snapshot_keep_their_own_ids(fake_cloud, tmp_path,
                                                      files):
    """A server's capture is exported under a key of its own: the server
    and the image it boots from each have their row."""
    target = Target(fake_cloud)
    size = flavor('m1.tiny')
    server_id = old_id()
    snapshot = dict(image(tmp_path, 'web-snapshot', b'disk'),
                    type='server_snapshot', csv_type='server snapshot',
                    id='snapshot-' + server_id)
    item = server('web', size['id'], snapshot['id'], old=server_id)

    done = run(fake_cloud, [size, snapshot, item], files)

    made = target.servers[done.ids[server_id]]
    assert made['image']['id'] == done.ids[snapshot['id']]
    assert files.uuids_map() == {('server', server_id): made['id']}
    assert ['server snapshot', 'web-snapshot', snapshot['id'],
            made['image']['id'], 'created'] in files.journal_rows()


# -- failures leave a path forward -------------------------------------------------


@pytest.mark.parametrize('export', ['digests', 'sha512', 'md5'])
def test_a_corrupt_upload_is_deleted_and_the_next_run_uploads_again(
        fake_cloud, tmp_path, files, export):
    """Checked against the digests of the blob, or (a playbook of an
    earlier downpour) against the source's checksum."""
    target = Target(fake_cloud)
    algo = 'sha512' if export == 'digests' else export
    good = image(tmp_path, 'good', b'good bytes', algo=algo,
                 digests=export == 'digests')
    bad = image(tmp_path, 'web {{ x }} image', b'bad bytes', algo=algo,
                digests=export == 'digests')
    # The target's Glance receives other bytes than were sent.
    target.mangle = lambda data: data + b'!' if data == b'bad bytes' else data

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, [good, bad], files)

    message = str(failed.value)
    assert message.startswith(dr.describe(bad) + ": the target's Glance "
                              'reports ')
    # It says what Glance computed and what it should have been.
    expected = bad.get('digests') or {algo: bad['checksum']['value']}
    assert any('(%s, status active)' % a in message and value in message
               for a, value in expected.items()), message
    assert "'good'" not in message
    # The good one is there and on record; the bad one is not left behind.
    assert [i['name'] for i in target.images.values()] == ['good']
    assert files.uuids_map()[('image', good['id'])] == \
        target.named(target.images, 'good')[0]['id']

    target.mangle = None
    target.mark()
    done = run(fake_cloud, [good, bad], files)
    assert target.calls('POST', '/images') == [('POST', '/images')]
    uploaded = target.images[done.ids[bad['id']]]
    assert (uploaded['name'], uploaded['status']) == ('web {{ x }} image',
                                                      'active')
    assert target.image_data[uploaded['id']] == b'bad bytes'
    assert files.uuids_map()[('image', bad['id'])] == uploaded['id']


@pytest.mark.parametrize('glance_algo', ['sha512', 'sha256', 'sha384'])
def test_an_upload_is_checked_whatever_algorithm_the_target_uses(
        fake_cloud, tmp_path, files, glance_algo):
    """The upload hashes what it sends with sha512 only (Glance's default,
    and one the export recorded); a Glance configured for another
    algorithm is compared all the same."""
    target = Target(fake_cloud)
    target.hash_algo = glance_algo
    good = image(tmp_path, 'good', b'good bytes')
    bad = image(tmp_path, 'bad', b'bad bytes')
    target.mangle = lambda data: data + b'!' if data == b'bad bytes' else data

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, [good, bad], files)

    message = str(failed.value)
    assert message.startswith(dr.describe(bad) + ": the target's Glance "
                              'reports '), message
    assert [i['name'] for i in target.images.values()] == ['good']
    assert target.images[files.uuids_map()[('image', good['id'])]][
        'os_hash_algo'] == glance_algo


def test_a_blob_changed_since_the_export_is_refused_without_sha512(
        fake_cloud, tmp_path, files):
    """An export whose digests lack sha512 (a source that uses md5): the
    file is checked against one it has."""
    target = Target(fake_cloud)
    changed = image(tmp_path, 'changed', b'exported bytes', algo='md5')
    assert 'sha512' not in changed['digests']
    with open(changed['filename'], 'wb') as stream:
        stream.write(b'edited since')

    with pytest.raises(dr.ImportFailed, match='does not hold the exported '
                       'bytes .* the output directory changed since'):
        run(fake_cloud, [changed], files)

    assert target.images == {}


def test_a_corrupt_upload_that_cannot_be_deleted_is_never_trusted(
        fake_cloud, tmp_path, files):
    """The target's Glance holds other bytes than were sent, and then
    refuses to delete the image: the error still says what was wrong, and
    the next run, finding the recorded image active, checks its bytes and
    replaces it."""
    target = Target(fake_cloud)
    bad = image(tmp_path, 'web', b'the bytes')
    target.mangle = lambda data: data + b'!'
    # The connection drops as the image is deleted, however often the
    # client tries again.
    target.refuse('DELETE', '/images/{id}', status=None, times=10,
                  message='Connection reset by peer')

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, [bad], files)

    message = str(failed.value)
    assert message.startswith(dr.describe(bad) + ": the target's Glance "
                              'reports ')
    assert 'could not be deleted' in message and 'reset by peer' in message
    corrupt, = target.images.values()
    assert corrupt['status'] == 'active'
    assert files.journal_rows()[-1][3:] == [corrupt['id'], 'created']

    target.mangle = None
    target.refusals.clear()
    done = run(fake_cloud, [bad], files)

    good, = target.images.values()
    assert good['id'] != corrupt['id']
    assert done.ids[bad['id']] == good['id']
    assert target.image_data[good['id']] == b'the bytes'


def test_a_volumes_image_properties_go_on_the_image_its_bytes_travel_in(
        fake_cloud, tmp_path, files):
    """Cinder gives a volume made from an image that image's properties
    (volume_image_metadata): the contents image carries the exported
    ones."""
    target = Target(fake_cloud)
    item = dict(volume('root', tmp_path, b'root bytes', bootable=True),
                image_properties={'hw_firmware_type': 'uefi',
                                  'os_type': 'linux'})

    run(fake_cloud, [item], files)

    posted, = target.bodies('POST', '/images')
    assert (posted['hw_firmware_type'], posted['os_type']) == (
        'uefi', 'linux')


def test_a_corrupt_upload_alone_is_named_too(fake_cloud, tmp_path, files):
    target = Target(fake_cloud)
    bad = image(tmp_path, 'bad', b'bad bytes')
    target.mangle = lambda data: data + b'!'

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, [bad], files)

    assert target.images == {}
    assert str(failed.value).startswith(dr.describe(bad))


def test_an_upload_that_died_is_replaced_by_the_next_run(fake_cloud,
                                                         tmp_path, files):
    target = Target(fake_cloud)
    item = image(tmp_path, 'img', b'image bytes')
    # The connection drops during the upload, as when the play is killed
    # (keystoneauth tries again once).
    target.refuse('PUT', '/images/{id}/file', status=None,
                  message='connection reset', times=5)

    with pytest.raises(dr.ImportFailed, match='connection reset'):
        run(fake_cloud, [item], files)
    target.refusals.clear()

    # Recorded before its bytes were sent: the next run knows it is ours.
    died, = target.images.values()
    assert died['status'] == 'queued'
    assert files.journal_rows() == [['image', 'img', item['id'], died['id'],
                                     'created']]
    look = run(fake_cloud, [item], files, check_mode=True)
    assert (look.pending, look.clashes) == ([item['id']], [])

    done = run(fake_cloud, [item], files)

    fresh, = target.images.values()
    assert fresh['id'] != died['id'] and fresh['status'] == 'active'
    assert target.image_data[fresh['id']] == b'image bytes'
    assert done.ids[item['id']] == fresh['id']
    assert files.uuids_map() == {('image', item['id']): fresh['id']}


@pytest.mark.parametrize('method, route', [('POST', '/images'),
                                           ('PUT', '/images/{id}/file')])
def test_glance_refusing_an_upload_is_reported_with_its_reason(
        fake_cloud, tmp_path, files, method, route):
    target = Target(fake_cloud)
    items = [image(tmp_path, 'a', b'a'), image(tmp_path, 'b', b'b')]
    target.refuse(method, route, status=413,
                  message='Image storage media is full', times=2)

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, items, files)

    assert str(failed.value).startswith(dr.describe(items[0]))
    assert 'Image storage media is full' in str(failed.value)


def test_a_broken_resource_not_ours_is_reported_never_replaced(
        fake_cloud, tmp_path, files):
    target = Target(fake_cloud)
    theirs = target.add_image('cirros', b'cirros')
    theirs['status'] = 'deactivated'  # by the target's admin
    item = image(tmp_path, 'cirros', b'cirros')
    files.record(item, theirs['id'], 'adopted')
    target.mark()

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, [item], files)

    assert str(failed.value) == (
        '%s: %s, which the journal records as adopted, is deactivated'
        % (dr.describe(item), theirs['id']))
    assert target.writes() == []


def _for_a_server(target, files, tmp_path):
    net, sub = _network_for_servers(target, files)
    size = flavor('m1.tiny')
    base = target.add_image('base', b'base')
    data = volume('data', tmp_path, b'data bytes')
    nic = port('nic', net, [(sub, '10.20.0.9')])
    item = server('web', size['id'], 'base-key', ports=[nic], volumes=[data])
    return [size, net, sub, data, nic, item], {'base-key': base['id']}


def test_a_port_of_ours_lost_in_the_target_is_made_again_and_put_back(
        fake_cloud, tmp_path, files):
    """The target lost a port of a server the import made: the next run
    makes the port again, with its address, and puts it on the server; a
    server is complete only with every exported port."""
    target = Target(fake_cloud)
    items, ids = _for_a_server(target, files, tmp_path)
    nic = items[-2]
    run(fake_cloud, items, files, ids=ids)
    made, = target.servers.values()
    lost = files.uuids_map()[('port', nic['id'])]
    del target.ports[lost]
    made['ports'].remove(lost)

    look = run(fake_cloud, items, files, ids=ids, check_mode=True)
    assert nic['id'] in look.pending and items[-1]['id'] in look.pending
    done = run(fake_cloud, items, files, ids=ids)

    again = done.ids[nic['id']]
    assert again != lost
    assert target.ports[again]['device_id'] == made['id']
    assert target.ports[again]['fixed_ips'][0]['ip_address'] == '10.20.0.9'
    assert made['ports'] == [again]
    # And then nothing is left to do.
    target.mark()
    run(fake_cloud, items, files, ids=ids)
    assert target.writes() == []


@pytest.mark.parametrize('check_first', [False, True])
def test_a_dhcp_port_never_takes_a_carried_address(fake_cloud, files,
                                                   check_first):
    """With a DHCP agent, Neutron gives a subnet made with DHCP on a port at
    its first free address, before the ports that carry it can be made:
    the subnet is made with DHCP off, and DHCP turned on once the ports
    with addresses on it are there."""
    target = Target(fake_cloud)
    target.dhcp_agent = True
    net = network('app-net')
    sub = subnet('app-subnet', net)  # gateway 10.20.0.1, DHCP on
    first = port('first', net, [(sub, '10.20.0.2')])
    second = port('second', net, [(sub, '10.20.0.3')])
    items = [net, sub, first, second]
    if check_first:
        look = run(fake_cloud, items, files, check_mode=True)
        assert sub['id'] in look.pending

    done = run(fake_cloud, items, files)

    made = target.subnets[done.ids[sub['id']]]
    assert made['enable_dhcp'] is True
    addresses = {p['name']: p['fixed_ips'][0]['ip_address']
                 for p in target.ports.values()
                 if p['network_id'] == made['network_id']}
    assert (addresses['first'], addresses['second']) == ('10.20.0.2',
                                                         '10.20.0.3')
    dhcp, = [p for p in target.ports.values()
             if p['device_owner'] == 'network:dhcp'
             and p['network_id'] == made['network_id']]
    assert dhcp['fixed_ips'][0]['ip_address'] == '10.20.0.4'
    target.mark()
    again = run(fake_cloud, items, files, check_mode=True)
    assert again.pending == []


def test_a_subnet_whose_dhcp_waits_for_its_ports_gets_it_on_a_later_run(
        fake_cloud, files):
    """A run stopped after the subnet, before its ports: the next run makes
    the ports, then turns DHCP on."""
    target = Target(fake_cloud)
    target.dhcp_agent = True
    net = network('app-net')
    sub = subnet('app-subnet', net)
    nic = port('nic', net, [(sub, '10.20.0.2')])
    target.refuse('POST', '/ports', status=500, message='boom')
    with pytest.raises(dr.ImportFailed, match='boom'):
        run(fake_cloud, [net, sub, nic], files)
    made, = target.named(target.subnets, 'app-subnet')
    assert made['enable_dhcp'] is False

    run(fake_cloud, [net, sub, nic], files)

    assert made['enable_dhcp'] is True
    ours, = target.named(target.ports, 'nic')
    assert ours['fixed_ips'][0]['ip_address'] == '10.20.0.2'


def test_a_server_that_went_to_error_is_replaced_on_the_same_port(
        fake_cloud, tmp_path, files):
    target = Target(fake_cloud)
    items, ids = _for_a_server(target, files, tmp_path)
    item, nic = items[-1], items[-2]
    target.server_status = 'ERROR'

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, items, files, ids=ids)

    assert str(failed.value).startswith(dr.describe(item))
    broken, = target.servers.values()
    assert files.journal_rows()[-1][2:] == [item['id'], broken['id'],
                                            'created']
    target.server_status = 'ACTIVE'
    assert run(fake_cloud, items, files, ids=ids,
               check_mode=True).pending == [item['id']]
    target.mark()

    done = run(fake_cloud, items, files, ids=ids)

    fresh, = target.servers.values()
    assert fresh['id'] == done.ids[item['id']] != broken['id']
    assert fresh['ports'] == [done.ids[nic['id']]]
    assert len(target.ports) == 1  # the same port, not a new one
    assert fresh['os-extended-volumes:volumes_attached'][0]['id'] == \
        done.ids[items[3]['id']]
    assert target.calls('POST', '/ports') == []
    assert files.uuids_map()[('server', item['id'])] == fresh['id']


def _volume_backed_server(target, files, tmp_path):
    """A server booted from its root volume, with a data volume, both
    deleted with it in the source (delete_on_termination)."""
    net, sub = _network_for_servers(target, files)
    size = flavor('m1.tiny')
    root = volume('root', tmp_path, b'root disk', bootable=True)
    data = volume('data', tmp_path, b'data bytes')
    nic = port('nic', net, [(sub, '10.20.0.9')])
    item = server('db', size['id'], boot_volume=root, ports=[nic],
                  volumes=[data])
    item['delete_on_termination'] = [root['id'], data['id']]
    return [size, net, sub, root, data, nic, item]


def _marked(target, server_id):
    """A server's volumes: delete_on_termination, by volume ID."""
    return {v['id']: v['delete_on_termination'] for v in
            target.servers[server_id]['os-extended-volumes:volumes_attached']}


@pytest.mark.parametrize('nova_detaches', [True, False])
def test_a_server_in_error_is_replaced_on_the_same_volumes(
        fake_cloud, tmp_path, files, nova_detaches):
    """Nova deletes the volumes marked delete_on_termination with the
    server, the root volume too, and may leave the others attached to it
    (a Nova without Cinder's service token): the server made again in one
    run is on the same volumes, with their data, marked again."""
    target = Target(fake_cloud)
    target.nova_detaches = nova_detaches
    items = _volume_backed_server(target, files, tmp_path)
    root, data, item = items[3], items[4], items[-1]
    first = run(fake_cloud, items, files)
    broken = first.ids[item['id']]
    volumes = [first.ids[root['id']], first.ids[data['id']]]
    assert _marked(target, broken) == dict.fromkeys(volumes, True)
    target.servers[broken]['status'] = 'ERROR'
    target.mark()

    done = run(fake_cloud, items, files)

    fresh = done.ids[item['id']]
    assert list(target.servers) == [fresh] != [broken]
    assert [done.ids[root['id']], done.ids[data['id']]] == volumes
    assert [target.volume_data[v] for v in volumes] == [b'root disk',
                                                        b'data bytes']
    assert [a['server_id'] for v in volumes
            for a in target.volumes[v]['attachments']] == [fresh, fresh]
    assert _marked(target, fresh) == dict.fromkeys(volumes, True)
    assert target.calls('POST', '/volumes') == []
    assert files.uuids_map()[('server', item['id'])] == fresh


def test_a_server_that_failed_to_build_is_replaced_on_its_root_volume(
        fake_cloud, tmp_path, files):
    """Nova deletes a volume marked delete_on_termination as soon as a
    build fails, or with the server in ERROR: it is marked only once the
    server is ACTIVE."""
    target = Target(fake_cloud)
    items = _volume_backed_server(target, files, tmp_path)
    root, item = items[3], items[-1]
    target.server_status = 'ERROR'
    with pytest.raises(dr.ImportFailed):
        run(fake_cloud, items, files)
    broken, = target.servers
    assert set(_marked(target, broken).values()) == {False}
    target.server_status = 'ACTIVE'

    done = run(fake_cloud, items, files)

    fresh = done.ids[item['id']]
    assert list(target.servers) == [fresh] != [broken]
    assert target.volume_data[done.ids[root['id']]] == b'root disk'
    assert set(_marked(target, fresh).values()) == {True}


def test_an_older_nova_never_loses_a_volume_to_replace_a_server(
        fake_cloud, tmp_path, files):
    """Before compute API 2.85 delete_on_termination cannot be turned off:
    the server in ERROR is not deleted, and the import says what to do."""
    target = Target(fake_cloud)
    items = _volume_backed_server(target, files, tmp_path)
    item = items[-1]
    first = run(fake_cloud, items, files)
    broken = first.ids[item['id']]
    target.servers[broken]['status'] = 'ERROR'
    fake_cloud.mocker.get(NOVA, json={'version': {
        'id': 'v2.1', 'status': 'CURRENT', 'links': [
            {'rel': 'self', 'href': NOVA + '/'}],
        'min_version': '2.1', 'version': '2.84'}})
    before = target.snapshot()

    for check_mode in (True, False):
        with pytest.raises(dr.ImportFailed) as failed:
            run(fake_cloud, items, files, check_mode=check_mode)
        assert str(failed.value).startswith(
            "%s: %s is ERROR; deleting it would delete volume(s) " % (
                dr.describe(item), broken))
        assert 'compute API 2.85' in str(failed.value)

    assert target.snapshot() == before


@pytest.mark.parametrize('status', ['error_extending', 'error_restoring',
                                    'error_backing-up', 'error_deleting'])
def test_a_volume_whose_data_may_be_there_is_never_replaced(
        fake_cloud, tmp_path, files, status):
    """Only 'error' (its creation failed) is replaced; in another failed
    state a volume may still hold its data: the look and the run stop,
    naming it, its status and what to do."""
    target = Target(fake_cloud)
    item = volume('data', tmp_path, b'data bytes')
    made = run(fake_cloud, [item], files).ids[item['id']]
    target.volumes[made]['status'] = status
    before = target.snapshot()

    for check_mode in (True, False):
        with pytest.raises(dr.ImportFailed) as failed:
            run(fake_cloud, [item], files, check_mode=check_mode)
        message = str(failed.value)
        assert message.startswith('%s: %s is %s; its data may still be '
                                  'there' % (dr.describe(item), made, status))
        assert 'openstack volume set --state available %s' % made in message

    assert target.snapshot() == before
    assert target.volume_data[made] == b'data bytes'


@pytest.mark.parametrize('disk_format', ['qcow2', 'raw', None])
def test_a_volumes_contents_travel_in_the_format_they_were_captured_in(
        fake_cloud, tmp_path, files, disk_format):
    """qcow2 since issue 16, raw on request; a playbook of an earlier
    downpour says nothing, and its contents are raw."""
    target = Target(fake_cloud)
    item = volume('data', tmp_path, b'data bytes')
    if disk_format:
        item['disk_format'] = disk_format

    done = run(fake_cloud, [item], files)

    posted, = target.bodies('POST', '/images')
    assert (posted['name'], posted['disk_format']) == (
        'downpour-volume-' + item['id'], disk_format or 'raw')
    made = target.volumes[done.ids[item['id']]]
    assert target.volume_data[made['id']] == b'data bytes'
    assert target.images == {}  # deleted once the volume has them


def test_a_volume_in_error_is_replaced_from_the_same_contents(fake_cloud,
                                                              tmp_path,
                                                              files):
    target = Target(fake_cloud)
    item = volume('data', tmp_path, b'data bytes')
    target.volume_status = 'error'

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, [item], files)

    assert str(failed.value).startswith(dr.describe(item))
    broken, = target.volumes.values()
    # The temporary image stays for the next run, recorded.
    contents, = target.images.values()
    assert ['volume contents', 'downpour-volume-' + item['id'], item['id'],
            contents['id'], 'created'] in files.journal_rows()
    target.volume_status = 'available'
    target.mark()

    done = run(fake_cloud, [item], files)

    fresh, = target.volumes.values()
    assert fresh['id'] == done.ids[item['id']] != broken['id']
    assert target.volume_data[fresh['id']] == b'data bytes'
    assert fresh['bootable'] == 'false'
    # Not uploaded again; deleted once the volume has its bytes.
    assert target.calls('PUT', '/images/{id}/file') == []
    assert target.images == {}
    assert files.uuids_map() == {('volume', item['id']): fresh['id']}


def test_a_volume_refused_by_cinder_reuses_its_uploaded_contents(fake_cloud,
                                                                 tmp_path,
                                                                 files):
    target = Target(fake_cloud)
    items = [volume('a', tmp_path, b'a bytes'), volume('b', tmp_path,
                                                       b'b bytes')]
    target.refuse('POST', '/volumes', status=413,
                  message='VolumeSizeExceedsAvailableQuota')

    with pytest.raises(dr.ImportFailed, match='VolumeSizeExceeds'):
        run(fake_cloud, items, files)

    assert len(target.volumes) == 1
    done = run(fake_cloud, items, files)

    assert {target.volume_data[done.ids[i['id']]] for i in items} == {
        b'a bytes', b'b bytes'}
    assert len(target.calls('PUT', '/images/{id}/file')) == 2  # once each
    assert target.images == {}


def test_a_server_whose_attachment_failed_gets_it_next_run(fake_cloud,
                                                           tmp_path, files):
    target = Target(fake_cloud)
    items, ids = _for_a_server(target, files, tmp_path)
    item = items[-1]
    target.refuse('POST', '/servers/{id}/os-volume_attachments', status=500,
                  message='attach failed')

    with pytest.raises(dr.ImportFailed, match='attach failed'):
        run(fake_cloud, items, files, ids=ids)

    made, = target.servers.values()
    assert made['os-extended-volumes:volumes_attached'] == []
    look = run(fake_cloud, items, files, ids=ids, check_mode=True)
    assert look.pending == [item['id']]
    target.mark()

    run(fake_cloud, items, files, ids=ids)

    assert list(target.servers) == [made['id']]
    assert [v['id'] for v in made['os-extended-volumes:volumes_attached']] \
        == [target.named(target.volumes, 'data')[0]['id']]
    assert target.calls('POST', '/servers') == []


def test_a_server_shut_off_since_gets_its_volume_as_it_is(
        fake_cloud, tmp_path, files, monkeypatch):
    """Ours, shut off by its user after a run that could not attach its
    volume: the next run attaches it without waiting for ACTIVE (which
    would never come) and without starting it."""
    monkeypatch.setattr(server_home, 'WAIT_SERVER', 3)  # fail fast, not in 15 min
    target = Target(fake_cloud)
    items, ids = _for_a_server(target, files, tmp_path)
    target.refuse('POST', '/servers/{id}/os-volume_attachments', status=500,
                  message='attach failed')
    with pytest.raises(dr.ImportFailed, match='attach failed'):
        run(fake_cloud, items, files, ids=ids)
    made, = target.servers.values()
    made['status'] = 'SHUTOFF'
    target.mark()

    run(fake_cloud, items, files, ids=ids)

    assert made['status'] == 'SHUTOFF'
    assert [v['id'] for v in made['os-extended-volumes:volumes_attached']] \
        == [target.named(target.volumes, 'data')[0]['id']]
    assert target.writes() == [
        ('POST', '/servers/{id}/os-volume_attachments')]


def test_a_server_nova_refused_is_made_next_run_on_the_same_port(
        fake_cloud, tmp_path, files):
    target = Target(fake_cloud)
    items, ids = _for_a_server(target, files, tmp_path)
    target.refuse('POST', '/servers', status=403,
                  message='Quota exceeded for instances')

    with pytest.raises(dr.ImportFailed, match='Quota exceeded'):
        run(fake_cloud, items, files, ids=ids)

    nic, = target.ports.values()
    target.mark()
    done = run(fake_cloud, items, files, ids=ids)

    assert target.calls('POST', '/ports') == []
    assert target.servers[done.ids[items[-1]['id']]]['ports'] == [nic['id']]


def test_a_router_interface_interrupted_is_finished_next_run(fake_cloud,
                                                             files):
    target = Target(fake_cloud)
    net = network('n')
    sub = subnet('s', net)
    item = router('r', interfaces=[(sub, '10.20.0.7')])
    target.refuse('PUT', '/routers/{id}/add_router_interface', status=500,
                  message='timed out')

    with pytest.raises(dr.ImportFailed, match='timed out'):
        run(fake_cloud, [net, sub, item], files)

    done = run(fake_cloud, [net, sub, item], files)

    interface, = target.ports.values()
    assert interface['device_id'] == done.ids[item['id']]
    assert interface['fixed_ips'][0]['ip_address'] == '10.20.0.7'


def test_a_blob_changed_since_the_export_is_refused_the_others_kept(
        fake_cloud, tmp_path, files):
    target = Target(fake_cloud)
    first = image(tmp_path, 'first', b'one')
    second = image(tmp_path, 'second', b'two')
    # The output directory was copied badly, or edited.
    with open(second['filename'], 'ab') as blob:
        blob.write(b'more')

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, [first, second], files)

    message = str(failed.value)
    assert message.startswith(dr.describe(second) + ': %s does not hold the '
                              'exported bytes' % second['filename'])
    assert 'export again' in message
    assert "image 'first'" not in message
    made, = target.images.values()
    assert made['name'] == 'first'
    assert files.uuids_map()[('image', first['id'])] == made['id']


# -- what the module keeps from before -----------------------------------------------


def test_one_rule_request_per_group(fake_cloud, files):
    target = Target(fake_cloud)
    ports = [tcp(p) for p in (22, 80, 443, 8080)]
    items = [group('a', ports), group('b', ports), group('c', [])]
    target.mark()

    done = run(fake_cloud, items, files)

    posts = target.bodies('POST', '/security-group-rules')
    # One each for a and b, in whichever order their threads sent them.
    by_group = {}
    for body in posts:
        group_ids = {r['security_group_id']
                     for r in body['security_group_rules']}
        assert len(group_ids) == 1
        by_group[group_ids.pop()] = len(body['security_group_rules'])
    assert by_group == {done.ids[items[0]['id']]: 4,
                        done.ids[items[1]['id']]: 4}
    # Neutron's two egress rules on each new group are not exported.
    assert len(target.calls('DELETE')) == 6
    assert all(_rules(target.groups[done.ids[i['id']]]) ==
               sorted(_tcp_key(p) for p in (22, 80, 443, 8080) if i['rules'])
               for i in items)


def test_a_rule_may_name_a_group_made_later(fake_cloud, files):
    target = Target(fake_cloud)
    b = group('b')
    a = group('a', [rule(protocol='tcp', remote_group=b['id'])])
    b['rules'] = [rule(protocol='udp', remote_group=a['id'])]

    done = run(fake_cloud, [a, b], files)

    remote = {g['name']: [r['remote_group_id']
                          for r in g['security_group_rules']
                          if r['direction'] == 'ingress']
              for g in target.groups.values()}
    assert remote['a'] == [done.ids[b['id']]]
    assert remote['b'] == [done.ids[a['id']]]


def test_a_router_interface_off_the_gateway_keeps_its_address(fake_cloud,
                                                             files):
    target = Target(fake_cloud)
    net = network('n')
    sub = subnet('s', net)
    item = router('r', interfaces=[(sub, '10.20.0.7')])

    done = run(fake_cloud, [net, sub, item], files)

    interface, = [p for p in target.ports.values()
                  if p['device_id'] == done.ids[item['id']]]
    assert interface['fixed_ips'] == [{'subnet_id': done.ids[sub['id']],
                                       'ip_address': '10.20.0.7'}]
    assert interface['network_id'] == done.ids[net['id']]


def test_errors_of_the_cloud_name_the_resource(fake_cloud, files):
    target = Target(fake_cloud)
    net = network('n')
    sub = subnet('s', net)
    items = [net, sub, router('first', interfaces=[(sub, None)]),
             router('second')]
    target.refuse('POST', '/routers', status=409,
                  message='Quota exceeded for resources: router.', after=1)

    # One at a time: 'first' (which waits for its subnet) is sent first.
    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, items, files, parallel=1)

    message = str(failed.value)
    assert message.startswith(dr.describe(items[3]) + ': '), message
    assert 'Quota exceeded for resources: router.' in message
    assert "'first'" not in message


def test_an_interface_error_names_its_router(fake_cloud, files):
    target = Target(fake_cloud)
    net = network('n')
    sub = subnet('s', net)
    first = router('first', interfaces=[(sub, None)])
    items = [net, sub, first, router('second')]
    target.refuse('PUT', '/routers/{id}/add_router_interface', status=409,
                  message='Router already has a port on subnet')

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, items, files)

    assert str(failed.value).startswith(dr.describe(first)), \
        str(failed.value)
    assert 'Router already has a port on subnet' in str(failed.value)


def test_the_look_sees_our_router_without_its_gateway(fake_cloud, files):
    target = Target(fake_cloud)
    public = external('public')
    item = router('r', gateway=public)
    found = target.add_router('r')  # ours, and someone cleared its gateway
    files.record(item, found['id'])
    lists = {'downpour_external_networks': [public],
             'downpour_routers': [item]}

    look, _, ran = play(fake_cloud, lists, files)

    assert look.pending == [item['id']]
    assert ran == ['create']
    assert found['external_gateway_info']['network_id'] == \
        target.public['id']
    # Moved to another external network: the look sees that too.
    other = target.add_network('other-ext', project=OTHER_PROJECT,
                               external=True)
    look, _, ran = play(fake_cloud, lists, files,
                        network_map={'public': 'other-ext'})
    assert ran == ['create']
    assert found['external_gateway_info']['network_id'] == other['id']
    assert list(target.routers) == [found['id']]


def test_external_networks_are_chosen_never_made(fake_cloud):
    target = Target(fake_cloud)
    same, mapped, only = external('public'), external('provider'), \
        external('elsewhere')
    target.mark()

    look = run(fake_cloud, [same, mapped, only], check_mode=True,
               network_map={'provider': 'public'})

    # By name, by network_map, and as the target's only external network.
    assert look.ids == {item['id']: target.public['id']
                        for item in (same, mapped, only)}
    assert look.missing == [] and look.pending == []

    # With two external networks, one not named is missing, not guessed;
    # a network_map entry naming nothing is missing too.
    target.add_network('ext-2', project=OTHER_PROJECT, external=True)
    look = run(fake_cloud, [same, mapped, only],
               network_map={'provider': 'gone'})
    assert look.ids == {same['id']: target.public['id']}
    assert look.missing == [mapped['id'], only['id']]
    assert target.writes() == []


def test_flavors_are_chosen_never_made(fake_cloud, files):
    target = Target(fake_cloud)
    target.add_flavor('t2.large', 2, 4096, 40)
    target.add_flavor('t2.micro', 1, 512, 1)
    same = flavor('m1.tiny')
    mapped = flavor('gold', vcpus=8)
    sized = flavor('ds1.custom', ram=1024, disk=10)
    huge = flavor('huge', vcpus=64)
    target.mark()

    look = run(fake_cloud, [same, mapped, sized, huge], files,
               check_mode=True, flavor_map={'gold': 't2.large'})

    # By name; by flavor_map (whatever its size); the smallest as large.
    assert look.ids == {same['id']: 'flavor-m1.tiny',
                        mapped['id']: 'flavor-t2.large',
                        sized['id']: 'flavor-m1.small'}
    assert look.missing == [huge['id']]
    assert look.pending == []
    assert target.calls() == [('GET', '/flavors/detail')]
    # A missing flavor stops the playbook before anything is made.
    with pytest.raises(Stopped):
        play(fake_cloud, {'downpour_flavors': [huge],
                          'downpour_networks': [network('n')]}, files)
    assert target.writes() == []


def test_an_unknown_type_is_refused_before_anything_is_done(fake_cloud):
    target = Target(fake_cloud)
    target.mark()
    with pytest.raises(dr.ImportFailed, match='unknown resource type'):
        run(fake_cloud, [network('n'), {'type': 'dns_zone', 'id': 'v',
                                        'name': 'v'}])
    assert target.calls() == []


def test_a_subnet_without_a_gateway_is_made_without_one(fake_cloud, files):
    """Neutron gives a subnet a gateway unless told null."""
    target = Target(fake_cloud)
    net = network('n')
    sub = subnet('s', net, gateway=None)

    done = run(fake_cloud, [net, sub], files)

    assert target.subnets[done.ids[sub['id']]]['gateway_ip'] is None


def test_a_recorded_group_renamed_in_the_target_gets_its_name_back(
        fake_cloud, files):
    target = Target(fake_cloud)
    found = target.add_group('renamed', description='web servers')
    item = group('web', description='web servers')
    files.record(item, found['id'])

    look = run(fake_cloud, [item], files, check_mode=True)
    assert look.pending == [item['id']]
    run(fake_cloud, [item], files)

    assert target.groups[found['id']]['name'] == 'web'
    assert len(target.named(target.groups, 'web')) == 1


def test_with_parallel_1_images_and_volumes_are_made_one_by_one(
        fake_cloud, tmp_path, files):
    target = Target(fake_cloud)
    items = [image(tmp_path, 'i%d' % n, b'%d' % n) for n in range(3)] + \
        [volume('v%d' % n) for n in range(3)]

    done = run(fake_cloud, items, files, parallel=1)

    assert sorted(i['name'] for i in target.images.values()) == \
        ['i0', 'i1', 'i2']
    assert sorted(v['name'] for v in target.volumes.values()) == \
        ['v0', 'v1', 'v2']
    assert set(files.uuids_map().values()) == set(done.ids.values())


# -- the module as Ansible sees it -----------------------------------------------


@functools.cache
def shipped():
    """The collection as an export ships it (downpour.migrate, the engine
    in its module_utils), and its module, imported by the name Ansible's
    loader gives it."""
    out = tempfile.mkdtemp(prefix='downpour-collection-')
    path = ansiblefiles.write_collection(out)
    collections = os.path.join(out, 'collections')
    sys.path.insert(0, collections)
    try:
        module = importlib.import_module(
            'ansible_collections.downpour.migrate.plugins.modules.resources')
    finally:
        sys.path.remove(collections)
    return path, module


def ansible(capsys, files, resources, check_mode=False, **params):
    """DownpourResources run as Ansible runs it, in this process (so that
    requests-mock answers): its JSON result."""
    from ansible.module_utils.common import warnings as ansible_warnings
    from ansible.module_utils.testing import patch_module_args
    # Ansible keeps a module's warnings in a process-wide set, one process
    # per module run; here every run shares this process.
    ansible_warnings._global_warnings.clear()
    args = dict(params, resources=resources, journal=str(files.journal),
                uuids_csv=str(files.uuids), auth_type='password',
                auth=FakeCloud.cloud_config['auth'], region_name='RegionOne',
                _ansible_check_mode=check_mode)
    with patch_module_args(args), pytest.raises(SystemExit):
        shipped()[1].DownpourResources()()
    return json.loads(capsys.readouterr().out)


def test_the_module_reports_what_it_created_in_the_exports_order(
        fake_cloud, capsys, files, monkeypatch):
    """The first network is the last one made: the report still lists it
    first."""
    Target(fake_cloud)
    real = Networks.create

    def create(kind, item):
        if item['name'] == 'first':
            threading.Event().wait(0.5)
        return real(kind, item)
    monkeypatch.setattr(Networks, 'create', create)
    items = [network('first'), network('second')]

    done = ansible(capsys, files, items)

    assert [made['name'] for made in done['created']] == ['first', 'second']


def test_a_second_import_of_the_directory_at_once_stops_naming_the_first(
        fake_cloud, capsys, files, tmp_path):
    """While another run of the playbook holds the output directory (a
    process alive since the time its lock says), the module stops at once
    and names it; once that run is gone, its lock is taken over."""
    from downpour.importer import lock
    target = Target(fake_cloud)
    items = [network('app-net')]
    first = subprocess.Popen(['sleep', '60'])  # our own command
    try:
        started = lock._stat(first.pid)[1]
        (tmp_path / lock.LOCK).write_text('%d %s\n' % (first.pid, started))
        target.mark()

        stopped = ansible(capsys, files, items)

        assert stopped['failed'] is True
        assert stopped['msg'].startswith(
            'another import of this output directory is running '
            '(ansible-playbook, process %d)' % first.pid)
        assert target.calls() == []
        assert not files.journal.exists()
    finally:
        first.kill()
        first.wait()

    done = ansible(capsys, files, items)

    assert done['changed'] is True
    assert (tmp_path / lock.LOCK).read_text().split()[0] == str(os.getpid())


def test_a_module_left_working_by_a_killed_playbook_stops_the_next_run(
        fake_cloud, capsys, files, tmp_path):
    """ansible-playbook killed, its module goes on under another parent:
    the lock then names a dead process, but the module's own hold on the
    directory stops the next run until that module has ended."""
    from downpour.importer import lock
    target = Target(fake_cloud)
    items = [network('app-net')]
    # Stands for the orphaned module: a process holding the directory.
    orphan = subprocess.Popen(  # our own command
        [sys.executable, '-c', 'import sys, time; '
         'from downpour.importer import lock; lock._hold_busy(sys.argv[1]); '
         'print("held", flush=True); time.sleep(60)', str(tmp_path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert orphan.stdout.readline() == 'held\n'
        target.mark()

        stopped = ansible(capsys, files, items)

        assert stopped['failed'] is True
        assert stopped['msg'].startswith(
            'an import of this output directory is still working (process '
            '%d)' % orphan.pid)
        assert target.calls() == []
    finally:
        orphan.kill()
        orphan.wait()

    done = ansible(capsys, files, items)

    assert done['changed'] is True
    assert (tmp_path / lock.BUSY).read_text().split() == [str(os.getpid())]


def test_the_lock_names_the_playbook_the_module_runs_under(tmp_path):
    """A module runs in a process under a worker that ansible-playbook
    forked for its task (ansible-playbook too): the lock names the first
    ansible-playbook, which every task of the run shares."""
    playbook = tmp_path / 'ansible-playbook'
    playbook.write_text(
        '#!%s\n'
        'import os, subprocess, sys\n'
        'print(os.getpid(), flush=True)\n'
        'worker = os.fork()\n'
        'if worker == 0:\n'
        '    subprocess.run([sys.executable, "-c", "from downpour.importer '
        'import lock; print(lock.owner()[0])"], check=True)\n'
        '    os._exit(0)\n'
        'os.waitpid(worker, 0)\n' % sys.executable)
    playbook.chmod(0o700)
    proc = subprocess.run(  # our own command
        [sys.executable, str(playbook)], capture_output=True, text=True,
        check=True, timeout=60)
    playbook_pid, owner_pid = proc.stdout.split()
    assert owner_pid == playbook_pid


def test_the_module_reports_what_the_playbook_uses(fake_cloud, capsys,
                                                   files):
    target = Target(fake_cloud)
    theirs = target.add_network('clash')
    items = [network('app-net'), network('clash')]
    target.mark()

    look = ansible(capsys, files, items, check_mode=True)

    assert target.writes() == []
    assert (look['changed'], look['pending'], look['pending_types']) == (
        True, [i['id'] for i in items], ['network'])
    assert look['ids'] == {} and look['missing'] == []
    clash, = look['clashes']
    assert theirs['id'] in clash
    # ansible-core 2.19 wraps each warning in a summary.
    assert [w['event']['msg'] if isinstance(w, dict) else w
            for w in look['warnings']] == [clash]

    done = ansible(capsys, files, items)

    assert done['changed'] is True
    assert [(c['old'], c['new']) for c in done['created']] == [
        (i['id'], done['ids'][i['id']]) for i in items]
    assert files.uuids_map() == {('network', i['id']): done['ids'][i['id']]
                                 for i in items}
    # A second look: nothing to do, nothing changed.
    again = ansible(capsys, files, items, check_mode=True)
    assert (again['changed'], again['pending'], again['clashes']) == (
        False, [], [])


def test_the_module_fails_naming_the_resource_and_keeps_the_map(
        fake_cloud, capsys, files):
    target = Target(fake_cloud)
    items = [network('a'), network('b')]
    target.refuse('POST', '/networks', status=409, message='Quota exceeded',
                  name='b')

    failed = ansible(capsys, files, items)

    assert failed['failed'] is True
    assert failed['msg'].startswith(dr.describe(items[1]))
    assert 'Quota exceeded' in failed['msg']
    made, = target.named(target.networks, 'a')
    assert [c['new'] for c in failed['created']] == [made['id']]
    assert files.uuids_map() == {('network', items[0]['id']): made['id']}


def test_the_module_refuses_the_project_the_export_read(fake_cloud, capsys,
                                                      files, tmp_path):
    """Pointed at the source's own project (the same project ID, at
    whatever address), the import stops before it looks at anything or
    takes the lock; with allow_source_project it runs, saying so."""
    from downpour.importer import lock
    from tests.unit.fakecloud import PROJECT_ID
    target = Target(fake_cloud)
    items = [network('app-net')]
    source = {'project_id': PROJECT_ID, 'project_name': 'shop',
              'host': 'keystone.example.org:5000'}
    target.mark()

    for check_mode in (True, False):
        refused = ansible(capsys, files, items, check_mode=check_mode,
                          source_project=source)

        assert refused['failed'] is True
        assert refused['msg'] == (
            'the target is the project the export read (project %s "shop" '
            'at keystone.example.org:5000): refusing to import into the '
            'source; -e allow_source_project=true to do it on purpose'
            % PROJECT_ID)
        assert target.calls() == []
        assert not files.journal.exists() and not files.uuids.exists()
        assert not (tmp_path / lock.LOCK).exists()

    look = ansible(capsys, files, items, check_mode=True,
                   source_project=source, allow_source_project=True)

    assert look['pending'] == [items[0]['id']]
    assert [w['event']['msg'] if isinstance(w, dict) else w
            for w in look['warnings']] == [
        'the target is the project the export read (project %s "shop" at '
        'keystone.example.org:5000): importing into it, as '
        'allow_source_project asks' % PROJECT_ID]
    done = ansible(capsys, files, items, source_project=source,
                   allow_source_project=True)
    assert done['changed'] is True
    assert target.named(target.networks, 'app-net')


def test_the_module_imports_into_another_project_than_the_exports(
        fake_cloud, capsys, files):
    target = Target(fake_cloud)
    items = [network('app-net')]
    other = {'project_id': OTHER_PROJECT, 'host': '127.0.0.1:15000'}

    done = ansible(capsys, files, items, source_project=other)

    assert done['changed'] is True and not done.get('warnings')
    assert target.named(target.networks, 'app-net')


def test_the_documentation_is_yaml_and_lists_every_option():
    module = shipped()[1]
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert set(doc['options']) == set(module.DownpourResources.argument_spec)
    assert doc['options']['name_clash']['choices'] == ['create', 'stop',
                                                       'adopt']
    assert set(yaml.safe_load(module.RETURN)) == {
        'ids', 'pending', 'pending_types', 'created', 'clashes', 'missing',
        'choices', 'unmatched', 'stale', 'orphans',
        'addresses'}


def test_ansible_doc_shows_the_module_and_its_options():
    tool = os.path.join(os.path.dirname(sys.executable), 'ansible-doc')
    if not os.path.exists(tool):
        pytest.skip('ansible-doc is not installed beside this Python')
    path = shipped()[0]
    # Found as Ansible finds it beside a playbook: a collections path.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(
        path.split(os.sep + 'ansible_collections' + os.sep)[0]))
    proc = subprocess.run(  # our own command
        [tool, '--json', 'downpour.migrate.resources'],
        capture_output=True, text=True, timeout=120, check=True, env=env)
    doc = json.loads(proc.stdout)['downpour.migrate.resources']['doc']
    options = doc['options']
    assert options['resources']['required'] is True
    assert {'ids', 'journal', 'uuids_csv', 'name_clash', 'network_map',
            'flavor_map', 'parallel', 'cloud', 'auth'} <= set(options)

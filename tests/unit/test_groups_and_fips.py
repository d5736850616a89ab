"""Server groups and floating IPs on the export side: found once, exported
once, referred to by old ID, rendered as data; the ``floating_ips``
section of the resource file and ``downpour query --floating-ip``."""

import pytest
import yaml

from downpour import export, manifest, query, render
from downpour.errors import ResolveError, ResourceFileError
from downpour.importer.floating_ip import write_addresses
from downpour.resourcefile import Entry, ResourceFile
from downpour.resources.base import Record
from tests.unit.resources import sample
from tests.unit.test_render import HOSTILE, _load


def _resolve(fake_cloud, entries, servers=None, fips=None, groups=None):
    sample.register(fake_cloud)
    if servers is not None:
        fake_cloud.get('compute', '/servers/detail',
                       json={'servers': servers})
    if fips is not None:
        fake_cloud.get('network', '/v2.0/floatingips',
                       json={'floatingips': fips})
    if groups is not None:
        fake_cloud.get('compute', '/os-server-groups',
                       json={'server_groups': groups})
    exporter = export.Exporter(fake_cloud.connect(), 'resources.yml')
    return exporter, exporter.resolve(entries)


def _of(records, rtype):
    return [r for r in records if r.type == rtype]


def _gets(fake_cloud, path):
    return [url for method, url in fake_cloud.api_calls('GET')
            if url.split('?')[0].endswith(path)]


WEB_1 = Entry('servers', name='web-1', save_state=False, index=0)
WEB_2 = Entry('servers', name='web-2', save_state=False, index=1)


# -- server groups -------------------------------------------------------------

def test_a_group_of_two_servers_is_listed_and_exported_once(fake_cloud):
    _, records = _resolve(fake_cloud, [WEB_1, WEB_2])
    group, = _of(records, 'server_group')
    assert (group.old_id, group.name) == (sample.GROUP, 'web-group')
    assert group.params == {'policy': 'anti-affinity',
                            'rules': {'max_server_per_host': 2}}
    servers = _of(records, 'server')
    assert [s.refs['server_group'] for s in servers] == [group, group]
    assert all(records.index(group) < records.index(s) for s in servers)
    assert len(_gets(fake_cloud, '/os-server-groups')) == 1


def test_a_server_that_names_no_group_lists_no_groups(fake_cloud):
    servers = sample.servers()
    servers[0]['server_groups'] = []   # compute 2.71+: in no group
    _, records = _resolve(fake_cloud, [WEB_1], servers=servers)
    assert _of(records, 'server_group') == []
    assert 'server_group' not in _of(records, 'server')[0].refs
    assert _gets(fake_cloud, '/os-server-groups') == []


def test_before_2_71_the_group_is_found_by_its_members(fake_cloud):
    servers = sample.servers()
    for server in servers:
        del server['server_groups']
    _, records = _resolve(fake_cloud, [WEB_1], servers=servers)
    group, = _of(records, 'server_group')
    assert _of(records, 'server')[0].refs['server_group'] is group


def test_a_server_whose_group_is_in_no_list_gets_none(fake_cloud):
    servers = sample.servers()
    servers[0]['server_groups'] = ['eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee']
    exporter, records = _resolve(fake_cloud, [WEB_1], servers=servers)
    assert _of(records, 'server_group') == []
    warning, = [w for w in exporter.warnings if 'server group' in w]
    assert 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee' in warning
    assert 'outside any group' in warning


def test_members_left_behind_are_named(fake_cloud):
    exporter, _ = _resolve(fake_cloud, [WEB_1])
    warning, = [w for w in exporter.warnings if 'not exported' in w
                and 'member' in w]
    assert sample.SERVER_2 in warning
    exporter, _ = _resolve(fake_cloud, [WEB_1, WEB_2])
    assert not [w for w in exporter.warnings if 'member' in w]


def test_older_policies_give_the_policy_and_odd_rules_are_dropped(
        fake_cloud):
    group = dict(sample.server_groups()[0], policy=None,
                 policies=['soft-affinity'],
                 rules={'max_server_per_host': 3, 'odd': True,
                        'nested': {'a': 1}})
    _, records = _resolve(fake_cloud, [WEB_1], groups=[group])
    record, = _of(records, 'server_group')
    assert record.params == {'policy': 'soft-affinity',
                             'rules': {'max_server_per_host': 3}}


def test_a_group_with_an_id_that_is_not_a_uuid_is_refused(fake_cloud):
    group = dict(sample.server_groups()[0], id='../../etc')
    servers = sample.servers()
    servers[0]['server_groups'] = ['../../etc']
    with pytest.raises(ResolveError, match='not a UUID'):
        _resolve(fake_cloud, [WEB_1], servers=servers, groups=[group])


# -- floating IPs ----------------------------------------------------------------

def test_the_floating_ip_on_a_servers_port_comes_with_it(fake_cloud):
    exporter, records = _resolve(fake_cloud, [WEB_1])
    fip, = _of(records, 'floating_ip')
    # web-1's own port (the VIP port its pairs name comes along too).
    port, = [p for p in _of(records, 'port') if p.info.get('device_id')
             == sample.SERVER_1 or p is fip.refs.get('port')]
    public, = _of(records, 'external_network')
    assert (fip.old_id, fip.name) == (sample.FIP, '203.0.113.20')
    assert fip.refs == {'network': public, 'port': port}
    assert fip.params == {'description': 'web-1 public',
                          'tags': ['public', 'web'],
                          'fixed_ip_address': '10.20.0.101'}
    # Made after the server that brought it.
    assert records.index(fip) > records.index(_of(records, 'server')[0])
    warning, = [w for w in exporter.warnings if '203.0.113.20' in w]
    assert warning.startswith('floating IP 203.0.113.20 (%s)' % sample.FIP)
    assert 'cannot choose' in warning and 'addresses.csv' in warning
    # One list call, whatever number of ports.
    assert len(_gets(fake_cloud, '/v2.0/floatingips')) == 1


def test_a_server_without_one_brings_none(fake_cloud):
    _, records = _resolve(fake_cloud, [WEB_2])
    assert _of(records, 'floating_ip') == []


def test_an_unassociated_one_listed_by_address_or_id(fake_cloud):
    for entry in (Entry('floating_ips', address='203.0.113.30'),
                  Entry('floating_ips', id=sample.FIP_SPARE)):
        exporter, records = _resolve(fake_cloud, [entry])
        fip, = records[-1:]
        assert (fip.type, fip.old_id) == ('floating_ip', sample.FIP_SPARE)
        assert 'port' not in fip.refs
        assert 'fixed_ip_address' not in fip.params
        assert fip.refs['network'].type == 'external_network'
        # Only the external network, nothing else of the project.
        assert {r.type for r in records} == {'floating_ip',
                                             'external_network'}
        warning, = exporter.warnings
        assert warning.startswith('resources.yml: floating_ips[0]')


def test_one_listed_and_on_an_exported_port_is_exported_once(fake_cloud):
    _, records = _resolve(fake_cloud, [
        WEB_1, Entry('floating_ips', address='203.0.113.20')])
    fip, = _of(records, 'floating_ip')
    assert fip.refs['port'].old_id == sample.PORT_1
    # Listed before web-1's ports were known: associated all the same.
    _, records = _resolve(fake_cloud, [
        Entry('floating_ips', id=sample.FIP), WEB_1])
    fip, = _of(records, 'floating_ip')
    assert fip.refs['port'].old_id == sample.PORT_1


def test_one_listed_whose_port_is_not_exported_is_allocated_alone(
        fake_cloud):
    exporter, records = _resolve(fake_cloud, [
        Entry('floating_ips', address='203.0.113.20')])
    fip, = _of(records, 'floating_ip')
    assert 'port' not in fip.refs
    warning, = [w for w in exporter.warnings if 'not exported' in w]
    assert sample.PORT_1 in warning and 'without a port' in warning


def test_an_address_nobody_has_is_an_error(fake_cloud):
    with pytest.raises(ResolveError, match='matches nothing'):
        _resolve(fake_cloud, [Entry('floating_ips', address='192.0.2.1')])


def test_a_floating_ip_on_a_network_that_is_not_external_is_refused(
        fake_cloud):
    fips = sample.floating_ips()
    fips[1]['floating_network_id'] = sample.NET
    with pytest.raises(ResolveError, match='not a visible external'):
        _resolve(fake_cloud, [Entry('floating_ips', id=sample.FIP_SPARE)],
                 fips=fips)


def test_the_address_warning_is_in_the_manifest(fake_cloud, tmp_path):
    exporter, records = _resolve(fake_cloud, [WEB_1])
    manifest.write(records, str(tmp_path), warnings=exporter.warnings)
    written = yaml.safe_load((tmp_path / 'manifest.yml').read_text())
    assert [w for w in written['warnings'] if '203.0.113.20' in w]
    assert {'type': 'floating_ip', 'name': '203.0.113.20',
            'old_id': sample.FIP} == {
        k: v for k, v in written['resources'][-1].items()
        if k in ('type', 'name', 'old_id')}


# -- the playbook ------------------------------------------------------------------

def _play(records, tmp_path):
    path = tmp_path / 'playbook.yml'
    path.write_text(render.render_playbook(records), encoding='utf-8')
    play, = _load(str(path))
    return play


def test_the_playbook_makes_groups_before_servers_and_fips_after(
        fake_cloud, tmp_path):
    _, records = _resolve(fake_cloud, [WEB_1, WEB_2])
    play = _play(records, tmp_path)
    # One task makes them all: the module makes a group before the servers
    # in it (Kind.needs), and the floating IPs once the servers' ports
    # are there (after every kind that the pipeline overlaps).
    task, = [t for t in play['tasks'] if 'boot the servers' in t['name']]
    assert task['downpour.migrate.resources']['resources'] == (
        '{{ downpour_keypairs + downpour_networks + downpour_routers + '
        'downpour_security_groups + downpour_server_groups + downpour_images '
        '+ downpour_volumes + downpour_servers + downpour_floating_ips }}')
    group, = play['vars']['downpour_server_groups']
    assert (group['policy'], group['rules']) == (
        'anti-affinity', {'max_server_per_host': 2})
    servers = [i for i in play['vars']['downpour_servers']
               if i['type'] == 'server']
    assert [s['server_group'] for s in servers] == [sample.GROUP] * 2
    fip, = play['vars']['downpour_floating_ips']
    assert fip == {'type': 'floating_ip', 'id': sample.FIP,
                   'name': '203.0.113.20', 'csv_type': 'floating ip',
                   'address': '203.0.113.20',
                   'network': sample.PUBLIC_NET, 'port': sample.PORT_1,
                   'fixed_ip_address': '10.20.0.101',
                   'description': 'web-1 public',
                   'tags': ['public', 'web']}
    # The table's path is a variable, passed to the look and the task.
    assert play['vars']['addresses_csv'] == \
        '{{ playbook_dir }}/addresses.csv'
    for name in ('Look at what the target project already has',
                 'boot the servers and allocate the floating IPs'):
        task, = [t for t in play['tasks'] if name in t['name']]
        assert task['downpour.migrate.resources']['addresses_csv'] == \
            '{{ addresses_csv }}'


def test_without_floating_ips_there_is_no_address_table(fake_cloud,
                                                         tmp_path):
    _, records = _resolve(fake_cloud, [WEB_2])
    play = _play(records, tmp_path)
    assert 'downpour_floating_ips' not in play['vars']
    # The table's path is given, and nothing is written to it.
    assert write_addresses(str(tmp_path / 'addresses.csv'), []) is False
    assert not (tmp_path / 'addresses.csv').exists()


@pytest.mark.parametrize('value', HOSTILE[:40], ids=range(40))
def test_hostile_values_stay_data(tmp_path, value):
    from ansible.template import is_trusted_as_template
    net = Record(type='external_network', old_id=sample.PUBLIC_NET,
                 name=value)
    group = Record(type='server_group', old_id=sample.GROUP, name=value,
                   params={'policy': value, 'rules': {value: value}})
    fip = Record(type='floating_ip', old_id=sample.FIP, name=value,
                 params={'description': value, 'tags': [value]},
                 info={'address': value}, refs={'network': net})
    play = _play(export.ordered([net, group, fip]), tmp_path)
    group_item, = play['vars']['downpour_server_groups']
    fip_item, = play['vars']['downpour_floating_ips']
    (key, rule), = group_item['rules'].items()
    seen = [group_item['name'], group_item['policy'], key, rule,
            fip_item['name'], fip_item['address'], fip_item['description'],
            fip_item['tags'][0]]
    for got in seen:
        assert got == value
        assert isinstance(got, str)
        assert not is_trusted_as_template(got) or (
            not render._resolves_to_str(value) and '{' not in value)


# -- the resource file ----------------------------------------------------------

def _file(tmp_path, text):
    path = tmp_path / 'resources.yml'
    path.write_text(text, encoding='utf-8')
    return path


def test_floating_ips_are_named_by_address_or_id(tmp_path):
    rf = ResourceFile.load(_file(tmp_path, (
        'floating_ips:\n'
        '  - address: 203.0.113.30\n'
        '  - id: dddddddd-dddd-4ddd-8ddd-ddddddddddd2\n'
        '  - address: "2001:db8::5"\n')))
    first, second, third = rf.entries('floating_ips')
    assert (first.address, first.name, first.id) == (
        '203.0.113.30', None, None)
    assert first.describe() == "floating_ips[0] (address '203.0.113.30')"
    assert second.id.endswith('dd2') and second.address is None
    assert third.address == '2001:db8::5'


@pytest.mark.parametrize('text, message', [
    ('  - name: web-ip\n', "unknown key 'name' (keys are: address, id)"),
    ('  - address: web-ip\n', 'address must be an IP address'),
    ('  - address: 203.0.113.300\n', 'address must be an IP address'),
    ('  - address: 10\n', 'address must be a string'),
    ('  - {}\n', 'give an address or an id'),
    ('  - save_state: true\n', 'save_state only applies to'),
])
def test_a_bad_floating_ip_entry_is_refused(tmp_path, text, message):
    with pytest.raises(ResourceFileError, match=message.replace(
            '(', r'\(').replace(')', r'\)')):
        ResourceFile.load(_file(tmp_path, 'floating_ips:\n' + text))


def test_floating_ip_entries_are_saved_and_read_back(tmp_path):
    path = _file(tmp_path, '# mine\nfloating_ips:\n  - address: 192.0.2.1\n')
    rf = ResourceFile.load(path)
    assert rf.add(Entry('floating_ips', address='192.0.2.2'))
    assert not rf.add(Entry('floating_ips', address='192.0.2.1'))
    rf.save()
    text = path.read_text()
    assert '# mine' in text
    assert [e.address for e in ResourceFile.load(path).entries(
        'floating_ips')] == ['192.0.2.1', '192.0.2.2']


# -- downpour query --------------------------------------------------------------

def test_query_adds_floating_ips_by_address(fake_cloud, tmp_path):
    sample.register(fake_cloud)
    conn = fake_cloud.connect()
    rf = ResourceFile(str(tmp_path / 'resources.yml'))
    filters = query.Filters(floating_ip_addresses=['203.0.113.3*'])
    added = query.run_query(conn, rf, filters)
    assert [(e.section, e.address, e.id, e.name) for e in added] == [
        ('floating_ips', '203.0.113.30', None, None)]
    # Asked again, nothing is added twice.
    assert query.run_query(conn, rf, query.Filters(
        floating_ip_addresses=['203.0.113.*'])) == [
        Entry('floating_ips', address='203.0.113.20', index=1)]
    floating_calls = _gets(fake_cloud, '/v2.0/floatingips')
    assert len(floating_calls) == 2
    assert all('project_id=' in url for url in floating_calls)

"""The resolver: entries found by id or name, each type listed once,
dependencies followed, every resource exported once, in order."""

import hashlib
import stat

import pytest
import yaml

import downpour
from downpour import export, outdir
from downpour.cli import app
from downpour.errors import DownpourError, ResolveError
from downpour.resourcefile import Entry, ResourceFile
from tests.unit.fakecloud import PASSWORD, PROJECT_ID, TOKEN, USER_ID
from tests.unit.resources import sample


def _resolve(fake_cloud, entries):
    sample.register(fake_cloud)
    exporter = export.Exporter(fake_cloud.connect(), 'resources.yml')
    return exporter, exporter.resolve(entries)


def _by_type(records):
    found = {}
    for record in records:
        found.setdefault(record.type, []).append(record)
    return found


def test_two_servers_list_each_type_once(fake_cloud):
    _, records = _resolve(fake_cloud, [
        Entry('servers', name='web-1', index=0),
        Entry('servers', name='web-2', index=1)])
    calls = [url.split('?')[0] for method, url in fake_cloud.api_calls()
             if method == 'GET']
    for path in ('/servers/detail', '/os-keypairs', '/v2/images',
                 '/v2.0/networks', '/v2.0/subnets', '/v2.0/ports',
                 '/v2.0/routers', '/v2.0/security-groups',
                 '/volumes/detail'):
        assert sum(1 for url in calls if url.endswith(path)) == 1, path
    # Nothing fetched one by one.
    assert not [url for url in calls if sample.SERVER_1 in url]
    assert fake_cloud.api_calls('POST') == []


def test_shared_resources_are_exported_once(fake_cloud):
    _, records = _resolve(fake_cloud, [
        Entry('servers', name='web-1', save_state=False, index=0),
        Entry('servers', name='web-2', save_state=False, index=1),
        Entry('images', name='cirros', index=0),
        Entry('networks', name='app-net', index=0)])
    types = _by_type(records)
    assert [r.name for r in types['server']] == ['web-1', 'web-2']
    assert [r.name for r in types['image']] == ['cirros']
    assert [r.name for r in types['network']] == ['app-net']
    assert [r.name for r in types['subnet']] == ['app-subnet']
    assert [r.name for r in types['router']] == ['app-router']
    assert [r.name for r in types['keypair']] == ['app-key']
    assert [r.name for r in types['flavor']] == ['m1.small']
    assert [r.name for r in types['external_network']] == ['public']
    assert sorted(r.name for r in types['security_group']) == [
        'default', 'web']
    assert len({r.var for r in records}) == len(records)


def test_records_come_after_what_they_need(fake_cloud):
    _, records = _resolve(fake_cloud, [Entry('servers', name='web-1')])
    position = {id(r): i for i, r in enumerate(records)}
    for record in records:
        for dep in record.dependencies():
            if dep is not record:
                assert position[id(dep)] < position[id(record)], (
                    record, dep)
    # The floating IP on web-1's port comes after the server that brought
    # it; the server after all the rest.
    assert [r.type for r in records[-2:]] == ['server', 'floating_ip']
    assert [r.var for r in records] == [
        '%s_%03d' % (r.type, i) for i, r in enumerate(records, 1)]


def test_server_refers_to_its_dependencies(fake_cloud):
    _, records = _resolve(fake_cloud, [Entry('servers', name='web-1')])
    server = next(r for r in records if r.type == 'server')
    assert server.old_id == sample.SERVER_1
    assert server.refs['flavor'].params == {'vcpus': 1, 'ram': 2048,
                                            'disk': 20}
    # save_state (the default): the disk is captured, not the base image.
    assert server.refs['image'].type == 'server_snapshot'
    assert server.refs['image'].blob.kind == 'server'
    assert server.refs['keypair'].name == 'app-key'
    port, = server.refs['ports']
    assert port.type == 'port'
    assert port.refs['network'].old_id == sample.NET
    assert [(ip['subnet'].old_id, ip['ip_address'])
            for ip in port.refs['fixed_ips']] == [(sample.SUBNET,
                                                    '10.20.0.101')]
    # The port's own groups, in the port's order.
    assert [g.name for g in port.refs['security_groups']] == [
        'web', 'default']
    assert [g.name for g in server.refs['security_groups']] == [
        'web', 'default']
    volume, = server.refs['volumes']
    assert volume.old_id == sample.VOLUME_DATA
    assert volume.blob.kind == 'volume' and volume.blob.volume_in_use


def test_security_group_rules_keep_remote_groups(fake_cloud):
    _, records = _resolve(fake_cloud, [
        Entry('security_groups', name='web')])
    web = next(r for r in records if r.name == 'web')
    default = next(r for r in records if r.name == 'default')
    remotes = [rule.get('remote_group') for rule in web.refs['rules']]
    assert web in remotes  # self-reference kept
    assert default in remotes
    assert default.info['is_default']


def test_a_rule_limited_to_an_address_group_is_left_out_not_opened(
        fake_cloud, monkeypatch):
    groups = sample.security_groups()
    web = next(g for g in groups if g['name'] == 'web')
    limited = dict(web['security_group_rules'][1],
                   id='b0000000-0000-4000-8000-0000000000a7',
                   port_range_min=5432, port_range_max=5432,
                   remote_ip_prefix=None,
                   remote_address_group_id='c0000000-0000-4000-8000-000000000001')
    web['security_group_rules'].append(limited)
    monkeypatch.setattr(sample, 'security_groups', lambda: groups)
    exporter, records = _resolve(fake_cloud, [
        Entry('security_groups', name='web')])
    web = next(r for r in records if r.name == 'web')
    # Not carried as a rule open to every address: not carried at all.
    assert [r for r in web.refs['rules'] if r['port_range_min'] == 5432] == []
    assert len(web.refs['rules']) == 4
    warning, = [w for w in exporter.warnings if 'address group' in w]
    assert 'c0000000-0000-4000-8000-000000000001' in warning


def test_subnet_router_and_external_network(fake_cloud):
    _, records = _resolve(fake_cloud, [Entry('servers', name='web-2')])
    types = _by_type(records)
    subnet, = types['subnet']
    assert subnet.params['allocation_pools'] == [
        {'start': '10.20.0.100', 'end': '10.20.0.200'}]
    assert subnet.params['host_routes'] == [
        {'destination': '198.51.100.0/24', 'nexthop': '10.20.0.254'}]
    assert subnet.params['dns_nameservers'] == ['192.0.2.53']
    assert subnet.params['gateway_ip'] == '10.20.0.1'
    router, = types['router']
    assert router.refs['gateway'].type == 'external_network'
    interface, = router.refs['interfaces']
    assert interface['subnet'] is subnet and interface['is_gateway']


def test_key_name_override(fake_cloud):
    _, records = _resolve(fake_cloud, [
        Entry('servers', name='web-1', key_name='new-key')])
    server = next(r for r in records if r.type == 'server')
    assert server.params['key_name'] == 'new-key'
    assert 'keypair' not in server.refs


def test_entry_by_id(fake_cloud):
    _, records = _resolve(fake_cloud, [
        Entry('volumes', id=sample.VOLUME_SPARE, save_state=False)])
    volume = records[-1]
    assert volume.name == 'spare' and volume.blob is None
    # Its type and zone come along, to be chosen at import, never created.
    assert [(r.type, r.name) for r in records[:-1]] == [
        ('volume_type', '__DEFAULT__'), ('availability_zone', 'nova')]
    assert volume.refs['volume_type'] is records[0]
    assert volume.refs['availability_zone'] is records[1]


def test_unknown_name_names_file_section_and_entry(fake_cloud):
    with pytest.raises(ResolveError) as err:
        _resolve(fake_cloud, [Entry('servers', name='nope', index=3)])
    assert str(err.value) == (
        "resources.yml: servers[3] (name 'nope') matches nothing in the "
        "source cloud")


def _with_twin_volumes(fake_cloud):
    """An exporter of a source with two volumes named web-data."""
    sample.register(fake_cloud)
    twins = sample.volumes()
    twins[1]['name'] = 'web-data'
    fake_cloud.get('block-storage', '/volumes/detail',
                   json={'volumes': twins})
    return export.Exporter(fake_cloud.connect(), 'resources.yml')


def test_repeated_name_asks_for_an_id(fake_cloud, requests_mock):
    exporter = _with_twin_volumes(fake_cloud)
    with pytest.raises(ResolveError) as err:
        exporter.resolve([Entry('volumes', name='web-data', index=0)])
    assert 'matches 2 resources' in str(err.value)
    assert sample.VOLUME_DATA in str(err.value)
    assert 'give its id' in str(err.value)


def test_hostile_id_never_becomes_a_path(fake_cloud):
    sample.register(fake_cloud)
    hostile = sample.volumes()
    hostile[1]['id'] = '../../etc/passwd'
    fake_cloud.get('block-storage', '/volumes/detail',
                   json={'volumes': hostile})
    exporter = export.Exporter(fake_cloud.connect(), 'resources.yml')
    with pytest.raises(ResolveError, match='not a UUID'):
        exporter.resolve([Entry('volumes', name='spare')])


def _web_2_without_state(fake_cloud, tmp_path):
    """A resource file naming web-2 (save_state false), and its image's
    bytes served: an export with one blob."""
    fake_cloud.get('image', '/images/%s/file' % sample.IMAGE,
                   content=sample.IMAGE_BYTES,
                   headers={'Content-MD5': sample.images()[0]['checksum']})
    resources = tmp_path / 'resources.yml'
    resources.write_text(yaml.safe_dump({
        'servers': [{'name': 'web-2', 'save_state': False}]}))
    return resources


def test_export_writes_playbook_manifest_and_blobs(fake_cloud, tmp_path):
    sample.register(fake_cloud)
    resources = _web_2_without_state(fake_cloud, tmp_path)
    out = tmp_path / 'out'
    result = export.export(fake_cloud.connect(),
                           ResourceFile.load(str(resources)), str(out),
                           cloud_name='source')
    blob = out / 'blobs' / sample.IMAGE
    assert blob.read_bytes() == sample.IMAGE_BYTES
    assert (out / 'playbook.yml').exists()
    requirements = yaml.safe_load((out / 'requirements.yml').read_text())
    assert requirements['collections'][0]['name'] == 'openstack.cloud'
    manifest = yaml.safe_load((out / 'manifest.yml').read_text())
    assert manifest['source_cloud'] == 'source'
    # The exact build that wrote it (the commit of a development build).
    assert manifest['downpour_version'] == downpour.build()
    image, = [r for r in manifest['resources'] if r['type'] == 'image']
    assert image['blob'] == 'blobs/' + sample.IMAGE
    assert image['checksum']['algo'] == 'sha512'
    assert image['size'] == len(sample.IMAGE_BYTES)
    # Digests of the bytes written, for an import whose Glance may use
    # another algorithm than the source's.
    assert image['digests'] == {
        algo: hashlib.new(algo, sample.IMAGE_BYTES).hexdigest()
        for algo in ('sha512', 'sha256', 'md5')}
    play, = yaml.safe_load((out / 'playbook.yml').read_text().replace(
        '!unsafe ', ''))
    item, = play['vars']['downpour_images']
    assert item['digests'] == image['digests']
    # Private to its owner: disks hold keys, databases, tokens.
    for path in [out, *out.rglob('*')]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    # Which cloud and project the export read, in both: the import may
    # run elsewhere, with only the output directory.
    assert manifest['source'] == {'host': '127.0.0.1:15000',
                                  'project_id': PROJECT_ID,
                                  'project_name': 'demo'}
    assert play['vars']['downpour_source'] == manifest['source']
    text = (out / 'manifest.yml').read_text() + (
        out / 'playbook.yml').read_text()
    assert 'fake-password' not in text
    for secret in (PASSWORD, TOKEN, USER_ID):
        assert secret not in text
    rows = {(r.type, r.name): r for r in result.resources}
    assert rows[('image', 'cirros')].size == len(sample.IMAGE_BYTES)
    assert rows[('server', 'web-2')].old_id == sample.SERVER_2


def test_export_explains_its_output_directory(fake_cloud, tmp_path):
    sample.register(fake_cloud)
    resources = _web_2_without_state(fake_cloud, tmp_path)
    out = tmp_path / 'out'
    export.export(fake_cloud.connect(), ResourceFile.load(str(resources)),
                  str(out), cloud_name='source')
    readme = out / 'README.txt'
    # Private like the blobs it describes.
    assert stat.S_IMODE(readme.stat().st_mode) & 0o077 == 0
    text = readme.read_text()
    assert 'ansible-playbook OUT/playbook.yml -e cloud=<target cloud name>' \
        in text
    # Every file a user finds beside it is named, and the sensitive one
    # is called so.
    written = {p.name for p in out.iterdir()} - {'README.txt'}
    for name in written | {'journal.csv', 'uuids.csv', 'addresses.csv'}:
        assert name.rstrip('/') in text, name
    assert 'blobs/ holds the contents of the disks' in text
    assert 'fake-password' not in text


def test_subnets_come_before_the_servers_on_their_network(fake_cloud):
    """Nova will not boot on a network without a subnet, router or not."""
    _, records = _resolve(fake_cloud,
                          [Entry('servers', name='web-1', index=0)])
    by_type = {}
    for position, record in enumerate(records):
        by_type.setdefault(record.type, []).append(position)
    server = by_type['server'][0]
    subnet = by_type['subnet'][0]
    assert subnet < server
    assert [s.type for s in records[server].refs['subnets']] == ['subnet']


def test_router_keeps_interfaces_on_subnets_exported_later(fake_cloud):
    # web-1 on app-net reaches the router first; web-2 sits on a second
    # network behind the same router.  The router must come out with an
    # interface on both subnets, not only on the one exported first.
    net2 = '22222222-2222-4222-8222-222222222223'
    subnet2 = '33333333-3333-4333-8333-333333333334'
    sample.register(fake_cloud)
    networks = sample.networks() + [{
        'id': net2, 'name': 'db-net', 'router:external': False,
        'shared': False, 'project_id': sample.PROJECT_ID,
        'status': 'ACTIVE', 'admin_state_up': True, 'mtu': 1450,
        'subnets': [subnet2]}]
    subnets = sample.subnets() + [{
        'id': subnet2, 'name': 'db-subnet', 'network_id': net2,
        'cidr': '10.30.0.0/24', 'ip_version': 4, 'gateway_ip': '10.30.0.1',
        'enable_dhcp': True, 'dns_nameservers': [], 'host_routes': [],
        'allocation_pools': [{'start': '10.30.0.2', 'end': '10.30.0.254'}],
        'description': '', 'project_id': sample.PROJECT_ID}]
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
         'security_groups': [sample.SG_WEB],
         'created_at': '2026-01-01T00:00:05Z'}]
    fake_cloud.get('network', '/v2.0/networks', json={'networks': networks})
    fake_cloud.get('network', '/v2.0/subnets', json={'subnets': subnets})
    fake_cloud.get('network', '/v2.0/ports', json={'ports': ports})
    exporter = export.Exporter(fake_cloud.connect(), 'resources.yml')
    records = exporter.resolve([Entry('servers', name='web-1'),
                                Entry('servers', name='web-2')])

    router, = _by_type(records)['router']
    assert sorted(i['subnet'].old_id for i in router.refs['interfaces']) == [
        sample.SUBNET, subnet2]
    # ... and it is created after both subnets.
    position = {id(r): n for n, r in enumerate(records)}
    for interface in router.refs['interfaces']:
        assert position[id(interface['subnet'])] < position[id(router)]


def test_network_entry_brings_its_router(fake_cloud):
    _, records = _resolve(fake_cloud, [Entry('networks', name='app-net')])
    types = _by_type(records)
    router, = types['router']
    interface, = router.refs['interfaces']
    assert interface['subnet'] is types['subnet'][0]
    assert router.refs['gateway'].type == 'external_network'
    assert 'server' not in types


def test_captures_left_by_an_earlier_export_are_named(fake_cloud, tmp_path):
    from tests.unit.fakecloud import PROJECT_ID
    sample.register(fake_cloud)
    leftover = dict(sample.images()[0], id='abcdef00-0000-4000-8000-00000000000a',
                    name='downpour-capture-' + sample.SERVER_1,
                    owner=PROJECT_ID, visibility='private')
    # Someone else's image of that name is not ours to mention.
    foreign = dict(leftover, id='abcdef00-0000-4000-8000-00000000000b',
                   owner=sample.OTHER_PROJECT)
    fake_cloud.get('image', '/images', json={
        'images': sample.images() + [leftover, foreign]})
    resources = _web_2_without_state(fake_cloud, tmp_path)

    result = export.export(fake_cloud.connect(),
                           ResourceFile.load(str(resources)),
                           str(tmp_path / 'out'))

    named = [w for w in result.warnings if 'earlier export' in w]
    assert len(named) == 1
    assert leftover['id'] in named[0] and leftover['name'] in named[0]
    # Nothing is deleted: the user decides.
    assert not [r for r in fake_cloud.mocker.request_history
                if r.method == 'DELETE']


def test_image_properties_that_point_into_the_source_are_left_out(
        fake_cloud, monkeypatch):
    image = dict(sample.images()[0], kernel_id=sample.IMAGE,
                 ramdisk_id=sample.IMAGE, img_signature='c2ln',
                 img_signature_hash_method='SHA-256',
                 instance_uuid=sample.SERVER_1, hw_qemu_guest_agent='yes')
    monkeypatch.setattr(sample, 'images', lambda: [image])
    exporter, records = _resolve(fake_cloud, [Entry('images',
                                                    name='cirros')])
    record, = [r for r in records if r.type == 'image']
    # What means the same in any cloud stays; what names the source goes.
    assert record.params['properties'] == {
        'hw_disk_bus': 'virtio', 'hw_qemu_guest_agent': 'yes',
        'os_distro': 'cirros'}
    warning, = exporter.warnings
    assert "image 'cirros'" in warning
    assert warning.endswith('left out: img_signature, '
                            'img_signature_hash_method, instance_uuid, '
                            'kernel_id, ramdisk_id')


def test_every_missing_name_is_said_at_once(fake_cloud):
    with pytest.raises(ResolveError) as err:
        _resolve(fake_cloud, [Entry('servers', name='web-1', index=0),
                              Entry('servers', name='nope', index=1),
                              Entry('volumes', name='gone', index=0),
                              Entry('keypairs', name='lost', index=0)])
    assert str(err.value) == (
        "resources.yml: 3 entries match nothing in the source cloud: "
        "servers[1] (name 'nope'), volumes[0] (name 'gone'), "
        "keypairs[0] (name 'lost')")


def test_a_missing_name_and_an_ambiguous_one_are_both_said(
        fake_cloud, requests_mock):
    exporter = _with_twin_volumes(fake_cloud)
    with pytest.raises(ResolveError) as err:
        exporter.resolve([Entry('volumes', name='web-data', index=0),
                          Entry('volumes', name='gone', index=1)])
    text = str(err.value)
    assert "volumes[0] (name 'web-data') matches 2 resources" in text
    assert "volumes[1] (name 'gone') matches nothing" in text


def test_an_empty_resource_file_is_refused_before_anything(
        fake_cloud, tmp_path):
    sample.register(fake_cloud)
    conn = fake_cloud.connect()
    asked = len(fake_cloud.history)
    for text in ('', '{}\n', 'servers: []\nvolumes: []\n'):
        resources = tmp_path / 'r.yml'
        resources.write_text(text)
        with pytest.raises(DownpourError) as err:
            export.export(conn, ResourceFile.load(str(resources)),
                          str(tmp_path / 'out'))
        assert str(err.value) == (
            '%s names no resources: nothing to export (add some with '
            'downpour query)' % resources)
    assert not (tmp_path / 'out').exists()
    assert len(fake_cloud.history) == asked


def test_the_command_refuses_an_empty_file_before_connecting(tmp_path,
                                                             capsys):
    resources = tmp_path / 'r.yml'
    resources.write_text('')
    status = app.main(['--os-cloud', 'nowhere', 'export', str(resources),
                       str(tmp_path / 'out')])
    assert status == 1
    assert capsys.readouterr().err.splitlines() == [
        'downpour: error: %s names no resources: nothing to export (add '
        'some with downpour query)' % resources]


@pytest.mark.parametrize('before', ['new', 'empty', 'exported'])
def test_a_failed_export_leaves_the_directory_as_it_was(fake_cloud, tmp_path,
                                                        before, caplog):
    """Failed before anything was written (names the source lacks): no
    lock, no half-made directory; the next run, fixed, just works."""
    sample.register(fake_cloud)
    resources = _web_2_without_state(fake_cloud, tmp_path)
    out = tmp_path / 'new' / 'out'
    if before == 'empty':
        out.mkdir(parents=True, mode=0o700)
    elif before == 'exported':
        export.export(fake_cloud.connect(), ResourceFile.load(str(resources)),
                      str(out))
    wrong = tmp_path / 'wrong.yml'
    wrong.write_text('servers:\n  - name: web-9\n  - name: web-2\n'
                     'networks:\n  - name: nowhere\n')
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob('*'))
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob('*')} \
        if out.exists() else {}
    if before == 'exported':
        (out / outdir.LOCK).unlink()  # as a killed export would not
        files.remove(str((out / outdir.LOCK).relative_to(tmp_path)))
        del stamps[out / outdir.LOCK]
    with pytest.raises(ResolveError, match='2 entries match nothing'):
        export.export(fake_cloud.connect(), ResourceFile.load(str(wrong)),
                      str(out))
    assert sorted(str(p.relative_to(tmp_path))
                  for p in tmp_path.rglob('*')) == files
    assert {p: p.stat().st_mtime_ns for p in out.rglob('*')} == stamps
    # The next run, with the file fixed.
    caplog.clear()
    result = export.export(fake_cloud.connect(),
                           ResourceFile.load(str(resources)), str(out))
    assert (out / 'playbook.yml').exists()
    assert not [r for r in caplog.records if 'continuing' in r.getMessage()]
    # It says nothing about the failed run: what an export into a
    # never-used directory says.
    clean = export.export(fake_cloud.connect(),
                          ResourceFile.load(str(resources)),
                          str(tmp_path / 'clean'))
    assert result.warnings == clean.warnings

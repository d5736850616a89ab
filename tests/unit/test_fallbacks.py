"""What export does, with a warning, where a server cannot be copied as it
is: another user's keypair, a deleted image, a boot volume."""

import yaml

from downpour import export, render
from downpour.resourcefile import Entry
from tests.unit.resources import sample


def _export(fake_cloud, servers, volumes=None, entries=None):
    sample.register(fake_cloud)
    fake_cloud.get('compute', '/servers/detail', json={'servers': servers})
    if volumes is not None:
        fake_cloud.get('block-storage', '/volumes/detail',
                       json={'volumes': volumes})
    exporter = export.Exporter(fake_cloud.connect(), 'resources.yml')
    records = exporter.resolve(entries or [
        Entry('servers', name='web-1', save_state=False, index=0)])
    return exporter, records


def _server(records):
    return next(r for r in records if r.type == 'server')


def _warnings(exporter):
    """The warnings besides the one every server gets (user_data)."""
    return [w for w in exporter.warnings if 'user_data' not in w]


def test_keypair_of_another_user_boots_without_a_key(fake_cloud):
    server = sample.servers()[0]
    server['key_name'] = 'alice-key'   # not in this user's keypair list
    exporter, records = _export(fake_cloud, [server])
    record = _server(records)
    assert record.params['key_name'] is None
    assert 'keypair' not in record.refs
    warning, = _warnings(exporter)
    assert "'alice-key'" in warning and 'another user' in warning
    play, = yaml.safe_load(render.render_playbook(records).replace(
        '!unsafe ', ''))
    item, = [i for i in play['vars']['downpour_servers']
             if i['type'] == 'server']
    assert item['key_name'] is None


def test_keypair_warning_is_given_once(fake_cloud):
    servers = sample.servers()
    for server in servers:
        server['key_name'] = 'alice-key'
    exporter, _ = _export(fake_cloud, servers, entries=[
        Entry('servers', name='web-1', save_state=False, index=0),
        Entry('servers', name='web-2', save_state=False, index=1)])
    assert len(_warnings(exporter)) == 2  # one per server, not more
    exporter.warn(_warnings(exporter)[0])
    assert len(_warnings(exporter)) == 2


def test_deleted_image_is_replaced_by_a_capture(fake_cloud):
    server = sample.servers()[0]
    server['image'] = {'id': 'dddddddd-dddd-4ddd-8ddd-dddddddddddd'}
    exporter, records = _export(fake_cloud, [server])
    record = _server(records)
    assert record.refs['image'].type == 'server_snapshot'
    assert record.refs['image'].blob.kind == 'server'
    warning, = _warnings(exporter)
    assert 'dddddddd-dddd-4ddd-8ddd-dddddddddddd' in warning
    assert 'no longer exists' in warning


def test_boot_from_volume_copies_the_root_volume(fake_cloud, tmp_path):
    server = sample.servers()[0]
    server['image'] = ''
    server['OS-EXT-SRV-ATTR:root_device_name'] = '/dev/vda'
    root_id = '99999999-9999-4999-8999-999999999993'
    volumes = sample.volumes() + [{
        'id': root_id, 'name': 'web-root', 'size': 1, 'status': 'in-use',
        'bootable': 'true', 'description': '', 'metadata': {},
        'volume_type': '__DEFAULT__',
        'attachments': [{'server_id': sample.SERVER_1, 'device': '/dev/vda',
                         'attachment_id':
                             'c0000000-0000-4000-8000-000000000003',
                         'volume_id': root_id}]}]
    exporter, records = _export(fake_cloud, [server], volumes)
    record = _server(records)
    root = record.refs['boot_volume']
    assert (root.old_id, root.params['is_bootable']) == (root_id, True)
    assert root.blob is not None and root.blob.volume_in_use
    assert 'image' not in record.refs
    # The data volume is still attached; the root one is not attached twice.
    assert [v.old_id for v in record.refs['volumes']] == [
        sample.VOLUME_DATA]
    assert records.index(root) < records.index(record)
    warning, = _warnings(exporter)
    assert "volume 'web-root'" in warning
    path = tmp_path / 'playbook.yml'
    path.write_text(render.render_playbook(records), encoding='utf-8')
    play, = yaml.safe_load(path.read_text().replace('!unsafe ', ''))
    item, = [i for i in play['vars']['downpour_servers']
             if i['type'] == 'server' and i['name'] == 'web-1']
    assert item['boot_volume'] == root.old_id
    assert 'image' not in item
    volume, = [v for v in play['vars']['downpour_volumes']
               if v['id'] == root.old_id]
    assert volume['bootable'] is True and volume['filename']


def test_warnings_are_listed_in_the_manifest(fake_cloud, tmp_path):
    from downpour import manifest
    server = sample.servers()[0]
    server['key_name'] = 'alice-key'
    exporter, records = _export(fake_cloud, [server])
    manifest.write(records, str(tmp_path), warnings=exporter.warnings)
    written = yaml.safe_load((tmp_path / 'manifest.yml').read_text())
    assert written['warnings'] == exporter.warnings

"""What a server's volumes carry at export: their types and zones (chosen
at import, never created), whether Nova deletes each with the server, their
device order; and what a tenant cannot read (user_data), named."""

import pytest
import yaml

from downpour import export, manifest, render
from downpour.errors import ResolveError
from downpour.resourcefile import Entry
from tests.unit.resources import sample

ROOT = '99999999-9999-4999-8999-9999999999a1'
LATE = '99999999-9999-4999-8999-9999999999a2'


def _volume(id_, name, device, volume_type='__DEFAULT__', zone='nova',
            bootable='false'):
    return {'id': id_, 'name': name, 'size': 1, 'status': 'in-use',
            'bootable': bootable, 'description': '', 'metadata': {},
            'volume_type': volume_type, 'availability_zone': zone,
            'attachments': [{'server_id': sample.SERVER_1, 'device': device,
                             'attachment_id': 'c0000000-0000-4000-8000-'
                             '0000000000' + id_[-2:], 'volume_id': id_}]}


def _export(fake_cloud, server, volumes, entries=None):
    sample.register(fake_cloud)
    fake_cloud.get('compute', '/servers/detail', json={'servers': [server]})
    fake_cloud.get('block-storage', '/volumes/detail',
                   json={'volumes': volumes})
    exporter = export.Exporter(fake_cloud.connect(), 'resources.yml')
    records = exporter.resolve(entries or [
        Entry('servers', name='web-1', save_state=False, index=0)])
    return exporter, records


def _vars(records, key):
    play, = yaml.safe_load(render.render_playbook(records).replace(
        '!unsafe ', ''))
    return play['vars'][key]


def _items(records, key):
    return {item['name']: item for item in _vars(records, key)}


def _boot_from_volume(fake_cloud, doomed):
    server = sample.servers()[0]
    server['image'] = ''
    server['os-extended-volumes:volumes_attached'] = [
        {'id': volume_id, 'delete_on_termination': volume_id in doomed}
        for volume_id in (ROOT, sample.VOLUME_DATA, LATE)]
    data = _volume(sample.VOLUME_DATA, 'web-data', '/dev/vdb',
                   volume_type='ssd', zone='az2')
    volumes = [_volume(LATE, 'web-late', '/dev/vdaa', volume_type='ssd'),
               data,
               _volume(ROOT, 'web-root', '/dev/vda', volume_type='gold',
                       bootable='true')]
    return _export(fake_cloud, server, volumes)


def test_a_boot_volume_keeps_delete_on_termination_type_and_zone(
        fake_cloud):
    exporter, records = _boot_from_volume(fake_cloud, doomed={ROOT})
    server = next(r for r in records if r.type == 'server')
    root = server.refs['boot_volume']
    assert root.old_id == ROOT and root.params['is_bootable'] is True
    # In device order, /dev/vdaa after /dev/vdb; the root one not twice.
    assert [v.name for v in server.refs['volumes']] == ['web-data',
                                                        'web-late']
    # Deleted with the server: only what the source says.
    assert server.refs['delete_on_termination'] == [root]

    types = [r for r in records if r.type == 'volume_type']
    assert sorted(r.name for r in types) == ['gold', 'ssd']  # once each
    zones = [(r.name, r.params['service']) for r in records
             if r.type == 'availability_zone']
    assert sorted(zones) == [('az2', 'volume'), ('nova', 'compute'),
                             ('nova', 'volume')]
    assert server.refs['availability_zone'].params['service'] == 'compute'

    servers = _items(records, 'downpour_servers')
    item = servers['web-1']
    assert item['boot_volume'] == ROOT
    assert item['volumes'] == [sample.VOLUME_DATA, LATE]
    assert item['delete_on_termination'] == [ROOT]
    assert item['user_data'] is None
    # Each refers to the chosen record by the variable downpour gave it.
    type_of = {i['id']: i['name'] for i in _items(
        records, 'downpour_volume_types').values()}
    zone_of = {i['id']: (i['name'], i['service']) for i in _vars(
        records, 'downpour_availability_zones')}
    assert zone_of[item['availability_zone']] == ('nova', 'compute')
    volumes = _items(records, 'downpour_volumes')
    assert {name: (type_of[v['volume_type']],
                   zone_of[v['availability_zone']])
            for name, v in volumes.items()} == {
        'web-root': ('gold', ('nova', 'volume')),
        'web-data': ('ssd', ('az2', 'volume')),
        'web-late': ('ssd', ('nova', 'volume'))}


def test_delete_on_termination_of_each_volume_comes_along(fake_cloud):
    _, records = _boot_from_volume(fake_cloud,
                                   doomed={sample.VOLUME_DATA, LATE})
    server = next(r for r in records if r.type == 'server')
    assert [v.name for v in server.refs['delete_on_termination']] == [
        'web-data', 'web-late']


def test_a_source_that_hides_delete_on_termination_says_so(fake_cloud):
    server = sample.servers()[0]
    server['os-extended-volumes:volumes_attached'] = [
        {'id': sample.VOLUME_DATA}]
    exporter, records = _export(fake_cloud, server, sample.volumes())
    record = next(r for r in records if r.type == 'server')
    assert record.refs['delete_on_termination'] == []
    warning, = [w for w in exporter.warnings if 'deleted with it' in w]
    assert 'web-1' in warning


def test_every_server_names_its_user_data_in_warnings_and_manifest(
        fake_cloud, tmp_path):
    sample.register(fake_cloud)
    exporter = export.Exporter(fake_cloud.connect(), 'resources.yml')
    records = exporter.resolve([
        Entry('servers', name='web-1', save_state=False, index=0),
        Entry('servers', name='web-2', save_state=False, index=1)])
    said = [w for w in exporter.warnings if 'user_data' in w]
    assert len(said) == 2
    assert "servers[0] (name 'web-1')" in said[0]
    assert "servers[1] (name 'web-2')" in said[1]
    for warning in said:
        assert 'shown only to admins' in warning
        assert 'playbook.yml' in warning
    manifest.write(records, str(tmp_path), warnings=exporter.warnings)
    written = yaml.safe_load((tmp_path / 'manifest.yml').read_text())
    assert [w for w in written['warnings'] if 'user_data' in w] == said


def test_a_volume_without_type_or_zone_names_none(fake_cloud):
    volume = dict(sample.volumes()[1], volume_type=None,
                  availability_zone=None)
    sample.register(fake_cloud)
    fake_cloud.get('block-storage', '/volumes/detail',
                   json={'volumes': [volume]})
    records = export.Exporter(fake_cloud.connect(), 'resources.yml').resolve(
        [Entry('volumes', name='spare', save_state=False)])
    record, = records
    assert 'volume_type' not in record.refs
    assert 'availability_zone' not in record.refs
    item = _items(records, 'downpour_volumes')['spare']
    assert 'volume_type' not in item and 'availability_zone' not in item


def test_a_boot_volume_carries_the_properties_of_its_image(fake_cloud):
    """Firmware, disk bus, OS type: a guest may not boot without them.
    They go on the image the volume's contents travel in (Cinder gives
    them to the new volume); what points into the source is left out and
    named, and Cinder's own keys are not properties."""
    server = sample.servers()[0]
    server['image'] = ''
    server['os-extended-volumes:volumes_attached'] = [
        {'id': ROOT, 'delete_on_termination': True}]
    root = _volume(ROOT, 'web-root', '/dev/vda', bootable='true')
    root['volume_image_metadata'] = {
        'hw_firmware_type': 'uefi', 'hw_disk_bus': 'scsi',
        'hw_machine_type': 'q35', 'os_type': 'linux',
        'hw_scsi_model': 'virtio-scsi', 'kernel_id': 'source-kernel',
        'image_id': 'source-image', 'image_name': 'debian',
        'checksum': 'abc', 'size': '1024', 'min_ram': '0',
        'disk_format': 'qcow2', 'container_format': 'bare',
        'signature_verified': 'False'}
    exporter, records = _export(fake_cloud, server, [root])

    item = _items(records, 'downpour_volumes')['web-root']
    assert item['image_properties'] == {
        'hw_disk_bus': 'scsi', 'hw_firmware_type': 'uefi',
        'hw_machine_type': 'q35', 'hw_scsi_model': 'virtio-scsi',
        'os_type': 'linux'}
    assert any('kernel_id' in w and 'web-root' in w
               for w in exporter.warnings)


def test_an_encrypted_volume_stops_the_export_unless_its_bytes_stay(
        fake_cloud):
    """Its key stays in the source's key manager: a copy of its bytes
    would be unreadable ciphertext.  The export stops, naming it and what
    to do; without its contents, it is made empty, of the type chosen."""
    server = sample.servers()[0]
    server['os-extended-volumes:volumes_attached'] = [
        {'id': sample.VOLUME_DATA, 'delete_on_termination': False}]
    data = dict(_volume(sample.VOLUME_DATA, 'web-data', '/dev/vdb'),
                encrypted=True)
    with pytest.raises(ResolveError) as stopped:
        _export(fake_cloud, server, [data],
                [Entry('servers', name='web-1', index=0)])
    message = str(stopped.value)
    assert "volume 'web-data' (%s) is encrypted" % sample.VOLUME_DATA \
        in message
    assert 'save_state: false' in message

    _exporter, records = _export(fake_cloud, server, [data], [
        Entry('servers', name='web-1', save_state=False, index=0)])
    made, = [r for r in records if r.type == 'volume']
    assert made.blob is None

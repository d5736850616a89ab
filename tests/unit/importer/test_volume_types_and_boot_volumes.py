"""The import engine: volume types and availability zones chosen (never
made) by the look, and what volumes and servers are made with: type, zone,
delete_on_termination, user data.  Against requests-mock, with only the
calls each test needs.
"""

import base64
import json
import re

from downpour import importer as dr
from tests.unit.fakecloud import ENDPOINTS

NOVA = ENDPOINTS['compute']
CINDER = ENDPOINTS['block-storage']
NEUTRON = ENDPOINTS['network']
WRITES = ('POST', 'PUT', 'PATCH', 'DELETE')


def _url(base, path):
    return re.compile('^%s%s(\\?.*)?$' % (re.escape(base), path))


def _zones(*names, down=()):
    return {'availabilityZoneInfo': [
        {'zoneName': name, 'zoneState': {'available': name not in down},
         'hosts': None} for name in names]}


def _target(fake_cloud, types=('__DEFAULT__', 'fast', 'ssd'),
            compute_zones=('nova', 'quiet'), volume_zones=('nova', 'az2'),
            default='__DEFAULT__'):
    fake_cloud.mocker.get(_url(CINDER, '/types'), json={'volume_types': [
        {'id': 'type-' + name, 'name': name, 'is_public': True}
        for name in types]})
    fake_cloud.mocker.get(_url(CINDER, '/types/default'), json={
        'volume_type': {'id': 'type-' + default, 'name': default}})
    fake_cloud.mocker.get(_url(NOVA, '/os-availability-zone'),
                          json=_zones(*compute_zones, down=('quiet',)))
    fake_cloud.mocker.get(_url(CINDER, '/os-availability-zone'),
                          json=_zones(*volume_zones))


def _writes(fake_cloud):
    return [(r.method, r.url) for r in fake_cloud.history
            if r.method in WRITES and not r.url.startswith(
                'http://127.0.0.1:15000')]


def volume_type(var, name):
    return {'type': 'volume_type', 'id': var, 'name': name}


def zone(var, name, service):
    return {'type': 'availability_zone', 'id': var, 'name': name,
            'service': service}


def look(fake_cloud, items, **maps):
    importer = dr.Importer(fake_cloud.connect(), check_mode=True, **maps)
    importer.run(items)
    return importer


def test_volume_types_are_chosen_never_made(fake_cloud):
    _target(fake_cloud)
    items = [volume_type('volume_type_001', 'ssd'),       # same name
             volume_type('volume_type_002', 'gold'),      # mapped
             volume_type('volume_type_003', 'lvm'),       # the default
             volume_type('volume_type_004', 'bronze'),    # mapped, missing
             volume_type('volume_type_005', 'fast')]      # mapped to ''

    found = look(fake_cloud, items, volume_type_map={
        'gold': 'fast', 'bronze': 'nope', 'fast': ''})

    # '': the target's default, asked for by naming none.
    assert found.ids == {'volume_type_001': 'type-ssd',
                         'volume_type_002': 'type-fast',
                         'volume_type_003': '',
                         'volume_type_005': ''}
    assert found.missing == ['volume_type_004']
    assert found.unmatched == [
        "volume type 'bronze': volume_type_map names 'nope', which the "
        "target does not have"]
    assert found.choices == [
        "volume type 'ssd' -> 'ssd' (same name)",
        "volume type 'gold' -> 'fast' (volume_type_map)",
        "volume type 'lvm' -> the target's default '__DEFAULT__' (it has "
        "none of that name)",
        "volume type 'fast' -> the target's default '__DEFAULT__' "
        "(volume_type_map says so)"]
    assert found.pending == []
    assert _writes(fake_cloud) == []


def test_a_cinder_that_cannot_name_its_default_still_gives_it(fake_cloud):
    _target(fake_cloud)
    fake_cloud.mocker.get(_url(CINDER, '/types/default'), status_code=404,
                          json={'itemNotFound': {'message': 'no'}})

    found = look(fake_cloud, [volume_type('volume_type_001', 'lvm')])

    assert found.ids == {'volume_type_001': ''}
    assert found.choices == [
        "volume type 'lvm' -> the target's default (it has none of that "
        "name)"]


def test_zones_are_chosen_per_service(fake_cloud):
    _target(fake_cloud)
    items = [zone('availability_zone_001', 'nova', 'compute'),
             zone('availability_zone_002', 'az2', 'compute'),
             zone('availability_zone_003', 'az2', 'volume'),
             zone('availability_zone_004', 'quiet', 'compute'),
             zone('availability_zone_005', 'east', 'volume'),
             zone('availability_zone_006', 'west', 'compute')]

    found = look(fake_cloud, items, az_map={'east': 'nope', 'west': 'nova'})

    # A zone is its name.  Cinder's az2 is not Nova's; a zone that is not
    # available is not chosen.
    assert found.ids == {'availability_zone_001': 'nova',
                         'availability_zone_002': '',
                         'availability_zone_003': 'az2',
                         'availability_zone_004': '',
                         'availability_zone_006': 'nova'}
    assert found.missing == ['availability_zone_005']
    assert found.unmatched == [
        "volume availability zone 'east': az_map names 'nope', which the "
        "target does not have"]
    assert "server availability zone 'az2' -> the target's default (it " \
        "has none of that name)" in found.choices
    assert "server availability zone 'west' -> 'nova' (az_map)" in \
        found.choices
    # One list per service, nothing written.
    lists = [r.url for r in fake_cloud.history
             if r.url.split('?')[0].endswith('/os-availability-zone')]
    assert len(lists) == 2
    assert _writes(fake_cloud) == []


def test_nothing_to_choose_lists_nothing(fake_cloud):
    _target(fake_cloud)
    look(fake_cloud, [volume_type('volume_type_001', 'ssd')])
    assert not [r for r in fake_cloud.history
                if 'os-availability-zone' in r.url]


# -- volumes and servers made with what was chosen ---------------------------

VOLUME_KEY = '11111111-0000-4000-8000-000000000001'
ROOT_KEY = '11111111-0000-4000-8000-000000000002'
DATA_KEY = '11111111-0000-4000-8000-000000000003'
SERVER_KEY = '22222222-0000-4000-8000-000000000001'


class Cloud:
    """Cinder volumes and Nova servers, enough to make them (and no
    ports: the servers here have none)."""

    def __init__(self, fake_cloud, servers=()):
        self.fake = fake_cloud
        self.volumes = {}
        self.servers = {server['id']: server for server in servers}
        self.attached = []
        mock = fake_cloud.mocker
        mock.get(_url(CINDER, '/volumes/detail'), json=lambda r, c: {
            'volumes': list(self.volumes.values())})
        mock.post(_url(CINDER, '/volumes'), status_code=202,
                  json=self._create_volume)
        mock.get(_url(CINDER, '/volumes/(?!detail)([^/?]+)'), json=lambda r, c: {
            'volume': self.volumes[r.path.rsplit('/', 1)[1]]})
        mock.get(_url(NOVA, '/servers/detail'), json=lambda r, c: {
            'servers': list(self.servers.values())})
        mock.post(_url(NOVA, '/servers'), status_code=202,
                  json=self._create_server)
        mock.get(_url(NOVA, '/servers/(?!detail)([^/?]+)'), json=lambda r, c: {
            'server': self.servers[r.path.rsplit('/', 1)[1]]})
        mock.post(_url(NOVA, '/servers/([^/]+)/os-volume_attachments'),
                  json=self._attach)
        mock.put(_url(NOVA, '/servers/([^/]+)/os-volume_attachments/(.+)'),
                 status_code=202, text='')
        mock.get(_url(NEUTRON, '/v2.0/ports'), json={'ports': []})

    def body(self, method, path):
        return [json.loads(r.text) for r in self.fake.history
                if r.method == method and r.url.split('?')[0].endswith(path)]

    def _create_volume(self, request, context):
        body = request.json()['volume']
        volume = dict(body, id='vol-%d' % (len(self.volumes) + 1),
                      status='available', bootable='false')
        self.volumes[volume['id']] = volume
        return {'volume': volume}

    def _create_server(self, request, context):
        body = request.json()['server']
        server = {'id': 'srv-%d' % (len(self.servers) + 1),
                  'name': body['name'], 'status': 'ACTIVE',
                  'os-extended-volumes:volumes_attached': [
                      {'id': bdm['uuid'], 'delete_on_termination':
                       bdm['delete_on_termination']}
                      for bdm in body.get('block_device_mapping_v2') or []]}
        self.servers[server['id']] = server
        return {'server': server}

    def _attach(self, request, context):
        body = request.json()['volumeAttachment']
        server_id = request.path.split('/')[-2]
        self.volumes[body['volumeId']]['status'] = 'in-use'
        self.servers[server_id]['os-extended-volumes:volumes_attached'] \
            .append({'id': body['volumeId'], 'delete_on_termination':
                     body.get('delete_on_termination', False)})
        return {'volumeAttachment': dict(body, serverId=server_id,
                                         device='/dev/vdb')}


def _volume(key, name, **extra):
    return dict({'type': 'volume', 'id': key, 'name': name,
                 'csv_type': 'volume', 'size': 1, 'description': '',
                 'metadata': {}, 'bootable': False}, **extra)


def test_a_volume_is_made_with_the_chosen_type_and_zone(fake_cloud):
    cloud = Cloud(fake_cloud)
    ids = {'volume_type_001': 'type-fast', 'volume_type_002': '',
           'availability_zone_003': 'az2', 'availability_zone_004': ''}
    importer = dr.Importer(fake_cloud.connect(), ids=ids, parallel=1)

    importer.run([
        _volume(VOLUME_KEY, 'typed', volume_type='volume_type_001',
                availability_zone='availability_zone_003'),
        _volume(ROOT_KEY, 'default', volume_type='volume_type_002',
                availability_zone='availability_zone_004'),
        _volume(DATA_KEY, 'untyped')])

    typed, default, untyped = cloud.body('POST', '/volumes')
    assert (typed['volume']['volume_type'],
            typed['volume']['availability_zone']) == ('type-fast', 'az2')
    # The target's default: none named.
    for body in (default, untyped):
        assert 'volume_type' not in body['volume']
        assert 'availability_zone' not in body['volume']


def _server_item(**extra):
    return dict({'type': 'server', 'id': SERVER_KEY, 'name': 'db',
                 'csv_type': 'server', 'flavor': 'flavor_001', 'ports': [],
                 'volumes': [DATA_KEY], 'metadata': {}, 'description': '',
                 'config_drive': False, 'key_name': None,
                 'delete_on_termination': []}, **extra)


def test_a_server_boots_from_its_volume_and_keeps_delete_on_termination(
        fake_cloud):
    cloud = Cloud(fake_cloud)
    cloud.volumes['vol-data'] = {'id': 'vol-data', 'status': 'available'}
    ids = {'flavor_001': 'flavor-small', ROOT_KEY: 'vol-root',
           DATA_KEY: 'vol-data', 'availability_zone_001': 'nova'}
    importer = dr.Importer(fake_cloud.connect(), ids=ids)

    importer.run([_server_item(boot_volume=ROOT_KEY,
                               delete_on_termination=[ROOT_KEY],
                               availability_zone='availability_zone_001',
                               user_data='#cloud-config\nhostname: db\n')])

    body, = cloud.body('POST', '/servers')
    server = body['server']
    # Not marked yet: a build that fails would delete it at once.
    assert server['block_device_mapping_v2'] == [{
        'boot_index': 0, 'source_type': 'volume',
        'destination_type': 'volume', 'delete_on_termination': False,
        'uuid': 'vol-root'}]
    assert 'imageRef' not in server or not server['imageRef']
    assert server['availability_zone'] == 'nova'
    assert base64.b64decode(server['user_data']) == \
        b'#cloud-config\nhostname: db\n'
    # Kept with the server: attached without delete_on_termination, which
    # an older compute API would refuse.
    attach, = cloud.body('POST', '/os-volume_attachments')
    assert attach == {'volumeAttachment': {'volumeId': 'vol-data'}}
    # Marked once the server is ACTIVE, after its volumes.
    assert [(r.method, r.path.rsplit('/', 1)[1], r.json())
            for r in fake_cloud.history if r.method in WRITES
            and '/servers' in r.path][-1] == (
        'PUT', 'vol-root', {'volumeAttachment': {
            'volumeId': 'vol-root', 'delete_on_termination': True}})


def test_an_older_nova_marks_the_boot_volume_in_the_boot_request(
        fake_cloud):
    """Before compute API 2.85 it cannot be changed later."""
    fake_cloud.mocker.get(NOVA, json={'version': {
        'id': 'v2.1', 'status': 'CURRENT', 'links': [
            {'rel': 'self', 'href': NOVA}],
        'min_version': '2.1', 'version': '2.84'}})
    cloud = Cloud(fake_cloud)
    cloud.volumes['vol-data'] = {'id': 'vol-data', 'status': 'available'}
    ids = {'flavor_001': 'flavor-small', ROOT_KEY: 'vol-root',
           DATA_KEY: 'vol-data'}

    dr.Importer(fake_cloud.connect(), ids=ids).run([_server_item(
        boot_volume=ROOT_KEY, delete_on_termination=[ROOT_KEY])])

    body, = cloud.body('POST', '/servers')
    assert body['server']['block_device_mapping_v2'][0][
        'delete_on_termination'] is True
    assert [r for r in fake_cloud.history if r.method == 'PUT'] == []


def test_a_volume_deleted_with_the_server_is_attached_so(fake_cloud):
    cloud = Cloud(fake_cloud)
    cloud.volumes['vol-data'] = {'id': 'vol-data', 'status': 'available'}
    ids = {'flavor_001': 'flavor-small', 'image_001': 'image-1',
           DATA_KEY: 'vol-data', 'availability_zone_001': ''}
    importer = dr.Importer(fake_cloud.connect(), ids=ids)

    importer.run([_server_item(image='image_001',
                               delete_on_termination=[DATA_KEY],
                               availability_zone='availability_zone_001')])

    body, = cloud.body('POST', '/servers')
    assert body['server']['imageRef'] == 'image-1'
    assert 'availability_zone' not in body['server']
    assert 'user_data' not in body['server']
    attach, = cloud.body('POST', '/os-volume_attachments')
    assert attach == {'volumeAttachment': {'volumeId': 'vol-data',
                                           'delete_on_termination': True}}


def test_our_server_gets_delete_on_termination_back(fake_cloud, tmp_path):
    server = {'id': 'srv-1', 'name': 'db', 'status': 'ACTIVE',
              'os-extended-volumes:volumes_attached': [
                  {'id': 'vol-root', 'delete_on_termination': False},
                  {'id': 'vol-data', 'delete_on_termination': True}]}
    Cloud(fake_cloud, servers=[server])
    journal = tmp_path / 'journal.csv'
    item = _server_item(boot_volume=ROOT_KEY,
                        delete_on_termination=[ROOT_KEY])
    dr.Journal(str(journal)).record(item, 'srv-1', dr.CREATED)
    ids = {ROOT_KEY: 'vol-root', DATA_KEY: 'vol-data'}

    found = dr.Importer(fake_cloud.connect(), ids=ids, check_mode=True,
                        journal=dr.Journal(str(journal)))
    found.run([item])
    assert found.pending == [SERVER_KEY]
    assert _writes(fake_cloud) == []

    fixed = dr.Importer(fake_cloud.connect(), ids=ids,
                        journal=dr.Journal(str(journal)))
    fixed.run([item])
    assert fixed.changed
    puts = {r.path.rsplit('/', 1)[1]: r.json()['volumeAttachment']
            for r in fake_cloud.history if r.method == 'PUT'}
    assert puts == {
        'vol-root': {'volumeId': 'vol-root', 'delete_on_termination': True},
        'vol-data': {'volumeId': 'vol-data', 'delete_on_termination': False}}


def test_another_server_of_that_name_is_never_corrected(fake_cloud):
    server = {'id': 'srv-1', 'name': 'db', 'status': 'ACTIVE',
              'os-extended-volumes:volumes_attached': [
                  {'id': 'vol-root', 'delete_on_termination': False}]}
    Cloud(fake_cloud, servers=[server])
    ids = {ROOT_KEY: 'vol-root'}

    found = dr.Importer(fake_cloud.connect(), ids=ids, check_mode=True)
    found.run([_server_item(boot_volume=ROOT_KEY, volumes=[],
                            delete_on_termination=[ROOT_KEY])])

    # Not recorded as ours: a new server is to be made, this one is left.
    assert found.pending == [SERVER_KEY]
    assert _writes(fake_cloud) == []

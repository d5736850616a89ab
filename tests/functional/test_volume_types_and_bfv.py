"""Volume types, availability zones and boot from volume, on the two local
clouds.

The admin makes a second volume type in each cloud (a tenant cannot).  In
the source, a database server boots from a root volume of that type, which
holds known bytes and is deleted with the server, and has a data volume of
that type that is not; an application server booted from an image has two
more volumes, attached in an order that neither their names nor their
creation follow.  The import maps the source's type to the target's with
``volume_type_map``; a map naming a type (and a zone) the target lacks
stops the play before anything is created.  Then everything is checked
attribute by attribute, and a second run changes nothing.
"""

import base64
import csv
import json
import secrets

import pytest
import yaml

from tests.functional.helpers import (
    BIN,
    laps,
    recap_changed,
    run,
    upload_image,
    wait_for,
)

pytestmark = pytest.mark.functional

PREFIX = 'dp-bfv'
IMAGE_PROPERTIES = {'os_type': 'linux', 'os_distro': 'debian',
                    'hw_qemu_guest_agent': 'yes'}
# What the database server's root volume holds (from its image).
KNOWN = b''.join(b'downpour boot volume, line %06d\n' % i
                 for i in range(40000))
USER_DATA = '#cloud-config\nhostname: %s-db\n' % PREFIX


@pytest.fixture
def volume_types(localcloud):
    """A second public volume type in each cloud, made by its admin, named
    apart so that parallel runs do not meet; deleted when the test's
    projects (and their volumes) are gone: list this fixture before
    ``migration``."""
    made = []
    names = {}
    for cloud, stem in (('source', 'downpour-ssd'),
                        ('target', 'downpour-fast')):
        admin = localcloud.connect('%s-admin' % cloud)
        name = '%s-%s' % (stem, secrets.token_hex(3))
        made.append((admin, admin.block_storage.create_type(
            name=name, is_public=True,
            description='made by %s' % __name__)))
        names[cloud] = name
    yield names
    for admin, volume_type in made:
        admin.block_storage.delete_type(volume_type, ignore_missing=True)


def _available(conn, volume):
    return wait_for(lambda: conn.block_storage.get_volume(volume.id),
                    lambda v: v.status in ('available', 'error'),
                    'volume %r' % volume.name)


def _active(conn, server):
    return wait_for(lambda: conn.compute.get_server(server.id),
                    lambda s: s.status in ('ACTIVE', 'ERROR'),
                    'server %r' % server.name)


def _attach(conn, server, volume, **extra):
    conn.compute.create_volume_attachment(server, volume=volume.id, **extra)
    wait_for(lambda: conn.block_storage.get_volume(volume.id),
             lambda v: v.status == 'in-use', 'attaching %r' % volume.name)


def _build_source(conn, ssd):
    """The workload: db boots from ``root`` (deleted with it) and has
    ``data`` (kept), both of type ``ssd``; app, from the image, has
    ``z-first`` (/dev/vdb, deleted with it) and ``a-second`` (/dev/vdc)."""
    # Properties a guest may need to boot (here ones the local clouds'
    # scheduler and driver leave alone): the root volume made from the
    # image has them in its image metadata.
    image = upload_image(conn, PREFIX + '-image', KNOWN, **IMAGE_PROPERTIES)
    net = conn.network.create_network(name=PREFIX + '-net')
    conn.network.create_subnet(network_id=net.id, name=PREFIX + '-subnet',
                               ip_version=4, cidr='10.77.0.0/24')
    flavor = conn.compute.find_flavor('m1.tiny', ignore_missing=False)
    # Created in the opposite of the order they are attached in, and named
    # so that neither the names nor the creation give the device order.
    second = conn.block_storage.create_volume(name=PREFIX + '-a-second',
                                              size=1)
    first = conn.block_storage.create_volume(name=PREFIX + '-z-first',
                                             size=1)
    root = conn.block_storage.create_volume(
        name=PREFIX + '-root', size=1, image_id=image.id, volume_type=ssd)
    data = conn.block_storage.create_volume(
        name=PREFIX + '-data', size=1, volume_type=ssd,
        description='the database', metadata={'role': 'db'})
    for volume in (second, first, root, data):
        assert _available(conn, volume).status == 'available'

    db = conn.compute.create_server(
        name=PREFIX + '-db', flavor_id=flavor.id,
        networks=[{'port': conn.network.create_port(network_id=net.id).id}],
        block_device_mapping=[
            {'boot_index': 0, 'uuid': root.id, 'source_type': 'volume',
             'destination_type': 'volume', 'delete_on_termination': True},
            {'boot_index': -1, 'uuid': data.id, 'source_type': 'volume',
             'destination_type': 'volume', 'delete_on_termination': False}])
    app = conn.compute.create_server(
        name=PREFIX + '-app', flavor_id=flavor.id, image_id=image.id,
        networks=[{'port': conn.network.create_port(network_id=net.id).id}])
    db, app = _active(conn, db), _active(conn, app)
    assert (db.status, app.status) == ('ACTIVE', 'ACTIVE')
    _attach(conn, app, first, delete_on_termination=True)
    _attach(conn, app, second)
    return image


def _volume_head(conn, volume, length):
    """The first ``length`` bytes of a volume that may be attached, read
    as a tenant can: a clone of it, uploaded to an image, downloaded only
    as far as needed.  The project's clean-up removes the clone and the
    image."""
    clone = conn.block_storage.create_volume(
        name='downpour-check-clone', size=volume.size,
        source_volume_id=volume.id)
    assert _available(conn, clone).status == 'available'
    name = 'downpour-check-%s' % volume.id
    conn.block_storage.upload_volume_to_image(
        clone, name, disk_format='raw', container_format='bare')
    image = wait_for(lambda: conn.image.find_image(name),
                     lambda i: i.status == 'active', 'the check image')
    response = conn.image.download_image(image.id, stream=True)
    data = bytearray()
    for chunk in response.iter_content(1024 * 1024):
        data.extend(chunk)
        if len(data) >= length:
            break
    response.close()
    return bytes(data[:length])


def _attachments(conn, server):
    """(device, volume ID, delete_on_termination) of each of the server's
    volumes, in device order."""
    server = conn.compute.get_server(server.id)
    doomed = {v['id']: v['delete_on_termination']
              for v in server.attached_volumes}
    return sorted((a.device, a.volume_id, doomed[a.volume_id])
                  for a in conn.compute.volume_attachments(server))


def _by_name(items):
    found = {}
    for item in items:
        assert item.name not in found, 'two named %r' % item.name
        found[item.name] = item
    return found


def test_volume_types_zones_and_boot_from_volume(tmp_path, volume_types,
                                                 migration):
    src, dst = migration.source.conn, migration.target.conn
    env = migration.env
    ssd, fast = volume_types['source'], volume_types['target']
    lap = laps()

    _build_source(src, ssd)
    lap('source built')
    src_servers = _by_name(src.compute.servers())
    src_volumes = _by_name(src.block_storage.volumes())

    # The source as its user sees it: the facts the import must carry.
    src_db = _attachments(src, src_servers[PREFIX + '-db'])
    assert [(volume, doomed) for _device, volume, doomed in src_db] == [
        (src_volumes[PREFIX + '-root'].id, True),
        (src_volumes[PREFIX + '-data'].id, False)]
    src_app = _attachments(src, src_servers[PREFIX + '-app'])
    assert [(volume, doomed) for _device, volume, doomed in src_app] == [
        (src_volumes[PREFIX + '-z-first'].id, True),
        (src_volumes[PREFIX + '-a-second'].id, False)]

    resources = tmp_path / 'resources.yml'
    # Without save_state, only a boot volume's bytes are carried: the
    # other volumes are made empty (which keeps the test short).
    resources.write_text(yaml.safe_dump({'servers': [
        {'name': PREFIX + '-db', 'save_state': False},
        {'name': PREFIX + '-app', 'save_state': False}]}))
    out = tmp_path / 'out'
    exported = run([BIN / 'downpour', '--os-cloud', 'src', 'export',
                    str(resources), str(out)], env)
    lap('export')
    # user_data is shown to admins only: each server says it is not
    # carried, on stderr and in the manifest.
    manifest = yaml.safe_load((out / 'manifest.yml').read_text())
    for name in (PREFIX + '-db', PREFIX + '-app'):
        said = [w for w in manifest['warnings']
                if 'user_data' in w and repr(name) in w]
        assert len(said) == 1, manifest['warnings']
        assert said[0] in exported.stderr

    # The way around it: user data given on the server's item.
    playbook = out / 'playbook.yml'
    text = playbook.read_text()
    at = text.index('name: !unsafe "%s-db"' % PREFIX)
    at = text.index('user_data: null', at)
    escaped = USER_DATA.replace('\n', '\\n')  # a YAML double-quoted scalar
    playbook.write_text(text[:at] + 'user_data: !unsafe "%s"' % escaped
                        + text[at + len('user_data: null'):])

    # A map naming what the target lacks stops the play before anything
    # is created, naming each.
    refused = run([BIN / 'ansible-playbook', playbook, '-e', 'cloud=dst',
                   '-e', json.dumps({
                       'volume_type_map': {ssd: 'downpour-no-such-type'},
                       'az_map': {'nova': 'no-such-zone'}})],
                  env, check=False)
    assert refused.returncode != 0
    said = refused.stdout + refused.stderr
    assert "volume type '%s': volume_type_map names " \
        "'downpour-no-such-type', which the target does not have" % ssd \
        in said, said[-4000:]
    assert "server availability zone 'nova': az_map names 'no-such-zone'" \
        in said
    assert "volume availability zone 'nova': az_map names 'no-such-zone'" \
        in said
    assert 'Stop before anything is created' in said
    lap('refused import')
    assert not (out / 'journal.csv').exists()
    assert list(dst.block_storage.volumes()) == []
    assert list(dst.compute.servers()) == []
    assert list(dst.network.networks(
        project_id=migration.target.project_id)) == []
    assert list(dst.image.images(owner=migration.target.project_id)) == []

    # The import, with the source's type mapped to the target's.
    mapped = ['-e', 'cloud=dst', '-e',
              json.dumps({'volume_type_map': {ssd: fast}})]
    first = run([BIN / 'ansible-playbook', playbook] + mapped, env)
    lap('import')
    # The look reports each choice.
    for line in ("volume type '%s' -> '%s' (volume_type_map)" % (ssd, fast),
                 "volume type '__DEFAULT__' -> '__DEFAULT__' (same name)",
                 "server availability zone 'nova' -> 'nova' (same name)",
                 "volume availability zone 'nova' -> 'nova' (same name)"):
        assert line in first.stdout, first.stdout[-4000:]

    with open(out / 'uuids.csv', newline='') as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ['Resource Type', 'Resource Name', 'Old', 'New']
    olds = [row[2] for row in rows[1:]]
    assert len(olds) == len(set(olds)), 'an old ID twice in uuids.csv'
    new = {(row[0], row[2]): row[3] for row in rows[1:]}
    # Chosen, never created: no row.
    assert not {row[0] for row in rows[1:]} & {
        'volume_type', 'volume type', 'availability_zone',
        'availability zone'}

    def twin(kind, obj):
        return new[(kind, obj.id)]

    dst_volumes = {v.id: v for v in dst.block_storage.volumes()}
    assert sorted(v.name for v in dst_volumes.values()) == sorted(
        src_volumes)
    for name, old in src_volumes.items():
        copy = dst_volumes[twin('volume', old)]
        assert copy.name == name
        assert copy.size == old.size == 1
        assert copy.is_bootable == old.is_bootable, name
        assert copy.availability_zone == 'nova'
        assert copy.status == 'in-use', name
        # Mapped where the map says, the same name otherwise.
        assert (old.volume_type, copy.volume_type) == (
            (ssd, fast) if name in (PREFIX + '-root', PREFIX + '-data')
            else ('__DEFAULT__', '__DEFAULT__')), name
    root = dst_volumes[twin('volume', src_volumes[PREFIX + '-root'])]
    assert root.is_bootable is True
    # With the properties of the image it was made from in the source.
    assert {key: (root.volume_image_metadata or {}).get(key)
            for key in IMAGE_PROPERTIES} == IMAGE_PROPERTIES
    data = dst_volumes[twin('volume', src_volumes[PREFIX + '-data'])]
    assert data.description == 'the database'
    assert data.metadata.get('role') == 'db'

    dst_servers = {s.id: s for s in dst.compute.servers()}
    assert len(dst_servers) == 2
    db = dst_servers[twin('server', src_servers[PREFIX + '-db'])]
    app = dst_servers[twin('server', src_servers[PREFIX + '-app'])]
    for server in (db, app):
        assert server.status == 'ACTIVE'
        assert server.availability_zone == 'nova'
    # What the playbook gave it (only an admin can read it back).
    assert base64.b64decode(migration.target.admin.compute.get_server(
        db.id).user_data).decode() == USER_DATA
    assert not migration.target.admin.compute.get_server(app.id).user_data
    # db boots from the copy of its root volume, with both volumes in
    # order and delete_on_termination as in the source.
    assert not (db.image or {}).get('id')
    assert _attachments(dst, db) == [
        (device, new[('volume', volume)], doomed)
        for device, volume, doomed in src_db]
    # The copy of the root volume holds the source's bytes.
    root = dst_volumes[twin('volume', src_volumes[PREFIX + '-root'])]
    assert _volume_head(dst, root, len(KNOWN)) == KNOWN
    lap('root volume read back')
    # app boots from the copy of its image, with its volumes in device
    # order.
    assert app.image['id'] == new[('image', src.image.find_image(
        PREFIX + '-image').id)]
    assert _attachments(dst, app) == [
        (device, new[('volume', volume)], doomed)
        for device, volume, doomed in src_app]
    first_csv = (out / 'uuids.csv').read_bytes()

    # A second run changes nothing.
    volume_ids = sorted(v.id for v in dst.block_storage.volumes()
                        if not v.name.startswith('downpour-check'))
    again = run([BIN / 'ansible-playbook', playbook] + mapped, env)
    lap('second import')
    assert recap_changed(again.stdout) == 0, again.stdout[-4000:]
    assert (out / 'uuids.csv').read_bytes() == first_csv
    assert sorted(v.id for v in dst.block_storage.volumes()
                  if not v.name.startswith('downpour-check')) == volume_ids
    assert sorted(dst_servers) == sorted(s.id for s in dst.compute.servers())

    # Our own server's delete_on_termination, changed in the target, is
    # set back by the next run.
    dst.compute.update_volume_attachment(db, data.id,
                                         delete_on_termination=True)
    assert [doomed for _device, volume, doomed in _attachments(dst, db)
            if volume == data.id] == [True]
    fixed = run([BIN / 'ansible-playbook', playbook] + mapped, env)
    lap('import that corrects')
    assert recap_changed(fixed.stdout) > 0
    assert [doomed for _device, volume, doomed in _attachments(dst, db)
            if volume == data.id] == [False]

"""A server of the import's own that went to ERROR is replaced on the same
volumes, on the two local clouds (issue 21, item 5).

In the source a server boots from its root volume and has a data volume,
both deleted with it (``delete_on_termination``).  After the import the
target's admin puts the imported server into ERROR; the next run deletes
it and makes it again, in one run, on the same volumes, which Nova would
have deleted with it.  The local Nova sends Cinder no service token, so a
deleted server's volumes stay attached to it (Cinder refuses Nova the
detach, bug 2004555) and the import ends those attachments itself.
"""

import csv

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
from tests.functional.test_volume_types_and_bfv import _volume_head

pytestmark = pytest.mark.functional

PREFIX = 'dp-replace'
KNOWN = b''.join(b'downpour root volume, line %06d\n' % i
                 for i in range(2000))


def _build_source(conn):
    """db boots from ``root`` (``KNOWN``) and has ``data``, both deleted
    with it."""
    image = upload_image(conn, PREFIX + '-image', KNOWN)
    root = conn.block_storage.create_volume(name=PREFIX + '-root', size=1,
                                            image_id=image.id)
    data = conn.block_storage.create_volume(name=PREFIX + '-data', size=1)
    for made in (root, data):
        made = conn.block_storage.wait_for_status(
            made, 'available', failures=['error'], wait=300)
    net = conn.network.create_network(name=PREFIX + '-net')
    conn.network.create_subnet(network_id=net.id, name=PREFIX + '-subnet',
                               ip_version=4, cidr='10.78.0.0/24')
    flavor = conn.compute.find_flavor('m1.tiny', ignore_missing=False)
    server = conn.compute.create_server(
        name=PREFIX + '-db', flavor_id=flavor.id,
        networks=[{'port': conn.network.create_port(network_id=net.id).id}],
        block_device_mapping=[
            {'boot_index': 0, 'uuid': root.id, 'source_type': 'volume',
             'destination_type': 'volume', 'delete_on_termination': True}])
    server = conn.compute.wait_for_server(server, wait=300)
    conn.compute.create_volume_attachment(server, volume=data.id,
                                          delete_on_termination=True)
    wait_for(lambda: conn.block_storage.get_volume(data.id),
             lambda v: v.status == 'in-use', 'attaching the data volume')


def _rows(path):
    with open(path, newline='') as stream:
        return list(csv.reader(stream))[1:]


def _uuids(out):
    return {(row[0], row[2]): row[3] for row in _rows(out / 'uuids.csv')}


def _volumes_of(conn, server_id):
    """{volume ID: delete_on_termination} of the server's volumes."""
    server = conn.compute.get_server(server_id)
    return {v['id']: v['delete_on_termination']
            for v in server.attached_volumes}


def test_a_server_in_error_is_replaced_on_the_same_volumes(tmp_path,
                                                           migration):
    src, dst = migration.source.conn, migration.target.conn
    admin = migration.target.admin
    env = migration.env
    lap = laps()

    _build_source(src)
    lap('source built')
    old_server = src.compute.find_server(PREFIX + '-db', ignore_missing=False)
    old_root = src.block_storage.find_volume(PREFIX + '-root',
                                             ignore_missing=False)
    old_data = src.block_storage.find_volume(PREFIX + '-data',
                                             ignore_missing=False)
    resources = tmp_path / 'resources.yml'
    # Only the boot volume's bytes are carried: the data volume is made
    # empty, which keeps the test short.
    resources.write_text(yaml.safe_dump({'servers': [
        {'name': PREFIX + '-db', 'save_state': False}]}))
    out = tmp_path / 'out'
    run([BIN / 'downpour', '--os-cloud', 'src', 'export', str(resources),
         str(out)], env)
    lap('export')
    playbook = [BIN / 'ansible-playbook', out / 'playbook.yml', '-e',
                'cloud=dst']
    run(playbook, env)
    lap('import')
    new = _uuids(out)
    broken = new[('server', old_server.id)]
    volumes = {new[('volume', old_root.id)]: True,
               new[('volume', old_data.id)]: True}
    assert _volumes_of(dst, broken) == volumes

    admin.compute.reset_server_state(broken, 'error')
    assert dst.compute.get_server(broken).status == 'ERROR'
    again = run(playbook, env)
    lap('import that replaces')

    assert recap_changed(again.stdout) > 0
    new = _uuids(out)
    fresh = new[('server', old_server.id)]
    assert fresh != broken
    assert [s.id for s in dst.compute.servers()] == [fresh]
    server = dst.compute.get_server(fresh)
    assert server.status == 'ACTIVE'
    # The same volumes, marked again as in the source; none made anew.
    assert _volumes_of(dst, fresh) == volumes
    assert {new[('volume', old_root.id)],
            new[('volume', old_data.id)]} == set(volumes)
    assert sorted(v.id for v in dst.block_storage.volumes()) == \
        sorted(volumes)
    assert sorted(row[3] for row in _rows(out / 'journal.csv')
                  if row[0] == 'volume') == sorted(volumes)
    root = dst.block_storage.get_volume(new[('volume', old_root.id)])
    assert root.status == 'in-use'
    assert _volume_head(dst, root, len(KNOWN)) == KNOWN
    lap('root volume read back')

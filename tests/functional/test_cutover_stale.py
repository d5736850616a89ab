"""A cutover after a rehearsal, on the two local clouds (issue 22, item 1
and 3): the rehearsal's export is imported; the application writes to its
volume; the cutover's export goes into the same directory.  The import
then stops before changing anything, naming the server and the volume it
made from the rehearsal's captures; ``downpour check`` says they are
stale and exits 1; the import with ``-e replace_stale=true`` brings the
new bytes, on the same port (the floating IP keeps the address it got at
the rehearsal), and a second run changes nothing.

The application "writes to its volume" as in test_cutover.py: into the
volume's file in the local cloud's file-backed Cinder.
"""

import csv
import os

import pytest
import yaml

from tests.functional.helpers import (
    BIN,
    laps,
    recap_changed,
    run,
    upload_image,
    volume_with_bytes,
)
from tests.functional.test_cutover import _write_volume
from tests.functional.test_lived_in import volume_prefix

pytestmark = pytest.mark.functional

PREFIX = 'dp-stale'
MiB = 1024 * 1024
REHEARSAL = b'rehearsal bytes\n' * 4096
CUTOVER = os.urandom(64 * 1024)


def _build_source(conn):
    """web, booted from an image on a port behind a router to ``public``
    with a floating IP, and ``data`` (REHEARSAL first) attached."""
    public = conn.network.find_network('public', ignore_missing=False)
    net = conn.network.create_network(name=PREFIX + '-net')
    subnet = conn.network.create_subnet(
        network_id=net.id, name=PREFIX + '-subnet', ip_version=4,
        cidr='10.79.0.0/24')
    router = conn.network.create_router(
        name=PREFIX + '-router',
        external_gateway_info={'network_id': public.id})
    conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    port = conn.network.create_port(network_id=net.id)
    image = upload_image(conn, PREFIX + '-image', b'web disk\n' * 4096)
    flavor = conn.compute.find_flavor('m1.tiny', ignore_missing=False)
    server = conn.compute.create_server(
        name=PREFIX + '-web', flavor_id=flavor.id, image_id=image.id,
        networks=[{'port': port.id}])
    data = volume_with_bytes(conn, PREFIX + '-data', REHEARSAL)
    server = conn.compute.wait_for_server(server, wait=300)
    conn.compute.create_volume_attachment(server, volume=data.id)
    conn.block_storage.wait_for_status(data, 'in-use', failures=['error'],
                                       wait=300)
    conn.network.create_ip(floating_network_id=public.id, port_id=port.id)
    return server, data


def _uuids(out):
    with open(out / 'uuids.csv', newline='') as stream:
        return {(row[0], row[2]): row[3] for row in list(csv.reader(stream))[1:]}


def _address(conn, project_id):
    fip, = conn.network.ips(project_id=project_id)
    return fip.floating_ip_address, fip.port_id


def test_a_cutover_replaces_what_the_rehearsal_made(tmp_path, migration):
    src, dst = migration.source.conn, migration.target.conn
    env = migration.env
    lap = laps()

    server, data = _build_source(src)
    lap('source built')
    resources = tmp_path / 'resources.yml'
    resources.write_text(yaml.safe_dump({'servers': [
        {'name': PREFIX + '-web'}]}))
    out = tmp_path / 'out'
    export = [BIN / 'downpour', '--os-cloud', 'src', 'export', resources,
              out]
    playbook = [BIN / 'ansible-playbook', out / 'playbook.yml', '-e',
                'cloud=dst', '-e', '{"network_map": {"public": "ext-net"}}']
    check = [BIN / 'downpour', '--os-cloud', 'dst', 'check', '-f', 'json',
             out]

    # The rehearsal.
    run(export, env)
    lap('rehearsal export')
    run(playbook, env)
    lap('rehearsal import')
    rehearsed = _uuids(out)
    web, volume = rehearsed[('server', server.id)], rehearsed[('volume',
                                                               data.id)]
    address, port = _address(dst, migration.target.project_id)
    assert volume_prefix(dst, volume, len(REHEARSAL)) == REHEARSAL
    lap('rehearsal read back')

    # The application writes; the cutover's export, into the same place.
    _write_volume(data, CUTOVER)
    run(export, env)
    lap('cutover export')

    # The import stops before changing anything, naming both.
    stopped = run(playbook, env, check=False)
    lap('import that stops')
    assert stopped.returncode != 0
    lines = [line for line in stopped.stdout.splitlines()
             if 'was made from the capture taken at' in line]
    assert any("volume '%s-data'" % PREFIX in line and volume in line
               for line in lines), stopped.stdout[-4000:]
    assert any("server '%s-web'" % PREFIX in line and web in line
               for line in lines), stopped.stdout[-4000:]
    assert 'replace_stale=true' in stopped.stdout
    assert [s.id for s in dst.compute.servers()] == [web]
    assert dst.block_storage.get_volume(volume).status == 'in-use'

    # downpour check says the same, and exits 1.
    checked = run(check, env, check=False)
    lap('check')
    assert checked.returncode == 1, checked.stderr[-3000:]
    rows = {row['Check']: row['Verdict'] for row in
            yaml.safe_load(checked.stdout)}
    assert rows['server %s-web' % PREFIX].startswith('stale: ')
    assert rows['volume %s-data' % PREFIX].startswith('stale: ')
    assert '0 clash' in rows['resources'], rows['resources']
    assert 'stale: ' in checked.stderr

    # With replace_stale: the new bytes, the same port and address.
    replaced = run(playbook + ['-e', 'replace_stale=true'], env)
    lap('import that replaces')
    assert 'replaced, made from an older capture' in replaced.stdout
    now = _uuids(out)
    assert now[('server', server.id)] != web
    assert now[('volume', data.id)] != volume
    assert [s.id for s in dst.compute.servers()] == [now[('server',
                                                          server.id)]]
    assert volume not in [v.id for v in dst.block_storage.volumes()]
    assert _address(dst, migration.target.project_id) == (address, port)
    fresh = dst.compute.get_server(now[('server', server.id)])
    assert [v['id'] for v in fresh.attached_volumes] == [
        now[('volume', data.id)]]
    assert volume_prefix(dst, now[('volume', data.id)],
                         len(CUTOVER)) == CUTOVER
    lap('cutover read back')

    # Nothing is stale any more: a run changes nothing, check exits 0.
    again = run(playbook, env)
    lap('second run')
    assert recap_changed(again.stdout) == 0
    assert run(check, env, check=False).returncode == 0

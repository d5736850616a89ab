"""Resources that share a name in the source arrive as distinct resources.

Two servers, two networks (each with a subnet), two security groups, two
volumes and two images, all named ``twin``, are exported and imported; each
row of uuids.csv must map the right old ID to the right new one (told apart
by what differs: subnet CIDR, description, size, bytes, metadata), and a
second import must create and change nothing.  The journal, not a name,
tells a later run which of them are its own.
"""

import csv

import pytest
import yaml

from tests.functional.helpers import (
    BIN,
    boot,
    image_bytes,
    recap_changed,
    run,
    upload_image,
)

pytestmark = pytest.mark.functional

NAME = 'twin'


def _build_source(conn):
    twins = []
    for n in (1, 2):
        net = conn.network.create_network(name=NAME)
        subnet = conn.network.create_subnet(
            name=NAME, network_id=net.id, ip_version=4,
            cidr='10.7%d.0.0/24' % n)
        group = conn.network.create_security_group(
            name=NAME, description='group %d' % n)
        conn.network.create_security_group_rule(
            security_group_id=group.id, direction='ingress',
            ethertype='IPv4', protocol='tcp', port_range_min=1000 + n,
            port_range_max=1000 + n)
        image = upload_image(conn, NAME, b'twin image %d\n' % n * 100)
        volume = conn.block_storage.create_volume(
            name=NAME, size=n, description='volume %d' % n)
        server = boot(conn, NAME, image.id, net.id, group.id,
                      metadata={'twin': str(n)})
        assert server.status == 'ACTIVE'
        twins.append({'network': net, 'subnet': subnet, 'group': group,
                      'image': image, 'volume': volume, 'server': server})
    return twins


def test_same_names_stay_distinct(tmp_path, migration):
    source, target, env = migration.source, migration.target, migration.env
    src, dst = source.conn, target.conn
    twins = _build_source(src)

    resources = tmp_path / 'resources.yml'
    run([BIN / 'downpour', '--os-cloud', 'src', 'query', '--server-name',
         NAME, '--image-name', NAME, '--volume-name', NAME, resources], env)
    listed = yaml.safe_load(resources.read_text())
    for section in ('servers', 'images', 'volumes'):
        assert len(listed[section]) == 2, listed
    # Bytes are not the point here: recreate servers from their image and
    # volumes empty (images are always copied with their bytes).
    for section in ('servers', 'volumes'):
        for entry in listed[section]:
            entry['save_state'] = False
    resources.write_text(yaml.safe_dump(listed))

    out = tmp_path / 'out'
    run([BIN / 'downpour', '--os-cloud', 'src', 'export', resources, out],
        env)
    run([BIN / 'ansible-playbook', out / 'playbook.yml', '-e', 'cloud=dst'],
        env)

    with open(out / 'uuids.csv', newline='') as stream:
        rows = list(csv.reader(stream))
    new = {(r[0], r[2]): r[3] for r in rows[1:]}
    assert len(new) == len(rows) - 1, rows

    def mapped(kind, old):
        target_id = new[(kind, old.id)]
        assert target_id, (kind, old.id)
        return target_id

    for kind, key in (('network', 'network'), ('subnet', 'subnet'),
                      ('security group', 'group'), ('image', 'image'),
                      ('volume', 'volume'), ('server', 'server')):
        ids = {mapped(kind, twin[key]) for twin in twins}
        assert len(ids) == 2, '%s: both old IDs map to %s' % (kind, ids)

    for n, twin in enumerate(twins, 1):
        network = dst.network.get_network(mapped('network', twin['network']))
        subnet = dst.network.get_subnet(mapped('subnet', twin['subnet']))
        assert network.name == subnet.name == NAME
        assert subnet.network_id == network.id
        assert subnet.cidr == twin['subnet'].cidr

        group = dst.network.get_security_group(
            mapped('security group', twin['group']))
        assert (group.name, group.description) == (NAME, 'group %d' % n)
        ports = {(r['port_range_min'], r['protocol'])
                 for r in group.security_group_rules
                 if r['direction'] == 'ingress'}
        assert ports == {(1000 + n, 'tcp')}

        image = dst.image.get_image(mapped('image', twin['image']))
        assert image.name == NAME
        assert image_bytes(dst, image.id) == b'twin image %d\n' % n * 100

        volume = dst.block_storage.get_volume(
            mapped('volume', twin['volume']))
        assert (volume.name, volume.size, volume.description) == (
            NAME, n, 'volume %d' % n)

        server = dst.compute.get_server(mapped('server', twin['server']))
        assert server.name == NAME
        assert server.metadata == {'twin': str(n)}
        assert list(server.addresses) == [NAME]
        port, = dst.network.ports(device_id=server.id)
        assert port.network_id == network.id
        assert port.security_group_ids == [group.id]
        assert server.image['id'] == image.id
    # No provisional name is left behind.
    for listing in (dst.network.networks(project_id=target.project_id),
                    dst.network.security_groups(project_id=target.project_id),
                    dst.image.images(owner=target.project_id),
                    dst.block_storage.volumes(), dst.compute.servers()):
        assert not [r.name for r in listing
                    if (r.name or '').startswith('downpour-')]

    def counts():
        return (len(list(dst.compute.servers())),
                len(list(dst.block_storage.volumes())),
                len(list(dst.image.images(owner=target.project_id))),
                len(list(dst.network.networks(project_id=target.project_id))),
                len(list(dst.network.security_groups(
                    project_id=target.project_id))))
    before = counts()
    assert before == (2, 2, 2, 2, 3)  # and the target's own default group
    first_csv = (out / 'uuids.csv').read_bytes()
    second = run([BIN / 'ansible-playbook', out / 'playbook.yml',
                  '-e', 'cloud=dst'], env)
    assert recap_changed(second.stdout) == 0, second.stdout[-4000:]
    assert counts() == before
    assert (out / 'uuids.csv').read_bytes() == first_csv

    # Renamed in the target since: ours by the journal, so named back.
    # uuids.csv lost: written again from the journal, identical.
    server_new = mapped('server', twins[0]['server'])
    volume_new = mapped('volume', twins[0]['volume'])
    dst.compute.update_server(server_new, name='renamed')
    dst.block_storage.update_volume(volume_new, name='renamed')
    (out / 'uuids.csv').unlink()
    run([BIN / 'ansible-playbook', out / 'playbook.yml', '-e', 'cloud=dst'],
        env)
    assert counts() == before
    assert dst.compute.get_server(server_new).name == NAME
    assert dst.block_storage.get_volume(volume_new).name == NAME
    assert (out / 'uuids.csv').read_bytes() == first_csv

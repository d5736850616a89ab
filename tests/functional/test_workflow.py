"""The whole Downpour workflow on the two local clouds.

A demo workload (playbooks/demo-workload.yml) is built in a fresh source
project, found with ``downpour query``, exported with ``downpour export`` and
imported with ``ansible-playbook`` into a fresh target project, all as member
users.  The test then checks what a user moving an application would check:
every resource is there with the same attributes, bytes are identical,
uuids.csv maps each old ID to the right new one, and a second import changes
nothing.
"""

import csv
import html
import time

import pytest
import yaml

from tests.functional.helpers import (
    BIN,
    REPO,
    environment,
    image_bytes,
    recap_changed,
    run,
    wait_for,
)

pytestmark = pytest.mark.functional

PREFIX = 'downpour-demo'
# What playbooks/demo-workload.yml writes into the demo image (and from it,
# into the attached data volume).
KNOWN_BYTES = ''.join(
    'downpour demo data, line %06d\n' % i for i in range(20000)).encode()


def volume_bytes(conn, volume, length):
    """The first ``length`` bytes of a volume, read the way a tenant can:
    clone it (it may be attached), upload the clone to an image and download
    that.  The fresh project's clean-up removes what is left."""
    clone = conn.block_storage.create_volume(
        name='downpour-check-clone', size=volume.size,
        source_volume_id=volume.id)
    wait_for(lambda: conn.block_storage.get_volume(clone.id),
             lambda v: v.status == 'available', 'the clone')
    name = 'downpour-check-%s' % volume.id
    conn.block_storage.upload_volume_to_image(
        clone, name, disk_format='raw', container_format='bare')
    image = wait_for(lambda: conn.image.find_image(name),
                     lambda i: i.status == 'active', 'the check image')
    return image_bytes(conn, image.id)[:length]


def rules_of(conn, group):
    """A group's rules as comparable tuples; remote groups as 'self' or name."""
    groups = {g.id: g.name for g in conn.network.security_groups(
        project_id=group.project_id)}
    rules = set()
    for rule in conn.network.security_group_rules(
            security_group_id=group.id):
        remote = rule.remote_group_id
        if remote == group.id:
            remote = 'self'
        elif remote:
            remote = groups.get(remote, remote)
        rules.add((rule.direction, rule.ether_type, rule.protocol,
                   rule.port_range_min, rule.port_range_max,
                   rule.remote_ip_prefix, remote))
    return rules


def one(iterable, what):
    items = list(iterable)
    assert len(items) == 1, '%s: expected one, found %d' % (what, len(items))
    return items[0]


@pytest.fixture
def workflow_env(tmp_path, fresh_project):
    """Fresh member projects in both clouds and a clouds.yaml naming them."""
    source = fresh_project('source')
    target = fresh_project('target')
    env = environment(tmp_path, {'demo-source': source.cloud_config,
                                 'demo-target': target.cloud_config})
    return source, target, env


def test_demo_workload_moves_to_target(tmp_path, workflow_env):
    source, target, env = workflow_env
    src, dst = source.conn, target.conn

    run([BIN / 'ansible-playbook', REPO / 'playbooks' / 'demo-workload.yml',
         '-e', 'cloud=demo-source'], env)

    # 1. query
    resources = tmp_path / 'resources.yml'
    run([BIN / 'downpour', '--os-cloud', 'demo-source', 'query',
         '--server-name', PREFIX + '-*', '--volume-name', PREFIX + '-spare',
         '--image-name', PREFIX + '-image', str(resources)], env)
    listed = yaml.safe_load(resources.read_text())
    assert sorted(e['name'] for e in listed['servers']) == [
        PREFIX + '-db', PREFIX + '-web']
    assert [e['name'] for e in listed['volumes']] == [PREFIX + '-spare']
    assert [e['name'] for e in listed['images']] == [PREFIX + '-image']

    # 2. export
    def source_state():
        return (sorted(i.id for i in src.image.images(owner=source.project_id)),
                sorted(v.id for v in src.block_storage.volumes()),
                sorted(s.id for s in src.block_storage.snapshots()),
                sorted((s.id, s.status) for s in src.compute.servers()))
    before = source_state()
    out = tmp_path / 'out'
    started = time.monotonic()
    run([BIN / 'downpour', '--os-cloud', 'demo-source', 'export',
         str(resources), str(out)], env)
    export_time = time.monotonic() - started
    assert (out / 'playbook.yml').is_file()
    assert (out / 'requirements.yml').is_file()
    # A picture of what moves, drawn by Graphviz: every server, network
    # and volume of the demo is in it.
    run([BIN / 'downpour', 'graph', str(out), '-o', str(tmp_path / 'g.svg')],
        env)
    svg = html.unescape((tmp_path / 'g.svg').read_text())
    for name in ('-web', '-db', '-net', '-subnet', '-router', '-sg', '-data',
                 '-spare', '-image'):
        assert '>%s%s<' % (PREFIX, name) in svg, name
    # The source is as it was: capture images, snapshots and temporary
    # volumes made for the export are gone again.
    assert source_state() == before

    # 3. import, from another directory to prove playbook_dir paths work
    started = time.monotonic()
    run([BIN / 'ansible-playbook', out / 'playbook.yml',
         '-e', 'cloud=demo-target'], dict(env, PWD='/'))
    import_time = time.monotonic() - started
    print('\nexport %.1f s, import %.1f s' % (export_time, import_time))

    # --- every resource exists in the target with the same attributes ---
    src_key = src.compute.find_keypair(PREFIX)
    dst_key = dst.compute.find_keypair(PREFIX)
    assert dst_key is not None
    assert dst_key.public_key == src_key.public_key

    src_net = src.network.find_network(PREFIX + '-net')
    dst_net = one(dst.network.networks(name=PREFIX + '-net',
                                       project_id=target.project_id),
                  'target network')
    src_subnet = src.network.find_subnet(PREFIX + '-subnet')
    dst_subnet = one(dst.network.subnets(network_id=dst_net.id), 'subnet')
    for attr in ('name', 'cidr', 'ip_version', 'gateway_ip',
                 'allocation_pools', 'dns_nameservers', 'host_routes',
                 'is_dhcp_enabled'):
        assert getattr(dst_subnet, attr) == getattr(src_subnet, attr), attr

    dst_router = one(dst.network.routers(name=PREFIX + '-router',
                                         project_id=target.project_id),
                     'router')
    ext_net = dst.network.find_network('ext-net')
    assert dst_router.external_gateway_info['network_id'] == ext_net.id
    interfaces = list(dst.network.ports(
        device_id=dst_router.id, device_owner='network:router_interface'))
    assert [p.fixed_ips[0]['subnet_id'] for p in interfaces] == [
        dst_subnet.id]

    src_sg = src.network.find_security_group(
        PREFIX + '-sg', project_id=source.project_id)
    dst_sg = one(dst.network.security_groups(
        name=PREFIX + '-sg', project_id=target.project_id), 'sg')
    assert dst_sg.description == src_sg.description
    assert rules_of(dst, dst_sg) == rules_of(src, src_sg)
    assert ('ingress', 'IPv4', 'tcp', 3306, 3306, None, 'self') in \
        rules_of(dst, dst_sg)

    src_image = src.image.find_image(PREFIX + '-image')
    dst_image = one(dst.image.images(name=PREFIX + '-image',
                                     owner=target.project_id), 'image')
    assert dst_image.visibility == 'private'
    assert dst_image.disk_format == src_image.disk_format
    assert dst_image.os_distro == src_image.os_distro == 'demo'
    assert image_bytes(dst, dst_image.id) == KNOWN_BYTES

    src_servers = {s.name: s for s in src.compute.servers()}
    dst_servers = {s.name: s for s in dst.compute.servers()}
    assert sorted(dst_servers) == [PREFIX + '-db', PREFIX + '-web']
    for name, server in dst_servers.items():
        assert server.status == 'ACTIVE'
        assert server.key_name == PREFIX
        assert server.metadata == src_servers[name].metadata
        old_ips = [a['addr'] for a in
                   src_servers[name].addresses[PREFIX + '-net']]
        new_ips = [a['addr'] for a in server.addresses[PREFIX + '-net']]
        assert new_ips == old_ips
        assert {g['name'] for g in server.security_groups} == {
            PREFIX + '-sg'}
    # ds1.custom does not exist in the target: the smallest flavor that
    # fits it (1 vCPU, 1 GiB RAM, 10 GB disk) is t2.micro.
    assert dst_servers[PREFIX + '-db'].flavor.name == 't2.micro'
    assert dst_servers[PREFIX + '-web'].flavor.name == 'm1.tiny'

    # The servers were saved with save_state: they boot from a snapshot
    # holding the bytes of the source server's disk.
    boot_image = src.image.find_image('cirros-fake')
    boot_bytes = image_bytes(src, boot_image.id)
    for server in dst_servers.values():
        assert image_bytes(dst, server.image['id']) == boot_bytes

    dst_volumes = {v.name: v for v in dst.block_storage.volumes()}
    assert sorted(dst_volumes) == [PREFIX + '-data', PREFIX + '-spare']
    data = dst_volumes[PREFIX + '-data']
    assert data.size == 1
    assert data.status == 'in-use'
    assert [a['server_id'] for a in data.attachments] == [
        dst_servers[PREFIX + '-db'].id]
    assert data.description == 'Holds the demo\'s known bytes'
    assert data.metadata.get('role') == 'data'
    assert dst_volumes[PREFIX + '-spare'].status == 'available'
    assert volume_bytes(dst, data, len(KNOWN_BYTES)) == KNOWN_BYTES

    # --- uuids.csv: one correct row per resource ---
    csv_path = out / 'uuids.csv'
    with open(csv_path, newline='') as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['Resource Type', 'Resource Name', 'Old', 'New']
    mapping = {(r[0], r[2]): (r[1], r[3]) for r in rows[1:]}
    assert len(mapping) == len(rows) - 1, 'duplicate rows in uuids.csv'
    expected = {
        ('keypair', PREFIX): (PREFIX, PREFIX),
        ('network', src_net.id): (PREFIX + '-net', dst_net.id),
        ('subnet', src_subnet.id): (PREFIX + '-subnet', dst_subnet.id),
        ('router', src.network.find_router(PREFIX + '-router').id):
            (PREFIX + '-router', dst_router.id),
        ('security group', src_sg.id): (PREFIX + '-sg', dst_sg.id),
        ('image', src_image.id): (PREFIX + '-image', dst_image.id),
    }
    for name in (PREFIX + '-web', PREFIX + '-db'):
        expected[('server', src_servers[name].id)] = (
            name, dst_servers[name].id)
    for volume in src.block_storage.volumes():
        expected[('volume', volume.id)] = (
            volume.name, dst_volumes[volume.name].id)
    for key, value in expected.items():
        assert mapping.get(key) == value, key
    first_csv = csv_path.read_bytes()

    # --- a second import creates nothing and changes nothing ---
    counts = (len(list(dst.compute.servers())),
              len(list(dst.block_storage.volumes())),
              len(list(dst.image.images(owner=target.project_id))),
              len(list(dst.network.networks(project_id=target.project_id))),
              len(list(dst.network.security_group_rules(
                  project_id=target.project_id))))
    second = run([BIN / 'ansible-playbook', out / 'playbook.yml',
                  '-e', 'cloud=demo-target'], env)
    assert recap_changed(second.stdout) == 0, second.stdout[-4000:]
    assert counts == (
        len(list(dst.compute.servers())),
        len(list(dst.block_storage.volumes())),
        len(list(dst.image.images(owner=target.project_id))),
        len(list(dst.network.networks(project_id=target.project_id))),
        len(list(dst.network.security_group_rules(
            project_id=target.project_id))))
    assert csv_path.read_bytes() == first_csv
    # The README the export wrote explains every file the export and the
    # imports left in the output directory.
    readme = (out / 'README.txt').read_text()
    for name in sorted(p.name for p in out.iterdir()):
        assert name in readme, name

"""Servers export cannot copy as they are get a warning and a fallback:

* a server booted by another user of the project with that user's keypair
  (nova shows its key_name, the exporting user cannot read the keypair):
  the new server boots without a keypair;
* a server booted from a volume: the root volume is copied with its bytes
  and the new server boots from the copy.

The third fallback, a server whose image was deleted (its disk is captured
even with save_state: false), is tested in tests/unit/test_fallbacks.py
only: the local clouds' fake virt driver makes a snapshot from the image
the server was booted from, so it cannot snapshot such a server (nova logs
"Image not found during snapshot" and the capture stays queued).
"""

import secrets

import openstack
import pytest
import yaml

from tests.functional.helpers import BIN, run, upload_image, wait_for

pytestmark = pytest.mark.functional

IMAGE_BYTES = b'fallback test image\n' * 200


def _second_user(source):
    """Another member of the same project, and a Connection as them."""
    admin = source.admin
    name = 'bob-' + secrets.token_hex(4)
    password = secrets.token_urlsafe(16)
    user = admin.identity.create_user(name=name, password=password,
                                      domain_id='default',
                                      default_project_id=source.project_id)
    admin.identity.assign_project_role_to_user(
        source.project_id, user,
        admin.identity.find_role('member', ignore_missing=False))
    config = dict(source.cloud_config)
    config['auth'] = dict(config['auth'], username=name, password=password)
    conn = openstack.connect(load_yaml_config=False, load_envvars=False,
                             **config)
    return user, conn


def _server(conn, name, network_id, **kwargs):
    flavor = conn.compute.find_flavor('m1.tiny', ignore_missing=False)
    server = conn.compute.create_server(
        name=name, flavor_id=flavor.id, networks=[{'uuid': network_id}],
        **kwargs)
    server = wait_for(lambda: conn.compute.get_server(server.id),
                      lambda s: s.status in ('ACTIVE', 'ERROR'), name)
    assert server.status == 'ACTIVE', server.fault
    return server


def test_fallbacks(tmp_path, migration):
    source, target, env = migration.source, migration.target, migration.env
    src, dst = source.conn, target.conn
    net = src.network.create_network(name='fallback-net')
    src.network.create_subnet(network_id=net.id, ip_version=4,
                              cidr='10.98.0.0/24', name='fallback-subnet')
    image = upload_image(src, 'fallback-image', IMAGE_BYTES)

    bob, bob_conn = _second_user(source)
    try:
        bob_conn.compute.create_keypair(name='bob-key')
        _server(bob_conn, 'bob-server', net.id, image_id=image.id,
                key_name='bob-key')

        root = src.block_storage.create_volume(
            name='bfv-root', size=1, image_id=image.id)
        wait_for(lambda: src.block_storage.get_volume(root.id),
                 lambda v: v.status == 'available', 'the root volume')
        _server(src, 'bfv', net.id, block_device_mapping=[{
            'boot_index': 0, 'uuid': root.id, 'source_type': 'volume',
            'destination_type': 'volume', 'delete_on_termination': False}])

        resources = tmp_path / 'resources.yml'
        resources.write_text(yaml.safe_dump({'servers': [
            {'name': 'bob-server', 'save_state': False},
            {'name': 'bfv', 'save_state': False}]}))
        out = tmp_path / 'out'
        export = run([BIN / 'downpour', '--os-cloud', 'src', 'export',
                      resources, out], env)
    finally:
        bob_conn.compute.delete_keypair('bob-key', ignore_missing=True)
        source.admin.identity.delete_user(bob, ignore_missing=True)

    manifest = yaml.safe_load((out / 'manifest.yml').read_text())
    warnings = manifest['warnings']
    # Besides the user_data every server gets (which a tenant cannot read).
    user_data = [w for w in warnings if 'user_data' in w]
    assert len(user_data) == 2, warnings
    assert len(warnings) == 4, warnings
    key_warning, = [w for w in warnings if "'bob-key'" in w]
    bfv_warning, = [w for w in warnings if "'bfv-root'" in w]
    assert 'without a keypair' in key_warning
    assert 'boots from the copy' in bfv_warning
    for warning in warnings:   # each logged once
        assert export.stderr.count(warning) == 1, export.stderr

    run([BIN / 'ansible-playbook', out / 'playbook.yml', '-e', 'cloud=dst'],
        env)
    servers = {s.name: s for s in dst.compute.servers()}
    assert sorted(servers) == ['bfv', 'bob-server']
    for server in servers.values():
        assert server.status == 'ACTIVE'
    assert servers['bob-server'].key_name is None
    # Booted from the copy of its root volume.
    assert not servers['bfv'].image
    new_root, = [v for v in dst.block_storage.volumes()
                 if v.name == 'bfv-root']
    assert new_root.is_bootable
    assert [a['server_id'] for a in new_root.attachments] == [
        servers['bfv'].id]

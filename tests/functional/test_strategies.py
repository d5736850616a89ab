"""The selection strategies of ``downpour query`` on the real source cloud:
each selects exactly the resources a user would expect.

A fresh project gets three servers (``a``: tag blue, network front, group
web, keypair k-used, image img-a; ``b``: made a second later, tag red,
network back, group db, m1.small, stopped; ``c``: tag red, network front,
group web, image img-a), a volume, and an image, a keypair and a group no
server uses.  The local cloud has one compute host: every server shares
``a``'s host.
"""

import json
import os
import time

import pytest
import yaml

from downpour.cli import app
from tests.functional.helpers import upload_image, wait_for

pytestmark = pytest.mark.functional

PUBLIC_KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEtM0oG2D3MhUa0f0dyUAGN'
              'wh5G7wbR2FYbQNgqzYV1e strategies@test')


def _boot(conn, name, image, network, group, flavor='m1.tiny', tag=None,
          **kwargs):
    port = conn.network.create_port(network_id=network.id,
                                    security_group_ids=[group.id])
    server = conn.compute.create_server(
        name=name, image_id=image.id, networks=[{'port': port.id}],
        flavor_id=conn.compute.find_flavor(flavor, ignore_missing=False).id,
        **kwargs)
    server = wait_for(lambda: conn.compute.get_server(server.id),
                      lambda s: s.status == 'ACTIVE', 'server %r' % name)
    if tag:
        server.add_tag(conn.compute, tag)
    return server


@pytest.fixture
def project(fresh_project, tmp_path, monkeypatch):
    fresh = fresh_project('source')
    conn = fresh.conn
    nets = {}
    for n, name in enumerate(('front', 'back')):
        nets[name] = conn.network.create_network(name=name)
        conn.network.create_subnet(network_id=nets[name].id, ip_version=4,
                                   cidr='10.4%d.0.0/24' % n)
    groups = {name: conn.network.create_security_group(name=name)
              for name in ('web', 'db', 'unused')}
    for name in ('k-used', 'k-unused'):
        conn.compute.create_keypair(name=name, public_key=PUBLIC_KEY)
    images = {name: upload_image(conn, name, name.encode() * 100)
              for name in ('img-a', 'img-b', 'img-unused')}
    volume = conn.block_storage.create_volume(name='vol', size=1)
    a = _boot(conn, 'a', images['img-a'], nets['front'], groups['web'],
              tag='blue', key_name='k-used')
    # Creation times are kept to the second.
    time.sleep(1.5)
    b = _boot(conn, 'b', images['img-b'], nets['back'], groups['db'],
              flavor='m1.small', tag='red')
    _boot(conn, 'c', images['img-a'], nets['front'], groups['web'],
          tag='red')
    conn.compute.stop_server(b)
    wait_for(lambda: conn.compute.get_server(b.id),
             lambda s: s.status == 'SHUTOFF', 'server b stopped')
    conn.block_storage.wait_for_status(volume, 'available', wait=180)
    clouds_yaml = tmp_path / 'clouds.yaml'
    clouds_yaml.write_text(yaml.safe_dump({'clouds': {
        'fresh': fresh.cloud_config}}))
    for name in [n for n in os.environ if n.startswith('OS_')]:
        monkeypatch.delenv(name)
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', str(clouds_yaml))
    fresh.a, fresh.b = a, conn.compute.get_server(b.id)
    return fresh


def _query(capsys, tmp_path, *argv):
    """``downpour query`` into a new file: {section: sorted names}."""
    path = tmp_path / ('r%d.yml' % time.monotonic_ns())
    status = app.main(['--os-cloud', 'fresh', 'query', '-f', 'json',
                       *argv, str(path)])
    out, err = capsys.readouterr()
    assert status == 0, err
    found = {}
    for row in json.loads(out):
        found.setdefault(row['Section'], []).append(row['Name'])
    return {section: sorted(names) for section, names in found.items()}


def test_each_strategy_selects_exactly_its_resources(project, tmp_path,
                                                     capsys):
    def q(*argv):
        return _query(capsys, tmp_path, *argv)

    assert q('--all') == {
        'servers': ['a', 'b', 'c'], 'volumes': ['vol'],
        'images': ['img-a', 'img-b', 'img-unused'],
        'keypairs': ['k-unused', 'k-used'], 'networks': ['back', 'front'],
        'security_groups': ['db', 'default', 'unused', 'web']}
    assert q('--all', '--used') == {
        'servers': ['a', 'b', 'c'], 'volumes': ['vol'],
        'images': ['img-a', 'img-b'], 'keypairs': ['k-used'],
        'networks': ['back', 'front'], 'security_groups': ['db', 'web']}
    assert q('--server-name', 'a', '--used') == {
        'servers': ['a'], 'images': ['img-a'], 'keypairs': ['k-used'],
        'security_groups': ['web']}
    # One compute host: every server shares a's hostId.
    assert project.a.host_id
    assert q('--same-host-as', 'a') == {'servers': ['a', 'b', 'c']}
    assert q('--status', 'shutoff') == {'servers': ['b']}
    assert q('--flavor', 'm1.small') == {'servers': ['b']}
    assert q('--network', 'front') == {'servers': ['a', 'c']}
    assert q('--tag', 'red') == {'servers': ['b', 'c']}
    assert q('--tag', 'red', '--network', 'front') == {'servers': ['c']}
    made_b = project.b.created_at
    assert q('--created-before', made_b) == {'servers': ['a']}
    assert q('--created-after', made_b) == {'servers': ['b', 'c']}
    assert q('--created-after', made_b, '--status', 'ACTIVE',
             '--used') == {'servers': ['c'], 'images': ['img-a'],
                           'security_groups': ['web']}
    # A server that is not there: nothing is written.
    status = app.main(['--os-cloud', 'fresh', 'query', '--same-host-as',
                       'nope', str(tmp_path / 'none.yml')])
    assert status == 1
    assert "--same-host-as 'nope': no server has that name or ID" in \
        capsys.readouterr().err
    assert not (tmp_path / 'none.yml').exists()

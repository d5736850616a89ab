"""``downpour check`` against the real target cloud, before an import.

One small workload (two servers on a network behind a router, a security
group, a keypair, an image and an empty volume) is exported once.  The
check of a fresh target project fits, and makes only GET requests (logins
aside, counted with tools/bench/reqcount); once the admin has lowered the
project's instance quota it does not, names the short kind, and ``--fit``
splits the resource file so that the part that fits is exported and
imported within the quota; ``downpour graph`` marks what did not fit.  A
second workload, whose server has a flavor the target has nothing as large
as and whose network's name the target already uses, is refused with both
named, and marked in the graph.
"""

import collections
import csv
import json
import os
import subprocess

import pytest
import yaml

from tests.functional.helpers import (
    BIN,
    REPO,
    boot,
    environment,
    recap_changed,
    run,
    upload_image,
    wait_for,
)

pytestmark = pytest.mark.functional

PUBLIC_KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEtM0oG2D3MhUa0f0dyUAGN'
              'wh5G7wbR2FYbQNgqzYV1e check@test')


def _network(conn, name, cidr):
    net = conn.network.create_network(name=name)
    subnet = conn.network.create_subnet(name=name + '-subnet',
                                        network_id=net.id, ip_version=4,
                                        cidr=cidr)
    return net, subnet


def _build_source(conn):
    net, subnet = _network(conn, 'app-net', '10.31.0.0/24')
    public = conn.network.find_network('public', ignore_missing=False)
    router = conn.network.create_router(
        name='app-router', external_gateway_info={'network_id': public.id})
    conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    group = conn.network.create_security_group(name='app-sg')
    conn.network.create_security_group_rule(
        security_group_id=group.id, direction='ingress', ethertype='IPv4',
        protocol='tcp', port_range_min=22, port_range_max=22)
    conn.compute.create_keypair(name='app-key', public_key=PUBLIC_KEY)
    image = upload_image(conn, 'app-image', b'check image\n' * 1000)
    servers = [boot(conn, name, image.id, net.id, group.id,
                    key_name='app-key') for name in ('app-1', 'app-2')]
    volume = conn.block_storage.create_volume(name='app-data', size=1)
    wait_for(lambda: conn.block_storage.get_volume(volume.id),
             lambda v: v.status == 'available', 'volume app-data')
    conn.compute.create_volume_attachment(servers[0], volume=volume.id)
    wait_for(lambda: conn.block_storage.get_volume(volume.id),
             lambda v: v.status == 'in-use', 'volume app-data attached')


def _check(out, env, *extra, counts=None):
    """``downpour check``: (exit status, rows by check, stderr)."""
    if counts is not None:
        counts.mkdir()
        env = dict(env, DOWNPOUR_REQCOUNT_DIR=str(counts), PYTHONPATH=(
            str(REPO / 'tools' / 'bench' / 'reqcount') + os.pathsep
            + env.get('PYTHONPATH', '')))
    proc = run([BIN / 'downpour', '--os-cloud', 'dst', 'check', '-f', 'json',
                out, *extra], env, check=False)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    rows = collections.defaultdict(list)
    for row in json.loads(proc.stdout):
        rows[row['Check']].append(row)
    return proc.returncode, rows, proc.stderr


def _play(out, env):
    proc = subprocess.run(  # noqa: S603 - our own command
        [str(BIN / 'ansible-playbook'), 'playbook.yml', '-e', 'cloud=dst'],
        cwd=out, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc


def _summary(output):
    """The lines of the play's last task."""
    assert 'TASK [Summary]' in output, output[-3000:]
    return output.split('TASK [Summary]', 1)[1].split('PLAY RECAP', 1)[0]


def _requests(counts):
    total = collections.Counter()
    for name in os.listdir(counts):
        with open(counts / name, encoding='utf-8') as stream:
            total.update(json.load(stream)['requests'])
    return total


def _quota(rows, label):
    (row,) = rows[label]
    return row['Needed'], row['Free after import'], row['Verdict']


def test_check_fits_then_is_short_and_fit_splits(tmp_path, migration):
    source, target, env = migration.source, migration.target, migration.env
    _build_source(source.conn)
    resources = tmp_path / 'resources.yml'
    resources.write_text(yaml.safe_dump({'servers': [
        {'name': 'app-1', 'save_state': False},
        {'name': 'app-2', 'save_state': False}]}))
    # The resource file's graph, resolved in the source without an export.
    drawn = run([BIN / 'downpour', '--os-cloud', 'src', 'graph', resources],
                env).stdout
    for label in ('server\\napp-1', 'server\\napp-2', 'network\\napp-net',
                  'router\\napp-router', 'security group\\napp-sg',
                  'volume\\napp-data\\n1 GiB', 'keypair\\napp-key',
                  'image\\napp-image'):
        assert 'label="%s' % label in drawn, (label, drawn)
    out = tmp_path / 'out'
    run([BIN / 'downpour', '--os-cloud', 'src', 'export', resources, out],
        env)

    # A fresh target project: everything fits, and the check only reads.
    status, rows, err = _check(out, env, counts=tmp_path / 'counts')
    assert status == 0, err
    requests = _requests(tmp_path / 'counts')
    assert requests, 'nothing was counted'
    writes = {key: n for key, n in requests.items()
              if not key.startswith('GET ')
              and not key.endswith(' /v3/auth/tokens')}
    assert writes == {}, requests
    assert any(' /v2.0/quotas/' in key for key in requests), requests
    limits = {'instances': 50, 'cores': 200, 'RAM (MiB)': 512000,
              'key pairs': 100, 'volumes': 50, 'volume gigabytes': 2000,
              'networks': 50, 'subnets': 50, 'ports': 500, 'routers': 20,
              'security groups': 50, 'security group rules': 500}
    # Two m1.tiny servers (1 vCPU, 512 MiB), the attached volume, two
    # server ports and the router's interface, app-sg with its rules (the
    # ingress rule and those Neutron gave the group).
    group = source.conn.network.find_security_group('app-sg',
                                                    ignore_missing=False)
    needed = {'instances': 2, 'cores': 2, 'RAM (MiB)': 1024,
              'key pairs': 1, 'volumes': 1, 'volume gigabytes': 1,
              'networks': 1, 'subnets': 1, 'ports': 3, 'routers': 1,
              'security groups': 1,
              'security group rules': len(group.security_group_rules)}
    for label, need in needed.items():
        got_need, free, verdict = _quota(rows, label)
        assert (got_need, verdict) == (need, 'ok'), (label, rows[label])
        if label not in ('security groups', 'security group rules'):
            # A fresh project uses none of these yet (Neutron may have
            # made its default group and rules).
            assert free == limits[label] - need, (label, rows[label])
    assert _quota(rows, 'floating IPs')[0] == 0
    # Glance enforces no unified limits on the local clouds.
    assert _quota(rows, 'images')[2] == 'not reported'
    assert [r['Verdict'] for r in rows['flavor m1.tiny']] == [
        '-> m1.tiny (%s)' % target.conn.compute.find_flavor(
            'm1.tiny', ignore_missing=False).id]
    ext = target.conn.network.find_network('ext-net', ignore_missing=False)
    assert [r['Verdict'] for r in rows['external network public']] == [
        '-> ext-net (%s)' % ext.id]
    assert 'name clash' not in rows

    # The admin lowers the project's instances to one.
    target.admin.set_compute_quotas(target.project_id, instances=1)
    status, rows, err = _check(out, env, '--fit')
    assert status == 1
    assert _quota(rows, 'instances') == (2, -1, 'SHORT by 1')
    assert _quota(rows, 'cores')[2] == 'ok'
    assert 'instances (needs 2, 1 free): not enough quota' in err, err
    assert 'cores' not in err.split('does not fit', 1)[1]
    fit, rest = out / 'fit.yml', out / 'rest.yml'
    assert yaml.safe_load(fit.read_text()) == {
        'servers': [{'name': 'app-1', 'save_state': False}]}
    assert yaml.safe_load(rest.read_text()) == {
        'servers': [{'name': 'app-2', 'save_state': False}]}
    # The graph of the export shows what did not fit, drawn by dot.
    drawn = run([BIN / 'downpour', 'graph', out], env).stdout
    assert 'label="server\\napp-2\\ndoes not fit now"' in drawn, drawn
    assert 'label="server\\napp-1"' in drawn, drawn
    run([BIN / 'downpour', 'graph', out, '-o', tmp_path / 'graph.svg'], env)
    svg = (tmp_path / 'graph.svg').read_text()
    assert svg.count('does not fit now') == 2, svg  # app-2 and its port

    # What fits moves now: exported and imported within the quota.
    out2 = tmp_path / 'out-fit'
    run([BIN / 'downpour', '--os-cloud', 'src', 'export', fit, out2], env)
    status, rows, err = _check(out2, env)
    assert status == 0, err
    assert _quota(rows, 'instances') == (1, 0, 'ok')
    # Run in the output directory: its ansible.cfg and inventory leave
    # Ansible nothing to warn about, and the play ends with its summary.
    proc = _play(out2, env)
    assert recap_changed(proc.stdout) > 0
    assert '[WARNING]' not in proc.stdout + proc.stderr, proc.stderr
    summary = _summary(proc.stdout)
    assert 'server: 1 created, 0 already there' in summary, summary
    assert 'volume: 1 created, 0 already there' in summary, summary
    assert 'flavor: 0 created, 1 already there' in summary, summary
    assert 'uuids.csv (old ID -> new ID): %s/uuids.csv' % out2 in summary
    # A second run changes nothing, and says so.
    again = _play(out2, env)
    assert recap_changed(again.stdout) == 0
    summary = _summary(again.stdout)
    assert 'server: 0 created, 1 already there' in summary, summary
    assert 'nothing to make: the check before the import found it all there' in summary, \
        summary
    olds = [row['Old'] for row in csv.DictReader(
        open(out2 / 'uuids.csv', encoding='utf-8'))]
    assert len(olds) == len(set(olds)) > 0
    dst = target.conn
    assert [s.name for s in dst.compute.servers()] == ['app-1']
    (server,) = dst.compute.servers()
    assert server.status == 'ACTIVE'
    (volume,) = dst.block_storage.volumes()
    assert (volume.name, volume.size, volume.status) == ('app-data', 1,
                                                         'in-use')
    assert [a['server_id'] for a in volume.attachments] == [server.id]
    # Checked again after the import, the same export needs nothing more.
    status, rows, err = _check(out2, env)
    assert status == 0, err
    assert _quota(rows, 'instances') == (0, 0, 'ok')
    assert _quota(rows, 'ports')[0] == 0
    # And the rest no longer fits at all: the one instance is taken.
    status, rows, err = _check(out, env)
    assert status == 1
    assert _quota(rows, 'instances')[2] == 'SHORT by 2'


def test_check_names_a_missing_flavor_and_a_clash(tmp_path, migration):
    source, target, env = migration.source, migration.target, migration.env
    src = source.conn
    admin = source.admin
    # Larger than any flavor of the target: nothing can be chosen.
    flavor = admin.compute.create_flavor(name='check-huge', vcpus=64,
                                         ram=1024, disk=1, is_public=False)
    try:
        admin.compute.flavor_add_tenant_access(flavor, source.project_id)
        net, _subnet = _network(src, 'clash-net', '10.32.0.0/24')
        image = upload_image(src, 'clash-image', b'clash image\n' * 100)
        port = src.network.create_port(network_id=net.id)
        server = src.compute.create_server(
            name='big', flavor_id=flavor.id, image_id=image.id,
            networks=[{'port': port.id}])
        wait_for(lambda: src.compute.get_server(server.id),
                 lambda s: s.status == 'ACTIVE', 'server big')
        resources = tmp_path / 'resources.yml'
        resources.write_text(yaml.safe_dump({'servers': [
            {'name': 'big', 'save_state': False}]}))
        out = tmp_path / 'out'
        run([BIN / 'downpour', '--os-cloud', 'src', 'export', resources,
             out], env)
    finally:
        # Nova keeps a copy of the flavor in the server: it can go now.
        admin.compute.delete_flavor(flavor, ignore_missing=True)

    # The target's own network of that name.
    theirs, _ = _network(target.conn, 'clash-net', '10.99.0.0/24')
    status, rows, err = _check(out, env)
    assert status == 1
    (flavor_row,) = rows['flavor check-huge']
    assert flavor_row['Verdict'].startswith('MISSING')
    assert 'flavor check-huge is missing' in err, err
    clashes = [r['Verdict'] for r in rows['name clash']]
    assert len(clashes) == 1, clashes
    assert "network 'clash-net'" in clashes[0]
    assert theirs.id in clashes[0]
    assert 'a new one is made beside it' in clashes[0]
    drawn = run([BIN / 'downpour', 'graph', out], env).stdout
    assert 'network\\nclash-net\\nname used in the target' in drawn, drawn
    assert 'flavor\\ncheck-huge\\n64 vCPU, 1024 MiB\\nmissing in the ' \
        'target' in drawn, drawn
    # Nothing was made in the target.
    assert [n.id for n in target.conn.network.networks(
        project_id=target.project_id)] == [theirs.id]


def test_check_of_a_directory_that_is_no_export(tmp_path, localcloud):
    env = environment(tmp_path, {
        'dst': localcloud.cloud_config('target')})
    proc = run([BIN / 'downpour', '--os-cloud', 'dst', 'check',
                tmp_path / 'nothing'], env, check=False)
    # Could not run: 2, apart from 1, an answer that it does not fit.
    assert proc.returncode == 2
    assert 'playbook.yml: no such file' in proc.stderr, proc.stderr

"""A second import with nothing to change only looks, and a target that
lost something gets exactly that back; a target without the external
network stops the import before anything is created.

Networks, a router with two interfaces and a gateway, two security groups
(one rule naming the other group), a keypair and an image are exported and
imported.  Every process is counted with tools/bench/reqcount, as the
benchmark does: the second import must make no write request at all
(logins aside) from one module process; after a rule and a router
interface are removed in the target, a third import must put back those
two and nothing else.
"""

import collections
import concurrent.futures
import json
import os
import time

import pytest
import yaml

from tests.functional.helpers import (
    BIN,
    REPO,
    recap_changed,
    run,
    upload_image,
)

pytestmark = pytest.mark.functional

PUBLIC_KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEtM0oG2D3MhUa0f0dyUAGN'
              'wh5G7wbR2FYbQNgqzYV1e rerun@test')


def _build_source(conn):
    public = conn.network.find_network('public', ignore_missing=False)
    subnets = []
    for n, name in ((1, 'front'), (2, 'back')):
        net = conn.network.create_network(name=name)
        subnets.append(conn.network.create_subnet(
            name=name + '-subnet', network_id=net.id, ip_version=4,
            cidr='10.6%d.0.0/24' % n))
    router = conn.network.create_router(
        name='edge', external_gateway_info={'network_id': public.id})
    for subnet in subnets:
        conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    web = conn.network.create_security_group(name='web')
    for port in (80, 443):
        conn.network.create_security_group_rule(
            security_group_id=web.id, direction='ingress', ethertype='IPv4',
            protocol='tcp', port_range_min=port, port_range_max=port)
    db = conn.network.create_security_group(name='db')
    conn.network.create_security_group_rule(
        security_group_id=db.id, direction='ingress', ethertype='IPv4',
        protocol='tcp', port_range_min=5432, port_range_max=5432,
        remote_group_id=web.id)
    conn.compute.create_keypair(name='ops', public_key=PUBLIC_KEY)
    upload_image(conn, 'base', b'rerun image\n' * 1000)


def _import(out, env, counts):
    """Run the playbook with every process counted: (recap changed,
    requests by module, all requests)."""
    counts.mkdir()
    env = dict(env, PYTHONPATH=str(REPO / 'tools' / 'bench' / 'reqcount'),
               DOWNPOUR_REQCOUNT_DIR=str(counts))
    proc = run([BIN / 'ansible-playbook', out / 'playbook.yml',
                '-e', 'cloud=dst'], env)
    by_module = collections.defaultdict(collections.Counter)
    total = collections.Counter()
    for name in os.listdir(counts):
        with open(counts / name, encoding='utf-8') as stream:
            record = json.load(stream)
        if record['requests']:
            by_module[record['module'] or record['argv0']].update(
                {'processes': 1})
            by_module[record['module'] or record['argv0']].update(
                record['requests'])
            total.update(record['requests'])
    return recap_changed(proc.stdout), by_module, total


def _lock_holder(out, running, timeout=120):
    """The PID of the live ansible-playbook that holds the output
    directory's import lock, once the running import has taken it."""
    path = out / '.downpour-import.lock'
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not running.done():
        held = path.read_text().split() if path.exists() else []
        if held:
            try:
                with open('/proc/%s/cmdline' % held[0], 'rb') as stream:
                    if b'ansible-playbook' in stream.read():
                        return int(held[0])
            except OSError:
                pass  # the refused run's, gone
        time.sleep(0.2)
    pytest.fail('the import did not take the lock of %s' % out)


def _writes(total):
    """Requests that change something: all but GETs and logins."""
    writes = {}
    for key, n in total.items():
        method, _, path = key.split(' ', 2)
        if method != 'GET' and (method, path) != ('POST', '/v3/auth/tokens'):
            writes[key] = n
    return writes


def test_rerun_only_looks_and_repairs_what_is_missing(tmp_path,
                                                      migration):
    source, target, env = migration.source, migration.target, migration.env
    _build_source(source.conn)
    resources = tmp_path / 'resources.yml'
    resources.write_text(yaml.safe_dump({
        'networks': [{'name': 'front'}, {'name': 'back'}],
        'security_groups': [{'name': 'web'}, {'name': 'db'}],
        'keypairs': [{'name': 'ops'}],
        'images': [{'name': 'base'}]}))
    out = tmp_path / 'out'
    run([BIN / 'downpour', '--os-cloud', 'src', 'export', resources, out],
        env)

    # A network_map entry naming nothing: the play stops, naming the
    # network, before anything is created.
    refused = run([BIN / 'ansible-playbook', out / 'playbook.yml',
                   '-e', 'cloud=dst',
                   '-e', '{"network_map": {"public": "no-such-net"}}'],
                  env, check=False)
    assert refused.returncode != 0
    assert 'network public: the target has no external network of that ' \
        'name' in refused.stdout, refused.stdout[-3000:]
    assert list(target.conn.network.networks(
        project_id=target.project_id)) == []
    assert not (out / 'uuids.csv').exists()

    # A second import of the directory while the first runs stops at once,
    # naming the first, which goes on alone.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(_import, out, env, tmp_path / 'first')
        holder = _lock_holder(out, running)
        started = time.monotonic()
        second = run([BIN / 'ansible-playbook', out / 'playbook.yml',
                      '-e', 'cloud=dst'], env, check=False)
        stopped_in = time.monotonic() - started
        changed, _, first = running.result()
    assert second.returncode != 0
    assert 'another import of this output directory is running ' \
        '(ansible-playbook, process %d)' % holder in second.stdout, \
        second.stdout[-3000:]
    assert stopped_in < 30
    assert changed > 0
    writes = _writes(first)
    # One bulk rule request per group that needs rules (web, db), never
    # one per rule.
    port = next(k.split()[1] for k in writes if '/v2.0/' in k)
    assert writes['POST %s /v2.0/security-group-rules' % port] == 2, writes

    dst = target.conn
    router = dst.network.find_router('edge', ignore_missing=False)
    assert (router.external_gateway_info or {}).get('network_id') == \
        dst.network.find_network('ext-net', ignore_missing=False).id
    interfaces = [p for p in dst.network.ports(device_id=router.id)
                  if p.device_owner == 'network:router_interface']
    assert len(interfaces) == 2

    changed, by_module, second = _import(out, env, tmp_path / 'second')
    assert changed == 0
    assert _writes(second) == {}, second
    # One module process looked; every typed task was skipped.
    modules = {m: c['processes'] for m, c in by_module.items()
               if m != 'ansible-playbook'}
    # Ansible names the process after the module: AnsiballZ_resources.
    assert modules == {'resources': 1}, by_module

    # The target loses a rule of 'web' and the interface on 'back'.
    web = dst.network.find_security_group('web', ignore_missing=False)
    rule = next(r for r in web.security_group_rules
                if r['port_range_min'] == 443)
    dst.network.delete_security_group_rule(rule['id'])
    back = dst.network.find_subnet('back-subnet', ignore_missing=False)
    dst.network.remove_interface_from_router(router, subnet_id=back.id)

    changed, _, third = _import(out, env, tmp_path / 'third')
    assert changed > 0
    assert sorted(_writes(third)) == sorted([
        'POST %s /v2.0/security-group-rules' % port,
        'PUT %s /v2.0/routers/{id}/add_router_interface' % port]), third
    web = dst.network.find_security_group('web', ignore_missing=False)
    assert sorted(r['port_range_min'] for r in web.security_group_rules
                  if r['direction'] == 'ingress') == [80, 443]
    assert back.id in {ip['subnet_id']
                       for p in dst.network.ports(device_id=router.id)
                       for ip in p.fixed_ips}
    # Nothing was made twice.
    assert len(list(dst.network.networks(
        project_id=target.project_id))) == 2
    assert [g.name for g in dst.network.security_groups(
        project_id=target.project_id)].count('web') == 1

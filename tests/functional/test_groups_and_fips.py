"""Server groups and floating IPs, moved between the two local clouds.

The source project has two web servers in a soft-anti-affinity group (the
local cloud has one compute host: two members of a hard anti-affinity group
cannot both boot there) and a batch server in an anti-affinity group with a
rule (Nova takes rules for anti-affinity only; ``max_server_per_host: 2``
lets its one member boot), all on one network behind a router with its
gateway on ``public``.  web-1 has a floating IP, with a description and
tags; another floating IP, not associated, is listed in the resource file
by its address.  The target already has a server group of its own named
like the web group.

One export, then imports into one fresh target project:

* ``name_clash=stop``: the play stops before anything is created, naming
  the target's own group, and only it (floating IPs have no name, so they
  are never a clash).
* the default (``create``): both groups are made once with their policy
  and rule, every server is made into its group, web-1's floating IP is
  allocated on ``ext-net`` (the ``network_map`` entry for ``public``) and
  associated with web-1's new port on the same fixed IP, the spare one is
  allocated unassociated, both with their description and tags.  The
  target's own group is untouched.  uuids.csv maps both groups and both
  floating IPs once; addresses.csv lists each old address with its new one.
* again, with addresses.csv deleted: nothing changes in the cloud and the
  look writes addresses.csv again, identical.
"""

import csv
import time

import pytest
import yaml

from tests.functional.helpers import (
    BIN,
    boot,
    default_group,
    recap_changed,
    run,
    upload_image,
)

pytestmark = pytest.mark.functional

NET, SUBNET, ROUTER = 'gf-net', 'gf-subnet', 'gf-router'
WEB_GROUP, BATCH_GROUP = 'gf-web', 'gf-batch'
WEB_1, WEB_2, BATCH = 'gf-web-1', 'gf-web-2', 'gf-batch-1'
IMAGE_BYTES = b'downpour groups and floating IPs\n' * 32768  # 1 MiB


def _rows(path):
    with open(path, newline='', encoding='utf-8') as stream:
        return list(csv.reader(stream))


def _build_source(conn, project_id):
    """The source project; returns what the checks compare with."""
    public = conn.network.find_network('public', ignore_missing=False)
    net = conn.network.create_network(name=NET)
    subnet = conn.network.create_subnet(
        name=SUBNET, network_id=net.id, ip_version=4, cidr='10.57.0.0/24',
        gateway_ip='10.57.0.1')
    router = conn.network.create_router(
        name=ROUTER, external_gateway_info={'network_id': public.id})
    conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    default = default_group(conn, project_id)
    image = upload_image(conn, 'gf-image', IMAGE_BYTES)

    web_group = conn.compute.create_server_group(
        name=WEB_GROUP, policy='soft-anti-affinity')
    batch_group = conn.compute.create_server_group(
        name=BATCH_GROUP, policy='anti-affinity',
        rules={'max_server_per_host': 2})
    servers = {}
    for name, group in ((WEB_1, web_group), (WEB_2, web_group),
                        (BATCH, batch_group)):
        servers[name] = boot(conn, name, image.id, net.id, default.id,
                             scheduler_hints={'group': group.id})
        assert servers[name].status == 'ACTIVE', name
    port = next(conn.network.ports(device_id=servers[WEB_1].id))
    fixed_ip = port.fixed_ips[0]['ip_address']
    web_fip = conn.network.create_ip(
        floating_network_id=public.id, port_id=port.id,
        fixed_ip_address=fixed_ip, description='web-1, public face')
    conn.network.set_tags(web_fip, ['web', 'public'])
    spare_fip = conn.network.create_ip(floating_network_id=public.id,
                                       description='spare for failover')
    conn.network.set_tags(spare_fip, ['spare'])
    return {'servers': servers, 'web_group': web_group,
            'batch_group': batch_group, 'fixed_ip': fixed_ip,
            'web_fip': conn.network.get_ip(web_fip.id),
            'spare_fip': conn.network.get_ip(spare_fip.id)}


def test_server_groups_and_floating_ips_move(tmp_path, migration):
    src, dst = migration.source.conn, migration.target.conn
    env = migration.env
    started = time.monotonic()
    made = _build_source(src, migration.source.project_id)
    build_time = time.monotonic() - started
    old_web_fip, old_spare_fip = made['web_fip'], made['spare_fip']
    assert old_web_fip.port_id is not None

    resources = tmp_path / 'resources.yml'
    resources.write_text(yaml.safe_dump({
        'servers': [{'name': name, 'save_state': False}
                    for name in (WEB_1, WEB_2, BATCH)],
        'floating_ips': [{'address': old_spare_fip.floating_ip_address}]}))
    out = tmp_path / 'out'
    started = time.monotonic()
    exported = run([BIN / 'downpour', '--os-cloud', 'src', 'export',
                    resources, out], env)
    export_time = time.monotonic() - started
    # Each floating IP's address is named as one that will change, in the
    # output and in the manifest.
    manifest = yaml.safe_load((out / 'manifest.yml').read_text())
    for fip in (old_web_fip, old_spare_fip):
        warned = [w for w in manifest['warnings']
                  if fip.floating_ip_address in w]
        assert len(warned) == 1, manifest['warnings']
        assert 'cannot choose' in warned[0]
        assert fip.floating_ip_address in exported.stderr
    exported_types = {(r['type'], r['old_id'])
                      for r in manifest['resources']}
    assert {('server_group', made['web_group'].id),
            ('server_group', made['batch_group'].id),
            ('floating_ip', old_web_fip.id),
            ('floating_ip', old_spare_fip.id)} <= exported_types

    # The target's own group, named like the web group.
    theirs = dst.compute.create_server_group(name=WEB_GROUP,
                                             policy='affinity')
    playbook = [BIN / 'ansible-playbook', out / 'playbook.yml',
                '-e', 'cloud=dst', '-e',
                '{"network_map": {"public": "ext-net"}}']

    # --- name_clash=stop: stops on the group, and on nothing else ---
    stopped = run(playbook + ['-e', 'name_clash=stop'], env, check=False)
    assert stopped.returncode != 0
    clashes = [line for line in stopped.stdout.splitlines()
               if 'the target already has' in line]
    assert clashes and all("server group 'gf-web'" in line
                           for line in clashes), stopped.stdout[-3000:]
    assert not [line for line in clashes if 'floating ip' in line]
    assert list(dst.compute.servers()) == []
    assert list(dst.network.ips(
        project_id=migration.target.project_id)) == []
    assert [g.id for g in dst.compute.server_groups()] == [theirs.id]

    # --- the import ---
    started = time.monotonic()
    run(playbook, env)
    import_time = time.monotonic() - started
    print('\nsource %.1f s, export %.1f s, import %.1f s'
          % (build_time, export_time, import_time))

    new_servers = {s.name: s for s in dst.compute.servers()}
    assert sorted(new_servers) == sorted([WEB_1, WEB_2, BATCH])
    assert all(s.status == 'ACTIVE' for s in new_servers.values())
    groups = list(dst.compute.server_groups())
    assert len(groups) == 3
    ours = {g.name: g for g in groups if g.id != theirs.id}
    assert sorted(ours) == [BATCH_GROUP, WEB_GROUP]
    web_group, batch_group = ours[WEB_GROUP], ours[BATCH_GROUP]
    assert web_group.policy == 'soft-anti-affinity'
    assert web_group.rules == made['web_group'].rules == {}
    assert sorted(web_group.member_ids) == sorted(
        [new_servers[WEB_1].id, new_servers[WEB_2].id])
    assert batch_group.policy == 'anti-affinity'
    assert batch_group.rules == {'max_server_per_host': 2}
    assert batch_group.member_ids == [new_servers[BATCH].id]
    # Each new server says which group it is in, as the old one did.
    for name, group in ((WEB_1, web_group), (WEB_2, web_group),
                        (BATCH, batch_group)):
        assert dst.compute.get_server(new_servers[name].id) \
            .server_groups == [group.id]
    # The target's own group is as it was.
    theirs_now = dst.compute.get_server_group(theirs.id)
    assert (theirs_now.name, theirs_now.policy, theirs_now.member_ids) == (
        WEB_GROUP, 'affinity', [])

    ext_net = dst.network.find_network('ext-net', ignore_missing=False)
    fips = list(dst.network.ips(project_id=migration.target.project_id))
    assert len(fips) == 2
    new_port = next(dst.network.ports(device_id=new_servers[WEB_1].id))
    new_web_fip, = [f for f in fips if f.port_id]
    new_spare_fip, = [f for f in fips if not f.port_id]
    assert new_web_fip.floating_network_id == ext_net.id
    assert new_web_fip.port_id == new_port.id
    assert new_web_fip.fixed_ip_address == made['fixed_ip']
    assert [ip['ip_address'] for ip in new_port.fixed_ips] == [
        made['fixed_ip']]
    assert new_web_fip.description == old_web_fip.description
    assert sorted(new_web_fip.tags) == sorted(old_web_fip.tags) == [
        'public', 'web']
    assert new_spare_fip.floating_network_id == ext_net.id
    assert new_spare_fip.fixed_ip_address is None
    assert new_spare_fip.description == 'spare for failover'
    assert new_spare_fip.tags == ['spare']

    # --- uuids.csv: each group and floating IP once, to the right one ---
    rows = _rows(out / 'uuids.csv')
    olds = [row[2] for row in rows[1:]]
    assert len(olds) == len(set(olds)), 'an Old twice in uuids.csv'
    mapping = {(row[0], row[2]): row[3] for row in rows[1:]}
    assert mapping[('server group', made['web_group'].id)] == web_group.id
    assert mapping[('server group', made['batch_group'].id)] == \
        batch_group.id
    assert mapping[('floating ip', old_web_fip.id)] == new_web_fip.id
    assert mapping[('floating ip', old_spare_fip.id)] == new_spare_fip.id
    for name, server in made['servers'].items():
        assert mapping[('server', server.id)] == new_servers[name].id
    assert theirs.id not in mapping.values()

    # --- addresses.csv: old address -> new address ---
    addresses = _rows(out / 'addresses.csv')
    assert addresses[0] == ['Old Address', 'New Address', 'Fixed IP',
                            'Port', 'Old', 'New']
    assert sorted(addresses[1:]) == sorted([
        [old_web_fip.floating_ip_address, new_web_fip.floating_ip_address,
         made['fixed_ip'], new_port.id, old_web_fip.id, new_web_fip.id],
        [old_spare_fip.floating_ip_address,
         new_spare_fip.floating_ip_address, '', '', old_spare_fip.id,
         new_spare_fip.id]])
    first_uuids = (out / 'uuids.csv').read_bytes()
    first_addresses = (out / 'addresses.csv').read_bytes()

    # --- again, addresses.csv lost: nothing changes, the look rewrites it
    (out / 'addresses.csv').unlink()
    again = run(playbook, env)
    assert recap_changed(again.stdout) == 0, again.stdout[-4000:]
    assert (out / 'addresses.csv').read_bytes() == first_addresses
    assert (out / 'uuids.csv').read_bytes() == first_uuids
    assert sorted(f.id for f in dst.network.ips(
        project_id=migration.target.project_id)) == sorted(
        [new_web_fip.id, new_spare_fip.id])
    assert len(list(dst.compute.server_groups())) == 3
    assert len(list(dst.compute.servers())) == 3
    assert dst.network.get_ip(new_web_fip.id).port_id == new_port.id

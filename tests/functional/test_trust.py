"""Issue 21 (trust), on the two local clouds: items 3, 6 and 8.

One source project holds a small application: a network with a subnet and
a router whose gateway is the source's external network (``public``), a
network the source's admin shares with the project alone (RBAC), and a
server booted from a volume made of an image with ``hw_firmware_type=uefi``
and ``hw_disk_bus=scsi``, with a port on each network and a floating IP.
It is exported once, and imported into one target project that already
holds networks of its own bearing the names of the source's external and
shared networks, and to which the target's admin shares two networks of
the shared network's name.

* Item 3: the import first stops before anything is made, naming both
  shared networks and ``network_map``; with the map naming one of them by
  its ID (as the message says), the router's gateway and the floating IP
  go to the target's external network (``ext-net``), the server's port to
  the network named in the map, and the project's own ``public`` and
  ``trust-shared`` are left as they were.
* Item 6: the copy of the boot volume holds the image properties.
* Item 8: two ``ansible-playbook`` of the one export are started at once:
  one makes everything, the other stops at once naming the first, and the
  target has each resource once; a later run changes nothing.
"""

import concurrent.futures
import csv
import json
import subprocess
import time
import types

import pytest
import yaml

from tests.functional.conftest import Projects
from tests.functional.helpers import (
    BIN,
    environment,
    laps,
    recap_changed,
    run,
    upload_image,
    wait_for,
)

pytestmark = pytest.mark.functional

NET, SUBNET, ROUTER = 'trust-net', 'trust-subnet', 'trust-router'
SHARED, IMAGE, ROOT, SERVER = 'trust-shared', 'trust-image', 'trust-root', \
    'trust-server'
SOURCE_EXTERNAL, TARGET_EXTERNAL = 'public', 'ext-net'  # tools/localcloud
FIRMWARE = {'hw_firmware_type': 'uefi', 'hw_disk_bus': 'scsi'}
IMAGE_BYTES = b'downpour trust, boot from volume\n' * 32768  # 1 MiB
LOCKED = ('another import of this output directory is running '
          '(ansible-playbook, process %d)')


# --- projects and admin networks shared by the whole module ---------------

def shared_network(projects, project, cidr):
    """A network of the cloud's admin with a subnet, shared (RBAC) with
    ``project`` alone, so that no other project sees it; deleted once the
    projects' ports on it are gone."""
    admin = project.admin
    net = admin.network.create_network(name=SHARED)
    projects.after(lambda: admin.network.delete_network(
        net, ignore_missing=True))
    admin.network.create_subnet(network_id=net.id, name=SHARED + '-sub',
                                ip_version=4, cidr=cidr)
    admin.network.create_rbac_policy(
        object_type='network', object_id=net.id,
        action='access_as_shared', target_project_id=project.project_id)
    return net


@pytest.fixture(scope='module')
def projects(localcloud):
    made = Projects(localcloud, 'test-trust')
    yield made
    made.remove_all()


# --- the source and its one export ---------------------------------------

def build_source(projects, source):
    conn = source.conn
    public = conn.network.find_network(SOURCE_EXTERNAL, ignore_missing=False)
    net = conn.network.create_network(name=NET)
    subnet = conn.network.create_subnet(
        name=SUBNET, network_id=net.id, ip_version=4, cidr='10.83.0.0/24',
        gateway_ip='10.83.0.1')
    router = conn.network.create_router(
        name=ROUTER, external_gateway_info={'network_id': public.id})
    conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    shared = shared_network(projects, source, '10.84.0.0/24')
    # The project sees it as shared with it, not as its own.
    seen = conn.network.get_network(shared.id)
    assert seen.is_shared and seen.project_id != source.project_id

    image = upload_image(conn, IMAGE, IMAGE_BYTES, **FIRMWARE)
    root = conn.block_storage.create_volume(name=ROOT, size=1,
                                            image_id=image.id)
    root = wait_for(lambda: conn.block_storage.get_volume(root.id),
                    lambda v: v.status in ('available', 'error'),
                    'volume %s' % ROOT)
    assert root.status == 'available'
    flavor = conn.compute.find_flavor('m1.tiny', ignore_missing=False)
    own_port = conn.network.create_port(network_id=net.id)
    shared_port = conn.network.create_port(network_id=shared.id)
    server = conn.compute.create_server(
        name=SERVER, flavor_id=flavor.id,
        networks=[{'port': own_port.id}, {'port': shared_port.id}],
        block_device_mapping=[
            {'boot_index': 0, 'uuid': root.id, 'source_type': 'volume',
             'destination_type': 'volume', 'delete_on_termination': False}])
    server = wait_for(lambda: conn.compute.get_server(server.id),
                      lambda s: s.status in ('ACTIVE', 'ERROR'),
                      'server %s' % SERVER)
    assert server.status == 'ACTIVE', server.fault
    fip = conn.network.create_ip(
        floating_network_id=public.id, port_id=own_port.id,
        fixed_ip_address=own_port.fixed_ips[0]['ip_address'])
    return types.SimpleNamespace(
        net=net, router=router, shared=shared, image=image, server=server,
        root=conn.block_storage.get_volume(root.id), fip=fip,
        public=public)


def network_state(project, net_id):
    """What a user would look at on a network of the project's own."""
    conn = project.conn
    net = conn.network.get_network(net_id)
    return {
        'network': (net.name, net.status, net.is_router_external,
                    net.is_shared, sorted(net.subnet_ids)),
        'subnets': sorted((s.id, s.cidr, s.gateway_ip)
                          for s in conn.network.subnets(network_id=net_id)),
        'ports': sorted((p.id, p.device_owner, p.device_id)
                        for p in project.admin.network.ports(
                            network_id=net_id)),
        'floating ips': sorted(
            f.id for f in conn.network.ips(floating_network_id=net_id)),
    }


def playbook(out, network_map=None):
    argv = [BIN / 'ansible-playbook', out / 'playbook.yml', '-e', 'cloud=dst']
    if network_map is not None:
        argv += ['-e', json.dumps({'network_map': network_map})]
    return [str(a) for a in argv]


def at_once(argvs, env, timeout=900):
    """Start every command at once; (process, stdout, seconds) of each."""
    started = time.monotonic()
    procs = [subprocess.Popen(  # noqa: S603 (our own commands)
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, text=True) for argv in argvs]

    def wait(proc):
        output, _ = proc.communicate(timeout=timeout)
        return proc, output, time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(len(procs)) as pool:
        return list(pool.map(wait, procs))


def target_inventory(project):
    conn, pid = project.conn, project.project_id
    return {
        'networks': sorted(n.id for n in conn.network.networks(
            project_id=pid)),
        'routers': sorted(r.id for r in conn.network.routers(
            project_id=pid)),
        'ports': sorted(p.id for p in conn.network.ports(project_id=pid)),
        'floating ips': sorted(f.id for f in conn.network.ips(
            project_id=pid)),
        'volumes': sorted(v.id for v in conn.block_storage.volumes()),
        'servers': sorted(s.id for s in conn.compute.servers()),
        'images': sorted(i.id for i in conn.image.images(owner=pid)),
    }


@pytest.fixture(scope='module')
def migrated(projects, tmp_path_factory):
    """The source built and exported, the target prepared, then the
    import: once refused, then twice at once."""
    lap = laps()

    source = projects.make('source')
    made = build_source(projects, source)
    lap('source built')

    tmp = tmp_path_factory.mktemp('trust')
    env = environment(tmp, {'src': source.cloud_config})
    resources = tmp / 'resources.yml'
    # The server brings its networks, and they their router and the
    # floating IP on its port.
    resources.write_text(yaml.safe_dump({'servers': [{'name': SERVER}]}))
    out = tmp / 'out'
    run([BIN / 'downpour', '--os-cloud', 'src', 'export', resources, out],
        env)
    lap('exported')

    target = projects.make('target')
    env = environment(tmp, {'dst': target.cloud_config})
    dst = target.conn
    # The project's own networks of the names of the source's external
    # and shared networks, with a subnet each as a gateway would need.
    own = {}
    for name, cidr in ((SOURCE_EXTERNAL, '10.85.0.0/24'),
                       (SHARED, '10.84.0.0/24')):
        net = dst.network.create_network(name=name)
        dst.network.create_subnet(network_id=net.id, ip_version=4,
                                  cidr=cidr, name=name + '-own')
        own[name] = net.id
    # Two networks of the shared network's name, shared with the project.
    shared = [shared_network(projects, target, '10.84.0.0/24')
              for _ in range(2)]
    before = {name: network_state(target, net_id)
              for name, net_id in own.items()}
    empty = target_inventory(target)
    lap('target prepared')

    refused = run(playbook(out), env, check=False)
    after_refused = target_inventory(target)
    journal_after_refused = (out / 'journal.csv').exists()
    lap('refused import')

    # The map names the second shared network by its ID, as the refusal
    # says to.
    chosen = shared[1]
    argv = playbook(out, {SHARED: chosen.id})
    runs = at_once([argv, argv], env)
    lap('two imports at once')
    return types.SimpleNamespace(
        source=source, target=target, made=made, out=out, env=env,
        argv=argv, own=own, shared=shared, chosen=chosen, before=before,
        empty=empty, refused=refused, after_refused=after_refused,
        journal_after_refused=journal_after_refused, runs=runs, lap=lap)


def uuids(out):
    """uuids.csv as {(type, old): new}; each Old once."""
    with open(out / 'uuids.csv', newline='', encoding='utf-8') as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ['Resource Type', 'Resource Name', 'Old', 'New']
    olds = [row[2] for row in rows[1:]]
    assert len(olds) == len(set(olds)), 'an Old twice in uuids.csv'
    return {(row[0], row[2]): row[3] for row in rows[1:]}


def winner(migrated):
    done = [(proc, output) for proc, output, _ in migrated.runs
            if proc.returncode == 0]
    assert done, 'no import succeeded:\n' + '\n'.join(
        output[-3000:] for _, output, _ in migrated.runs)
    return done[0]


# --- item 3 ---------------------------------------------------------------

def test_two_shared_networks_of_the_name_stop_the_import_naming_both(
        migrated):
    refused = migrated.refused
    said = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert 'Stop before anything is created' in said, said[-4000:]
    line = ("external network %r: the target has 2 it may be, of the name "
            "%r (%s); name one by its ID in network_map" % (
                SHARED, SHARED,
                ', '.join(sorted(n.id for n in migrated.shared))))
    assert line in said, said[-4000:]
    # Not the project's own network of the name.
    assert migrated.own[SHARED] not in said
    # Nothing made.
    assert migrated.after_refused == migrated.empty
    assert not migrated.journal_after_refused


def test_gateway_and_floating_ip_go_to_the_external_network(migrated):
    winner(migrated)
    dst, made = migrated.target.conn, migrated.made
    new = uuids(migrated.out)
    ext = dst.network.find_network(TARGET_EXTERNAL, ignore_missing=False)
    assert ext.is_router_external
    # The source's gateway and floating IP were on its external network.
    assert made.router.external_gateway_info['network_id'] == made.public.id
    assert made.fip.floating_network_id == made.public.id

    router = dst.network.get_router(new[('router', made.router.id)])
    assert router.external_gateway_info['network_id'] == ext.id
    fip = dst.network.get_ip(new[('floating ip', made.fip.id)])
    assert fip.floating_network_id == ext.id
    server_id = new[('server', made.server.id)]
    port = dst.network.get_port(fip.port_id)
    assert (port.device_id, port.network_id) == (
        server_id, new[('network', made.net.id)])
    # The server's other port is on the shared network the map names, not
    # on the project's own of that name nor the other shared one.
    assert sorted(p.network_id for p in dst.network.ports(
        device_id=server_id)) == sorted([port.network_id,
                                         migrated.chosen.id])
    # The project's own networks named as the source's external and shared
    # networks are as they were: no gateway, no port, no floating IP.
    assert {name: network_state(migrated.target, net_id)
            for name, net_id in migrated.own.items()} == migrated.before
    for name, state in migrated.before.items():
        assert state['ports'] == [] or all(
            owner == 'network:dhcp' for _, owner, _ in state['ports']), name
        assert state['floating ips'] == []


# --- item 6 ---------------------------------------------------------------

def test_boot_volume_keeps_its_image_properties(migrated):
    winner(migrated)
    dst, made = migrated.target.conn, migrated.made
    # What the source's volume had, from its image.
    assert {k: made.root.volume_image_metadata.get(k)
            for k in FIRMWARE} == FIRMWARE
    new = uuids(migrated.out)
    server = dst.compute.get_server(new[('server', made.server.id)])
    assert server.status == 'ACTIVE'
    assert not (server.image or {}).get('id'), 'not booted from a volume'
    root_id = new[('volume', made.root.id)]
    assert [v['id'] for v in server.attached_volumes] == [root_id]
    root = dst.block_storage.get_volume(root_id)
    assert root.name == ROOT
    assert root.is_bootable is True
    assert {k: (root.volume_image_metadata or {}).get(k)
            for k in FIRMWARE} == FIRMWARE


# --- item 8 ---------------------------------------------------------------

def test_two_imports_at_once_make_everything_once(migrated):
    codes = sorted(proc.returncode for proc, _, _ in migrated.runs)
    assert codes[0] == 0 and codes[1] != 0, 'return codes %s:\n%s' % (
        codes, '\n---\n'.join(out[-3000:] for _, out, _ in migrated.runs))
    (first, first_out, first_took), (second, second_out, second_took) = \
        sorted(migrated.runs, key=lambda r: r[0].returncode)
    # The second stopped at once, naming the first, and changed nothing.
    assert (LOCKED % first.pid) in second_out, second_out[-3000:]
    assert recap_changed(second_out) == 0
    assert second_took < first_took
    assert recap_changed(first_out) > 0

    # Each exported resource once in the target.
    dst, pid = migrated.target.conn, migrated.target.project_id
    assert [s.name for s in dst.compute.servers()] == [SERVER]
    assert [n.name for n in dst.network.networks(project_id=pid)
            if n.name == NET] == [NET]
    assert [r.name for r in dst.network.routers(project_id=pid)] == [ROUTER]
    assert len(list(dst.network.ips(project_id=pid))) == 1
    assert [v.name for v in dst.block_storage.volumes()] == [ROOT]
    new = uuids(migrated.out)
    for kind, old in (('server', migrated.made.server.id),
                      ('network', migrated.made.net.id),
                      ('router', migrated.made.router.id),
                      ('volume', migrated.made.root.id)):
        assert (kind, old) in new, kind

    # The lock went with the first run: the next one runs, and finds
    # everything made.
    inventory = target_inventory(migrated.target)
    again = run(migrated.argv, migrated.env)
    migrated.lap('import again')
    assert recap_changed(again.stdout) == 0, again.stdout[-3000:]
    assert target_inventory(migrated.target) == inventory

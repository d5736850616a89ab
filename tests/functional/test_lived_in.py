"""An import into a target that is lived in: the target's own resources,
named like the exported ones, are never taken, changed or deleted.

One source project holds a small application (network, subnet and router
to the external network, a security group with rules, one of them limited
to an address group, a keypair, an image with known bytes, and a server
booted from it with a volume of known bytes attached); it is exported once.
Each scenario imports that export into its own fresh target project, with
its own journal.csv and uuids.csv:

* lived in: the target already has a network (another CIDR) with a subnet,
  a router, a security group with its own rule, a volume with known bytes,
  an image with other bytes, a server with that volume, and the same
  keypair, all under the exported names.  The import makes its own beside
  them and warns of each clash; the target's own are unchanged, and
  uuids.csv maps nothing onto them.  A second run changes nothing.
* the keypair of that name has another public key: the play stops before
  anything is created, naming the keypair.
* ``name_clash=stop``: the play stops before anything is created, listing
  the clashes.
* ``name_clash=adopt``: an equivalent network and subnet and a same-named
  security group with exactly the exported rules are adopted, and left as
  they were; a same-named volume never is.
* the rule limited to an address group is left out at export (warned, in
  manifest.yml too), and no target group opens that port.
"""

import csv
import ipaddress
import time
import types

import pytest
import yaml

from tests.functional.conftest import Projects
from tests.functional.helpers import (
    BIN,
    environment,
    image_bytes,
    recap_changed,
    run,
    upload_image,
    volume_with_bytes,
    wait_for,
)

pytestmark = pytest.mark.functional

NET, SUBNET, ROUTER = 'app-net', 'app-subnet', 'app-router'
GROUP, KEY, IMAGE = 'app-sg', 'app-key', 'app-image'
VOLUME, SERVER = 'app-data', 'app-server'
SOURCE_CIDR, SOURCE_GATEWAY = '10.81.0.0/24', '10.81.0.1'
TARGET_CIDR = '10.99.0.0/24'
DB_PORT = 5432   # the source's rule limited to an address group
OWN_PORT = 8080  # the target group's own rule
PUBLIC_KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq3l1V8c0i7R2vEw4m2'
              'Jb0Ze9Kp5Yt6Nf3Xw1Qd8Ls2 lived-in@test')
OTHER_KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC9Wm0tR3kP1e7Xq2Zb5v'
             'N8y4Hc6Lg0Ja3Fs9Do2Ui7T other@test')


def known(tag, lines=8000):
    """A few hundred KiB of bytes that say what they are."""
    return b''.join(b'lived-in %s line %06d\n' % (tag, i)
                    for i in range(lines))


SOURCE_IMAGE_BYTES = known(b'source image')
SOURCE_VOLUME_BYTES = known(b'source volume')
TARGET_IMAGE_BYTES = known(b'target image')
TARGET_VOLUME_BYTES = known(b'target volume')


# --- projects shared by the whole module ----------------------------------

@pytest.fixture(scope='module')
def projects(localcloud):
    made = Projects(localcloud, 'test-lived-in')
    yield made
    made.remove_all()


# --- building blocks ------------------------------------------------------

def network_with_subnet(conn, cidr, gateway=None):
    net = conn.network.create_network(name=NET)
    subnet = conn.network.create_subnet(
        name=SUBNET, network_id=net.id, ip_version=4, cidr=cidr,
        gateway_ip=gateway or str(ipaddress.ip_network(cidr)[1]))
    return net, subnet


def group_with_rules(conn, ports, description):
    group = conn.network.create_security_group(name=GROUP,
                                               description=description)
    for port, prefix in ports:
        conn.network.create_security_group_rule(
            security_group_id=group.id, direction='ingress',
            ethertype='IPv4', protocol='tcp', port_range_min=port,
            port_range_max=port, remote_ip_prefix=prefix)
    return conn.network.get_security_group(group.id)


def boot_with_volume(conn, image_id, net, group, volume):
    port = conn.network.create_port(network_id=net.id,
                                    security_group_ids=[group.id])
    flavor = conn.compute.find_flavor('m1.tiny', ignore_missing=False)
    server = conn.compute.create_server(
        name=SERVER, flavor_id=flavor.id, image_id=image_id, key_name=KEY,
        networks=[{'port': port.id}], metadata={'role': 'app'})
    server = wait_for(lambda: conn.compute.get_server(server.id),
                      lambda s: s.status in ('ACTIVE', 'ERROR'),
                      'server %s' % SERVER)
    assert server.status == 'ACTIVE'
    conn.compute.create_volume_attachment(server, volume_id=volume.id)
    wait_for(lambda: conn.block_storage.get_volume(volume.id),
             lambda v: v.status == 'in-use', 'attachment of %s' % VOLUME)
    return conn.compute.get_server(server.id)


def volume_prefix(conn, volume_id, length):
    """The first ``length`` bytes of a volume, read the way a tenant can:
    a clone (it may be attached) uploaded to an image.  Clone and image are
    deleted again."""
    volume = conn.block_storage.get_volume(volume_id)
    clone = conn.block_storage.create_volume(
        name='lived-in-check', size=volume.size, source_volume_id=volume.id)
    wait_for(lambda: conn.block_storage.get_volume(clone.id),
             lambda v: v.status == 'available', 'the clone')
    name = 'lived-in-check-%s' % clone.id
    conn.block_storage.upload_volume_to_image(
        clone, name, disk_format='raw', container_format='bare')
    image = wait_for(lambda: conn.image.find_image(name),
                     lambda i: i.status == 'active', 'the check image')
    data = bytearray()
    response = conn.image.download_image(image.id, stream=True)
    for chunk in response.iter_content(64 * 1024):
        data.extend(chunk)
        if len(data) >= length:
            break
    response.close()
    conn.image.delete_image(image.id)
    wait_for(lambda: conn.block_storage.get_volume(clone.id),
             lambda v: v.status == 'available', 'the clone after upload')
    conn.block_storage.delete_volume(clone.id)
    conn.block_storage.wait_for_delete(clone)
    return bytes(data[:length])


def rules(conn, group_id):
    """A group's rules as comparable tuples."""
    return {(r.direction, r.ether_type, r.protocol, r.port_range_min,
             r.port_range_max, r.remote_ip_prefix, r.remote_group_id,
             getattr(r, 'remote_address_group_id', None))
            for r in conn.network.security_group_rules(
                security_group_id=group_id)}


def ingress(rule_set):
    """Ingress rules as (ethertype, protocol, port range, prefix)."""
    return {(r[1], r[2], r[3], r[4], r[5]) for r in rule_set
            if r[0] == 'ingress'}


def opens(rule_set, port):
    """The ingress rules of ``rule_set`` that let ``port``/tcp in."""
    return [r for r in rule_set if r[0] == 'ingress'
            and r[2] in (None, 'tcp', '6')
            and (r[3] is None or r[3] <= port <= r[4])]


def inventory(project):
    """Every resource of a target project, by kind: what "nothing was
    created" is checked against."""
    conn, pid = project.conn, project.project_id
    return {
        'networks': sorted(n.id for n in conn.network.networks(
            project_id=pid)),
        'subnets': sorted(s.id for s in conn.network.subnets(
            project_id=pid)),
        'routers': sorted(r.id for r in conn.network.routers(
            project_id=pid)),
        'ports': sorted(p.id for p in conn.network.ports(project_id=pid)),
        'security groups': sorted(g.id for g in conn.network.security_groups(
            project_id=pid)),
        'rules': sorted(r.id for r in conn.network.security_group_rules(
            project_id=pid)),
        'images': sorted(i.id for i in conn.image.images(owner=pid)),
        'volumes': sorted(v.id for v in conn.block_storage.volumes()),
        'servers': sorted(s.id for s in conn.compute.servers()),
        'keypairs': sorted((k.name, k.fingerprint)
                           for k in conn.compute.keypairs()),
    }


def state_of(project, own):
    """What a user would look at on each of the target's own resources."""
    conn = project.conn
    net = conn.network.get_network(own.net.id)
    subnet = conn.network.get_subnet(own.subnet.id)
    router = conn.network.get_router(own.router.id)
    group = conn.network.get_security_group(own.group.id)
    image = conn.image.get_image(own.image.id)
    volume = conn.block_storage.get_volume(own.volume.id)
    server = conn.compute.get_server(own.server.id)
    key = conn.compute.get_keypair(KEY)
    return {
        'network': (net.name, sorted(net.subnet_ids)),
        'subnet': (subnet.name, subnet.network_id, subnet.cidr,
                   subnet.gateway_ip, subnet.allocation_pools),
        'router': (router.name,
                   (router.external_gateway_info or {}).get('network_id'),
                   sorted((p.id, ip['subnet_id'], ip['ip_address'])
                          for p in conn.network.ports(device_id=router.id)
                          for ip in p.fixed_ips)),
        'security group': (group.name, group.description,
                           rules(conn, group.id)),
        'image': (image.name, image.status, image.checksum, image.size,
                  image.visibility),
        'volume': (volume.name, volume.size, volume.description,
                   volume.metadata, volume.status, volume.is_bootable,
                   [a['server_id'] for a in volume.attachments]),
        'server': (server.name, server.status, server.image['id'],
                   server.key_name, server.metadata, server.addresses,
                   [v['id'] for v in server.attached_volumes]),
        'keypair': (key.public_key, key.fingerprint),
    }


def read_csv(path):
    with open(path, newline='', encoding='utf-8') as stream:
        rows = list(csv.reader(stream))
    return rows[0], rows[1:]


# --- the source and its one export ---------------------------------------

@pytest.fixture(scope='module')
def exported(projects, tmp_path_factory):
    """The application in a source project, exported once."""
    started = time.monotonic()
    source = projects.make('source')
    src = source.conn
    public = src.network.find_network('public', ignore_missing=False)
    net, subnet = network_with_subnet(src, SOURCE_CIDR, SOURCE_GATEWAY)
    router = src.network.create_router(
        name=ROUTER, external_gateway_info={'network_id': public.id})
    src.network.add_interface_to_router(router, subnet_id=subnet.id)
    group = group_with_rules(src, [(22, '0.0.0.0/0'),
                                   (443, '203.0.113.0/24')], 'the app')
    # An address group, as the project's member; if a cloud's policy
    # refused that, its admin would have to make it (it does not here).
    office = src.network.create_address_group(
        name='lived-in-office', addresses=['192.0.2.0/24'],
        project_id=source.project_id)
    limited = src.network.create_security_group_rule(
        security_group_id=group.id, direction='ingress', ethertype='IPv4',
        protocol='tcp', port_range_min=DB_PORT, port_range_max=DB_PORT,
        remote_address_group_id=office.id)
    src.compute.create_keypair(name=KEY, public_key=PUBLIC_KEY)
    image = upload_image(src, IMAGE, SOURCE_IMAGE_BYTES)
    volume = volume_with_bytes(src, VOLUME, SOURCE_VOLUME_BYTES,
                               description='the app data',
                               metadata={'role': 'data'})
    server = boot_with_volume(src, image.id, net, group, volume)

    tmp = tmp_path_factory.mktemp('lived-in-export')
    env = environment(tmp, {'src': source.cloud_config})
    resources = tmp / 'resources.yml'
    resources.write_text(yaml.safe_dump({
        # Recreated from its image: the server's disk need not be copied.
        'servers': [{'name': SERVER, 'save_state': False}],
        # ... but the volume's bytes must.
        'volumes': [{'name': VOLUME}],
        'security_groups': [{'name': GROUP}]}))
    out = tmp / 'out'
    built = time.monotonic()
    proc = run([BIN / 'downpour', '--os-cloud', 'src', 'export', resources,
                out], env)
    print('\nsource built in %.0f s, exported in %.0f s'
          % (built - started, time.monotonic() - built))
    return types.SimpleNamespace(
        source=source, out=out, output=proc.stdout + proc.stderr,
        net=net, subnet=subnet, router=router, group=group, image=image,
        volume=volume, server=src.compute.get_server(server.id),
        office=office, limited=limited,
        group_rules=rules(src, group.id))


def import_into(exported, target, tmp, *extra, check=True):
    """Run the export's playbook against ``target`` with a journal and a
    uuids.csv of the target's own (in ``tmp``)."""
    env = environment(tmp, {'dst': target.cloud_config})
    return run([BIN / 'ansible-playbook', exported.out / 'playbook.yml',
                '-e', 'cloud=dst',
                '-e', 'downpour_journal=%s' % (tmp / 'journal.csv'),
                '-e', 'uuids_csv=%s' % (tmp / 'uuids.csv'), *extra],
               env, check=check)


def mapped(tmp):
    """uuids.csv as {(type, old): new}; each Old must be there once."""
    header, rows = read_csv(tmp / 'uuids.csv')
    assert header == ['Resource Type', 'Resource Name', 'Old', 'New']
    olds = [row[2] for row in rows]
    assert len(olds) == len(set(olds)), 'an Old twice in uuids.csv: %s' % rows
    return {(row[0], row[2]): row[3] for row in rows}


# --- 1. a lived-in target -------------------------------------------------

@pytest.fixture(scope='module')
def lived_in(exported, projects, tmp_path_factory):
    """A target holding, under the exported names, resources of its own;
    then the export imported into it."""
    started = time.monotonic()
    target = projects.make('target')
    dst = target.conn
    ext = dst.network.find_network('ext-net', ignore_missing=False)
    # A network of the project's own bearing the name of the source's
    # external network: never the gateway of the import's router.
    dst.network.create_network(name='public')
    net, subnet = network_with_subnet(dst, TARGET_CIDR)
    router = dst.network.create_router(
        name=ROUTER, external_gateway_info={'network_id': ext.id})
    dst.network.add_interface_to_router(router, subnet_id=subnet.id)
    group = group_with_rules(dst, [(OWN_PORT, '0.0.0.0/0')], 'theirs')
    dst.compute.create_keypair(name=KEY, public_key=PUBLIC_KEY)
    image = upload_image(dst, IMAGE, TARGET_IMAGE_BYTES)
    volume = volume_with_bytes(dst, VOLUME, TARGET_VOLUME_BYTES,
                               description='their data',
                               metadata={'owner': 'target'})
    server = boot_with_volume(dst, image.id, net, group, volume)
    own = types.SimpleNamespace(net=net, subnet=subnet, router=router,
                                group=group, image=image, volume=volume,
                                server=server)
    own_ids = {i for kind, ids in inventory(target).items()
               if kind != 'keypairs' for i in ids}
    before = state_of(target, own)

    tmp = tmp_path_factory.mktemp('lived-in')
    built = time.monotonic()
    proc = import_into(exported, target, tmp)
    print('\nlived-in target built in %.0f s, imported in %.0f s'
          % (built - started, time.monotonic() - built))
    return types.SimpleNamespace(target=target, own=own, own_ids=own_ids,
                                 before=before, tmp=tmp,
                                 output=proc.stdout + proc.stderr)


def test_lived_in_target_keeps_its_own_resources(lived_in):
    target, own = lived_in.target, lived_in.own
    assert state_of(target, own) == lived_in.before
    # Their volume still holds their bytes.
    assert volume_prefix(target.conn, own.volume.id,
                         len(TARGET_VOLUME_BYTES)) == TARGET_VOLUME_BYTES


def exported_olds(exported):
    """The source IDs uuids.csv must map: all but what is chosen in the
    target, not made (flavors, external networks, volume types, zones:
    no name in uuids.csv), and a server's capture, which has none of its
    own."""
    from downpour.importer.definitions import BY_NAME
    manifest = yaml.safe_load((exported.out / 'manifest.yml').read_text())
    return sorted(r['old_id'] for r in manifest['resources']
                  if not BY_NAME[r['type']].chosen
                  and BY_NAME[r['type']].mapped)


def test_lived_in_uuids_csv_maps_nothing_onto_the_targets_own(
        exported, lived_in):
    new = mapped(lived_in.tmp)
    onto_own = {key: value for key, value in new.items()
                if value in lived_in.own_ids}
    assert onto_own == {}, "uuids.csv maps onto the target's own"
    _, journal = read_csv(lived_in.tmp / 'journal.csv')
    how = {(row[0], row[2]): row[4] for row in journal}
    for kind, old in (('network', exported.net), ('subnet', exported.subnet),
                      ('router', exported.router),
                      ('security group', exported.group),
                      ('image', exported.image), ('volume', exported.volume),
                      ('server', exported.server)):
        assert how[(kind, old.id)] == 'created', kind
    # The keypair is the one taken, by design: one name per user, and the
    # same public key.  Reused, and recorded as such.
    assert how.get(('keypair', KEY)) == 'reused', journal
    assert new[('keypair', KEY)] == KEY
    assert sorted(old for _kind, old in new) == exported_olds(exported)


def test_lived_in_target_gets_the_application_beside_its_own(
        exported, lived_in):
    dst, own = lived_in.target.conn, lived_in.own
    new = mapped(lived_in.tmp)

    # Two of each name now: theirs and the import's.
    assert sorted(n.id for n in dst.network.networks(
        name=NET, project_id=lived_in.target.project_id)) == sorted(
        [own.net.id, new[('network', exported.net.id)]])
    assert len([s for s in dst.compute.servers() if s.name == SERVER]) == 2

    subnet = dst.network.get_subnet(new[('subnet', exported.subnet.id)])
    assert (subnet.name, subnet.cidr, subnet.gateway_ip) == (
        SUBNET, SOURCE_CIDR, SOURCE_GATEWAY)
    assert subnet.network_id == new[('network', exported.net.id)]

    router = dst.network.get_router(new[('router', exported.router.id)])
    ext = dst.network.find_network('ext-net', ignore_missing=False)
    # Not the project's own network called 'public', as the source's
    # external network is: only an external network is a gateway.
    assert router.external_gateway_info['network_id'] == ext.id
    assert [ip['subnet_id'] for p in dst.network.ports(
        device_id=router.id, device_owner='network:router_interface')
        for ip in p.fixed_ips] == [subnet.id]

    # The source's rules but the one limited to an address group.
    group_id = new[('security group', exported.group.id)]
    assert ingress(rules(dst, group_id)) == {
        r for r in ingress(exported.group_rules) if r[2] != DB_PORT}
    assert len(ingress(rules(dst, group_id))) == 2

    server = dst.compute.get_server(new[('server', exported.server.id)])
    assert server.status == 'ACTIVE'
    assert server.key_name == KEY
    port, = dst.network.ports(device_id=server.id)
    assert port.network_id == subnet.network_id != own.net.id
    assert port.security_group_ids == [group_id]
    src_ip = exported.server.addresses[NET][0]['addr']
    assert [ip['ip_address'] for ip in port.fixed_ips] == [src_ip]
    assert ipaddress.ip_address(src_ip) in ipaddress.ip_network(SOURCE_CIDR)

    # It boots the source's image bytes, not the target's image.
    assert server.image['id'] == new[('image', exported.image.id)] \
        != own.image.id
    assert image_bytes(dst, server.image['id']) == SOURCE_IMAGE_BYTES

    volume_id = new[('volume', exported.volume.id)]
    assert [v['id'] for v in server.attached_volumes] == [volume_id]
    volume = dst.block_storage.get_volume(volume_id)
    assert (volume.name, volume.size, volume.description,
            volume.metadata.get('role')) == (VOLUME, 1, 'the app data',
                                             'data')
    assert volume_prefix(dst, volume_id, len(SOURCE_VOLUME_BYTES)) == \
        SOURCE_VOLUME_BYTES


def test_lived_in_look_warns_of_each_clash(exported, lived_in):
    # Ansible may wrap a warning over lines: compared without the breaks.
    output = ' '.join(lived_in.output.split())
    warnings = output.split('[WARNING]: ')[1:]
    for kind, name in (('network', NET), ('router', ROUTER),
                       ('security group', GROUP), ('image', IMAGE),
                       ('volume', VOLUME), ('server', SERVER)):
        said = [w for w in warnings if w.startswith("%s '%s'" % (kind, name))]
        assert said, '%s %s: no warning in\n%s' % (kind, name,
                                                    lived_in.output[-4000:])
        assert 'a new one is made beside it' in said[0], said[0]


def test_lived_in_second_run_changes_nothing(exported, lived_in):
    target = lived_in.target
    before = inventory(target)
    first_csv = (lived_in.tmp / 'uuids.csv').read_bytes()
    second = import_into(exported, target, lived_in.tmp)
    assert recap_changed(second.stdout) == 0, second.stdout[-4000:]
    assert inventory(target) == before
    assert (lived_in.tmp / 'uuids.csv').read_bytes() == first_csv
    assert state_of(target, lived_in.own) == lived_in.before


# --- 2. a keypair of that name with another key ---------------------------

def test_keypair_with_another_key_stops_before_anything_is_created(
        exported, projects, tmp_path):
    target = projects.make('target')
    target.conn.compute.create_keypair(name=KEY, public_key=OTHER_KEY)
    # Something else named like the export, so that a clash alone would
    # not stop the import.
    network_with_subnet(target.conn, TARGET_CIDR)
    before = inventory(target)

    proc = import_into(exported, target, tmp_path, check=False)
    assert proc.returncode != 0, proc.stdout[-4000:]
    failed = [line for line in proc.stdout.splitlines()
              if line.startswith('fatal:')]
    assert failed, proc.stdout[-4000:]
    assert "keypair '%s'" % KEY in failed[0], failed[0]
    assert 'another public key' in failed[0], failed[0]
    assert inventory(target) == before
    assert target.conn.compute.get_keypair(KEY).public_key == OTHER_KEY
    assert not (tmp_path / 'uuids.csv').exists()


# --- 3. name_clash=stop ---------------------------------------------------

def test_name_clash_stop_lists_every_clash_before_creating_anything(
        exported, projects, tmp_path):
    target = projects.make('target')
    dst = target.conn
    network_with_subnet(dst, TARGET_CIDR)
    group_with_rules(dst, [(OWN_PORT, '0.0.0.0/0')], 'theirs')
    upload_image(dst, IMAGE, TARGET_IMAGE_BYTES)
    before = inventory(target)

    proc = import_into(exported, target, tmp_path, '-e', 'name_clash=stop',
                       check=False)
    assert proc.returncode != 0, proc.stdout[-4000:]
    failed = [line for line in proc.stdout.splitlines()
              if line.startswith('fatal:')]
    assert failed, proc.stdout[-4000:]
    for kind, name in (('network', NET), ('security group', GROUP),
                       ('image', IMAGE)):
        assert "%s '%s'" % (kind, name) in failed[0], (kind, failed[0])
    # What the target does not have is no clash.
    for kind, name in (('volume', VOLUME), ('server', SERVER)):
        assert "%s '%s'" % (kind, name) not in failed[0], (kind, failed[0])
    assert inventory(target) == before
    assert not (tmp_path / 'uuids.csv').exists()


# --- 4. name_clash=adopt --------------------------------------------------

@pytest.fixture(scope='module')
def adopted(exported, projects, tmp_path_factory):
    target = projects.make('target')
    dst = target.conn
    net, subnet = network_with_subnet(dst, SOURCE_CIDR, SOURCE_GATEWAY)
    # The exported rules exactly (the one limited to an address group is
    # not exported): a group with fewer or more is never adopted.
    group = group_with_rules(dst, [(22, '0.0.0.0/0'),
                                   (443, '203.0.113.0/24')], 'theirs')
    volume = dst.block_storage.create_volume(
        name=VOLUME, size=1, description='their empty volume')
    volume = wait_for(lambda: dst.block_storage.get_volume(volume.id),
                      lambda v: v.status == 'available', 'their volume')
    own = types.SimpleNamespace(net=net, subnet=subnet, group=group,
                                volume=volume,
                                group_rules=rules(dst, group.id))
    tmp = tmp_path_factory.mktemp('adopt')
    started = time.monotonic()
    proc = import_into(exported, target, tmp, '-e', 'name_clash=adopt')
    print('\nadopting import in %.0f s' % (time.monotonic() - started))
    return types.SimpleNamespace(target=target, own=own, tmp=tmp,
                                 output=proc.stdout + proc.stderr)


def test_adopt_takes_equivalent_network_subnet_and_group(exported, adopted):
    dst, own = adopted.target.conn, adopted.own
    new = mapped(adopted.tmp)
    # No network or subnet was made: the server is on the adopted ones,
    # with its source address.
    assert [n.id for n in dst.network.networks(
        project_id=adopted.target.project_id)] == [own.net.id]
    assert [s.id for s in dst.network.subnets(
        project_id=adopted.target.project_id)] == [own.subnet.id]
    server = dst.compute.get_server(new[('server', exported.server.id)])
    assert server.status == 'ACTIVE'
    port, = dst.network.ports(device_id=server.id)
    assert port.network_id == own.net.id
    assert port.fixed_ips == [{
        'subnet_id': own.subnet.id,
        'ip_address': exported.server.addresses[NET][0]['addr']}]
    assert port.security_group_ids == [own.group.id]

    # The adopted group had exactly the exported rules, and is left as it
    # was: its rules and its description.
    assert len(list(dst.network.security_groups(
        name=GROUP, project_id=adopted.target.project_id))) == 1
    group = dst.network.get_security_group(own.group.id)
    assert group.description == 'theirs'
    have = rules(dst, own.group.id)
    assert have == own.group_rules
    assert sorted(r[3] for r in have if r[0] == 'ingress') == [22, 443]


def test_adopt_is_recorded_in_journal_and_uuids_csv(exported, adopted):
    own = adopted.own
    _, journal = read_csv(adopted.tmp / 'journal.csv')
    how = {(row[0], row[2]): (row[3], row[4]) for row in journal}
    new = mapped(adopted.tmp)
    for kind, old, theirs in (
            ('network', exported.net, own.net),
            ('subnet', exported.subnet, own.subnet),
            ('security group', exported.group, own.group)):
        assert how.get((kind, old.id)) == (theirs.id, 'adopted'), (
            kind, journal)
        assert new.get((kind, old.id)) == theirs.id, kind
    assert sorted(old for _kind, old in new) == exported_olds(exported)


def test_adopt_never_takes_a_volume(exported, adopted):
    dst, own = adopted.target.conn, adopted.own
    new = mapped(adopted.tmp)
    _, journal = read_csv(adopted.tmp / 'journal.csv')
    how = {(row[0], row[2]): (row[3], row[4]) for row in journal}
    new_volume = new[('volume', exported.volume.id)]
    assert new_volume != own.volume.id
    assert how[('volume', exported.volume.id)] == (new_volume, 'created')
    theirs = dst.block_storage.get_volume(own.volume.id)
    assert (theirs.name, theirs.status, theirs.attachments,
            theirs.description) == (VOLUME, 'available', [],
                                    'their empty volume')
    server = dst.compute.get_server(new[('server', exported.server.id)])
    assert [v['id'] for v in server.attached_volumes] == [new_volume]
    output = ' '.join(adopted.output.split())
    assert "volume '%s'" % VOLUME in output
    assert 'a volume is never adopted, a new one is made' in output


# --- 5. a rule limited to an address group --------------------------------

class _PlaybookLoader(yaml.SafeLoader):
    """Reads the playbook's !unsafe scalars as plain strings."""


_PlaybookLoader.add_constructor(
    '!unsafe', lambda loader, node: loader.construct_scalar(node))


def playbook_vars(exported):
    text = (exported.out / 'playbook.yml').read_text()
    play, = yaml.load(text, Loader=_PlaybookLoader)  # noqa: S506 - safe
    return play['vars']


def test_address_group_rule_is_left_out_not_opened(exported, lived_in,
                                                  adopted):
    # The export says so, naming the rule and the address group ...
    output = ' '.join(exported.output.split())
    assert exported.office.id in output, exported.output[-4000:]
    manifest = yaml.safe_load((exported.out / 'manifest.yml').read_text())
    said = [w for w in manifest['warnings'] if exported.office.id in w]
    assert len(said) == 1, manifest['warnings']
    assert exported.limited.id in said[0]
    assert 'left out' in said[0]
    # ... and the playbook carries the group's other rules only.
    carried = [(r['protocol'], r['port_range_min'], r['port_range_max'],
                r.get('remote_ip_prefix'))
               for g in playbook_vars(exported)['downpour_security_groups']
               for r in g['rules'] if r['direction'] == 'ingress']
    assert sorted(carried) == [('tcp', 22, 22, '0.0.0.0/0'),
                               ('tcp', 443, 443, '203.0.113.0/24')]

    # No group the imports made or adopted lets that port in, from any
    # address.
    new = mapped(lived_in.tmp)
    made = rules(lived_in.target.conn,
                 new[('security group', exported.group.id)])
    assert opens(made, DB_PORT) == []
    grown = rules(adopted.target.conn, adopted.own.group.id)
    assert opens(grown, DB_PORT) == []
    # (what opens() finds: ssh, which the group lets in from anywhere)
    assert opens(grown, 22)

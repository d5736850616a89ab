"""A floating IP on a port of a network the import does not make, moved
between the two local clouds (issue 21, item 10).

Each cloud's admin shares a network of the same name with every project,
joined to the external network by a router of the admin's own.  In the
source, a server's port is on that network, with a floating IP.  The
import chooses the target's network of that name and makes the port on
it; only the network's owner may choose a port's address there, so the
target gives the new port one of its own (the subnets differ, so it cannot
be the old one).  The floating IP goes to that address, not to the
source's (which Neutron refused with a 400 on every run), addresses.csv
says so, and a second run changes nothing.
"""

import csv
import secrets
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

SERVER = 'ff-web'
# Every project sees a shared network: a name no other run uses.
NAME_SUFFIX = secrets.token_hex(3)
IMAGE_BYTES = b'downpour floating IPs on a shared network\n' * 4096


def _share(admin, external, cidr):
    """A network shared with every project, its subnet and the admin's
    router to ``external``; a callable that deletes them."""
    name = 'ff-common-%s' % NAME_SUFFIX
    net = admin.network.create_network(name=name, is_shared=True)
    subnet = admin.network.create_subnet(
        name=name, network_id=net.id, ip_version=4, cidr=cidr,
        gateway_ip=cidr.rsplit('.', 1)[0] + '.1')
    router = admin.network.create_router(
        name=name, external_gateway_info={'network_id': admin.network
                                          .find_network(
                                              external,
                                              ignore_missing=False).id})
    admin.network.add_interface_to_router(router, subnet_id=subnet.id)

    def remove():
        admin.network.remove_interface_from_router(router,
                                                   subnet_id=subnet.id)
        admin.network.delete_router(router)
        # Whatever a project left on it (its own cleanup comes first).
        for port in admin.network.ports(network_id=net.id):
            admin.network.delete_port(port, ignore_missing=True)
        admin.network.delete_network(net)
    return net, remove


@pytest.fixture
def common(source_admin_conn, target_admin_conn):
    """The shared network in each cloud; requested before ``migration``,
    so that it is removed after the projects' own ports are."""
    removals = []
    try:
        source_net, remove = _share(source_admin_conn, 'public',
                                    '10.61.0.0/24')
        removals.append(remove)
        target_net, remove = _share(target_admin_conn, 'ext-net',
                                    '10.62.0.0/24')
        removals.append(remove)
        yield source_net, target_net
    finally:
        for remove in reversed(removals):
            remove()


def _rows(path):
    with open(path, newline='', encoding='utf-8') as stream:
        return list(csv.reader(stream))


def test_a_floating_ip_on_a_shared_network_goes_to_the_new_address(
        tmp_path, common, migration):
    source_net, target_net = common
    src, dst = migration.source.conn, migration.target.conn
    env = migration.env
    started = time.monotonic()
    public = src.network.find_network('public', ignore_missing=False)
    default = default_group(src, migration.source.project_id)
    image = upload_image(src, 'ff-image', IMAGE_BYTES)
    server = boot(src, SERVER, image.id, source_net.id, default.id)
    assert server.status == 'ACTIVE'
    old_port = next(src.network.ports(device_id=server.id))
    old_fixed = old_port.fixed_ips[0]['ip_address']
    old_fip = src.network.create_ip(floating_network_id=public.id,
                                    port_id=old_port.id)
    build_time = time.monotonic() - started

    resources = tmp_path / 'resources.yml'
    resources.write_text(yaml.safe_dump({
        'servers': [{'name': SERVER, 'save_state': False}]}))
    out = tmp_path / 'out'
    started = time.monotonic()
    run([BIN / 'downpour', '--os-cloud', 'src', 'export', resources, out],
        env)
    export_time = time.monotonic() - started

    playbook = [BIN / 'ansible-playbook', out / 'playbook.yml',
                '-e', 'cloud=dst', '-e',
                '{"network_map": {"public": "ext-net"}}']
    started = time.monotonic()
    run(playbook, env)
    import_time = time.monotonic() - started

    new_server, = dst.compute.servers()
    new_port = next(dst.network.ports(device_id=new_server.id))
    assert new_port.network_id == target_net.id
    new_fixed, = [ip['ip_address'] for ip in new_port.fixed_ips]
    assert new_fixed.startswith('10.62.0.') and new_fixed != old_fixed
    new_fip, = dst.network.ips(project_id=migration.target.project_id)
    assert (new_fip.port_id, new_fip.fixed_ip_address) == (new_port.id,
                                                            new_fixed)
    addresses = _rows(out / 'addresses.csv')
    assert addresses[1:] == [[old_fip.floating_ip_address,
                              new_fip.floating_ip_address, new_fixed,
                              new_port.id, old_fip.id, new_fip.id]]
    first_addresses = (out / 'addresses.csv').read_bytes()

    # Again: nothing to correct, nothing refused.
    started = time.monotonic()
    again = run(playbook, env)
    again_time = time.monotonic() - started
    assert recap_changed(again.stdout) == 0, again.stdout[-4000:]
    assert (out / 'addresses.csv').read_bytes() == first_addresses
    assert [f.id for f in dst.network.ips(
        project_id=migration.target.project_id)] == [new_fip.id]
    print('\nsource %.1f s, export %.1f s, import %.1f s, again %.1f s'
          % (build_time, export_time, import_time, again_time))

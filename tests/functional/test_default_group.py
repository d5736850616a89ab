"""The source's default security group, imported into a target project
whose own default group another application's ports are in (issue 21,
item 1): that group is not widened; a group of the import's own carries
the source's rules, and the imported server's port is in it.

(An empty target project's default group gaining the rules is shown by
test_groups_and_fips, whose servers are in the source's default group.)
"""

import csv

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

SERVER = 'dg-app'


def _rules(conn, group_id):
    return {(r.direction, r.ether_type, r.protocol, r.port_range_min,
             r.remote_ip_prefix, r.remote_group_id)
            for r in conn.network.security_group_rules(
                security_group_id=group_id)}


def test_a_lived_in_default_group_is_not_widened(tmp_path, migration):
    src, dst = migration.source.conn, migration.target.conn
    # The source: a server in the project's default group, which lets ssh
    # in from anywhere.
    default = default_group(src, migration.source.project_id)
    src.network.create_security_group_rule(
        security_group_id=default.id, direction='ingress', ethertype='IPv4',
        protocol='tcp', port_range_min=22, port_range_max=22,
        remote_ip_prefix='0.0.0.0/0')
    net = src.network.create_network(name='dg-net')
    src.network.create_subnet(name='dg-subnet', network_id=net.id,
                              ip_version=4, cidr='10.58.0.0/24')
    image = upload_image(src, 'dg-image', b'default group\n' * 4096)
    server = boot(src, SERVER, image.id, net.id, default.id)
    source_rules = _rules(src, default.id)
    assert server.status == 'ACTIVE'

    # The target: another application's port, in the project's default
    # group (Neutron puts it there when it names no group).
    theirs = dst.network.create_network(name='private')
    dst.network.create_subnet(name='private', network_id=theirs.id,
                              ip_version=4, cidr='10.0.0.0/24')
    their_port = dst.network.create_port(network_id=theirs.id, name='db')
    target_default = default_group(dst, migration.target.project_id)
    assert their_port.security_group_ids == [target_default.id]
    before = _rules(dst, target_default.id)

    resources = tmp_path / 'resources.yml'
    resources.write_text(yaml.safe_dump(
        {'servers': [{'name': SERVER, 'save_state': False}]}))
    out = tmp_path / 'out'
    run([BIN / 'downpour', '--os-cloud', 'src', 'export', resources, out],
        migration.env)
    playbook = [BIN / 'ansible-playbook', out / 'playbook.yml',
                '-e', 'cloud=dst']
    run(playbook, migration.env)

    # Their default group is as it was: ssh is not opened to their port.
    assert _rules(dst, target_default.id) == before
    with open(out / 'uuids.csv', newline='', encoding='utf-8') as stream:
        new = {(row[0], row[2]): row[3] for row in csv.reader(stream)}
    stand_in = dst.network.get_security_group(
        new[('security group', default.id)])
    assert stand_in.name == 'default-%s-downpour' % default.id[:8]
    # The source's rules, a rule naming the group itself naming the
    # stand-in (the local clouds give a new default group no rules).
    assert _rules(dst, stand_in.id) == {
        rule[:5] + (stand_in.id if rule[5] == default.id else rule[5],)
        for rule in source_rules}
    assert ('ingress', 'IPv4', 'tcp', 22, '0.0.0.0/0', None) in \
        _rules(dst, stand_in.id)
    port, = dst.network.ports(device_id=new[('server', server.id)])
    assert port.security_group_ids == [stand_in.id]
    assert dst.network.get_port(their_port.id).security_group_ids == [
        target_default.id]

    # The next run keeps the stand-in and changes nothing.
    again = run(playbook, migration.env)
    assert recap_changed(again.stdout) == 0, again.stdout[-4000:]
    assert _rules(dst, target_default.id) == before

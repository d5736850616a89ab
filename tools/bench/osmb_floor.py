#!/usr/bin/env python3
"""What downpour's import of osmb costs without Ansible: the floor.

Run by ``tools/bench/osmb.py --floor``: one process, one openstacksdk
session, one list call per resource type, then only the creates that are
missing, done the way the generated playbook does them (networks, /24
subnets, a router with its interfaces on the first five, security groups
with their 3 rules in one bulk POST each, images uploaded from BLOB, a
keypair), one after the other.  A second run finds everything and
creates nothing.  It is a measurement of the API work alone, to set the
optimisation's goal.

    osmb_floor.py CLOUD BLOB PUBLIC_KEY_FILE
"""

import sys

import openstack

PREFIX = 'osmb'
RULE_PORTS = (22, 80, 443)


def main():
    cloud, blob, public_key = sys.argv[1:4]
    conn = openstack.connect(cloud=cloud)
    project = conn.current_project_id
    networks = {n.name: n for n in conn.network.networks(project_id=project)}
    subnets = {s.name: s for s in conn.network.subnets(project_id=project)}
    routers = {r.name for r in conn.network.routers(project_id=project)}
    groups = {g.name for g in conn.network.security_groups(project_id=project)}
    images = {i.name for i in conn.image.images(owner=project)}
    keypairs = {k.name for k in conn.compute.keypairs()}
    for i in range(10):
        name = '%s-net-%02d' % (PREFIX, i)
        if name not in networks:
            networks[name] = conn.network.create_network(name=name)
        subnet = '%s-subnet-%02d' % (PREFIX, i)
        if subnet not in subnets:
            subnets[subnet] = conn.network.create_subnet(
                name=subnet, ip_version=4, network_id=networks[name].id,
                cidr='10.60.%d.0/24' % i)
    if '%s-router' % PREFIX not in routers:
        router = conn.network.create_router(name='%s-router' % PREFIX)
        for i in range(5):
            conn.network.add_interface_to_router(
                router, subnet_id=subnets['%s-subnet-%02d' % (PREFIX, i)].id)
    for i in range(20):
        name = '%s-sg-%02d' % (PREFIX, i)
        if name in groups:
            continue
        group = conn.network.create_security_group(
            name=name, description='osmb group %d' % i)
        # One bulk POST for the group's rules, as openstack.cloud's
        # security_group module does.
        conn.network.post(
            '/security-group-rules', json={'security_group_rules': [
                {'security_group_id': group.id, 'direction': 'ingress',
                 'ethertype': 'IPv4', 'protocol': 'tcp',
                 'port_range_min': port, 'port_range_max': port,
                 'remote_ip_prefix': '0.0.0.0/0'} for port in RULE_PORTS]}
        ).raise_for_status()
    for i in range(5):
        name = '%s-image-%d' % (PREFIX, i)
        if name not in images:
            conn.image.create_image(name=name, filename=blob, disk_format='raw',
                                    container_format='bare', wait=True)
    if '%s-key' % PREFIX not in keypairs:
        with open(public_key) as stream:
            conn.compute.create_keypair(name='%s-key' % PREFIX,
                                        public_key=stream.read())


if __name__ == '__main__':
    main()

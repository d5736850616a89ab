#!/usr/bin/env python3
"""What the first import of K units costs without Ansible: the floor.

Run by ``tools/bench/scale.py --floor`` into a fresh target project: one
process, one openstacksdk session, one list call per resource type (the
look), then only the creates that are missing, the ones downpour's import
makes for K units of tools/bench/scale.py: per unit a keypair, a network
with its /24 subnet, a router with its gateway on the target's external
network and an interface on that subnet, a security group and its rules
in one bulk POST, the unit's image and the capture of its save_state
server uploaded from IMAGE_FILE, two 1 GiB volumes from the bytes of
VOLUME_FILE (qcow2, as downpour exports a volume; uploaded to a
temporary image, a volume made from it, the image deleted), a server
group, two ports, two servers (one booted from the capture with a volume
attached, one from the image with the keypair) and a floating IP on a
port. Every upload is checked against what Glance computed. The work
runs ``--parallel`` pieces at a time for each service (Neutron, Glance
uploads, Cinder, Nova), as downpour's import does, each piece as soon as
what it needs is there: the best a client can do with that concurrency. A second
run finds everything and creates nothing.

    scale_floor.py CLOUD K IMAGE_FILE VOLUME_FILE PUBLIC_KEY_FILE [--parallel N]

It prints one line, ``floor: {"created": N, ...}``, for scale.py.

Only the standard library and openstacksdk are imported here: this process
is what is measured.  scale.py takes the names and the rules from here.
"""

import argparse
import collections
import concurrent.futures
import hashlib
import json
import threading

PREFIX = 'scale'
GROUP_POLICY = 'soft-anti-affinity'   # the fake virt driver has one host
RULE_PORTS = (22, 80, 443)
VOLUME_GIB = 1
WAIT = 1800


def unit_names(number):
    """The names of unit ``number``'s resources, in both clouds."""
    stem = '%s-u%03d' % (PREFIX, number)
    names = {key: '%s-%s' % (stem, key) for key in (
        'net', 'subnet', 'router', 'sg', 'image', 'key', 'group',
        'keep', 'fresh', 'data', 'spare', 'keep-port', 'fresh-port')}
    # save_state: true (captured at export, with its attached volume) and
    # false (booted again from the unit's image).
    names['capture'] = '%s-capture' % names['keep']
    return names


def unit_cidr(number):
    return '10.%d.%d.0/24' % (80 + number // 256, number % 256)


def ingress_rules(group_id):
    """The unit's security group rules: TCP 22, 80, 443 from anywhere and
    ICMP from the group's own members."""
    rules = [{'direction': 'ingress', 'ethertype': 'IPv4', 'protocol': 'tcp',
              'port_range_min': port, 'port_range_max': port,
              'remote_ip_prefix': '0.0.0.0/0'} for port in RULE_PORTS]
    rules.append({'direction': 'ingress', 'ethertype': 'IPv4',
                  'protocol': 'icmp', 'remote_group_id': group_id})
    return rules


class Jobs:
    """Work with dependencies, ``parallel`` pieces at a time in each lane
    (the service doing the work): a piece starts as soon as the pieces it
    needs are done and its lane has room."""

    def __init__(self, parallel):
        self.parallel = max(1, parallel)
        self.jobs = {}

    def add(self, key, needs, work, lane):
        self.jobs[key] = (tuple(needs), work, lane)

    def run(self):
        pending = dict(self.jobs)
        done = set()
        busy = collections.Counter()
        lanes = len({lane for _, _, lane in self.jobs.values()})
        with concurrent.futures.ThreadPoolExecutor(
                self.parallel * lanes) as pool:
            running = {}
            while pending or running:
                for key in list(pending):
                    needs, work, lane = pending[key]
                    if busy[lane] < self.parallel and \
                            all(need in done for need in needs):
                        del pending[key]
                        busy[lane] += 1
                        running[pool.submit(work)] = key
                if not running:
                    raise RuntimeError('jobs wait for each other: %s'
                                       % sorted(pending))
                finished, _ = concurrent.futures.wait(
                    running, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in finished:
                    key = running.pop(future)
                    busy[self.jobs[key][2]] -= 1
                    future.result()  # the first failure ends the run
                    done.add(key)


class _Hashing:
    """A file read for an upload, hashed on the way."""

    def __init__(self, stream, algo):
        self.stream = stream
        self.hash = hashlib.new(algo)

    def read(self, size=-1):
        data = self.stream.read(size)
        self.hash.update(data)
        return data


class Floor:
    def __init__(self, conn, image_file, volume_file, public_key):
        self.conn = conn
        self.image_file = image_file
        self.volume_file = volume_file
        self.public_key = public_key
        self.lock = threading.Lock()
        self.created = 0
        project = conn.current_project_id
        network = conn.network
        # The look: one list per type.
        nets = list(network.networks())
        self.external = next(n for n in nets if n.is_router_external)
        self.networks = {n.name: n for n in nets if n.project_id == project}
        self.subnets = {s.name: s for s in network.subnets(project_id=project)}
        self.routers = {r.name: r for r in network.routers(project_id=project)}
        self.groups = {g.name: g for g in network.security_groups(
            project_id=project)}
        self.ports = {p.name: p for p in network.ports(project_id=project)}
        self.fips = {f.port_id for f in network.ips(project_id=project)}
        self.images = {i.name: i for i in conn.image.images(owner=project)}
        self.volumes = {v.name: v for v in conn.block_storage.volumes()}
        self.server_groups = {g.name: g for g in
                              conn.compute.server_groups()}
        self.servers = {s.name: s for s in conn.compute.servers()}
        self.keypairs = {k.name for k in conn.compute.keypairs()}
        self.flavor = min(conn.compute.flavors(),
                          key=lambda f: (f.vcpus, f.ram, f.disk))

    def made(self, table=None, name=None, obj=None):
        """Count a create (and keep what it made by name)."""
        with self.lock:
            if table is not None:
                table[name] = obj
            self.created += 1

    def upload(self, name, filename, disk_format='raw'):
        """A private image of the file's bytes, checked against the hash
        Glance computed."""
        from openstack.exceptions import raise_from_response
        response = self.conn.image.post('/images', json={
            'name': name, 'disk_format': disk_format,
            'container_format': 'bare', 'visibility': 'private'})
        raise_from_response(response)
        image_id = response.json()['id']
        with open(filename, 'rb') as stream:
            data = _Hashing(stream, 'sha512')
            response = self.conn.image.put(
                '/images/%s/file' % image_id, data=data,
                headers={'Content-Type': 'application/octet-stream'})
        raise_from_response(response)
        image = self.conn.image.get_image(image_id)
        if image.status != 'active' or image.hash_algo != 'sha512' or \
                image.hash_value != data.hash.hexdigest():
            raise RuntimeError('image %s: %s %s, status %s; sent %s' % (
                name, image.hash_algo, image.hash_value, image.status,
                data.hash.hexdigest()))
        return image

    def add_unit(self, jobs, number):
        n = unit_names(number)
        conn, network = self.conn, self.conn.network

        def job(key, needs=(), lane='network'):
            def register(work):
                jobs.add((number, key), [(number, need) for need in needs],
                         work, lane)
                return work
            return register

        @job('key', lane='compute')
        def keypair():
            if n['key'] not in self.keypairs:
                conn.compute.create_keypair(name=n['key'],
                                            public_key=self.public_key)
                self.made()

        @job('net')
        def net():
            if n['net'] not in self.networks:
                self.made(self.networks, n['net'],
                          network.create_network(name=n['net']))
            if n['subnet'] not in self.subnets:
                self.made(self.subnets, n['subnet'], network.create_subnet(
                    name=n['subnet'], network_id=self.networks[n['net']].id,
                    ip_version=4, cidr=unit_cidr(number)))

        @job('router', needs=['net'])
        def router():
            if n['router'] in self.routers:
                return
            made = network.create_router(
                name=n['router'],
                external_gateway_info={'network_id': self.external.id})
            network.add_interface_to_router(
                made, subnet_id=self.subnets[n['subnet']].id)
            self.made(self.routers, n['router'], made)

        @job('sg')
        def group():
            if n['sg'] in self.groups:
                return
            made = network.create_security_group(name=n['sg'])
            rules = [dict(rule, security_group_id=made.id)
                     for rule in ingress_rules(made.id)]
            network.post('/security-group-rules', json={
                'security_group_rules': rules}).raise_for_status()
            self.made(self.groups, n['sg'], made)

        for key in ('image', 'capture'):
            @job(key, lane='image')
            def image(key=key):
                if n[key] not in self.images:
                    self.made(self.images, n[key],
                              self.upload(n[key], self.image_file))

        for key in ('data', 'spare'):
            @job(key, lane='volume')
            def volume(key=key):
                if n[key] in self.volumes:
                    return
                # qcow2, as downpour's export captures a volume.
                contents = self.upload('downpour-volume-%s' % n[key],
                                       self.volume_file, 'qcow2')
                made = conn.block_storage.create_volume(
                    name=n[key], size=VOLUME_GIB, image_id=contents.id)
                made = conn.block_storage.wait_for_status(
                    made, 'available', failures=['error'], interval=2,
                    wait=WAIT)
                conn.image.delete_image(contents.id, ignore_missing=True)
                self.made(self.volumes, n[key], made)

        @job('group', lane='compute')
        def server_group():
            if n['group'] not in self.server_groups:
                self.made(self.server_groups, n['group'],
                          conn.compute.create_server_group(
                              name=n['group'], policy=GROUP_POLICY))

        for key in ('keep-port', 'fresh-port'):
            @job(key, needs=['net', 'sg'])
            def port(key=key):
                if n[key] not in self.ports:
                    self.made(self.ports, n[key], network.create_port(
                        name=n[key], network_id=self.networks[n['net']].id,
                        fixed_ips=[{'subnet_id':
                                    self.subnets[n['subnet']].id}],
                        security_group_ids=[self.groups[n['sg']].id]))

        def server(key, image, volumes=(), key_name=None):
            found = self.servers.get(n[key])
            if found is None:
                attrs = {'name': n[key], 'flavor_id': self.flavor.id,
                         'image_id': self.images[n[image]].id,
                         'networks': [{'port': self.ports[n[key + '-port']].id}],
                         'scheduler_hints': {
                             'group': self.server_groups[n['group']].id}}
                if key_name:
                    attrs['key_name'] = n[key_name]
                found = conn.compute.create_server(**attrs)
                found = conn.compute.wait_for_server(
                    found, status='ACTIVE', failures=['ERROR'], interval=2,
                    wait=WAIT)
                self.made(self.servers, n[key], found)
            attached = {v['id'] for v in found.attached_volumes or []}
            for name in volumes:
                volume = self.volumes[n[name]]
                if volume.id in attached:
                    continue
                conn.compute.create_volume_attachment(found, volume=volume.id)
                conn.block_storage.wait_for_status(
                    volume, 'in-use', failures=['error'], interval=2,
                    wait=WAIT)
                self.made()

        job('keep', needs=['capture', 'keep-port', 'group', 'data'],
            lane='compute')(
            lambda: server('keep', 'capture', volumes=['data']))
        job('fresh', needs=['image', 'fresh-port', 'group', 'key'],
            lane='compute')(
            lambda: server('fresh', 'image', key_name='key'))

        @job('fip', needs=['keep', 'router'])
        def floating_ip():
            port = self.ports[n['keep-port']]
            if port.id not in self.fips:
                network.create_ip(floating_network_id=self.external.id,
                                  port_id=port.id)
                self.made()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('cloud')
    parser.add_argument('units', type=int)
    parser.add_argument('image_file')
    parser.add_argument('volume_file')
    parser.add_argument('public_key_file')
    parser.add_argument('--parallel', type=int, default=4)
    args = parser.parse_args()

    import openstack
    conn = openstack.connect(cloud=args.cloud)
    with open(args.public_key_file) as stream:
        public_key = stream.read()
    floor = Floor(conn, args.image_file, args.volume_file, public_key)
    jobs = Jobs(args.parallel)
    for number in range(args.units):
        floor.add_unit(jobs, number)
    jobs.run()
    print('floor: %s' % json.dumps({'created': floor.created,
                                    'units': args.units}))


if __name__ == '__main__':
    main()

"""Hostile and awkward data, end to end on the local clouds.

A fresh source project gets servers, networks, subnets, security groups
(and rules), volumes, images and a keypair whose names, descriptions and
metadata hold Jinja, quotes, line breaks, YAML syntax and YAML words,
paths, spaces, unicode and 255 characters, wherever each API accepts them.
After query -> export -> import into a fresh target project, every value
must be byte-identical in the target, nothing may have been templated or
run, every file downpour wrote must parse, nothing may be written outside
the output directory, and uuids.csv must read back with the csv module.
"""

import csv
import os
import secrets

import openstack.exceptions
import pytest
import yaml

from downpour import ansiblefiles
from tests.functional.helpers import BIN, boot, run, upload_image

pytestmark = pytest.mark.functional

MARK = '/tmp/downpour-pwned-' + secrets.token_hex(6)  # noqa: S108
VALUES = [
    "{{ lookup('pipe', 'touch %s') }}" % MARK,
    "{%% if lookup('pipe', 'touch %s') %%}x{%% endif %%}" % MARK,
    '{# comment #} {% raw %}',
    'it\'s "quoted" \'twice\'',
    'line one\nline two\r\nline three',
    'key: value # not a comment',
    '- leading dash',
    '../../etc/passwd',
    'a/b/../c',
    '  spaces around  ',
    'yes', 'null', '~', '0x10', '1e3',
    'Zoë café naïve',
    'שלום עולם',
    'rain 🌧️ storm ⛈️',
    ('255 characters: ' + 'zoë-{{x}}-' * 30)[:255],
]
# Nova keypair names (default microversion): letters, digits, space, '_', '-'.
KEYPAIR = 'downpour hostile_key - 1'
PUBLIC_KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvXnk0tD8w7XW7vYB0k'
              'r5v1iX8n7Jq3jq8k0oQ8a2s9 hostile@test')


class Source:
    """Creates resources, keeping each value an API refuses out of the
    comparison (and saying which)."""

    def __init__(self, conn):
        self.conn = conn
        self.refused = []
        self.made = {}   # (kind, old id) -> dict of field -> value expected

    def attempt(self, what, make):
        try:
            return make()
        except openstack.exceptions.BadRequestException as exc:
            self.refused.append('%s: %s' % (what, str(exc)[:100]))
            return None

    def expect(self, kind, resource, **fields):
        self.made[(kind, resource.id)] = fields


def build(src):
    conn = src.conn
    keypair = conn.compute.create_keypair(name=KEYPAIR, public_key=PUBLIC_KEY)
    assert keypair.name == KEYPAIR
    networks = []
    for n, value in enumerate(VALUES):
        net = src.attempt('network name %r' % value,
                          lambda value=value: conn.network.create_network(
                              name=value))
        if net is None:
            continue
        described = src.attempt(
            'network description %r' % value,
            lambda value=value, net=net: conn.network.update_network(
                net, description=value))
        src.expect('network', net, name=value,
                   description=value if described is not None else '')
        networks.append(net)
        subnet = src.attempt(
            'subnet %r' % value,
            lambda value=value, net=net, n=n: conn.network.create_subnet(
                network_id=net.id, name=value, description=value,
                ip_version=4, cidr='10.%d.0.0/24' % (100 + n)))
        if subnet is not None:
            src.expect('subnet', subnet, name=value, description=value)
    groups = []
    for value in VALUES:
        group = src.attempt(
            'security group %r' % value,
            lambda value=value: conn.network.create_security_group(
                name=value, description=value))
        if group is None:
            continue
        rule = src.attempt(
            'rule description %r' % value,
            lambda value=value, group=group:
            conn.network.create_security_group_rule(
                security_group_id=group.id, direction='ingress',
                ethertype='IPv4', protocol='tcp', port_range_min=22,
                port_range_max=22, description=value))
        src.expect('security group', group, name=value, description=value,
                   rules=[value] if rule is not None else [])
        groups.append(group)

    # Glance refuses 4-byte UTF-8 (emoji) in names and properties.
    properties = {'downpour_%d' % n: v for n, v in enumerate(VALUES)
                  if max(map(ord, v)) <= 0xFFFF}
    src.refused += ['image property %r (4-byte UTF-8)' % v for v in VALUES
                    if max(map(ord, v)) > 0xFFFF]
    image = upload_image(conn, VALUES[0], b'hostile image bytes\n' * 64,
                         **properties)
    src.expect('image', image, name=VALUES[0], properties=properties)
    for value in VALUES[1:4]:
        other = src.attempt('image name %r' % value,
                            lambda value=value: upload_image(
                                conn, value, b'x' * 512))
        if other is not None:
            src.expect('image', other, name=value, properties={})

    # Nova and Cinder allow only [a-zA-Z0-9-_:. /] in metadata keys; the
    # values are free.
    metadata = {'k%d' % n: value for n, value in enumerate(VALUES)}
    volumes = []
    for value in (VALUES[0], VALUES[3], VALUES[4], VALUES[-1]):
        volume = src.attempt(
            'volume %r' % value,
            lambda value=value: conn.block_storage.create_volume(
                name=value, description=value, size=1, metadata=metadata))
        if volume is not None:
            src.expect('volume', volume, name=value, description=value,
                       metadata=metadata)
            volumes.append(volume)

    servers = []
    for n, value in enumerate(VALUES):
        if n % 6:   # a few servers are enough: each is slow
            continue
        server_metadata = {'m%d' % m: v for m, v in enumerate(VALUES)}
        server = src.attempt(
            'server %r' % value,
            lambda value=value, n=n, md=server_metadata: boot(
                conn, value, image.id, networks[n % len(networks)].id,
                groups[n % len(groups)].id, metadata=md,
                description=value, key_name=KEYPAIR))
        if server is None:
            continue
        assert server.status == 'ACTIVE', server.fault
        src.expect('server', server, name=value, description=value,
                   metadata=server_metadata)
        servers.append(server)
    return servers


def _listing(root):
    found = set()
    for path, dirs, files in os.walk(root):
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(path, name), root))
    return found


def test_hostile_values_arrive_identical(tmp_path, migration):
    source, target, env = migration.source, migration.target, migration.env
    src = Source(source.conn)
    servers = build(src)
    print('\nrefused by the source APIs (left out):\n  '
          + '\n  '.join(src.refused))
    kinds = {kind for kind, _ in src.made}
    assert kinds == {'network', 'subnet', 'security group', 'image',
                     'volume', 'server'}, kinds
    assert servers
    # The Jinja names made it into every type.
    for kind in kinds - {'subnet'}:
        assert any(f['name'] == VALUES[0] for (k, _), f in src.made.items()
                   if k == kind), kind

    work = tmp_path / 'work'
    work.mkdir()
    resources = work / 'resources.yml'
    run([BIN / 'downpour', '--os-cloud', 'src', 'query', '--no-save-state',
         '--server-name', '*', '--volume-name', '*', '--image-name', '*',
         '--network-name', '*', '--security-group-name', '*',
         '--keypair-name', '*', resources], env)
    before = _listing(work)
    out = work / 'out'
    run([BIN / 'downpour', '--os-cloud', 'src', 'export', resources, out],
        env)
    run([BIN / 'ansible-playbook', out / 'playbook.yml', '-e', 'cloud=dst'],
        dict(env, PWD=str(tmp_path)))
    assert not os.path.exists(MARK), 'a source value was run as a template'

    # Nothing outside OUTPUT_DIR; inside, only what downpour writes.
    after = _listing(work)
    assert {p for p in after - before
            if not p.startswith('out')} == set()
    inside = _listing(out)
    assert {p for p in inside if os.sep not in p} == {
        'playbook.yml', 'manifest.yml', 'requirements.yml', 'uuids.csv',
        'journal.csv', 'blobs', 'collections', 'resources.yml', 'inventory',
        'ansible.cfg', 'filter_plugins', 'README.txt',
        # The export's lock and its record of when it began and ended; the
        # import's lock.
        '.downpour.lock', '.downpour-export.json',
        '.downpour-import.lock', '.downpour-import.busy'}, inside
    # The collection holds downpour's own files only, whatever the source
    # called anything: those any export ships.
    shipped = tmp_path / 'shipped'
    ansiblefiles.write_collection(str(shipped))
    assert {p for p in inside if p.startswith('collections')} == \
        _listing(shipped)
    blob_names = {p.split(os.sep, 1)[1] for p in inside
                  if p.startswith('blobs' + os.sep)}
    image_ids = {old for kind, old in src.made if kind == 'image'}
    # One blob per image, named by its old ID (plus the transfer's
    # verification stamp), whatever the image is called.
    assert {n.split('.')[0] for n in blob_names} == image_ids

    # Every file parses.
    from ansible.parsing.dataloader import DataLoader
    plays = DataLoader().load_from_file(str(out / 'playbook.yml'))
    assert [p['name'] for p in plays] == ['Import']
    manifest = yaml.safe_load((out / 'manifest.yml').read_text('utf-8'))
    names = {r['name'] for r in manifest['resources']}
    assert set(VALUES) & names == {f['name'] for f in src.made.values()}
    assert yaml.safe_load((out / 'requirements.yml').read_text())[
        'collections'][0]['name'] == 'openstack.cloud'

    with open(out / 'uuids.csv', newline='', encoding='utf-8') as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ['Resource Type', 'Resource Name', 'Old', 'New']
    new = {(r[0], r[2]): (r[1], r[3]) for r in rows[1:]}
    assert len(new) == len(rows) - 1
    # The journal, which uuids.csv is written from, reads back too.
    with open(out / 'journal.csv', newline='', encoding='utf-8') as stream:
        journal = list(csv.reader(stream))
    assert {(r[0], r[2]): (r[1], r[3]) for r in journal[1:]
            if r[0] != 'server snapshot'} == new

    dst = target.conn
    for (kind, old), fields in src.made.items():
        name, new_id = new[(kind, old)]
        assert name == fields['name'], (kind, old)
        got = _target_fields(dst, kind, new_id, fields)
        assert got == fields, (kind, fields['name'])
    keypair = dst.compute.get_keypair(KEYPAIR)
    assert keypair.public_key == PUBLIC_KEY
    assert {s.key_name for s in dst.compute.servers()} == {KEYPAIR}
    assert not os.path.exists(MARK)


def _target_fields(dst, kind, new_id, fields):
    if kind == 'network':
        network = dst.network.get_network(new_id)
        return {'name': network.name, 'description': network.description}
    if kind == 'subnet':
        subnet = dst.network.get_subnet(new_id)
        return {'name': subnet.name, 'description': subnet.description}
    if kind == 'security group':
        group = dst.network.get_security_group(new_id)
        return {'name': group.name, 'description': group.description,
                'rules': [r['description'] for r in group.security_group_rules
                          if r['direction'] == 'ingress']}
    if kind == 'image':
        image = dst.image.get_image(new_id)
        return {'name': image.name,
                'properties': {k: image.properties.get(k)
                               for k in fields['properties']}}
    if kind == 'volume':
        volume = dst.block_storage.get_volume(new_id)
        return {'name': volume.name, 'description': volume.description,
                'metadata': volume.metadata}
    server = dst.compute.get_server(new_id)
    return {'name': server.name, 'description': server.description,
            'metadata': server.metadata}

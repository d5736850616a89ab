"""An application behind an HTTPS load balancer, moved between the two
local clouds (issue 23).

In the source: two servers on a subnet of the project, a load balancer
on it with a TERMINATED_HTTPS listener whose certificate is a Barbican
certificate container (certificate and private key), a pool holding both
servers, a health monitor, an L7 policy redirecting one path, and a
floating IP on the load balancer's VIP port.  The resource file names only
the load balancer: the export follows it to its servers, their network,
and the container and its secrets.

In the target, the load balancer is ACTIVE with the same shape, its
members are the new servers' addresses, its listener's certificate is a new
container whose bytes are the source's, the floating IP is on the new VIP,
a second run changes nothing, and no byte of the private key or the
certificate is in any file of the output but the vault-encrypted one.

The target is lived in: it already has a load balancer and a secret of
the same names, which stay as they were (the import makes its own beside
them).
"""

import base64
import csv
import datetime
import secrets

import pytest
import yaml

from tests.functional.helpers import (
    BIN,
    boot,
    default_group,
    laps,
    recap_changed,
    run,
    upload_image,
)

pytestmark = pytest.mark.functional

LB = 'front'
CERT = 'front-cert'
KEY = 'front-key'
CONTAINER = 'front-tls'
IMAGE_BYTES = b'downpour behind a load balancer\n' * 4096
WAIT = 300


def _certificate():
    """A self-signed certificate and its key, both PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                         'front.example')])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM,
                              serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()))


def _tls_container(conn, cert_pem, key_pem):
    cert = conn.key_manager.create_secret(
        name=CERT, payload=cert_pem.decode(), payload_content_type='text/plain',
        secret_type='certificate')
    key = conn.key_manager.create_secret(
        name=KEY, payload=key_pem.decode(), payload_content_type='text/plain',
        secret_type='private')
    return conn.key_manager.create_container(
        name=CONTAINER, type='certificate',
        secret_refs=[{'name': 'certificate', 'secret_ref': cert.secret_ref},
                     {'name': 'private_key', 'secret_ref': key.secret_ref}])


def _active(conn, lb):
    return conn.load_balancer.wait_for_load_balancer(lb.id, wait=WAIT,
                                                     interval=1)


def _application(conn, project_id, cert_pem, key_pem):
    """The source's application; what the test checks against."""
    public = conn.network.find_network('public', ignore_missing=False)
    net = conn.network.create_network(name='web')
    subnet = conn.network.create_subnet(
        name='web', network_id=net.id, ip_version=4, cidr='10.71.0.0/24')
    router = conn.network.create_router(
        name='web', external_gateway_info={'network_id': public.id})
    conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    group = default_group(conn, project_id)
    image = upload_image(conn, 'web-image', IMAGE_BYTES)
    servers = [boot(conn, name, image.id, net.id, group.id)
               for name in ('web-1', 'web-2')]
    assert all(s.status == 'ACTIVE' for s in servers)
    container = _tls_container(conn, cert_pem, key_pem)

    lb = conn.load_balancer.create_load_balancer(
        name=LB, description='the shop', vip_subnet_id=subnet.id)
    lb = _active(conn, lb)
    pool = conn.load_balancer.create_pool(
        name='web-pool', loadbalancer_id=lb.id, protocol='HTTP',
        lb_algorithm='ROUND_ROBIN',
        session_persistence={'type': 'HTTP_COOKIE'})
    _active(conn, lb)
    listener = conn.load_balancer.create_listener(
        name='https', loadbalancer_id=lb.id, protocol='TERMINATED_HTTPS',
        protocol_port=443, default_pool_id=pool.id,
        default_tls_container_ref=container.container_ref,
        connection_limit=1000, insert_headers={'X-Forwarded-For': 'true'})
    _active(conn, lb)
    addresses = {}
    for server in servers:
        port = next(conn.network.ports(device_id=server.id))
        address = port.fixed_ips[0]['ip_address']
        addresses[server.name] = address
        conn.load_balancer.create_member(
            pool, name=server.name, address=address, protocol_port=80,
            subnet_id=subnet.id, weight=3)
        _active(conn, lb)
    conn.load_balancer.create_health_monitor(
        name='web-check', pool_id=pool.id, type='HTTP', delay=5, timeout=3,
        max_retries=3, url_path='/health', expected_codes='200')
    _active(conn, lb)
    policy = conn.load_balancer.create_l7_policy(
        name='old-shop', listener_id=listener.id, action='REDIRECT_TO_URL',
        redirect_url='https://front.example/new', position=1)
    _active(conn, lb)
    conn.load_balancer.create_l7_rule(
        policy, type='PATH', compare_type='STARTS_WITH', value='/old')
    lb = _active(conn, lb)
    fip = conn.network.create_ip(floating_network_id=public.id,
                                 port_id=lb.vip_port_id)
    return lb, addresses, fip


def _uuids(out):
    with open(out / 'uuids.csv', newline='', encoding='utf-8') as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ['Resource Type', 'Resource Name', 'Old', 'New']
    return {(kind, old): new for kind, _, old, new in rows[1:]}


def _payload(conn, ref):
    """A secret's bytes, by its href."""
    secret = conn.key_manager.get_secret(ref.rstrip('/').rsplit('/', 1)[1])
    payload = secret.payload
    return payload.encode() if isinstance(payload, str) else payload


def _shape(conn, lb_id):
    """What a user would compare of a load balancer."""
    lb = conn.load_balancer.get_load_balancer(lb_id)
    listeners = [conn.load_balancer.get_listener(item['id'])
                 for item in lb.listeners]
    pools = [conn.load_balancer.get_pool(item['id']) for item in lb.pools]
    members = {pool.id: sorted(
        (m.name, m.address, m.protocol_port, m.weight)
        for m in conn.load_balancer.members(pool)) for pool in pools}
    monitors = [conn.load_balancer.get_health_monitor(pool.health_monitor_id)
                for pool in pools if pool.health_monitor_id]
    policies = [conn.load_balancer.get_l7_policy(item['id'])
                for listener in listeners for item in listener.l7_policies]
    return {
        'lb': (lb.name, lb.description, lb.provisioning_status),
        'listeners': [(x.name, x.protocol, x.protocol_port,
                       x.connection_limit, x.insert_headers,
                       bool(x.default_tls_container_ref)) for x in listeners],
        'pools': [(p.name, p.protocol, p.lb_algorithm,
                   p.session_persistence and p.session_persistence['type'])
                  for p in pools],
        'members': sorted(m for ms in members.values() for m in ms),
        'monitors': [(h.name, h.type, h.delay, h.timeout, h.max_retries,
                      h.url_path, h.expected_codes) for h in monitors],
        'policies': [(p.name, p.action, p.redirect_url, sorted(
            (r.type, r.compare_type, r.rule_value)
            for r in conn.load_balancer.l7_rules(p.id))) for p in policies],
    }


def _files_holding(out, secrets_, allowed):
    """The files of ``out`` (but ``allowed``) holding any of ``secrets_``,
    whole, in base64, or any line of their body."""
    needles = []
    for value in secrets_:
        needles.append(value)
        needles.append(base64.b64encode(value))
        # A PEM's body lines, each on its own (a line is enough to leak).
        needles += [line for line in value.splitlines()
                    if len(line) >= 40 and not line.startswith(b'-----')]
    found = []
    for path in sorted(out.rglob('*')):
        if path.is_file() and path.name not in allowed:
            data = path.read_bytes()
            found += [str(path) for n in needles if n in data][:1]
    return found


def _export_and_import(tmp_path, migration, extra=()):
    env = migration.env
    password = tmp_path / 'vault-password'
    password.write_text(secrets.token_urlsafe(24) + '\n')
    password.chmod(0o600)
    resources = tmp_path / 'resources.yml'
    resources.write_text(yaml.safe_dump({'load_balancers': [{'name': LB}]}))
    out = tmp_path / 'out'
    lap = laps()
    run([BIN / 'downpour', '--os-cloud', 'src', 'export',
         '--vault-password-file', password, resources, out], env)
    lap('export')
    playbook = [BIN / 'ansible-playbook', out / 'playbook.yml',
                '--vault-password-file', password, '-e', 'cloud=dst',
                '-e', '{"network_map": {"public": "ext-net"}}', *extra]
    first = run(playbook, env)
    lap('import')
    return out, playbook, first, lap


def _theirs(conn):
    """The target project's own load balancer and secret, of the names the
    import brings."""
    net = conn.network.create_network(name='theirs')
    subnet = conn.network.create_subnet(
        name='theirs', network_id=net.id, ip_version=4, cidr='10.72.0.0/24')
    lb = _active(conn, conn.load_balancer.create_load_balancer(
        name=LB, description='not yours', vip_subnet_id=subnet.id))
    key = conn.key_manager.create_secret(
        name=KEY, payload='theirs', payload_content_type='text/plain')
    return lb, key


def test_an_https_load_balancer_moves_beside_the_targets_own(
        tmp_path, migration):
    src, dst = migration.source.conn, migration.target.conn
    cert_pem, key_pem = _certificate()
    lb, addresses, old_fip = _application(
        src, migration.source.project_id, cert_pem, key_pem)
    their_lb, their_key = _theirs(dst)
    their_shape = _shape(dst, their_lb.id)
    out, playbook, first, lap = _export_and_import(tmp_path, migration)

    ids = _uuids(out)
    new_lb = dst.load_balancer.get_load_balancer(ids['load balancer', lb.id])
    assert new_lb.provisioning_status == 'ACTIVE'
    assert _shape(dst, new_lb.id) == _shape(src, lb.id) | {
        'members': sorted((name, _new_address(dst, ids, src, name), 80, 3)
                          for name in addresses)}
    # The VIP port is real, and the floating IP is on it.
    vip_port = dst.network.get_port(new_lb.vip_port_id)
    assert vip_port.project_id == migration.target.project_id
    new_fip, = dst.network.ips(port_id=new_lb.vip_port_id)
    assert new_fip.fixed_ip_address == new_lb.vip_address
    with open(out / 'addresses.csv', newline='', encoding='utf-8') as stream:
        assert [old_fip.floating_ip_address, new_fip.floating_ip_address] in \
            [row[:2] for row in csv.reader(stream)]

    # The listener's certificate: a new container, the source's bytes.
    listener = dst.load_balancer.get_listener(new_lb.listeners[0]['id'])
    old_listener = src.load_balancer.get_listener(lb.listeners[0]['id'])
    container = dst.key_manager.get_container(
        listener.default_tls_container_ref.rstrip('/').rsplit('/', 1)[1])
    old_container = src.key_manager.get_container(
        old_listener.default_tls_container_ref.rstrip('/').rsplit('/', 1)[1])
    assert container.name == CONTAINER
    assert listener.default_tls_container_ref != \
        old_listener.default_tls_container_ref
    refs = {r['name']: r['secret_ref'] for r in container.secret_refs}
    old_refs = {r['name']: r['secret_ref'] for r in old_container.secret_refs}
    for name, pem in (('certificate', cert_pem), ('private_key', key_pem)):
        # Barbican keeps a text payload without its last newline.
        assert _payload(dst, refs[name]) == _payload(src, old_refs[name])
        assert _payload(dst, refs[name]).strip() == pem.strip()

    # The payloads are in the vault file only.
    assert _files_holding(out, [key_pem, cert_pem],
                          allowed={'secrets.vault.yml'}) == []
    assert (out / 'secrets.vault.yml').read_bytes().startswith(
        b'$ANSIBLE_VAULT;1.1;AES256')
    assert not any(line.decode() in first.stdout + first.stderr
                   for line in key_pem.splitlines()[1:-1])

    # The target's own, untouched.
    assert their_lb.id not in ids.values()
    assert _shape(dst, their_lb.id) == their_shape
    assert _payload(dst, their_key.secret_ref) == b'theirs'

    again = run(playbook, migration.env)
    lap('import again')
    assert recap_changed(again.stdout) == 0, again.stdout[-4000:]
    assert sorted(x.id for x in dst.load_balancer.load_balancers(
        project_id=migration.target.project_id)) == sorted(
            [new_lb.id, their_lb.id])
    assert [c.container_ref for c in dst.key_manager.containers()] == \
        [container.container_ref]


def _new_address(dst, ids, src, name):
    """The fixed IP of the target's server made from the source's ``name``."""
    old = src.compute.find_server(name, ignore_missing=False)
    new_port = next(dst.network.ports(device_id=ids['server', old.id]))
    return new_port.fixed_ips[0]['ip_address']

"""The items the import engine is given, one builder per type, shaped as
the playbook lists them (tests/unit/golden/sample-playbook.yml)."""

import hashlib
import itertools

_IDS = itertools.count(1)


def old_id():
    return '%08d-0000-4000-8000-000000000000' % next(_IDS)


def network(name, old=None, **attributes):
    return {'type': 'network', 'id': old or old_id(), 'name': name,
            'csv_type': 'network',
            'attributes': dict({'is_admin_state_up': True,
                                'description': ''}, **attributes)}


def subnet(name, net, old=None, cidr='10.20.0.0/24', gateway='10.20.0.1',
           **attributes):
    return {'type': 'subnet', 'id': old or old_id(), 'name': name,
            'csv_type': 'subnet', 'network': net['id'],
            'attributes': dict({
                'cidr': cidr, 'ip_version': 4, 'description': '',
                'is_dhcp_enabled': True, 'gateway_ip': gateway,
                'allocation_pools': [], 'dns_nameservers': [],
                'host_routes': []}, **attributes)}


def router(name, old=None, gateway=None, interfaces=()):
    """``interfaces``: (subnet item, address or None for its gateway)."""
    item = {'type': 'router', 'id': old or old_id(), 'name': name,
            'csv_type': 'router',
            'attributes': {'is_admin_state_up': True, 'description': ''},
            'interfaces': [
                {'subnet': sub['id'], 'network': sub['network'],
                 'ip_address': address or sub['attributes']['gateway_ip'],
                 'is_gateway': not address}
                for sub, address in interfaces]}
    if gateway:
        item['gateway'] = gateway['id']
    return item


def rule(direction='ingress', ethertype='IPv4', **extra):
    return dict({'direction': direction, 'ethertype': ethertype,
                 'description': ''}, **extra)


def tcp(port, **extra):
    return rule(protocol='tcp', port_range_min=port, port_range_max=port,
                **extra)


def group(name, rules=(), old=None, default=False, description=''):
    item = {'type': 'security_group', 'id': old or old_id(), 'name': name,
            'csv_type': 'security group', 'description': description,
            'rules': list(rules)}
    if default:
        item['default'] = True
    return item


def keypair(name, public_key='ssh-ed25519 AAAAC3Nza test@host'):
    return {'type': 'keypair', 'id': name, 'name': name,
            'csv_type': 'keypair', 'public_key': public_key}


def _blob(tmp_path, old, data, algo, checksum=None, digests=True):
    """The blob's file and what the export says of it: the source's
    checksum and (since downpour writes them) the digests of the bytes it
    wrote, by algorithm: sha256, md5 and the source's own.  Without
    ``digests``, a playbook of an earlier downpour."""
    path = tmp_path / ('blob-' + old)
    path.write_bytes(data)
    fields = {'filename': str(path), 'checksum': {
        'algo': algo, 'value': checksum or hashlib.new(algo,
                                                       data).hexdigest()}}
    if digests:
        fields['digests'] = {a: hashlib.new(a, data).hexdigest()
                             for a in sorted({algo, 'sha256', 'md5'})}
    return fields


def image(tmp_path, name, data, old=None, algo='sha512', checksum=None,
          digests=True):
    old = old or old_id()
    return dict({'type': 'image', 'id': old, 'name': name,
                 'csv_type': 'image',
                 'attributes': {'disk_format': 'raw',
                                'container_format': 'bare', 'min_disk': 0,
                                'min_ram': 0, 'properties': {}}},
                **_blob(tmp_path, old, data, algo, checksum, digests))


def volume(name, tmp_path=None, data=None, old=None, size=1, bootable=False,
           description='', digests=True):
    """Empty, or made from ``data`` (its exported bytes)."""
    item = {'type': 'volume', 'id': old or old_id(), 'name': name,
            'csv_type': 'volume', 'size': size, 'description': description,
            'metadata': {}, 'bootable': bootable}
    if data is not None:
        item.update(_blob(tmp_path, item['id'], data, 'sha512',
                          digests=digests))
    return item


def port(name, net, fixed=(), groups=(), old=None, **extra):
    """``fixed``: (subnet item, address); ``extra``: the rest the export
    may say of it (description, MAC, address pairs, port security,
    tags)."""
    return dict({'type': 'port', 'id': old or old_id(), 'name': name,
                 'csv_type': 'port', 'description': '', 'network': net['id'],
                 'fixed_ips': [{'subnet': sub['id'], 'ip_address': address}
                               for sub, address in fixed],
                 'security_groups': [g['id'] for g in groups]}, **extra)


def server(name, flavor_key, image_key=None, boot_volume=None, ports=(),
           volumes=(), key_name=None, old=None):
    item = {'type': 'server', 'id': old or old_id(), 'name': name,
            'csv_type': 'server', 'flavor': flavor_key, 'key_name': key_name,
            'ports': [p['id'] for p in ports],
            'volumes': [v['id'] for v in volumes],
            'metadata': {'role': 'test'}, 'description': '',
            'config_drive': False}
    if boot_volume is not None:
        item['boot_volume'] = boot_volume['id']
    else:
        item['image'] = image_key
    return item


def flavor(name, vcpus=1, ram=512, disk=1):
    return {'type': 'flavor', 'id': 'flavor_' + old_id()[:8], 'name': name,
            'vcpus': vcpus, 'ram': ram, 'disk': disk}


def external(name):
    return {'type': 'external_network', 'id': old_id(), 'name': name}


def server_group(name, policy='anti-affinity', rules=None, old=None):
    return {'type': 'server_group', 'id': old or old_id(), 'name': name,
            'csv_type': 'server group', 'policy': policy,
            'rules': dict(rules or {})}


def floating_ip(address, network, port=None, fixed_ip=None, old=None,
                description='', tags=()):
    """``network``: the external network item; ``port``: the port item,
    or None for one allocated without a port."""
    item = {'type': 'floating_ip', 'id': old or old_id(), 'name': address,
            'csv_type': 'floating ip', 'address': address,
            'network': network['id'], 'description': description,
            'tags': list(tags)}
    if port is not None:
        item.update(port=port['id'], fixed_ip_address=fixed_ip)
    return item


def secret(name, content_type='application/octet-stream', old=None,
           secret_type='opaque', **extra):  # noqa: S107
    return dict({'type': 'secret', 'id': old or old_id(), 'name': name,
                 'csv_type': 'secret', 'secret_type': secret_type,
                 'algorithm': None, 'bit_length': None, 'mode': None,
                 'expiration': None, 'payload_content_type': content_type},
                **extra)


def secret_container(name, refs, old=None, container_type='certificate'):
    """``refs``: (name, secret item)."""
    return {'type': 'secret_container', 'id': old or old_id(),
            'name': name, 'csv_type': 'secret container',
            'container_type': container_type,
            'secret_refs': [{'name': ref_name, 'secret': item['id']}
                            for ref_name, item in refs]}


# -- Octavia -------------------------------------------------------------------

def lb_flavor(name):
    return {'type': 'load_balancer_flavor', 'id': 'lbf_' + old_id()[:8],
            'name': name}


def load_balancer(name, net, sub=None, address=None, flavor_=None,
                  old=None, **extra):
    item = dict({'type': 'load_balancer', 'id': old or old_id(),
                 'name': name, 'csv_type': 'load balancer',
                 'description': '', 'tags': [], 'admin_state_up': True,
                 'vip_network': net['id'], 'provider': 'amphora'}, **extra)
    if sub is not None:
        item['vip_subnet'] = sub['id']
    if address is not None:
        item['vip_address'] = address
    if flavor_ is not None:
        item['flavor'] = flavor_['id']
    return item


def pool(name, lb, old=None, **extra):
    return dict({'type': 'pool', 'id': old or old_id(), 'name': name,
                 'csv_type': 'pool', 'description': '', 'tags': [],
                 'admin_state_up': True, 'protocol': 'HTTP',
                 'lb_algorithm': 'ROUND_ROBIN', 'tls_enabled': False,
                 'load_balancer': lb['id']}, **extra)


def listener(name, lb, pool_=None, port_number=80, old=None, **extra):
    item = dict({'type': 'listener', 'id': old or old_id(), 'name': name,
                 'csv_type': 'listener', 'description': '', 'tags': [],
                 'admin_state_up': True, 'protocol': 'HTTP',
                 'protocol_port': port_number, 'connection_limit': -1,
                 'load_balancer': lb['id']}, **extra)
    if pool_ is not None:
        item['default_pool'] = pool_['id']
    return item


def member(pool_, address, port_=None, sub=None, old=None, **extra):
    item = dict({'type': 'member', 'id': old or old_id(), 'name': '',
                 'csv_type': 'member', 'address': address,
                 'protocol_port': 80, 'weight': 1, 'backup': False,
                 'tags': [], 'admin_state_up': True, 'pool': pool_['id']},
                **extra)
    if port_ is not None:
        item['port'] = port_['id']
    if sub is not None:
        item['subnet'] = sub['id']
    return item


def health_monitor(pool_, old=None, **extra):
    return dict({'type': 'health_monitor', 'id': old or old_id(),
                 'name': 'hm', 'csv_type': 'health monitor',
                 'monitor_type': 'HTTP', 'delay': 5, 'timeout': 3, 'max_retries': 3,
                 'url_path': '/health', 'tags': [], 'admin_state_up': True,
                 'pool': pool_['id']}, **extra)


def l7_policy(name, listener_, position=1, rules=(), old=None, **extra):
    return dict({'type': 'l7_policy', 'id': old or old_id(), 'name': name,
                 'csv_type': 'l7 policy', 'description': '', 'tags': [],
                 'admin_state_up': True, 'action': 'REDIRECT_TO_URL',
                 'redirect_url': 'https://example.com/', 'position': position,
                 'rules': list(rules), 'listener': listener_['id']}, **extra)


def l7_rule(value, compare_type='STARTS_WITH', rule_type='PATH', **extra):
    return dict({'type': rule_type, 'compare_type': compare_type,
                 'key': None, 'value': value, 'invert': False, 'tags': []},
                **extra)

"""A small source project, served by the fake cloud: two servers that share
a network, a router, security groups, a keypair, an image and a server
group, one attached volume and one spare, a floating IP on web-1 and one
unassociated.  IDs are fixed so that golden files stay stable.
"""

from tests.unit.fakecloud import PROJECT_ID

OTHER_PROJECT = '0e0e0e0e0e0e4e0e8e0e0e0e0e0e0e0e'

PUBLIC_NET = '11111111-1111-4111-8111-111111111111'
PUBLIC_SUBNET = '11111111-2222-4111-8111-111111111111'
NET = '22222222-2222-4222-8222-222222222222'
SUBNET = '33333333-3333-4333-8333-333333333333'
ROUTER = '44444444-4444-4444-8444-444444444444'
SG_DEFAULT = '55555555-5555-4555-8555-555555555555'
SG_WEB = '66666666-6666-4666-8666-666666666666'
IMAGE = '77777777-7777-4777-8777-777777777777'
SERVER_1 = '88888888-8888-4888-8888-888888888881'
SERVER_2 = '88888888-8888-4888-8888-888888888882'
PORT_1 = 'aaaaaaaa-0000-4000-8000-000000000002'
# A keepalived VIP: no device, its address in web-1's allowed address pairs.
PORT_VIP = 'aaaaaaaa-0000-4000-8000-000000000004'
VOLUME_DATA = '99999999-9999-4999-8999-999999999991'
VOLUME_SPARE = '99999999-9999-4999-8999-999999999992'
GROUP = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc'
FIP = 'dddddddd-dddd-4ddd-8ddd-ddddddddddd1'
FIP_SPARE = 'dddddddd-dddd-4ddd-8ddd-ddddddddddd2'

IMAGE_BYTES = b'downpour test image\n' * 1000


def _rule(id_, group, direction='ingress', ethertype='IPv4', protocol=None,
          port_min=None, port_max=None, prefix=None, remote_group=None):
    return {'id': id_, 'security_group_id': group, 'direction': direction,
            'ethertype': ethertype, 'protocol': protocol,
            'port_range_min': port_min, 'port_range_max': port_max,
            'remote_ip_prefix': prefix, 'remote_group_id': remote_group,
            'description': '', 'project_id': PROJECT_ID}


def networks():
    return [
        {'id': PUBLIC_NET, 'name': 'public', 'router:external': True,
         'shared': False, 'project_id': OTHER_PROJECT, 'status': 'ACTIVE',
         'admin_state_up': True, 'mtu': 1500,
         'subnets': [PUBLIC_SUBNET]},
        {'id': NET, 'name': 'app-net', 'router:external': False,
         'shared': False, 'project_id': PROJECT_ID, 'status': 'ACTIVE',
         'admin_state_up': True, 'mtu': 1450,
         'port_security_enabled': True, 'subnets': [SUBNET],
         'tags': ['prod']},
    ]


def subnets():
    return [
        {'id': SUBNET, 'name': 'app-subnet', 'network_id': NET,
         'cidr': '10.20.0.0/24', 'ip_version': 4, 'gateway_ip': '10.20.0.1',
         'enable_dhcp': True, 'dns_nameservers': ['192.0.2.53'],
         'host_routes': [{'destination': '198.51.100.0/24',
                          'nexthop': '10.20.0.254'}],
         'allocation_pools': [{'start': '10.20.0.100',
                               'end': '10.20.0.200'}],
         'description': '', 'project_id': PROJECT_ID},
        {'id': PUBLIC_SUBNET, 'name': 'public-subnet',
         'network_id': PUBLIC_NET, 'cidr': '203.0.113.0/24',
         'ip_version': 4, 'gateway_ip': '203.0.113.1',
         'project_id': OTHER_PROJECT},
    ]


def ports():
    return [
        {'id': 'aaaaaaaa-0000-4000-8000-000000000001', 'network_id': NET,
         'device_id': ROUTER, 'device_owner': 'network:router_interface',
         'fixed_ips': [{'subnet_id': SUBNET, 'ip_address': '10.20.0.1'}],
         'mac_address': 'fa:16:3e:00:00:01',
         'security_groups': [], 'created_at': '2026-01-01T00:00:01Z'},
        {'id': 'aaaaaaaa-0000-4000-8000-000000000002', 'network_id': NET,
         'device_id': SERVER_1, 'device_owner': 'compute:nova',
         'fixed_ips': [{'subnet_id': SUBNET, 'ip_address': '10.20.0.101'}],
         'mac_address': 'fa:16:3e:00:00:02', 'port_security_enabled': True,
         'allowed_address_pairs': [{'ip_address': '10.20.0.50',
                                    'mac_address': 'fa:16:3e:00:00:02'}],
         'tags': ['web'], 'project_id': PROJECT_ID,
         'security_groups': [SG_WEB, SG_DEFAULT],
         'created_at': '2026-01-01T00:00:02Z'},
        {'id': 'aaaaaaaa-0000-4000-8000-000000000003', 'network_id': NET,
         'device_id': SERVER_2, 'device_owner': 'compute:nova',
         'fixed_ips': [{'subnet_id': SUBNET, 'ip_address': '10.20.0.102'}],
         'mac_address': 'fa:16:3e:00:00:03', 'port_security_enabled': True,
         'project_id': PROJECT_ID,
         'security_groups': [SG_WEB], 'created_at': '2026-01-01T00:00:03Z'},
        {'id': PORT_VIP, 'name': 'web-vip', 'network_id': NET,
         'device_id': '', 'device_owner': '',
         'fixed_ips': [{'subnet_id': SUBNET, 'ip_address': '10.20.0.50'}],
         'mac_address': 'fa:16:3e:00:00:04', 'port_security_enabled': True,
         'description': 'keepalived', 'project_id': PROJECT_ID,
         'security_groups': [SG_WEB], 'created_at': '2026-01-01T00:00:04Z'},
    ]


def routers():
    return [{'id': ROUTER, 'name': 'app-router', 'status': 'ACTIVE',
             'admin_state_up': True, 'project_id': PROJECT_ID,
             'routes': [{'destination': '192.0.2.0/24',
                         'nexthop': '10.20.0.254'}],
             'external_gateway_info': {
                 'network_id': PUBLIC_NET, 'enable_snat': True,
                 'external_fixed_ips': [{'subnet_id': PUBLIC_SUBNET,
                                         'ip_address': '203.0.113.10'}]}}]


def security_groups():
    return [
        {'id': SG_DEFAULT, 'name': 'default', 'project_id': PROJECT_ID,
         'description': 'Default security group',
         'security_group_rules': [
             _rule('b0000000-0000-4000-8000-000000000001', SG_DEFAULT,
                   direction='egress'),
             _rule('b0000000-0000-4000-8000-000000000002', SG_DEFAULT,
                   remote_group=SG_DEFAULT)]},
        {'id': SG_WEB, 'name': 'web', 'project_id': PROJECT_ID,
         'description': 'Web servers',
         'security_group_rules': [
             _rule('b0000000-0000-4000-8000-000000000003', SG_WEB,
                   direction='egress'),
             _rule('b0000000-0000-4000-8000-000000000004', SG_WEB,
                   protocol='tcp', port_min=22, port_max=22,
                   prefix='0.0.0.0/0'),
             _rule('b0000000-0000-4000-8000-000000000005', SG_WEB,
                   protocol='tcp', port_min=80, port_max=80,
                   remote_group=SG_WEB),
             _rule('b0000000-0000-4000-8000-000000000006', SG_WEB,
                   protocol='tcp', port_min=443, port_max=443,
                   remote_group=SG_DEFAULT)]},
    ]


def images():
    import hashlib
    return [{'id': IMAGE, 'name': 'cirros', 'status': 'active',
             'visibility': 'public', 'owner': OTHER_PROJECT,
             'disk_format': 'qcow2', 'container_format': 'bare',
             'min_disk': 1, 'min_ram': 64, 'size': len(IMAGE_BYTES),
             'checksum': hashlib.md5(IMAGE_BYTES).hexdigest(),  # noqa: S324
             'os_hash_algo': 'sha512',
             'os_hash_value': hashlib.sha512(IMAGE_BYTES).hexdigest(),
             'hw_disk_bus': 'virtio', 'os_distro': 'cirros',
             'owner_specified.openstack.md5': 'x',
             'protected': False, 'tags': [],
             'file': '/v2/images/%s/file' % IMAGE,
             'schema': '/v2/schemas/image'}]


def keypairs():
    return [{'keypair': {'name': 'app-key', 'type': 'ssh',
                         'fingerprint': 'aa:bb',
                         'public_key': 'ssh-ed25519 AAAAC3Nza test@host'}}]


def _server(id_, name, volumes=()):
    return {'id': id_, 'name': name, 'status': 'ACTIVE',
            'tenant_id': PROJECT_ID, 'key_name': 'app-key',
            'image': {'id': IMAGE},
            'flavor': {'original_name': 'm1.small', 'vcpus': 1, 'ram': 2048,
                       'disk': 20, 'ephemeral': 0, 'swap': 0},
            'metadata': {'role': 'web'}, 'config_drive': '',
            'description': None,
            'security_groups': [{'name': 'web'}],
            'os-extended-volumes:volumes_attached': [
                {'id': v, 'delete_on_termination': False} for v in volumes],
            'server_groups': [GROUP],
            'OS-EXT-AZ:availability_zone': 'nova',
            'addresses': {}}


def servers():
    return [_server(SERVER_1, 'web-1', [VOLUME_DATA]),
            _server(SERVER_2, 'web-2')]


def server_groups():
    return [{'id': GROUP, 'name': 'web-group', 'policy': 'anti-affinity',
             'rules': {'max_server_per_host': 2},
             'members': [SERVER_1, SERVER_2], 'project_id': PROJECT_ID,
             'user_id': 'u'}]


def floating_ips():
    return [
        {'id': FIP, 'floating_ip_address': '203.0.113.20',
         'floating_network_id': PUBLIC_NET, 'port_id': PORT_1,
         'fixed_ip_address': '10.20.0.101', 'status': 'ACTIVE',
         'router_id': ROUTER, 'description': 'web-1 public',
         'tags': ['web', 'public'], 'project_id': PROJECT_ID},
        {'id': FIP_SPARE, 'floating_ip_address': '203.0.113.30',
         'floating_network_id': PUBLIC_NET, 'port_id': None,
         'fixed_ip_address': None, 'status': 'DOWN', 'router_id': None,
         'description': '', 'tags': [], 'project_id': PROJECT_ID},
    ]


def volumes():
    return [
        {'id': VOLUME_DATA, 'name': 'web-data', 'size': 1,
         'status': 'in-use', 'bootable': 'false', 'description': 'data',
         'metadata': {}, 'volume_type': '__DEFAULT__',
         'availability_zone': 'nova',
         'attachments': [{'server_id': SERVER_1, 'device': '/dev/vdb',
                          'attachment_id': 'c0000000-0000-4000-8000-000000000001',
                          'volume_id': VOLUME_DATA}]},
        {'id': VOLUME_SPARE, 'name': 'spare', 'size': 2,
         'status': 'available', 'bootable': 'false', 'description': '',
         'metadata': {'purpose': 'scratch'}, 'volume_type': '__DEFAULT__',
         'availability_zone': 'nova', 'attachments': []},
    ]


def register(fake_cloud):
    """Register every list call of the sample project."""
    fake_cloud.get('network', '/v2.0/networks', json={'networks': networks()})
    fake_cloud.get('network', '/v2.0/subnets', json={'subnets': subnets()})
    fake_cloud.get('network', '/v2.0/ports', json={'ports': ports()})
    fake_cloud.get('network', '/v2.0/routers', json={'routers': routers()})
    fake_cloud.get('network', '/v2.0/security-groups',
                   json={'security_groups': security_groups()})
    fake_cloud.get('image', '/images', json={'images': images()})
    fake_cloud.get('compute', '/os-keypairs', json={'keypairs': keypairs()})
    fake_cloud.get('compute', '/servers/detail',
                   json={'servers': servers()})
    fake_cloud.get('block-storage', '/volumes/detail',
                   json={'volumes': volumes()})
    fake_cloud.get('compute', '/os-server-groups',
                   json={'server_groups': server_groups()})
    fake_cloud.get('network', '/v2.0/floatingips',
                   json={'floatingips': floating_ips()})

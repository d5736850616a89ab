"""Ports that tie servers to networks: a server's ports are recreated
before it, with their fixed IPs and security groups, so that the server is
made on them by ID.
"""

import ipaddress

from downpour.resources.base import Record, ResourceType, checked_uuid
from downpour.resources.network import Network
from downpour.resources.security_group import SecurityGroup

# IPv6 subnets whose addresses Neutron derives from the port's MAC: an
# address cannot be asked for there, and the same MAC gives the same one.
AUTO_ADDRESS_MODES = ('slaac', 'dhcpv6-stateless')
# The device owner of the ports Octavia makes (a load balancer's VIP).
OCTAVIA_OWNER = 'Octavia'


class Port(ResourceType):
    type = 'port'

    @staticmethod
    def detail(item, blob_size):
        return ', '.join(str(f.get('ip_address'))
                         for f in item.get('fixed_ips') or [])

    @classmethod
    def list(cls, conn):
        return conn.network.ports()

    @classmethod
    def build(cls, exporter, obj, entry=None, network=None, groups=(),
              vip=False):
        """A server's port on ``network`` (a record), in ``groups``; with
        ``vip``, a port without a device that holds an address the
        server's ports name in their allowed address pairs."""
        checked_uuid(obj.id, 'port %r' % obj.name)
        record = Record(type=cls.type, old_id=obj.id, name=obj.name or '',
                        params={'description': obj.description or '',
                                'tags': list(obj.tags or [])},
                        info={'mac_address': obj.mac_address, 'vip': vip})
        exporter.add(record)
        record.refs['network'] = network
        fixed_ips = []
        if network.type == Network.type:
            # Neutron lets only a network's owner choose a port's addresses,
            # MAC, address pairs and port security: the import owns the
            # networks it makes.
            for ip in obj.fixed_ips or []:
                subnet = exporter.find('subnet', ip['subnet_id'])
                if subnet is not None:
                    auto = subnet.params.get('ipv6_address_mode') in \
                        AUTO_ADDRESS_MODES
                    fixed_ips.append({'subnet': subnet, 'ip_address':
                                      None if auto else ip['ip_address']})
            record.params.update(cls._as_it_was(obj))
        else:
            cls._warn_not_owned(exporter, record, obj, network)
        record.refs['fixed_ips'] = fixed_ips
        record.refs['security_groups'] = list(groups)
        if network.type == Network.type and not vip:
            # Made before this port, so that its address is taken by the
            # VIP before anything else can be given it.
            record.refs['vips'] = cls._vips(exporter, obj, network)
        return record

    @staticmethod
    def _as_it_was(obj):
        params = {'mac_address': obj.mac_address,
                  'allowed_address_pairs': []}
        for pair in obj.allowed_address_pairs or []:
            item = {'ip_address': pair.get('ip_address')}
            # A pair without a MAC of its own follows the port's; Neutron
            # writes the port's in, which is left out so that it follows
            # the new port's too.
            if pair.get('mac_address') and \
                    pair['mac_address'] != obj.mac_address:
                item['mac_address'] = pair['mac_address']
            params['allowed_address_pairs'].append(item)
        if obj.is_port_security_enabled is not None:
            params['port_security_enabled'] = bool(
                obj.is_port_security_enabled)
        return params

    @classmethod
    def _warn_not_owned(cls, exporter, record, obj, network):
        lost = ['its MAC address (%s)' % obj.mac_address]
        addresses = [ip.get('ip_address') for ip in obj.fixed_ips or []]
        if addresses:
            lost.append('its fixed IPs (%s)' % ', '.join(map(str, addresses)))
        if obj.allowed_address_pairs:
            lost.append('its allowed address pairs (%s)' % ', '.join(
                str(pair.get('ip_address'))
                for pair in obj.allowed_address_pairs))
        if obj.is_port_security_enabled is False:
            lost.append('port security off')
        exporter.warn('%s is on network %r (%s), which the import does not '
                      'create and only its owner may give these: the new '
                      'port gets what the target chooses instead of %s'
                      % (exporter.describe(record), network.name,
                         network.old_id, ', '.join(lost)))

    @classmethod
    def _vips(cls, exporter, obj, network):
        """Ports without a device on the same network that hold an address
        this port names in its allowed address pairs: the address a
        keepalived pair shares, kept out of anyone else's hands."""
        named = set()
        for pair in obj.allowed_address_pairs or []:
            try:
                net = ipaddress.ip_network(pair.get('ip_address'),
                                           strict=False)
            except (TypeError, ValueError):
                continue
            # A range names no one address: its ports are not taken.
            if net.prefixlen == net.max_prefixlen:
                named.add(net.network_address)
        if not named:
            return []
        project = exporter.conn.current_project_id
        vips = []
        for port in cls.all(exporter):
            # Octavia's VIP ports are its own: the new load balancer
            # gets a new one.
            if port.id == obj.id or port.network_id != obj.network_id or \
                    port.device_id or port.project_id != project or \
                    (port.device_owner or '').startswith(
                        ('network:', 'compute:', OCTAVIA_OWNER)):
                continue
            if any(_address(ip.get('ip_address')) in named
                   for ip in port.fixed_ips or []):
                vips.append(exporter.record(
                    cls, port, network=network,
                    groups=cls.groups(exporter, port), vip=True))
        return vips

    @classmethod
    def groups(cls, exporter, port, what=None):
        """The records of the port's security groups, in its order;
        ``what`` names the server it is of, in warnings."""
        visible = SecurityGroup.by_id(exporter)
        records = []
        for group_id in port.security_group_ids or []:
            group = visible.get(group_id)
            if group is None:
                port_of = '%s: port %s' % (what, port.id) if what else \
                    'port %r (%s)' % (port.name, port.id)
                exporter.warn('%s is in security group %s, which is not '
                              'visible; the new port is made without it'
                              % (port_of, group_id))
                continue
            records.append(exporter.record(SecurityGroup, group))
        return records

    @classmethod
    def of_server(cls, exporter, server):
        """The server's ports in the order of its interfaces.  Nova lists
        the server's addresses interface by interface (grouped by
        network); the order ports were made in is only a guess, wrong
        for ports made beforehand, in parallel (Heat) or in another
        order."""
        seen = {}
        for entries in (server.addresses or {}).values():
            for entry in entries or []:
                mac = entry.get('OS-EXT-IPS-MAC:mac_addr')
                if mac and mac not in seen:
                    seen[mac] = len(seen)
        # sorted() is stable: ports Nova does not show keep their order.
        return sorted(cls.of_device(exporter, server.id),
                      key=lambda p: seen.get(p.mac_address, len(seen)))

    @classmethod
    def of_device(cls, exporter, device_id):
        ports = [p for p in cls.all(exporter) if p.device_id == device_id]
        return sorted(ports, key=lambda p: (p.created_at or '', p.id))


def _address(value):
    try:
        return ipaddress.ip_address(value)
    except (TypeError, ValueError):
        return None

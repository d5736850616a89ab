"""Networks, their subnets, and the ports that tie servers and routers to
them.  A server's ports are recreated before it, with their fixed IPs and
security groups, so that the server is made on them by ID; a router's are
made by its interfaces.
"""

from downpour.resources.base import Record, ResourceType, checked_uuid


def is_external(conn, network):
    """Provider networks the tenant uses but does not own are not copied."""
    if network.is_router_external:
        return True
    return bool(network.is_shared) and (
        network.project_id != conn.current_project_id)


class Port(ResourceType):
    type = 'port'
    csv_type = 'port'
    batch = 'servers'

    @classmethod
    def list(cls, conn):
        return conn.network.ports()

    @classmethod
    def build(cls, exporter, obj, entry=None, network=None, groups=()):
        """A server's port on ``network`` (a record), in ``groups``."""
        checked_uuid(obj.id, 'port %r' % obj.name)
        record = Record(type=cls.type, old_id=obj.id, name=obj.name or '',
                        params={'description': obj.description or ''},
                        info={'mac_address': obj.mac_address})
        exporter.add(record)
        record.refs['network'] = network
        fixed_ips = []
        if network.type == Network.type:
            # On an external network the target chooses the address.
            for ip in obj.fixed_ips or []:
                subnet = exporter.find('subnet', ip['subnet_id'])
                if subnet is not None:
                    fixed_ips.append({'subnet': subnet,
                                      'ip_address': ip['ip_address']})
        record.refs['fixed_ips'] = fixed_ips
        record.refs['security_groups'] = list(groups)
        return record

    @classmethod
    def of_device(cls, exporter, device_id):
        ports = [p for p in cls.all(exporter) if p.device_id == device_id]
        return sorted(ports, key=lambda p: (p.created_at or '', p.id))


class ExternalNetwork(ResourceType):
    """A network the target must already have: the playbook's look finds
    it, and the play stops if it cannot."""

    type = 'external_network'
    batch = 'external_networks'


class Subnet(ResourceType):
    type = 'subnet'
    csv_type = 'subnet'
    batch = 'networks'

    @classmethod
    def list(cls, conn):
        return conn.network.subnets()

    @classmethod
    def build(cls, exporter, obj, entry=None):
        record = Record(type=cls.type, old_id=obj.id, name=obj.name or '')
        exporter.add(record)
        params = {
            'cidr': obj.cidr,
            'ip_version': int(obj.ip_version or 4),
            'description': obj.description or '',
            'is_dhcp_enabled': bool(obj.is_dhcp_enabled),
            'dns_nameservers': list(obj.dns_nameservers or []),
            'host_routes': [{'destination': r['destination'],
                             'nexthop': r['nexthop']}
                            for r in obj.host_routes or []],
            'allocation_pools': [{'start': p['start'], 'end': p['end']}
                                 for p in obj.allocation_pools or []],
        }
        if obj.gateway_ip:
            params['gateway_ip'] = obj.gateway_ip
        else:
            params['disable_gateway_ip'] = True
        for key in ('ipv6_address_mode', 'ipv6_ra_mode'):
            if getattr(obj, key, None):
                params[key] = getattr(obj, key)
        record.params = params
        network = Network.by_id(exporter).get(obj.network_id)
        record.refs['network'] = exporter.record(Network, network)
        return record


class Network(ResourceType):
    type = 'network'
    section = 'networks'
    csv_type = 'network'
    batch = 'networks'

    @classmethod
    def list(cls, conn):
        return conn.network.networks()

    @classmethod
    def build(cls, exporter, obj, entry=None):
        if is_external(exporter.conn, obj):
            record = Record(type=ExternalNetwork.type, old_id=obj.id,
                            name=obj.name or '',
                            info={'external': bool(obj.is_router_external),
                                  'shared': bool(obj.is_shared)})
            exporter.add(record, key_type=cls.type)
            return record
        params = {'is_admin_state_up': bool(obj.is_admin_state_up),
                  'description': obj.description or ''}
        if obj.is_port_security_enabled is not None:
            params['port_security_enabled'] = bool(
                obj.is_port_security_enabled)
        record = Record(type=cls.type, old_id=obj.id, name=obj.name or '',
                        params=params, info={'mtu': obj.mtu})
        exporter.add(record)
        # A network is copied with all its subnets: a fixed IP or a router
        # interface on a subnet left behind would have nowhere to go.
        subnets = [exporter.record(Subnet, subnet)
                   for subnet in Subnet.all(exporter)
                   if subnet.network_id == obj.id]
        if entry is not None:
            # Named in the resource file rather than reached from a server
            # (which brings its own routers): its routers come too.
            # Imported here because the router module imports this one.
            from downpour.resources.router import Router
            Router.for_subnets(exporter, subnets)
        return record

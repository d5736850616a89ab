"""Networks, their subnets, and the ports that tie servers and routers to
them.  Ports are not recreated (the server task makes its own), so they
are only listed, once, to follow the links.
"""

from downpour.resources.base import Record, ResourceType


def is_external(conn, network):
    """Provider networks the tenant uses but does not own are not copied."""
    if network.is_router_external:
        return True
    return bool(network.is_shared) and (
        network.project_id != conn.current_project_id)


class Port(ResourceType):
    type = 'port'

    @classmethod
    def list(cls, conn):
        return conn.network.ports()

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
    result_id = 'subnet.id'
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
    result_id = 'network.id'
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

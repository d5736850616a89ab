"""Routers that connect the exported subnets, found from the port list."""

import ipaddress

from downpour.resources.base import Record, ResourceType
from downpour.resources.network import Network
from downpour.resources.port import Port
from downpour.resources.subnet import Subnet

INTERFACE_OWNERS = ('network:router_interface',
                    'network:router_interface_distributed',
                    'network:ha_router_replicated_interface')


class Router(ResourceType):
    type = 'router'

    @classmethod
    def list(cls, conn):
        return conn.network.routers()

    @classmethod
    def for_subnets(cls, exporter, subnet_records):
        """Every router with an interface on one of these subnets."""
        wanted = {record.old_id for record in subnet_records}
        routers = cls.by_id(exporter)
        found = []
        for port in Port.all(exporter):
            if port.device_owner not in INTERFACE_OWNERS:
                continue
            if any(ip['subnet_id'] in wanted for ip in port.fixed_ips or []):
                router = routers.get(port.device_id)
                if router is not None and router not in found:
                    found.append(router)
        records = []
        for router in found:
            record = exporter.record(cls, router)
            # Reached again from another server's subnets: the interfaces on
            # those subnets, exported since the router was built, count too.
            record.refs['interfaces'] = cls.interfaces(exporter, router)
            records.append(record)
        return records

    @classmethod
    def build(cls, exporter, obj, entry=None):
        record = Record(type=cls.type, old_id=obj.id, name=obj.name or '',
                        params={'is_admin_state_up':
                                bool(obj.is_admin_state_up),
                                'description': obj.description or '',
                                'tags': list(obj.tags or [])},
                        info={'status': obj.status,
                              'routes': [
                                  {'destination': route.get('destination'),
                                   'nexthop': route.get('nexthop')}
                                  for route in obj.routes or []]})
        exporter.add(record)
        gateway = obj.external_gateway_info or {}
        if gateway.get('network_id'):
            network = Network.by_id(exporter).get(gateway['network_id'])
            if network is not None:
                record.refs['gateway'] = exporter.record(Network, network)
        record.refs['interfaces'] = cls.interfaces(exporter, obj)
        return record

    @classmethod
    def interfaces(cls, exporter, obj):
        """The router's interfaces on the subnets exported so far."""
        subnets = Subnet.by_id(exporter)
        interfaces = []
        for port in Port.of_device(exporter, obj.id):
            if port.device_owner not in INTERFACE_OWNERS:
                continue
            for ip in port.fixed_ips or []:
                subnet = subnets.get(ip['subnet_id'])
                if subnet is None:
                    continue
                subnet_record = exporter.find(Subnet.type, subnet.id)
                if subnet_record is None:
                    # Interfaces on subnets not exported are left out.
                    continue
                interfaces.append({
                    'subnet': subnet_record,
                    'network': subnet_record.refs['network'],
                    'ip_address': ip['ip_address'],
                    'is_gateway': ip['ip_address'] == subnet.gateway_ip})
        return interfaces

    @classmethod
    def after_resolve(cls, exporter):
        # Routers reached again gain interfaces: their routes are chosen
        # once every interface is known.
        for record in exporter.records_of(cls.type):
            cls.routes(exporter, record)

    @classmethod
    def routes(cls, exporter, record):
        """The router's static routes whose next hop is on a subnet it
        has an interface on in the export: Neutron refuses any other (and
        the target's external network is another)."""
        connected = []
        for interface in record.refs.get('interfaces') or []:
            try:
                connected.append(ipaddress.ip_network(
                    interface['subnet'].params['cidr'], strict=False))
            except (KeyError, TypeError, ValueError):
                continue
        kept, left = [], []
        for route in record.info.get('routes') or []:
            try:
                hop = ipaddress.ip_address(route['nexthop'])
            except (TypeError, ValueError):
                hop = None
            if hop is not None and any(hop in net for net in connected):
                kept.append(route)
            else:
                left.append(route)
        record.params['routes'] = kept
        if left:
            exporter.warn('%s: static routes whose next hop is on no '
                          'exported subnet of the router are left out: %s'
                          % (exporter.describe(record), ', '.join(
                              '%s via %s' % (r['destination'], r['nexthop'])
                              for r in left)))

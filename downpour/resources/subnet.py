"""Subnets: a network is copied with all of them."""

from downpour.resources.base import Record, ResourceType
from downpour.resources.network import Network


class Subnet(ResourceType):
    type = 'subnet'

    @staticmethod
    def detail(item, blob_size):
        return str((item.get('attributes') or {}).get('cidr') or '')

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
            'tags': list(obj.tags or []),
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

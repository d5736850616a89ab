"""Floating IPs: allocated again from the target's external network and
associated with the new port on the same fixed IP.

A tenant cannot choose a floating IP's address, so the address changes;
the import writes the table of old and new addresses (addresses.csv).
Those on an exported port come with it; others are listed in the resource
file (``floating_ips``), and are associated when their port is exported.
"""

from downpour.errors import ResolveError
from downpour.resources.base import Record, ResourceType, checked_uuid
from downpour.resources.external_network import ExternalNetwork
from downpour.resources.network import Network
from downpour.resources.port import Port


class FloatingIP(ResourceType):
    type = 'floating_ip'

    @staticmethod
    def called(obj):
        # No name: its address.
        return obj.floating_ip_address

    @classmethod
    def list(cls, conn):
        return conn.network.ips(project_id=conn.current_project_id)

    @classmethod
    def build(cls, exporter, obj, entry=None):
        checked_uuid(obj.id, 'floating IP %r' % obj.floating_ip_address)
        address = obj.floating_ip_address or ''
        # No name: the address stands for it in messages and uuids.csv.
        record = Record(
            type=cls.type, old_id=obj.id, name=address,
            params={'description': obj.description or '',
                    'tags': sorted(str(t) for t in obj.tags or [])},
            info={'address': address, 'port_id': obj.port_id,
                  'fixed_ip_address': obj.fixed_ip_address,
                  'status': obj.status})
        exporter.add(record)
        network = Network.by_id(exporter).get(obj.floating_network_id)
        network_record = exporter.record(Network, network) \
            if network is not None else None
        what = cls.describe(exporter, record, entry)
        if network_record is None or \
                network_record.type != ExternalNetwork.type:
            raise ResolveError('%s is on network %s, which is not a visible '
                               'external network'
                               % (what, obj.floating_network_id))
        record.refs['network'] = network_record
        exporter.warn(
            '%s: a tenant cannot choose a floating IP\'s address; the target '
            'allocates a new one on the external network network_map picks '
            'for %r, and the import lists old and new addresses in '
            'addresses.csv: change DNS records and firewall rules that name '
            '%s' % (what, network_record.name, address))
        cls._associate(exporter, record)
        return record

    @staticmethod
    def describe(exporter, record, entry=None):
        """Its resource-file entry, else its address: it has no name."""
        text = exporter.describe(record, entry)
        if text == '%s %r (%s)' % (record.type, record.name, record.old_id):
            return 'floating IP %s (%s)' % (record.name, record.old_id)
        return text

    @staticmethod
    def _vips(exporter):
        """The exported load balancers by their VIP port's ID."""
        return {lb.info.get('vip_port_id'): lb
                for lb in exporter.records_of('load_balancer')
                if lb.info.get('vip_port_id')}

    @classmethod
    def _associate(cls, exporter, record):
        """Tie ``record`` to its port's record, once that is exported, or
        to the load balancer whose VIP port (Octavia's) it is on."""
        port_id = record.info['port_id']
        if not port_id or 'port' in record.refs or 'vip_of' in record.refs:
            return
        lb = cls._vips(exporter).get(port_id)
        if lb is not None:
            record.refs['vip_of'] = lb
            record.params['fixed_ip_address'] = \
                record.info['fixed_ip_address']
            return
        port = exporter.find(Port.type, port_id)
        if port is not None:
            record.refs['port'] = port
            record.params['fixed_ip_address'] = \
                record.info['fixed_ip_address']

    @classmethod
    def after_resolve(cls, exporter):
        exported = {port.old_id for port in exporter.records_of(Port.type)}
        exported |= set(cls._vips(exporter))
        if exported:
            for obj in cls.all(exporter):
                if obj.port_id in exported:
                    exporter.record(cls, obj)
        for record in exporter.records_of(cls.type):
            cls._associate(exporter, record)
            if record.info['port_id'] and 'port' not in record.refs and \
                    'vip_of' not in record.refs:
                exporter.warn(
                    '%s is on port %s, which is not exported (export the '
                    'server it belongs to): it is allocated in the target '
                    'without a port' % (cls.describe(exporter, record),
                                        record.info['port_id']))

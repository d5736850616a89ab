"""Pool members, and the servers they are.

A member names its server only by address.  The member whose address is
a fixed IP of a port of a server of the project brings that server (and
so its port): at import, the member takes the address the new port has.
One whose address is on no exported port is carried by that address,
with a warning.
"""

from downpour.importer.octavia import listing
from downpour.resources.base import Record, ResourceType, checked_uuid
from downpour.resources.octavia import fields, state

CARRIED = ('address', 'protocol_port', 'weight', 'backup',
           'monitor_address', 'monitor_port')


class Member(ResourceType):
    type = 'member'

    @staticmethod
    def detail(item, blob_size):
        return '%s:%s' % (item.get('address'), item.get('protocol_port'))

    @classmethod
    def of_pool(cls, exporter, pool):
        # Octavia lists members per pool only: a call for each pool that
        # has any.
        if not pool.members:
            return []
        return exporter.inventory.get(
            'member:%s' % pool.id, lambda conn: listing(
                conn, '/lbaas/pools/%s/members' % pool.id, 'members',
                'the source'))

    @classmethod
    def build(cls, exporter, obj, entry=None, pool=None):
        checked_uuid(obj.id, 'member %r' % obj.name)
        params = dict(fields(obj, CARRIED),
                      **state(obj))
        record = Record(type=cls.type, old_id=obj.id, name=obj.name or '',
                        params=params)
        exporter.add(record)
        record.refs['pool'] = pool
        what = '%s of pool %r (%s)' % (exporter.describe(record), pool.name,
                                       pool.old_id)
        port, server = cls._server_port(exporter, obj)
        if server is not None:
            exporter.record(exporter.home('server'), server)
            port_record = exporter.find('port', port.id)
            if port_record is not None:
                record.refs['port'] = port_record
                record.refs['server'] = exporter.find('server', server.id)
        if obj.subnet_id:
            subnet = exporter.find('subnet', obj.subnet_id)
            if subnet is not None:
                record.refs['subnet'] = subnet
        if 'port' not in record.refs:
            exporter.warn(
                '%s: its address %s is on no port of an exported server; it '
                'is carried by that address%s' % (
                    what, obj.address,
                    ' on the load balancer\'s VIP subnet (its subnet %s is '
                    'not exported)' % obj.subnet_id
                    if obj.subnet_id and 'subnet' not in record.refs
                    else ''))
        return record

    @classmethod
    def _server_port(cls, exporter, obj):
        """The port of a server of the project whose fixed IP is the
        member's address (on its subnet, when it names one), and the
        server; (None, None).  From the one list of ports."""
        servers = exporter.home('server').by_id(exporter)
        for port in exporter.home('port').all(exporter):
            if port.device_id not in servers:
                continue
            for ip in port.fixed_ips or []:
                if ip.get('ip_address') == obj.address and (
                        not obj.subnet_id or
                        ip.get('subnet_id') == obj.subnet_id):
                    return port, servers[port.device_id]
        return None, None

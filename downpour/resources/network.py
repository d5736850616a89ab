"""Networks the project owns, copied with all their subnets; a network
named in the resource file brings its routers too."""

from downpour.resources.base import Record, ResourceType, owned
from downpour.resources.external_network import ExternalNetwork, is_external


class Network(ResourceType):
    type = 'network'

    @classmethod
    def list(cls, conn):
        return conn.network.networks()

    @classmethod
    def query_restriction(cls, conn, filters):
        # Not the external network, nor networks shared by others.
        return owned(conn)

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
                  'description': obj.description or '',
                  'tags': list(obj.tags or [])}
        if obj.is_port_security_enabled is not None:
            params['port_security_enabled'] = bool(
                obj.is_port_security_enabled)
        record = Record(type=cls.type, old_id=obj.id, name=obj.name or '',
                        params=params, info={'mtu': obj.mtu})
        exporter.add(record)
        # A network is copied with all its subnets: a fixed IP or a router
        # interface on a subnet left behind would have nowhere to go.
        # Homes found through the exporter: the subnet and router homes
        # import this one.
        subnet_home = exporter.home('subnet')
        subnets = [exporter.record(subnet_home, subnet)
                   for subnet in subnet_home.all(exporter)
                   if subnet.network_id == obj.id]
        if entry is not None:
            # Named in the resource file rather than reached from a server
            # (which brings its own routers): its routers come too.
            exporter.home('router').for_subnets(exporter, subnets)
        return record

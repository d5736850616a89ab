"""Load balancers, with everything on them: listeners, pools, members,
health monitors, L7 policies and rules, and the servers their members
are.

A load balancer's VIP keeps its address where the import makes the VIP
subnet (as a port's fixed IPs do); its flavor and zone are chosen in the
target like a volume's type.  Its provider is only said: the target's
default provider makes it, and a provider's own flavors are not carried.
Octavia's VIP port is never exported as a port: Octavia makes the new one.
"""

from downpour.errors import ResolveError
from downpour.importer.octavia import LB_PATH
from downpour.resources.base import Record, ResourceType, checked_uuid
from downpour.resources.listener import Listener
from downpour.resources.load_balancer_availability_zone import (
    LoadBalancerAvailabilityZone,
)
from downpour.resources.load_balancer_flavor import LoadBalancerFlavor
from downpour.resources.member import Member
from downpour.resources.network import Network
from downpour.resources.octavia import ids, project_list, state
from downpour.resources.pool import Pool

# What of a load balancer the import does not make, and says so.
NOT_CARRIED = (('additional_vips', 'its additional VIPs are'),
               ('vip_qos_policy_id', "its VIP's QoS policy is"),
               ('vip_sg_ids', "its VIP's security groups are"))


class LoadBalancer(ResourceType):
    type = 'load_balancer'
    list = project_list(LB_PATH, 'loadbalancers')

    @classmethod
    def query_list(cls, conn, filters):
        # A cloud without Octavia has no load balancer (--all searches
        # every section).
        if not conn.has_service('load-balancer'):
            return []
        return cls.list(conn)

    @staticmethod
    def detail(item, blob_size):
        return str(item.get('vip_address') or '')

    @classmethod
    def build(cls, exporter, obj, entry=None):
        checked_uuid(obj.id, 'load balancer %r' % obj.name)
        record = Record(
            type=cls.type, old_id=obj.id, name=obj.name or '',
            params=dict(state(obj), description=obj.description or ''),
            info={'provider': obj.provider,
                  'vip_address': obj.vip_address,
                  'vip_port_id': obj.vip_port_id})
        exporter.add(record)
        what = exporter.describe(record, entry)
        cls._vip(exporter, record, obj, what)
        for field, said in NOT_CARRIED:
            if obj.get(field):
                exporter.warn('%s: %s not carried; set again in the '
                              'target by hand' % (what, said))
        flavor = LoadBalancerFlavor.of(exporter, obj.flavor_id, what)
        if flavor is not None:
            record.refs['flavor'] = flavor
        zone = LoadBalancerAvailabilityZone.of(exporter,
                                               obj.availability_zone)
        if zone is not None:
            record.refs['availability_zone'] = zone
        # Pools first: a listener and an L7 policy name them.
        for pool in Pool.all(exporter):
            if obj.id in ids(pool.loadbalancers):
                exporter.record(Pool, pool)
        for listener in Listener.all(exporter):
            if obj.id in ids(listener.loadbalancers):
                exporter.record(Listener, listener)
        return record

    @classmethod
    def _vip(cls, exporter, record, obj, what):
        network = Network.by_id(exporter).get(obj.vip_network_id)
        if network is None:
            raise ResolveError('%s: its VIP is on network %s, which is not '
                               'visible' % (what, obj.vip_network_id))
        network_record = exporter.record(Network, network)
        record.refs['vip_network'] = network_record
        if network_record.type == Network.type:
            # The network comes with all its subnets.
            subnet = exporter.find('subnet', obj.vip_subnet_id)
            if subnet is not None:
                record.refs['vip_subnet'] = subnet
                record.params['vip_address'] = obj.vip_address
                return
        exporter.warn('%s: its VIP is on network %r, which the import does '
                      'not create: the target chooses its address instead '
                      'of %s' % (what, network.name, obj.vip_address))

    @classmethod
    def for_server(cls, exporter, server):
        """The load balancers whose pools hold the server ``server`` (an
        openstacksdk server): a member at one of its ports' addresses."""
        addresses = {ip.get('ip_address')
                     for port in exporter.home('port').of_device(
                         exporter, server.id)
                     for ip in port.fixed_ips or []}
        lbs = cls.by_id(exporter)
        for pool in Pool.all(exporter):
            if any(member.address in addresses
                   for member in Member.of_pool(exporter, pool)):
                for lb_id in ids(pool.loadbalancers):
                    if lb_id in lbs:
                        exporter.record(cls, lbs[lb_id])

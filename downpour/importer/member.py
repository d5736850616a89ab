"""Members: a pool's servers, at the address the new server's port has
(the source's, where the import carried it)."""

import ipaddress

from .kind import ImportFailed, describe
from .octavia import Obj, OctaviaKind, listing, same, tags_differ


def _fetch(conn):
    # Octavia lists members per pool only: one call per pool of the
    # project that has any.
    found = []
    for pool in listing(conn, '/lbaas/pools', 'pools',
                        project_id=conn.current_project_id):
        if pool.get('members'):
            for member in listing(conn, '/lbaas/pools/%s/members'
                                  % pool.id, 'members'):
                found.append(Obj(member, pool_id=pool.id))
    return found


class Members(OctaviaKind):
    """A member whose source port is exported goes to the fixed IP the new
    port has that stands for the source's: the same address where the
    import made the subnet, else the new port's address on the subnet
    that held it, else its first of the same IP version.  One carried by
    address (its port was not exported) keeps its address.  Address and
    port are fixed once made."""

    lists = ('lb_members',)
    fetch = staticmethod(_fetch)
    key = 'member'
    parent = 'pool'

    @staticmethod
    def parent_ids(obj):
        return [obj.get('pool_id')]

    def _pool_item(self, item):
        pool = self.imp.item(item['pool'])
        if pool is None:
            raise ImportFailed('%s: its pool (source ID %s) is not in the '
                               'playbook' % (describe(item), item['pool']))
        return pool

    def lb_key(self, item):
        return self._pool_item(item)['load_balancer']

    def scope(self, item, listing_):
        pool = self.imp.ids.get(item['pool'])
        return [m for m in listing_ if m.pool_id == pool]

    def collection(self, item):
        return '/lbaas/pools/%s/members' % self.resolve(item, item['pool'],
                                                        'pool')

    def object_path(self, item, obj):
        # As listed, a member says its pool.
        if obj.get('pool_id'):
            return '/lbaas/pools/%s/members/%s' % (obj.pool_id, obj.id)
        return super().object_path(item, obj)

    def address(self, item):
        """The address the member has in the target; None in check mode
        while its port is yet to be made."""
        source = item.get('address')
        if not item.get('port'):
            return source
        port_id = self.resolve(item, item['port'], 'port')
        if port_id is None:
            return None
        port = self.imp.target(item['port'])
        if port is None:
            port = self.conn.network.get_port(port_id)
        version = _version(source)
        own = [ip for ip in port.fixed_ips or []
               if _version(ip.get('ip_address')) == version]
        if source in [ip.get('ip_address') for ip in own]:
            return source
        subnet = self.imp.ids.get(item['subnet']) if item.get('subnet') \
            else None
        on = [ip for ip in own if subnet and ip.get('subnet_id') == subnet]
        chosen = (on or own or [None])[0]
        if chosen is None:
            raise ImportFailed('%s: the new port %s has no IPv%s address'
                               % (describe(item), port_id, version))
        return chosen['ip_address']

    def left_over(self, item):
        address = self.address(item)
        owned = self.imp.journal.owned_ids()
        return next((Obj(member, pool_id=self.imp.ids[item['pool']])
                     for member in listing(self.conn, self.collection(item),
                                           'members', describe(item))
                     if member.id not in owned
                     and member.get('address') == address
                     and member.get('protocol_port') ==
                     item.get('protocol_port')), None)

    def body(self, item):
        body = super().body(item)
        body['address'] = self.address(item)
        if item.get('monitor_address') == item.get('address'):
            # Checked at its own address, wherever that went.
            body['monitor_address'] = body['address']
        if item.get('subnet'):
            body['subnet_id'] = self.resolve(item, item['subnet'], 'subnet')
        return body

    def corrections(self, item, obj):
        change = super().corrections(item, obj)
        if item.get('monitor_address') == item.get('address') and \
                item.get('monitor_address'):
            address = self.address(item)
            if address is None or same(obj.get('monitor_address'), address):
                change.pop('monitor_address', None)
            else:
                change['monitor_address'] = address
        if not tags_differ(item, obj):
            change.pop('tags', None)
        return change


def _version(address):
    try:
        return ipaddress.ip_address(address).version
    except (TypeError, ValueError):
        return None

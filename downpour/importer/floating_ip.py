"""Floating IPs: allocated on the chosen external network and put on the
new port."""

import ipaddress

from .files import write_table
from .kind import Kind, describe, differs
from .octavia import LB_PATH, call

ADDRESS_HEADER = ('Old Address', 'New Address', 'Fixed IP', 'Port', 'Old',
                  'New')


def write_addresses(path, addresses):
    """Rewrite the address table ``path`` unless it says exactly that;
    whether it was written."""
    return write_table(path, ADDRESS_HEADER, [
        (row['old_address'], row['new_address'], row['fixed_ip'],
         row['port'], row['old'], row['new']) for row in addresses])


class FloatingIPs(Kind):
    """Floating IPs: each is allocated on the external network chosen for
    the source's and associated, in the same request, with the new port,
    on the port's own fixed IP that stands for the source's (``fixed_ip``).
    The target chooses the address; its row in ``Importer.rows`` keeps the
    old and the new one, and the fixed IP it went to."""

    lists = ('floating_ips',)
    # The table of each one's old and new address (the module's
    # addresses_csv), and its rows in the module's result.
    output = ('addresses_csv', 'addresses')
    write_output = staticmethod(write_addresses)

    @staticmethod
    def fetch(conn):
        return conn.network.ips(project_id=conn.current_project_id)

    def scope(self, item, listing):
        # A floating IP has no name, and an address the target holds says
        # nothing about it: none is ever a clash, none is ever adopted.
        return []

    def needs(self, item):
        # Neutron associates one only with a port whose subnet a router
        # joins to the external network: the routers that join the port's
        # network are made (with their interfaces) first.
        port = self.imp.item(item.get('port')) or {}
        network = port.get('network') or (
            self.imp.item(item.get('vip_of')) or {}).get('vip_network')
        routers = [router['id'] for router in self.imp.items_of('router')
                   if network and network in [
                       interface.get('network')
                       for interface in router.get('interfaces') or []]]
        return super().needs(item) + tuple(routers)

    def fixed_ip(self, item, port):
        """The fixed IP of the new ``port`` that the floating IP goes to:
        the source's, where the port has it (the import made the port's
        subnet and carried its address); else the port's IPv4 address on
        the subnet of the import's that held the source's; else the port's
        first IPv4 address (on a network the import does not make, the
        target chose the port's address).  Neutron takes only an IPv4 one.
        None: the port has none, for Neutron to say so."""
        source = item.get('fixed_ip_address')
        own = [ip for ip in port.fixed_ips or []
               if _version(ip.get('ip_address')) == 4]
        if source in [ip['ip_address'] for ip in own]:
            return source
        subnet = self._subnet_of(item, source)
        on = [ip for ip in own if subnet and ip.get('subnet_id') == subnet]
        chosen = (on or own or [None])[0]
        return chosen['ip_address'] if chosen else None

    def _subnet_of(self, item, address):
        """The target ID of the subnet, of those the port's item names,
        that held ``address`` in the source."""
        port = self.imp.item(item.get('port')) or {}
        for fixed in port.get('fixed_ips') or []:
            subnet = self.imp.item(fixed.get('subnet')) or {}
            cidr = (subnet.get('attributes') or {}).get('cidr')
            if _within(address, cidr):
                return self.imp.ids.get(subnet['id'])
        return None

    def _port(self, item):
        """The target's port ``item`` goes on, and its ID; (None, None) in
        check mode when it is yet to be made.  One on a load balancer's
        VIP goes on the new load balancer's VIP port (Octavia's)."""
        if item.get('vip_of'):
            return self._vip_port(item)
        port_id = self.resolve(item, item['port'], 'port')
        if port_id is None:
            return None, None
        # As the ports' kind found or made it, before: no request.
        port = self.imp.target(item['port'])
        if port is None:  # a port given by ID, not among the items
            port = self.conn.network.get_port(port_id)
        return port, port_id

    def _vip_port(self, item):
        lb_id = self.resolve(item, item['vip_of'], 'load balancer')
        if lb_id is None:
            return None, None
        lb = self.imp.target(item['vip_of'])
        if lb is None or not lb.get('vip_port_id'):
            lb = call(self.conn, 'GET', '%s/%s' % (LB_PATH, lb_id),
                      describe(item))['loadbalancer']
        port = self.conn.network.get_port(lb['vip_port_id'])
        return port, port.id

    def _on_port(self, item):
        return bool(item.get('port') or item.get('vip_of'))

    def corrections(self, item, obj):
        wanted = {'description': item.get('description') or ''}
        # One exported without a port is left on whatever port it was
        # given since: taking it off would cut a service off.
        if self._on_port(item):
            port, port_id = self._port(item)
            if port is None:
                return {}  # check mode: its port is yet to be made
            wanted['port_id'] = port_id
            fixed = self.fixed_ip(item, port)
            if fixed is not None:
                wanted['fixed_ip_address'] = fixed
        change = differs(obj, wanted)
        tags = sorted(item.get('tags') or [])
        if sorted(obj.tags or []) != tags:
            change['tags'] = tags
        return change

    def correct(self, item, obj, change):
        tags = change.pop('tags', None)
        if change:
            self.conn.network.update_ip(obj, **change)
        if tags is not None:
            self.conn.network.set_tags(obj, tags)

    def create(self, item):
        attrs = {'floating_network_id': self.resolve(
                     item, item['network'], 'external network'),
                 'description': item.get('description') or ''}
        if self._on_port(item):
            port, attrs['port_id'] = self._port(item)
            fixed = self.fixed_ip(item, port)
            if fixed is not None:
                attrs['fixed_ip_address'] = fixed
        obj = self.conn.network.create_ip(**attrs)
        self.imp.made(item, obj.id)
        if item.get('tags'):
            self.conn.network.set_tags(obj, list(item['tags']))
        return obj

    def complete(self, item, obj, ours):
        # Where it points now: the look's row of one to be put back says
        # where it is until the task has.
        self.imp.rows[item['id']] = {
            'old_address': item.get('address') or item['name'],
            'new_address': obj.floating_ip_address,
            'fixed_ip': (obj.fixed_ip_address or '')
            if self._on_port(item) else '',
            'port': (obj.port_id or '') if self._on_port(item) else '',
            'old': item['id'], 'new': obj.id}


def _version(address):
    try:
        return ipaddress.ip_address(address).version
    except (TypeError, ValueError):
        return None


def _within(address, cidr):
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(
            cidr, strict=False)
    except (TypeError, ValueError):
        return False

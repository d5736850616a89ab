"""Subnets, on the networks the import made or found."""

import functools

from .kind import Kind, differs, neutron_update, tag_change, tag_new


def subnet_differs(item, obj):
    attrs = item['attributes']
    for key in ('cidr', 'ip_version', 'gateway_ip'):
        if getattr(obj, key, None) != attrs.get(key):
            return 'its %s is %s, not %s' % (key, getattr(obj, key, None),
                                             attrs.get(key))
    return None


class Subnets(Kind):
    """DHCP comes on last: with a DHCP agent, Neutron gives a subnet made
    with DHCP on a port at its first free address, which a port of the
    export may carry.  A subnet of the import's own is made with DHCP off
    while what takes an address on it (its ports, a router's interface
    off its gateway: ``Kind.addresses_on``) is yet to be made, and DHCP is
    set as exported once they are there."""

    lists = ('subnets',)

    def __init__(self, importer):
        super().__init__(importer)
        # The subnet each item became, by item ID: (subnet, ours).
        self._became = {}

    @staticmethod
    def fetch(conn):
        return conn.network.subnets(project_id=conn.current_project_id)

    def scope(self, item, listing):
        # A network made by this run (no ID yet) has no subnet of another.
        network_id = self.imp.ids.get(item['network'])
        return [s for s in listing if s.network_id == network_id]

    def proof(self, item, obj):
        return subnet_differs(item, obj)

    def corrections(self, item, obj):
        # Of its attributes, what its declaration says can be corrected on
        # a subnet that exists; the rest is fixed at creation.
        updatable = [path.split('.', 1)[1]
                     for path in self.definition.correctable
                     if path.startswith('attributes.')]
        change = differs(obj, {key: item['attributes'][key]
                               for key in updatable
                               if key in item['attributes']})
        if obj.name != item['name']:
            change['name'] = item['name']
        change.update(tag_change(item, obj))
        return change

    def correct(self, item, obj, change):
        neutron_update(self, obj, change, self.conn.network.update_subnet)

    def create(self, item):
        network_id = self.resolve(item, item['network'], 'network')
        attrs = dict(item['attributes'])
        if self.imp.addressed(item['id']):
            attrs['is_dhcp_enabled'] = False  # set by its step
        return tag_new(self, item, self.conn.network.create_subnet(
            name=item['name'], network_id=network_id, **attrs))

    def complete(self, item, obj, ours):
        self._became[item['id']] = (obj, ours)

    def steps(self, item):
        return ((item['id'] + '/dhcp',
                 [item['id']] + self.imp.addressed(item['id']),
                 functools.partial(self._dhcp, item)),)

    def _dhcp(self, item):
        if item['id'] not in self._became:
            return  # check mode: the subnet itself is to be made
        obj, ours = self._became[item['id']]
        wanted = item['attributes'].get('is_dhcp_enabled')
        if not ours or wanted is None or \
                bool(obj.is_dhcp_enabled) == bool(wanted):
            return
        if self.imp.wait(item):
            return
        self.conn.network.update_subnet(obj, is_dhcp_enabled=bool(wanted))
        self.imp.changed = True

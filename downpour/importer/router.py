"""Routers, their interfaces (a port of the import's own where the
address is not the subnet's gateway) and their static routes."""

from .kind import Kind, Part, differs, neutron_update, tag_change, tag_new


class InterfacePorts(Part):
    """The port of an interface whose address is not its subnet's
    gateway: made on the subnet with the source router's address, then
    added to the router."""

    csv = 'router interface'
    list = 'ports'

    def serves(self, part, obj, interface):
        # One already on a device is not free to add; another is made.
        return not obj.device_id

    def make(self, part, interface):
        port = self.conn.network.create_port(
            network_id=self.imp.ids[interface['network']],
            fixed_ips=[{'subnet_id': self.imp.ids[interface['subnet']],
                        'ip_address': interface['ip_address']}])
        self.record(part, port.id)
        return port


class Routers(Kind):

    # The ports: which subnets a router has interfaces on.
    lists = ('routers', 'ports')
    parts = (InterfacePorts,)

    @staticmethod
    def fetch(conn):
        return conn.network.routers(project_id=conn.current_project_id)

    def _gateway(self, item):
        return self.imp.ids.get(item['gateway']) if item.get('gateway') \
            else None

    def _subnets_of(self, router):
        return {ip['subnet_id'] for port in self.imp.listed('ports')
                if port.device_id == router.id
                for ip in port.fixed_ips or []}

    def cost(self, item, made, cost, blob_size):
        if made:
            # Each interface is a port of the project.
            cost['ports'] += len(item.get('interfaces') or [])

    @staticmethod
    def addresses_on(item):
        # An interface at the subnet's gateway has an address no DHCP
        # agent takes; another one is a port at the source's address.
        return [interface['subnet']
                for interface in item.get('interfaces') or []
                if interface.get('ip_address')
                and not interface.get('is_gateway')]

    def proof(self, item, obj):
        current = (obj.external_gateway_info or {}).get('network_id')
        if current != self._gateway(item):
            return 'its gateway is on another network'
        have = self._subnets_of(obj)
        for interface in item.get('interfaces') or []:
            if self.imp.ids.get(interface['subnet']) not in have:
                return 'it has no interface on subnet %s' % (
                    interface['subnet'],)
        lacks = _routes(item['routes']) - _routes(obj.routes) \
            if item.get('routes') is not None else None
        if lacks:
            return 'it has no route to %s via %s' % sorted(lacks)[0]
        return None

    def corrections(self, item, obj):
        change = differs(obj, dict(item['attributes'], name=item['name']))
        gateway = self._gateway(item)
        current = (obj.external_gateway_info or {}).get('network_id')
        if gateway and current != gateway:
            change['external_gateway_info'] = {'network_id': gateway}
        change.update(tag_change(item, obj))
        return change

    def correct(self, item, obj, change):
        neutron_update(self, obj, change, self.conn.network.update_router)

    def create(self, item):
        attrs = dict(item['attributes'], name=item['name'])
        gateway = self._gateway(item)
        if gateway:
            attrs['external_gateway_info'] = {'network_id': gateway}
        return tag_new(self, item, self.conn.network.create_router(**attrs))

    def complete(self, item, obj, ours):
        if not ours:
            return  # proven to have them all; never changed
        have = self._subnets_of(obj) if obj is not None else set()
        for interface in item.get('interfaces') or []:
            subnet_id = self.imp.ids.get(interface['subnet'])
            if subnet_id is not None and subnet_id in have:
                continue
            if self.imp.wait(item):
                return
            if interface.get('is_gateway') or not interface.get('ip_address'):
                self.conn.network.add_interface_to_router(
                    obj.id, subnet=subnet_id)
            else:
                # Not the subnet's gateway address: a port keeps the
                # address the source router had.
                ports = InterfacePorts(self)
                port = ports.get(ports.item('%s/%s' % (
                    item['id'], interface['subnet']), item['name']), interface)
                self.conn.network.add_interface_to_router(obj.id,
                                                          port=port.id)
            self.imp.changed = True
        self._set_routes(item, obj)

    def _set_routes(self, item, obj):
        """Exactly the exported static routes, once the interfaces their
        next hops need are there (Neutron checks)."""
        if item.get('routes') is None or \
                _routes(item['routes']) == _routes(obj.routes):
            return
        if self.imp.wait(item):
            return
        self.conn.network.update_router(obj.id, routes=[
            {'destination': r['destination'], 'nexthop': r['nexthop']}
            for r in item['routes']])
        self.imp.changed = True


def _routes(routes):
    return {(r.get('destination'), r.get('nexthop')) for r in routes or []}

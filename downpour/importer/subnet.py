"""Subnets, on the networks the import made or found."""

from .kind import Kind, differs, neutron_update, tag_change, tag_new


def subnet_differs(item, obj):
    attrs = item['attributes']
    for key in ('cidr', 'ip_version', 'gateway_ip'):
        if getattr(obj, key, None) != attrs.get(key):
            return 'its %s is %s, not %s' % (key, getattr(obj, key, None),
                                             attrs.get(key))
    return None


class Subnets(Kind):
    lists = ('subnets',)

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
        return tag_new(self, item, self.conn.network.create_subnet(
            name=item['name'], network_id=network_id, **item['attributes']))

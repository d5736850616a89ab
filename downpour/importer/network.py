"""Networks the import makes (the project's own)."""

from .kind import Kind, differs, neutron_update, tag_change, tag_new
from .subnet import subnet_differs


class Networks(Kind):
    lists = ('networks',)

    @staticmethod
    def fetch(conn):
        # All of them, not only the project's: a router's gateway is on an
        # external one, which the project does not own.
        return conn.network.networks()

    def listing(self):
        project = self.conn.current_project_id
        return [net for net in self.imp.listed('networks')
                if net.project_id == project]

    def proof(self, item, obj):
        # A network is its subnets: each exported one must be there, by
        # name, CIDR, IP version and gateway.
        on_it = [s for s in self.imp.listed('subnets')
                 if s.network_id == obj.id]
        for sub in self.imp.items_of('subnet'):
            if sub['network'] != item['id']:
                continue
            if not any(s.name == sub['name'] and subnet_differs(sub, s) is None
                       for s in on_it):
                return 'it has no subnet %r like the exported one' % (
                    sub['name'],)
        return None

    def corrections(self, item, obj):
        return dict(differs(obj, dict(item['attributes'],
                                       name=item['name'])),
                    **tag_change(item, obj))

    def correct(self, item, obj, change):
        neutron_update(self, obj, change, self.conn.network.update_network)

    def create(self, item):
        return tag_new(self, item, self.conn.network.create_network(
            name=item['name'], **item['attributes']))

"""Server groups, made before their servers."""

from .kind import Kind


class ServerGroups(Kind):
    """Server groups, before their servers: Nova puts a server in a group
    only when it creates it.  Nothing of a group can be changed once it is
    made (name, policy, rules), so one of ours is only found; one of the
    target's is never adopted, its members are not ours."""

    lists = ('server_groups',)

    @staticmethod
    def fetch(conn):
        return conn.compute.server_groups()

    def cost(self, item, made, cost, blob_size):
        # Nova counts members per group: the fullest group is what matters
        # (check's total takes the largest).
        cost['server_group_members'] += sum(
            1 for other in self.imp.items_of('server')
            if other.get('server_group') == item['id']
            and other['id'] not in self.imp.ids)

    def create(self, item):
        attrs = {'name': item['name'], 'policy': item['policy']}
        if item.get('rules'):
            attrs['rules'] = dict(item['rules'])
        return self.conn.compute.create_server_group(**attrs)

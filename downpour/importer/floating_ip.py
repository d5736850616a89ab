"""Floating IPs: allocated on the chosen external network and put on the
new port."""

from .files import write_table
from .kind import Kind, differs

ADDRESS_HEADER = ('Old Address', 'New Address', 'Fixed IP', 'Port', 'Old',
                  'New')


def write_addresses(path, addresses):
    """Rewrite the address table ``path`` unless it says exactly that;
    whether it was written."""
    return write_table(path, ADDRESS_HEADER, [
        (row['old_address'], row['new_address'], row['fixed_ip'],
         row['port'], row['old'], row['new']) for row in addresses])


class FloatingIPs(Kind):
    """Floating IPs, after the servers: each is allocated on the external
    network chosen for the source's and associated, in the same request,
    with the new port on the same fixed IP.  The target chooses the
    address; its row in ``Importer.rows`` keeps the old and the new one."""

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

    def corrections(self, item, obj):
        wanted = {'description': item.get('description') or ''}
        # One exported without a port is left on whatever port it was
        # given since: taking it off would cut a service off.
        if item.get('port'):
            port_id = self.resolve(item, item['port'], 'port')
            if port_id is None:
                return {}  # check mode: its port is yet to be made
            wanted.update(port_id=port_id,
                          fixed_ip_address=item.get('fixed_ip_address'))
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
        if item.get('port'):
            attrs['port_id'] = self.resolve(item, item['port'], 'port')
            if item.get('fixed_ip_address'):
                attrs['fixed_ip_address'] = item['fixed_ip_address']
        obj = self.conn.network.create_ip(**attrs)
        self.imp.made(item, obj.id)
        if item.get('tags'):
            self.conn.network.set_tags(obj, list(item['tags']))
        return obj

    def complete(self, item, obj, ours):
        self.imp.rows[item['id']] = {
            'old_address': item.get('address') or item['name'],
            'new_address': obj.floating_ip_address,
            'fixed_ip': item.get('fixed_ip_address') or '',
            'port': self.imp.ids.get(item['port'], '')
            if item.get('port') else '',
            'old': item['id'], 'new': obj.id}

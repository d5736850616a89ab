"""Ports, made as they were before their servers."""

from .kind import Kind, differs, neutron_update, tag_change, tag_new


class Ports(Kind):
    """A server's ports, made before it with their fixed IPs and security
    groups, so that the server is created on them by ID, and the ports
    without a device that hold an address the others name in their
    allowed address pairs (a keepalived VIP).  On a network the import
    made, a port gets the source's MAC, address pairs and port security
    too; the MAC is set when the port is made, never changed after."""

    lists = ('ports',)

    @staticmethod
    def fetch(conn):
        return conn.network.ports(project_id=conn.current_project_id)

    @staticmethod
    def addresses_on(item):
        return [fixed['subnet'] for fixed in item.get('fixed_ips') or []
                if fixed.get('ip_address')]

    def _groups(self, item):
        """The target IDs of the port's groups; None while one is yet to
        be made (check mode) or with none given."""
        if item.get('security_groups') is None:
            return None
        found = [self.imp.ids.get(group) for group in item['security_groups']]
        return None if None in found else found

    @staticmethod
    def _pairs(pairs, mac):
        return sorted((p.get('ip_address'), p.get('mac_address') or mac)
                      for p in pairs or [])

    def corrections(self, item, obj):
        change = differs(obj, {'name': item['name'],
                                'description': item['description']})
        secure = item.get('port_security_enabled')
        if secure is not None and obj.is_port_security_enabled != secure:
            change['is_port_security_enabled'] = secure
        if secure is False:
            # Neutron refuses groups and pairs on a port without port
            # security: they go in the same request.
            if obj.security_group_ids:
                change['security_group_ids'] = []
            if obj.allowed_address_pairs:
                change['allowed_address_pairs'] = []
        else:
            groups = self._groups(item)
            if groups is not None and \
                    set(groups) != set(obj.security_group_ids or []):
                change['security_group_ids'] = groups
            pairs = item.get('allowed_address_pairs')
            if pairs is not None and self._pairs(pairs, obj.mac_address) \
                    != self._pairs(obj.allowed_address_pairs, None):
                change['allowed_address_pairs'] = pairs
        change.update(tag_change(item, obj))
        return change

    def correct(self, item, obj, change):
        neutron_update(self, obj, change, self.conn.network.update_port)

    def create(self, item):
        network_id = self.resolve(item, item['network'], 'network')
        fixed_ips = []
        for fixed in item.get('fixed_ips') or []:
            subnet_id = self.resolve(item, fixed['subnet'], 'subnet')
            # No address on a subnet that derives it from the MAC.
            fixed_ips.append({'subnet_id': subnet_id} if fixed.get(
                'ip_address') is None else {'subnet_id': subnet_id,
                                            'ip_address': fixed['ip_address']})
        attrs = {'name': item['name'], 'description': item['description'],
                 'network_id': network_id}
        if fixed_ips:
            attrs['fixed_ips'] = fixed_ips
        if item.get('security_groups') is not None:
            attrs['security_group_ids'] = [
                self.resolve(item, group, 'security group')
                for group in item['security_groups']]
        if item.get('mac_address'):
            attrs['mac_address'] = item['mac_address']
        if item.get('port_security_enabled') is not None:
            # Said either way: a port takes its network's default.
            attrs['is_port_security_enabled'] = item['port_security_enabled']
        if item.get('port_security_enabled') is False:
            attrs['security_group_ids'] = []
        elif item.get('allowed_address_pairs'):
            attrs['allowed_address_pairs'] = item['allowed_address_pairs']
        return tag_new(self, item, self.conn.network.create_port(**attrs))

"""Security groups, with their rules inside them.

The project's ``default`` group is not created: the target project has its
own, which gains the source's rules unless other applications' ports are in
it (then the import makes a group of its own for them; see the importer's
security_group).
"""

from downpour.resources.base import Record, ResourceType, owned

RULE_KEYS = ('direction', 'ethertype', 'protocol', 'port_range_min',
             'port_range_max', 'remote_ip_prefix', 'description')


class SecurityGroup(ResourceType):
    type = 'security_group'

    @staticmethod
    def detail(item, blob_size):
        return '%d rules' % len(item.get('rules') or [])

    @classmethod
    def list(cls, conn):
        return conn.network.security_groups(
            project_id=conn.current_project_id)

    @classmethod
    def query_list(cls, conn, filters):
        # Unlike the export's list, not asked by project (as the query
        # always listed them): query_restriction keeps the project's own.
        return conn.network.security_groups()

    @classmethod
    def query_restriction(cls, conn, filters):
        return owned(conn)

    @classmethod
    def used_by(cls, context):
        # By the selected servers' ports: the compute API names a server's
        # groups by name only, and names repeat.
        servers = {s.id for s in context.selected}
        used = {group for port in context.ports() if port.device_id in servers
                for group in port.security_group_ids or []}
        return lambda group: group.id in used

    @classmethod
    def build(cls, exporter, obj, entry=None):
        is_default = obj.name == 'default'
        record = Record(type=cls.type, old_id=obj.id, name=obj.name or '',
                        params={'description': obj.description or '',
                                'tags': list(obj.tags or [])},
                        info={'is_default': is_default})
        exporter.add(record)
        groups = cls.by_id(exporter)
        rules = []
        for rule in sorted(obj.security_group_rules or [],
                           key=_rule_order):
            item = {key: rule.get(key) for key in RULE_KEYS}
            item['description'] = item['description'] or ''
            if rule.get('remote_address_group_id'):
                # Without its address group the rule would be open to
                # every address: left out rather than widened.
                exporter.warn('%s: rule %s is limited to address group %s, '
                              'which downpour does not carry; rule left out '
                              '(add it again in the target)'
                              % (exporter.describe(record), rule.get('id'),
                                 rule['remote_address_group_id']))
                continue
            remote = rule.get('remote_group_id')
            if remote == obj.id:
                item['remote_group'] = record
            elif remote:
                other = groups.get(remote)
                if other is None:
                    # A group of another project: the rule cannot follow.
                    exporter.warn('%s: rule refers to security group %s, '
                                  'which is not visible; rule skipped'
                                  % (exporter.describe(record), remote))
                    continue
                item['remote_group'] = exporter.record(cls, other)
            rules.append(item)
        record.refs['rules'] = rules
        return record


def _rule_order(rule):
    return tuple(str(rule.get(key) or '') for key in
                 ('direction', 'ethertype', 'protocol', 'port_range_min',
                  'port_range_max', 'remote_ip_prefix', 'remote_group_id',
                  'id'))

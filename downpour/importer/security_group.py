"""Security groups and their rules."""

import functools

from .kind import (
    ImportFailed,
    Kind,
    describe,
    differs,
    neutron_update,
    tag_change,
    tag_new,
)

# Neutron stores "any address" either way; a rule is the same rule.
_ANY = {'0.0.0.0/0': None, '::/0': None}
_RULE_KEYS = ('direction', 'ethertype', 'protocol', 'port_range_min',
              'port_range_max', 'remote_ip_prefix')
def rule_key(rule):
    key = tuple(rule.get(name) for name in _RULE_KEYS)
    prefix = key[-1]
    return key[:-1] + (_ANY.get(prefix, prefix),
                       rule.get('remote_group_id') or None)


class SecurityGroups(Kind):
    """Groups first, then the rules of each once the groups its rules name
    are there: a rule may name another group, two groups each other.  A
    group this import made ends with exactly the exported rules; the
    project's ``default`` group and an adopted group only gain them."""

    lists = ('security_groups',)

    @staticmethod
    def fetch(conn):
        return conn.network.security_groups(
            project_id=conn.current_project_id)

    def __init__(self, importer):
        super().__init__(importer)
        # The group each item became, by item ID: (group, ours).
        self._rules_of = {}

    def cost(self, item, made, cost, blob_size):
        # The project's default group is never made, only gains rules.
        if made and not item.get('default'):
            cost['security_groups'] += 1
        cost['security_group_rules'] += self._rules_to_add(item)

    def _rules_to_add(self, item):
        """All the rules of a group to be made; the missing ones of a
        group the target has (the project's default group, one adopted,
        or the import's own)."""
        wanted = item.get('rules') or []
        group = self.imp.target(item['id'])
        if group is None:
            return len(wanted)
        have = {rule_key(rule) for rule in group.security_group_rules or []}
        count = 0
        for rule in wanted:
            rule = {key: value for key, value in rule.items()
                    if value is not None}
            remote = rule.pop('remote_group', None)
            if remote is not None:
                rule['remote_group_id'] = self.imp.ids.get(remote)
            if rule.get('remote_group_id', True) is None or \
                    rule_key(rule) not in have:
                count += 1
        return count

    def proof(self, item, obj):
        # Taken only with exactly the exported rules: adopted, a group is
        # never changed, and ports of the import rely on what it lets in.
        wanted = self._wanted(item, lambda remote: obj.id
                              if remote == item['id']
                              else self.imp.ids.get(remote))
        if wanted is None:
            return 'a rule of it names a group yet to be made'
        want = {rule_key(rule) for rule in wanted}
        have = {rule_key(rule) for rule in obj.security_group_rules or []}
        if want != have:
            return 'its rules are not the exported ones (%d missing, %d ' \
                'more)' % (len(want - have), len(have - want))
        return None

    def corrections(self, item, obj):
        return dict(differs(obj, {'name': item['name'],
                                   'description': item['description']}),
                    **tag_change(item, obj))

    def correct(self, item, obj, change):
        neutron_update(self, obj, change,
                        self.conn.network.update_security_group)

    def create(self, item):
        return tag_new(self, item, self.conn.network.create_security_group(
            name=item['name'], description=item['description']))

    def complete(self, item, obj, ours):
        # Its rules come later: one may name a group yet to be made.
        self._rules_of[item['id']] = (obj, ours)

    def role(self, item, listing):
        if not item.get('default'):
            return None
        # The project's one default group: Neutron makes it with the
        # project, the import never does.
        groups = [g for g in listing if g.name == 'default']
        if len(groups) != 1:
            raise ImportFailed('%s: the target project has %d default '
                               'security groups' % (describe(item),
                                                    len(groups)))
        return groups[0]

    def steps(self, item):
        remote = [rule['remote_group'] for rule in item.get('rules') or []
                  if rule.get('remote_group')]
        # In check mode, or once the group (and those its rules name) has
        # been made or found.
        return ((item['id'] + '/rules', [item['id']] + remote,
                 functools.partial(self._rules_now, item)),)

    def _rules_now(self, item):
        if item['id'] in self._rules_of:  # else check mode: yet to be made
            self._rules(item, *self._rules_of[item['id']])

    @staticmethod
    def _wanted(item, group_id):
        """The exported rules as Neutron takes them, each group they name
        by its target ID (``group_id``); None while one is yet to come."""
        wanted = []
        for rule in item.get('rules') or []:
            rule = {key: value for key, value in rule.items()
                    if value is not None}
            remote = rule.pop('remote_group', None)
            if remote is not None:
                rule['remote_group_id'] = group_id(remote)
                if rule['remote_group_id'] is None:
                    return None
            wanted.append(rule)
        return wanted

    def _rules(self, item, group, ours):
        wanted = self._wanted(item, lambda remote: self.resolve(
            item, remote, 'rule\'s remote security group'))
        if wanted is None:
            return  # check mode: a group it names is to come
        if group is None:
            return  # check mode: the group itself is to come
        have = {rule_key(rule): rule
                for rule in group.security_group_rules or []}
        missing = [rule for rule in wanted if rule_key(rule) not in have]
        keep = {rule_key(rule) for rule in wanted}
        # Rules leave only a group this import made: another's group
        # keeps every rule it had, whatever the export says.
        extra = [rule for key, rule in have.items()
                 if key not in keep] if ours else []
        if not missing and not extra:
            return
        if self.imp.wait(item):
            return
        for rule in extra:
            self.conn.network.delete_security_group_rule(rule['id'])
        if missing:
            # One bulk POST for the group's rules.
            list(self.conn.network.create_security_group_rules([
                dict(rule, security_group_id=group.id) for rule in missing]))
        self.imp.changed = True

"""Security groups and their rules."""

import functools

from .kind import (
    CREATED,
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


def stand_in_name(item):
    """The name of the group made in place of the source's default one:
    Neutron keeps ``default`` for the project's own, and a person who
    finds it should see where it came from."""
    return 'default-%s-downpour' % item['id'][:8]


class SecurityGroups(Kind):
    """Groups first, then the rules of each once the groups its rules name
    are there: a rule may name another group, two groups each other.  A
    group this import made ends with exactly the exported rules; an
    adopted group never changes.

    The source's ``default`` group becomes the target project's own when
    that one already has its rules, or when no port the import did not
    make is in it (then it gains the missing rules), or when the playbook
    says ``widen_default_group``.  Otherwise, in a project whose default
    group other applications' ports rely on, a group of the import's own
    (``stand_in_name``) takes its rules and its place on the imported
    ports, and the project's group is left as it was."""

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
        # The project's default group, when taken, is never made.
        if made:
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

    def target_name(self, item):
        # Only a default group that is not the project's is ever made or
        # corrected: its stand-in.
        if item.get('default'):
            return stand_in_name(item)
        return item['name']

    def corrections(self, item, obj):
        return dict(differs(obj, {'name': self.target_name(item),
                                   'description': item['description']}),
                    **tag_change(item, obj))

    def correct(self, item, obj, change):
        neutron_update(self, obj, change,
                        self.conn.network.update_security_group)

    def create(self, item):
        return tag_new(self, item, self.conn.network.create_security_group(
            name=self.target_name(item), description=item['description']))

    def complete(self, item, obj, ours):
        # Its rules come later: one may name a group yet to be made.
        self._rules_of[item['id']] = (obj, ours)

    def role(self, item, listing):
        if not item.get('default'):
            return None
        recorded = self.imp.journal.recall(item)
        if recorded and recorded[1] == CREATED:
            return None  # a stand-in was made for it: kept
        # The project's one default group: Neutron makes it with the
        # project, the import never does.
        groups = [g for g in listing if g.name == 'default']
        if len(groups) != 1:
            raise ImportFailed('%s: the target project has %d default '
                               'security groups' % (describe(item),
                                                    len(groups)))
        default = groups[0]
        if self.imp.widen_default_group or \
                not self._missing(item, default) or \
                not self._others_in(default):
            return default
        return None  # a stand-in is made, as any group

    def _missing(self, item, group):
        """The exported rules ``group`` lacks, were it the item's; a rule
        naming a group yet to be made counts as lacking."""
        have = {rule_key(rule) for rule in group.security_group_rules or []}
        missing = 0
        for rule in item.get('rules') or []:
            wanted = self._wanted(
                {'rules': [rule]}, lambda remote: group.id
                if remote == item['id'] else self.imp.ids.get(remote))
            if wanted is None or rule_key(wanted[0]) not in have:
                missing += 1
        return missing

    def _others_in(self, group):
        """The ports in ``group`` that this import did not make (a
        network's own ports, DHCP's and a router's, are in none)."""
        owned = self.imp.journal.owned_ids()
        return [port.id for port in self.imp.listed('ports')
                if group.id in (port.security_group_ids or [])
                and port.id not in owned
                and not (port.device_owner or '').startswith('network:')]

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

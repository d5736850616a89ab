"""L7 policies and their rules: a policy on its listener, its rules inside
its item (as a security group's are), made with it and kept exactly the
exported ones on a policy of the import's own."""

from .kind import ImportFailed, describe
from .octavia import OctaviaKind, call, listing, project_listing

RULE_FIELDS = ('type', 'compare_type', 'key', 'value', 'invert')


def rule_key(rule):
    return (rule.get('type'), rule.get('compare_type'), rule.get('key') or
            None, rule.get('value'), bool(rule.get('invert')))


class L7Policies(OctaviaKind):
    """The position is asked for when a policy is made, never corrected:
    Octavia renumbers a listener's policies (1, 2 ... whatever positions
    were asked), so one asked for again would move on every run.  The
    policies of a listener are made in the order of their positions
    (``needs``), each at its own, so that they end in the source's
    order."""

    lists = ('lb_l7_policies',)
    fetch = project_listing('/lbaas/l7policies', 'l7policies')
    path = '/lbaas/l7policies'
    key = 'l7policy'
    parent = 'listener'

    @staticmethod
    def parent_ids(obj):
        return [obj.get('listener_id')]

    def lb_key(self, item):
        listener = self.imp.item(item['listener'])
        if listener is None:
            raise ImportFailed('%s: its listener (source ID %s) is not in '
                               'the playbook' % (describe(item),
                                                 item['listener']))
        return listener['load_balancer']

    def scope(self, item, listing_):
        listener = self.imp.ids.get(item['listener'])
        return [p for p in listing_ if p.get('listener_id') == listener]

    def cost(self, item, made, cost, blob_size):
        if made:
            cost['octavia_l7rule'] += len(item.get('rules') or [])

    def needs(self, item):
        before = [other['id'] for other in self.imp.items_of(item['type'])
                  if other['listener'] == item['listener']
                  and (other.get('position') or 0) <
                  (item.get('position') or 0)]
        return super().needs(item) + tuple(before)

    def body(self, item):
        body = super().body(item)
        body.pop('rules', None)
        body['listener_id'] = self.resolve(item, item['listener'],
                                           'listener')
        if item.get('redirect_pool'):
            body['redirect_pool_id'] = self.resolve(
                item, item['redirect_pool'], 'redirect pool')
        # Its rules come after, one change each (``complete``): Octavia
        # (19.0.0, the local clouds') answers 500 to a policy posted with
        # its rules.
        return body

    @staticmethod
    def _rule_body(rule):
        return {key: value for key, value in rule.items()
                if value is not None}

    def corrections(self, item, obj):
        change = super().corrections(item, obj)
        change.pop('rules', None)
        change.pop('position', None)
        pool = self.imp.ids.get(item['redirect_pool']) \
            if item.get('redirect_pool') else None
        if pool and obj.get('redirect_pool_id') != pool:
            change['redirect_pool_id'] = pool
        return change

    def complete(self, item, obj, ours):
        """Exactly the exported rules on a policy of ours: the missing
        made, those it has beyond them deleted, their tags put back; on
        another's, only the missing made."""
        if obj is None:
            return
        lb_id = self.imp.ids.get(self.lb_key(item))
        rules_path = '/lbaas/l7policies/%s/rules' % obj.id
        have, extra = {}, []
        for rule in listing(self.conn, rules_path, 'rules', describe(item)):
            if rule_key(rule) in have:
                extra.append(rule)  # the same rule twice
            else:
                have[rule_key(rule)] = rule
        wanted = {rule_key(rule): rule for rule in item.get('rules') or []}
        extra += [rule for key, rule in have.items() if key not in wanted]
        work = []
        for key, rule in wanted.items():
            found = have.get(key)
            if found is None:
                work.append(('POST', rules_path,
                             {'rule': self._rule_body(rule)}))
            elif rule.get('tags') is not None and \
                    set(rule['tags']) != set(found.get('tags') or []):
                work.append(('PUT', '%s/%s' % (rules_path, found['id']),
                             {'rule': {'tags': list(rule['tags'])}}))
        if ours:
            work += [('DELETE', '%s/%s' % (rules_path, rule['id']), None)
                     for rule in extra]
        if not work or self.imp.wait(item):
            return
        for method, path, body in work:
            self.change(item, lb_id, lambda m=method, p=path, b=body: call(
                self.conn, m, p, describe(item), b))
        self.imp.changed = True

"""L7 policies of a listener, with their rules inside them (as a security
group's rules are)."""

from downpour.importer.octavia import listing
from downpour.resources.base import Record, ResourceType, checked_uuid
from downpour.resources.octavia import fields, project_list, state
from downpour.resources.pool import Pool

CARRIED = ('action', 'position', 'redirect_url', 'redirect_prefix',
           'redirect_http_code')
RULE_FIELDS = ('type', 'compare_type', 'key', 'value', 'invert')


class L7Policy(ResourceType):
    type = 'l7_policy'
    list = project_list('/lbaas/l7policies', 'l7policies')

    @staticmethod
    def detail(item, blob_size):
        return '%s, %d rules' % (item.get('action') or '',
                                 len(item.get('rules') or []))

    @classmethod
    def build(cls, exporter, obj, entry=None, listener=None):
        checked_uuid(obj.id, 'L7 policy %r' % obj.name)
        rules = exporter.inventory.get(
            'l7_rule:%s' % obj.id, lambda conn: listing(
                conn, '/lbaas/l7policies/%s/rules' % obj.id, 'rules',
                'the source'))
        params = dict(fields(obj, CARRIED), **state(obj),
                      description=obj.description or '',
                      rules=[dict({key: rule.get(key)
                                   for key in RULE_FIELDS},
                                  invert=bool(rule.get('invert')),
                                  tags=sorted(str(t) for t in
                                              rule.get('tags') or []))
                             for rule in sorted(rules, key=_rule_order)])
        record = Record(type=cls.type, old_id=obj.id, name=obj.name or '',
                        params=params)
        exporter.add(record)
        record.refs['listener'] = listener
        if obj.redirect_pool_id:
            pool = Pool.by_id(exporter).get(obj.redirect_pool_id)
            if pool is not None:
                record.refs['redirect_pool'] = exporter.record(Pool, pool)
        return record


def _rule_order(rule):
    return tuple(str(rule.get(key) or '') for key in RULE_FIELDS + ('id',))

"""Health monitors: one on a pool, made once the pool is there."""

from .kind import ImportFailed, describe
from .octavia import Obj, OctaviaKind, call, project_listing


class HealthMonitors(OctaviaKind):
    """Its type is fixed once made; the rest is corrected on one of the
    import's own."""

    lists = ('lb_health_monitors',)
    fetch = project_listing('/lbaas/healthmonitors', 'healthmonitors')
    path = '/lbaas/healthmonitors'
    key = 'healthmonitor'
    parent = 'pool'

    @staticmethod
    def parent_ids(obj):
        return [ref.get('id') for ref in obj.get('pools') or []]

    def lb_key(self, item):
        pool = self.imp.item(item['pool'])
        if pool is None:
            raise ImportFailed('%s: its pool (source ID %s) is not in the '
                               'playbook' % (describe(item), item['pool']))
        return pool['load_balancer']

    def scope(self, item, listing):
        pool = self.imp.ids.get(item['pool'])
        return [m for m in listing
                if pool in [p.get('id') for p in m.get('pools') or []]]

    def left_over(self, item):
        pool_id = self.resolve(item, item['pool'], 'pool')
        pool = call(self.conn, 'GET', '/lbaas/pools/%s' % pool_id,
                    describe(item))['pool']
        monitor = pool.get('healthmonitor_id')
        if not monitor or monitor in self.imp.journal.owned_ids():
            return None
        return Obj(call(self.conn, 'GET', self.object_path(item, Obj(
            id=monitor)), describe(item))[self.key])

    def body(self, item):
        body = super().body(item)
        body['type'] = body.pop('monitor_type')
        body['pool_id'] = self.resolve(item, item['pool'], 'pool')
        return body

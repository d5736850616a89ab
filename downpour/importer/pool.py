"""Pools: made on their load balancer (not on a listener, which refers to
its default pool), before the listeners and L7 policies that use them."""

from .octavia import OctaviaKind, project_listing


class Pools(OctaviaKind):
    """Protocol is fixed once made; algorithm, session persistence, TLS to
    the members, names and tags are corrected on a pool of the import's
    own."""

    lists = ('lb_pools',)
    fetch = project_listing('/lbaas/pools', 'pools')
    path = '/lbaas/pools'
    key = 'pool'
    parent = 'load_balancer'

    @staticmethod
    def parent_ids(obj):
        return [ref.get('id') for ref in obj.get('loadbalancers') or []]

    def lb_key(self, item):
        return item['load_balancer']

    def body(self, item):
        body = super().body(item)
        body['loadbalancer_id'] = self.target_lb(item)
        return body

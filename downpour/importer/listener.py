"""Listeners: made on their load balancer, with their default pool (made
before them, on the load balancer: no reference cycle)."""

from .kind import describe
from .octavia import OnLoadBalancer, listing, project_listing


class Listeners(OnLoadBalancer):
    """Protocol and port are fixed once made; the rest of what is carried
    is corrected on a listener of the import's own."""

    lists = ('lb_listeners',)
    fetch = project_listing('/lbaas/listeners', 'listeners')
    path = '/lbaas/listeners'
    key = 'listener'
    tls = (('default_tls_container', 'default_tls_container_ref'),
           ('sni_containers', 'sni_container_refs'),
           ('client_ca_tls_container', 'client_ca_tls_container_ref'),
           ('client_crl_container', 'client_crl_container_ref'))

    def left_over(self, item):
        owned = self.imp.journal.owned_ids()
        return next((listener for listener in listing(
            self.conn, self.path, 'listeners', describe(item),
            loadbalancer_id=self.target_lb(item))
            if listener.id not in owned
            and listener.get('protocol_port') == item.get('protocol_port')),
            None)

    def body(self, item):
        body = super().body(item)
        if item.get('default_pool'):
            body['default_pool_id'] = self.resolve(
                item, item['default_pool'], 'default pool')
        return body

    def corrections(self, item, obj):
        change = super().corrections(item, obj)
        pool = self.imp.ids.get(item['default_pool']) \
            if item.get('default_pool') else None
        if pool and obj.get('default_pool_id') != pool:
            change['default_pool_id'] = pool
        return change

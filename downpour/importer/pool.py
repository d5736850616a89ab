"""Pools: made on their load balancer (not on a listener, which refers to
its default pool), before the listeners and L7 policies that use them."""

from .octavia import OnLoadBalancer, project_listing


class Pools(OnLoadBalancer):
    """Protocol is fixed once made; algorithm, session persistence, TLS to
    the members, names and tags are corrected on a pool of the import's
    own."""

    lists = ('lb_pools',)
    fetch = project_listing('/lbaas/pools', 'pools')
    path = '/lbaas/pools'
    key = 'pool'
    tls = (('tls_container', 'tls_container_ref'),
           ('ca_tls_container', 'ca_tls_container_ref'),
           ('crl_container', 'crl_container_ref'))

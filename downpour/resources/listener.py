"""Listeners of a load balancer, with their default pool and L7
policies."""

from downpour.importer.listener import Listeners
from downpour.resources.base import Record, ResourceType, checked_uuid
from downpour.resources.l7_policy import L7Policy
from downpour.resources.octavia import (
    certificates,
    fields,
    project_list,
    state,
)
from downpour.resources.pool import Pool

CARRIED = ('protocol', 'protocol_port', 'connection_limit',
           'timeout_client_data', 'timeout_member_connect',
           'timeout_member_data', 'timeout_tcp_inspect', 'allowed_cidrs',
           'insert_headers')
# Meaningful only on a listener that ends TLS (Octavia fills its defaults
# in everywhere).
TLS_SETTINGS = ('tls_versions', 'tls_ciphers', 'alpn_protocols',
                'client_authentication', 'hsts_max_age',
                'hsts_include_subdomains', 'hsts_preload')
TLS_PROTOCOL = 'TERMINATED_HTTPS'


class Listener(ResourceType):
    type = 'listener'
    list = project_list('/lbaas/listeners', 'listeners')

    @staticmethod
    def detail(item, blob_size):
        return '%s %s' % (item.get('protocol') or '',
                          item.get('protocol_port') or '')

    @classmethod
    def build(cls, exporter, obj, entry=None):
        checked_uuid(obj.id, 'listener %r' % obj.name)
        params = dict(fields(obj, CARRIED),
                      description=obj.description or '',
                      **state(obj))
        if obj.protocol == TLS_PROTOCOL:
            params.update(fields(obj, TLS_SETTINGS))
        record = Record(type=cls.type, old_id=obj.id, name=obj.name or '',
                        params=params)
        exporter.add(record)
        certificates(exporter, record, obj, Listeners.tls)
        record.refs['load_balancer'] = exporter.find('load_balancer',
                                                     obj.loadbalancers[0]['id'])
        if obj.default_pool_id:
            pool = Pool.by_id(exporter).get(obj.default_pool_id)
            if pool is not None:
                record.refs['default_pool'] = exporter.record(Pool, pool)
        for policy in L7Policy.all(exporter):
            if policy.listener_id == obj.id:
                exporter.record(L7Policy, policy, listener=record)
        return record

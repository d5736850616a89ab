"""Pools of a load balancer, with their members and health monitor."""

from downpour.importer.pool import Pools
from downpour.resources.base import Record, ResourceType, checked_uuid
from downpour.resources.health_monitor import HealthMonitor
from downpour.resources.member import Member
from downpour.resources.octavia import (
    certificates,
    fields,
    ids,
    project_list,
    state,
)

# Its TLS settings, meaningful only with TLS to the members on (Octavia
# fills its defaults in everywhere).
TLS_SETTINGS = ('tls_versions', 'tls_ciphers', 'alpn_protocols')


class Pool(ResourceType):
    type = 'pool'
    list = project_list('/lbaas/pools', 'pools')

    @staticmethod
    def detail(item, blob_size):
        return '%s %s' % (item.get('protocol') or '',
                          item.get('lb_algorithm') or '')

    @classmethod
    def build(cls, exporter, obj, entry=None):
        checked_uuid(obj.id, 'pool %r' % obj.name)
        params = dict(state(obj), description=obj.description or '',
                      tls_enabled=bool(obj.tls_enabled))
        params.update(fields(obj, ('protocol', 'lb_algorithm')))
        if obj.session_persistence:
            params['session_persistence'] = {
                key: value for key, value in obj.session_persistence.items()
                if value is not None}
        if obj.tls_enabled:
            params.update(fields(obj, TLS_SETTINGS))
        record = Record(type=cls.type, old_id=obj.id, name=obj.name or '',
                        params=params)
        exporter.add(record)
        certificates(exporter, record, obj, Pools.tls)
        record.refs['load_balancer'] = next(
            exporter.find('load_balancer', lb_id)
            for lb_id in ids(obj.loadbalancers))
        for member in Member.of_pool(exporter, obj):
            exporter.record(Member, member, pool=record)
        monitor = HealthMonitor.by_id(exporter).get(obj.healthmonitor_id)
        if monitor is not None:
            exporter.record(HealthMonitor, monitor, pool=record)
        return record

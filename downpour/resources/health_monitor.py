"""A pool's health monitor."""

from downpour.resources.base import Record, ResourceType, checked_uuid
from downpour.resources.octavia import fields, project_list, state

CARRIED = ('delay', 'timeout', 'max_retries', 'max_retries_down',
           'http_method', 'url_path', 'expected_codes', 'domain_name',
           'http_version')


class HealthMonitor(ResourceType):
    type = 'health_monitor'
    list = project_list('/lbaas/healthmonitors', 'healthmonitors')

    @staticmethod
    def detail(item, blob_size):
        return str(item.get('monitor_type') or '')

    @classmethod
    def build(cls, exporter, obj, entry=None, pool=None):
        checked_uuid(obj.id, 'health monitor %r' % obj.name)
        params = dict(fields(obj, CARRIED), monitor_type=obj.type,
                      **state(obj))
        record = Record(type=cls.type, old_id=obj.id, name=obj.name or '',
                        params=params)
        exporter.add(record)
        record.refs['pool'] = pool
        return record

"""Availability zones: never created (a tenant cannot); the playbook's look
picks the target's zone for each, like flavors.

A zone is only a name, and may hold anything: the playbook refers to each
by the variable downpour chose for it.
"""

from downpour.resources.base import Record, ResourceType


class AvailabilityZone(ResourceType):
    """A zone of Nova (a server's) or of Cinder (a volume's): two services,
    two lists of zones, which may share names but not meaning."""

    type = 'availability_zone'
    SERVICES = ('compute', 'volume')

    @staticmethod
    def item_id(record):
        return record.var

    @classmethod
    def of(cls, exporter, service, name):
        """The record of zone ``name`` of ``service``; None without one."""
        if service not in cls.SERVICES:
            raise ValueError('unknown service %r' % (service,))
        if not name or not isinstance(name, str):
            return None
        key = '%s:%s' % (service, name)
        existing = exporter.find(cls.type, key)
        if existing is not None:
            return existing
        record = Record(type=cls.type, old_id=key, name=name,
                        params={'service': service})
        exporter.add(record)
        return record

"""Octavia's availability zones: never created; the playbook's look picks
the target's zone for each, like a volume's zone.  A zone is its name,
and Octavia's zones are not Nova's or Cinder's."""

from downpour.resources.base import Record, ResourceType


class LoadBalancerAvailabilityZone(ResourceType):
    type = 'load_balancer_availability_zone'

    @staticmethod
    def item_id(record):
        return record.var

    @classmethod
    def of(cls, exporter, name):
        """The record of zone ``name``; None without one."""
        if not name or not isinstance(name, str):
            return None
        existing = exporter.find(cls.type, name)
        if existing is not None:
            return existing
        record = Record(type=cls.type, old_id=name, name=name)
        exporter.add(record)
        return record

"""Volume types: never created (a tenant cannot); the playbook's look picks
the target's type for each, like flavors.

A volume shows its type by name, and a type's ID means nothing in another
cloud: the name is the key, and the playbook refers to each by the
variable downpour chose for it.
"""

from downpour.resources.base import Record, ResourceType


class VolumeType(ResourceType):
    type = 'volume_type'

    @staticmethod
    def item_id(record):
        # A name may hold anything: never inside an expression.
        return record.var

    @classmethod
    def for_volume(cls, exporter, volume):
        """The record of ``volume``'s type, shared by every volume of that
        type; None for a volume without one."""
        name = volume.volume_type
        if not name or not isinstance(name, str):
            return None
        existing = exporter.find(cls.type, name)
        if existing is not None:
            return existing
        record = Record(type=cls.type, old_id=name, name=name)
        exporter.add(record)
        return record

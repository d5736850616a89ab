"""Swift storage policies: never created (the operator's); the playbook's
look picks the target's for each container, like volume types.

A container shows its policy by name, the only name the other cloud can
match: the name is the record's ID, and the playbook refers to it by the
variable downpour chose.
"""

from downpour.resources.base import Record, ResourceType


class SwiftPolicy(ResourceType):
    type = 'swift_policy'
    optional_service = 'object-store'

    @staticmethod
    def item_id(record):
        # A name may hold anything: never inside an expression.
        return record.var

    @classmethod
    def for_container(cls, exporter, name):
        """The record of policy ``name``, shared by its containers; None
        when the source does not say."""
        if not name or not isinstance(name, str):
            return None
        existing = exporter.find(cls.type, name)
        if existing is not None:
            return existing
        record = Record(type=cls.type, old_id=name, name=name)
        exporter.add(record)
        return record

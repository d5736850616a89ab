"""Swift storage policies: never created (the operator's); the playbook's
look picks the target's for each container, like volume types.

A container shows its policy by name, the only name the other cloud can
match: the name is the record's ID, and the playbook refers to it by the
variable downpour chose.
"""

from downpour.resources.base import ChosenByName


class SwiftPolicy(ChosenByName):
    type = 'swift_policy'
    optional_service = 'object-store'

    @classmethod
    def for_container(cls, exporter, name):
        """The record of policy ``name``, shared by its containers; None
        when the source does not say."""
        return cls.named(exporter, name)

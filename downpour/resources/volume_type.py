"""Volume types: never created (a tenant cannot); the playbook's look picks
the target's type for each, like flavors.

A volume shows its type by name, and a type's ID means nothing in another
cloud: the name is the key, and the playbook refers to each by the
variable downpour chose for it.
"""

from downpour.resources.base import ChosenByName


class VolumeType(ChosenByName):
    type = 'volume_type'

    @classmethod
    def for_volume(cls, exporter, volume):
        """The record of ``volume``'s type, shared by every volume of that
        type; None for a volume without one."""
        return cls.named(exporter, volume.volume_type)

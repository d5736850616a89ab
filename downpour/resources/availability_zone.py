"""Availability zones: never created (a tenant cannot); the playbook's look
picks the target's zone for each, like flavors.

A zone is only a name, and may hold anything: the playbook refers to each
by the variable downpour chose for it.
"""

from downpour.resources.base import ChosenByName


class AvailabilityZone(ChosenByName):
    """A zone of Nova (a server's) or of Cinder (a volume's): two services,
    two lists of zones, which may share names but not meaning."""

    type = 'availability_zone'
    SERVICES = ('compute', 'volume')

    @classmethod
    def of(cls, exporter, service, name):
        """The record of zone ``name`` of ``service``; None without one."""
        if service not in cls.SERVICES:
            raise ValueError('unknown service %r' % (service,))
        return cls.named(exporter, name, key='%s:%s' % (service, name),
                         service=service)

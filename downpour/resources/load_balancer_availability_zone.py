"""Octavia's availability zones: never created; the playbook's look picks
the target's zone for each, like a volume's zone.  A zone is its name,
and Octavia's zones are not Nova's or Cinder's."""

from downpour.resources.base import ChosenByName


class LoadBalancerAvailabilityZone(ChosenByName):
    type = 'load_balancer_availability_zone'

    @classmethod
    def of(cls, exporter, name):
        """The record of zone ``name``; None without one."""
        return cls.named(exporter, name)

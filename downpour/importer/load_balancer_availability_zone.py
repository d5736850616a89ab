"""Octavia's availability zones: never created, chosen (map, same name,
else the target's default)."""

from .kind import Defaulted
from .octavia import listing


class LoadBalancerAvailabilityZones(Defaulted):
    """A load balancer's zone: the enabled zones of the target's Octavia;
    a zone is its name.  Octavia's zones are not Nova's nor Cinder's
    (availability_zone): chosen apart."""

    def __init__(self, importer):
        super().__init__(importer)
        self._have = None

    def label(self, item):
        return 'load balancer availability zone'

    def candidates(self, item):
        if self._have is None:
            self._have = {
                zone.name: zone for zone in listing(
                    self.conn, '/lbaas/availabilityzones',
                    'availability_zones')
                if zone.get('enabled', True)}
        return self._have

    def chosen_id(self, obj):
        return obj.name

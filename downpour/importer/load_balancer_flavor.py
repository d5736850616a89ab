"""Octavia's flavors: never created (an operator's), chosen (map, same
name, else the target's default)."""

from .kind import Defaulted
from .octavia import listing


class LoadBalancerFlavors(Defaulted):
    """A load balancer's flavor: the enabled flavors of the target's
    Octavia, by name.  A flavor's meaning (its profile) is the provider's
    and is not carried: only its name is."""

    def __init__(self, importer):
        super().__init__(importer)
        self._have = None

    def label(self, item):
        return 'load balancer flavor'

    def candidates(self, item):
        if self._have is None:
            self._have = {
                flavor.name: flavor for flavor in listing(
                    self.conn, '/lbaas/flavors', 'flavors')
                if flavor.get('enabled', True)}
        return self._have

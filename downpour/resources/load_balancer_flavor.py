"""Octavia's flavors: never created (an operator's); the playbook's look
picks the target's flavor for each, like a volume type.

A load balancer names its flavor by ID, which means nothing in another
cloud: the name is the key, and the playbook refers to each by the
variable downpour chose for it.  What a flavor does (its profile, its
provider's settings) is not carried.
"""

from downpour.importer.octavia import listing
from downpour.resources.base import ChosenByName


class LoadBalancerFlavor(ChosenByName):
    type = 'load_balancer_flavor'

    @classmethod
    def list(cls, conn):
        return listing(conn, '/lbaas/flavors', 'flavors', 'the source')

    @classmethod
    def of(cls, exporter, flavor_id, what):
        """The record of the flavor ``flavor_id``; None when the load
        balancer has none, or one the project cannot see (then the
        target's default, said in a warning)."""
        if not flavor_id:
            return None
        flavor = cls.by_id(exporter).get(flavor_id)
        if flavor is None or not isinstance(flavor.name, str):
            exporter.warn('%s: its Octavia flavor %s is not visible; the '
                          "target's default flavor is used (lb_flavor_map "
                          'cannot name it)' % (what, flavor_id))
            return None
        return cls.named(exporter, flavor.name)

"""The source's external (and shared) networks: never created, chosen
among the target's."""

from .kind import Chosen


class ExternalNetworks(Chosen):
    """Networks of the source that the tenant uses but does not own; else
    the target's only external network."""

    lists = ('networks',)

    def fallback(self, item, candidates):
        external = [net for net in candidates if net.is_router_external]
        return external if len(external) == 1 else []

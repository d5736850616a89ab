"""The source's external (and shared) networks: never created, chosen
among the target's."""

from .kind import Chosen


class ExternalNetworks(Chosen):
    """Networks of the source that the tenant uses but does not own: one
    with ``router:external`` (a router's gateway, a floating IP's network)
    only among the target's external networks, else its only one; one
    shared with the project only among those shared with it.  Never a
    network of the project's own, whatever its name."""

    lists = ('networks',)

    def scope(self, item, listing):
        project = self.conn.current_project_id
        external = [n for n in listing if n.is_router_external]
        shared = [n for n in listing if n.is_shared
                  and n.project_id != project and not n.is_router_external]
        if item.get('external') is None:
            # Exported by a downpour that did not say which: either kind,
            # never the project's own.
            return external + shared
        return external if item['external'] else shared

    def fallback(self, item, candidates):
        if item.get('external') is False:
            return []
        external = [net for net in candidates if net.is_router_external]
        return external if len(external) == 1 else []

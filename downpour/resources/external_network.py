"""External (and shared) networks: the tenant uses them but does not own
them, so they are never copied; the playbook's look finds the target's."""

from downpour.resources.base import ResourceType


def is_external(conn, network):
    """Provider networks the tenant uses but does not own are not copied."""
    if network.is_router_external:
        return True
    return bool(network.is_shared) and (
        network.project_id != conn.current_project_id)


class ExternalNetwork(ResourceType):
    """A network the target must already have: the playbook's look finds
    it, and the play stops if it cannot."""

    type = 'external_network'

    @staticmethod
    def missing_message(record):
        """What the play says when the target has none to match."""
        kind = 'external' if record.info.get('external') else 'shared'
        return ('network %s: the target has no %s network of that name and '
                'not exactly one external network; add it to network_map'
                % (record.name, kind))

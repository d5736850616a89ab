"""Swift storage policies: never created (the operator's), chosen like
volume types (map, same name, else the target's default)."""

from .kind import Defaulted


def _info_url(conn):
    # /info sits beside /v1, outside the account.
    endpoint = conn.object_store.get_endpoint()
    root = endpoint.split('/v1/', 1)[0] if '/v1/' in endpoint else endpoint
    return root.rstrip('/') + '/info'


def policies(conn):
    """The target's policies, as Swift's /info lists them (a cloud that
    hides /info has only its default, asked for by naming none)."""
    try:
        response = conn.object_store.request(_info_url(conn), 'GET',
                                             raise_exc=False)
        found = response.json().get('swift', {}).get('policies') \
            if response.status_code == 200 else None
    except Exception:  # noqa: BLE001 - a cloud that does not say
        found = None
    return [policy for policy in found or []
            if isinstance(policy, dict) and policy.get('name')]


class Policy:
    def __init__(self, entry):
        self.id = self.name = entry['name']
        self.default = bool(entry.get('default'))


class SwiftPolicies(Defaulted):
    """A container's storage policy, by name: a tenant can only choose
    among the cloud's."""

    lists = ('swift_policies',)

    @staticmethod
    def fetch(conn):
        return [Policy(entry) for entry in policies(conn)]

    def label(self, item):
        return 'storage policy'

    def candidates(self, item):
        return {policy.name: policy for policy in self.listing()}

    def default_name(self, item):
        return next((p.name for p in self.listing() if p.default), None)


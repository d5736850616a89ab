"""Find resources in a cloud and add them to a resource file.

Names are matched against shell-style patterns (``*``, ``?``, ``[seq]``)
with :func:`fnmatch.fnmatchcase`: the pattern must match the whole name,
and case matters.  That is also what openstacksdk's ``search_*`` calls do.
fnmatch2 is not used because it matches a prefix up to a ``/``
(``fnmatch2('a/b', 'a')`` is true), which would select resources the user
did not name.

Each resource type is listed with one API call (plus pagination), never
one call per resource.  A section is only searched when one of its filters
is given.

When a name is shared by several resources of a type, entries are added
with both ``name`` and ``id`` (the id is what export uses; the name is kept
for the reader).
"""

import collections
import dataclasses
import fnmatch
import logging

from downpour import cloud
from downpour.errors import DownpourError
from downpour.resourcefile import SECTIONS, STATEFUL_SECTIONS, Entry

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class Filters:
    """What to look for.  Every list is "any of these"."""

    server_names: list[str] = dataclasses.field(default_factory=list)
    image_names: list[str] = dataclasses.field(default_factory=list)
    volume_names: list[str] = dataclasses.field(default_factory=list)
    keypair_names: list[str] = dataclasses.field(default_factory=list)
    network_names: list[str] = dataclasses.field(default_factory=list)
    security_group_names: list[str] = dataclasses.field(default_factory=list)
    # Floating IPs have no name: their address is matched instead.
    floating_ip_addresses: list[str] = dataclasses.field(
        default_factory=list)
    # Restrict servers (and select servers on their own): flavor name or
    # ID, status (any case).
    server_flavors: list[str] = dataclasses.field(default_factory=list)
    server_statuses: list[str] = dataclasses.field(default_factory=list)
    # Images: also public and community ones, not only the project's own
    # and those shared with it.
    include_public: bool = False
    # For new server and volume entries; None leaves the option out.
    save_state: bool | None = None

    def patterns(self, section):
        """The name patterns for a section, [] when it is not searched."""
        names = getattr(self, _PATTERN_FIELDS[section])
        if section == 'servers' and not names and (
                self.server_flavors or self.server_statuses):
            return ['*']
        return list(names)

    def check(self):
        if not any(self.patterns(section) for section in SECTIONS):
            raise DownpourError('nothing to query: give at least one filter')


_PATTERN_FIELDS = {
    'servers': 'server_names',
    'volumes': 'volume_names',
    'images': 'image_names',
    'keypairs': 'keypair_names',
    'networks': 'network_names',
    'security_groups': 'security_group_names',
    'floating_ips': 'floating_ip_addresses',
}


@dataclasses.dataclass(frozen=True)
class Match:
    """A resource found in the cloud."""

    section: str
    name: str | None
    id: str
    # Another resource of the same type has the same name.
    name_is_shared: bool = False


def run_query(conn, resource_file, filters) -> list[Entry]:
    """Add the resources matching ``filters`` to ``resource_file``.

    Returns the entries added (the caller saves the file).
    """
    return [entry for entry, _match in
            add_matches(resource_file, find(conn, filters), filters)]


def find(conn, filters) -> list[Match]:
    """The resources matching ``filters``, sorted by section, name, id."""
    filters.check()
    matches = []
    for section in SECTIONS:
        patterns = filters.patterns(section)
        if not patterns:
            continue
        with cloud.cloud_errors('listing %s' % section.replace('_', ' '),
                                conn=conn):
            resources = list(_LISTERS[section](conn, filters))
        matches.extend(_select(section, resources, patterns, conn, filters))
    return matches


def add_matches(resource_file, matches, filters):
    """Add an entry for each match the file does not cover yet.

    Returns (entry, match) pairs for what was added.  An existing entry
    covers a match when it has the match's id, or has no id and the same
    name; its options are left as the user wrote them.
    """
    added = []
    for match in matches:
        existing = resource_file.entries(match.section)
        if any(_covers(entry, match) for entry in existing):
            continue
        if match.section == 'floating_ips':
            # An address is one floating IP's: no ID is needed beside it.
            entry = Entry(section=match.section, address=match.name,
                          id=None if match.name else match.id)
        else:
            entry = Entry(
                section=match.section,
                name=match.name or None,
                id=match.id if match.name_is_shared or not match.name
                else None,
                save_state=(filters.save_state
                            if match.section in STATEFUL_SECTIONS else None),
            )
        if resource_file.add(entry):
            added.append((resource_file.entries(match.section)[-1], match))
    return added


def _covers(entry, match):
    if entry.id is not None:
        return entry.id == match.id
    if entry.section == 'floating_ips':
        return entry.address == match.name
    return entry.name == match.name


def matches_any(name, patterns):
    """Whole-name, case-sensitive shell pattern match."""
    return any(fnmatch.fnmatchcase(name or '', pattern)
               for pattern in patterns)


def _select(section, resources, patterns, conn, filters):
    # Names are counted over everything listed, not only what matched:
    # export looks names up among all of them.
    counts = collections.Counter(r.name for r in resources if r.name)
    keep = _RESTRICTIONS.get(section, lambda conn, filters: None)(
        conn, filters)
    selected = []
    for resource in resources:
        if not matches_any(resource.name, patterns):
            continue
        if keep is not None and not keep(resource):
            continue
        selected.append(Match(
            section=section,
            name=resource.name or None,
            id=resource.id,
            name_is_shared=counts[resource.name] > 1 if resource.name
            else False))
    selected.sort(key=lambda m: (m.name or '', m.id))
    return selected


# -- listing: one call per type ---------------------------------------------

def _list_servers(conn, filters):
    return conn.compute.servers(details=True)


def _list_volumes(conn, filters):
    return conn.block_storage.volumes(details=True)


def _list_images(conn, filters):
    if filters.include_public:
        # The default listing leaves community images out.
        return conn.image.images(visibility='all')
    return conn.image.images()


def _list_keypairs(conn, filters):
    return conn.compute.keypairs()


def _list_networks(conn, filters):
    return conn.network.networks()


def _list_security_groups(conn, filters):
    return conn.network.security_groups()


def _list_floating_ips(conn, filters):
    # openstacksdk names a floating IP by its address.
    return conn.network.ips(project_id=conn.current_project_id)


_LISTERS = {
    'servers': _list_servers,
    'volumes': _list_volumes,
    'images': _list_images,
    'keypairs': _list_keypairs,
    'networks': _list_networks,
    'security_groups': _list_security_groups,
    'floating_ips': _list_floating_ips,
}


# -- restrictions beyond the name ---------------------------------------------

def _server_restriction(conn, filters):
    if not (filters.server_flavors or filters.server_statuses):
        return None
    statuses = {s.upper() for s in filters.server_statuses}
    wanted = set(filters.server_flavors)
    flavor_names = set()
    if wanted:
        # Servers carry their flavor's name (compute API 2.47 and later) or
        # its ID (earlier): list the flavors once to map one to the other.
        known = set()
        with cloud.cloud_errors('listing flavors', conn=conn):
            for flavor in conn.compute.flavors():
                asked = {flavor.id, flavor.name} & set(filters.server_flavors)
                if asked:
                    known |= asked
                    flavor_names.add(flavor.name)
                    wanted.add(flavor.id)
        for flavor in filters.server_flavors:
            if flavor not in known:
                LOG.warning('no flavor is named or has the ID %r', flavor)

    def keep(server):
        if statuses and (server.status or '').upper() not in statuses:
            return False
        if filters.server_flavors:
            flavor = server.flavor
            name = getattr(flavor, 'name', None) or getattr(
                flavor, 'original_name', None)
            flavor_id = getattr(flavor, 'id', None)
            if not (name in flavor_names or name in wanted
                    or (flavor_id and flavor_id in wanted)):
                return False
        return True
    return keep


def _owned(conn):
    project_id = conn.current_project_id
    return lambda resource: resource.project_id == project_id


def _image_restriction(conn, filters):
    project_id = conn.current_project_id
    visible = {'shared'} | ({'public', 'community'}
                            if filters.include_public else set())

    def keep(image):
        return image.owner == project_id or image.visibility in visible
    return keep


_RESTRICTIONS = {
    'servers': _server_restriction,
    'images': _image_restriction,
    # A member cannot recreate networks it does not own (the external
    # network, networks shared by others); security groups likewise.
    'networks': lambda conn, filters: _owned(conn),
    'security_groups': lambda conn, filters: _owned(conn),
}

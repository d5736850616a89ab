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
import datetime
import fnmatch
import logging

from downpour import cloud
from downpour.errors import DownpourError
from downpour.resourcefile import SECTIONS, STATEFUL_SECTIONS, Entry, quote

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
    # Selection strategies (doc/source/usage.rst).  --all: every section,
    # all the project owns.
    select_all: bool = False
    # --used: images, keypairs and security groups only as far as a
    # selected server uses them.
    used_only: bool = False
    # More server restrictions: the servers sharing this server's hostId;
    # on one of these networks (name or ID); with one of these tags;
    # created before / at or after (aware datetimes).
    same_host_as: str | None = None
    server_networks: list[str] = dataclasses.field(default_factory=list)
    server_tags: list[str] = dataclasses.field(default_factory=list)
    created_before: datetime.datetime | None = None
    created_after: datetime.datetime | None = None

    def patterns(self, section):
        """The name patterns for a section, [] when it is not searched."""
        names = getattr(self, _PATTERN_FIELDS[section])
        if names:
            return list(names)
        if self.select_all:
            return ['*']
        if section == 'servers' and self.restricts_servers():
            return ['*']
        if self.used_only and section in USED_SECTIONS:
            return ['*']
        return []

    def restricts_servers(self):
        return bool(self.server_flavors or self.server_statuses
                    or self.same_host_as or self.server_networks
                    or self.server_tags or self.created_before
                    or self.created_after)

    def check(self):
        if not any(self.patterns(section) for section in SECTIONS):
            raise DownpourError('nothing to query: give at least one filter')
        if self.used_only and not self.patterns('servers'):
            raise DownpourError('--used selects what the selected servers '
                                'use: select servers too (--server-name, '
                                '--all or a server filter)')
        if self.created_before and self.created_after and \
                self.created_after >= self.created_before:
            raise DownpourError('--created-after must be earlier than '
                                '--created-before')


# What --used restricts to the selected servers' own.
USED_SECTIONS = ('images', 'keypairs', 'security_groups')


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
    # Servers are searched first: --used follows the selected ones.
    context = Context(conn)
    for section in SECTIONS:
        patterns = filters.patterns(section)
        if not patterns:
            continue
        with cloud.cloud_errors('listing %s' % section.replace('_', ' '),
                                conn=conn):
            if section == 'networks':
                # --network may have listed them already.
                resources = context.networks()
            else:
                resources = list(_LISTERS[section](conn, filters))
            if section == 'servers':
                context.servers = resources
            chosen = _select(section, resources, patterns, conn, filters,
                             context)
        if section == 'servers':
            ids = {match.id for match in chosen}
            context.selected = [r for r in resources if r.id in ids]
        matches.extend(chosen)
    return matches


class Context:
    """What the strategies need besides a section's own listing, each
    listed once, when first needed."""

    def __init__(self, conn):
        self.conn = conn
        self.servers = []
        self.selected = []
        self._ports = None
        self._networks = None

    def ports(self):
        if self._ports is None:
            with cloud.cloud_errors('listing ports', conn=self.conn):
                self._ports = list(self.conn.network.ports(
                    project_id=self.conn.current_project_id))
        return self._ports

    def networks(self):
        if self._networks is None:
            with cloud.cloud_errors('listing networks', conn=self.conn):
                self._networks = list(self.conn.network.networks())
        return self._networks


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


def _select(section, resources, patterns, conn, filters, context=None):
    # Names are counted over everything listed, not only what matched:
    # export looks names up among all of them.
    counts = collections.Counter(r.name for r in resources if r.name)
    keep = _RESTRICTIONS.get(section, lambda conn, filters: None)(
        conn, filters)
    context = context or Context(conn)
    keeps = [k for k in (keep, _strategy(section, filters, context))
             if k is not None]
    selected = []
    for resource in resources:
        if not matches_any(resource.name, patterns):
            continue
        if not all(k(resource) for k in keeps):
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


# -- selection strategies ------------------------------------------------------

def _strategy(section, filters, context):
    """The restriction of the selection strategies for ``section``,
    None when none applies."""
    keeps = []
    if section == 'servers':
        keeps = [k for k in (_same_host(filters, context),
                             _on_networks(filters, context),
                             _tagged(filters), _created(filters)) if k]
    elif filters.used_only and section in USED_SECTIONS:
        keeps = [_USED[section](context)]
    elif filters.select_all and section == 'images' and \
            not filters.image_names:
        # Everything the project owns: images shared with it are not its
        # own (those its servers use come along with them anyway).
        project = context.conn.current_project_id
        keeps = [lambda image: image.owner == project
                 or (filters.include_public
                     and image.visibility in ('public', 'community'))]
    if not keeps:
        return None
    return lambda resource: all(keep(resource) for keep in keeps)


def _same_host(filters, context):
    if not filters.same_host_as:
        return None
    wanted = filters.same_host_as
    found = [s for s in context.servers if s.id == wanted] or \
        [s for s in context.servers if s.name == wanted]
    if len(found) != 1:
        raise DownpourError('--same-host-as %s: %s' % (
            quote(wanted), 'no server has that name or ID' if not found
            else '%d servers have that name; give its ID' % len(found)))
    host = found[0].host_id
    if not host:
        raise DownpourError('--same-host-as %s: the cloud shows no host for '
                            'that server (status %s)'
                            % (quote(wanted), found[0].status))
    return lambda server: server.host_id == host


def _on_networks(filters, context):
    if not filters.server_networks:
        return None
    wanted = set(filters.server_networks)
    networks = {net.id for net in context.networks()
                if net.id in wanted or net.name in wanted}
    for name in wanted:
        if not any(n.id == name or n.name == name
                   for n in context.networks()):
            LOG.warning('no network is named or has the ID %r', name)
    on = {port.device_id for port in context.ports()
          if port.network_id in networks}
    return lambda server: server.id in on


def _tagged(filters):
    if not filters.server_tags:
        return None
    wanted = set(filters.server_tags)
    return lambda server: bool(wanted & set(server.tags or []))


def _created(filters):
    if not (filters.created_before or filters.created_after):
        return None

    def keep(server):
        created = parse_time(server.created_at)
        if created is None:
            return False
        if filters.created_before and not created < filters.created_before:
            return False
        if filters.created_after and created < filters.created_after:
            return False
        return True
    return keep


def parse_time(text):
    """An aware datetime from an ISO 8601 date or time; without a zone,
    UTC.  None for what is not one."""
    try:
        value = datetime.datetime.fromisoformat(str(text).replace('Z',
                                                                  '+00:00'))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value


def _used_images(context):
    used = {(s.image or {}).get('id') for s in context.selected}
    return lambda image: image.id in used


def _used_keypairs(context):
    used = {s.key_name for s in context.selected if s.key_name}
    return lambda keypair: keypair.name in used


def _used_security_groups(context):
    # By the selected servers' ports: the compute API names a server's
    # groups by name only, and names repeat.
    servers = {s.id for s in context.selected}
    used = {group for port in context.ports() if port.device_id in servers
            for group in port.security_group_ids or []}
    return lambda group: group.id in used


_USED = {'images': _used_images, 'keypairs': _used_keypairs,
         'security_groups': _used_security_groups}


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

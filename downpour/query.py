"""Find resources in a cloud and add them to a resource file.

Names are matched against shell-style patterns (``*``, ``?``, ``[seq]``)
with :func:`fnmatch.fnmatchcase`: the pattern must match the whole name,
and case matters.  That is also what openstacksdk's ``search_*`` calls do.
fnmatch2 is not used because it matches a prefix up to a ``/``
(``fnmatch2('a/b', 'a')`` is true), which would select resources the user
did not name.

Each resource type is listed with one API call (plus pagination), never
one call per resource.  A section is only searched when one of its filters
is given.  How a type is listed, and what of it may be added besides its
name, is said by its export home (``query_list``, ``query_restriction``,
``query_all_restriction`` and ``used_by`` in downpour/resources/).

When a name is shared by several resources of a type, entries are added
with both ``name`` and ``id`` (the id is what export uses; the name is kept
for the reader).
"""

import collections
import dataclasses
import datetime
import fnmatch
import logging

from downpour import cloud, resources
from downpour.errors import DownpourError
from downpour.importer import definitions
from downpour.resourcefile import SECTIONS, STATEFUL_SECTIONS, Entry, quote

LOG = logging.getLogger(__name__)

# The section the server filters restrict, and whose selection --used
# follows.
SERVERS = definitions.BY_NAME['server'].section


def names_field(definition):
    """The Filters field that holds the patterns for a type's section:
    ``<type>_names``, or ``<type>_addresses`` for a type an address names
    (a floating IP has no name)."""
    return '%s_%s' % (definition.name, 'addresses'
                      if definition.named_by == 'address' else 'names')


@dataclasses.dataclass
class _Filters:
    """What to look for.  Every list is "any of these".

    Besides these, one list of patterns per section (``names_field``).
    """

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
    # --used: the types whose home says what a server uses (used_by) only
    # as far as a selected server uses them.
    used_only: bool = False
    # More server restrictions: the servers sharing this server's hostId;
    # on one of these networks (name or ID); with one of these tags;
    # created before / at or after (aware datetimes).
    same_host_as: str | None = None
    server_networks: list[str] = dataclasses.field(default_factory=list)
    server_tags: list[str] = dataclasses.field(default_factory=list)
    created_before: datetime.datetime | None = None
    created_after: datetime.datetime | None = None

    def names(self, section):
        """The patterns given for the names (or addresses) of a section."""
        return list(getattr(self, names_field(
            definitions.BY_SECTION[section])))

    def patterns(self, section):
        """The name patterns for a section, [] when it is not searched."""
        names = self.names(section)
        if names:
            return names
        if self.select_all:
            return ['*']
        if section == SERVERS and self.restricts_servers():
            return ['*']
        if self.used_only and \
                resources.BY_SECTION[section].used_by is not None:
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
        if self.used_only and not self.patterns(SERVERS):
            raise DownpourError('--used selects what the selected servers '
                                'use: select servers too (--server-name, '
                                '--all or a server filter)')
        if self.created_before and self.created_after and \
                self.created_after >= self.created_before:
            raise DownpourError('--created-after must be earlier than '
                                '--created-before')


# Made from the declarations, so that a new section is searched (and has
# its option) with no change here.
Filters = dataclasses.make_dataclass(
    'Filters',
    [(names_field(definition), list[str],
      dataclasses.field(default_factory=list))
     for definition in definitions.BY_SECTION.values()],
    bases=(_Filters,),
    # Python 3.11's make_dataclass cannot be told its module.
    namespace={'__module__': __name__, '__doc__': _Filters.__doc__})


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
    context = Context(conn, filters)
    # Servers are searched first: --used follows the selected ones.
    for section in sorted(SECTIONS, key=lambda s: s != SERVERS):
        patterns = filters.patterns(section)
        if not patterns:
            continue
        service = resources.BY_SECTION[section].optional_service
        if service and not filters.names(section) and \
                not conn.has_service(service):
            # --all on a cloud without it: nothing of it to find.
            LOG.info('the cloud has no %s service: no %s', service,
                     section.replace('_', ' '))
            continue
        with cloud.cloud_errors('listing %s' % section.replace('_', ' '),
                                conn=conn):
            listed = context.listing(section)
            chosen = _select(section, listed, patterns, conn, filters,
                             context)
        if section == SERVERS:
            ids = {match.id for match in chosen}
            context.selected = [r for r in listed if r.id in ids]
        matches.extend(chosen)
    return matches


class Context:
    """What the strategies and the types' used_by need besides a
    section's own listing, each listed once, when first needed."""

    def __init__(self, conn, filters=None):
        self.conn = conn
        self.filters = filters if filters is not None else Filters()
        # The servers chosen, once servers are searched.
        self.selected = []
        self._ports = None
        self._listings = {}

    def listing(self, section):
        """A section's resources as the query lists them: once, though a
        server filter may need them before their section is searched."""
        if section not in self._listings:
            with cloud.cloud_errors('listing %s' % section.replace('_', ' '),
                                    conn=self.conn):
                self._listings[section] = list(
                    resources.BY_SECTION[section].query_list(
                        self.conn, self.filters))
        return self._listings[section]

    @property
    def servers(self):
        return self.listing(SERVERS)

    def ports(self):
        if self._ports is None:
            with cloud.cloud_errors('listing ports', conn=self.conn):
                self._ports = list(self.conn.network.ports(
                    project_id=self.conn.current_project_id))
        return self._ports

    def networks(self):
        return self.listing('networks')


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
        entry = _entry(match, filters)
        if resource_file.add(entry):
            added.append((resource_file.entries(match.section)[-1], match))
    return added


def _entry(match, filters):
    named_by = definitions.BY_SECTION[match.section].named_by
    if named_by != 'name':
        # An address is one floating IP's: no ID is needed beside it.
        return Entry(section=match.section,
                     id=None if match.name else match.id,
                     **{named_by: match.name})
    return Entry(
        section=match.section,
        name=match.name or None,
        id=match.id if match.name_is_shared or not match.name else None,
        save_state=(filters.save_state
                    if match.section in STATEFUL_SECTIONS else None),
    )


def _covers(entry, match):
    if entry.id is not None:
        return entry.id == match.id
    named_by = definitions.BY_SECTION[entry.section].named_by
    return getattr(entry, named_by) == match.name


def unmatched(filters, matches):
    """The name patterns (option, pattern) the user gave that matched
    nothing: a typo, or a resource of another project, is said, not
    silently left out."""
    found = collections.defaultdict(list)
    for match in matches:
        found[match.section].append(match.name)
    missing = []
    for section, definition in definitions.BY_SECTION.items():
        for pattern in filters.names(section):
            if not any(fnmatch.fnmatchcase(name or '', pattern)
                       for name in found[section]):
                missing.append((definition.option, pattern))
    return missing


def matches_any(name, patterns):
    """Whole-name, case-sensitive shell pattern match."""
    return any(fnmatch.fnmatchcase(name or '', pattern)
               for pattern in patterns)


def _select(section, listed, patterns, conn, filters, context=None):
    # Names are counted over everything listed, not only what matched:
    # export looks names up among all of them.
    counts = collections.Counter(r.name for r in listed if r.name)
    keep = resources.BY_SECTION[section].query_restriction(conn, filters)
    context = context or Context(conn, filters)
    keeps = [k for k in (keep, _strategy(section, filters, context))
             if k is not None]
    selected = []
    for resource in listed:
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


# -- selection strategies ------------------------------------------------------

def _strategy(section, filters, context):
    """The restriction of the selection strategies for ``section``,
    None when none applies."""
    home = resources.BY_SECTION[section]
    keeps = []
    if section == SERVERS:
        keeps = [k for k in (_same_host(filters, context),
                             _on_networks(filters, context),
                             _tagged(filters), _created(filters)) if k]
    elif filters.used_only and home.used_by is not None:
        keeps = [home.used_by(context)]
    elif filters.select_all and not filters.names(section):
        keep = home.query_all_restriction(context.conn, filters)
        keeps = [keep] if keep is not None else []
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

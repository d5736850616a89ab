"""``downpour check``: will an export fit the target project, and what will
it meet there?

Everything comes from the output directory (playbook.yml, manifest.yml,
journal.csv, resources.yml) and from GET requests to the target as its
member.  The look of the import is not copied: the shipped module
(downpour/library/downpour_resources.py) runs its kinds in check mode,
which lists each type once and decides, as the real import will, what is
already there, what is the import's own, which flavor and external network
each resource gets and which names clash.  What is left to create is then
counted against the project's quotas and usage.

Each item costs quota only when it is to be made: what the journal records
and the target still has, a keypair with the same key and an adopted
resource cost nothing.  The costs are those of what the import itself
makes; ports a cloud's DHCP agent adds to new subnets are not counted (this
depends on the deployment, and a member cannot see how it is set up).
"""

import collections
import dataclasses
import logging
import os

import keystoneauth1.exceptions as ksa_exc
import openstack.exceptions as sdk_exc
import yaml

from downpour import cloud, render
from downpour.errors import DownpourError
from downpour.export import RESOURCES
from downpour.importer import Importer, ImportFailed, Journal, definitions, octavia
from downpour.importer import describe as describe_item
from downpour.importer.engine import ORPHAN, SOURCE_PROJECT, source_project
from downpour.importer.orphans import orphans
from downpour.manifest import MANIFEST
from downpour.resourcefile import ResourceFile

LOG = logging.getLogger(__name__)

JOURNAL = 'journal.csv'
FIT, REST = 'fit.yml', 'rest.yml'

# The kinds of quota the import consumes, in the order they are shown:
# as the types declare them.
QUOTAS = definitions.QUOTAS
LABELS = dict(QUOTAS)
MIB = 1024 * 1024
# How the playbook names a file of the output directory (a container's
# objects' manifest), which Ansible resolves and the look must too.
PLAYBOOK_DIR = '{{ playbook_dir }}/'


# -- what the output directory holds ------------------------------------------

@dataclasses.dataclass
class Export:
    """What an export wrote, as check reads it."""

    output_dir: str
    items: list
    # The playbook's maps (flavor_map, network_map, volume_type_map,
    # az_map), as the import will pass them.
    maps: dict
    name_clash: str
    # Blob size in bytes by its path in the output directory.
    sizes: dict
    widen_default_group: bool = False
    # Items a hand edit left with nothing that needs them: the import
    # leaves them out (importer/orphans.py), so check and graph do too.
    orphans: list = dataclasses.field(default_factory=list)

    @classmethod
    def load(cls, output_dir):
        playbook = os.path.join(output_dir, render.PLAYBOOK)
        try:
            with open(playbook, encoding='utf-8') as stream:
                # A SafeLoader that takes !unsafe as data.
                plays = yaml.load(stream,
                                  Loader=render.UnsafeLoader)  # noqa: S506
        except FileNotFoundError:
            raise DownpourError('%s: no such file: is %s the output '
                                'directory of downpour export?'
                                % (playbook, output_dir)) from None
        except (OSError, yaml.YAMLError) as exc:
            raise DownpourError('%s: cannot be read: %s' % (
                playbook, ' '.join(str(exc).split()))) from exc
        if not (isinstance(plays, list) and plays
                and isinstance(plays[0], dict)):
            raise DownpourError('%s: not a playbook written by downpour '
                                'export' % playbook)
        variables = plays[0].get('vars') or {}
        items = []
        # Every typed list of the playbook, whatever types later versions
        # add: a list of items that each have a type and an id.
        for key, value in variables.items():
            if key.startswith('downpour_') and isinstance(value, list) and \
                    all(isinstance(i, dict) and 'type' in i and 'id' in i
                        for i in value):
                items.extend(value)
        sizes = {}
        try:
            with open(os.path.join(output_dir, MANIFEST),
                      encoding='utf-8') as stream:
                manifest = yaml.safe_load(stream) or {}
            for resource in manifest.get('resources') or []:
                if resource.get('blob') and resource.get('size') is not None:
                    sizes[resource['blob']] = int(resource['size'])
        except FileNotFoundError:
            LOG.warning('%s has no %s: image sizes are not counted',
                        output_dir, MANIFEST)
        for item in items:
            # A container's objects' manifest, which Ansible would find
            # in the playbook's directory: the look reads it there too.
            where = item.get('objects')
            if isinstance(where, str) and where.startswith(PLAYBOOK_DIR):
                item['objects'] = os.path.join(
                    output_dir, where[len(PLAYBOOK_DIR):])
        left_out = orphans(items)
        gone = {item['id'] for item in left_out}
        items = [item for item in items if item['id'] not in gone]
        return cls(output_dir=output_dir, items=items, orphans=left_out,
                   maps={t.map: dict(variables.get(t.map) or {})
                         for t in definitions.ORDER if t.map},
                   name_clash=str(variables.get('name_clash') or 'create'),
                   widen_default_group=variables.get(
                       'widen_default_group') is True,
                   sizes=sizes)

    def blob_size(self, item, default=0):
        """The bytes of an item's blob, from the manifest."""
        filename = item.get('filename') or ''
        marker = '}}/'
        if marker not in filename:
            return default
        return self.sizes.get(filename.split(marker, 1)[1], default)


# -- the export's own project -----------------------------------------------

class SourceProjectRefused(DownpourError):
    """The target is the project the export read: check exits 2."""


def refuse_source_project(conn, output_dir, allow=False):
    """Refuse to look at the project the export read (the manifest's
    ``source``), as the import refuses to import into it; with ``allow``,
    only say it.  An export without the record (an older downpour) is
    not checked."""
    try:
        with open(os.path.join(output_dir, MANIFEST),
                  encoding='utf-8') as stream:
            recorded = (yaml.safe_load(stream) or {}).get('source')
    except (OSError, yaml.YAMLError, AttributeError):
        # Export.load says what is wrong with the directory.
        return
    with cloud.cloud_errors('logging in to the target', conn=conn):
        which = source_project(conn, recorded)
    if which is None:
        return
    said = SOURCE_PROJECT % which
    if not allow:
        raise SourceProjectRefused(
            '%s: refusing to check an import into the source; '
            '--allow-source-project to do it on purpose' % said)
    LOG.warning('%s: checking an import into it, as '
                '--allow-source-project asks', said)


# -- the look ---------------------------------------------------------------

@dataclasses.dataclass
class Look:
    """What the import's look found in the target."""

    importer: Importer

    @property
    def ids(self):
        return self.importer.ids

    @property
    def missing(self):
        return self.importer.missing

    @property
    def clashes(self):
        return self.importer.clashes

    @property
    def choices(self):
        return self.importer.choices

    @property
    def failures(self):
        """(types, message) of each kind whose look failed."""
        return self.importer.failures

    def lacks(self, key):
        """Whether the target has nothing for chosen item ``key`` (a
        default, '' in ids, is something)."""
        return key in self.missing or key not in self.ids

    def target(self, key):
        """The target object the import would use for item ``key``."""
        return self.importer.target(key)


def look(conn, export):
    """The import's own look (its engine in check mode, with the
    playbook's maps and name_clash), every kind even when one fails, so
    that all problems are named at once."""
    # An unreachable cloud or refused credentials: one error, not a row
    # per kind.
    with cloud.cloud_errors('logging in to the target', conn=conn):
        conn.current_project_id  # noqa: B018
    importer = Importer(
        conn, journal=Journal(os.path.join(export.output_dir, JOURNAL)),
        check_mode=True, name_clash=export.name_clash,
        widen_default_group=export.widen_default_group, **export.maps)
    try:
        with cloud.cloud_errors("looking at the target's resources",
                                conn=conn):
            importer.run(export.items, keep_going=True)
    except ImportFailed as exc:
        importer.failures.append(((), str(exc)))
    return Look(importer)


# -- what the import costs -------------------------------------------------

def costs(export, look):
    """The quota each item to be made costs, by item key: {key: Counter}.
    Items the target already has for this import cost nothing."""
    return look.importer.costs(export.blob_size)


def total(cost_by_key, keys=None):
    """The sum of the costs of ``keys`` (all of them by default); group
    members are the largest group's, not a sum."""
    out = collections.Counter()
    for key, cost in cost_by_key.items():
        if keys is not None and key not in keys:
            continue
        for name, value in cost.items():
            if name == 'server_group_members':
                out[name] = max(out[name], value)
            else:
                out[name] += value
    return out


# -- the target's quotas ------------------------------------------------------

@dataclasses.dataclass
class Quota:
    limit: int  # -1: unlimited
    used: int

    def free(self):
        return None if self.limit < 0 else self.limit - self.used


# ImportFailed: what the Octavia listings (the engine's) raise.
_QUIET = (sdk_exc.SDKException, ksa_exc.ClientException, ImportFailed)


# The kinds of quota of a service many clouds lack (Barbican's, Octavia's):
# asked for, and shown, only when the import needs some.
OPTIONAL = tuple(q.key for t in definitions.ORDER for q in t.quota
                 if q.optional)


def _needs(needed, lane):
    """Whether ``needed`` has some of the optional kinds of quota of the
    types of ``lane``."""
    return any((needed or {}).get(q.key) for t in definitions.ORDER
               if t.lane == lane for q in t.quota if q.optional)


def quotas(conn, needed=None):
    """The project's quotas and usage by kind, from GET requests only;
    a kind the cloud does not report (or does not let a member see) is
    left out.  ``needed``: what the import needs, by kind; the key
    manager and Octavia are asked only when it needs some of theirs."""
    project = conn.current_project_id
    found = {}
    services = [('compute', _compute_quotas),
                ('block storage', _volume_quotas),
                ('network', _network_quotas),
                ('image', _image_quotas)]
    if _needs(needed, 'key_manager'):
        services.append(('key manager', _key_manager_quotas))
    if _needs(needed, 'load_balancer'):
        services.append(('load balancer', _octavia_quotas))
    for what, fetch in services:
        try:
            found.update(fetch(conn, project))
        except _QUIET as exc:
            LOG.warning('the target does not report its %s quotas: %s',
                        what, cloud.explain(exc))
    return found


def _compute_quotas(conn, project):
    try:
        qs = conn.compute.get_quota_set(project, usage=True)
    except sdk_exc.HttpException as exc:
        LOG.debug('compute quota set: %s; using the limits', exc)
        return _compute_limits(conn)
    usage = qs.usage or {}
    reserved = qs.reservation or {}
    found = {}
    for key in ('instances', 'cores', 'ram', 'key_pairs', 'server_groups'):
        limit = getattr(qs, key, None)
        if limit is not None:
            found[key] = Quota(int(limit), int(usage.get(key) or 0)
                               + int(reserved.get(key) or 0))
    if qs.server_group_members is not None:
        # Per group; a new group starts empty.
        found['server_group_members'] = Quota(int(qs.server_group_members),
                                               0)
    return found


def _compute_limits(conn):
    absolute = conn.compute.get_limits().absolute
    found = {}
    for key, limit, used in (
            ('instances', 'instances', 'instances_used'),
            ('cores', 'total_cores', 'total_cores_used'),
            ('ram', 'total_ram', 'total_ram_used'),
            ('server_groups', 'server_groups', 'server_groups_used')):
        if getattr(absolute, limit, None) is not None:
            found[key] = Quota(int(getattr(absolute, limit)),
                               int(getattr(absolute, used, 0) or 0))
    if getattr(absolute, 'server_group_members', None) is not None:
        found['server_group_members'] = Quota(
            int(absolute.server_group_members), 0)
    return found


def _volume_quotas(conn, project):
    qs = conn.block_storage.get_quota_set(project, usage=True)
    data = qs.to_dict()
    usage = data.get('usage') or {}
    reserved = data.get('reservation') or {}
    found = {}
    for key, limit in data.items():
        if key.startswith(('volumes', 'gigabytes')) and \
                isinstance(limit, int) and key in usage:
            found[key] = Quota(limit, int(usage.get(key) or 0)
                               + int(reserved.get(key) or 0))
    return found


def _network_quotas(conn, project):
    quota = conn.network.get_quota(project, details=True)
    found = {}
    # Every kind the types count that Neutron reports.
    for key in LABELS:
        detail = getattr(quota, key, None)
        if isinstance(detail, dict) and detail.get('limit') is not None:
            found[key] = Quota(int(detail['limit']),
                               int(detail.get('used') or 0)
                               + int(detail.get('reserved') or 0))
    return found


def _image_quotas(conn, project):
    # Glance reports usage only when it enforces unified limits (else an
    # empty usage, or 404 on an older Glance).
    response = conn.image.get('/info/usage')
    if response.status_code != 200:
        LOG.debug('image usage: HTTP %s', response.status_code)
        return {}
    found = {}
    for key, detail in (response.json().get('usage') or {}).items():
        if key in LABELS and isinstance(detail, dict) and \
                detail.get('limit') is not None:
            found[key] = Quota(int(detail['limit']),
                               int(detail.get('usage') or 0))
    return found


# Octavia's quota of each kind of quota the types count, and how its
# usage is read: a listing of the project's objects (Octavia reports no
# usage), counted whole or by a list on each (a pool's members, a
# policy's rules).
_OCTAVIA = (
    ('octavia_load_balancer', 'load_balancer', 'loadbalancers',
     'loadbalancers', None),
    ('octavia_listener', 'listener', 'listeners', 'listeners', None),
    ('octavia_pool', 'pool', 'pools', 'pools', None),
    ('octavia_member', 'member', 'pools', 'pools', 'members'),
    ('octavia_health_monitor', 'health_monitor', 'healthmonitors',
     'healthmonitors', None),
    ('octavia_l7policy', 'l7policy', 'l7policies', 'l7policies', None),
    ('octavia_l7rule', 'l7rule', 'l7policies', 'l7policies', 'rules'))


def _octavia_quotas(conn, project):
    """Octavia's quotas (GET /lbaas/quotas/<project>), each with what the
    project's own listings count; none from a cloud without Octavia.  A
    tenant whom Octavia's policy does not let read them is told so."""
    if not conn.has_service('load-balancer'):
        return {}
    response = conn.load_balancer.get('/lbaas/quotas/%s' % project)
    if response.status_code != 200:
        sdk_exc.raise_from_response(response)
    limits = response.json().get('quota') or {}
    found, listed = {}, {}
    for key, name, path, plural, each in _OCTAVIA:
        limit = limits.get(name)
        if limit is None:
            continue  # an Octavia without that quota (l7 ones are newer)
        if path not in listed:
            listed[path] = octavia.listing(conn, '/lbaas/%s' % path, plural,
                                           project_id=project)
        used = sum(len(obj.get(each) or []) for obj in listed[path]) \
            if each else len(listed[path])
        found[key] = Quota(int(limit), used)
    return found


def _key_manager_quotas(conn, project):
    # Barbican gives the project's effective limits (-1: none), not its
    # usage: what the project holds is counted from its lists, and only
    # where a limit makes it matter.
    quota = conn.key_manager.get_quota()
    found = {}
    for key, listing in (('secrets', conn.key_manager.secrets),
                         ('containers', conn.key_manager.containers)):
        limit = getattr(quota, key, None)
        if limit is not None:
            used = 0 if int(limit) < 0 else sum(1 for _ in listing())
            found[key] = Quota(int(limit), used)
    return found


# -- the verdict ------------------------------------------------------------

HEADERS = ('Check', 'Needed', 'Free after import', 'Verdict')


@dataclasses.dataclass
class Result:
    rows: list
    problems: list
    # What the import would meet that is no shortage but that the user
    # must decide on before the night: lines naming each resource of the
    # import's own made from an older capture, each name the target
    # already uses.  Either makes the check's exit status 1.
    stale: list = dataclasses.field(default_factory=list)
    clashes: list = dataclasses.field(default_factory=list)
    # How many resources are in each state (STATES), in that order.
    states: dict = dataclasses.field(default_factory=dict)

    @property
    def fits(self):
        return not self.problems

    @property
    def ready(self):
        """Whether the import fits, resolves, and meets nothing stale and
        no name of the target's: exit status 0."""
        return self.fits and not self.stale and not self.clashes


def _in_units(key, value):
    if key == 'image_size_total':
        return -(-value // MIB)  # bytes to MiB, up
    return value


def _label(key):
    for prefix in ('volumes_', 'gigabytes_'):
        if key.startswith(prefix) and key not in LABELS:
            return '%s of type %s' % (LABELS[prefix[:-1]],
                                      key[len(prefix):])
    return LABELS[key]


def quota_rows(needed, found):
    """(rows, the kinds that do not fit)."""
    rows, short = [], []
    keys = [k for k, _ in QUOTAS]
    keys += sorted(k for k in needed if k not in LABELS and needed[k])
    for key in keys:
        need = _in_units(key, needed.get(key, 0))
        quota = found.get(key)
        if quota is None and key in OPTIONAL and not need:
            continue
        if quota is None:
            rows.append((_label(key), need, '', 'not reported'))
            continue
        free = quota.free()
        if free is None:
            rows.append((_label(key), need, 'unlimited', 'ok'))
            continue
        after = free - need
        if after < 0:
            short.append('%s (needs %d, %d free)' % (_label(key), need,
                                                     max(free, 0)))
            rows.append((_label(key), need, after,
                         'SHORT by %d' % -after))
        else:
            rows.append((_label(key), need, after, 'ok'))
    return rows, short


def choice_rows(export, look):
    """A row for each flavor, network, volume type or zone the target
    must provide: what it will be, or that it is missing."""
    rows, problems = [], []
    for item in export.items:
        if not _chosen(item):
            continue
        what = '%s %s' % (item['type'].replace('_', ' '), item.get('name'))
        obj = look.target(item['id'])
        if look.lacks(item['id']):
            rows.append((what, '', '', 'MISSING: the target has none to '
                         'match; map it in the playbook\'s vars'))
            problems.append('%s is missing' % what)
        elif obj is not None:
            rows.append((what, '', '', '-> %s (%s)' % (obj.name, obj.id)))
        elif look.ids[item['id']] == '':
            rows.append((what, '', '', "-> the target's default"))
        else:
            rows.append((what, '', '', '-> %s' % look.ids[item['id']]))
    return rows, problems


# What each resource of the export is to the target, as the look found it.
NEW, IMPORTED, STALE, CLASH = 'new', 'already imported', 'stale', 'clash'
STATES = (NEW, IMPORTED, STALE, CLASH)


def resource_rows(export, look):
    """A row per resource the import makes (not the chosen ones, which
    have theirs): what it is to the target.  (rows, {state: count})."""
    importer = look.importer
    stale = dict(zip(importer.stale_keys, importer.stale, strict=True))
    counts = dict.fromkeys(STATES, 0)
    rows = []
    for item in export.items:
        definition = definitions.BY_NAME.get(item['type'])
        if definition is None or definition.chosen:
            continue
        key = item['id']
        said = [m for m in look.clashes
                if m.startswith(describe_item(item) + ':')]
        if key in stale:
            state, why = STALE, stale[key]
        elif key in look.ids:
            # Made by an earlier run, or adopted, reused: found.
            state, why = IMPORTED, look.ids[key]
        elif said:
            state, why = CLASH, said[0]
        else:
            state, why = NEW, ''
        counts[state] += 1
        what = '%s %s' % (item.get('csv_type') or item['type'],
                          item.get('name'))
        rows.append((what, '', '', '%s%s' % (state, ': ' + why if why
                                              else '')))
    rows.append(('resources', sum(counts.values()), '', ', '.join(
        '%d %s' % (counts[s], s) for s in STATES)))
    return rows, counts


def run_check(conn, output_dir):
    """The whole check: (Export, Look, costs, Result)."""
    export = Export.load(output_dir)
    seen = look(conn, export)
    cost = costs(export, seen)
    found = quotas(conn, total(cost))
    rows, short = quota_rows(total(cost), found)
    chosen, problems = choice_rows(export, seen)
    rows += chosen
    problems = ['%s: not enough quota' % s for s in short] + problems
    for message in seen.importer.unmatched:
        # Why a choice above is missing: a map entry naming what the
        # target lacks, a name it gives to several.
        rows.append(('no match', '', '', message))
    for message in seen.clashes:
        rows.append(('name clash', '', '', message))
        if export.name_clash == 'stop':
            problems.append(message)
    rows += orphan_rows(export)
    for types, message in seen.failures:
        rows.append((', '.join(types), '', '', 'FAILS: ' + message))
        problems.append(message)
    resources, states = resource_rows(export, seen)
    rows += resources
    clashes = [m for m in seen.clashes if export.name_clash != 'stop'
               and not m.endswith('proven equivalent')]
    return export, seen, cost, Result(
        rows=rows, problems=problems, stale=list(seen.importer.stale),
        clashes=clashes, states=states), found


def orphan_rows(export):
    """A row for each item the import leaves out after a hand edit."""
    return [('left out', '', '', '%s: %s' % (describe_item(item), ORPHAN))
            for item in export.orphans]


# -- splitting a resource file by what fits ----------------------------------

def _chosen(item):
    definition = definitions.BY_NAME.get(item['type'])
    return definition is not None and definition.chosen


def references(item, keys):
    """The keys of the other items ``item`` refers to, as its type
    declares them."""
    definition = definitions.BY_NAME.get(item['type'])
    if definition is None:
        return []
    return [key for key in definition.references(item) if key in keys]


def closure(start, items_by_key):
    """Every item key ``start`` needs, itself included, with the routers
    and floating IPs that follow what is included."""
    keys = set(items_by_key)
    done, todo = set(), list(start)
    while True:
        while todo:
            key = todo.pop()
            if key in done or key not in items_by_key:
                continue
            done.add(key)
            todo.extend(references(items_by_key[key], keys))
        followers = [key for key, item in items_by_key.items()
                     if key not in done and _follows(item)
                     and any(ref in done for ref in references(item, keys))]
        if not followers:
            return done
        todo.extend(followers)


def _follows(item):
    definition = definitions.BY_NAME.get(item['type'])
    return definition is not None and definition.follows


def _entry_key(entry, export):
    """The item key of the resource a resource-file entry names."""
    definition = definitions.BY_SECTION.get(entry.section)
    if definition is None:
        return None
    # By what names it: a floating IP by its address.
    named = getattr(entry, definition.named_by, None)
    for item in export.items:
        if item['type'] != definition.name:
            continue
        if entry.id is not None:
            if item['id'] == entry.id:
                return item['id']
        elif named is not None and item.get(definition.named_by) == named:
            return item['id']
    return None


def split(export, seen, cost, found, resources):
    """(fit entries, rest entries): the entries of ``resources`` taken in
    its order, servers first as export takes them, each with everything it
    needs, while all of it fits together.  What needs a flavor or network
    the target lacks never fits."""
    fit, rest, _taken = _split(export, seen, cost, found, resources)
    return fit, rest


def _split(export, seen, cost, found, resources):
    by_key = {i['id']: i for i in export.items}
    missing = set(seen.missing) | {
        i['id'] for i in export.items
        if _chosen(i) and seen.lacks(i['id'])}
    free = {key: quota.free() for key, quota in found.items()}
    taken = set()
    fit, rest = [], []
    ordered = resources.entries('servers') + [
        e for section in resources.as_dict() if section != 'servers'
        for e in resources.entries(section)]
    for entry in ordered:
        key = _entry_key(entry, export)
        if key is None:
            # Not in this export (the file changed since): left for later.
            rest.append(entry)
            continue
        if key in taken:
            fit.append(entry)
            continue
        need = closure([key], by_key) - taken
        more = total(cost, need)
        if not need & missing and all(free.get(name) is None
               or _in_units(name, more[name]) <= free[name]
               for name in more):
            taken |= need
            for name in more:
                if free.get(name) is not None:
                    free[name] -= _in_units(name, more[name])
            fit.append(entry)
        else:
            rest.append(entry)
    return fit, rest, taken


def write_split(export, seen, cost, found):
    """Write fit.yml and rest.yml beside the export's copy of its resource
    file; their paths."""
    source = os.path.join(export.output_dir, RESOURCES)
    if not os.path.isfile(source):
        raise DownpourError('%s has no %s (exported by an older downpour): '
                            'export again to split it'
                            % (export.output_dir, RESOURCES))
    resources = ResourceFile.load(source)
    fit, rest = split(export, seen, cost, found, resources)
    paths = []
    for name, entries in ((FIT, fit), (REST, rest)):
        path = os.path.join(export.output_dir, name)
        if os.path.exists(path):
            os.unlink(path)
        if not entries:
            LOG.warning('%s: no entry %s: not written', name,
                        'fits now' if name == FIT else 'is left')
            continue
        out = ResourceFile(path)
        chosen = {(e.section, e.index) for e in entries}
        # In the order of the original file, sections and entries.
        for section in resources.as_dict():
            for entry in resources.entries(section):
                if (section, entry.index) in chosen:
                    out.add(entry)
        out.save()
        paths.append(path)
    return paths


def write_marks(export, seen, cost, found, result):
    """check.yml beside the playbook: the item keys ``downpour graph``
    marks (missing in the target, clashing, not fitting now, stale).  The
    only file check writes (fit.yml and rest.yml too with --fit): source
    IDs and the problem lines, nothing of the target's credentials."""
    missing = sorted(i['id'] for i in export.items
                     if _chosen(i) and seen.lacks(i['id']))
    clashes = sorted(i['id'] for i in export.items if any(
        message.startswith(describe_item(i) + ':')
        for message in seen.clashes))
    not_fitting = []
    source = os.path.join(export.output_dir, RESOURCES)
    if not result.fits and os.path.isfile(source):
        _fit, _rest, taken = _split(export, seen, cost, found,
                                    ResourceFile.load(source))
        not_fitting = sorted(i['id'] for i in export.items
                             if i['id'] not in taken)
    data = {'fits': result.fits, 'problems': list(result.problems),
            'missing': missing, 'clash': clashes,
            'not_fitting': not_fitting,
            'stale': list(seen.importer.stale_keys)}
    path = os.path.join(export.output_dir, 'check.yml')
    render.write_atomic(path, yaml.safe_dump(data, sort_keys=False,
                                             allow_unicode=True))
    return path

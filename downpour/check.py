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
import importlib.util
import logging
import os

import keystoneauth1.exceptions as ksa_exc
import openstack.exceptions as sdk_exc
import yaml

from downpour import cloud, render
from downpour.errors import DownpourError
from downpour.export import RESOURCES
from downpour.manifest import MANIFEST
from downpour.resourcefile import ResourceFile

LOG = logging.getLogger(__name__)

JOURNAL = 'journal.csv'
FIT, REST = 'fit.yml', 'rest.yml'

# The kinds of quota the import consumes, in the order they are shown.
QUOTAS = (
    ('instances', 'instances'),
    ('cores', 'cores'),
    ('ram', 'RAM (MiB)'),
    ('key_pairs', 'key pairs'),
    ('server_groups', 'server groups'),
    ('server_group_members', 'server group members (largest group)'),
    ('volumes', 'volumes'),
    ('gigabytes', 'volume gigabytes'),
    ('networks', 'networks'),
    ('subnets', 'subnets'),
    ('ports', 'ports'),
    ('routers', 'routers'),
    ('floating_ips', 'floating IPs'),
    ('security_groups', 'security groups'),
    ('security_group_rules', 'security group rules'),
    ('image_count_total', 'images'),
    ('image_size_total', 'image storage (MiB)'),
)
LABELS = dict(QUOTAS)
MIB = 1024 * 1024

# The sections of a resource file, by the item type of their resources.
SECTION_TYPES = {'servers': 'server', 'volumes': 'volume',
                 'images': 'image', 'keypairs': 'keypair',
                 'networks': 'network', 'security_groups': 'security_group'}
# Types a split takes along with what they refer to, as export does: a
# router comes with the networks it joins, a floating IP with its port.
FOLLOWERS = ('router', 'floating_ip')
# Values of an item that are never references to other items.
_NOT_REFS = ('id', 'type', 'name', 'csv_type', 'description', 'filename',
             'public_key', 'checksum', 'digests', 'metadata', 'address')


class _UnsafeLoader(yaml.SafeLoader):
    """Reads the playbook: ``!unsafe`` marks data for Ansible, and is only
    data here too."""


def _unsafe(loader, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_UnsafeLoader.add_constructor('!unsafe', _unsafe)


def module():
    """The shipped Ansible module, loaded from its file: its kinds are the
    import's own rules, and check follows them."""
    spec = importlib.util.spec_from_file_location(
        'downpour_check_resources', render.MODULE)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


# -- what the output directory holds ------------------------------------------

@dataclasses.dataclass
class Export:
    """What an export wrote, as check reads it."""

    output_dir: str
    items: list
    flavor_map: dict
    network_map: dict
    name_clash: str
    # Blob size in bytes by its path in the output directory.
    sizes: dict

    @classmethod
    def load(cls, output_dir):
        playbook = os.path.join(output_dir, render.PLAYBOOK)
        try:
            with open(playbook, encoding='utf-8') as stream:
                plays = yaml.load(stream, Loader=_UnsafeLoader)  # noqa: S506
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
        return cls(output_dir=output_dir, items=items,
                   flavor_map=dict(variables.get('flavor_map') or {}),
                   network_map=dict(variables.get('network_map') or {}),
                   name_clash=str(variables.get('name_clash') or 'create'),
                   sizes=sizes)

    def blob_size(self, item, default=0):
        """The bytes of an item's blob, from the manifest."""
        filename = item.get('filename') or ''
        marker = '}}/'
        if marker not in filename:
            return default
        return self.sizes.get(filename.split(marker, 1)[1], default)


# -- the look ---------------------------------------------------------------

@dataclasses.dataclass
class Look:
    """What the module's look found in the target."""

    ids: dict
    missing: list
    clashes: list
    # (types, message) of each kind whose look failed.
    failures: list
    # Each kind's listing, by the types it handles.
    listings: dict
    chosen_types: tuple
    # The look's line for each choice of a type that falls back on the
    # target's default (volume types, zones).
    choices: list = dataclasses.field(default_factory=list)

    def lacks(self, key):
        """Whether the target has nothing for chosen item ``key`` (a
        default, '' in ids, is something)."""
        return key in self.missing or key not in self.ids

    def target(self, key):
        """The target object the import would use for item ``key``."""
        found = self.ids.get(key)
        if found is None:
            return None
        for listing in self.listings.values():
            for obj in listing:
                if getattr(obj, 'id', None) == found:
                    return obj
        return None


def look(conn, export, dr=None):
    """Run the import's look (the module's kinds, in check mode), every
    kind even when one fails, so that all problems are named at once."""
    dr = dr or module()
    journal = dr.Journal(os.path.join(export.output_dir, JOURNAL))
    importer = dr.Importer(conn, journal=journal, check_mode=True,
                           network_map=export.network_map,
                           flavor_map=export.flavor_map,
                           name_clash=export.name_clash)
    importer.items = list(export.items)
    listings, failures = {}, []
    chosen = tuple(t for kind in dr.KINDS if issubclass(kind, dr.Chosen)
                   for t in kind.types)
    known = {t for kind in dr.KINDS for t in kind.types}
    unknown = sorted({i['type'] for i in export.items} - known)
    if unknown:
        failures.append((tuple(unknown), 'unknown to this downpour: '
                         'check with the downpour that exported them'))
    for kind in dr.KINDS:
        mine = [i for i in export.items if i['type'] in kind.types]
        if not mine:
            continue
        worker = kind(importer)
        worker.listing = _remembered(worker.listing, listings, kind.types)
        try:
            with cloud.cloud_errors('looking at the target\'s %s'
                                    % ', '.join(kind.types), conn=conn):
                if hasattr(worker, 'apply'):
                    worker.apply(mine)
                else:
                    importer.sync(worker, mine)
        except dr.ImportFailed as exc:
            failures.append((kind.types, str(exc)))
    return Look(ids=importer.ids, missing=list(importer.missing),
                clashes=list(importer.clashes), failures=failures,
                listings=listings, chosen_types=chosen,
                choices=list(getattr(importer, 'choices', [])))


def _remembered(listing, listings, types):
    def remember():
        if types not in listings:
            listings[types] = list(listing())
        return listings[types]
    return remember


# -- what the import costs -------------------------------------------------

def costs(export, look, dr=None):
    """The quota each item to be made costs, by item key: {key: Counter}.
    Items the target already has for this import cost nothing."""
    dr = dr or module()
    result = {}
    for item in export.items:
        cost = collections.Counter()
        kind = item['type']
        made = item['id'] not in look.ids
        if kind in look.chosen_types:
            pass
        elif kind == 'server' and made:
            cost['instances'] += 1
            flavor = look.target(item.get('flavor'))
            if flavor is not None:
                cost['cores'] += int(getattr(flavor, 'vcpus', 0) or 0)
                cost['ram'] += int(getattr(flavor, 'ram', 0) or 0)
        elif kind == 'volume' and made:
            size = int(item.get('size') or 0)
            cost['volumes'] += 1
            cost['gigabytes'] += size
            vtype = look.target(item.get('volume_type'))
            if vtype is not None and getattr(vtype, 'name', None):
                cost['volumes_' + vtype.name] += 1
                cost['gigabytes_' + vtype.name] += size
            if item.get('filename'):
                # The volume's bytes go through an image of the import's
                # own, deleted once the volume has them.
                cost['image_count_total'] += 1
                cost['image_size_total'] += export.blob_size(item)
        elif kind in ('image', 'server_snapshot') and made:
            cost['image_count_total'] += 1
            cost['image_size_total'] += export.blob_size(item)
        elif kind == 'keypair' and made:
            cost['key_pairs'] += 1
        elif kind == 'network' and made:
            cost['networks'] += 1
        elif kind == 'subnet' and made:
            cost['subnets'] += 1
        elif kind == 'router' and made:
            cost['routers'] += 1
            # Each interface is a port of the project.
            cost['ports'] += len(item.get('interfaces') or [])
        elif kind == 'port' and made:
            cost['ports'] += 1
        elif kind == 'floating_ip' and made:
            cost['floating_ips'] += 1
        elif kind == 'server_group' and made:
            cost['server_groups'] += 1
        elif kind == 'security_group':
            if made and not item.get('default'):
                cost['security_groups'] += 1
            cost['security_group_rules'] += _rules_to_add(item, look, dr)
        result[item['id']] = cost
    # Nova counts members per group: the fullest group is what matters.
    members = collections.Counter(
        i.get('server_group') for i in export.items
        if i['type'] == 'server' and i.get('server_group')
        and i['id'] not in look.ids)
    for item in export.items:
        if item['type'] == 'server_group' and members[item['id']]:
            result[item['id']]['server_group_members'] = members[item['id']]
    return result


def _rules_to_add(item, look, dr):
    """The rules a group gains: all of them for a group to be made, the
    missing ones for a group the target has (the project's default group,
    one adopted, or the import's own)."""
    wanted = item.get('rules') or []
    group = look.target(item['id'])
    if group is None:
        return len(wanted)
    have = {dr._rule_key(rule) for rule in group.security_group_rules or []}
    count = 0
    for rule in wanted:
        rule = {key: value for key, value in rule.items()
                if value is not None}
        remote = rule.pop('remote_group', None)
        if remote is not None:
            rule['remote_group_id'] = look.ids.get(remote)
        if rule.get('remote_group_id', True) is None or \
                dr._rule_key(rule) not in have:
            count += 1
    return count


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


_QUIET = (sdk_exc.SDKException, ksa_exc.ClientException)


def quotas(conn):
    """The project's quotas and usage by kind, from GET requests only;
    a kind the cloud does not report (or does not let a member see) is
    left out."""
    project = conn.current_project_id
    found = {}
    for what, fetch in (('compute', _compute_quotas),
                        ('block storage', _volume_quotas),
                        ('network', _network_quotas),
                        ('image', _image_quotas)):
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
    for key in ('networks', 'subnets', 'ports', 'routers', 'floating_ips',
                'security_groups', 'security_group_rules'):
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


# -- the verdict ------------------------------------------------------------

HEADERS = ('Check', 'Needed', 'Free after import', 'Verdict')


@dataclasses.dataclass
class Result:
    rows: list
    problems: list

    @property
    def fits(self):
        return not self.problems


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
        if item['type'] not in look.chosen_types:
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


def run_check(conn, output_dir):
    """The whole check: (Export, Look, costs, Result)."""
    dr = module()
    export = Export.load(output_dir)
    seen = look(conn, export, dr)
    cost = costs(export, seen, dr)
    found = quotas(conn)
    rows, short = quota_rows(total(cost), found)
    chosen, problems = choice_rows(export, seen)
    rows += chosen
    problems = ['%s: not enough quota' % s for s in short] + problems
    for message in seen.clashes:
        rows.append(('name clash', '', '', message))
        if export.name_clash == 'stop':
            problems.append(message)
    for types, message in seen.failures:
        rows.append((', '.join(types), '', '', 'FAILS: ' + message))
        problems.append(message)
    return export, seen, cost, Result(rows=rows, problems=problems), found


# -- splitting a resource file by what fits ----------------------------------

def references(item, keys):
    """The keys of the other items ``item`` refers to."""
    found = []

    def walk(value, top=False):
        if isinstance(value, dict):
            for key, inner in value.items():
                if top and key in _NOT_REFS:
                    continue
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)
        elif isinstance(value, str) and value in keys and \
                value != item['id']:
            found.append(value)
    walk(item, top=True)
    if item['type'] == 'server' and item.get('key_name') in keys:
        found.append(item['key_name'])
    return found


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
                     if key not in done and item['type'] in FOLLOWERS
                     and any(ref in done for ref in references(item, keys))]
        if not followers:
            return done
        todo.extend(followers)


def _entry_key(entry, export):
    """The item key of the resource a resource-file entry names."""
    wanted = SECTION_TYPES.get(entry.section, entry.section.rstrip('s'))
    # A floating IP is named by its address.
    address = getattr(entry, 'address', None)
    for item in export.items:
        if item['type'] != wanted:
            continue
        if entry.id is not None:
            if item['id'] == entry.id:
                return item['id']
        elif address is not None:
            if item.get('address') == address:
                return item['id']
        elif item.get('name') == entry.name:
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
        if i['type'] in seen.chosen_types and seen.lacks(i['id'])}
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
    marks (missing in the target, clashing, not fitting now)."""
    dr = module()
    missing = sorted(i['id'] for i in export.items
                     if i['type'] in seen.chosen_types
                     and seen.lacks(i['id']))
    clashes = sorted(i['id'] for i in export.items if any(
        message.startswith(dr.describe(i) + ':') for message in seen.clashes))
    not_fitting = []
    source = os.path.join(export.output_dir, RESOURCES)
    if not result.fits and os.path.isfile(source):
        _fit, _rest, taken = _split(export, seen, cost, found,
                                    ResourceFile.load(source))
        not_fitting = sorted(i['id'] for i in export.items
                             if i['id'] not in taken)
    data = {'fits': result.fits, 'problems': list(result.problems),
            'missing': missing, 'clash': clashes,
            'not_fitting': not_fitting}
    path = os.path.join(export.output_dir, 'check.yml')
    render.write_atomic(path, yaml.safe_dump(data, sort_keys=False,
                                             allow_unicode=True))
    return path

"""The export: resolve the resource file against the source cloud, follow
dependencies, fetch the blobs, and write the playbook.

Each type is listed once (see resources.base.Inventory) however many servers
share it, and each resource becomes one record, however many times it is
reached.
"""

import dataclasses
import logging
import os

from downpour import (
    ansiblefiles,
    cloud,
    manifest,
    outdir,
    render,
    space,
    transfer,
    vault,
)
from downpour.errors import DownpourError, ResolveError
from downpour.importer.definitions import ORDER
from downpour.resources import BY_SECTION, BY_TYPE
from downpour.resources.base import Inventory

LOG = logging.getLogger(__name__)

# The copy of the resource file in the output directory.
RESOURCES = 'resources.yml'


@dataclasses.dataclass
class ResultRow:
    type: str
    name: str
    old_id: str
    size: int | None
    blob: str | None


@dataclasses.dataclass
class ExportResult:
    output_dir: str
    records: list
    resources: list
    warnings: list


class Exporter:
    """Holds the inventory and the records found so far."""

    def __init__(self, conn, source=None, with_load_balancers=False):
        self.conn = conn
        # Whether a server brings the load balancers whose pools hold it
        # (a load balancer always brings the servers of its pools).
        self.with_load_balancers = with_load_balancers
        self.inventory = Inventory(conn)
        self.source = source or 'the resource file'
        self._records = {}
        self._order = []
        self._entries = {}
        self.warnings = []

    # --- the API the resource types use ---------------------------------

    def add(self, record, key_type=None):
        key = (key_type or record.type, record.old_id)
        self._records[key] = record
        if record.type != (key_type or record.type):
            self._records[(record.type, record.old_id)] = record
        self._order.append(record)

    def find(self, type_name, old_id):
        return self._records.get((type_name, old_id))

    def records_of(self, type_name):
        return [r for r in self._order if r.type == type_name]

    def record(self, rtype, obj, entry=None, **kwargs):
        existing = self.find(rtype.type, obj.id)
        if existing is not None:
            return existing
        return rtype.build(self, obj, entry, **kwargs)

    def home(self, name):
        """The export home of type ``name``: for a home that cannot import
        another, which imports it."""
        return BY_TYPE[name]

    def describe(self, record, entry=None):
        entry = entry or self._entries.get(id(record))
        if entry is not None:
            return '%s: %s' % (self.source, entry.describe())
        return '%s %r (%s)' % (record.type, record.name, record.old_id)

    def warn(self, message):
        # Once each: a resource reached from several servers is one problem.
        if message not in self.warnings:
            LOG.warning('%s', message)
            self.warnings.append(message)

    # --- resolving the resource file ------------------------------------

    def lookup(self, entry):
        """The one source object the entry names, or ResolveError."""
        rtype = BY_SECTION[entry.section]
        objects = rtype.all(self)
        if entry.id is not None:
            matches = [o for o in objects if o.id == entry.id]
            # Keypairs have no ID but their name.
        else:
            # A floating IP has no name but its address.
            wanted = getattr(entry, rtype.definition.named_by)
            matches = [o for o in objects if rtype.called(o) == wanted]
        where = '%s: %s' % (self.source, entry.describe())
        if not matches:
            raise _NotFound('%s matches nothing in the source cloud'
                            % where, entry)
        if len(matches) > 1:
            raise ResolveError(
                '%s matches %d resources (%s); give its id instead'
                % (where, len(matches),
                   ', '.join(sorted(str(o.id) for o in matches))))
        return rtype, matches[0]

    def warn_leftover_captures(self):
        """Name the captures an earlier export left in the source (killed
        before it could delete them, or run with --keep-captures): downpour
        deletes only what the running export made.  Only when the images
        were listed anyway, so that this costs no request."""
        images = self.home('image')
        if not self.inventory.listed(images.type):
            return
        project = self.conn.current_project_id
        for image in images.all(self):
            if (image.name or '').startswith(transfer.CAPTURE_PREFIX) and \
                    image.owner == project:
                self.warn('image %r (%s) in the source was left by an '
                          'earlier export (killed, or run with '
                          '--keep-captures); delete it if it is not needed'
                          % (image.name, image.id))

    def resolve(self, entries):
        # Every entry is looked up before any is followed, so that all the
        # names the source lacks are said at once, not one per run.
        found, problems = [], []
        for entry in entries:
            try:
                found.append((entry,) + self.lookup(entry))
            except ResolveError as exc:
                problems.append(exc)
        if problems:
            raise _all_of(self.source, problems)
        for entry, rtype, obj in found:
            existing = self.find(rtype.type, obj.id)
            if existing is None:
                existing = rtype.build(self, obj, entry)
                self._entries[id(existing)] = entry
            else:
                rtype.named_again(self, existing, obj, entry)
        for rtype in BY_TYPE.values():
            rtype.after_resolve(self)
        return ordered(self._order)


class _NotFound(ResolveError):

    def __init__(self, message, entry):
        super().__init__(message)
        self.entry = entry


def _all_of(source, problems):
    """One error for every entry that cannot be looked up."""
    if len(problems) == 1:
        return problems[0]
    missing = [p.entry.describe() for p in problems
               if isinstance(p, _NotFound)]
    said = ['%s: %d entries match nothing in the source cloud: %s' % (
        source, len(missing), ', '.join(missing))] if len(missing) > 1 \
        else []
    said += [str(p) for p in problems
             if len(missing) < 2 or not isinstance(p, _NotFound)]
    return ResolveError('; '.join(said))


def ordered(records):
    """Records in dependency order, first-reached first among equals.

    Each gets its playbook variable: '<type>_<position>'.
    """
    done, result, visiting = set(), [], set()

    def visit(record, path):
        if id(record) in done:
            return
        if id(record) in visiting:
            names = ' -> '.join('%s %r' % (r.type, r.name)
                                for r in path + [record])
            raise ResolveError('circular dependency: %s' % names)
        visiting.add(id(record))
        for dep in record.dependencies():
            if dep is not record:
                visit(dep, path + [record])
        visiting.discard(id(record))
        done.add(id(record))
        result.append(record)

    for record in records:
        visit(record, [])
    for position, record in enumerate(result, 1):
        record.var = '%s_%03d' % (record.type, position)
    return result


def _entries(resource_file):
    entries = []
    # What saves state first, what reaches more first (servers before
    # volumes): the resources an entry reaches take their options
    # (save_state of attached volumes) from it, and explicit entries refine
    # them.
    stateful = [t for t in reversed(ORDER)
                if t.section and 'save_state' in t.options]
    rest = [t for t in ORDER if t.section and t not in stateful]
    for definition in stateful + rest:
        entries.extend(resource_file.entries(definition.section))
    return entries


def check_not_empty(resource_file):
    """Refuse a resource file that names nothing: an export of nothing
    would be a playbook that imports nothing, reported as a success."""
    if not _entries(resource_file):
        raise DownpourError(
            '%s names no resources: nothing to export (add some with '
            'downpour query)' % getattr(resource_file, 'path',
                                        'the resource file'))


def export(conn, resource_file, output_dir, *, keep_captures=False,
           parallel=4, cloud_name=None, reuse_captures=False,
           recapture=False, capturing=8,
           volume_format=transfer.VOLUME_FORMAT, vault_secret=None,
           with_load_balancers=False):
    """``vault_secret``: the vault password (vault.load_password) the
    secrets' payloads are encrypted with; an export with payloads stops
    without it, before it writes anything."""
    check_not_empty(resource_file)
    exporter = Exporter(conn, source=getattr(resource_file, 'path', None),
                        with_load_balancers=with_load_balancers)
    # The lock first: a second export into this directory stops at once.
    with outdir.private_files():
        created = outdir.make_private(output_dir)
        writing = False
        try:
            with outdir.locked(output_dir) as lock:
                try:
                    records = exporter.resolve(_entries(resource_file))
                    vault.require(records, vault_secret)
                    for rtype in BY_TYPE.values():
                        rtype.read_contents(exporter)
                    exporter.warn_leftover_captures()
                    state = outdir.ExportState(output_dir, fresh=recapture)
                    captures = transfer.Captures(state, reuse_captures)
                    space.check(records, output_dir, captures)
                except BaseException:
                    # Nothing written: the directory is left as it was.
                    lock.discard()
                    raise
                writing = True
                _keep_resource_file(resource_file, output_dir)
                if state.resuming:
                    LOG.warning('continuing the export into %s begun at %s '
                                '(--recapture takes its captures again)',
                                output_dir, outdir.iso(state.started_at))
                _write(conn, exporter, records, output_dir, cloud_name,
                       captures, keep_captures=keep_captures,
                       parallel=parallel, capturing=capturing,
                       volume_format=volume_format,
                       vault_secret=vault_secret)
        except BaseException:
            if not writing:
                outdir.remove_created(created)
            raise
    rows = []
    for record in records:
        size = record.blob.size if record.blob else None
        rows.append(ResultRow(type=record.type, name=record.name,
                              old_id=record.old_id, size=size,
                              blob=record.blob.path if record.blob else None))
    return ExportResult(output_dir=output_dir, records=records,
                        resources=rows, warnings=exporter.warnings)


def _keep_resource_file(resource_file, output_dir):
    """A copy of the resource file, with its options, beside the playbook:
    downpour check --fit splits it by what fits the target."""
    from downpour.resourcefile import ResourceFile
    copy = ResourceFile(os.path.join(output_dir, RESOURCES))
    for section in resource_file.as_dict():
        for entry in resource_file.entries(section):
            copy.add(entry)
    if os.path.exists(copy.path):
        os.unlink(copy.path)
    copy.save()


def _write(conn, exporter, records, output_dir, cloud_name, captures,
           keep_captures, parallel, capturing, volume_format,
           vault_secret=None):
    """Everything written into the output directory, by its one writer."""
    captures.state.begin()
    blobs = [r.blob for r in records if r.blob is not None]
    for blob in blobs:
        if blob.kind == 'volume':
            # Asked for; the capture's own replaces it once it is taken.
            blob.disk_format = volume_format
    transfer.fetch_all(conn, blobs, output_dir, keep_captures=keep_captures,
                       parallel=parallel, captures=captures,
                       capturing=capturing)
    for rtype in BY_TYPE.values():
        rtype.write_contents(exporter, output_dir)
    for record in records:
        if record.blob is not None and record.blob.properties:
            # What the server was booted with, as its capture says, over
            # what its image says now: that image may be gone, or edited.
            record.params['properties'] = dict(
                record.params.get('properties') or {},
                **record.blob.properties)
    # Carried by the playbook too: the import may run elsewhere, with only
    # the output directory.
    source = cloud.identity(conn)
    # Before the playbook that reads it.
    vault.write(records, output_dir, vault_secret)
    render.write_playbook(records, output_dir, source=source)
    render.write_readme(output_dir)
    ansiblefiles.write(output_dir)
    manifest.write(records, output_dir, cloud_name=cloud_name,
                   warnings=exporter.warnings, source=source)
    captures.state.finish()

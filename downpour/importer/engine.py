"""The one loop every kind goes through (find, compare, create or
correct), the look that is its check mode, and what a run reports."""

import collections
import concurrent.futures
import functools
import os
import threading

from . import definitions, lock
from .journal import Journal
from .kind import (
    ADOPTED,
    CREATED,
    MAPPED,
    REUSED,
    ImportFailed,
    csv_type,
    describe,
)
from .orphans import orphans
from .pipeline import Pipeline

# The kinds, in the order the work is done: each needs only those before
# it (definitions.ORDER, from the references).
KINDS = tuple(t.home for t in definitions.ORDER)
# The target's lists the kinds read (``Kind.lists``), each one call (with
# its pages), fetched once per run and shared: by name, how the kind that
# owns it lists it.
LISTS = {kind.lists[0]: kind.fetch for kind in KINDS if kind.fetch}
# The playbook's maps, one for each chosen type.
MAPS = tuple(t.map for t in definitions.ORDER if t.map)
# Lists asked for at once as a run starts: asked in turn, each service
# would sit idle while the others answer.
LISTS_AT_ONCE = 8


class Importer:
    """Runs the kinds in dependency order over a list of items."""

    # Whether ``run`` leaves out what a hand edit of the playbook left
    # with nothing that needs it (orphans.py): so the module does, which
    # is given the playbook's lists; check has them left out already
    # (check.Export.load).  Off for a bare list of items, as a type's own
    # tests give (a flavor alone).
    prune_orphans = False

    def __init__(self, conn, ids=None, journal=None, check_mode=False,
                 parallel=4, name_clash='create', widen_default_group=False,
                 replace_stale=False, payloads=None, **maps):
        """``maps``: the playbook's map of each chosen type, by the name
        its declaration gives (flavor_map, network_map ...).
        ``widen_default_group``: the source's default security group's
        rules may go into the target project's own, even when ports this
        import did not make are in it.  ``replace_stale``: what the
        import made from an older capture than the export's is made
        again from the export's (else the import stops on it).
        ``payloads``: the secrets' payloads by item key, as the playbook
        read them from the vault file (never in an item, never said)."""
        self.conn = conn
        self.payloads = dict(payloads or {})
        # The URL (secret_ref, container_ref) of each Barbican item found
        # or made, by key: what other services are given, not its ID.
        self.hrefs = {}
        unknown = set(maps) - set(MAPS)
        if unknown:
            raise TypeError('no type is chosen by %s' % ', '.join(
                sorted(unknown)))
        self.maps = {name: dict(value or {}) for name, value in maps.items()}
        self.choices = []
        self.unmatched = []
        self.name_clash = name_clash
        self.widen_default_group = bool(widen_default_group)
        self.replace_stale = bool(replace_stale)
        # What the import made from another capture than the export's: a
        # line each, and their keys.
        self.stale = []
        self.stale_keys = []
        # Of each item replaced for that: what it was, by key.
        self.replaced = {}
        # What the replacements took the place of, kept until the end of
        # the run (a volume may be a server's root until the server is
        # made again): (kind, resource).
        self.retired = []
        self.missing = []
        self.clashes = []
        self.ids = dict(ids or {})
        self.journal = journal or Journal(None)
        self.check_mode = check_mode
        self.parallel = parallel
        self.changed = False
        self.pending = []
        self.pending_types = []
        self.created = []
        # A row of a kind's output table (Kind.output) per item, by key.
        self.rows = {}
        self.items = []
        self._by_key = None
        self._addressed = None
        # The resource each item is, as this run last had it in hand
        # (listed, or as its create answered): what a kind that comes
        # later reads of it, with no request, though the lists were read
        # before it was made.
        self._seen = {}
        # The item a kind is busy with, for the message of a failure.
        self.working = None
        # Set by ``run``: the overlapped work of a real run.
        self.pipeline = None
        # Keys of the items no item left in the playbook refers to.
        self.orphans = []
        # Each of LISTS, once fetched (or being fetched): a future.
        self._lists = {}
        self._list_lock = threading.Lock()
        self._lock = threading.Lock()
        # One lock per key (``lock``), made on first use.
        self._locks = {}

    def lock(self, key):
        """The one lock of ``key``, for the kinds whose cloud takes one
        change at a time on a resource (Octavia, on a load balancer): the
        pipeline's threads that work on it take turns, the others go on."""
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())

    # -- the target's lists, each fetched once -----------------------------

    def listed(self, name):
        """The target's list ``name`` (of LISTS), fetched on first use;
        the pipeline's threads share it too."""
        with self._list_lock:
            future = self._lists.get(name)
            mine = future is None
            if mine:
                future = self._lists[name] = concurrent.futures.Future()
        if mine:
            # Outside the lock: another list is fetched meanwhile.
            try:
                future.set_result(list(LISTS[name](self.conn)))
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()

    def fetch_lists(self, kinds):
        """Fetch side by side every list the ``kinds`` read."""
        names = list(dict.fromkeys(name for kind in kinds
                                   for name in kind.lists))
        if len(names) < 2:
            return
        # Log in first, not once in each thread.
        self.conn.current_project_id  # noqa: B018
        with concurrent.futures.ThreadPoolExecutor(
                min(len(names), LISTS_AT_ONCE)) as pool:
            for future in [pool.submit(self.listed, name) for name in names]:
                try:
                    future.result()
                except Exception:  # noqa: BLE001, S110
                    # Raised again, with the resource named, where the
                    # kind reads the list.
                    pass

    def addressed(self, key):
        """The keys of the items that take an address of their own on
        subnet ``key``, as each one's kind says (``Kind.addresses_on``)."""
        if self._addressed is None:
            found = collections.defaultdict(list)
            for item in self.items:
                definition = definitions.BY_NAME.get(item['type'])
                if definition is None:
                    continue
                for subnet in definition.home.addresses_on(item):
                    found[subnet].append(item['id'])
            self._addressed = found
        return list(self._addressed.get(key, ()))

    def items_of(self, kind):
        return [item for item in self.items if item['type'] == kind]

    def item(self, key):
        """The item of key ``key``; None when the run has none."""
        if self._by_key is None:
            self._by_key = {item['id']: item for item in self.items}
        return self._by_key.get(key)

    def created_in_order(self):
        """What this run created, in the export's order: the pipeline's
        threads end in any order, the report should not."""
        order = {item['id']: n for n, item in enumerate(self.items)}
        return sorted(self.created,
                      key=lambda made: order.get(made['old'], len(order)))

    def rows_of(self, kind):
        """The rows of ``kind``'s output table, in the export's order."""
        return [self.rows[item['id']] for item in self.items
                if item['id'] in self.rows
                and item['type'] == kind.definition.name]

    def href(self, key):
        """The URL by which other services name the target's resource of
        item ``key`` (a secret's ``secret_ref``, a container's
        ``container_ref``), once found or made in this run; None until
        then (in check mode, for one yet to be made).  A kind that hands a
        secret to another service (a listener's TLS container) needs it
        rather than the ID."""
        return self.hrefs.get(key)

    # -- what the kinds report ---------------------------------------------

    def found(self, item, new_id):
        self.ids[item['id']] = new_id

    def chose(self, item, new_id, line):
        """``item`` (never created) is ``new_id`` in the target ('' for
        the target's default), for the reason ``line`` gives."""
        self.found(item, new_id)
        if line not in self.choices:
            self.choices.append(line)

    def unmatch(self, item, line):
        """``item`` has no match, for the reason ``line`` gives: the play
        stops before anything is created."""
        if item['id'] not in self.missing:
            self.missing.append(item['id'])
        if line not in self.unmatched:
            self.unmatched.append(line)

    def keep(self, item, new_id, how):
        """``item`` is an existing resource, taken as ``how``: recorded by
        a real run (the look changes nothing, so it leaves the row to its
        type's task, which it marks as having work)."""
        self.found(item, new_id)
        if self.journal.recall(item) == (new_id, how):
            return
        if not self.wait(item):
            self.journal.record(item, new_id, how)

    def made(self, item, new_id):
        with self._lock:
            if self.ids.get(item['id']) == new_id and \
                    self.journal.recall(item) == (new_id, CREATED):
                return  # recorded already, as soon as it existed
            self.found(item, new_id)
            self.journal.record(item, new_id, CREATED)
            made = {'type': item['type'], 'name': item['name'],
                    'old': item['id'], 'new': new_id}
            made.update(self.replaced.get(item['id']) or {})
            self.created.append(made)
            self.changed = True

    def wait(self, item):
        """In check mode, note that ``item`` needs work and say so."""
        if not self.check_mode:
            return False
        if item['id'] not in self.pending:
            self.pending.append(item['id'])
        if item['type'] not in self.pending_types:
            self.pending_types.append(item['type'])
        return True

    # -- the one loop ------------------------------------------------------

    def sync(self, kind, items):
        """Find, compare, and create or correct ``items`` of ``kind``.

        A resource is ours only when the journal says this import created
        it for that item; then it is corrected (or, broken, replaced).  A
        resource of the item's name that is not ours is a clash, handled
        as ``name_clash`` says; with nothing recorded the item is made.
        """
        if not items:
            return
        listing = kind.listing()
        by_id = {obj.id: obj for obj in listing}
        owned = self.journal.owned_ids()
        todo = []
        for item in items:
            self.working = item
            role = kind.role(item, listing)
            if role is not None:
                self.keep(item, role.id, MAPPED)
                self._then(kind, item, functools.partial(
                    self._keep, kind, item, role, False))
                continue
            recorded = self.journal.recall(item)
            obj = by_id.get(recorded[0]) if recorded else None
            ours = bool(recorded) and recorded[1] == CREATED
            if ours and obj is not None and self._stale(kind, item, obj):
                if self.wait(item) or not self.replace_stale:
                    continue
                self._replace(kind, item, obj)
                obj = None
            reason = kind.unusable(item, obj) if obj is not None else None
            if reason is not None:
                if not ours:
                    raise ImportFailed('%s: %s, which the journal records '
                                       'as %s, %s' % (
                                           describe(item), obj.id,
                                           recorded[1], reason))
                # By the look too: the play stops before making anything.
                kept = kind.irreplaceable(item, obj)
                if kept is not None:
                    raise ImportFailed('%s: %s %s; %s' % (
                        describe(item), obj.id, reason, kept))
                if self.wait(item):
                    continue
                # Ours and unusable (its upload died, it went to ERROR):
                # replaced, as the journal allows.
                kind.discard(obj)
                obj = None
            if obj is not None:
                self.found(item, obj.id)
                self._seen[item['id']] = obj
                # In the pipeline too: a port of ours gets back a group
                # made again in the same run, a server a volume, only once
                # it is there.
                self._then(kind, item, functools.partial(
                    self._keep, kind, item, obj, ours))
                continue
            name = kind.target_name(item)
            if name:
                same = [o for o in kind.scope(item, listing)
                        if o.name == name and o.id not in owned]
                if same and self._clash(kind, item, same):
                    continue
            if not self.wait(item):
                todo.append(item)
        self._create(kind, todo)
        # Once every item of the kind is found or made (in check mode too,
        # where a rule's group must be known to compare it).
        for item in items:
            self.working = item
            for key, needs, work in kind.steps(item):
                self.later(kind, item, needs, work, key=key)

    def _stale(self, kind, item, obj):
        """Whether our ``obj`` was made from another capture than the one
        ``item`` carries (the rule for every type whose items say when
        their capture was taken).  A row that does not say (an earlier
        downpour's) is stale: nothing shows that it holds this capture.
        Noted, and without ``replace_stale`` a real run stops on it."""
        now = item.get('captured_at')
        was = self.journal.captured(item)
        if not now or was == now:
            return False
        line = '%s: %s was made from the capture taken at %s; the export ' \
            'holds one taken at %s' % (describe(item), obj.id,
                                       was or 'an unknown time (recorded '
                                       'by an earlier downpour)', now)
        if item['id'] not in self.stale_keys:
            self.stale_keys.append(item['id'])
            self.stale.append(line)
        if self.replace_stale:
            kept = kind.kept_stale(item, obj)
            if kept is not None:
                raise ImportFailed('%s; %s' % (line, kept))
        elif not self.check_mode:
            raise ImportFailed('%s: run the import with -e '
                               'replace_stale=true to make it again from '
                               "the export's" % line)
        return True

    def _replace(self, kind, item, obj):
        """Make ``item`` again from the export's capture, in the place of
        our stale ``obj``: deleted first when the new one takes its place
        (a server, on the same ports), else kept until the end of the run
        (``Kind.beside``: a volume, a disk image, that a server may still
        be on)."""
        self.replaced[item['id']] = {
            'replaced': obj.id,
            'was_captured': self.journal.captured(item) or '',
            'captured': item['captured_at']}
        if kind.beside:
            self.retired.append((kind, obj))
        else:
            kind.discard(obj)

    def _clash(self, kind, item, same):
        """Handle a name the target already uses; True when ``item`` was
        taken care of (adopted)."""
        if kind.definition.same_name == 'reuse':
            return self._reuse(kind, item, same[0])
        ids = ', '.join(sorted(o.id for o in same))
        what = '%s: the target already has %d of that name that this ' \
            'import did not make (%s)' % (describe(item), len(same), ids)
        if self.name_clash == 'adopt' and kind.definition.adoptable:
            reasons = {o.id: kind.proof(item, o) for o in same}
            equal = [o for o in same if reasons[o.id] is None]
            if len(equal) == 1:
                self.keep(item, equal[0].id, ADOPTED)
                self._note('%s: adopted %s, proven equivalent'
                           % (describe(item), equal[0].id))
                kind.complete(item, equal[0], False)
                return True
            why = '; '.join('%s: %s' % (i, r or 'as equivalent as another')
                            for i, r in sorted(reasons.items()))
            if kind.definition.same_name == 'unique':
                return self._taken(item, '%s; not adopted (%s)' % (what, why))
            self._note('%s; not adopted (%s), a new one is made' % (what, why))
            return False
        if kind.definition.same_name == 'unique':
            return self._taken(item, what)
        if self.name_clash == 'adopt':
            self._note('%s; a %s is never adopted, a new one is made'
                       % (what, csv_type(item)))
        elif self.name_clash == 'stop':
            self._note(what)
            if not self.check_mode:
                raise ImportFailed('%s, and name_clash is stop' % what)
        else:
            self._note('%s; a new one is made beside it' % what)
        return False

    def _taken(self, item, what):
        """A type whose name is its identity and that nothing can be made
        beside (a Swift container), whose name the target uses: the look
        lists it with what the target lacks (the play stops before making
        anything), a real run stops on it."""
        line = '%s; its name is its identity: nothing can be made beside ' \
            'it, and it is never written into unless -e name_clash=adopt ' \
            'takes it' % what
        self._note(line)
        if not self.check_mode:
            raise ImportFailed(line)
        self.unmatch(item, line)
        return True

    def _reuse(self, kind, item, obj):
        """A type whose name is its identity in the project (a keypair):
        the same one is reused, another stops the import."""
        reason = kind.proof(item, obj)
        if reason is not None:
            raise ImportFailed('%s: %s' % (describe(item), reason))
        self.keep(item, obj.id, REUSED)
        self._then(kind, item, functools.partial(
            self._keep, kind, item, obj, False))
        return True

    def _note(self, message):
        if message not in self.clashes:
            self.clashes.append(message)

    def _then(self, kind, item, work):
        """Do ``work`` for ``item`` now, or, in a real run of a kind with a
        lane, in the pipeline once what the item needs is there."""
        self.later(kind, item, kind.needs(item), work)

    def later(self, kind, item, needs, work, key=None):
        if self.pipeline is not None and kind.definition.lane is not None:
            self.pipeline.add(item, needs, work, key,
                              kind.definition.lane)
        else:
            work()

    def _create(self, kind, todo):
        for item in todo:
            self.working = item
            self._then(kind, item, functools.partial(self._make, kind, item))

    def _keep(self, kind, item, obj, ours):
        """Correct ``obj``, found for ``item``, if it is ours, and complete
        it (in check mode: note what that would take)."""
        change = kind.corrections(item, obj) if ours else {}
        if change and not self.wait(item):
            kind.correct(item, obj, change)
            self.changed = True
        kind.complete(item, obj, ours)

    def _make(self, kind, item):
        obj = kind.create(item)
        self.made(item, obj.id)
        self._seen[item['id']] = obj
        kind.after_create(item, obj)

    def run(self, items, keep_going=False):
        """Every kind over its ``items``, in dependency order.  A failure
        stops the run; with ``keep_going`` (the look of downpour check)
        each kind's failure is kept in ``failures`` and the next kind
        runs, so that every problem is named at once."""
        # What a hand edit of the playbook left with nothing that needs
        # it is not imported (orphans.py); the look says so.
        self.orphans = [item['id'] for item in orphans(items)] \
            if self.prune_orphans else []
        items = [item for item in items if item['id'] not in self.orphans]
        self.items = list(items)
        self._by_key = None
        self._addressed = None
        self.failures = []
        unknown = sorted({item['type'] for item in items}
                         - set(definitions.BY_NAME))
        if unknown:
            message = 'unknown resource type(s): %s' % ', '.join(unknown)
            if not keep_going:
                raise ImportFailed(message)
            self.failures.append((tuple(unknown), message))
        # The look (check mode) makes nothing: no pipeline to wait on.
        self.pipeline = None if self.check_mode else Pipeline(self.parallel)
        present = [kind for kind in KINDS
                   if any(i['type'] == kind.definition.name for i in items)]
        try:
            self.fetch_lists(present)
        except Exception as exc:  # noqa: BLE001 - openstacksdk's many
            raise ImportFailed('the target: %s' % exc) from None
        for kind in present:
            mine = [i for i in items if i['type'] == kind.definition.name]
            if self.pipeline is not None and kind.definition.lane is None:
                self.pipeline.run()  # what comes after needs it done
            try:
                self._run_kind(kind, mine)
            except ImportFailed as exc:
                if not keep_going:
                    raise
                self.failures.append(((kind.definition.name,), str(exc)))
        if self.pipeline is not None:
            self.pipeline.run()
        # Once every replacement is made and in use.
        for kind, obj in self.retired:
            try:
                kind.retire(obj)
            except Exception as exc:  # noqa: BLE001 - openstacksdk's many
                raise ImportFailed(
                    '%s %s, replaced in this run by one made from a newer '
                    'capture, could not be deleted: %s; delete it once '
                    'nothing uses it' % (kind.definition.csv, obj.id,
                                         exc)) from None

    def _run_kind(self, kind, items):
        try:
            worker = kind(self)
            if kind.definition.chosen:
                worker.choose(items)
            else:
                self.sync(worker, items)
        except ImportFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - openstacksdk's many
            raise ImportFailed(self._blame(items, exc)) from None

    def target(self, key):
        """The target's resource that item ``key`` is, as the run last had
        it (listed, or as its create answered); None when it is yet to be
        made or not listed."""
        found = self.ids.get(key)
        if not found:
            return None
        seen = self._seen.get(key)
        if seen is not None and seen.id == found:
            return seen
        for future in list(self._lists.values()):
            if future.done() and future.exception() is None:
                for obj in future.result():
                    if getattr(obj, 'id', None) == found:
                        return obj
        return None

    def costs(self, blob_size):
        """The quota each item still to be made costs, by item key: what
        its declaration counts per item, and what its kind counts from the
        look (``Kind.cost``); ``blob_size(item)`` is its blob's bytes."""
        result = {}
        for item in self.items:
            definition = definitions.BY_NAME.get(item['type'])
            cost = collections.Counter()
            if definition is not None and not definition.chosen:
                made = item['id'] not in self.ids
                if made:
                    for quota in definition.quota:
                        cost[quota.key] += quota.each
                definition.home(self).cost(item, made, cost, blob_size)
            result[item['id']] = +cost
        return result

    def _blame(self, items, exc):
        item = self.working if self.working in items else None
        what = describe(item) if item else ', '.join(map(describe, items))
        return '%s: %s' % (what, exc)


# What the look and downpour check say of an item orphans() leaves out.
ORPHAN = ('no item left in the playbook refers to it (taken out by hand): '
          'not imported')
# What the import and downpour check say when the target is the project the
# export read; %s: which project (source_project()).
SOURCE_PROJECT = 'the target is the project the export read (%s)'


def source_project(conn, source):
    """Which project ``source`` (the export's, as the manifest records it)
    is, in words, when ``conn`` works in that same project; else None.

    The project ID is the identity: it is unique in its cloud, and the
    same ID in another cloud does not happen, while one cloud may be
    reached at several addresses (an alias, a proxy).  The host only
    helps to name it.
    """
    source = source if isinstance(source, dict) else {}
    wanted = source.get('project_id')
    if not wanted or str(conn.current_project_id) != str(wanted):
        return None
    name = source.get('project_name')
    return 'project %s%s at %s' % (
        wanted, ' "%s"' % name if name else '',
        source.get('host') or 'an unrecorded address')


def run_module(conn, params, check_mode, warn):
    """The import as the Ansible module runs it: ``params`` are the
    module's arguments, ``warn`` says a line to the user.  (failed,
    result): the message and what the module returns."""
    try:
        source = source_project(conn, params.get('source_project'))
    except Exception:  # noqa: BLE001 - a login that fails
        # Said by the run below, as any failure to reach the target.
        source = None
    if source is not None:
        said = SOURCE_PROJECT % source
        if not params.get('allow_source_project'):
            # Before the lock and the journal: nothing is touched.
            return ('%s: refusing to import into the source; -e '
                    'allow_source_project=true to do it on purpose' % said,
                    {'changed': False, 'created': []})
        if check_mode:
            warn('%s: importing into it, as allow_source_project asks'
                 % said)
    if params.get('journal'):
        # Before the journal is read: another run may be writing it.
        try:
            lock.hold(os.path.dirname(params['journal']) or '.')
        except ImportFailed as exc:
            return str(exc), {'changed': False, 'created': []}
    journal = Journal(params.get('journal'))
    importer = Importer(
        conn, ids=params.get('ids'), journal=journal, check_mode=check_mode,
        parallel=params.get('parallel', 4),
        name_clash=params.get('name_clash', 'create'),
        widen_default_group=params.get('widen_default_group', False),
        replace_stale=params.get('replace_stale', False),
        payloads=params.get('secret_payloads'),
        **{name: params.get(name) for name in MAPS})
    importer.prune_orphans = True
    failed = None
    try:
        importer.run(params['resources'])
    except ImportFailed as exc:
        failed = str(exc)
    # What was made before a failure is in the map too.  A local file, not
    # the cloud: kept in step with the journal even by the look, so that a
    # lost uuids.csv comes back.
    journal.write_map(params.get('uuids_csv'))
    outputs = {}
    for kind in KINDS:
        if kind.output:
            argument, key = kind.output
            outputs[key] = importer.rows_of(kind)
            kind.write_output(params.get(argument), outputs[key])
    if failed is not None:
        return failed, {'changed': importer.changed,
                        'created': importer.created_in_order()}
    if check_mode:
        for message in importer.clashes:
            warn(message)
        for item in params['resources']:
            if item['id'] in importer.orphans:
                warn('%s: %s' % (describe(item), ORPHAN))
    # In check mode, "changed" says that a run would change something.
    return None, {
        'changed': importer.changed or bool(importer.pending),
        'ids': importer.ids, 'missing': importer.missing,
        'clashes': importer.clashes, 'choices': importer.choices,
        'unmatched': importer.unmatched, 'pending': importer.pending,
        'stale': importer.stale,
        'pending_types': importer.pending_types,
        'orphans': importer.orphans,
        'created': importer.created_in_order(), **outputs}

"""What every kind shares: the questions the one loop asks a type's import
home (find, compare, create, correct), the kinds that are chosen rather
than made, and the helpers of Neutron's tags."""

# How a journal row came to be.  Only what the import created is its own to
# correct, narrow or replace.
CREATED, REUSED, ADOPTED, MAPPED = 'created', 'reused', 'adopted', 'mapped'
WAIT_SERVER = 900
WAIT_VOLUME = 900


class ImportFailed(Exception):
    """A resource could not be made; the message names it."""


def csv_type(item):
    return item.get('csv_type') or item['type']


def describe(item):
    return '%s %r (source ID %s)' % (csv_type(item), item.get('name'),
                                     item['id'])


def differs(obj, wanted):
    return {key: value for key, value in wanted.items()
            if getattr(obj, key, None) != value}


def tag_change(item, obj):
    """The exported tags, when ``obj`` lacks one or has another (tags are
    a set)."""
    wanted = item.get('tags')
    if wanted is None or set(getattr(obj, 'tags', None) or []) == \
            set(wanted):
        return {}
    return {'tags': list(wanted)}


def neutron_update(kind, obj, change, update):
    """``change`` made on ``obj``; Neutron takes tags only through their
    own call."""
    change = dict(change)
    tags = change.pop('tags', None)
    if change:
        update(obj, **change)
    if tags is not None:
        kind.conn.network.set_tags(obj, tags)


def tag_new(kind, item, obj):
    """Tags on what ``kind`` just made.  Neutron takes none in a create
    request (its ``tag-creation`` extension is about several at once on
    the tags call), so they follow at once, the resource recorded first:
    if this fails, the next run finds it and corrects its tags."""
    if item.get('tags'):
        kind.imp.made(item, obj.id)
        kind.conn.network.set_tags(obj, list(item['tags']))
    return obj


class Kind:
    """One resource type in the target: how it is listed, found, compared,
    created and corrected.  ``Importer.sync`` is the one loop that applies
    the identity rules to every kind; a kind only answers its questions.
    """

    # Its declaration (definitions.TYPES), set there: the type it handles,
    # its lane, whether it may be adopted, what it refers to.
    definition = None
    # The target's lists (names in engine.LISTS) this kind reads whenever
    # it has items: all of them are fetched at once, side by side, before
    # the first kind starts.  The first one is the kind's own listing;
    # ``fetch`` lists it, for the kind that owns it.
    lists = ()
    fetch = None
    # Its parts that the journal records on their own (Part), for the
    # journal to keep them out of uuids.csv.
    parts = ()
    # A table the kind keeps for people (a row per item, in Importer.rows):
    # the module's argument naming its file and the key of its rows in the
    # module's result; ``write_output(path, rows)`` writes it.
    output = None
    write_output = None

    def __init__(self, importer):
        self.imp = importer
        self.conn = importer.conn

    def listing(self):
        """The target's resources of this kind: one list call."""
        return self.imp.listed(self.lists[0])

    def role(self, item, listing):
        """The resource of ``listing`` that ``item`` is by its role in the
        project (the project's default security group), never made and
        never the import's own; None for an item that has none."""
        return None

    @staticmethod
    def addresses_on(item):
        """The keys of the subnets on which ``item`` takes an address of
        its own (a port's fixed IPs): a DHCP agent must not take them
        first."""
        return ()

    def steps(self, item):
        """Work on ``item``'s parts that waits for more than the item
        itself needs, once every item of the kind is found or made: (key,
        the keys it waits for, work).  A group's rules wait for the groups
        they name."""
        return ()

    def target_name(self, item):
        """The name ``item``'s resource has in the target: a resource of
        that name the import did not make is a clash."""
        return item.get('name')

    def scope(self, item, listing):
        """The resources of ``listing`` that ``item`` could be."""
        return listing

    def unusable(self, item, obj):
        """Why the recorded ``obj`` cannot be kept as ``item`` (None: it
        can); one of ours that cannot (an image whose upload died or whose
        bytes are not the exported ones, a server in ERROR) is deleted and
        made again."""
        return None

    def irreplaceable(self, item, obj):
        """Why our unusable ``obj`` is not replaced all the same: deleting
        it would lose data that may still be there (a volume whose extend
        failed).  The import stops with this, which says what the user can
        do; None: it is replaced."""
        return None

    # Whether a resource of ours made from an older capture than the
    # export's is made again beside it, and retired once the run is done
    # (a volume, an image, that a server may still use until it is made
    # again), rather than discarded first (a server: the new one takes
    # its ports).
    beside = False

    def kept_stale(self, item, obj):
        """Why our ``obj``, made from an older capture, is not replaced
        all the same (as ``irreplaceable`` says of an unusable one); None:
        it is."""
        return None

    def retire(self, obj):
        """Our ``obj``, which a resource made from a newer capture
        replaced in this run: deleted, as nothing of the import uses it
        any more."""
        self.discard(obj)

    def proof(self, item, obj):
        """Why ``obj`` is not equivalent to ``item`` (None: it is)."""
        return 'never adopted'

    def corrections(self, item, obj):
        """What to change on our own ``obj`` to make it ``item``."""
        return {}

    def correct(self, item, obj, change):
        raise NotImplementedError

    def create(self, item):
        """Make ``item``; the new resource.  One that waits for the cloud
        records it with ``self.imp.made`` as soon as it exists."""
        raise NotImplementedError

    def needs(self, item):
        """The keys (source IDs) of the resources ``item`` is made with,
        as its declaration's refs say: its work starts once theirs has
        ended."""
        return tuple(self.definition.references(item, needed_only=True))

    def after_create(self, item, obj):
        self.complete(item, obj, True)

    def discard(self, obj):
        raise NotImplementedError

    def complete(self, item, obj, ours):
        """The parts of ``item`` kept outside its own record (rules,
        interfaces, attachments).  ``ours`` is False for a resource this
        import did not make: it may only gain, never lose."""

    def cost(self, item, made, cost, blob_size):
        """Add to ``cost`` (a Counter by quota key) what ``item`` costs
        beyond its declaration's count per item, as the look found the
        target (``made``: it is still to be made)."""

    def resolve(self, item, key, what):
        """The target ID of the resource ``key`` that ``item`` needs; None
        in check mode when it is yet to be made."""
        found = self.imp.ids.get(key)
        if found is None and not self.imp.wait(item):
            raise ImportFailed('%s: its %s (source ID %s) was neither found '
                               'nor made' % (describe(item), what, key))
        return found


class Part:
    """A part of an item that the journal records on its own, and never
    in uuids.csv (a router's interface port, a volume's contents image):
    found by the ID the journal recorded, kept when it still serves, else
    discarded and made again, and recorded the moment it exists, so that a
    run stopped half-way uses it instead of making another."""

    # Its name in the journal, and the target's list it is found in.
    csv = None
    list = None

    def __init__(self, kind):
        self.kind = kind
        self.imp = kind.imp
        self.conn = kind.conn

    def item(self, key, name):
        """The journal's item for the part ``key`` of the item ``name``."""
        return {'type': self.csv.replace(' ', '_'), 'csv_type': self.csv,
                'id': key, 'name': name}

    def serves(self, part, obj, source):
        """Whether the recorded ``obj`` can still be used."""
        return True

    def discard(self, obj):
        """Ours, and of no use: the next one replaces it."""

    def make(self, part, source):
        """Make the part; the new resource, recorded with ``record``."""
        raise NotImplementedError

    def record(self, part, new_id):
        self.imp.journal.record(part, new_id, CREATED)

    def get(self, part, source):
        """The part, recorded and still serving, or made now."""
        recorded = self.imp.journal.recall(part)
        if recorded:
            # From the run's shared list, not a request each.
            obj = next((o for o in self.imp.listed(self.list)
                        if o.id == recorded[0]), None)
            if obj is not None:
                if self.serves(part, obj, source):
                    return obj
                self.discard(obj)
        return self.make(part, source)


class Chosen(Kind):
    """Types that are never created but chosen among what the target has
    that the item may be (``scope``): the map entry (flavor_map,
    network_map; an ID or a name), else the one of the same name, else
    ``fallback``.  Those with no match are listed in ``missing``, for the
    play to stop on; so are those with more than one, which are named: a
    name does not say which, an ID in the map does."""

    def mapping(self):
        """The playbook's map for this type (its declaration's ``map``)."""
        return self.imp.maps.get(self.definition.map) or {}

    def fallback(self, item, candidates):
        return []

    def choose(self, items):
        listing = self.listing()
        for item in items:
            self.imp.working = item
            candidates = self.scope(item, listing)
            mapped = self.mapping().get(item['name'])
            if mapped is None:
                found = [c for c in candidates if c.name == item['name']]
            else:
                # By its ID (as the line below tells the user to when a
                # name is given to several), else by its name.
                found = [c for c in candidates if c.id == str(mapped)] or \
                    [c for c in candidates if c.name == str(mapped)]
            if not found and mapped is None:
                # The best of the others, first.
                found = self.fallback(item, candidates)[:1]
            if len(found) > 1:
                self.imp.unmatch(item, '%s %r: the target has %d it may '
                                 'be, of the name %r (%s); name one by its '
                                 'ID in %s' % (
                                     item['type'].replace('_', ' '),
                                     item['name'], len(found),
                                     found[0].name, ', '.join(sorted(
                                         c.id for c in found)),
                                     self.definition.map))
            elif found:
                self.imp.found(item, found[0].id)
            elif item['id'] not in self.imp.missing:
                self.imp.missing.append(item['id'])


class Defaulted(Chosen):
    """Chosen where the target always has an answer: its default, asked
    for by naming none (an empty ID).  Only a map entry that names what the
    target lacks is unmatched.  Every choice is reported."""


    def label(self, item):
        """What ``item`` is, in the lines of the report."""
        raise NotImplementedError

    def candidates(self, item):
        """What the target may give ``item``, by name."""
        raise NotImplementedError

    def chosen_id(self, obj):
        return obj.id

    def default_name(self, item):
        return None

    def choose(self, items):
        for item in items:
            self.imp.working = item
            what = '%s %r' % (self.label(item), item['name'])
            have = self.candidates(item)
            mapped = self.mapping().get(item['name'])
            if mapped is not None and str(mapped) != '':
                mapped = str(mapped)
                if mapped not in have:
                    self.imp.unmatch(item, '%s: %s names %r, which the '
                                     'target does not have' % (
                                         what, self.definition.map, mapped))
                    continue
                self.imp.chose(item, self.chosen_id(have[mapped]),
                               '%s -> %r (%s)' % (what, mapped,
                                                    self.definition.map))
            elif mapped is None and item['name'] in have:
                self.imp.chose(item, self.chosen_id(have[item['name']]),
                               '%s -> %r (same name)' % (what,
                                                           item['name']))
            else:
                default = self.default_name(item)
                self.imp.chose(item, '', "%s -> the target's default%s (%s)"
                               % (what, ' %r' % default if default else '',
                                  '%s says so' % self.definition.map
                                  if mapped is not None else
                                  'it has none of that name'))

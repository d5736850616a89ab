"""What every resource type shares: the record, the blob it may need, and
the inventory that lists each type from the source cloud once.
"""

import dataclasses
import re

from downpour.errors import CloudError, ResolveError

# A source cloud chooses its IDs; a hostile one could answer '../..'.  Only
# IDs that match this become part of a file name.
UUID_RE = re.compile(
    r'\A[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?'
    r'[0-9a-fA-F]{12}\Z')


def human_size(num_bytes):
    value = float(num_bytes)
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if value < 1024 or unit == 'GiB':
            return ('%d %s' % (value, unit) if unit == 'B'
                    else '%.1f %s' % (value, unit))
        value /= 1024
    return ''  # pragma: no cover


def checked_uuid(value, what):
    if not isinstance(value, str) or not UUID_RE.match(value):
        raise ResolveError('%s has an ID that is not a UUID: %r' % (what, value))
    return value


@dataclasses.dataclass
class Blob:
    """Bytes that must be in OUTDIR/blobs/<file_id> before the import runs.

    ``kind`` says how to get them: 'image' (download image ``source_id``),
    'server' (capture the server, then download), 'volume' (capture the
    volume, then download).
    """

    kind: str
    file_id: str
    source_id: str
    what: str
    volume_in_use: bool = False
    # A volume's size (GiB): the target makes the volume from the capture
    # only if the capture's bytes fit in it.
    volume_size_gib: int | None = None
    # A server's capture: at most this many bytes (its virtual disk), when
    # known before it is taken; for the export's check of free space.
    size_bound: int | None = None
    # Filled by the transfer: what was verified.
    size: int | None = None
    hash_algo: str | None = None
    hash_value: str | None = None
    # Of a capture, as the source cloud made it (the target checks that
    # the data matches the format it is told).
    disk_format: str | None = None
    container_format: str | None = None
    # Digests of the bytes on disk, by algorithm (sha256, md5 and the
    # source's own): what the import checks the file and the upload with,
    # whatever algorithm either cloud's Glance uses.
    digests: dict | None = None
    # When the capture of a server or volume was taken (ISO 8601, UTC).
    captured_at: str | None = None
    # Of a server's capture: the image properties the source gave it.
    # Nova copies into it those of the image the server was booted from
    # (firmware, disk bus, machine type), even when that image is gone.
    properties: dict | None = None

    @property
    def path(self):
        return 'blobs/' + checked_uuid(self.file_id, self.what)


@dataclasses.dataclass(eq=False)
class Record:
    """One resource to recreate in the target.

    ``params`` holds what is sent to the target; ``info`` what is only known
    about the source.  ``refs`` points at the records this one needs, by
    role, never by name.  ``var`` is a name unique in the export, set
    when the records are put in order.  ``payload`` is a secret's.
    """

    type: str
    old_id: str
    name: str
    params: dict = dataclasses.field(default_factory=dict)
    info: dict = dataclasses.field(default_factory=dict)
    refs: dict = dataclasses.field(default_factory=dict)
    blob: Blob | None = None
    var: str | None = None
    # A secret's bytes: written to the vault file only (downpour/vault.py),
    # never to the playbook, the manifest or a message.
    payload: bytes | None = dataclasses.field(default=None, repr=False)

    def dependencies(self):
        for value in self.refs.values():
            if isinstance(value, Record):
                yield value
            elif isinstance(value, (list, tuple)):
                for item in value:
                    if isinstance(item, Record):
                        yield item
                    elif isinstance(item, dict):
                        yield from (v for v in item.values()
                                    if isinstance(v, Record))

    def __repr__(self):
        return '<Record %s %r %s>' % (self.type, self.name, self.old_id)


class Inventory:
    """Each type's list from the source, fetched once and kept."""

    def __init__(self, conn):
        self.conn = conn
        self._lists = {}

    def get(self, key, fetch):
        if key not in self._lists:
            try:
                self._lists[key] = list(fetch(self.conn))
            except CloudError:
                raise
            except Exception as exc:  # openstacksdk raises many kinds
                raise CloudError('cannot list %s in the source cloud: %s'
                                 % (key, exc)) from None
        return self._lists[key]

    def listed(self, key):
        """Whether ``key`` was listed already (nothing is fetched)."""
        return key in self._lists

    def by_id(self, key, fetch):
        index_key = key + ':by-id'
        if index_key not in self._lists:
            self._lists[index_key] = {
                obj.id: obj for obj in self.get(key, fetch)}
        return self._lists[index_key]


class ResourceType:
    """A resource type's export home: how to list it in the source, find
    what a resource-file entry names, and read it into a record.

    Subclasses set ``type``, the name of its declaration
    (downpour.importer.definitions), which ``definition`` is once the
    package has found its homes.
    """

    type = None
    definition = None
    # Whether its item_id may stand inside an expression of the playbook
    # (a UUID checked, or a variable downpour chose).
    in_expressions = True
    # The catalogue's service type, for a service many clouds lack
    # (Barbican): ``downpour query --all`` leaves the section out there.
    optional_service = None

    @staticmethod
    def item_id(record):
        """The key of ``record`` in the playbook's typed lists and in
        downpour_ids: its old ID, checked to be a UUID, so that it is safe
        inside an expression."""
        return checked_uuid(record.old_id, repr(record))

    @classmethod
    def list(cls, conn):
        raise NotImplementedError

    @classmethod
    def all(cls, exporter):
        return exporter.inventory.get(cls.type, cls.list)

    @classmethod
    def by_id(cls, exporter):
        return exporter.inventory.by_id(cls.type, cls.list)

    @classmethod
    def build(cls, exporter, obj, entry=None):
        """Make the record for ``obj`` (registered first, then refs)."""
        raise NotImplementedError

    @staticmethod
    def detail(item, blob_size):
        """What downpour graph writes under its name, from the item the
        playbook lists (``blob_size``: its blob's bytes, or None)."""
        return ''

    @staticmethod
    def called(obj):
        """What a resource-file entry names it by (its definition's
        ``named_by``): its name, for most."""
        return obj.name

    @classmethod
    def named_again(cls, exporter, record, obj, entry):
        """``entry`` names ``record``, which was reached already from
        another entry: what its options add (a volume's contents)."""

    @classmethod
    def read_contents(cls, exporter):
        """Called by the export alone (never by graph, which resolves
        too), once the password checks passed and before anything is
        written: what it reads beyond the records (a secret's payload)."""

    @classmethod
    def write_contents(cls, exporter, output_dir):
        """Called by the export alone, once the blobs are fetched and
        before the playbook is written: what the type writes into the
        output directory beside its records (a container's objects)."""

    @classmethod
    def after_resolve(cls, exporter):
        """Called once every entry is resolved, in the order of TYPES: what
        depends on the whole export is found here (a router's routes on
        its final interfaces, the floating IPs of the exported ports)."""

    # -- downpour query (downpour.query) -----------------------------------

    @classmethod
    def query_list(cls, conn, filters):
        """What ``downpour query`` looks among for ``filters``: what the
        export lists."""
        return cls.list(conn)

    @classmethod
    def query_restriction(cls, conn, filters):
        """A test each resource the query adds must pass besides its
        name; None: any may be added."""
        return None

    @classmethod
    def query_all_restriction(cls, conn, filters):
        """The test of ``--all`` when no names of the type are given;
        None: all of them."""
        return None

    # --used: a classmethod ``used_by(context)`` (context: the query's
    # downpour.query.Context) giving the test that keeps what the selected
    # servers use.  None: --used does not touch the type.
    used_by = None


class ChosenByName(ResourceType):
    """A type the target chooses for the items that name it (a volume
    type, a zone, a flavor of Octavia's): its records are keyed by a name,
    one shared by every item of that name, and the playbook refers to each
    by the variable downpour chose, since a name may hold anything."""

    @staticmethod
    def item_id(record):
        return record.var

    @classmethod
    def named(cls, exporter, name, key=None, **params):
        """The record of ``name`` (kept under ``key``, else the name), made
        the first time; None for no name."""
        if not name or not isinstance(name, str):
            return None
        key = key or name
        existing = exporter.find(cls.type, key)
        if existing is not None:
            return existing
        record = Record(type=cls.type, old_id=key, name=name, params=params)
        exporter.add(record)
        return record


def owned(conn):
    """A query restriction to what the project owns: a member cannot
    recreate what it does not own (another project's shared network)."""
    project_id = conn.current_project_id
    return lambda resource: resource.project_id == project_id

"""What the export homes of Octavia's types share: their listings, and
the fields read as Octavia gives them.

Octavia is read through openstacksdk's adapter, not its resource classes,
which drop fields downpour carries (see downpour.importer.octavia)."""

from downpour.errors import ResolveError
from downpour.importer.octavia import listing


def project_list(path, key):
    """A ResourceType.list of the project's objects at ``path``."""
    def list_(cls, conn):
        return listing(conn, path, key, 'the source',
                       project_id=conn.current_project_id)
    return classmethod(list_)


def fields(obj, keys):
    """``obj``'s values of ``keys``, those it leaves unset left out (an
    empty list or map is Octavia's way of saying none)."""
    return {key: obj[key] for key in keys
            if obj.get(key) not in (None, [], {})}


def state(obj):
    """What every object of Octavia's carries besides its own fields."""
    return {'tags': sorted(str(t) for t in obj.tags or []),
            'admin_state_up': bool(obj.admin_state_up)}


def ids(refs):
    """The IDs in a list of Octavia's references ([{"id": ...}])."""
    return [ref.get('id') for ref in refs or [] if isinstance(ref, dict)]


def certificates(exporter, record, obj, tls, entry=None):
    """The secrets and containers ``obj`` names by URL (its certificates,
    a CA, a CRL) as refs of ``record``: ``tls`` is its import home's
    table, (the item's field, Octavia's field).  One that is not the
    project's stops the export: its payload cannot be copied."""
    home = exporter.home('secret_container')
    for field, octavia_field in tls:
        value = obj.get(octavia_field)
        if not value:
            continue
        found = []
        for href in value if isinstance(value, list) else [value]:
            ref = home.for_ref(exporter, href)
            if ref is None:
                raise ResolveError(
                    '%s refers in %s to %s, which is not among the '
                    "project's secrets and containers: it cannot be carried"
                    % (exporter.describe(record, entry), octavia_field,
                       href))
            found.append(ref)
        record.refs[field] = found if isinstance(value, list) else found[0]

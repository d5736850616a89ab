"""What the export homes of Octavia's types share: their listings, and
the fields read as Octavia gives them.

Octavia is read through openstacksdk's adapter, not its resource classes,
which drop fields downpour carries (see downpour.importer.octavia)."""

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


def refuse_tls(exporter, record, obj, tls_fields, entry=None):
    """Stop the export at an object that uses Barbican's certificates:
    the secrets they name are not carried yet."""
    used = [key for key in tls_fields if obj.get(key)]
    if used:
        from downpour.errors import ResolveError
        raise ResolveError(
            '%s refers to TLS certificates in Barbican (%s), which are not '
            'carried yet: export it once downpour carries secrets, or '
            'recreate its TLS settings in the target by hand' % (
                exporter.describe(record, entry), ', '.join(used)))

"""Barbican containers (generic, certificate, rsa): carried with every
secret they hold, each named by its record, never by its URL."""

import urllib.parse

from downpour.errors import ResolveError
from downpour.importer.secret import Stored, uuid_of
from downpour.resources.base import Record, ResourceType, checked_uuid


class SecretContainer(ResourceType):
    type = 'secret_container'
    optional_service = 'key-manager'

    @staticmethod
    def detail(item, blob_size):
        return '%s, %d secrets' % (item.get('container_type') or '',
                                   len(item.get('secret_refs') or []))

    @classmethod
    def list(cls, conn):
        return [Stored(c, 'container_ref')
                for c in conn.key_manager.containers()]

    @classmethod
    def for_ref(cls, exporter, href):
        """The record of the container or secret at URL ``href``, as
        another service names it (a listener's TLS container, which Octavia
        also takes as a PKCS#12 secret); None when the project has none
        there.  Each list is read once per export."""
        path = urllib.parse.urlsplit(str(href or '')).path
        home = cls if '/containers/' in path else \
            exporter.home('secret') if '/secrets/' in path else None
        found = home.by_id(exporter).get(uuid_of(href)) if home else None
        return exporter.record(home, found) if found is not None else None

    @classmethod
    def build(cls, exporter, obj, entry=None):
        checked_uuid(obj.id, 'secret container %r' % obj.name)
        record = Record(type=cls.type, old_id=obj.id, name=obj.name or '',
                        params={'container_type': obj.type})
        exporter.add(record)
        secrets = exporter.home('secret')
        by_id = secrets.by_id(exporter)
        refs = []
        for ref in obj.secret_refs or []:
            found = by_id.get(uuid_of(ref.get('secret_ref')))
            if found is None:
                # Another project's, shared by an ACL: its payload is not
                # the project's to copy.
                raise ResolveError(
                    '%s holds secret %s, which is not among the project\'s '
                    'secrets' % (exporter.describe(record, entry),
                                 ref.get('secret_ref')))
            refs.append({'name': ref.get('name'),
                         'secret': exporter.record(secrets, found)})
        record.refs['secret_refs'] = refs
        return record

"""Swift containers: a name is a container's identity in the account, so
one is never made beside another (its declaration's ``same_name`` is
``unique``): a same-named container the journal does not record as the
import's own stops the import, unless ``name_clash=adopt`` takes it, which
may only add objects to it."""

from . import swift, swift_objects
from .kind import ImportFailed, Kind, describe


class SwiftContainers(Kind):

    lists = ('swift_containers',)

    @staticmethod
    def fetch(conn):
        return swift.containers(conn)

    def wanted(self, item):
        """What ``item`` asks of its container, as ``container_state``
        reads it from the target."""
        versions = None
        if item.get('versions') and item.get('versions_mode') in \
                swift.VERSIONS and self._name_of(item['versions']):
            versions = (item['versions_mode'], self._name_of(
                item['versions']))
        return {'metadata': {str(k).title(): str(v) for k, v in
                             (item.get('metadata') or {}).items()},
                'read_acl': swift.acl(','.join(item.get('read_acl') or [])),
                'write_acl': swift.acl(','.join(item.get('write_acl')
                                                or [])),
                'versions': versions}

    def _name_of(self, key):
        # The name the container of old versions has (or will have) in the
        # target: its item's, the one name the import gives it.
        other = self.imp.item(key)
        return other['name'] if other else None

    def proof(self, item, obj):
        # Adopted, it keeps its own ACLs and metadata (never changed, it is
        # not ours), so the objects carried into it must be no more open
        # there than in the source.
        have = swift.container_state(swift.head(self.conn, obj.name))
        wanted = self.wanted(item)
        for key, what in (('read_acl', 'read'), ('write_acl', 'write')):
            if have[key] != wanted[key]:
                return 'its %s ACL is %r, not %r' % (
                    what, ','.join(have[key]), ','.join(wanted[key]))
        return None

    def corrections(self, item, obj):
        have = swift.container_state(swift.head(self.conn, obj.name))
        wanted = self.wanted(item)
        return {key: value for key, value in wanted.items()
                if have[key] != value}

    def correct(self, item, obj, change):
        swift.request(self.conn, 'POST', (obj.name,),
                      headers=self.headers(change, swift.container_state(
                          swift.head(self.conn, obj.name))))

    @staticmethod
    def headers(change, have=None):
        """The headers of a POST that makes a container's state
        ``change`` (a part of ``wanted``), removing from ``have`` what
        ``change`` does not hold."""
        have = have or {}
        headers = {}
        if 'metadata' in change:
            for key in set(have.get('metadata') or {}) - set(
                    change['metadata']):
                headers['X-Remove-Container-Meta-' + key] = 'x'
            for key, value in change['metadata'].items():
                headers['X-Container-Meta-' + key] = value
        for key, header in (('read_acl', 'X-Container-Read'),
                            ('write_acl', 'X-Container-Write')):
            if key in change:
                if change[key]:
                    headers[header] = ','.join(change[key])
                else:
                    headers['X-Remove-' + header[2:]] = 'x'
        if 'versions' in change:
            versions = change['versions']
            for mode, header in swift.VERSIONS.items():
                if versions and versions[0] == mode:
                    headers[header] = versions[1]
                else:
                    headers['X-Remove-' + header[2:]] = 'x'
        return headers

    def create(self, item):
        headers = {}
        if item.get('storage_policy'):
            policy = self.resolve(item, item['storage_policy'],
                                  'storage policy')
            if policy:
                headers['X-Storage-Policy'] = policy
        response = swift.request(self.conn, 'PUT', (item['name'],),
                                 ok=(201, 202), headers=headers)
        if response.status_code != 201:
            # Swift answers 202 when the container was there already: made
            # by someone else since the look, and not ours to fill.
            raise ImportFailed('%s: the target got a container of that '
                               'name while the import ran; not taken'
                               % describe(item))
        obj = swift.Named(item['name'])
        # Ours from here: a failure below leaves it to be corrected.
        self.imp.made(item, obj.id)
        wanted = self.wanted(item)
        change = {key: value for key, value in wanted.items() if value}
        if change:
            swift.request(self.conn, 'POST', (item['name'],),
                          headers=self.headers(change))
        return obj

    def discard(self, obj):
        swift.request(self.conn, 'DELETE', (obj.name,), ok=(204, 404))

    def complete(self, item, obj, ours):
        """Its objects: those the target lacks, and on a container of ours
        those whose ETag differs too; never one of an adopted container's
        own (``ours`` False)."""
        if item.get('objects'):
            swift_objects.fill(self, item, obj, ours)

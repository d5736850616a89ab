"""Barbican containers: a certificate, an RSA key pair or a generic set,
each naming its secrets, which come before it."""

from .kind import ImportFailed, Kind, describe
from .secret import Stored, uuid_of


class SecretContainers(Kind):
    """Barbican cannot change a container once made.  One of ours whose
    secrets are not (or no longer) the ones the import has for its items,
    say a secret the target lost and this run makes again, is deleted and
    made again with them.  A same-named container of the target's is a
    clash, never taken."""

    lists = ('secret_containers',)

    @staticmethod
    def fetch(conn):
        return [Stored(c, 'container_ref')
                for c in conn.key_manager.containers()]

    def unusable(self, item, obj):
        wanted = []
        for ref in item.get('secret_refs') or []:
            new_id = self.imp.ids.get(ref['secret'])
            if new_id is None:
                # Made (again) in this run, after this look: the container
                # cannot hold it yet.
                return 'its secret %s is to be made again' % ref['secret']
            wanted.append((ref.get('name') or '', new_id))
        have = [(ref.get('name') or '', uuid_of(ref.get('secret_ref')))
                for ref in obj.secret_refs or []]
        if sorted(wanted) != sorted(have):
            return "it does not hold the import's secrets for it"
        return None

    def create(self, item):
        refs = []
        for ref in item.get('secret_refs') or []:
            href = self.imp.href(ref['secret'])
            if href is None:
                raise ImportFailed('%s: its secret (source ID %s) was '
                                   'neither found nor made'
                                   % (describe(item), ref['secret']))
            entry = {'secret_ref': href}
            if ref.get('name'):
                entry['name'] = ref['name']
            refs.append(entry)
        attrs = {'type': item['container_type'], 'secret_refs': refs}
        if item.get('name'):
            attrs['name'] = item['name']
        return Stored(self.conn.key_manager.create_container(**attrs),
                      'container_ref')

    def complete(self, item, obj, ours):
        self.imp.hrefs[item['id']] = obj.href

    def discard(self, obj):
        self.conn.key_manager.delete_container(obj.id, ignore_missing=True)

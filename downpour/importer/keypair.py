"""Keypairs: one name per user, so never made beside another."""

from .kind import ImportFailed, Kind, describe


class Keypairs(Kind):
    """A keypair's name is unique per user, so it cannot be made beside
    another (its declaration's ``same_name`` is ``reuse``): one of the same
    name and public key is reused and recorded, another key stops the
    import (the look fails, before anything is created)."""

    lists = ('keypairs',)

    @staticmethod
    def fetch(conn):
        return conn.compute.keypairs()

    def proof(self, item, obj):
        if (obj.public_key or '').strip() != item['public_key'].strip():
            return ('the target has a keypair of that name with another '
                    'public key; delete or rename it, or set key_name on '
                    "the server's entry in the resource file")
        return None

    def complete(self, item, obj, ours):
        # Recorded, whoever made it: still the exported key, or the servers
        # would boot with another.
        reason = self.proof(item, obj)
        if reason is not None:
            raise ImportFailed('%s: %s' % (describe(item), reason))

    def create(self, item):
        return self.conn.compute.create_keypair(
            name=item['name'], public_key=item['public_key'])

"""Keypairs: one name per user, so never made beside another."""

from .kind import REUSED, ImportFailed, Kind, describe


class Keypairs(Kind):
    """A keypair's name is unique per user, so it cannot be made beside
    another: the same public key is reused and recorded, another key stops
    the import (the look fails, before anything is created)."""

    lists = ('keypairs',)

    @staticmethod
    def fetch(conn):
        return conn.compute.keypairs()

    def apply(self, items):
        have = {kp.name: kp for kp in self.listing()}
        for item in items:
            self.imp.working = item
            found = have.get(item['name'])
            if found is None:
                if not self.imp.wait(item):
                    made = self.conn.compute.create_keypair(
                        name=item['name'], public_key=item['public_key'])
                    self.imp.made(item, made.name)
                continue
            if (found.public_key or '').strip() != item['public_key'].strip():
                raise ImportFailed(
                    '%s: the target has a keypair of that name with another '
                    'public key; delete or rename it, or set key_name on the '
                    "server's entry in the resource file" % describe(item))
            recorded = self.imp.journal.recall(item)
            self.imp.keep(item, found.name,
                          recorded[1] if recorded else REUSED)

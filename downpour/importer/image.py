"""Images: uploaded from their blobs, verified, as private images."""

from .kind import Kind, tag_change
from .uploads import Uploads, holds


class Images(Kind):
    """Images and server snapshots.  Uploads run ``parallel`` at a time,
    and each is checked against the checksum of the export before it is
    used."""

    lists = ('images',)

    @staticmethod
    def fetch(conn):
        return conn.image.images()

    def cost(self, item, made, cost, blob_size):
        if made:
            cost['image_size_total'] += blob_size(item)

    def unusable(self, item, obj):
        if obj.status != 'active':
            return 'is %s' % obj.status
        # Trusted only when its bytes are the exported ones, whatever a
        # run that stopped before its check recorded (when the export says
        # what they are).
        known = item.get('digests') or (item.get('checksum') or {}).get(
            'value')
        if known and not holds(obj, item):
            return 'does not hold the exported bytes'
        return None

    def proof(self, item, obj):
        if obj.status != 'active':
            return 'it is %s' % obj.status
        if not holds(obj, item):
            return 'its checksum differs'
        return None

    def corrections(self, item, obj):
        change = {'name': item['name']} if obj.name != item['name'] else {}
        change.update(tag_change(item.get('attributes') or {}, obj))
        return change

    def correct(self, item, obj, change):
        change = dict(change)
        tags = change.pop('tags', None)
        if change:
            self.conn.image.update_image(obj, **change)
        if tags is not None:
            # Glance changes tags one by one.
            have = set(obj.tags or [])
            for tag in sorted(set(tags) - have):
                self.conn.image.add_tag(obj, tag)
            for tag in sorted(have - set(tags)):
                self.conn.image.remove_tag(obj, tag)

    def create(self, item):
        return Uploads(self).upload(item, item['name'], item['attributes'],
                                    item['filename'], item)

    def discard(self, obj):
        self.conn.image.delete_image(obj.id, ignore_missing=True)

    # One made from an older capture (a server's disk) stays until the end
    # of the run: the server on it is made again on its replacement.
    beside = True

    def retire(self, obj):
        """Delete our replaced image unless a server of the project is
        still on it (one that is not the import's own, booted from it
        since): Glance would let it go from under that server."""
        if any((getattr(s, 'image', None) or {}).get('id') == obj.id
               for s in self.conn.compute.servers()):
            return
        self.discard(obj)

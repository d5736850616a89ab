"""Volumes, empty or from their exported bytes."""

from .kind import WAIT_VOLUME, Kind, Part, differs
from .uploads import Uploads, holds


class ContentImages(Part):
    """A verified image of a volume's exported bytes, that the volume is
    made from, deleted once the volume has them."""

    csv = 'volume contents'
    list = 'images'

    def serves(self, part, image, volume):
        return image.status == 'active' and holds(image, volume)

    def discard(self, image):
        # Ours, and not (yet) the bytes: replaced.
        self.conn.image.delete_image(image.id, ignore_missing=True)

    def make(self, part, volume):
        # As captured (qcow2 since issue 16; raw before, and on request).
        # The upload records it the moment Glance has it.
        attrs = {'disk_format': volume.get('disk_format') or 'raw',
                 'container_format': 'bare',
                 # Cinder gives them to the volume made from it.
                 'properties': volume.get('image_properties') or {}}
        return Uploads(self.kind).upload(part, part['name'], attrs,
                                         volume['filename'], volume)


class Volumes(Kind):
    """Volumes: empty, or from their exported bytes through a temporary
    image of the import's own (``volume contents`` in the journal), deleted
    once the volume has them."""

    BUSY = ('creating', 'downloading', 'attaching', 'detaching', 'reserved')
    lists = ('volumes',)
    parts = (ContentImages,)

    @staticmethod
    def fetch(conn):
        return conn.block_storage.volumes()

    def cost(self, item, made, cost, blob_size):
        if not made:
            return
        size = int(item.get('size') or 0)
        cost['gigabytes'] += size
        vtype = self.imp.target(item.get('volume_type'))
        if vtype is not None and getattr(vtype, 'name', None):
            cost['volumes_' + vtype.name] += 1
            cost['gigabytes_' + vtype.name] += size
        if item.get('filename'):
            # The bytes go through an image of the import's own, deleted
            # once the volume has them.
            cost['image_count_total'] += 1
            cost['image_size_total'] += blob_size(item)

    # Cinder's failed states that a tenant may not delete.
    UNDELETABLE = ('error_deleting', 'error_backing-up')

    def unusable(self, item, obj):
        if (obj.status or '').startswith('error'):
            return 'is %s' % obj.status
        return None

    def irreplaceable(self, item, obj):
        # 'error' is a volume whose creation failed: nothing to keep.  The
        # others are what a failed extend, backup, restore or deletion
        # leaves: the data may still be there, and only its user knows.
        if obj.status == 'error':
            return None
        delete = 'delete it' if obj.status not in self.UNDELETABLE else \
            'have an admin force its deletion'
        return ('its data may still be there, so the import does not delete '
                'it to make it again: to keep it, have an admin of the '
                'target reset its status (openstack volume set --state '
                'available %s); to have it made again from the export, %s; '
                'then run the import again' % (obj.id, delete))

    def corrections(self, item, obj):
        return differs(obj, {'name': item['name'],
                              'description': item['description']})

    def correct(self, item, obj, change):
        self.conn.block_storage.update_volume(obj, **change)

    def discard(self, obj):
        self.conn.block_storage.delete_volume(obj, ignore_missing=True)
        self.conn.block_storage.wait_for_delete(obj, wait=WAIT_VOLUME)

    # One made from an older capture stays until the end of the run: it
    # may be the root of a server that is made again on its replacement.
    beside = True

    def retire(self, obj):
        """Detach our replaced volume from the servers it is still on (the
        server kept, which has its replacement now), then delete it."""
        volume = self.conn.block_storage.find_volume(obj.id)
        if volume is None:
            return
        for attachment in volume.attachments or []:
            server = self.conn.compute.find_server(
                attachment.get('server_id'))
            if server is not None:
                self.conn.compute.delete_volume_attachment(
                    server, volume.id, ignore_missing=True)
            elif attachment.get('attachment_id'):
                # Its server deleted (made again): an attachment a Nova
                # without Cinder's service token left (Servers._release).
                self.conn.block_storage.delete_attachment(
                    attachment['attachment_id'], ignore_missing=True)
        if volume.attachments:
            self.conn.block_storage.wait_for_status(
                volume, 'available', failures=['error'], interval=2,
                wait=WAIT_VOLUME)
        self.discard(volume)

    def create(self, item):
        attrs = {'name': item['name'], 'size': int(item['size']),
                 'description': item['description'],
                 'metadata': dict(item.get('metadata') or {})}
        # Chosen by the look; '' is the target's default: none is named.
        for key, what in (('volume_type', 'volume type'),
                          ('availability_zone', 'availability zone')):
            if item.get(key):
                chosen = self.resolve(item, item[key], what)
                if chosen:
                    attrs[key] = chosen
        contents = None
        if item.get('filename'):
            contents = ContentImages(self)
            attrs['image_id'] = contents.get(contents.item(
                item['id'], 'downpour-volume-' + item['id']), item).id
        volume = self.conn.block_storage.create_volume(**attrs)
        self.imp.made(item, volume.id)
        volume = self.conn.block_storage.wait_for_status(
            volume, 'available', failures=['error'], interval=2,
            wait=WAIT_VOLUME)
        if bool(volume.is_bootable) != bool(item.get('bootable')):
            self.conn.block_storage.set_volume_bootable_status(
                volume, bool(item.get('bootable')))
        if contents is not None:
            self.conn.image.delete_image(attrs['image_id'],
                                         ignore_missing=True)
        return volume

    def complete(self, item, obj, ours):
        if ours and obj.status in self.BUSY and not self.imp.wait(item):
            self.conn.block_storage.wait_for_status(
                obj, 'available', failures=['error'], interval=2,
                wait=WAIT_VOLUME)

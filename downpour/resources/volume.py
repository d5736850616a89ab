"""Volumes: recreated with their size, type and zone (the target's own,
chosen at import), and with their bytes on request."""

from downpour.errors import ResolveError
from downpour.resources.availability_zone import AvailabilityZone
from downpour.resources.base import (
    Blob,
    Record,
    ResourceType,
    checked_uuid,
    human_size,
)
from downpour.resources.image import kept_properties
from downpour.resources.volume_type import VolumeType


class Volume(ResourceType):
    type = 'volume'

    @staticmethod
    def detail(item, blob_size):
        text = '%s GiB' % item.get('size')
        if blob_size is not None:
            text += ', %s of contents' % human_size(blob_size)
        return text

    @classmethod
    def list(cls, conn):
        return conn.block_storage.volumes(details=True)

    @classmethod
    def build(cls, exporter, obj, entry=None, wants_state=None):
        checked_uuid(obj.id, 'volume %r' % obj.name)
        if wants_state is None:
            wants_state = entry.wants_state if entry is not None else True
        record = Record(
            type=cls.type, old_id=obj.id, name=obj.name or '',
            params={'size': int(obj.size or 1),
                    # The image it was made from (firmware, disk bus, OS
                    # type): a guest may not boot without them.  Carried
                    # on the image its contents travel in, which Cinder
                    # gives the new volume.
                    'image_properties': kept_properties(
                        exporter, 'volume %r (%s)' % (obj.name, obj.id),
                        getattr(obj, 'volume_image_metadata', None) or {}),
                    'description': obj.description or '',
                    'metadata': {k: v for k, v in (obj.metadata or {}).items()
                                 if isinstance(v, str)},
                    'is_bootable': bool(obj.is_bootable)},
            info={'status': obj.status, 'size_gib': obj.size,
                  'volume_type': obj.volume_type})
        exporter.add(record)
        volume_type = VolumeType.for_volume(exporter, obj)
        if volume_type is not None:
            record.refs['volume_type'] = volume_type
        zone = AvailabilityZone.of(exporter, 'volume', obj.availability_zone)
        if zone is not None:
            record.refs['availability_zone'] = zone
        if wants_state:
            cls.want_contents(record, obj)
        return record

    @classmethod
    def named_again(cls, exporter, record, obj, entry):
        # Attached to a server that does not save its state, and named in
        # the resource file on its own: its contents come after all.
        if entry.wants_state:
            cls.want_contents(record, obj)

    @classmethod
    def want_contents(cls, record, obj):
        if getattr(obj, 'is_encrypted', False):
            # Its key stays in the source's key manager, out of a tenant's
            # reach to carry: a copy of the bytes would be ciphertext that
            # nothing in the target can read.
            raise ResolveError(
                'volume %r (%s) is encrypted, and its key stays in the '
                'source cloud: a copy of its bytes could not be read in the '
                'target.  Copy its data to a volume of an unencrypted type '
                '(or retype it) before the export, or export it without '
                'its contents (save_state: false on its entry, and on the '
                'entry of the server it is attached to; a server booted '
                'from it needs its contents)' % (obj.name, obj.id))
        if record.blob is None:
            record.blob = Blob(kind='volume', file_id=obj.id,
                               source_id=obj.id,
                               what='volume %r (%s)' % (obj.name, obj.id),
                               volume_in_use=obj.status == 'in-use',
                               volume_size_gib=obj.size)

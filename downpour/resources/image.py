"""Images: uploaded again from their downloaded bytes, as private images."""

from downpour.resources.base import Blob, Record, ResourceType, checked_uuid, human_size

# Properties that Glance (or openstacksdk's upload) owns: the target sets its
# own, and most cannot be written by a user anyway.
GLANCE_OWNED = frozenset((
    'id', 'name', 'status', 'visibility', 'protected', 'checksum',
    'os_hash_algo', 'os_hash_value', 'size', 'virtual_size', 'disk_format',
    'container_format', 'min_disk', 'min_ram', 'owner', 'created_at',
    'updated_at', 'file', 'schema', 'self', 'tags', 'locations',
    'direct_url', 'os_hidden', 'stores', 'is_public', 'location',
))
GLANCE_OWNED_PREFIXES = ('os_glance', 'owner_specified.openstack.')
# Properties whose values point into the source cloud (the IDs of its
# images, servers, users and keys) or describe a server of it: in the
# target they name nothing, or something else, and a boot or an upload
# fails late.  Left out, and named in a warning.
SOURCE_BOUND = frozenset((
    'kernel_id', 'ramdisk_id', 'instance_uuid', 'base_image_ref',
    'image_location', 'image_state', 'image_type', 'owner_id', 'user_id',
    'owner_project_name', 'owner_user_name', 'boot_roles',
    'block_device_mapping', 'bdm_v2', 'root_device_name',
    'cinder_encryption_key_id', 'cinder_encryption_key_deletion_policy',
    'img_signature', 'img_signature_hash_method', 'img_signature_key_type',
    'img_signature_certificate_uuid', 'img_config_drive',
))
SOURCE_BOUND_PREFIXES = ('img_signature', 'instance_type_', 'stores')


def _all_properties(image):
    body = image.to_dict(body=True, headers=False, computed=False,
                         ignore_none=True, original_names=True)
    props = dict(body.get('properties') or {})
    props.update((k, v) for k, v in body.items() if k != 'properties')
    return {key: value for key, value in sorted(props.items())
            if key not in GLANCE_OWNED
            and not key.startswith(GLANCE_OWNED_PREFIXES)
            and isinstance(value, (str, int, float, bool))}


def source_bound(key):
    return key in SOURCE_BOUND or key.startswith(SOURCE_BOUND_PREFIXES)


# Cinder's own keys in a volume's image metadata: what it says of the
# image the volume was made from, not properties of it.
CINDER_OWNED = frozenset(('image_id', 'image_name', 'signature_verified'))


def kept_properties(exporter, what, metadata):
    """Of a volume's image metadata, the properties that mean the same in
    another cloud (those pointing into the source named in a warning)."""
    props = {key: value for key, value in sorted(metadata.items())
             if key not in GLANCE_OWNED and key not in CINDER_OWNED
             and not key.startswith(GLANCE_OWNED_PREFIXES)
             and isinstance(value, (str, int, float, bool))}
    left = sorted(key for key in props if source_bound(key))
    if left:
        exporter.warn('%s: image properties that point into the source '
                      'cloud are left out: %s' % (what, ', '.join(left)))
    return {key: str(value) for key, value in props.items()
            if not source_bound(key)}


def user_properties(image):
    """The properties that mean the same in another cloud."""
    return {key: value for key, value in _all_properties(image).items()
            if not source_bound(key)}


def warn_source_bound(exporter, what, image):
    left = sorted(key for key in _all_properties(image) if source_bound(key))
    if left:
        exporter.warn('%s: image properties that point into the source '
                      'cloud are left out: %s' % (what, ', '.join(left)))


class Image(ResourceType):
    type = 'image'

    @staticmethod
    def detail(item, blob_size):
        return human_size(blob_size) if blob_size is not None else ''

    @classmethod
    def list(cls, conn):
        return conn.image.images()

    @classmethod
    def query_list(cls, conn, filters):
        if filters.include_public:
            # The default listing leaves community images out.
            return conn.image.images(visibility='all')
        return cls.list(conn)

    @classmethod
    def query_restriction(cls, conn, filters):
        project_id = conn.current_project_id
        visible = {'shared'} | ({'public', 'community'}
                                if filters.include_public else set())
        return lambda image: (image.owner == project_id
                              or image.visibility in visible)

    @classmethod
    def query_all_restriction(cls, conn, filters):
        # Everything the project owns: images shared with it are not its
        # own (those its servers use come along with them anyway).
        project_id = conn.current_project_id
        return lambda image: (image.owner == project_id
                              or (filters.include_public and image.visibility
                                  in ('public', 'community')))

    @classmethod
    def used_by(cls, context):
        used = {(s.image or {}).get('id') for s in context.selected}
        return lambda image: image.id in used

    @classmethod
    def build(cls, exporter, obj, entry=None):
        checked_uuid(obj.id, 'image %r' % obj.name)
        record = Record(
            type=cls.type, old_id=obj.id, name=obj.name or '',
            params={
                'disk_format': obj.disk_format or 'raw',
                'container_format': obj.container_format or 'bare',
                'min_disk': int(obj.min_disk or 0),
                'min_ram': int(obj.min_ram or 0),
                'properties': user_properties(obj),
                'tags': list(obj.tags or []),
            },
            info={'status': obj.status, 'size': obj.size,
                  'visibility': obj.visibility},
            blob=Blob(kind='image', file_id=obj.id, source_id=obj.id,
                      what='image %r (%s)' % (obj.name, obj.id),
                      size=obj.size,
                      hash_algo=getattr(obj, 'hash_algo', None) or (
                          'md5' if obj.checksum else None),
                      hash_value=getattr(obj, 'hash_value', None)
                      or obj.checksum))
        exporter.add(record)
        warn_source_bound(exporter, 'image %r (%s)' % (obj.name, obj.id), obj)
        return record

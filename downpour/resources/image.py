"""Images: uploaded again from their downloaded bytes, as private images."""

from downpour.resources.base import Blob, Record, ResourceType, checked_uuid

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
    section = 'images'
    csv_type = 'image'
    batch = 'images'

    @classmethod
    def list(cls, conn):
        return conn.image.images()

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


class ServerSnapshot(ResourceType):
    """The image of a server's disk, captured at export time."""

    type = 'server_snapshot'
    csv_type = 'server snapshot'
    batch = 'images'

    @staticmethod
    def item_id(record):
        # Its own key: the server it was taken of has the old ID, and
        # uuids.csv maps each old ID once.
        return 'snapshot-' + checked_uuid(record.old_id, repr(record))

    @classmethod
    def for_server(cls, exporter, server, source_image):
        key = server.id
        existing = exporter.find(cls.type, key)
        if existing is not None:
            return existing
        params = {'disk_format': 'qcow2', 'container_format': 'bare',
                  'min_disk': 0, 'min_ram': 0, 'properties': {}}
        if source_image is not None:
            params['disk_format'] = source_image.disk_format or 'qcow2'
            params['container_format'] = (source_image.container_format
                                          or 'bare')
            params['min_disk'] = int(source_image.min_disk or 0)
            params['min_ram'] = int(source_image.min_ram or 0)
            params['properties'] = user_properties(source_image)
            warn_source_bound(exporter, 'the capture of server %r (%s)'
                              % (server.name, server.id), source_image)
        record = Record(
            type=cls.type, old_id=server.id,
            name='%s-snapshot' % (server.name or server.id),
            params=params,
            info={'server': server.id},
            blob=Blob(kind='server', file_id=server.id, source_id=server.id,
                      what='server %r (%s)' % (server.name, server.id)))
        exporter.add(record)
        return record

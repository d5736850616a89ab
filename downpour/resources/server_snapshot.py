"""Server snapshots: the image of a server's disk, captured at export
time; the new server boots from it."""

from downpour.resources.base import Blob, Record, ResourceType, checked_uuid, human_size
from downpour.resources.image import user_properties, warn_source_bound


class ServerSnapshot(ResourceType):
    """The image of a server's disk, captured at export time."""

    type = 'server_snapshot'

    @staticmethod
    def detail(item, blob_size):
        return human_size(blob_size) if blob_size is not None else ''

    @staticmethod
    def item_id(record):
        # Its own key: the server it was taken of has the old ID, and
        # uuids.csv maps each old ID once.
        return 'snapshot-' + checked_uuid(record.old_id, repr(record))

    @classmethod
    def for_server(cls, exporter, server, source_image, disk_gib=0):
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
            info={'server': server.id, 'server_name': server.name or ''},
            blob=Blob(kind='server', file_id=server.id, source_id=server.id,
                      what='server %r (%s)' % (server.name, server.id),
                      size_bound=_disk_bytes(disk_gib, source_image)))
        exporter.add(record)
        return record


def _disk_bytes(disk_gib, source_image):
    """The server's virtual disk: its flavor's disk, or, for a flavor of
    disk 0, its image's virtual size (None when Glance does not say)."""
    if disk_gib:
        return int(disk_gib) * 1024 ** 3
    virtual = getattr(source_image, 'virtual_size', None)
    return int(virtual) if virtual else None

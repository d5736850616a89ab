"""Flavors: never created; the playbook's look picks a target flavor for
each.

Since compute microversion 2.47 a server embeds its flavor (name, vCPUs, RAM,
disk), so no flavor is listed or fetched; the flavor list is read (once)
only for servers shown with an older microversion.
"""

from downpour.resources.base import Record, ResourceType


class Flavor(ResourceType):
    type = 'flavor'

    @staticmethod
    def detail(item, blob_size):
        return '%s vCPU, %s MiB' % (item.get('vcpus'), item.get('ram'))

    @staticmethod
    def item_id(record):
        # A flavor's ID is its name, which may hold anything: the playbook
        # refers to it by the variable downpour chose.
        return record.var

    @staticmethod
    def missing_message(record):
        """What the play says when the target has none to match."""
        return ('flavor %s (%d vCPU, %d MiB RAM, %d GiB disk): the target '
                'has no flavor of that name and none as large; add it to '
                'flavor_map' % (record.name, record.params['vcpus'],
                                record.params['ram'], record.params['disk']))

    @classmethod
    def list(cls, conn):
        return conn.compute.flavors(details=True)

    @classmethod
    def for_server(cls, exporter, server):
        flavor = server.flavor or {}
        if not flavor.get('original_name') and not flavor.get('name'):
            listed = cls.by_id(exporter).get(flavor.get('id'))
            if listed is not None:
                flavor = {'original_name': listed.name,
                          'vcpus': listed.vcpus, 'ram': listed.ram,
                          'disk': listed.disk}
        name = flavor.get('original_name') or flavor.get('name') or ''
        # Flavors have no stable ID across microversions: the name is it.
        key = name
        existing = exporter.find(cls.type, key)
        if existing is not None:
            return existing
        record = Record(type=cls.type, old_id=key, name=name,
                        params={'vcpus': int(flavor.get('vcpus') or 0),
                                'ram': int(flavor.get('ram') or 0),
                                'disk': int(flavor.get('disk') or 0)})
        exporter.add(record)
        return record

"""Availability zones of Nova and Cinder: never created, chosen (map,
same name, else the target's default)."""

from .kind import Defaulted, ImportFailed, describe


class AvailabilityZones(Defaulted):
    """Zones of Nova (for servers) and of Cinder (for volumes), those that
    are available; a zone is its name."""

    SERVICES = {'compute': 'server', 'volume': 'volume'}

    def __init__(self, importer):
        super().__init__(importer)
        self._zones = {}

    def label(self, item):
        return '%s availability zone' % self.SERVICES.get(item.get('service'),
                                                          '?')

    def candidates(self, item):
        service = item.get('service')
        if service not in self._zones:
            if service not in self.SERVICES:
                raise ImportFailed('%s: unknown service %r' % (
                    describe(item), service))
            proxy = self.conn.compute if service == 'compute' \
                else self.conn.block_storage
            self._zones[service] = {
                zone.name: zone for zone in proxy.availability_zones()
                if (zone.state or {}).get('available', True)}
        return self._zones[service]

    def chosen_id(self, obj):
        return obj.name

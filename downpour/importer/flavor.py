"""Flavors: never created (a tenant cannot); chosen by name, map or size."""

from .kind import Chosen


class Flavors(Chosen):
    """Else the smallest flavor with at least the source's vCPUs, RAM and
    disk."""

    lists = ('flavors',)

    @staticmethod
    def fetch(conn):
        return conn.compute.flavors()

    def fallback(self, item, candidates):
        return sorted((f for f in candidates if f.vcpus >= item['vcpus']
                       and f.ram >= item['ram'] and f.disk >= item['disk']),
                      key=lambda f: (f.vcpus, f.ram, f.disk))

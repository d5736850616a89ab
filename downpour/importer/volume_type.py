"""Volume types: never created, chosen (map, same name, else the
target's default)."""

from .kind import Defaulted


class VolumeTypes(Defaulted):
    """A volume's type: a tenant can list the public types (and those
    shared with the project), never create one."""

    lists = ('volume_types',)

    @staticmethod
    def fetch(conn):
        return conn.block_storage.types()

    def __init__(self, importer):
        super().__init__(importer)
        self._have = None
        self._default = False

    def label(self, item):
        return 'volume type'

    def candidates(self, item):
        if self._have is None:
            self._have = {t.name: t for t in self.listing()}
        return self._have

    def default_name(self, item):
        if self._default is False:
            # Only to name it in the report (API 3.62 and later).
            try:
                response = self.conn.block_storage.get(
                    '/types/default', microversion='3.62')
                self._default = response.json()['volume_type']['name'] \
                    if response.ok else None
            except Exception:  # noqa: BLE001 - an older or stricter Cinder
                self._default = None
        return self._default

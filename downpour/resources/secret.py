"""Barbican secrets: their metadata goes into the playbook, their payload
only into the vault file (downpour/vault.py).

The payload is read as bytes (``Accept: application/octet-stream``, which
Barbican answers with the bytes stored, whatever the secret's content
type): openstacksdk's ``get_secret`` decodes a text/plain one, and asks
for the secret's own content type, where a binary one (DER, PKCS#12)
needs no decoding to survive.
"""

import re

from downpour.errors import ResolveError
from downpour.importer.secret import Stored
from downpour.resources.base import Record, ResourceType, checked_uuid

# A media type and nothing else (RFC 6838's characters): it is written to
# the vault file, which Ansible reads as variables, and to the playbook.
CONTENT_TYPE = re.compile(
    r"\A[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/"
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\Z")
_PARAMS = ('secret_type', 'algorithm', 'bit_length', 'mode')


class Secret(ResourceType):
    type = 'secret'
    optional_service = 'key-manager'

    @staticmethod
    def detail(item, blob_size):
        return item.get('secret_type') or ''

    @classmethod
    def list(cls, conn):
        return [Stored(s, 'secret_ref') for s in conn.key_manager.secrets()]

    @classmethod
    def build(cls, exporter, obj, entry=None):
        checked_uuid(obj.id, 'secret %r' % obj.name)
        record = Record(type=cls.type, old_id=obj.id, name=obj.name or '',
                        params={key: getattr(obj, key, None)
                                for key in _PARAMS})
        record.params['expiration'] = obj.expires_at
        what = exporter.describe(record, entry)
        content_type = (obj.content_types or {}).get('default')
        if content_type is None:
            # Made without a payload, and never given one (an order's
            # secret that failed, a PUT never done): carried as it is.
            exporter.warn('%s has no payload: it is made without one'
                          % what)
        elif not CONTENT_TYPE.match(str(content_type)):
            raise ResolveError('%s: its content type %r is not a media '
                               'type' % (what, content_type))
        record.params['payload_content_type'] = content_type
        exporter.add(record)
        return record

    @classmethod
    def read_contents(cls, exporter):
        # Here, not in build: graph resolves secrets too, and has no use
        # for their payloads.
        for record in exporter.records_of(cls.type):
            if record.params.get('payload_content_type'):
                record.payload = cls.payload(exporter.conn, record.old_id,
                                             exporter.describe(record))

    @staticmethod
    def payload(conn, secret_id, what):
        """The payload's bytes, as Barbican stores them."""
        try:
            response = conn.key_manager.get(
                '/secrets/%s/payload' % secret_id,
                headers={'Accept': 'application/octet-stream'})
        except Exception as exc:  # noqa: BLE001 - openstacksdk's many
            raise ResolveError('%s: its payload cannot be read: %s'
                               % (what, exc)) from None
        if response.status_code != 200:
            # The answer's body is Barbican's, never the payload.
            raise ResolveError('%s: its payload cannot be read (HTTP %d)'
                               % (what, response.status_code))
        return bytes(response.content)

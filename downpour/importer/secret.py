"""Barbican secrets: made again with the payload the playbook read from
the vault file, which never passes through an item or a message."""

import base64
import binascii
import urllib.parse

from .kind import ImportFailed, Kind, describe

# What the playbook's vault file is called: said in messages, the module's
# only knowledge of it.
VAULT_FILE = 'secrets.vault.yml'


def uuid_of(href):
    """A Barbican resource's ID: the last part of its URL (secret_ref,
    container_ref).  openstacksdk gives the whole URL as ``id``."""
    path = urllib.parse.urlsplit(str(href or '')).path
    return path.rstrip('/').rsplit('/', 1)[-1]


class Stored:
    """A secret or container as downpour handles it: ``id`` is its UUID,
    as for every other type (the journal and uuids.csv record it), and
    ``href`` the URL other services are given."""

    def __init__(self, obj, href_field):
        self.href = getattr(obj, href_field)
        self.id = uuid_of(self.href)
        self.name = obj.name
        self.status = getattr(obj, 'status', None)
        self.obj = obj

    def __getattr__(self, name):
        # Only reached for what __init__ did not set.
        return getattr(self.obj, name)


def is_text(content_type):
    """Barbican takes a text/plain payload as text only, with no
    encoding; every other type as base64."""
    return str(content_type).split(';', 1)[0].strip().lower() == 'text/plain'


def scrubbed(text, secrets):
    """``text`` with every form of ``secrets`` taken out: what a cloud
    answers may quote what it was sent."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, '<payload>')
    return text


class Secrets(Kind):
    """A secret cannot change once made in Barbican (payload and metadata
    alike), so one of ours is only found; one the target lost, or in
    ERROR, is made again.  A same-named secret of the target's is a clash
    like any other, never taken: names are no identity in Barbican, and
    even the same name and type say nothing of the payload."""

    lists = ('secrets',)

    @staticmethod
    def fetch(conn):
        return [Stored(s, 'secret_ref') for s in conn.key_manager.secrets()]

    def unusable(self, item, obj):
        if str(obj.status or '').upper() == 'ERROR':
            return 'it is in ERROR'
        return None

    def _payload(self, item):
        given = self.imp.payloads.get(item['id'])
        data = given.get('payload_b64') if isinstance(given, dict) else None
        if not isinstance(data, str):
            raise ImportFailed(
                '%s: its payload is not among those the playbook read from '
                '%s: run ansible-playbook with --vault-password-file FILE '
                '(or --ask-vault-pass), the password given to downpour '
                'export' % (describe(item), VAULT_FILE))
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise ImportFailed('%s: its payload in %s is not base64'
                               % (describe(item), VAULT_FILE)) from None

    def create(self, item):
        attrs = {key: item[key] for key in ('secret_type', 'algorithm',
                                            'bit_length', 'mode',
                                            'expiration')
                 if item.get(key) is not None}
        if item.get('name'):
            attrs['name'] = item['name']
        content_type = item.get('payload_content_type')
        sent = []
        if content_type:
            payload = self._payload(item)
            if is_text(content_type):
                try:
                    text = payload.decode('utf-8')
                except UnicodeDecodeError:
                    raise ImportFailed('%s: its text payload is not UTF-8'
                                       % describe(item)) from None
                attrs.update(payload=text, payload_content_type=content_type)
            else:
                text = base64.b64encode(payload).decode('ascii')
                attrs.update(payload=text, payload_content_type=content_type,
                             payload_content_encoding='base64')
            sent = [text, base64.b64encode(payload).decode('ascii')]
        try:
            made = self.conn.key_manager.create_secret(**attrs)
        except Exception as exc:  # noqa: BLE001 - openstacksdk's many
            raise ImportFailed('%s: %s' % (describe(item), scrubbed(
                str(exc), sent))) from None
        return Stored(made, 'secret_ref')

    def complete(self, item, obj, ours):
        self.imp.hrefs[item['id']] = obj.href

    def discard(self, obj):
        self.conn.key_manager.delete_secret(obj.id, ignore_missing=True)

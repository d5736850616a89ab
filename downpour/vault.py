"""secrets.vault.yml: the payloads of the exported secrets, encrypted with
Ansible Vault (format 1.1, AES256) by ansible-core's own VaultLib, so that
ansible-playbook reads them with the vault password and a stolen output
directory does not reveal them.

The file is a YAML mapping of item key to ``{payload_b64, content_type}``:
base64, so that any bytes survive YAML, and nothing in it that Ansible
could take for a template (a UUID, base64, a checked media type).  It is
the only file of the output directory that holds a payload.
"""

import base64
import os

import yaml

from downpour.errors import DownpourError
from downpour.importer.secret import VAULT_FILE
from downpour.render import write_atomic

# The variable --vault-password-file falls back to.
PASSWORD_ENV = 'DOWNPOUR_VAULT_PASSWORD_FILE'  # noqa: S105 - its name
_NO_ANSIBLE = ('exporting secrets needs Ansible Vault, from ansible-core: '
               "pip install 'os-downpour[ansible]' (or ansible-core) where "
               'downpour runs')


def load_password(path):
    """The vault password in ``path``, as ansible-playbook reads it there
    (the file's first line; an executable file is run and its output
    taken).  One DownpourError when it cannot be had."""
    try:
        from ansible.errors import AnsibleError
        from ansible.parsing.dataloader import DataLoader
        from ansible.parsing.vault import get_file_vault_secret
    except ImportError:
        raise DownpourError(_NO_ANSIBLE) from None
    try:
        secret = get_file_vault_secret(filename=path, vault_id='default',
                                       loader=DataLoader())
        secret.load()
    except AnsibleError as exc:
        raise DownpourError('--vault-password-file %s: %s' % (
            path, ' '.join(str(exc).split()))) from None
    return secret


def require(records, secret):
    """Stop, before anything is written or any payload read, an export
    that has payloads (a content type says there is one) and no password
    to encrypt them with."""
    count = sum(1 for record in records
                if record.params.get('payload_content_type'))
    if count and secret is None:
        raise DownpourError(
            'the export holds %d secret%s, whose payloads are written '
            'encrypted with Ansible Vault: give the vault password with '
            '--vault-password-file FILE (or %s=FILE), and the same to '
            'ansible-playbook at the import'
            % (count, '' if count == 1 else 's', PASSWORD_ENV))


def content(records):
    """The mapping the vault file holds, as YAML text (for encryption
    only: never written as it is)."""
    payloads = {}
    for record in records:
        if record.payload is not None:
            payloads[record.old_id] = {
                'payload_b64': base64.b64encode(record.payload).decode(
                    'ascii'),
                'content_type': record.params.get('payload_content_type')}
    return yaml.safe_dump(payloads, default_flow_style=False) \
        if payloads else None


def write(records, output_dir, secret):
    """Write the vault file, or remove the one an earlier export into
    ``output_dir`` left when this one has no payloads."""
    path = os.path.join(output_dir, VAULT_FILE)
    text = content(records)
    if text is None:
        if os.path.lexists(path):
            os.unlink(path)
        return None
    require(records, secret)
    from ansible.parsing.vault import VaultLib
    # No vault ID: the 1.1 format, which every ansible-playbook reads with
    # --vault-password-file or --ask-vault-pass.
    sealed = VaultLib().encrypt(text, secret=secret)
    write_atomic(path, sealed.decode('ascii'))
    return path

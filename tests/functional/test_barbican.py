"""Barbican secrets and a certificate container moved between the local
clouds (issue 23): each payload arrives byte for byte, through the vault
file only; the target's own same-named secret stays untouched; a second
import changes nothing and needs no password; and no output file but the
vault file, nor anything the commands printed at -v -v --debug and -vvv,
holds a payload."""

import base64
import os
import secrets

import pytest
import yaml

from tests.functional.helpers import BIN, recap_changed, run

pytestmark = pytest.mark.functional

MARK = 'bq-%s' % secrets.token_hex(8)
PEM = ('-----BEGIN CERTIFICATE-----\nMIIB%s\n-----END CERTIFICATE-----'
       % MARK).encode('ascii')
# A DER key, a PKCS#12 bundle: every byte value, zeros included.
DER = b'\x30\x82\x02\x00\x00' + MARK.encode('ascii') + bytes(range(256)) + \
    os.urandom(64)
PASSPHRASE = ('pass phrase ünïcode %s' % MARK).encode('utf-8')


def _id(href):
    return href.rsplit('/', 1)[-1]


def _payload(conn, secret_id):
    response = conn.key_manager.get(
        '/secrets/%s/payload' % secret_id,
        headers={'Accept': 'application/octet-stream'})
    assert response.status_code == 200, response.text
    return response.content


def _forget(conn):
    """The project's containers and secrets, deleted (as its member:
    Barbican shows them to that project only).  Each list is read whole
    first: Barbican pages by offset, and deleting while paging skips."""
    for container in list(conn.key_manager.containers()):
        conn.key_manager.delete_container(_id(container.container_ref),
                                          ignore_missing=True)
    for secret in list(conn.key_manager.secrets()):
        conn.key_manager.delete_secret(_id(secret.secret_ref),
                                       ignore_missing=True)


def _leaks(paths, texts):
    forms = []
    for payload in (PEM, DER, PASSPHRASE):
        forms += [payload, base64.b64encode(payload)]
    forms.append(MARK.encode('ascii'))
    found = []
    for path in paths:
        files = [path] if path.is_file() else path.rglob('*')
        for one in files:
            if one.is_file() and one.name != 'secrets.vault.yml':
                data = one.read_bytes()
                found += [str(one) for form in forms if form in data]
    found += ['printed' for text in texts for form in forms
              if form.decode('latin-1') in text]
    return found


def test_secrets_move_byte_for_byte_through_the_vault_only(tmp_path,
                                                           migration):
    src, dst = migration.source.conn, migration.target.conn
    env = migration.env
    try:
        _move(tmp_path, src, dst, env)
    finally:
        _forget(src)
        _forget(dst)


def _move(tmp_path, src, dst, env):
    keys = src.key_manager
    cert = keys.create_secret(name='bq-cert', secret_type='certificate',
                              payload=PEM.decode('ascii'),
                              payload_content_type='text/plain')
    key = keys.create_secret(
        name='bq-key', secret_type='private', algorithm='rsa',
        bit_length=2048, payload=base64.b64encode(DER).decode('ascii'),
        payload_content_type='application/octet-stream',
        payload_content_encoding='base64')
    nameless = keys.create_secret(secret_type='passphrase',
                                  payload=PASSPHRASE.decode('utf-8'),
                                  payload_content_type='text/plain')
    tls = keys.create_container(name='bq-tls', type='certificate',
                                secret_refs=[
                                    {'name': 'certificate',
                                     'secret_ref': cert.secret_ref},
                                    {'name': 'private_key',
                                     'secret_ref': key.secret_ref}])
    # The target already has a secret of that name: another
    # application's.
    theirs = dst.key_manager.create_secret(
        name='bq-key', payload='theirs', payload_content_type='text/plain')

    resources = tmp_path / 'resources.yml'
    run([BIN / 'downpour', '--os-cloud', 'src', 'query', resources,
         '--secret-container', 'bq-tls'], env)
    listed = yaml.safe_load(resources.read_text())
    listed['secrets'] = [{'id': _id(nameless.secret_ref)}]
    resources.write_text(yaml.safe_dump(listed))

    out = tmp_path / 'out'
    refused = run([BIN / 'downpour', '--os-cloud', 'src', 'export',
                   resources, out], env, check=False)
    assert refused.returncode == 1
    assert '--vault-password-file FILE' in refused.stderr
    assert not out.exists()

    password = tmp_path / 'vault-password'
    password.write_text(secrets.token_urlsafe(16) + '\n')
    log = tmp_path / 'export.log'
    exported = run([BIN / 'downpour', '-v', '-v', '--debug', '--log-file',
                    log, '--os-cloud', 'src', 'export', resources, out,
                    '--vault-password-file', password], env)
    assert (out / 'secrets.vault.yml').read_bytes().startswith(
        b'$ANSIBLE_VAULT;1.1;AES256\n')

    playbook = out / 'playbook.yml'
    no_password = run([BIN / 'ansible-playbook', playbook, '-e', 'cloud=dst'],
                      env, check=False)
    assert no_password.returncode != 0
    assert 'cannot be decrypted: run ansible-playbook with ' \
        '--vault-password-file' in no_password.stdout
    imported = run([BIN / 'ansible-playbook', '-vvv', playbook, '-e',
                    'cloud=dst', '--vault-password-file', password], env)
    assert 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' in imported.stdout

    rows = {row['Old']: row['New'] for row in _journal(out)}
    for source, payload in ((cert, PEM), (key, DER),
                            (nameless, PASSPHRASE)):
        new = rows[_id(source.secret_ref)]
        assert _payload(dst, new) == _payload(src, _id(source.secret_ref))
        assert _payload(dst, new).strip() == payload.strip()
    made = dst.key_manager.get_secret(rows[_id(key.secret_ref)])
    assert (made.name, made.secret_type, made.algorithm,
            made.bit_length) == ('bq-key', 'private', 'rsa', 2048)
    container = dst.key_manager.get_container(rows[_id(tls.container_ref)])
    assert container.type == 'certificate'
    assert sorted((ref['name'], _id(ref['secret_ref']))
                  for ref in container.secret_refs) == [
        ('certificate', rows[_id(cert.secret_ref)]),
        ('private_key', rows[_id(key.secret_ref)])]
    # Another application's secret of the same name: never taken.
    assert _id(theirs.secret_ref) not in rows.values()
    assert _payload(dst, _id(theirs.secret_ref)) == b'theirs'
    assert 'a new one is made beside it' in imported.stdout

    # Nothing to make: the vault file is not even opened.
    again = run([BIN / 'ansible-playbook', playbook, '-e', 'cloud=dst'],
                env)
    assert recap_changed(again.stdout) == 0

    printed = [exported.stdout, exported.stderr, refused.stderr,
               imported.stdout, imported.stderr, no_password.stdout,
               again.stdout]
    assert not _leaks([out, log, resources], printed)


def _journal(out):
    import csv
    with open(out / 'journal.csv', newline='', encoding='utf-8') as stream:
        return list(csv.DictReader(stream))

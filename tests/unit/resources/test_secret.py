"""Barbican secrets and containers at export: read with their payloads'
exact bytes, and those bytes written only to secrets.vault.yml, encrypted
with Ansible Vault, whatever the verbosity."""

import base64
import stat
import uuid

import pytest
import yaml

from downpour import export, render, vault
from downpour.cli import app
from downpour.errors import DownpourError, ResolveError
from downpour.resourcefile import Entry, ResourceFile
from tests.unit.barbican import FakeBarbican
from tests.unit.querycloud import make_clouds_yaml

# A text secret and a binary one (a DER key, a PKCS#12 bundle): each byte
# must survive, the zero and the non-UTF-8 ones too.
MARK = 'downpour-payload-%s' % uuid.uuid4().hex
PEM = ('-----BEGIN CERTIFICATE-----\n%s\nMIIBszCCAVmgAwIBAgIU\n'
       '-----END CERTIFICATE-----\n' % MARK).encode('ascii')
DER = b'\x30\x82\x01\x00\x00\xff\xfe' + MARK.encode('ascii')[::-1] + \
    bytes(range(256))


def _barbican(fake_cloud):
    barbican = FakeBarbican(fake_cloud)
    cert = barbican.add_secret('web-cert', PEM, 'text/plain',
                               secret_type='certificate')
    key = barbican.add_secret('web-key', DER, 'application/octet-stream',
                              secret_type='private', algorithm='rsa',
                              bit_length=2048)
    tls = barbican.add_container('web-tls', [cert, key], 'certificate',
                                 ['certificate', 'private_key'])
    return barbican, cert, key, tls


def _resolve(fake_cloud, entries):
    """What the export reads before it writes: the records, then the
    payloads."""
    exporter = export.Exporter(fake_cloud.connect(), 'resources.yml')
    records = exporter.resolve(entries)
    exporter.home('secret').read_contents(exporter)
    return exporter, records


def _password(tmp_path, text='correct horse battery staple\n'):
    path = tmp_path / 'vault-password'
    path.write_text(text)
    return str(path)


def _resource_file(tmp_path, entries):
    path = tmp_path / 'resources.yml'
    path.write_text(yaml.safe_dump(entries))
    return ResourceFile.load(str(path))


def _forms(payload):
    """The payload's bytes as they could leak: raw, base64, and base64 of
    the mark at each alignment (a leak of a part of the payload)."""
    forms = [payload, base64.b64encode(payload)]
    mark = MARK.encode('ascii')
    for shift in range(3):
        forms.append(base64.b64encode(b'x' * shift + mark)[4:-4])
    return forms


def _leaks(directory, payloads, allowed=()):
    found = []
    for path in sorted(directory.rglob('*')):
        if path.is_file() and path.name not in allowed:
            data = path.read_bytes()
            found += ['%s holds %r' % (path, form[:20]) for payload in payloads
                      for form in _forms(payload) if form in data]
    return found


def test_a_container_brings_its_secrets_with_their_exact_bytes(fake_cloud):
    barbican, cert, key, tls = _barbican(fake_cloud)
    _, records = _resolve(fake_cloud, [
        Entry('secret_containers', name='web-tls', index=0)])
    by_id = {r.old_id: r for r in records}
    assert [r.type for r in records] == ['secret', 'secret',
                                         'secret_container']
    assert by_id[cert].payload == PEM
    assert by_id[key].payload == DER
    assert by_id[key].params == {
        'secret_type': 'private', 'algorithm': 'rsa', 'bit_length': 2048,
        'mode': None, 'expiration': None,
        'payload_content_type': 'application/octet-stream'}
    container = by_id[tls]
    assert container.params == {'container_type': 'certificate'}
    assert [(ref['name'], ref['secret']) for ref in
            container.refs['secret_refs']] == [
        ('certificate', by_id[cert]), ('private_key', by_id[key])]
    # As bytes, whatever the secret's own type: the text one too.
    payload_gets = [request for request in fake_cloud.history
                    if request.path.endswith('/payload')]
    assert len(payload_gets) == 2
    assert {r.headers['Accept'] for r in payload_gets} == {
        'application/octet-stream'}
    # The payload is no part of the record's text.
    assert MARK not in repr(records)


def test_another_type_finds_a_container_or_secret_by_its_url(fake_cloud):
    # As a listener names its TLS container (or a PKCS#12 secret).
    barbican, cert, _key, tls = _barbican(fake_cloud)
    exporter = export.Exporter(fake_cloud.connect(), 'resources.yml')
    home = exporter.home('secret_container')
    container = home.for_ref(exporter,
                             barbican.containers[tls]['container_ref'])
    assert (container.type, container.old_id) == ('secret_container', tls)
    assert [ref['secret'].old_id for ref in
            container.refs['secret_refs']][0] == cert
    secret = home.for_ref(exporter, barbican.secrets[cert]['secret_ref'])
    assert secret is exporter.find('secret', cert)
    assert home.for_ref(exporter, barbican.secrets[cert]['secret_ref']
                        .replace(cert, str(uuid.uuid4()))) is None
    assert home.for_ref(exporter, None) is None
    listed = [r for r in fake_cloud.history if r.method == 'GET'
              and r.path in ('/v1/secrets', '/v1/containers')]
    assert len(listed) == 2


def test_resolving_alone_reads_no_payload(fake_cloud):
    # As downpour graph resolves a resource file.
    _barbican(fake_cloud)
    exporter = export.Exporter(fake_cloud.connect(), 'resources.yml')
    records = exporter.resolve([Entry('secret_containers', name='web-tls')])
    assert len(records) == 3
    assert not [r for r in fake_cloud.history
                if r.path.endswith('/payload')]
    assert {r.payload for r in records} == {None}


def test_the_item_names_its_secrets_and_holds_no_payload(fake_cloud):
    _barbican(fake_cloud)
    _, records = _resolve(fake_cloud, [
        Entry('secret_containers', name='web-tls', index=0)])
    text = render.render_playbook(records)
    play, = yaml.load(text, Loader=render.UnsafeLoader)  # noqa: S506
    secrets = play['vars']['downpour_secrets']
    container, = play['vars']['downpour_secret_containers']
    assert [ref['secret'] for ref in container['secret_refs']] == [
        s['id'] for s in secrets]
    assert container['container_type'] == 'certificate'
    assert MARK not in text
    assert base64.b64encode(DER).decode() not in text
    # Read from the vault file only when a secret is to be made, never
    # shown, and handed on in the argument the module never logs.
    block = next(t for t in play['tasks'] if t.get('block'))
    assert "'secret' in downpour_target.pending_types" == block['when']
    task, = block['block']
    assert task['no_log'] is True
    assert task['ansible.builtin.include_vars']['name'] == \
        'downpour_secret_payloads'
    # Its failure is censored: the rescue says what it takes.
    assert '--vault-password-file' in \
        block['rescue'][0]['ansible.builtin.fail']['msg']
    make = next(t for t in play['tasks']
                if 'ids' in t.get('downpour.migrate.resources', {}))
    assert make['name'] == 'Store the secrets and secret containers'
    assert 'downpour_secret_payloads' in \
        make['downpour.migrate.resources']['secret_payloads']
    assert '--vault-password-file' in text.split('- name: Import')[0]


def test_the_export_writes_payloads_only_to_the_vault_file(fake_cloud,
                                                            tmp_path):
    _, cert, key, _tls = _barbican(fake_cloud)
    out = tmp_path / 'out'
    export.export(fake_cloud.connect(), _resource_file(
        tmp_path, {'secret_containers': [{'name': 'web-tls'}]}), str(out),
        vault_secret=vault.load_password(_password(tmp_path)))
    sealed = out / 'secrets.vault.yml'
    assert sealed.read_bytes().startswith(b'$ANSIBLE_VAULT;1.1;AES256\n')
    assert stat.S_IMODE(sealed.stat().st_mode) == 0o600
    assert not _leaks(out, [PEM, DER], allowed={'secrets.vault.yml'})
    # The search finds what it looks for.
    (out / 'planted').write_bytes(b'x' + base64.b64encode(b'12' + PEM))
    assert _leaks(out, [PEM])
    # What ansible-playbook reads back with the password.
    from ansible.parsing.vault import VaultLib
    opened = VaultLib([('default', vault.load_password(
        _password(tmp_path)))]).decrypt(sealed.read_bytes())
    payloads = yaml.safe_load(opened)
    assert base64.b64decode(payloads[cert]['payload_b64']) == PEM
    assert base64.b64decode(payloads[key]['payload_b64']) == DER
    assert payloads[key]['content_type'] == 'application/octet-stream'
    # The README says what the file is.
    assert 'secrets.vault.yml' in (out / 'README.txt').read_text()


def test_nothing_of_a_payload_reaches_any_output_at_any_verbosity(
        fake_cloud, tmp_path, monkeypatch, capsys):
    _barbican(fake_cloud)
    make_clouds_yaml(tmp_path, monkeypatch)
    resources = tmp_path / 'r.yml'
    resources.write_text(yaml.safe_dump({'secrets': [
        {'name': 'web-cert'}, {'name': 'web-key'}]}))
    monkeypatch.setenv(vault.PASSWORD_ENV, _password(tmp_path))
    log = tmp_path / 'downpour.log'
    out = tmp_path / 'out'
    status = app.main(['-v', '-v', '--debug', '--log-file', str(log),
                       '--os-cloud', 'fake', 'export', str(resources),
                       str(out)])
    printed = capsys.readouterr()
    assert status == 0, printed.err
    assert (out / 'secrets.vault.yml').exists()
    (tmp_path / 'printed').write_text(printed.out + printed.err)
    assert 'secrets/' in log.read_text()  # the log has the requests
    assert not _leaks(tmp_path, [PEM, DER], allowed={
        'secrets.vault.yml', 'vault-password'})


def test_secrets_without_a_vault_password_stop_before_any_write(
        fake_cloud, tmp_path):
    _barbican(fake_cloud)
    out = tmp_path / 'out'
    with pytest.raises(DownpourError, match=r'the export holds 2 secrets, '
                       r'.*give the vault password with '
                       r'--vault-password-file FILE \(or '
                       r'DOWNPOUR_VAULT_PASSWORD_FILE=FILE\)'):
        export.export(fake_cloud.connect(), _resource_file(
            tmp_path, {'secret_containers': [{'name': 'web-tls'}]}),
            str(out))
    assert not out.exists()
    # Not even read.
    assert not [r for r in fake_cloud.history
                if r.path.endswith('/payload')]


def test_an_export_without_payloads_leaves_no_vault_file(fake_cloud,
                                                         tmp_path):
    barbican = FakeBarbican(fake_cloud)
    barbican.add_secret('empty')  # made, and never given a payload
    out = tmp_path / 'out'
    out.mkdir(mode=0o700)
    # A previous export's, into the same directory.
    (out / 'secrets.vault.yml').write_text('$ANSIBLE_VAULT;1.1;AES256\n')
    result = export.export(fake_cloud.connect(), _resource_file(
        tmp_path, {'secrets': [{'name': 'empty'}]}), str(out))
    assert not (out / 'secrets.vault.yml').exists()
    assert result.warnings == [
        "%s: secrets[0] (name 'empty') has no payload: it is made "
        'without one' % (tmp_path / 'resources.yml')]
    play, = yaml.load((out / 'playbook.yml').read_text(),
                      Loader=render.UnsafeLoader)  # noqa: S506
    assert not [t for t in play['tasks'] if t.get('block')]
    item, = play['vars']['downpour_secrets']
    assert item['payload_content_type'] is None


def test_a_container_holding_another_projects_secret_is_refused(
        fake_cloud):
    barbican = FakeBarbican(fake_cloud)
    mine = barbican.add_secret('mine', b'x', 'text/plain')
    theirs = barbican.add_secret('theirs', b'y', 'text/plain')
    barbican.add_container('both', [mine, theirs])
    del barbican.secrets[theirs]  # shared by an ACL: not listed
    with pytest.raises(ResolveError, match=r"secret_containers\[0\] \(name "
                       r"'both'\) holds secret http://.*/%s, which is not "
                       r"among the project's secrets" % theirs):
        _resolve(fake_cloud, [Entry('secret_containers', name='both')])


def test_an_odd_content_type_is_refused(fake_cloud):
    barbican = FakeBarbican(fake_cloud)
    barbican.add_secret('odd', b'x', "{{ lookup('pipe', 'id') }}")
    with pytest.raises(ResolveError, match='is not a media type'):
        _resolve(fake_cloud, [Entry('secrets', name='odd')])


def test_an_unreadable_payload_is_one_error(fake_cloud):
    barbican = FakeBarbican(fake_cloud)
    secret = barbican.add_secret('gone', b'x', 'text/plain')
    del barbican.payloads[secret]
    with pytest.raises(ResolveError, match=r"secrets\[0\] \(name 'gone'\): "
                       r'its payload cannot be read \(HTTP 404\)'):
        _resolve(fake_cloud, [Entry('secrets', name='gone')])

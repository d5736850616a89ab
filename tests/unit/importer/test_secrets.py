"""Barbican secrets and containers at import, against a fake Barbican:
made with their payloads' exact bytes, found again by the journal (never
by name), their URLs given to other kinds, and no payload in anything the
module returns, says or writes."""

import ast
import base64
import os

import pytest

from downpour import importer as dr
from downpour.importer.engine import run_module
from tests.unit.barbican import FakeBarbican
from tests.unit.importer.items import secret, secret_container

PEM = b'-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU-sekrit\n' \
    b'-----END CERTIFICATE-----\n'
DER = b'\x30\x82\x00\xff\xfe\x00' + b'sekrit-der' + bytes(range(256))
MODULE = os.path.join(os.path.dirname(dr.__file__), '..', 'collection',
                      'plugins', 'modules', 'resources.py')


@pytest.fixture
def barbican(fake_cloud):
    return FakeBarbican(fake_cloud)


@pytest.fixture
def export():
    """Items as the playbook lists them, and the payloads the vault file
    holds for them."""
    cert = secret('web-cert', 'text/plain', secret_type='certificate')
    key = secret('web-key', secret_type='private', algorithm='rsa',
                 bit_length=2048)
    tls = secret_container('web-tls', [('certificate', cert),
                                       ('private_key', key)])
    payloads = {cert['id']: {'payload_b64': base64.b64encode(PEM).decode(),
                             'content_type': 'text/plain'},
                key['id']: {'payload_b64': base64.b64encode(DER).decode(),
                            'content_type': 'application/octet-stream'}}
    return [cert, key, tls], payloads


def _run(fake_cloud, tmp_path, items, payloads=None, check_mode=False,
         name_clash='create'):
    """One task of the playbook: the module's call into the engine."""
    said = []
    failed, result = run_module(fake_cloud.connect(), {
        'resources': items, 'journal': str(tmp_path / 'journal.csv'),
        'uuids_csv': str(tmp_path / 'uuids.csv'), 'name_clash': name_clash,
        'secret_payloads': payloads, 'parallel': 2}, check_mode,
        said.append)
    return failed, result, said


def _everything_said(tmp_path, failed, result, said):
    text = repr((failed, result, said))
    for name in ('journal.csv', 'uuids.csv'):
        if (tmp_path / name).exists():
            text += (tmp_path / name).read_text()
    return text


def _no_payload_in(text):
    for payload in (PEM, DER):
        assert base64.b64encode(payload).decode() not in text
    assert 'sekrit' not in text


def test_a_first_run_stores_them_and_a_second_changes_nothing(
        fake_cloud, barbican, export, tmp_path):
    items, payloads = export
    cert, key, tls = items
    failed, result, said = _run(fake_cloud, tmp_path, items, payloads)
    assert failed is None
    new = result['ids']
    assert barbican.payloads[new[cert['id']]] == PEM
    assert barbican.payloads[new[key['id']]] == DER
    made_key = barbican.secrets[new[key['id']]]
    assert (made_key['name'], made_key['secret_type'], made_key['algorithm'],
            made_key['bit_length']) == ('web-key', 'private', 'rsa', 2048)
    container = barbican.containers[new[tls['id']]]
    assert (container['name'], container['type']) == ('web-tls',
                                                      'certificate')
    assert container['secret_refs'] == [
        {'name': 'certificate',
         'secret_ref': barbican.secrets[new[cert['id']]]['secret_ref']},
        {'name': 'private_key',
         'secret_ref': barbican.secrets[new[key['id']]]['secret_ref']}]
    assert [m['type'] for m in result['created']] == [
        'secret', 'secret', 'secret_container']
    uuids = (tmp_path / 'uuids.csv').read_text()
    assert '"secret container","web-tls","%s","%s"' % (
        tls['id'], new[tls['id']]) in uuids
    _no_payload_in(_everything_said(tmp_path, failed, result, said))

    writes = len(barbican.writes())
    failed, result, said = _run(fake_cloud, tmp_path, items, payloads)
    assert failed is None
    assert len(barbican.writes()) == writes
    assert result['changed'] is False and result['created'] == []


def test_other_kinds_get_the_urls_of_those_made_and_those_found(
        fake_cloud, barbican, export, tmp_path):
    items, payloads = export
    cert, _key, tls = items
    journal = dr.Journal(str(tmp_path / 'journal.csv'))
    look = dr.Importer(fake_cloud.connect(), journal=journal,
                       check_mode=True)
    look.run(items)
    # Nothing yet: nothing to name.
    assert look.href(cert['id']) is None
    made = dr.Importer(fake_cloud.connect(), journal=journal,
                       payloads=payloads)
    made.run(items)
    container, = barbican.containers.values()
    assert made.href(tls['id']) == container['container_ref']
    assert made.href(cert['id']) == \
        barbican.secrets[made.ids[cert['id']]]['secret_ref']
    # A run that only finds them, by the journal, names them alike.
    again = dr.Importer(fake_cloud.connect(),
                        journal=dr.Journal(str(tmp_path / 'journal.csv')))
    again.run(items)
    assert again.hrefs == made.hrefs and len(again.hrefs) == 3
    assert again.created == []


def test_the_look_makes_nothing_and_needs_no_payload(
        fake_cloud, barbican, export, tmp_path):
    items, _payloads = export
    failed, result, _said = _run(fake_cloud, tmp_path, items,
                                 check_mode=True)
    assert failed is None
    assert result['pending'] == [item['id'] for item in items]
    assert result['pending_types'] == ['secret', 'secret_container']
    assert barbican.writes() == []


def test_a_same_named_secret_of_the_target_is_never_taken(
        fake_cloud, barbican, export, tmp_path):
    items, payloads = export
    theirs = barbican.add_secret('web-cert', b'another application\'s',
                                 'text/plain')
    failed, result, said = _run(fake_cloud, tmp_path, items,
                                check_mode=True)
    assert any("secret 'web-cert'" in line and theirs in line
               for line in result['clashes'])
    failed, result, said = _run(fake_cloud, tmp_path, items, payloads,
                                name_clash='stop')
    assert 'name_clash is stop' in failed
    assert barbican.writes() == []
    failed, result, said = _run(fake_cloud, tmp_path, items, payloads)
    assert failed is None
    cert = items[0]
    assert result['ids'][cert['id']] != theirs
    assert barbican.payloads[theirs] == b'another application\'s'
    assert barbican.payloads[result['ids'][cert['id']]] == PEM


def test_a_lost_secret_is_made_again_and_its_container_with_it(
        fake_cloud, barbican, export, tmp_path):
    items, payloads = export
    cert, key, tls = items
    _failed, first, _said = _run(fake_cloud, tmp_path, items, payloads)
    # Someone deleted the key in the target.
    del barbican.secrets[first['ids'][key['id']]]
    failed, look, _said = _run(fake_cloud, tmp_path, items,
                               check_mode=True)
    assert look['pending'] == [key['id'], tls['id']]
    failed, result, _said = _run(fake_cloud, tmp_path, items, payloads)
    assert failed is None
    assert [m['type'] for m in result['created']] == [
        'secret', 'secret_container']
    assert result['ids'][cert['id']] == first['ids'][cert['id']]
    assert barbican.payloads[result['ids'][key['id']]] == DER
    # The old container, which named the lost key, is gone; the new one
    # holds the new key.
    container, = barbican.containers.values()
    assert first['ids'][tls['id']] not in barbican.containers
    assert barbican.secrets[result['ids'][key['id']]]['secret_ref'] in [
        ref['secret_ref'] for ref in container['secret_refs']]


def test_one_of_ours_in_error_is_made_again(fake_cloud, barbican, export,
                                            tmp_path):
    items, payloads = export
    cert = items[0]
    _failed, first, _said = _run(fake_cloud, tmp_path, items[:1], payloads)
    barbican.secrets[first['ids'][cert['id']]]['status'] = 'ERROR'
    failed, result, _said = _run(fake_cloud, tmp_path, items[:1], payloads)
    assert failed is None
    assert first['ids'][cert['id']] not in barbican.secrets
    assert barbican.payloads[result['ids'][cert['id']]] == PEM


def test_without_the_payloads_the_message_says_what_to_give(
        fake_cloud, barbican, export, tmp_path):
    items, _payloads = export
    failed, result, said = _run(fake_cloud, tmp_path, items, {})
    assert "secret 'web-cert'" in failed or "secret 'web-key'" in failed
    assert 'secrets.vault.yml: run ansible-playbook with ' \
        '--vault-password-file FILE' in failed
    assert barbican.secrets == {}


def test_a_refusal_that_quotes_the_payload_is_said_without_it(
        fake_cloud, barbican, export, tmp_path, monkeypatch):
    items, payloads = export

    def quoting(request, context, parts):
        context.status_code = 400
        return {'code': 400, 'title': 'Bad Request',
                'description': 'bad payload %r' % request.json()['payload']}

    monkeypatch.setattr(barbican, '_create_secret', quoting)
    failed, result, said = _run(fake_cloud, tmp_path, items[1:2], payloads)
    assert 'bad payload' in failed and '<payload>' in failed
    _no_payload_in(_everything_said(tmp_path, failed, result, said))


def test_the_module_never_logs_the_payloads():
    """Ansible masks an argument declared no_log in -vvv's invocation and
    in anything the module returns."""
    with open(MODULE, encoding='utf-8') as stream:
        tree = ast.parse(stream.read())
    spec, = [node.value for node in ast.walk(tree)
             if isinstance(node, ast.Assign)
             and getattr(node.targets[0], 'id', None) == 'argument_spec']
    spec = ast.literal_eval(spec)
    assert spec['secret_payloads'] == {'type': 'dict', 'default': {},
                                       'no_log': True}

"""secrets.vault.yml: the vault password read as Ansible reads it, one
message when it cannot be, and the payloads masked by Ansible itself when
the playbook hands them to the module, even with -vvv."""

import base64
import os
import subprocess
import sys

import pytest
import yaml

from downpour import ansiblefiles, vault
from downpour.errors import DownpourError
from downpour.resources.base import Record

PAYLOAD = b'\x00\xffdownpour-vault-test-payload\n'
KEY = '5ec2e700-0000-4000-8000-000000000001'


def _password(tmp_path, text='correct horse battery staple\n'):
    path = tmp_path / 'vault-password'
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize('text, message', [
    (None, 'was not found'),
    ('\n', 'Invalid vault password'),
])
def test_a_bad_vault_password_file_is_one_message(tmp_path, text, message):
    path = _password(tmp_path, text) if text is not None \
        else str(tmp_path / 'missing')
    with pytest.raises(DownpourError, match='--vault-password-file .*%s'
                       % message):
        vault.load_password(path)


def test_an_executable_password_file_is_run_as_ansible_runs_it(tmp_path):
    script = tmp_path / 'password.sh'
    script.write_text('#!/bin/sh\necho from-a-script\n')
    os.chmod(script, 0o700)
    assert vault.load_password(str(script)).bytes == b'from-a-script'


def test_without_ansible_the_message_says_how_to_install_it(monkeypatch,
                                                            tmp_path):
    # None in sys.modules: the import fails as if it were not installed.
    monkeypatch.setitem(sys.modules, 'ansible.parsing.vault', None)
    with pytest.raises(DownpourError, match=r"pip install "
                       r"'os-downpour\[ansible\]'"):
        vault.load_password(_password(tmp_path))


def _ansible_playbook():
    local = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    return local if os.path.exists(local) else None


def test_ansible_masks_the_payloads_even_with_vvv(tmp_path):
    """The playbook's way: include_vars (no_log) of the vault file, the
    payloads in the module's secret_payloads.  Its invocation, which -vvv
    shows, holds the mask."""
    tool = _ansible_playbook()
    if tool is None:
        pytest.skip('ansible-playbook is not installed')
    password = _password(tmp_path)
    record = Record(type='secret', old_id=KEY, name='s', payload=PAYLOAD,
                    params={'payload_content_type': 'text/plain'})
    vault.write([record], str(tmp_path), vault.load_password(password))
    ansiblefiles.write(str(tmp_path))
    (tmp_path / 'clouds.yaml').write_text(yaml.safe_dump({'clouds': {
        'nowhere': {'auth': {'auth_url': 'http://127.0.0.1:9/v3',
                             'username': 'u', 'password': 'p',
                             'project_name': 'p'}}}}))
    (tmp_path / 'play.yml').write_text("""\
- name: Hand the payloads on
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Read the secrets' payloads
      ansible.builtin.include_vars:
        file: "{{ playbook_dir }}/secrets.vault.yml"
        name: downpour_secret_payloads
      no_log: true
    - name: Store them
      downpour.migrate.resources:
        cloud: nowhere
        resources: []
        secret_payloads: "{{ downpour_secret_payloads }}"
""")
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(tmp_path / 'clouds.yaml'),
               ANSIBLE_NOCOLOR='1')
    result = subprocess.run(  # noqa: S603
        [tool, '-vvv', '--vault-password-file', password, 'play.yml'],
        capture_output=True, check=False, cwd=tmp_path, env=env,
        timeout=300)
    printed = result.stdout + result.stderr
    assert result.returncode == 0, printed.decode()
    assert b'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' in printed
    assert b'downpour-vault-test-payload' not in printed
    assert base64.b64encode(PAYLOAD) not in printed

"""No credential in anything downpour or the playbook writes, at any
verbosity: the password of the source user, a token given to downpour (and
any Keystone token at all), and the application credential secret the
import uses are searched for in the whole output directory, the log files
and everything the commands printed."""

import secrets as secrets_module

import openstack.exceptions
import pytest

from tests.functional.helpers import BIN, environment, run, upload_image

pytestmark = pytest.mark.functional

# Keystone's fernet tokens start with gAAAAA (a version byte and a
# timestamp): any of them in an output is a leaked token, whoever's.
FERNET = b'gAAAAA'


def test_no_secret_in_outputs_or_logs(tmp_path, fresh_project):
    source = fresh_project('source')
    target = fresh_project('target')
    src, dst = source.conn, target.conn
    upload_image(src, 'secret-test', b'not a secret\n' * 100)
    net = src.network.create_network(name='secret-test')
    src.network.create_subnet(network_id=net.id, ip_version=4,
                              cidr='10.99.0.0/24', name='secret-test')

    # The import authenticates with an application credential, where the
    # target's Keystone can make one (the local one, on SQLite, sometimes
    # refuses with a spurious duplicate-entry conflict): else a password.
    secrets = {'source password': source.cloud_config['auth']['password'],
               'target password': target.cloud_config['auth']['password']}
    try:
        credential = dst.identity.create_application_credential(
            user=target.user_id, name='downpour-' + secrets_module.token_hex(4))
    except openstack.exceptions.ConflictException as exc:
        print('\nno application credential (%s): password instead' % exc)
        target_auth = target.cloud_config
    else:
        secrets['application credential secret'] = credential.secret
        target_auth = {
            'auth_type': 'v3applicationcredential',
            'auth': {'auth_url': target.cloud_config['auth']['auth_url'],
                     'application_credential_id': credential.id,
                     'application_credential_secret': credential.secret},
            'region_name': target.cloud_config['region_name'],
            'identity_api_version': 3, 'interface': 'public'}
    # The export authenticates with a token taken here.
    token = src.auth_token
    token_auth = {
        'auth_type': 'v3token',
        'auth': {'auth_url': source.cloud_config['auth']['auth_url'],
                 'token': token, 'project_id': source.project_id},
        'region_name': source.cloud_config['region_name'],
        'identity_api_version': 3, 'interface': 'public'}
    env = environment(tmp_path, {'src': source.cloud_config,
                                 'src-token': token_auth,
                                 'dst': target_auth})
    secrets['source token'] = token

    logs = tmp_path / 'logs'
    logs.mkdir()
    resources = tmp_path / 'resources.yml'
    out = tmp_path / 'out'
    printed = []
    printed.append(run(
        [BIN / 'downpour', '-v', '-v', '--debug', '--log-file',
         logs / 'query.log', '--os-cloud', 'src', 'query', '--image-name',
         'secret-test', '--network-name', 'secret-test', resources], env))
    printed.append(run(
        [BIN / 'downpour', '-v', '-v', '--debug', '--log-file',
         logs / 'export.log', '--os-cloud', 'src-token', 'export',
         resources, out], env))
    printed.append(run(
        [BIN / 'ansible-playbook', '-vvv', out / 'playbook.yml',
         '-e', 'cloud=dst'],
        dict(env, ANSIBLE_LOG_PATH=str(logs / 'ansible.log'))))

    # The runs did what they should, with requests logged.
    assert (out / 'uuids.csv').is_file()
    assert len(list(dst.image.images(name='secret-test'))) == 1
    debug = (logs / 'export.log').read_text(encoding='utf-8')
    assert '/v2/images' in debug and '{SHA256}' in debug
    assert (logs / 'ansible.log').stat().st_size > 0

    texts = {}
    for label, proc in zip(('query', 'export', 'ansible-playbook'), printed,
                           strict=True):
        texts[label + ' stdout'] = proc.stdout.encode()
        texts[label + ' stderr'] = proc.stderr.encode()
    for root in (out, logs, resources):
        paths = [root] if root.is_file() else sorted(root.rglob('*'))
        for path in paths:
            if path.is_file():
                texts[str(path)] = path.read_bytes()
    assert len(texts) > 8
    assert 'module_args' in printed[2].stdout   # -vvv really was verbose
    # The search finds them where they belong.
    clouds_yaml = (tmp_path / 'clouds.yaml').read_bytes()
    for what, secret in secrets.items():
        assert secret.encode() in clouds_yaml or what == 'target password'
    for where, data in texts.items():
        for what, secret in secrets.items():
            assert secret.encode() not in data, '%s in %s' % (what, where)
        assert FERNET not in data, 'a Keystone token in %s' % where

"""Neither ``downpour check`` nor the import runs in the project the
export read, unless asked to on purpose (issue 22, item 2).

A network with a subnet is exported from a fresh source project.  The
manifest and the playbook record where it came from (the identity
endpoint's host and the project ID, no secret).  With the source's own
credentials, ``downpour check`` refuses with exit 2 and one line naming
the project, even when Keystone is reached by another name (the project ID
is what is compared), and ``ansible-playbook OUT/playbook.yml -e
cloud=src`` stops before it creates anything.  With the overrides check
runs, and the import makes the network a second time, as asked.
"""

import urllib.parse

import pytest
import yaml

from tests.functional.helpers import BIN, environment, recap_changed, run

pytestmark = pytest.mark.functional


def _networks(conn, project_id):
    return sorted(n.name for n in conn.network.networks(
        project_id=project_id))


def test_check_and_import_refuse_the_source_project(tmp_path,
                                                    fresh_project):
    source = fresh_project('source')
    net = source.conn.network.create_network(name='app-net')
    source.conn.network.create_subnet(
        name='app-subnet', network_id=net.id, ip_version=4,
        cidr='10.41.0.0/24')
    # The same cloud and project by another name for Keystone's host.
    alias = yaml.safe_load(yaml.safe_dump(source.cloud_config))
    url = urllib.parse.urlsplit(alias['auth']['auth_url'])
    host = url.netloc
    alias['auth']['auth_url'] = url._replace(
        netloc=host.replace('127.0.0.1', 'localhost')).geturl()
    env = environment(tmp_path, {'src': source.cloud_config,
                                 'src-alias': alias})
    resources = tmp_path / 'resources.yml'
    resources.write_text(yaml.safe_dump({'networks': [{'name': 'app-net'}]}))
    out = tmp_path / 'out'
    run([BIN / 'downpour', '--os-cloud', 'src', 'export', resources, out],
        env)

    manifest = yaml.safe_load((out / 'manifest.yml').read_text())
    assert manifest['source']['project_id'] == source.project_id
    assert manifest['source']['host'] == host
    password = source.cloud_config['auth']['password']
    for name in ('manifest.yml', 'playbook.yml'):
        assert password not in (out / name).read_text()

    line = ('the target is the project the export read (project %s "%s" at '
            '%s)' % (source.project_id, source.cloud_config['auth'][
                'project_name'], host))
    for cloud in ('src', 'src-alias'):
        refused = run([BIN / 'downpour', '--os-cloud', cloud, 'check',
                       out], env, check=False)
        assert refused.returncode == 2, refused.stderr[-3000:]
        assert refused.stderr.splitlines() == [
            'downpour: error: %s: refusing to check an import into the '
            'source; --allow-source-project to do it on purpose' % line]
        assert not (out / 'check.yml').exists()

    refused = run([BIN / 'ansible-playbook', out / 'playbook.yml',
                   '-e', 'cloud=src'], env, check=False)
    assert refused.returncode != 0
    assert '%s: refusing to import into the source; -e ' \
        'allow_source_project=true to do it on purpose' % line \
        in refused.stdout, refused.stdout[-3000:]
    assert _networks(source.conn, source.project_id) == ['app-net']
    for name in ('journal.csv', 'uuids.csv', '.downpour-import.lock',
                 '.downpour-import.busy'):
        assert not (out / name).exists(), name

    # On purpose: check looks, and the import makes a second network.
    checked = run([BIN / 'downpour', '--os-cloud', 'src', 'check',
                   '--allow-source-project', '-f', 'json', out], env,
                  check=False)
    assert checked.returncode in (0, 1), checked.stderr[-3000:]
    assert 'checking an import into it, as --allow-source-project asks' \
        in checked.stderr
    assert 'networks' in {row['Check'] for row in yaml.safe_load(
        checked.stdout)}
    done = run([BIN / 'ansible-playbook', out / 'playbook.yml',
                '-e', 'cloud=src', '-e', 'allow_source_project=true'], env)
    assert recap_changed(done.stdout) > 0
    assert _networks(source.conn, source.project_id) == ['app-net',
                                                         'app-net']

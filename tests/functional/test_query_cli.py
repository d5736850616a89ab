"""``downpour query`` against a real cloud, as a project member.

A fresh project gets resources whose names tell the query rules apart (a
name with ``/``, two volumes with one name, another case); the command
runs as a user would run it, from clouds.yaml.
"""

import subprocess
import sys

import pytest
import yaml

from downpour.resourcefile import ResourceFile


def downpour(clouds_yaml, *argv):
    env = {'OS_CLIENT_CONFIG_FILE': str(clouds_yaml), 'PATH': '/usr/bin:/bin',
           'HOME': str(clouds_yaml.parent)}
    return subprocess.run(
        [sys.executable, '-m', 'downpour.cli.app', *argv],
        capture_output=True, text=True, env=env, timeout=300,
        stdin=subprocess.DEVNULL)


@pytest.fixture
def project(fresh_project, tmp_path):
    fresh = fresh_project('source')
    conn = fresh.conn
    conn.network.create_network(name='q-web')
    conn.network.create_network(name='q-web/db')
    conn.network.create_network(name='Q-WEB')
    conn.network.create_security_group(name='q-web')
    dup = [conn.block_storage.create_volume(name='q-dup', size=1)
           for _ in range(2)]
    one = conn.block_storage.create_volume(name='q-one', size=1)
    for volume in dup + [one]:
        conn.block_storage.wait_for_status(volume, 'available', wait=180)
    clouds_yaml = tmp_path / 'clouds.yaml'
    bad = dict(fresh.cloud_config,
               auth=dict(fresh.cloud_config['auth'], password='wrong-pw'))
    clouds_yaml.write_text(yaml.safe_dump({'clouds': {
        'fresh': fresh.cloud_config, 'bad': bad}}), encoding='utf-8')
    fresh.clouds_yaml = clouds_yaml
    fresh.dup_ids = sorted(v.id for v in dup)
    return fresh


def test_query_on_a_real_cloud(project, tmp_path):
    path = tmp_path / 'resources.yml'
    path.write_text('# mine\nvolumes:\n  - name: q-one\n    save_state: false\n',
                    encoding='utf-8')
    proc = downpour(project.clouds_yaml, '--os-cloud', 'fresh', 'query',
                    '-f', 'yaml', '--network-name', 'q-web',
                    '--volume-name', 'q-*', str(path))
    assert proc.returncode == 0, proc.stderr
    printed = yaml.safe_load(proc.stdout)
    assert sorted((row['Section'], row['Name']) for row in printed) == [
        ('networks', 'q-web'), ('volumes', 'q-dup'), ('volumes', 'q-dup')]

    rf = ResourceFile.load(str(path))
    assert [e.as_dict() for e in rf.entries('networks')] == [
        {'name': 'q-web'}]
    volumes = [e.as_dict() for e in rf.entries('volumes')]
    assert volumes[0] == {'name': 'q-one', 'save_state': False}
    assert sorted(v['id'] for v in volumes[1:]) == project.dup_ids
    assert all(v['name'] == 'q-dup' for v in volumes[1:])
    assert rf.entries('security_groups') == []
    assert path.read_text(encoding='utf-8').startswith('# mine\n')

    # The same query again changes nothing.
    before = path.read_text(encoding='utf-8')
    proc = downpour(project.clouds_yaml, '--os-cloud', 'fresh', 'query',
                    '--network-name', 'q-web', '--volume-name', 'q-*',
                    str(path))
    assert proc.returncode == 0, proc.stderr
    assert path.read_text(encoding='utf-8') == before


def test_refused_login_is_one_line_without_secrets(project, tmp_path):
    proc = downpour(project.clouds_yaml, '-v', '-v', '--os-cloud', 'bad',
                    'query', '--volume-name', '*', str(tmp_path / 'r.yml'))
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines()
             if line.startswith('downpour: ')]
    assert len(lines) == 1
    assert lines[0].startswith(
        "downpour: error: cloud 'bad': logging in failed: the credentials "
        'were refused')
    assert 'wrong-pw' not in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_debug_log_has_no_password_or_token(project, tmp_path):
    log = tmp_path / 'debug.log'
    proc = downpour(project.clouds_yaml, '-v', '-v', '--debug',
                    '--log-file', str(log), '--os-cloud', 'fresh', 'query',
                    '--volume-name', '*', str(tmp_path / 'r.yml'))
    assert proc.returncode == 0, proc.stderr
    text = log.read_text(encoding='utf-8') + proc.stderr
    assert 'volumes/detail' in text
    assert project.cloud_config['auth']['password'] not in text
    # Keystone's fernet tokens start with gAAAAA (a version byte and a
    # timestamp); the log shows only their SHA-256.
    assert 'gAAAAA' not in text
    assert '{SHA256}' in text


def test_export_follows_no_planted_link_and_refuses_a_shared_directory(
        project, tmp_path):
    """A link planted where export writes its lock would have it overwrite
    another file; a directory others may write into lets them plant one.
    Both are refused in one line, before anything is written; the user's
    own directory is exported into."""
    resources = tmp_path / 'resources.yml'
    resources.write_text('networks:\n  - name: Q-WEB\n', encoding='utf-8')
    victim = tmp_path / 'victim'
    victim.write_text('precious\n', encoding='utf-8')
    out = tmp_path / 'out'
    out.mkdir(mode=0o700)
    (out / '.downpour.lock').symlink_to(victim)

    proc = downpour(project.clouds_yaml, '--os-cloud', 'fresh', 'export',
                    str(resources), str(out))

    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        'downpour: error: %s/.downpour.lock is a symbolic link, which '
        'downpour does not follow: remove it' % out]
    assert victim.read_text(encoding='utf-8') == 'precious\n'

    (out / '.downpour.lock').unlink()
    out.chmod(0o777)  # noqa: S103 - what the export must refuse
    proc = downpour(project.clouds_yaml, '--os-cloud', 'fresh', 'export',
                    str(resources), str(out))
    assert proc.returncode == 1
    assert 'other users may write into the output directory' in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == []

    out.chmod(0o700)
    proc = downpour(project.clouds_yaml, '--os-cloud', 'fresh', 'export',
                    str(resources), str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / 'playbook.yml').exists()
    assert victim.read_text(encoding='utf-8') == 'precious\n'


def test_empty_and_partial_runs_say_so(project, tmp_path):
    """A query that finds nothing says so (exit 0, no file); an export of
    a file naming two resources the source lacks names both, exits 1 and
    leaves the directory as it was; the fixed file then exports into it
    without a word about the failed run."""
    path = tmp_path / 'resources.yml'
    proc = downpour(project.clouds_yaml, '--os-cloud', 'fresh', 'query',
                    '--volume-name', 'q-none-*', '--network-name', 'nope',
                    str(path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        "nothing added: no resource matched --network-name 'nope', "
        "--volume-name 'q-none-*'; %s was not created" % path]
    assert not path.exists()

    path.write_text('networks:\n  - name: q-web\n  - name: q-gone\n'
                    'security_groups:\n  - name: q-lost\n', encoding='utf-8')
    out = tmp_path / 'out'
    out.mkdir(mode=0o700)
    proc = downpour(project.clouds_yaml, '--os-cloud', 'fresh', 'export',
                    str(path), str(out))
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "downpour: error: %s: 2 entries match nothing in the source cloud: "
        "networks[1] (name 'q-gone'), security_groups[0] (name 'q-lost')"
        % path]
    assert list(out.iterdir()) == []

    path.write_text('networks:\n  - name: q-web\n', encoding='utf-8')
    proc = downpour(project.clouds_yaml, '--os-cloud', 'fresh', 'export',
                    str(path), str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / 'playbook.yml').exists()
    assert 'continuing' not in proc.stderr
    assert 'warning' not in proc.stderr.lower()

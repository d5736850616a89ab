"""The downpour application: errors, logging, connecting."""

import os
import subprocess
from importlib import metadata

import pytest

import downpour
from downpour.cli import app
from tests.unit import fakecloud


def run(capsys, *argv):
    status = app.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_version_names_the_exact_build(capsys):
    with pytest.raises(SystemExit) as info:
        app.main(['--version'])
    assert info.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out == 'downpour %s' % downpour.build()
    # The installed version as pbr made it, a development build's .devN
    # included (version_string() drops it).
    installed = metadata.version('os-downpour')
    assert downpour.__version__ == installed
    assert out.startswith('downpour %s' % installed)
    top = os.path.dirname(os.path.dirname(downpour.__file__))
    if os.path.exists(os.path.join(top, '.git')):
        # From a checkout: the commit that runs, not the install's.
        head = subprocess.run(['git', '-C', top, 'rev-parse', 'HEAD'],
                              capture_output=True, text=True,
                              check=True).stdout.strip()
        assert '(git %s' % head[:12] in out


def test_installed_development_build_names_its_commit(monkeypatch):
    monkeypatch.setattr(downpour, '_checkout_commit', lambda: None)
    monkeypatch.setattr(downpour, '_installed_commit', lambda: '70df01d')
    downpour.build.cache_clear()
    try:
        assert downpour.build() == '%s (git 70df01d)' % downpour.__version__
    finally:
        downpour.build.cache_clear()


@pytest.mark.parametrize('option', ['--os-service-type', '--os-service-name',
                                    '--os-api-version',
                                    '--os-endpoint-override'])
def test_single_service_options_are_hidden_and_refused(capsys, option):
    with pytest.raises(SystemExit):
        app.main(['--help'])
    assert option not in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        app.DownpourApp([]).parser.parse_known_args(
            [option, 'x', 'query'])
    assert info.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (
        'downpour: error: %s is for a client of one service; downpour uses '
        'every service of the cloud: give per-service settings (such as '
        'compute_api_version) in clouds.yaml instead' % option)


def test_region_and_interface_stay(clouds_yaml):
    options, _rest = app.DownpourApp([]).parser.parse_known_args(
        ['--os-region-name', 'r1', '--os-interface', 'internal'])
    assert (options.os_region_name, options.os_interface) == (
        'r1', 'internal')


def _commands():
    application = app.DownpourApp([])
    for name, entry in sorted(application.command_manager):
        if entry.value.startswith('downpour.'):
            yield name, entry.load()(application, None)


@pytest.mark.parametrize('name', ['check', 'export', 'graph', 'query'])
def test_help_is_plain_text(name):
    """The help shows what cliff takes from docstrings and help strings:
    no reStructuredText markup in either."""
    command = dict(_commands())[name]
    parser = command.get_parser('downpour %s' % name)
    texts = [command.get_description(), parser.format_help()]
    for text in texts:
        assert '`' not in text
        assert ':ref:' not in text and ':doc:' not in text
    # The first line is what `downpour --help` lists: a whole sentence.
    assert command.get_description().splitlines()[0].endswith('.')


def test_help_lists_commands_and_needs_no_cloud(capsys, clouds_yaml,
                                                monkeypatch):
    monkeypatch.setenv('OS_CLOUD', 'does-not-exist')
    with pytest.raises(SystemExit) as info:
        app.main(['--help'])
    assert not info.value.code
    out = capsys.readouterr().out
    assert '--os-cloud' in out
    assert 'query' in out


@pytest.mark.parametrize('cloud', ['fake', 'not-in-clouds-yaml'])
def test_parser_has_os_options(clouds_yaml, cloud):
    argv = ['--os-cloud', cloud, '--os-username', 'u',
            '--os-region-name', 'r', '--os-password', 'p', 'query']
    options, rest = app.DownpourApp(argv).parser.parse_known_args(argv)
    assert (options.os_cloud, options.os_username, options.os_password,
            options.os_region_name) == (cloud, 'u', 'p', 'r')
    assert rest == ['query']


def test_os_variables_are_defaults(clouds_yaml, monkeypatch):
    monkeypatch.setenv('OS_CLOUD', 'fake')
    monkeypatch.setenv('OS_USERNAME', 'from-env')
    options, _rest = app.DownpourApp([]).parser.parse_known_args([])
    assert (options.os_cloud, options.os_username) == ('fake', 'from-env')


@pytest.mark.parametrize('verbosity', [[], ['-v'], ['-v', '-v'], ['-q']])
def test_malformed_file_is_one_line_without_traceback(
        capsys, tmp_path, verbosity):
    path = tmp_path / 'r.yml'
    path.write_text('servers:\n  - name: web\n    flavour: big\n',
                    encoding='utf-8')
    status, out, err = run(capsys, *verbosity, 'query',
                           '--server-name', 'web', str(path))
    assert status == 1
    assert out == ''
    assert 'Traceback' not in err
    lines = [line for line in err.splitlines()
             if line.startswith('downpour: ')]
    assert lines == [
        "downpour: error: %s: servers[0] (name 'web'): unknown key "
        "'flavour' (keys are: name, id, save_state, key_name)" % path]
    if not verbosity or verbosity == ['-q']:
        assert err.splitlines() == lines


def test_debug_shows_the_traceback(capsys, tmp_path):
    path = tmp_path / 'r.yml'
    path.write_text('- nope\n', encoding='utf-8')
    status = app.main(['--debug', 'query', '--server-name', 'x', str(path)])
    assert status == 1
    err = capsys.readouterr().err
    assert 'Traceback' in err
    assert 'ResourceFileError' in err


def test_unreachable_cloud(capsys, clouds_yaml, tmp_path):
    status, out, err = run(capsys, '--os-cloud', 'down', 'query',
                           '--server-name', 'x', str(tmp_path / 'r.yml'))
    assert status == 1
    assert err == ("downpour: error: cloud 'down': logging in failed: "
                   'cannot connect at http://127.0.0.1:9/v3 (is the cloud '
                   'up and the URL right?)\n')
    assert not (tmp_path / 'r.yml').exists()


def test_unknown_cloud_from_environment(capsys, clouds_yaml, monkeypatch,
                                        tmp_path):
    monkeypatch.setenv('OS_CLOUD', 'nope')
    status, _out, err = run(capsys, 'query', '--server-name', 'x',
                            str(tmp_path / 'r.yml'))
    assert status == 1
    assert err == ("downpour: error: cloud 'nope' is not in clouds.yaml "
                   '(%s)\n' % clouds_yaml)


def test_invalid_auth_type(capsys, clouds_yaml):
    status, _out, err = run(capsys, '--os-auth-type', 'bogus', 'query')
    assert status == 1
    assert err.startswith('downpour: error: An invalid auth-type was '
                          'specified: bogus.')
    assert err.count('\n') == 1


def test_unexpected_errors_say_so_in_one_line():
    line = app.describe_error(KeyError('x'))
    assert line == ("downpour: unexpected error (a bug, please report it): "
                    "KeyError: 'x' (--debug shows the traceback)")


def test_credentials_stay_out_of_logs(capsys, clouds_yaml, fake_cloud,
                                      tmp_path):
    fake_cloud.get('compute', '/servers/detail', json={'servers': []})
    log_file = tmp_path / 'downpour.log'
    status, _out, err = run(
        capsys, '-v', '-v', '--debug', '--log-file', str(log_file),
        '--os-cloud', 'fake', 'query', '--server-name', '*',
        str(tmp_path / 'r.yml'))
    assert status == 0
    log = log_file.read_text(encoding='utf-8')
    assert 'GET call to compute' in log or 'servers/detail' in log
    for text in (log, err):
        assert fakecloud.PASSWORD not in text
        assert fakecloud.TOKEN not in text


def test_no_command_shows_help_and_fails(capsys):
    status, out, err = run(capsys)
    assert status == 1
    assert out == ''
    assert err.startswith('usage: downpour')

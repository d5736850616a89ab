"""``downpour export``: its parser."""

import pytest

from downpour.cli import app
from downpour.cli import export as export_cli
from downpour.errors import DownpourError


def parse(*argv):
    command = export_cli.Export(app.DownpourApp([]), None)
    return command.get_parser('downpour export').parse_args(list(argv))


def test_parser_defaults():
    args = parse('r.yml', 'out')
    assert (args.resource_file, args.output_dir) == ('r.yml', 'out')
    assert args.parallel == '4'
    assert args.captures == '8'
    assert args.reuse_captures is False and args.recapture is False
    assert args.keep_captures is False


def test_parser_capture_options():
    args = parse('--reuse-captures', '--keep-captures', '--parallel', '2',
                 'r.yml', 'out')
    assert args.reuse_captures is True and args.keep_captures is True
    assert args.parallel == '2'
    assert parse('--recapture', 'r.yml', 'out').recapture is True


def test_parser_reuse_and_recapture_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        parse('--reuse-captures', '--recapture', 'r.yml', 'out')
    assert 'not allowed with argument' in capsys.readouterr().err


def test_parser_needs_both_paths(capsys):
    with pytest.raises(SystemExit):
        parse('r.yml')


def test_captures_must_be_a_positive_number():
    with pytest.raises(DownpourError, match="--captures needs a whole "
                       "number of at least 1, not '0'"):
        export_cli._positive('0', '--captures')


def test_with_load_balancers_is_asked_for_and_passed_on(monkeypatch,
                                                        tmp_path):
    assert parse('r.yml', 'out').with_load_balancers is False
    args = parse('--with-load-balancers', 'r.yml', 'out')
    assert args.with_load_balancers is True
    resources = tmp_path / 'r.yml'
    resources.write_text('servers:\n  - name: web\n')
    seen = {}

    def fake_export(conn, resource_file, output_dir, **options):
        seen.update(options)
        raise DownpourError('stop here')
    monkeypatch.setattr(export_cli.export, 'export', fake_export)
    command = export_cli.Export(app.DownpourApp([]), None)
    monkeypatch.setattr(command.app, 'connect', lambda: None,
                        raising=False)
    monkeypatch.setattr(command.app, 'options', type(
        'Options', (), {'verbose_level': 0})(), raising=False)
    with pytest.raises(DownpourError, match='stop here'):
        command.take_action(parse('--with-load-balancers', str(resources),
                                  str(tmp_path / 'out')))
    assert seen['with_load_balancers'] is True

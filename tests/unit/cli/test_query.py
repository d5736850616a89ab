"""``downpour query``: its parser and a run against the fake cloud."""

import dataclasses
import json

import pytest
import yaml

from downpour import query
from downpour.cli import app
from downpour.cli import query as query_cli
from downpour.importer import definitions


def parse(*argv):
    command = query_cli.Query(app.DownpourApp([]), None)
    return command.get_parser('downpour query').parse_args(list(argv))


def test_parser_defaults():
    args = parse('r.yml', '--server-name', 'web')
    assert args.resource_file == 'r.yml'
    assert args.server_names == ['web']
    assert args.image_names == [] and args.volume_names == []
    assert args.keypair_names == [] and args.network_names == []
    assert args.security_group_names == []
    assert args.server_flavors == [] and args.server_statuses == []
    assert args.include_public is False
    assert args.save_state is None


def test_parser_repeatable_filters_and_options():
    args = parse('--server-name', 'a*', '--server-name', 'b',
                 '--image-name', 'i', '--volume-name', 'v',
                 '--keypair-name', 'k', '--network-name', 'n',
                 '--security-group-name', 's', '--server-flavor', 'm1',
                 '--server-status', 'active', '--include-public',
                 '--no-save-state', 'r.yml')
    assert args.server_names == ['a*', 'b']
    assert (args.image_names, args.volume_names, args.keypair_names,
            args.network_names, args.security_group_names) == (
        ['i'], ['v'], ['k'], ['n'], ['s'])
    assert args.server_flavors == ['m1']
    assert args.server_statuses == ['active']
    assert args.include_public is True
    assert args.save_state is False
    assert parse('--save-state', 'r.yml').save_state is True


@pytest.mark.parametrize('rtype', list(definitions.BY_SECTION.values()),
                         ids=lambda t: t.name)
def test_each_declared_section_has_its_option(rtype):
    command = query_cli.Query(app.DownpourApp([]), None)
    [action] = [a for a in command.get_parser('downpour query')._actions
                if rtype.option in a.option_strings]
    assert action.dest == query.names_field(rtype)
    assert action.metavar == (
        'ADDRESS' if rtype.named_by == 'address' else 'PATTERN')
    words = ('floating IP' if rtype.named_by == 'address'
             else rtype.section.replace('_', ' '))
    assert words in action.help
    assert getattr(parse(rtype.option, 'a', rtype.option, 'b', 'r.yml'),
                   action.dest) == ['a', 'b']


def test_every_filter_is_an_option():
    """take_action fills each field of Filters from its option's dest."""
    args = parse('r.yml')
    assert query.Filters(**{f.name: getattr(args, f.name)
                            for f in dataclasses.fields(query.Filters)}) \
        == query.Filters()


def test_parser_save_state_options_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        parse('--save-state', '--no-save-state', 'r.yml')


def test_parser_needs_the_file(capsys):
    with pytest.raises(SystemExit):
        parse('--server-name', 'x')


def test_no_filter_is_refused_before_connecting(capsys, tmp_path):
    status = app.main(['--os-cloud', 'nowhere', 'query',
                       str(tmp_path / 'r.yml')])
    assert status == 1
    assert capsys.readouterr().err == (
        'downpour: error: nothing to query: give at least one filter\n')


def test_query_creates_then_updates_the_file(capsys, clouds_yaml, cloud,
                                             tmp_path):
    path = tmp_path / 'r.yml'
    status = app.main(['--os-cloud', 'fake', 'query', '-f', 'json',
                       '--server-name', 'db', '--keypair-name', 'ops',
                       '--no-save-state', str(path)])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert json.loads(out) == [
        {'Section': 'servers', 'Name': 'db', 'ID': 's-db1'},
        {'Section': 'servers', 'Name': 'db', 'ID': 's-db2'},
        {'Section': 'keypairs', 'Name': 'ops', 'ID': 'ops'},
    ]
    assert yaml.safe_load(path.read_text(encoding='utf-8')) == {
        'servers': [
            {'name': 'db', 'id': 's-db1', 'save_state': False},
            {'name': 'db', 'id': 's-db2', 'save_state': False}],
        'keypairs': [{'name': 'ops'}],
    }
    # Again, with more: only the new server is added.
    status = app.main(['--os-cloud', 'fake', 'query', '-f', 'csv',
                       '--server-name', 'db', '--server-name', 'web',
                       str(path)])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert out == '"Section","Name","ID"\n"servers","web","s-web"\n'
    assert yaml.safe_load(path.read_text(encoding='utf-8'))['servers'][-1] \
        == {'name': 'web'}


def test_nothing_matched_says_so_and_leaves_no_file(capsys, clouds_yaml,
                                                   cloud, tmp_path):
    """Nothing matched is an answer (exit 0), said plainly: which pattern
    found nothing, and that no file was written."""
    path = tmp_path / 'r.yml'
    status = app.main(['--os-cloud', 'fake', 'query', '--server-name',
                       'nothing-like-this', str(path)])
    out, err = capsys.readouterr()
    assert status == 0
    assert out.strip() == ''
    assert err.splitlines() == [
        "nothing added: no resource matched --server-name "
        "'nothing-like-this'; %s was not created" % path]
    assert not path.exists()


def test_a_pattern_that_matched_nothing_is_named_beside_what_was_added(
        capsys, clouds_yaml, cloud, tmp_path):
    path = tmp_path / 'r.yml'
    status = app.main(['--os-cloud', 'fake', 'query', '-f', 'value',
                       '--server-name', 'db', '--server-name', 'dbb',
                       '--volume-name', 'Data', '--keypair-name', 'ops',
                       str(path)])
    out, err = capsys.readouterr()
    assert status == 0
    assert 'ops' in out
    assert err.splitlines() == [
        "nothing matched --volume-name 'Data', --server-name 'dbb'",
        '3 entries added to %s' % path]
    # One entry: singular.  The keypair is there already: said so.
    status = app.main(['--os-cloud', 'fake', 'query', '--keypair-name',
                       'ops', '--server-name', 'web', str(path)])
    assert status == 0
    assert capsys.readouterr().err.splitlines() == [
        '1 entry added to %s' % path]
    before = path.read_text(encoding='utf-8')
    status = app.main(['--os-cloud', 'fake', 'query', '--keypair-name',
                       'ops', str(path)])
    assert status == 0
    assert capsys.readouterr().err.splitlines() == [
        'nothing added: the 1 resource that matched is already in %s' % path]
    assert path.read_text(encoding='utf-8') == before
    status = app.main(['--os-cloud', 'fake', 'query', '--keypair-name',
                       'nope', str(path)])
    assert capsys.readouterr().err.splitlines() == [
        "nothing added: no resource matched --keypair-name 'nope'; %s is "
        "unchanged" % path]
    assert path.read_text(encoding='utf-8') == before

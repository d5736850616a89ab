"""The selection strategies of ``downpour query``: the parser, in
python-openstackclient's style (an argument list and the attributes it
must give), and what each selects from a fake project."""

import datetime

import pytest

from downpour import query
from downpour.cli import app
from downpour.cli import query as query_cli
from downpour.errors import DownpourError

UTC = datetime.UTC


class ParserException(Exception):
    pass


def check_parser(arglist, verifylist):
    """Parse ``arglist`` as ``downpour query`` does and check each
    (attribute, value) of ``verifylist``; argparse's exit becomes
    ParserException."""
    command = query_cli.Query(app.DownpourApp([]), None)
    parser = command.get_parser('downpour query')
    try:
        parsed = parser.parse_args(arglist)
    except SystemExit:
        raise ParserException('argument parse failed') from None
    for attr, value in verifylist:
        assert attr in parsed
        assert getattr(parsed, attr) == value, attr
    return parsed


def test_defaults():
    check_parser(['r.yml', '--all'], [
        ('select_all', True), ('used_only', False), ('same_host_as', None),
        ('server_networks', []), ('server_tags', []),
        ('created_before', None), ('created_after', None),
        ('server_statuses', []), ('server_flavors', [])])


def test_all_and_used():
    check_parser(['--all', '--used', 'r.yml'],
                 [('select_all', True), ('used_only', True)])


def test_same_host_as():
    check_parser(['--same-host-as', 'web-1', 'r.yml'],
                 [('same_host_as', 'web-1')])


def test_same_host_as_needs_a_server(capsys):
    with pytest.raises(ParserException):
        check_parser(['r.yml', '--same-host-as'], [])


def test_status_and_flavor_are_the_server_options():
    check_parser(['--status', 'active', '--server-status', 'SHUTOFF',
                  '--flavor', 'm1.tiny', '--server-flavor', 'm1.small',
                  'r.yml'],
                 [('server_statuses', ['active', 'SHUTOFF']),
                  ('server_flavors', ['m1.tiny', 'm1.small'])])


def test_network_and_tag_repeat():
    check_parser(['--network', 'front', '--network', 'n-id', '--tag', 'a',
                  '--tag', 'b', 'r.yml'],
                 [('server_networks', ['front', 'n-id']),
                  ('server_tags', ['a', 'b'])])


def test_created_before_and_after():
    check_parser(['--created-after', '2026-11-30',
                  '--created-before', '2026-12-01T08:30:00+01:00', 'r.yml'],
                 [('created_after', datetime.datetime(2026, 11, 30,
                                                      tzinfo=UTC)),
                  ('created_before', datetime.datetime(
                      2026, 12, 1, 7, 30, tzinfo=UTC))])


@pytest.mark.parametrize('value', ['yesterday', '30/11/2026', ''])
def test_created_needs_a_time(capsys, value):
    with pytest.raises(ParserException):
        check_parser(['--created-before', value, 'r.yml'], [])
    assert 'not a date or time' in capsys.readouterr().err


def test_used_without_servers_is_refused():
    with pytest.raises(DownpourError, match='--used selects'):
        query.Filters(used_only=True).check()
    query.Filters(used_only=True, server_names=['web']).check()
    query.Filters(used_only=True, server_tags=['x']).check()


def test_created_after_must_come_first():
    with pytest.raises(DownpourError, match='earlier'):
        query.Filters(
            created_after=datetime.datetime(2026, 12, 2, tzinfo=UTC),
            created_before=datetime.datetime(2026, 12, 1, tzinfo=UTC),
        ).check()


def test_strategies_search_what_they_need():
    every = query.Filters(select_all=True)
    assert all(every.patterns(s) == ['*'] for s in query.SECTIONS)
    used = query.Filters(used_only=True, server_names=['web-*'])
    assert [s for s in query.SECTIONS if used.patterns(s)] == [
        'keypairs', 'security_groups', 'images', 'servers']
    assert query.Filters(same_host_as='x').patterns('servers') == ['*']
    assert query.Filters(server_networks=['n']).patterns('volumes') == []

"""The source's default security group in a target project that other
applications already use: their ports are in the project's own default
group, which the import must not widen unless told to (issue 21, item 1).

Against the shared fake target (tests/unit/importer/target.py), which,
as Neutron does, puts a port in the project's default group when none is
named and refuses a second group called ``default``.
"""

import pytest

from tests.unit.importer.items import group, network, port, rule, subnet, tcp
from tests.unit.importer.target import Target
from tests.unit.importer.test_engine import Files, run

SSH = tcp(22, remote_ip_prefix='0.0.0.0/0')


@pytest.fixture
def files(tmp_path):
    return Files(tmp_path)


def _keys(group_):
    return sorted(((r['direction'], r['ethertype'], r.get('protocol'),
                    r.get('port_range_min'), r.get('remote_ip_prefix'),
                    r.get('remote_group_id'))
                   for r in group_['security_group_rules']), key=repr)


def _application(default):
    """The source's default group (Neutron's four rules, and ssh from
    anywhere), and a port in it."""
    default_rules = [rule('ingress', 'IPv4', remote_group=default),
                     rule('ingress', 'IPv6', remote_group=default),
                     rule('egress', 'IPv4'), rule('egress', 'IPv6'), SSH]
    sg = group('default', default=True, old=default, rules=default_rules)
    net = network('app')
    sub = subnet('app', net)
    web = port('web', net, fixed=[(sub, '10.20.0.10')], groups=[sg])
    return sg, [sg, net, sub, web]


def _lived_in(target):
    """Another application's port, in the project's default group."""
    theirs = target.add_network('private')
    return target.add_port('their-db', theirs)


def test_a_lived_in_projects_default_group_is_not_widened(fake_cloud, files):
    target = Target(fake_cloud)
    _lived_in(target)
    before = _keys(target.default)
    sg, items = _application('a1b2c3d4-source-default')

    done = run(fake_cloud, items, files)

    assert _keys(target.default) == before
    stand_in = target.groups[done.ids[sg['id']]]
    assert stand_in['name'] == 'default-a1b2c3d4-downpour'
    assert ('ingress', 'IPv4', 'tcp', 22, '0.0.0.0/0', None) in \
        _keys(stand_in)
    # Its members may reach one another, as the source's could.
    assert ('ingress', 'IPv4', None, None, None, stand_in['id']) in \
        _keys(stand_in)
    web = target.ports[done.ids[items[-1]['id']]]
    assert web['security_groups'] == [stand_in['id']]
    assert ['security group', 'default', sg['id'], stand_in['id'],
            'created'] in files.journal_rows()
    assert done.clashes == []


def test_the_stand_in_is_kept_by_the_next_run(fake_cloud, files):
    target = Target(fake_cloud)
    _lived_in(target)
    sg, items = _application('a1b2c3d4-source-default')
    first = run(fake_cloud, items, files)
    target.mark()

    look = run(fake_cloud, items, files, check_mode=True)
    again = run(fake_cloud, items, files)

    assert look.pending == []
    assert again.ids[sg['id']] == first.ids[sg['id']]
    assert target.writes() == []


def test_an_empty_projects_default_group_gains_the_rules(fake_cloud, files):
    target = Target(fake_cloud)
    sg, items = _application('a1b2c3d4-source-default')

    done = run(fake_cloud, items, files)

    assert done.ids[sg['id']] == target.default['id']
    assert ('ingress', 'IPv4', 'tcp', 22, '0.0.0.0/0', None) in \
        _keys(target.default)
    assert [g['name'] for g in target.groups.values()] == ['default']


def test_widen_default_group_widens_a_lived_in_projects(fake_cloud, files):
    target = Target(fake_cloud)
    _lived_in(target)
    sg, items = _application('a1b2c3d4-source-default')

    done = run(fake_cloud, items, files, widen_default_group=True)

    assert done.ids[sg['id']] == target.default['id']
    assert ('ingress', 'IPv4', 'tcp', 22, '0.0.0.0/0', None) in \
        _keys(target.default)


def test_a_default_group_with_the_rules_already_is_taken(fake_cloud, files):
    target = Target(fake_cloud)
    _lived_in(target)
    source = 'a1b2c3d4-source-default'
    sg, items = _application(source)
    # Neutron's four rules and nothing else: what an untouched project has.
    sg['rules'] = sg['rules'][:4]
    target.mark()

    done = run(fake_cloud, items, files)

    assert done.ids[sg['id']] == target.default['id']
    assert target.bodies('POST', '/security-groups') == []
    assert target.bodies('POST', '/security-group-rules') == []


def test_the_look_counts_the_stand_in(fake_cloud, files):
    target = Target(fake_cloud)
    _lived_in(target)
    sg, items = _application('a1b2c3d4-source-default')

    look = run(fake_cloud, items, files, check_mode=True)
    cost = look.costs(lambda item: 0)[sg['id']]

    assert cost['security_groups'] == 1
    # Neutron's two egress rules come with a new group; the other three
    # are to be made.
    assert cost['security_group_rules'] == 5
    assert look.clashes == []

"""The source's external and shared networks are chosen, never made, and
only among the target's networks of the same kind: a network of the
project's own that bears the external network's name is never a router's
gateway or a floating IP's network (issue 21, item 3)."""

import pytest

from downpour import importer as dr
from tests.unit.importer.items import external
from tests.unit.importer.target import OTHER_PROJECT, Target
from tests.unit.importer.test_engine import Files, run


@pytest.fixture
def files(tmp_path):
    return Files(tmp_path)


def _external(name, is_external=True):
    return dict(external(name), external=is_external)


@pytest.mark.parametrize('item', [_external('ext'), external('ext')],
                         ids=['external', 'exported-before-the-flag'])
def test_a_project_network_of_the_external_networks_name_is_not_taken(
        fake_cloud, files, item):
    target = Target(fake_cloud)
    theirs = target.add_network('ext')  # the project's own, not external
    target.mark()

    look = run(fake_cloud, [item], files, check_mode=True)

    assert look.ids[item['id']] == target.public['id'] != theirs['id']
    assert target.writes() == []


def test_a_network_map_entry_naming_a_project_network_is_refused(
        fake_cloud, files):
    target = Target(fake_cloud)
    target.add_network('app')
    item = _external('ext')

    look = dr.Importer(fake_cloud.connect(), check_mode=True,
                       network_map={'ext': 'app'})
    look.run([item])

    assert item['id'] not in look.ids
    assert look.missing == [item['id']]


def test_two_external_networks_of_the_name_stop_the_import_naming_both(
        fake_cloud, files):
    target = Target(fake_cloud)
    other = target.add_network('public', project=OTHER_PROJECT,
                               external=True)
    item = _external('public')
    target.mark()

    look = run(fake_cloud, [item], files, check_mode=True)

    assert item['id'] not in look.ids
    assert look.missing == [item['id']]
    line, = look.unmatched
    assert target.public['id'] in line and other['id'] in line
    assert 'network_map' in line
    assert target.writes() == []


def test_a_shared_network_is_chosen_among_those_shared_with_the_project(
        fake_cloud, files):
    target = Target(fake_cloud)
    target.add_network('common')  # the project's own
    shared = target.add_network('common', project=OTHER_PROJECT,
                                shared=True)
    item = _external('common', is_external=False)

    look = run(fake_cloud, [item], files, check_mode=True)

    assert look.ids[item['id']] == shared['id']
    # And never the external network in its stead.
    alone = _external('elsewhere', is_external=False)
    look = run(fake_cloud, [alone], files, check_mode=True)
    assert alone['id'] not in look.ids


def test_a_network_map_entry_naming_one_of_two_by_its_id_chooses_it(
        fake_cloud, files):
    """What the line naming both says to do: name one by its ID."""
    target = Target(fake_cloud)
    own = target.add_network('common')  # the project's own
    first = target.add_network('common', project=OTHER_PROJECT, shared=True)
    second = target.add_network('common', project=OTHER_PROJECT,
                                shared=True)
    item = _external('common', is_external=False)

    look = dr.Importer(fake_cloud.connect(), check_mode=True,
                       network_map={'common': second['id']})
    look.run([item])

    assert look.ids[item['id']] == second['id'] != first['id']
    assert look.missing == [] and look.unmatched == []
    # An ID the project's own network has is no shared network.
    look = dr.Importer(fake_cloud.connect(), check_mode=True,
                       network_map={'common': own['id']})
    look.run([item])
    assert item['id'] not in look.ids
    assert look.missing == [item['id']]

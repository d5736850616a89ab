"""Hand edits of playbook.yml (issue 22, item 5): an item taken out takes
with it what the export added only for it (a server's capture, its flavor,
group and zone), by the references the types declare.  The import does
not upload or choose them, ``downpour check`` does not count them and names
them, ``downpour graph`` does not draw them."""

import os

import pytest
import yaml

from downpour import check, graph, render
from downpour.importer import definitions
from downpour.importer.orphans import orphans
from tests.unit.importer.target import Target
from tests.unit.importer.test_engine import _sample_lists, play
from tests.unit.test_check import _output_dir, _quotas, _rows
from tests.unit.test_summary import summary

GOLDEN = os.path.join(os.path.dirname(__file__), 'golden',
                      'sample-playbook.yml')
WEB_1 = '88888888-8888-4888-8888-888888888881'
WEB_2 = '88888888-8888-4888-8888-888888888882'
CAPTURE = 'snapshot-' + WEB_1


def _golden_items():
    with open(GOLDEN, encoding='utf-8') as stream:
        play_, = yaml.load(stream, Loader=render.UnsafeLoader)  # noqa: S506
    return play_, [i for key, value in play_['vars'].items()
                   if key.startswith('downpour_') and isinstance(value, list)
                   for i in value]


def _without(items, *keys):
    return [i for i in items if i['id'] not in keys]


def test_an_export_as_written_has_no_orphans_and_every_type_is_declared():
    _play, items = _golden_items()
    assert orphans(items) == []
    # Every type only there for others is referred to by some type.
    referred = {name for t in definitions.ORDER for ref in t.refs
                for name in ref.types}
    for t in definitions.ORDER:
        if t.for_others:
            assert t.name in referred, t.name
            assert t.section is None, t.name


def test_what_goes_with_a_server_taken_out():
    _play, items = _golden_items()
    # web-1 alone: its capture; its flavor, group and zone stay for web-2.
    assert [i['id'] for i in orphans(_without(items, WEB_1))] == [CAPTURE]
    # Both servers: their flavor, zone, group and web-1's capture; what the
    # resource file could name (the image, the volume), the ports and the
    # external network the router still uses stay.
    gone = orphans(_without(items, WEB_1, WEB_2))
    assert sorted((i['type'], i['name']) for i in gone) == [
        ('availability_zone', 'nova'), ('flavor', 'm1.small'),
        ('server_group', 'web-group'), ('server_snapshot', 'web-1-snapshot')]
    # Transitively: with the volumes gone too, their type and zone.
    volumes = [i['id'] for i in items if i['type'] == 'volume']
    gone = orphans(_without(items, WEB_1, WEB_2, *volumes))
    assert {'volume_type', 'availability_zone'} <= {i['type'] for i in gone}
    assert not [i for i in gone if i['type'] == 'availability_zone'
                and i['id'] not in ('availability_zone_003',
                                    'availability_zone_015')]


def test_the_import_leaves_out_the_capture_of_a_server_taken_out(
        fake_cloud, tmp_path, monkeypatch):
    from downpour.importer import Importer
    from tests.unit.importer.test_engine import Files
    # As the module runs it (see the test below).
    monkeypatch.setattr(Importer, 'prune_orphans', True)
    lists = _sample_lists(fake_cloud, tmp_path)
    lists['downpour_servers'] = [i for i in lists['downpour_servers']
                                 if i['name'] != 'web-1']
    target = Target(fake_cloud)
    files = Files(tmp_path)

    look, _ids, _ran = play(fake_cloud, lists, files)

    capture, = [i['id'] for i in lists['downpour_images']
                if i['type'] == 'server_snapshot']
    assert look.orphans == [capture]
    assert capture not in look.pending
    # Not uploaded: no image of its name, no byte of it sent.
    assert [i['name'] for i in target.images.values()] == ['cirros']
    assert sorted(s['name'] for s in target.servers.values()) == ['web-2']
    assert capture not in {row[2] for row in files.journal_rows()}


def _edit(out, *keys):
    """Take items out of the playbook of ``out``, as a user would."""
    path = out / 'playbook.yml'
    with open(path, encoding='utf-8') as stream:
        play_, = yaml.load(stream, Loader=render.UnsafeLoader)  # noqa: S506
    for key, value in play_['vars'].items():
        if key.startswith('downpour_') and isinstance(value, list):
            play_['vars'][key] = [i for i in value
                                  if not isinstance(i, dict)
                                  or i.get('id') not in keys]
    path.write_text(yaml.safe_dump([play_], sort_keys=False))


def test_check_neither_counts_nor_chooses_what_goes_and_names_it(
        fake_cloud, tmp_path):
    out = _output_dir(fake_cloud, tmp_path)
    target = Target(fake_cloud)
    _quotas(fake_cloud)
    # A target without the servers' flavor: only they needed it.
    target.flavors.clear()
    _export, _look, _cost, before, _found = check.run_check(
        fake_cloud.connect(), str(out))
    assert 'flavor m1.small is missing' in before.problems

    _edit(out, WEB_1, WEB_2)
    _export, _look, _cost, result, _found = check.run_check(
        fake_cloud.connect(), str(out))

    assert result.fits, result.problems
    rows = _rows(result)
    assert 'flavor m1.small' not in rows
    assert rows['instances'][0] == 0 and rows['server groups'][0] == 0
    # The image and web-data's bytes; not web-1's capture (3 MiB each).
    assert rows['images'][0] == 2
    assert rows['image storage (MiB)'][0] == 6
    left = sorted(row[3].split(' (source ID')[0] for row in result.rows
                  if row[0] == 'left out')
    assert left == ["availability_zone 'nova'", "flavor 'm1.small'",
                    "server group 'web-group'",
                    "server snapshot 'web-1-snapshot'"]
    for row in result.rows:
        if row[0] == 'left out':
            assert row[3].endswith(
                'no item left in the playbook refers to it (taken out by '
                'hand): not imported')


def test_graph_does_not_draw_what_goes(fake_cloud, tmp_path):
    out = _output_dir(fake_cloud, tmp_path)
    _edit(out, WEB_1)
    drawn = graph.from_output(str(out))
    names = {(n.type, n.name) for n in drawn.nodes}
    assert ('server_snapshot', 'web-1-snapshot') not in names
    assert ('server', 'web-1') not in names
    assert {('server', 'web-2'), ('flavor', 'm1.small')} <= names


def test_the_summary_says_what_was_left_out(tmp_path):
    items = [{'type': 'server_snapshot', 'id': 'c', 'name': 'web-1-snap',
              'csv_type': 'server snapshot'},
             {'type': 'server', 'id': 'v', 'name': 'web-2',
              'csv_type': 'server'}]
    lines = summary.downpour_summary(
        items, {'v': 'x'}, [], str(tmp_path), str(tmp_path / 'u.csv'),
        ['c'])
    assert lines[:2] == ['0 created, 1 already there',
                         'server: 0 created, 1 already there']
    assert "left out: server snapshot 'web-1-snap', no item left in the " \
        'playbook refers to it' in lines


@pytest.mark.parametrize('orphaned', [True, False])
def test_the_play_stops_on_a_missing_flavor_only_when_it_is_needed(orphaned):
    """The playbook's stop task, as Ansible evaluates it: a flavor the
    target lacks stops the import, unless the look left it out."""
    from ansible.template import Templar, trust_as_template
    play_, _items = _golden_items()
    stop = next(t for t in play_['tasks']
                if t['name'].startswith('Stop before anything is created'))
    check_, = [c for c in stop['vars']['downpour_checks']
               if 'flavor_001' in c['found']]
    templar = Templar(variables={
        'downpour_ids': {},
        'downpour_target': {'orphans': ['flavor_001'] if orphaned else []}})
    assert templar.template(trust_as_template(check_['found'])) is orphaned


def test_the_module_leaves_out_and_names_an_item_nothing_needs(
        fake_cloud, capsys, tmp_path):
    from downpour.importer import run_module
    from tests.unit.importer.items import flavor, network
    from tests.unit.importer.test_engine import Files, ansible
    Target(fake_cloud)
    alone, net = flavor('huge', vcpus=64), network('app-net')

    look = ansible(capsys, Files(tmp_path), [alone, net], check_mode=True)

    assert look['orphans'] == [alone['id']]
    # Not looked for: the target has none as large, and that stops nothing.
    assert look['missing'] == [] and look['pending'] == [net['id']]
    # What it says.  (Called directly: Ansible's warnings in this process
    # depend on what the tests before did with its templating.)
    said = []
    failed, _result = run_module(fake_cloud.connect(), {
        'resources': [alone, net]}, True, said.append)
    assert failed is None
    assert said == [
        "flavor 'huge' (source ID %s): no item left in the playbook refers "
        'to it (taken out by hand): not imported' % alone['id']]

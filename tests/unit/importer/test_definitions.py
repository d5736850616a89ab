"""The declarations of the types (downpour/importer/definitions.py): the
contract between the item each template writes and what its import home
reads, the order derived from the references, and one home per type on
each side, named alike."""

import importlib
import os

import pytest
import yaml

from downpour import check, render, resources
from downpour import importer as dr
from downpour.importer import definitions
from tests.unit.test_render import _sample_export

HERE = os.path.dirname(__file__)


def _items(fake_cloud):
    """Every item of the sample's playbook, as the import reads it."""
    text = render.render_playbook(_sample_export(fake_cloud))
    plays = yaml.load(text, Loader=render.UnsafeLoader)  # noqa: S506
    return [item for key, value in plays[0]['vars'].items()
            if key.startswith('downpour_') and isinstance(value, list)
            for item in value]


def test_each_item_holds_only_what_its_type_declares(fake_cloud):
    items = _items(fake_cloud)
    assert {i['type'] for i in items} >= {
        'server', 'port', 'network', 'subnet', 'router', 'security_group',
        'volume', 'image', 'server_snapshot', 'keypair', 'flavor',
        'external_network', 'floating_ip', 'server_group'}
    for item in items:
        declared = definitions.BY_NAME[item['type']]
        extra = set(item) - set(definitions.HEAD) - set(declared.fields)
        assert not extra, '%s writes %s, which %s does not declare' % (
            item['type'], sorted(extra), item['type'])


def test_each_reference_names_an_item_of_a_declared_type(fake_cloud):
    items = _items(fake_cloud)
    by_key = {item['id']: item for item in items}
    seen = 0
    for item in items:
        for ref in definitions.BY_NAME[item['type']].refs:
            for key in ref.keys(item):
                assert by_key[key]['type'] in ref.types, (item, ref.path)
                seen += 1
    assert seen > 20  # the sample's servers, ports, subnets, router ...


def test_the_order_puts_each_type_after_those_it_refers_to():
    position = {t.name: n for n, t in enumerate(definitions.ORDER)}
    for definition in definitions.ORDER:
        for ref in definition.refs:
            for name in ref.types:
                assert name == definition.name or \
                    position[name] < position[definition.name]
    # The engine works in that order.
    assert [k.definition for k in dr.KINDS] == list(definitions.ORDER)


def test_a_circle_of_references_is_refused():
    a = definitions.Type('a', object, refs=(definitions.Ref('b', ('b',)),))
    b = definitions.Type('b', object, refs=(definitions.Ref('a', ('a',)),))
    with pytest.raises(ValueError, match='circle: a, b'):
        definitions._in_order((a, b))


@pytest.mark.parametrize('definition', definitions.ORDER,
                         ids=lambda t: t.name)
def test_each_type_has_a_home_on_each_side_named_after_it(definition):
    assert resources.BY_TYPE[definition.name].definition is definition
    assert resources.BY_TYPE[definition.name].__module__ == \
        'downpour.resources.%s' % definition.name
    assert definition.home.definition is definition
    assert definition.home.__module__ == \
        'downpour.importer.%s' % definition.name
    template = os.path.join(render.TEMPLATE_DIR,
                            '%s.yml.j2' % definition.name)
    assert os.path.exists(template)


def test_the_tables_are_the_declarations():
    # The playbook's lists, their task's title, check's quotas, graph's
    # drawing: each read off the declarations.
    assert render.BATCHES == definitions.LISTS
    assert set(render.CHOSEN) == {t.list for t in definitions.ORDER
                                  if t.chosen}
    assert check.QUOTAS == definitions.QUOTAS
    graph = importlib.import_module('downpour.graph')
    assert graph.SHAPES == {t.name: t.shape for t in definitions.ORDER}
    assert dr.journal.UNMAPPED[0] == 'server snapshot'


def test_a_ref_walks_lists_and_fields():
    ref = definitions.Ref('interfaces[].subnet', ('subnet',))
    item = {'id': 'r', 'interfaces': [{'subnet': 's1'}, {'subnet': 's2'},
                                      {'network': 'n'}]}
    assert ref.keys(item) == ['s1', 's2']
    assert ref.field == 'interfaces'
    assert definitions.Ref('ports[]', ('port',)).keys(
        {'ports': ['p1', None, 'p2']}) == ['p1', 'p2']

"""Swift containers at import, against a fake Swift: made with what the
export carried, found again by the journal, and a same-named container
the import did not make never written into, unless adopt takes it (and
then only given objects, never changed)."""

import uuid

import pytest

from downpour.importer.engine import run_module
from tests.unit.swift import FakeSwift


@pytest.fixture
def swift(fake_cloud):
    return FakeSwift(fake_cloud, policies=('gold', 'silver'))


def policy(name):
    return {'type': 'swift_policy', 'id': 'swift_policy_%03d' % len(name),
            'name': name}


def container(name, **fields):
    item = {'type': 'swift_container', 'id': str(uuid.uuid4()),
            'name': name, 'csv_type': 'container', 'metadata': {},
            'read_acl': [], 'write_acl': []}
    item.update(fields)
    return item


def _run(fake_cloud, tmp_path, items, check_mode=False, **params):
    said = []
    failed, result = run_module(fake_cloud.connect(), dict({
        'resources': items, 'journal': str(tmp_path / 'journal.csv'),
        'uuids_csv': str(tmp_path / 'uuids.csv'), 'name_clash': 'create',
        'parallel': 2}, **params), check_mode, said.append)
    return failed, result, said


def _site():
    silver = policy('silver')
    old = container('site-old')
    site = container('site', metadata={'Web-Index': 'index.html',
                                       'Quota-Count': '10'},
                     read_acl=['.r:*', '.rlistings'],
                     storage_policy=silver['id'], versions_mode='history',
                     versions=old['id'])
    return [silver, old, site]


def test_a_first_run_makes_them_and_a_second_changes_nothing(
        fake_cloud, swift, tmp_path):
    items = _site()
    failed, result, _ = _run(fake_cloud, tmp_path, items)
    assert failed is None, failed
    made = swift.containers['site']['headers']
    assert made['X-Storage-Policy'] == 'silver'
    assert made['X-Container-Meta-Web-Index'] == 'index.html'
    assert made['X-Container-Meta-Quota-Count'] == '10'
    assert made['X-Container-Read'] == '.r:*,.rlistings'
    assert made['X-History-Location'] == 'site-old'
    assert 'X-Container-Write' not in made
    # Its name is its ID in the target.
    assert result['ids'][items[2]['id']] == 'site'
    assert 'container' in (tmp_path / 'uuids.csv').read_text()
    swift.requests.clear()
    failed, result, _ = _run(fake_cloud, tmp_path, items)
    assert failed is None
    assert not result['changed']
    assert swift.writes() == []


def test_drift_on_a_container_of_its_own_is_corrected(fake_cloud, swift,
                                                      tmp_path):
    items = _site()
    assert _run(fake_cloud, tmp_path, items)[0] is None
    headers = swift.containers['site']['headers']
    headers['X-Container-Meta-Extra'] = 'added by hand'
    headers['X-Container-Read'] = '.r:*,.rlistings,other:*'
    failed, result, _ = _run(fake_cloud, tmp_path, items)
    assert failed is None
    assert result['changed']
    assert 'X-Container-Meta-Extra' not in headers
    assert headers['X-Container-Read'] == '.r:*,.rlistings'


@pytest.mark.parametrize('name_clash', ['create', 'stop'])
def test_a_same_named_container_is_never_written_into(
        fake_cloud, swift, tmp_path, name_clash):
    swift.add_container('site', x_container_meta_mine='theirs')
    items = _site()
    # The look stops the play before anything is made.
    failed, result, _ = _run(fake_cloud, tmp_path, items, check_mode=True,
                             name_clash=name_clash)
    assert failed is None
    assert items[2]['id'] in result['missing']
    assert any('its name is its identity' in line
               for line in result['unmatched'])
    failed, result, _ = _run(fake_cloud, tmp_path, items,
                             name_clash=name_clash)
    assert 'its name is its identity' in failed
    assert [w for w in swift.writes() if w[1] == 'site'] == []
    assert swift.containers['site']['headers'] == {
        'X-Storage-Policy': 'gold', 'X-Container-Meta-Mine': 'theirs'}


def test_adopt_takes_one_as_closed_and_changes_nothing_of_it(
        fake_cloud, swift, tmp_path):
    swift.add_container('site', x_container_meta_mine='theirs',
                        x_container_read='.r:*,.rlistings')
    items = _site()
    failed, result, _ = _run(fake_cloud, tmp_path, items,
                             name_clash='adopt')
    assert failed is None, failed
    assert any('adopted site' in line for line in result['clashes'])
    assert [w for w in swift.writes() if w[1] == 'site'] == []
    assert 'adopted' in (tmp_path / 'journal.csv').read_text()
    # Not ours: a second run corrects nothing on it either.
    swift.requests.clear()
    assert _run(fake_cloud, tmp_path, items, name_clash='adopt')[0] is None
    assert [w for w in swift.writes() if w[1] == 'site'] == []


def test_adopt_refuses_one_more_open_than_the_source(fake_cloud, swift,
                                                     tmp_path):
    # Objects carried into it would be public there, private here.
    swift.add_container('site', x_container_read='.r:*,.rlistings')
    items = _site()
    items[2]['read_acl'] = []
    failed, _, _ = _run(fake_cloud, tmp_path, items, name_clash='adopt')
    assert "read ACL is '.r:*,.rlistings', not ''" in failed
    assert [w for w in swift.writes() if w[1] == 'site'] == []


def test_a_container_made_meanwhile_by_another_is_not_taken(
        fake_cloud, swift, tmp_path):
    items = [container('late', metadata={'Mine': 'ours'})]
    real = swift._container

    def racing(request, context, name):
        if request.method == 'PUT' and name not in swift.containers:
            swift.add_container(name, x_container_meta_mine='theirs')
        return real(request, context, name)
    swift._container = racing
    failed, _, _ = _run(fake_cloud, tmp_path, items)
    assert 'while the import ran' in failed
    assert swift.containers['late']['headers']['X-Container-Meta-Mine'] \
        == 'theirs'
    assert not (tmp_path / 'journal.csv').exists() or \
        'late' not in (tmp_path / 'journal.csv').read_text()


def test_the_policy_map_chooses_and_the_default_is_the_fallback(
        fake_cloud, swift, tmp_path):
    bronze = policy('bronze')
    mapped = container('mapped', storage_policy=bronze['id'])
    failed, result, _ = _run(fake_cloud, tmp_path, [bronze, mapped],
                             swift_policy_map={'bronze': 'silver'})
    assert failed is None, failed
    assert swift.containers['mapped']['headers']['X-Storage-Policy'] == \
        'silver'
    other = container('fallback', storage_policy=bronze['id'])
    failed, result, _ = _run(fake_cloud, tmp_path / '..', [bronze, other])
    assert failed is None, failed
    assert swift.containers['fallback']['headers']['X-Storage-Policy'] == \
        'gold'
    assert any("default 'gold'" in line for line in result['choices'])


def test_an_account_swift_has_not_made_yet_has_no_containers(
        fake_cloud, swift, tmp_path):
    swift.account = False
    failed, _, _ = _run(fake_cloud, tmp_path, [container('first')])
    assert failed is None, failed
    assert 'first' in swift.containers

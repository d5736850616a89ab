"""downpour.query against the requests-mock fake cloud."""

import dataclasses

import pytest

from downpour import query, resources
from downpour.errors import CloudError, DownpourError
from downpour.importer import definitions
from downpour.resourcefile import Entry, ResourceFile
from tests.unit import fakecloud, querycloud


@pytest.fixture
def cloud(fake_cloud):
    return querycloud.populate(fake_cloud)


def list_calls(fake_cloud):
    """API calls, version discovery left out, query strings dropped."""
    roots = set()
    for url in fakecloud.ENDPOINTS.values():
        roots.add(url.rstrip('/'))
        roots.add(url.rsplit('/v3/', 1)[0] + '/v3')
    paths = [url.split('?')[0] for _method, url in fake_cloud.api_calls()]
    return [p for p in paths if p.rstrip('/') not in roots]


def found(conn, **filters):
    return [(m.section, m.name, m.id)
            for m in query.find(conn, query.Filters(**filters))]


def test_wildcards_match_the_whole_name_case_sensitively(cloud):
    conn = cloud.connect()
    assert found(conn, server_names=['web']) == [
        ('servers', 'web', 's-web')]
    assert found(conn, server_names=['web*']) == [
        ('servers', 'web', 's-web'), ('servers', 'web/db', 's-webdb')]
    assert found(conn, server_names=['[Ww]eb?']) == [
        ('servers', 'Web2', 's-web2')]
    assert found(conn, server_names=['WEB']) == []


def test_only_the_sections_with_a_filter_are_listed(cloud):
    conn = cloud.connect()
    found(conn, volume_names=['*'])
    assert list_calls(cloud) == [
        fakecloud.FakeCloud.url('block-storage', '/volumes/detail')]


def test_one_list_call_per_type(cloud):
    conn = cloud.connect()
    result = found(conn, server_names=['*'], image_names=['*'],
                   volume_names=['*'], keypair_names=['*'],
                   network_names=['*'], security_group_names=['*'],
                   server_flavors=['m1.small'])
    assert len(result) == 14
    paths = list_calls(cloud)
    assert sorted(paths) == sorted(set(paths))
    assert len(paths) == 7   # six types, and flavors for --server-flavor


def test_unnamed_and_shared_names_are_added_by_id(cloud, tmp_path):
    conn = cloud.connect()
    rf = ResourceFile(str(tmp_path / 'r.yml'))
    added = query.run_query(conn, rf, query.Filters(
        server_names=['db'], volume_names=['*']))
    assert [e.as_dict() for e in added] == [
        {'name': 'db', 'id': 's-db1'},
        {'name': 'db', 'id': 's-db2'},
        {'id': 'v-unnamed'},
        {'name': 'data'},
        {'name': 'data2'},
    ]


def test_shared_names_count_even_when_filtered_out(cloud):
    conn = cloud.connect()
    [match] = query.find(conn, query.Filters(server_names=['db'],
                                             server_statuses=['shutoff']))
    assert (match.id, match.name_is_shared) == ('s-db1', True)


def test_flavor_and_status_restrict_servers(cloud):
    conn = cloud.connect()
    assert found(conn, server_flavors=['f-large']) == [
        ('servers', 'db', 's-db1')]
    assert found(conn, server_flavors=['m1.large'],
                 server_names=['web']) == []
    assert found(conn, server_statuses=['active'],
                 server_names=['db']) == [('servers', 'db', 's-db2')]


def test_images_own_and_shared_unless_include_public(cloud):
    conn = cloud.connect()
    assert found(conn, image_names=['*']) == [
        ('images', 'mine', 'i-mine'),
        ('images', 'mine-public', 'i-mine-pub'),
        ('images', 'theirs-shared', 'i-shared')]
    assert ('images', 'cirros', 'i-public') in found(
        conn, image_names=['*'], include_public=True)
    assert any('visibility=all' in url for _m, url in cloud.api_calls())


def test_networks_and_groups_only_the_projects_own(cloud):
    conn = cloud.connect()
    assert found(conn, network_names=['*']) == [
        ('networks', 'private', 'n-private')]
    assert found(conn, security_group_names=['w*']) == [
        ('security_groups', 'web', 'sg-web')]


def test_existing_entries_and_options_are_kept_and_not_duplicated(
        cloud, tmp_path):
    path = tmp_path / 'r.yml'
    path.write_text('servers:\n'
                    '  - name: web   # the front end\n'
                    '    key_name: new-key\n'
                    '    save_state: false\n'
                    '  - name: db\n'
                    '    id: s-db2\n', encoding='utf-8')
    rf = ResourceFile.load(str(path))
    added = query.run_query(cloud.connect(), rf, query.Filters(
        server_names=['web', 'db'], save_state=False))
    assert [e.as_dict() for e in added] == [
        {'name': 'db', 'id': 's-db1', 'save_state': False}]
    rf.save()
    text = path.read_text(encoding='utf-8')
    assert '# the front end' in text
    again = ResourceFile.load(str(path))
    assert [e.as_dict() for e in again.entries('servers')] == [
        {'name': 'web', 'save_state': False, 'key_name': 'new-key'},
        {'name': 'db', 'id': 's-db2'},
        {'name': 'db', 'id': 's-db1', 'save_state': False}]
    # Running the same query again adds nothing.
    assert query.run_query(cloud.connect(), again, query.Filters(
        server_names=['web', 'db'])) == []


def test_save_state_only_on_servers_and_volumes(cloud, tmp_path):
    rf = ResourceFile(str(tmp_path / 'r.yml'))
    added = query.run_query(cloud.connect(), rf, query.Filters(
        volume_names=['data'], keypair_names=['*'], save_state=False))
    assert [e.as_dict() for e in added] == [
        {'name': 'ops'}, {'name': 'data', 'save_state': False}]


def test_filters_has_a_list_of_patterns_per_declared_section():
    fields = {f.name for f in dataclasses.fields(query.Filters)}
    for section, rtype in definitions.BY_SECTION.items():
        field = '%s_%s' % (rtype.name, 'addresses'
                           if rtype.named_by == 'address' else 'names')
        assert field in fields
        filters = query.Filters(**{field: ['x*']})
        assert [s for s in definitions.BY_SECTION
                if filters.patterns(s)] == [section]
    assert {'server_names', 'floating_ip_addresses'} <= fields


def test_used_searches_the_sections_whose_home_says_what_is_used():
    filters = query.Filters(used_only=True, server_names=['web'])
    assert {s for s in definitions.BY_SECTION if filters.patterns(s)} == {
        query.SERVERS} | {s for s, home in resources.BY_SECTION.items()
                          if home.used_by is not None}


def test_no_filter_is_an_error():
    with pytest.raises(DownpourError,
                       match='nothing to query: give at least one filter'):
        query.Filters(include_public=True, save_state=True).check()


def test_a_failed_listing_is_a_cloud_error(cloud):
    cloud.get('compute', '/servers/detail', status_code=503,
              json={'message': 'down for maintenance'})
    with pytest.raises(CloudError, match='listing servers failed'):
        query.find(cloud.connect(), query.Filters(server_names=['*']))


def test_matches_any_is_not_fnmatch2():
    assert not query.matches_any('a/b', ['a'])
    assert query.matches_any('a/b', ['a/*'])
    assert not query.matches_any(None, ['?*'])


def test_covers():
    match = query.Match('servers', 'web', 's-1')
    assert query._covers(Entry('servers', name='web'), match)
    assert query._covers(Entry('servers', id='s-1'), match)
    assert not query._covers(Entry('servers', name='web', id='s-2'), match)


def test_unknown_flavor_is_warned_about(cloud, caplog):
    conn = cloud.connect()
    with caplog.at_level('WARNING', logger='downpour.query'):
        assert found(conn, server_flavors=['m1.huge', 'f-small'],
                     server_names=['web']) == [('servers', 'web', 's-web')]
    assert [r.getMessage() for r in caplog.records] == [
        "no flavor is named or has the ID 'm1.huge'"]


def test_load_balancers_are_found_by_name_with_one_list_call(lb_cloud,
                                                               tmp_path):
    lb_cloud.get('load-balancer', '/lbaas/loadbalancers', json={
        'loadbalancers': [
            {'id': 'lb-1', 'name': 'shop-lb', 'project_id': fakecloud.
             PROJECT_ID},
            {'id': 'lb-2', 'name': 'blog-lb', 'project_id': fakecloud.
             PROJECT_ID}]})
    conn = lb_cloud.connect()
    assert found(conn, load_balancer_names=['shop-*']) == [
        ('load_balancers', 'shop-lb', 'lb-1')]
    assert [url for _m, url in lb_cloud.api_calls()
            if 'lbaas' in url] == [
        fakecloud.FakeCloud.url('load-balancer', '/lbaas/loadbalancers')
        + '?project_id=%s' % fakecloud.PROJECT_ID]
    rf = ResourceFile(str(tmp_path / 'r.yml'))
    query.run_query(conn, rf, query.Filters(
        load_balancer_names=['shop-lb']))
    assert [(e.section, e.name) for e in rf.entries('load_balancers')] == \
        [('load_balancers', 'shop-lb')]

"""Swift containers at export: what is carried of each (metadata, ACLs
that can hold in another cloud, versioning, storage policy), under a key
that a hostile name cannot turn into an expression or a path."""

import yaml

from downpour import export, render
from downpour.resourcefile import Entry
from downpour.resources.swift_container import key_of
from tests.unit.swift import FakeSwift

HOSTILE = "{{ lookup('pipe', 'id') }}/../x"


def _resolve(fake_cloud, *names):
    exporter = export.Exporter(fake_cloud.connect(), 'resources.yml')
    records = exporter.resolve([Entry('containers', name=name, index=n)
                                for n, name in enumerate(names)])
    return exporter, records


def _swift(fake_cloud):
    swift = FakeSwift(fake_cloud, policies=('gold', 'silver'))
    swift.add_container(
        'site', x_container_meta_web_index='index.html',
        x_container_meta_quota_bytes='1000000',
        x_container_meta_owner='ops', x_container_meta_temp_url_key='k3y',
        x_container_read='.r:*,.rlistings,%s:*,.r:-evil.example'
        % 'c4b9a2d1e0f84c52a3b1d2e3f4a5b6c7',
        x_container_write='c4b9a2d1e0f84c52a3b1d2e3f4a5b6c7:u1',
        x_versions_location='site-old', x_storage_policy='silver')
    swift.add_container('site-old')
    swift.add_container('private', x_container_read='proj:bob',
                        x_history_location='elsewhere')
    return swift


def test_a_container_carries_what_can_hold_in_the_target(fake_cloud):
    _swift(fake_cloud)
    exporter, records = _resolve(fake_cloud, 'site', 'site-old')
    site = next(r for r in records if r.name == 'site')
    assert site.params['metadata'] == {
        'Web-Index': 'index.html', 'Quota-Bytes': '1000000',
        'Owner': 'ops'}
    # Referrers as they were (the denial too), grants to the source's
    # projects and users dropped, nothing added.
    assert site.params['read_acl'] == ['.r:*', '.r:-evil.example',
                                       '.rlistings']
    assert site.params['write_acl'] == []
    assert site.params['versions_mode'] == 'versions'
    assert site.refs['versions'].name == 'site-old'
    assert site.refs['storage_policy'].name == 'silver'
    said = '\n'.join(exporter.warnings)
    assert 'temporary URL key is not carried' in said
    assert 'k3y' not in said and 'k3y' not in repr(records)
    assert 'read ACL' in said and 'write ACL' in said


def test_a_private_container_stays_private(fake_cloud):
    _swift(fake_cloud)
    exporter, records = _resolve(fake_cloud, 'private')
    private, = [r for r in records if r.type == 'swift_container']
    assert private.params['read_acl'] == []
    assert private.params['write_acl'] == []
    # Its versions' container is not in the export: left out, and said.
    assert 'versions' not in private.refs
    assert 'versions_mode' not in private.params
    assert any("'elsewhere', which is not in the export" in line
               for line in exporter.warnings)


def test_the_key_is_a_uuid_of_the_name_and_the_name_only_data(fake_cloud):
    swift = FakeSwift(fake_cloud)
    swift.add_container(HOSTILE, x_container_meta_note=HOSTILE)
    _, records = _resolve(fake_cloud, HOSTILE)
    container, = [r for r in records if r.type == 'swift_container']
    text = render.render_playbook(records)
    play, = yaml.load(text, Loader=render.UnsafeLoader)  # noqa: S506
    item, = play['vars']['downpour_containers']
    # The same key in every export: the journal finds the container by it.
    assert item['id'] == key_of(HOSTILE) == key_of(container.old_id)
    assert item['csv_type'] == 'container'
    assert item['name'] == HOSTILE
    assert item['metadata'] == {'Note': HOSTILE}
    # Every source value is marked unsafe: Ansible never templates it.
    lines = [line for line in text.splitlines() if 'lookup(' in line]
    assert len(lines) == 2
    assert all(': !unsafe ' in line or ': {Note: !unsafe ' in line
               for line in lines), lines

def test_query_finds_containers(fake_cloud):
    _swift(fake_cloud)
    exporter = export.Exporter(fake_cloud.connect(), 'resources.yml')
    home = exporter.home('swift_container')
    assert sorted(c.name for c in home.query_list(
        fake_cloud.connect(), {})) == ['private', 'site', 'site-old']


def test_downpour_query_adds_containers_by_pattern(fake_cloud, tmp_path):
    from downpour import query
    from downpour.resourcefile import ResourceFile

    _swift(fake_cloud)
    rf = ResourceFile(str(tmp_path / 'resources.yml'))
    added = query.run_query(fake_cloud.connect(), rf, query.Filters(
        swift_container_names=['site*']))
    assert sorted(e.name for e in added) == ['site', 'site-old']
    assert {e.section for e in added} == {'containers'}

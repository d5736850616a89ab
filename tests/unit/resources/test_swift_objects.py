"""A container's objects at export: bytes streamed to blobs downpour
names, each checked against Swift's MD5, their headers in one manifest
per container, one GET per object and no HEAD, and a second export into
the same directory downloads only what changed."""

import json
import logging
import os
import time

import pytest
import yaml

from downpour import check, export
from downpour.errors import DownpourError
from downpour.resourcefile import Entry
from downpour.resources.swift_container import key_of
from tests.unit.swift import FakeSwift

EVIL = '../../../etc/passwd'


@pytest.fixture
def swift(fake_cloud):
    swift = FakeSwift(fake_cloud)
    swift.page = 2  # every listing takes several pages
    swift.add_container('data')
    swift.add_object('data', 'a.txt', b'alpha', content_type='text/plain',
                     x_object_meta_colour='blue',
                     content_encoding='gzip',
                     content_disposition='attachment; filename="a.txt"')
    swift.add_object('data', EVIL, b'\x00\xff' * 1000)
    swift.add_object('data', 'soon', b'later',
                     x_delete_at=str(int(time.time()) + 3600))
    swift.add_object('data', 'gone', b'old',
                     x_delete_at=str(int(time.time()) - 10))
    # Its segments are in a container the export does not carry.
    swift.add_container('elsewhere')
    swift.add_object('elsewhere', 's1', b'segment')
    swift.add_slo('data', 'big', [('elsewhere', 's1')])
    return swift


def _export(fake_cloud, out):
    exporter = export.Exporter(fake_cloud.connect(), 'resources.yml')
    records = exporter.resolve([Entry('containers', name='data')])
    home = exporter.home('swift_container')
    home.write_contents(exporter, str(out))
    record, = [r for r in records if r.type == 'swift_container']
    return exporter, record


def _manifest(out):
    with open(out / 'objects' / ('%s.json' % key_of('data'))) as stream:
        return {e['name']: e for e in json.load(stream)}


def test_objects_are_carried_with_their_headers(fake_cloud, swift,
                                                tmp_path, caplog):
    # With --debug too: a logger that read the body would decode gzip.
    caplog.set_level(logging.DEBUG)
    exporter, record = _export(fake_cloud, tmp_path)
    entries = _manifest(tmp_path)
    assert sorted(entries) == sorted(['a.txt', EVIL, 'soon'])
    assert record.params['objects'] == 'objects/%s.json' % key_of('data')
    assert record.params['object_count'] == 3
    assert record.params['object_bytes'] == 5 + 2000 + 5
    a = entries['a.txt']
    assert a['metadata'] == {'Colour': 'blue'}
    assert (a['content_type'], a['content_encoding'],
            a['content_disposition']) == (
        'text/plain', 'gzip', 'attachment; filename="a.txt"')
    assert entries['soon']['delete_at'] > time.time()
    for name, entry in entries.items():
        data = swift.containers['data']['objects'][name]['data']
        assert (tmp_path / entry['blob']).read_bytes() == data
    # A name never chooses a path: only downpour's names are on disk.
    assert sorted(os.listdir(tmp_path)) == ['blobs', 'objects']
    assert not (tmp_path.parent.parent / 'etc').exists()
    said = '\n'.join(exporter.warnings)
    assert "static large object 'big' has segments in container " \
        "'elsewhere', which is not in the export" in said
    assert '1 objects expired' in said
    # One GET per object and no HEAD of one; the listing by pages.
    objects = [r for r in swift.requests if r[2] is not None]
    assert sorted(r[0] for r in objects) == ['GET'] * 5
    listings = [r for r in swift.requests
                if r[:3] == ('GET', 'data', None)]
    assert len(listings) == 4  # 5 objects, 2 a page, then an empty one
    # No object's bytes in a log.
    assert 'alpha' not in caplog.text


def test_a_second_export_downloads_only_what_changed(fake_cloud, swift,
                                                     tmp_path):
    _export(fake_cloud, tmp_path)
    before = _manifest(tmp_path)
    swift.add_object('data', 'a.txt', b'alpha, changed')
    swift.containers['data']['objects']['a.txt']['etag'] = \
        __import__('hashlib').md5(b'alpha, changed').hexdigest()  # noqa: S324
    swift.requests.clear()
    _export(fake_cloud, tmp_path)
    after = _manifest(tmp_path)
    got = sorted(r[2] for r in swift.requests
                 if r[0] == 'GET' and r[2] is not None)
    # Large objects are read to be recognised; the rest is kept.
    assert got == ['a.txt', 'big', 'gone']
    assert after[EVIL] == before[EVIL]
    assert (tmp_path / after['a.txt']['blob']).read_bytes() == \
        b'alpha, changed'


def test_bytes_that_are_not_swifts_stop_the_export(fake_cloud, swift,
                                                   tmp_path):
    swift.containers['data']['objects']['a.txt']['etag'] = '0' * 32
    with pytest.raises(DownpourError, match="object 'a.txt'.*MD5"):
        _export(fake_cloud, tmp_path)
    assert [p for p in os.listdir(tmp_path / 'blobs')
            if p.endswith('.part')] == []


def test_the_playbook_item_and_manifest_carry_them_to_an_import(
        fake_cloud, swift, tmp_path):
    """The whole export, then the import of the item as the playbook lists
    it (into another container of the same fake account: the fake has one
    account)."""
    from downpour import render
    from downpour.importer.engine import run_module
    from downpour.resourcefile import ResourceFile

    resources = tmp_path / 'resources.yml'
    resources.write_text('containers:\n  - name: data\n')
    out = tmp_path / 'out'
    export.export(fake_cloud.connect(), ResourceFile.load(str(resources)),
                  str(out))
    assert 'objects/' in (out / 'README.txt').read_text()
    play, = yaml.load((out / 'playbook.yml').read_text(),
                      Loader=render.UnsafeLoader)  # noqa: S506
    policy, = play['vars']['downpour_swift_policies']
    item, = play['vars']['downpour_containers']
    assert item['object_count'] == 3
    # downpour check's look reads the manifest where Ansible would.
    looked, = [i for i in check.Export.load(str(out)).items
               if i['type'] == 'swift_container']
    assert looked['objects'] == str(out / 'objects' / (
        '%s.json' % key_of('data')))
    item['objects'] = item['objects'].replace('{{ playbook_dir }}',
                                              str(out))
    item['name'] = 'data-copy'
    failed, _ = run_module(fake_cloud.connect(), {
        'resources': [policy, item], 'journal': str(out / 'journal.csv'),
        'uuids_csv': str(out / 'uuids.csv'), 'parallel': 2}, False,
        lambda line: None)
    assert failed is None, failed
    copy = swift.containers['data-copy']['objects']
    assert sorted(copy) == sorted(['a.txt', EVIL, 'soon'])
    for name, obj in copy.items():
        assert obj['data'] == swift.containers['data']['objects'][name][
            'data']
    assert copy['a.txt']['headers']['Content-Encoding'] == 'gzip'


def test_a_dynamic_large_object_and_a_symlink_are_carried_as_such(
        fake_cloud, swift, tmp_path):
    swift.add_object('data', 'seg-1', b'first ')
    swift.add_object('data', 'seg-2', b'second')
    swift.add_object('data', 'whole', b'', x_object_manifest='data/seg-',
                     content_type='text/plain')
    swift.add_object('data', 'link', b'', x_symlink_target='data/a.txt')
    exporter, record = _export(fake_cloud, tmp_path)
    entries = _manifest(tmp_path)
    whole, link = entries['whole'], entries['link']
    assert whole['object_manifest'] == 'data/seg-'
    assert link['symlink_target'] == 'data/a.txt'
    # Their own bytes (none), not what they point at.
    assert (tmp_path / whole['blob']).read_bytes() == b''
    assert (tmp_path / link['blob']).read_bytes() == b''
    assert 'object_manifest' not in entries['seg-1']


def test_the_space_estimate_counts_the_objects(fake_cloud, swift):
    from downpour import space
    exporter = export.Exporter(fake_cloud.connect(), 'resources.yml')
    records = exporter.resolve([Entry('containers', name='data')])
    stored = sum(len(o['data'])
                 for o in swift.containers['data']['objects'].values())
    need = space.estimate(records, '/nonexistent', None)
    assert need.at_most == stored > 0
    assert need.at_least == 0


def test_a_static_large_object_is_carried_as_its_segments(
        fake_cloud, swift, tmp_path):
    swift.add_container('segments')
    swift.add_object('segments', 'p1', b'first ')
    swift.add_object('data', 'p2', b'second')
    swift.add_slo('data', 'whole', [('segments', 'p1'), ('data', 'p2')],
                  content_type='video/mp4')
    exporter = export.Exporter(fake_cloud.connect(), 'resources.yml')
    records = exporter.resolve([Entry('containers', name='data'),
                                Entry('containers', name='segments')])
    exporter.home('swift_container').write_contents(exporter, str(tmp_path))
    data = exporter.find('swift_container', 'data')
    whole = _manifest(tmp_path)['whole']
    assert whole['slo'] == [
        {'path': '/segments/p1', 'etag': swift.containers['segments'][
            'objects']['p1']['etag'], 'size_bytes': 6},
        {'path': '/data/p2', 'etag': swift.containers['data']['objects'][
            'p2']['etag'], 'size_bytes': 6}]
    # Its ETag is its segments' (the listing's hash is its manifest's).
    assert whole['etag'] == swift.containers['data']['objects']['whole'][
        'slo_etag']
    assert 'blob' not in whole
    # The import fills the segments' container first.
    assert data.refs['segment_containers'] == [
        exporter.find('swift_container', 'segments')]
    assert len([r for r in records if r.type == 'swift_container']) == 2

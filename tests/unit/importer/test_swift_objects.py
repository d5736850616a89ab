"""A container's objects at import: uploaded from their blobs with their
headers and ETag, only those whose ETag differs in the target (a second
import uploads nothing), and into an adopted container only those it
lacks."""

import hashlib
import json
import time
import uuid

import pytest

from downpour.importer.engine import run_module
from tests.unit.importer.test_swift_containers import container
from tests.unit.swift import FakeSwift

OBJECTS = {'a.txt': b'alpha', '../x/y': b'\x00\xff' * 500, 'b': b'beta'}


@pytest.fixture
def swift(fake_cloud):
    return FakeSwift(fake_cloud)


def _export(out, objects=OBJECTS):
    """A container's item and its manifest and blobs, as the export
    writes them."""
    (out / 'blobs').mkdir(exist_ok=True)
    (out / 'objects').mkdir(exist_ok=True)
    entries = []
    for name, data in objects.items():
        blob = 'blobs/%s' % uuid.uuid4()
        (out / blob).write_bytes(data)
        entries.append({'name': name, 'blob': blob, 'bytes': len(data),
                        'etag': hashlib.md5(data).hexdigest(),  # noqa: S324
                        'metadata': {'Colour': 'blue'},
                        'content_type': 'text/plain',
                        'content_encoding': 'gzip'})
    entries[-1]['delete_at'] = int(time.time()) + 3600
    item = container('data', objects=str(out / 'objects' / 'k.json'),
                     object_count=len(entries))
    (out / 'objects' / 'k.json').write_text(json.dumps(entries))
    return item


def _run(fake_cloud, out, items, **params):
    return run_module(fake_cloud.connect(), dict({
        'resources': items, 'journal': str(out / 'journal.csv'),
        'uuids_csv': str(out / 'uuids.csv'), 'parallel': 2}, **params),
        False, lambda line: None)


def _puts(swift):
    return sorted(r[2] for r in swift.requests
                  if r[0] == 'PUT' and r[2] is not None)


def test_objects_go_up_once(fake_cloud, swift, tmp_path):
    item = _export(tmp_path)
    failed, result = _run(fake_cloud, tmp_path, [item])
    assert failed is None, failed
    stored = swift.containers['data']['objects']
    assert {n: o['data'] for n, o in stored.items()} == OBJECTS
    a = stored['a.txt']['headers']
    assert a['X-Object-Meta-Colour'] == 'blue'
    assert a['Content-Type'] == 'text/plain'
    assert a['Content-Encoding'] == 'gzip'
    assert 'X-Delete-At' in stored['b']['headers']
    # The ETag went with each upload, for Swift to check.
    assert all(r[3].get('ETag') for r in swift.requests
               if r[0] == 'PUT' and r[2])
    swift.requests.clear()
    failed, result = _run(fake_cloud, tmp_path, [item])
    assert failed is None
    assert _puts(swift) == []
    assert not result['changed']


def test_only_what_differs_goes_up_again(fake_cloud, swift, tmp_path):
    item = _export(tmp_path)
    assert _run(fake_cloud, tmp_path, [item])[0] is None
    swift.containers['data']['objects']['b']['etag'] = '0' * 32
    del swift.containers['data']['objects']['a.txt']
    swift.requests.clear()
    assert _run(fake_cloud, tmp_path, [item])[0] is None
    assert _puts(swift) == ['a.txt', 'b']


def test_an_adopted_container_only_gains(fake_cloud, swift, tmp_path):
    swift.add_container('data')
    swift.add_object('data', 'a.txt', b'theirs')
    item = _export(tmp_path)
    failed, result = _run(fake_cloud, tmp_path, [item], name_clash='adopt')
    assert failed is None, failed
    assert _puts(swift) == ['../x/y', 'b']
    assert swift.containers['data']['objects']['a.txt']['data'] == b'theirs'
    assert any('left as they are' in line for line in result['clashes'])


def test_a_blob_that_is_not_the_exported_bytes_is_refused(
        fake_cloud, swift, tmp_path):
    item = _export(tmp_path)
    entries = json.loads((tmp_path / 'objects' / 'k.json').read_text())
    (tmp_path / entries[0]['blob']).write_bytes(b'tampered')
    failed, _ = _run(fake_cloud, tmp_path, [item])
    assert 'HTTP 422' in failed
    assert 'a.txt' not in swift.containers['data']['objects']


def test_a_blob_outside_blobs_is_refused(fake_cloud, swift, tmp_path):
    item = _export(tmp_path)
    entries = json.loads((tmp_path / 'objects' / 'k.json').read_text())
    entries[0]['blob'] = '../../etc/passwd'
    (tmp_path / 'objects' / 'k.json').write_text(json.dumps(entries))
    failed, _ = _run(fake_cloud, tmp_path, [item])
    assert "has no blob of downpour's" in failed


def test_a_dynamic_large_object_and_a_symlink_are_made_as_such(
        fake_cloud, swift, tmp_path):
    item = _export(tmp_path, {'seg-1': b'first ', 'seg-2': b'second',
                              'whole': b'', 'link': b''})
    entries = json.loads((tmp_path / 'objects' / 'k.json').read_text())
    entries[2]['object_manifest'] = 'data/seg-'
    entries[3]['symlink_target'] = 'data/seg-1'
    (tmp_path / 'objects' / 'k.json').write_text(json.dumps(entries))
    assert _run(fake_cloud, tmp_path, [item])[0] is None
    made = swift.containers['data']['objects']
    assert made['whole']['headers']['X-Object-Manifest'] == 'data/seg-'
    assert made['link']['headers']['X-Symlink-Target'] == 'data/seg-1'
    assert made['whole']['data'] == made['link']['data'] == b''
    swift.requests.clear()
    assert _run(fake_cloud, tmp_path, [item])[0] is None
    assert _puts(swift) == []


def test_a_static_large_object_is_made_over_its_segments(
        fake_cloud, swift, tmp_path):
    item = _export(tmp_path, {'p1': b'first ', 'p2': b'second'})
    entries = json.loads((tmp_path / 'objects' / 'k.json').read_text())
    segments = [{'path': '/data/%s' % e['name'], 'etag': e['etag'],
                 'size_bytes': e['bytes']} for e in entries]
    slo_etag = hashlib.md5(''.join(  # noqa: S324
        e['etag'] for e in entries).encode()).hexdigest()
    # Listed first: made last all the same, once its segments are there.
    entries.insert(0, {'name': 'whole', 'etag': slo_etag, 'bytes': 12,
                       'slo': segments, 'content_type': 'video/mp4'})
    (tmp_path / 'objects' / 'k.json').write_text(json.dumps(entries))
    failed, _ = _run(fake_cloud, tmp_path, [item])
    assert failed is None, failed
    made = swift.containers['data']['objects']['whole']
    assert made['slo_etag'] == slo_etag
    assert made['headers']['Content-Type'] == 'video/mp4'
    swift.requests.clear()
    assert _run(fake_cloud, tmp_path, [item])[0] is None
    assert _puts(swift) == []


def test_a_container_waits_for_the_one_holding_its_segments(
        fake_cloud, swift, tmp_path):
    (tmp_path / 'seg').mkdir()
    segments = _export(tmp_path / 'seg', {'p1': b'first '})
    segments['name'] = 'segments'
    seg_entry, = json.loads((tmp_path / 'seg' / 'objects' /
                             'k.json').read_text())
    data = container('data', objects=str(tmp_path / 'objects' / 'k.json'),
                     segment_containers=[segments['id']])
    (tmp_path / 'objects').mkdir()
    (tmp_path / 'objects' / 'k.json').write_text(json.dumps([{
        'name': 'whole', 'bytes': 6, 'slo': [{
            'path': '/segments/p1', 'etag': seg_entry['etag'],
            'size_bytes': 6}],
        'etag': hashlib.md5(  # noqa: S324 - Swift's
            seg_entry['etag'].encode()).hexdigest()}]))
    # Listed before the container of its segments.
    failed, _ = _run(fake_cloud, tmp_path, [data, segments], parallel=4)
    assert failed is None, failed
    assert 'whole' in swift.containers['data']['objects']

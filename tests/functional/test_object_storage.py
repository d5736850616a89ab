"""A Swift container moved between the local clouds: its metadata and read
ACL, 200 small objects with their metadata and one with X-Delete-At;
every object's bytes, ETag and metadata match in the target, and a second
import uploads nothing."""

import hashlib
import json
import time
import urllib.parse

import pytest
import yaml

from tests.functional.helpers import BIN, environment, recap_changed, run

pytestmark = pytest.mark.functional

COUNT = 200


def _url(conn, *names):
    return '/'.join([conn.object_store.get_endpoint().rstrip('/')] +
                    [urllib.parse.quote(n, safe='') for n in names])


def _objects(conn, container):
    """Each object's bytes, ETag and metadata, read back."""
    listing = conn.object_store.get(
        _url(conn, container), params={'format': 'json'}).json()
    found = {}
    for entry in listing:
        response = conn.object_store.get(_url(conn, container,
                                              entry['name']))
        found[entry['name']] = (
            response.content, response.headers['ETag'].strip('"'),
            {k.lower(): v for k, v in response.headers.items()
             if k.lower().startswith('x-object-meta-')},
            response.headers.get('X-Delete-At'),
            response.headers.get('X-Timestamp'))
    return found


def _empty(conn):
    # Projects' cleanup knows nothing of Swift.
    for entry in conn.object_store.get(_url(conn), params={
            'format': 'json'}).json() or []:
        name = entry['name']
        for obj in conn.object_store.get(_url(conn, name), params={
                'format': 'json'}).json() or []:
            conn.object_store.delete(_url(conn, name, obj['name']))
        conn.object_store.delete(_url(conn, name))


def test_a_container_and_its_objects(tmp_path, fresh_project):
    source = fresh_project('source')
    target = fresh_project('target')
    src, dst = source.conn, target.conn
    try:
        src.object_store.put(_url(src, 'site'), headers={
            'X-Container-Meta-Web-Index': 'index.html',
            'X-Container-Meta-Owner': 'ops',
            'X-Container-Read': '.r:*,.rlistings'})
        for n in range(COUNT):
            src.object_store.put(
                _url(src, 'site', 'dir/obj-%03d.txt' % n),
                data=('object %d\n' % n).encode() * (n + 1),
                headers={'Content-Type': 'text/plain',
                         'X-Object-Meta-Number': str(n)})
        later = int(time.time()) + 86400
        src.object_store.put(_url(src, 'site', 'expiring'), data=b'soon',
                             headers={'X-Delete-At': str(later)})
        env = environment(tmp_path, {'src': source.cloud_config,
                                     'dst': target.cloud_config})
        resources = tmp_path / 'resources.yml'
        resources.write_text(yaml.safe_dump({'containers': [
            {'name': 'site'}]}))
        out = tmp_path / 'out'
        run([BIN / 'downpour', '--os-cloud', 'src', 'export', resources,
             out], env)
        first = run([BIN / 'ansible-playbook', out / 'playbook.yml', '-e',
                     'cloud=dst'], env)
        assert recap_changed(first.stdout) > 0

        headers = dst.object_store.head(_url(dst, 'site')).headers
        assert headers['X-Container-Meta-Web-Index'] == 'index.html'
        assert headers['X-Container-Meta-Owner'] == 'ops'
        assert sorted(headers['X-Container-Read'].split(',')) == [
            '.r:*', '.rlistings']
        have, got = _objects(src, 'site'), _objects(dst, 'site')
        assert len(got) == COUNT + 1
        for name, (data, etag, meta, delete_at, _) in have.items():
            assert got[name][:4] == (data, etag, meta, delete_at), name
            assert etag == hashlib.md5(data).hexdigest()  # noqa: S324
        assert got['expiring'][3] == str(later)

        second = run([BIN / 'ansible-playbook', out / 'playbook.yml', '-e',
                      'cloud=dst'], env)
        assert recap_changed(second.stdout) == 0
        again = _objects(dst, 'site')
        # Not one object written again.
        assert {n: v[4] for n, v in again.items()} == \
            {n: v[4] for n, v in got.items()}
    finally:
        _empty(src)
        _empty(dst)


def test_a_dynamic_large_object_and_a_symlink(tmp_path, fresh_project):
    source = fresh_project('source')
    target = fresh_project('target')
    src, dst = source.conn, target.conn
    try:
        src.object_store.put(_url(src, 'big'))
        for n in range(3):
            src.object_store.put(_url(src, 'big', 'seg/%02d' % n),
                                 data=b'part %d;' % n)
        src.object_store.put(_url(src, 'big', 'whole'), data=b'',
                             headers={'X-Object-Manifest': 'big/seg/'})
        src.object_store.put(_url(src, 'big', 'link'), data=b'',
                             headers={'X-Symlink-Target': 'big/seg/01'})
        # A static large object over a segment of its own container and
        # one of another.
        src.object_store.put(_url(src, 'big-segments'))
        src.object_store.put(_url(src, 'big-segments', 'a'), data=b'AAA;')
        src.object_store.put(
            _url(src, 'big', 'slo'), params={'multipart-manifest': 'put'},
            data=json.dumps([
                {'path': '/big-segments/a',
                 'etag': hashlib.md5(b'AAA;').hexdigest(),  # noqa: S324
                 'size_bytes': 4},
                {'path': '/big/seg/02',
                 'etag': hashlib.md5(b'part 2;').hexdigest(),  # noqa: S324
                 'size_bytes': 7}]))
        env = environment(tmp_path, {'src': source.cloud_config,
                                     'dst': target.cloud_config})
        resources = tmp_path / 'resources.yml'
        resources.write_text(yaml.safe_dump({'containers': [
            {'name': 'big'}, {'name': 'big-segments'}]}))
        out = tmp_path / 'out'
        run([BIN / 'downpour', '--os-cloud', 'src', 'export', resources,
             out], env)
        run([BIN / 'ansible-playbook', out / 'playbook.yml', '-e',
             'cloud=dst'], env)
        assert dst.object_store.get(_url(dst, 'big', 'whole')).content == \
            b'part 0;part 1;part 2;'
        assert dst.object_store.get(_url(dst, 'big', 'link')).content == \
            b'part 1;'
        assert dst.object_store.get(
            _url(dst, 'big', 'link'), params={'symlink': 'get'}).headers[
                'X-Symlink-Target'] == 'big/seg/01'
        assert dst.object_store.get(_url(dst, 'big', 'slo')).content == \
            b'AAA;part 2;'
        assert dst.object_store.head(_url(dst, 'big', 'slo')).headers[
            'X-Static-Large-Object'].lower() == 'true'
        second = run([BIN / 'ansible-playbook', out / 'playbook.yml', '-e',
                      'cloud=dst'], env)
        assert recap_changed(second.stdout) == 0
    finally:
        _empty(src)
        _empty(dst)

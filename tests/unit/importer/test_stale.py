"""A cutover import after a rehearsal (issue 22, item 1): what the import
made from the rehearsal's captures is stale once the export holds newer
ones.  The import stops before changing anything and names each, with
both capture times; with replace_stale it makes exactly those again from
the new captures, on the same ports and beside the rest, and says so.

Against the fake target project (tests/unit/importer/target.py), run as
the playbook runs the engine: the look, then the real run."""

import hashlib

import pytest

from downpour import importer as dr
from tests.unit.importer.items import flavor, image, port, server, volume
from tests.unit.importer.target import Target
from tests.unit.importer.test_engine import (
    Files,
    _network_for_servers,
    run,
)

REHEARSAL = '2026-11-30T21:00:05+00:00'
CUTOVER = '2026-12-07T22:10:41+00:00'


@pytest.fixture
def files(tmp_path):
    return Files(tmp_path)


def _captured(item, data, when):
    """``item`` as an export that captured ``data`` at ``when`` lists it:
    its blob rewritten, its digests those of ``data``."""
    with open(item['filename'], 'wb') as stream:
        stream.write(data)
    item['checksum'] = {'algo': 'sha512',
                        'value': hashlib.sha512(data).hexdigest()}
    item['digests'] = {a: hashlib.new(a, data).hexdigest()
                       for a in ('sha512', 'sha256', 'md5')}
    item['captured_at'] = when


def _workload(target, files, tmp_path):
    """A server booted from the capture of its disk, on a port, with a
    captured data volume and an empty scratch volume (no capture)."""
    net, sub = _network_for_servers(target, files)
    size = flavor('m1.tiny')
    disk = image(tmp_path, 'web-disk', b'x')
    disk.update(type='server_snapshot', csv_type='server snapshot')
    data = volume('data', tmp_path, b'x')
    scratch = volume('scratch')
    nic = port('nic', net, [(sub, '10.20.0.9')])
    web = server('web', size['id'], disk['id'], ports=[nic],
                 volumes=[data, scratch])
    items = [size, net, sub, disk, data, scratch, nic, web]
    at(items, b'rehearsal', REHEARSAL)
    return items


def at(items, tag, when):
    """The capture of ``items`` taken at ``when``: the server's disk and
    its data volume hold ``tag``."""
    for item in items:
        if item['type'] == 'server_snapshot':
            _captured(item, b'disk of ' + tag, when)
        elif item['type'] == 'volume' and item['name'] == 'data':
            _captured(item, b'data of ' + tag, when)
        elif item['type'] == 'server':
            item['captured_at'] = when


def _by_name(items):
    return {item['name']: item for item in items}


def play(fake_cloud, items, files, replace_stale=False):
    """The playbook: the look, its stop on what is stale (unless
    replace_stale), then the real run if the look found work."""
    look = run_(fake_cloud, items, files, check_mode=True,
                replace_stale=replace_stale)
    if look.stale and not replace_stale:
        return look, None
    done = run_(fake_cloud, items, files, ids=look.ids,
                replace_stale=replace_stale) if look.pending else None
    return look, done


def run_(fake_cloud, items, files, ids=None, check_mode=False,
         replace_stale=False):
    journal = dr.Journal(str(files.journal))
    importer = dr.Importer(fake_cloud.connect(), ids=ids, journal=journal,
                           check_mode=check_mode, parallel=2,
                           replace_stale=replace_stale)
    try:
        importer.run(items)
    finally:
        journal.write_map(str(files.uuids))
    return importer


def test_a_rehearsals_disks_stop_the_cutover_then_are_replaced(
        fake_cloud, tmp_path, files):
    target = Target(fake_cloud)
    items = _workload(target, files, tmp_path)
    named = _by_name(items)
    web, data, disk = named['web'], named['data'], named['web-disk']
    scratch, nic = named['scratch'], named['nic']
    rehearsal = run(fake_cloud, items, files)
    old = {key: rehearsal.ids[key] for key in
           (web['id'], data['id'], disk['id'], scratch['id'], nic['id'])}
    assert target.volume_data[old[data['id']]] == b'data of rehearsal'
    captures = files.journal_captures()
    assert captures[('volume', data['id'])] == REHEARSAL
    assert captures[('server', web['id'])] == REHEARSAL
    assert captures[('volume', scratch['id'])] == ''

    # The cutover's export: newer captures.
    at(items, b'cutover', CUTOVER)
    before = target.snapshot()
    target.mark()

    look, done = play(fake_cloud, items, files)

    assert done is None
    assert target.writes() == [] and target.snapshot() == before
    assert look.stale == [
        '%s: %s was made from the capture taken at %s; the export holds '
        'one taken at %s' % (dr.describe(item), old[item['id']], REHEARSAL,
                             CUTOVER)
        for item in (disk, data, web)]
    # A real run without the look stops too, before changing anything.
    with pytest.raises(dr.ImportFailed, match='replace_stale=true'):
        run_(fake_cloud, items, files)
    assert target.writes() == [] and target.snapshot() == before

    look, done = play(fake_cloud, items, files, replace_stale=True)

    new = done.ids
    assert target.volume_data[new[data['id']]] == b'data of cutover'
    assert target.image_data[new[disk['id']]] == b'disk of cutover'
    fresh = target.servers[new[web['id']]]
    assert list(target.servers) == [new[web['id']]] != [old[web['id']]]
    assert fresh['image']['id'] == new[disk['id']]
    # The same port (its address, and the floating IP on it), the same
    # scratch volume; the old disk image and data volume are gone.
    assert fresh['ports'] == [old[nic['id']]]
    assert target.ports[old[nic['id']]]['fixed_ips'][0]['ip_address'] == \
        '10.20.0.9'
    assert new[scratch['id']] == old[scratch['id']]
    assert sorted(a['id'] for a in
                  fresh['os-extended-volumes:volumes_attached']) == sorted(
        [new[data['id']], old[scratch['id']]])
    assert old[data['id']] not in target.volumes
    assert old[disk['id']] not in target.images
    assert len(target.volumes) == 2
    # Its records: the replacements, with the capture they hold.
    uuids = files.uuids_map()
    assert uuids[('volume', data['id'])] == new[data['id']]
    assert uuids[('server', web['id'])] == new[web['id']]
    captures = files.journal_captures()
    assert captures[('volume', data['id'])] == CUTOVER
    assert captures[('server snapshot', disk['id'])] == CUTOVER
    replaced = {m['old']: m for m in done.created_in_order()}
    assert replaced[data['id']]['replaced'] == old[data['id']]
    assert (replaced[web['id']]['was_captured'],
            replaced[web['id']]['captured']) == (REHEARSAL, CUTOVER)
    assert set(replaced) == {data['id'], disk['id'], web['id']}
    assert target.calls('POST', '/ports') == []

    # Once replaced, nothing is stale and a run changes nothing.
    target.mark()
    look, done = play(fake_cloud, items, files)
    assert look.stale == [] and look.pending == [] and done is None
    assert target.writes() == []


def test_a_journal_of_an_earlier_downpour_is_read_its_captures_unknown(
        fake_cloud, tmp_path, files):
    """Five columns, no capture: it loads, and what it records is stale
    when the export says when its captures were taken (nothing shows
    that it holds them); without capture times it is kept."""
    target = Target(fake_cloud)
    items = _workload(target, files, tmp_path)
    data = _by_name(items)['data']
    done = run(fake_cloud, items, files)
    rows = files._read(files.journal)
    files.journal.write_text(''.join(
        ','.join('"%s"' % v for v in row[:5]) + '\n' for row in rows))

    journal = dr.Journal(str(files.journal))
    assert journal.recall(data) == (done.ids[data['id']], 'created')
    assert journal.captured(data) == ''
    look = run_(fake_cloud, items, files, check_mode=True)
    assert '%s: %s was made from the capture taken at an unknown time ' \
        '(recorded by an earlier downpour); the export holds one taken ' \
        'at %s' % (dr.describe(data), done.ids[data['id']], REHEARSAL) \
        in look.stale
    assert len(look.stale) == 3

    for item in items:
        item.pop('captured_at', None)  # an export of an earlier downpour
    look = run_(fake_cloud, items, files, check_mode=True)
    assert look.stale == [] and look.pending == []


def test_a_stale_root_volume_takes_its_server_with_it(fake_cloud, tmp_path,
                                                      files):
    """Booted from a volume: the root volume is made again from the new
    capture, the server on it on the same port, the old root deleted."""
    target = Target(fake_cloud)
    net, sub = _network_for_servers(target, files)
    size = flavor('m1.tiny')
    root = volume('root', tmp_path, b'x', bootable=True)
    nic = port('nic', net, [(sub, '10.20.0.9')])
    db = server('db', size['id'], boot_volume=root, ports=[nic])
    db['delete_on_termination'] = [root['id']]
    items = [size, net, sub, root, nic, db]
    _captured(root, b'root of rehearsal', REHEARSAL)
    db['captured_at'] = REHEARSAL
    first = run(fake_cloud, items, files)
    _captured(root, b'root of cutover', CUTOVER)
    db['captured_at'] = CUTOVER

    look, done = play(fake_cloud, items, files)
    assert done is None and len(look.stale) == 2
    look, done = play(fake_cloud, items, files, replace_stale=True)

    fresh = target.servers[done.ids[db['id']]]
    assert list(target.servers) == [fresh['id']] != [first.ids[db['id']]]
    assert list(target.volumes) == [done.ids[root['id']]]
    assert target.volume_data[done.ids[root['id']]] == b'root of cutover'
    assert fresh['os-extended-volumes:volumes_attached'] == [
        {'id': done.ids[root['id']], 'delete_on_termination': True}]
    assert fresh['ports'] == [first.ids[nic['id']]]
    look, done = play(fake_cloud, items, files)
    assert look.pending == [] and done is None


def test_what_is_not_the_imports_own_is_never_stale(fake_cloud, tmp_path,
                                                    files):
    """An image adopted (name_clash=adopt) is not the import's own: its
    capture time is never asked for, it is never replaced."""
    target = Target(fake_cloud)
    disk = image(tmp_path, 'web-disk', b'x')
    disk.update(type='server_snapshot', csv_type='server snapshot')
    _captured(disk, b'disk', REHEARSAL)
    theirs = target.add_image('web-disk', b'disk')
    files.record(disk, theirs['id'], 'adopted')
    disk['captured_at'] = CUTOVER
    look = run_(fake_cloud, [disk], files, check_mode=True,
                replace_stale=True)
    assert look.stale == [] and look.pending == []
    assert look.ids[disk['id']] == theirs['id']


def test_a_replaced_volume_that_cannot_be_deleted_is_named(
        fake_cloud, tmp_path, files):
    """The replacement is made and recorded; the old one, which the
    journal no longer names, is named in the failure, for the user."""
    target = Target(fake_cloud)
    items = _workload(target, files, tmp_path)
    data = _by_name(items)['data']
    old = run(fake_cloud, items, files).ids[data['id']]
    at(items, b'cutover', CUTOVER)
    target.refuse('DELETE', '/volumes/{id}', status=500, message='boom')

    with pytest.raises(dr.ImportFailed) as failed:
        run_(fake_cloud, items, files, replace_stale=True)

    assert str(failed.value).startswith('volume %s, replaced in this run '
                                        'by one made from a newer capture, '
                                        'could not be deleted: ' % old)
    assert 'boom' in str(failed.value)
    new = files.uuids_map()[('volume', data['id'])]
    assert new != old and target.volume_data[new] == b'data of cutover'

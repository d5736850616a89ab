"""The export's check of free space in its output directory."""

import json
import logging
import os

import pytest

from downpour import export, outdir, space, transfer
from downpour.errors import DownpourError
from downpour.resourcefile import Entry, ResourceFile
from tests.unit.resources import sample

GIB = 1024 ** 3


def _records(fake_cloud, *entries):
    sample.register(fake_cloud)
    exporter = export.Exporter(fake_cloud.connect(), 'resources.yml')
    return exporter.resolve(list(entries))


def _blob(records, kind):
    [record] = [r for r in records if r.blob and r.blob.kind == kind]
    return record.blob


def test_the_bounds_come_from_the_source(fake_cloud, tmp_path):
    # web-1 saves its state: its disk (flavor: 20 GiB) and its volume
    # (1 GiB) are captured; web-2 boots from the qcow2 image.
    records = _records(fake_cloud, Entry('servers', name='web-1', index=0),
                       Entry('servers', name='web-2', save_state=False,
                             index=1))
    need = space.estimate(records, str(tmp_path), transfer.Captures())
    image = len(sample.IMAGE_BYTES)
    assert need.at_most == 20 * GIB + 1 * GIB + image
    # Only the image is sure: captures hold what was written, at most.
    assert need.at_least == image
    assert need.unknown == 0


def _verified(output_dir, blob, **stamp):
    path = os.path.join(output_dir, blob.path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as stream:
        stream.write(sample.IMAGE_BYTES)
    with open(path + '.verified', 'w', encoding='utf-8') as stream:
        json.dump(dict(size=len(sample.IMAGE_BYTES), **stamp), stream)


def test_what_an_earlier_run_left_counts(fake_cloud, tmp_path):
    records = _records(fake_cloud, Entry('servers', name='web-1', index=0),
                       Entry('servers', name='web-2', save_state=False,
                             index=1))
    out = str(tmp_path)
    image = _blob(records, 'image')
    _verified(out, image, hash_algo=image.hash_algo,
              hash_value=image.hash_value)
    # The capture of web-1's disk is last week's: a new export takes it
    # again (the old file stays until the new one replaces it)...
    server = _blob(records, 'server')
    _verified(out, server, captured_at='2020-01-01T00:00:00+00:00')
    # ...and half of the volume's capture is downloaded.
    volume = _blob(records, 'volume')
    with open(os.path.join(out, volume.path + '.part'), 'wb') as stream:
        stream.truncate(GIB // 2)
    state = outdir.ExportState(out)
    need = space.estimate(records, out, transfer.Captures(state))
    assert need.at_most == 20 * GIB + GIB // 2
    assert need.at_least == 0
    # Reused on request, the capture needs nothing more.
    need = space.estimate(records, out, transfer.Captures(state, reuse=True))
    assert need.at_most == GIB // 2


def test_an_image_that_changed_is_downloaded_again(fake_cloud, tmp_path):
    records = _records(fake_cloud, Entry('servers', name='web-2',
                                         save_state=False, index=0))
    image = _blob(records, 'image')
    _verified(str(tmp_path), image, hash_algo=image.hash_algo,
              hash_value='another')
    need = space.estimate(records, str(tmp_path), transfer.Captures())
    assert need.at_least == need.at_most == len(sample.IMAGE_BYTES)


def test_clearly_too_little_is_refused_naming_needed_and_free(
        fake_cloud, tmp_path):
    records = _records(fake_cloud, Entry('servers', name='web-1', index=0),
                       Entry('servers', name='web-2', save_state=False,
                             index=1))
    with pytest.raises(DownpourError) as caught:
        space.check(records, str(tmp_path), transfer.Captures(), free=1000)
    assert str(caught.value) == (
        'not enough free space in %s: the export needs at least 19.5 KiB '
        '(the images it downloads) and up to 21.0 GiB; 1000 B free: free '
        'some space or export into another directory' % tmp_path)


def test_what_may_not_fit_is_a_warning(fake_cloud, tmp_path, caplog):
    records = _records(fake_cloud, Entry('servers', name='web-1', index=0))
    with caplog.at_level(logging.INFO):
        space.check(records, str(tmp_path), transfer.Captures(),
                    free=2 * GIB)
        space.check(records, str(tmp_path), transfer.Captures(),
                    free=100 * GIB)
    assert [r.getMessage() for r in caplog.records
            if r.name == 'downpour.space'] == [
        '%s may not have room: the export needs up to 21.0 GiB (an '
        'estimate: captures are at most their disk sizes, usually less); '
        '2.0 GiB free' % tmp_path,
        'the export needs up to 21.0 GiB in %s (an estimate); 100.0 GiB '
        'free' % tmp_path]


def test_a_refused_export_leaves_no_directory(fake_cloud, tmp_path,
                                              monkeypatch):
    sample.register(fake_cloud)
    monkeypatch.setattr(space, 'free_bytes', lambda path: 1000)
    resources = tmp_path / 'r.yml'
    resources.write_text('servers:\n  - name: web-2\n    save_state: false\n')
    out = tmp_path / 'out'
    with pytest.raises(DownpourError, match='not enough free space'):
        export.export(fake_cloud.connect(),
                      ResourceFile.load(str(resources)), str(out))
    assert not out.exists()
    # Nothing was downloaded.
    assert not [r for r in fake_cloud.history if r.path.endswith('/file')]

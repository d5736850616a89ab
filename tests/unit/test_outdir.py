"""The output directory: one export at a time, private files, and a
record of the export that writes it."""

import logging
import os
import stat
import subprocess
import sys
import time

import pytest

from downpour import outdir


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_second_export_into_a_locked_directory_stops_naming_the_holder(
        tmp_path):
    # The holder is another process, as it would be: flock is per open
    # file, so this one cannot take it again.
    holder = subprocess.Popen(  # noqa: S603
        [sys.executable, '-c',
         'import sys, time; sys.path.insert(0, %r)\n'
         'from downpour import outdir\n'
         'with outdir.locked(%r):\n'
         '    print("locked", flush=True); time.sleep(60)'
         % (os.getcwd(), str(tmp_path))],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'locked'
        started = time.monotonic()
        with pytest.raises(outdir.Busy) as caught, outdir.locked(
                str(tmp_path)):
            pytest.fail('the lock was taken twice')
        assert time.monotonic() - started < 1  # at once, no waiting
        assert str(tmp_path) in str(caught.value)
        assert 'process %d' % holder.pid in str(caught.value)
    finally:
        holder.kill()
        holder.wait()
    # The holder is gone (killed): its lock went with it.
    with outdir.locked(str(tmp_path)):
        pass


def test_the_output_directory_and_its_files_are_private(tmp_path):
    out = tmp_path / 'out'
    with outdir.private_files():
        outdir.make_private(str(out))
        (out / 'blobs').mkdir()
        (out / 'blobs' / 'x').write_bytes(b'disk')
        (out / 'playbook.yml').write_text('---\n')
    assert _mode(out) == 0o700
    assert _mode(out / 'blobs') == 0o700
    assert _mode(out / 'blobs' / 'x') == 0o600
    assert _mode(out / 'playbook.yml') == 0o600


def test_a_directory_others_can_read_gets_a_warning_and_its_files_are_closed(
        tmp_path, caplog):
    out = tmp_path / 'out'
    (out / 'blobs').mkdir(parents=True)
    (out / 'blobs' / 'x').write_bytes(b'disk')
    os.chmod(out / 'blobs' / 'x', 0o644)
    os.chmod(out / 'blobs', 0o755)  # noqa: S103 - what an older export left
    os.chmod(out, 0o755)  # noqa: S103 - as a user may have made it
    with caplog.at_level(logging.WARNING):
        outdir.make_private(str(out))
    assert 'can be read by other users (mode 0755)' in caplog.text
    # Left as the user made it: only what downpour writes is narrowed.
    assert _mode(out) == 0o755
    assert _mode(out / 'blobs') == 0o700
    assert _mode(out / 'blobs' / 'x') == 0o600


def test_a_run_after_an_unfinished_export_continues_it(tmp_path):
    first = outdir.ExportState(str(tmp_path))
    assert not first.resuming
    first.begin()
    # Killed here.  The next run is the same export: same start, and the
    # captures taken since are its own.
    again = outdir.ExportState(str(tmp_path))
    assert again.resuming and again.started_at == first.started_at
    assert again.owns(outdir.iso(first.started_at))
    again.finish()
    # After a finished one, a new export: its captures must be new.
    later = outdir.ExportState(str(tmp_path))
    assert not later.resuming
    assert later.started_at >= first.started_at
    assert not later.owns('2020-01-01T00:00:00+00:00')
    assert not later.owns(None)


def test_recapture_starts_a_new_export_over_an_unfinished_one(tmp_path):
    first = outdir.ExportState(str(tmp_path))
    first.begin()
    assert outdir.ExportState(str(tmp_path)).resuming
    fresh = outdir.ExportState(str(tmp_path), fresh=True)
    assert not fresh.resuming
    assert fresh.started_at >= first.started_at


def test_a_link_planted_as_the_lock_is_not_followed(tmp_path):
    victim = tmp_path / 'victim'
    victim.write_text('precious\n')
    out = tmp_path / 'out'
    out.mkdir(mode=0o700)
    (out / outdir.LOCK).symlink_to(victim)

    with pytest.raises(outdir.DownpourError, match='is a symbolic link'):
        with outdir.locked(str(out)):
            pass
    assert victim.read_text() == 'precious\n'


def test_a_link_planted_as_a_part_or_a_temporary_file_is_not_followed(
        tmp_path):
    victim = tmp_path / 'victim'
    victim.write_text('precious\n')
    for name in ('x.part', outdir.STATE + '.tmp'):
        link = tmp_path / name
        link.symlink_to(victim)
        with pytest.raises(OSError):
            open(link, 'w', opener=outdir.nofollow).close()
    state = tmp_path / outdir.STATE
    with pytest.raises(OSError):
        outdir.ExportState(str(tmp_path)).begin()
    assert victim.read_text() == 'precious\n'
    assert not state.exists()


@pytest.mark.parametrize('mode', [0o770, 0o707, 0o777])
def test_an_output_directory_others_may_write_into_is_refused(tmp_path,
                                                              mode):
    out = tmp_path / 'out'
    out.mkdir()
    os.chmod(out, mode)
    with pytest.raises(outdir.DownpourError,
                       match='other users may write into the output '
                             'directory .* chmod go-w'):
        outdir.make_private(str(out))
    assert os.listdir(out) == []


def test_an_output_directory_of_another_user_is_refused(tmp_path,
                                                         monkeypatch):
    out = tmp_path / 'out'
    out.mkdir(mode=0o700)
    # As if another user had made it: its owner is not who runs export.
    monkeypatch.setattr(os, 'geteuid', lambda: os.stat(out).st_uid + 1)
    with pytest.raises(outdir.DownpourError,
                       match='belongs to another user'):
        outdir.make_private(str(out))


def test_an_output_path_that_is_a_file_is_said_without_a_false_warning(
        tmp_path, caplog):
    path = tmp_path / 'out'
    path.write_text('not a directory')
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING), \
            pytest.raises(outdir.DownpourError) as caught:
        outdir.make_private(str(path))
    assert str(caught.value) == (
        'the output directory %s is a file, not a directory: give a new or '
        'existing directory' % path)
    assert caplog.records == []


def test_a_discarded_lock_is_removed_and_the_next_run_takes_a_new_one(
        tmp_path):
    with outdir.locked(str(tmp_path)) as held:
        held.discard()
    assert not (tmp_path / outdir.LOCK).exists()
    with outdir.locked(str(tmp_path)):
        assert (tmp_path / outdir.LOCK).read_text().strip() == str(
            os.getpid())
    # Kept by a run that wrote (an export to continue): flock makes it
    # harmless.
    assert (tmp_path / outdir.LOCK).exists()


def test_a_lock_on_a_file_removed_meanwhile_is_not_taken_as_held(tmp_path):
    """A run opened the lock file just before the holder removed it: its
    flock succeeds, on a file no later run will open; it must take the
    new file instead."""
    lock = tmp_path / outdir.LOCK
    lock.write_text('')
    opened = outdir._open_lock(str(tmp_path), str(lock))
    try:
        lock.unlink()
        assert not outdir._still_there(opened, str(lock))
    finally:
        os.close(opened)
    with outdir.locked(str(tmp_path)):
        assert lock.exists()


def test_remove_created_takes_only_empty_directories(tmp_path):
    made = outdir.make_private(str(tmp_path / 'a' / 'b'))
    assert made == [str(tmp_path / 'a'), str(tmp_path / 'a' / 'b')]
    outdir.remove_created(made)
    assert not (tmp_path / 'a').exists()
    made = outdir.make_private(str(tmp_path / 'c'))
    (tmp_path / 'c' / 'kept').write_text('x')
    outdir.remove_created(made)
    assert (tmp_path / 'c' / 'kept').exists()
    assert outdir.make_private(str(tmp_path / 'c')) == []

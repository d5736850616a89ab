"""An import whose ansible-playbook is killed while its module works.

Killing ansible-playbook (its whole process group) does not stop the module
it started: the module goes on in a process of its own.  The lock that
names ansible-playbook then names a dead process, so, before the module
held the directory itself, a second run started beside the first's module
and both made what the journal did not yet hold.

Here the module is paused (SIGSTOP) just before its ansible-playbook is
killed, so that it is still at work when the next run
starts, however fast the clouds are.  The next run stops, naming it; once
it has ended, a run finishes the import, and everything is in the target
once.
"""

import os
import signal
import subprocess
import time

import pytest
import yaml

from tests.functional.helpers import (
    BIN,
    boot,
    default_group,
    recap_changed,
    run,
    upload_image,
)

pytestmark = pytest.mark.functional

SERVER = 'kill-web'
IMAGE_BYTES = b'downpour killed imports\n' * 8192
STILL_WORKING = 'an import of this output directory is still working ' \
    '(process %d)'


def _alive(pid):
    """Whether ``pid`` is a process that has not ended (a zombie has)."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as stream:
            data = stream.read()
    except OSError:
        return False
    return data[data.rindex(b')') + 2:].split()[0] != b'Z'


def _state(pid):
    """The state letter of process ``pid`` (R, S, T, Z...); None when it
    is gone."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as stream:
            data = stream.read()
    except OSError:
        return None
    return data[data.rindex(b')') + 2:].split()[0].decode()


def _pause_a_working_module(out, playbook, timeout=300):
    """Pause (SIGSTOP) a module of ``playbook`` that is making resources
    (the journal has begun): the PID it wrote in the busy file it holds."""
    busy = out / '.downpour-import.busy'
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert playbook.poll() is None, 'the import ended before its ' \
            'module was seen at work:\n' + playbook.stdout.read()[-3000:]
        try:
            pid = int(busy.read_text().split()[0])
        except (OSError, IndexError, ValueError):
            pid = None
        if pid is not None and (out / 'journal.csv').exists() and \
                _alive(pid):
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                continue
            # Else it ended just before: the next one is looked for.
            if _state(pid) == 'T':
                return pid
        time.sleep(0.02)
    pytest.fail('no module of the import was seen at work')


def test_a_run_waits_for_the_module_a_killed_playbook_left_working(
        tmp_path, migration):
    src, dst = migration.source.conn, migration.target.conn
    env = migration.env
    net = src.network.create_network(name='kill-net')
    src.network.create_subnet(name='kill-subnet', network_id=net.id,
                              ip_version=4, cidr='10.73.0.0/24')
    image = upload_image(src, 'kill-image', IMAGE_BYTES)
    group = default_group(src, migration.source.project_id)
    assert boot(src, SERVER, image.id, net.id, group.id).status == 'ACTIVE'
    resources = tmp_path / 'resources.yml'
    resources.write_text(yaml.safe_dump(
        {'servers': [{'name': SERVER, 'save_state': False}]}))
    out = tmp_path / 'out'
    run([BIN / 'downpour', '--os-cloud', 'src', 'export', resources, out],
        env)
    argv = [str(BIN / 'ansible-playbook'), str(out / 'playbook.yml'),
            '-e', 'cloud=dst', '-e', '{"network_map": {"public": "ext-net"}}']

    first = subprocess.Popen(  # noqa: S603 (our own command)
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True)
    orphan = None
    try:
        orphan = _pause_a_working_module(out, first)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=60)
        assert _alive(orphan), 'the module ended with its ansible-playbook'

        second = run(argv, env, check=False)

        assert second.returncode != 0
        assert STILL_WORKING % orphan in second.stdout, \
            second.stdout[-3000:]
        assert recap_changed(second.stdout) == 0
    finally:
        if orphan is not None and _alive(orphan):
            os.kill(orphan, signal.SIGCONT)
    deadline = time.monotonic() + 600
    while _alive(orphan) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _alive(orphan), 'the module left working never ended'

    # What the module left undone, a run finishes; each resource once.
    run(argv, env)
    again = run(argv, env)
    assert recap_changed(again.stdout) == 0, again.stdout[-3000:]
    assert [s.name for s in dst.compute.servers()] == [SERVER]
    pid = migration.target.project_id
    assert [n.name for n in dst.network.networks(project_id=pid)
            if n.name == 'kill-net'] == ['kill-net']
    assert len([p for p in dst.network.ports(project_id=pid)
                if (p.device_owner or '').startswith('compute:')]) == 1

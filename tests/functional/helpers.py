"""What the functional tests of hostile data, repeated names, fallbacks and
secrets share: two fresh projects and a clouds.yaml naming them, running
downpour and ansible-playbook, and small waits."""

import os
import pathlib
import re
import secrets
import subprocess
import sys
import time

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


def environment(tmp_path, clouds):
    """An environment whose clouds.yaml holds ``clouds`` (name -> config)."""
    clouds_yaml = tmp_path / 'clouds.yaml'
    clouds_yaml.write_text(yaml.safe_dump({'clouds': clouds}))
    env = dict(os.environ)
    env.update({'OS_CLIENT_CONFIG_FILE': str(clouds_yaml),
                'PATH': '%s:%s' % (BIN, env.get('PATH', '')),
                'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_FORCE_COLOR': '0'})
    env.pop('OS_CLOUD', None)
    return env


def run(argv, env, timeout=900, check=True):
    proc = subprocess.run(  # noqa: S603 (our own commands)
        [str(a) for a in argv], env=env, capture_output=True, text=True,
        timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail('%s failed (%d):\n%s\n%s' % (
            ' '.join(map(str, argv)), proc.returncode,
            proc.stdout[-6000:], proc.stderr[-6000:]))
    return proc


def recap_changed(output):
    counts = re.findall(r'localhost\s*:\s*ok=\d+\s+changed=(\d+)', output)
    assert counts, 'no PLAY RECAP in:\n' + output[-3000:]
    return sum(int(c) for c in counts)


def default_group(conn, project_id):
    """The project's own ``default`` security group."""
    return next(g for g in conn.network.security_groups(
        project_id=project_id) if g.name == 'default')


def laps():
    """A function that prints how long it has been since the last call
    (or this one), naming what was done: a test's timings in its output."""
    clock = [time.monotonic()]

    def lap(what):
        now = time.monotonic()
        print('%s: %.1f s' % (what, now - clock[0]))
        clock[0] = now
    return lap


def wait_for(fetch, ready, what, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = fetch()
        if item is not None and ready(item):
            return item
        time.sleep(1)
    pytest.fail('timed out waiting for %s' % what)


def upload_image(conn, name, data, **props):
    image = conn.image.create_image(name=name, disk_format='raw',
                                    container_format='bare', data=data,
                                    visibility='private', **props)
    return wait_for(lambda: conn.image.get_image(image.id),
                    lambda i: i.status == 'active', 'image %r' % name)


def volume_with_bytes(conn, name, data, timeout=600, **attrs):
    """A 1 GiB volume whose first bytes are ``data``, made from a
    throw-away image deleted once the volume has them."""
    seed = upload_image(conn, '%s-seed-%s' % (name, secrets.token_hex(3)),
                        data)
    volume = conn.block_storage.create_volume(name=name, size=1,
                                              image_id=seed.id, **attrs)
    volume = wait_for(lambda: conn.block_storage.get_volume(volume.id),
                      lambda v: v.status in ('available', 'error'),
                      'volume %s' % name, timeout=timeout)
    assert volume.status == 'available'
    conn.image.delete_image(seed.id)
    return volume


def boot(conn, name, image_id, network_id, group_id, **kwargs):
    """A server on its own port (so that a group is given by ID, which
    stays unambiguous when names repeat), waited for until ACTIVE."""
    port = conn.network.create_port(network_id=network_id,
                                    security_group_ids=[group_id])
    flavor = conn.compute.find_flavor('m1.tiny', ignore_missing=False)
    server = conn.compute.create_server(
        name=name, flavor_id=flavor.id, image_id=image_id,
        networks=[{'port': port.id}], **kwargs)
    return wait_for(lambda: conn.compute.get_server(server.id),
                    lambda s: s.status in ('ACTIVE', 'ERROR'),
                    'server %r' % name)


def image_bytes(conn, image_id):
    data = bytearray()
    for chunk in conn.image.download_image(image_id, stream=True) \
            .iter_content(1024 * 1024):
        data.extend(chunk)
    return bytes(data)

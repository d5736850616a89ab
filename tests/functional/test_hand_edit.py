"""A playbook edited by hand between the export and the import (issue 22,
item 5): a server's item and its port taken out of playbook.yml in a text
editor.  What only that server needed (its disk's capture) is neither
counted by check nor uploaded by the import; the other server arrives."""

import pytest
import yaml

from tests.functional.helpers import BIN, boot, default_group, run, upload_image

pytestmark = pytest.mark.functional

KEPT, REMOVED = 'he-kept', 'he-removed'


def _without(text, item_ids):
    """The playbook's text without the list items whose id is one of
    ``item_ids``: each item's lines, from its ``- type:`` to the next, as
    a person deletes them in an editor."""
    out, skipping = [], False
    lines = text.splitlines(keepends=True)
    for n, line in enumerate(lines):
        if line.startswith('      - type: '):
            following = lines[n + 1] if n + 1 < len(lines) else ''
            skipping = any('"%s"' % item_id in following
                           for item_id in item_ids)
        elif not line.startswith('        '):
            skipping = False
        if not skipping:
            out.append(line)
    return ''.join(out)


def test_a_server_taken_out_by_hand_takes_its_capture_along(tmp_path,
                                                            migration):
    src, dst = migration.source.conn, migration.target.conn
    net = src.network.create_network(name='he-net')
    src.network.create_subnet(name='he-subnet', network_id=net.id,
                              ip_version=4, cidr='10.63.0.0/24')
    default = default_group(src, migration.source.project_id)
    image = upload_image(src, 'he-image', b'hand edit\n' * 8192)
    servers = {name: boot(src, name, image.id, net.id, default.id)
               for name in (KEPT, REMOVED)}
    assert {s.status for s in servers.values()} == {'ACTIVE'}

    resources = tmp_path / 'resources.yml'
    # Their disks are captured: each server has a capture item.
    resources.write_text(yaml.safe_dump(
        {'servers': [{'name': KEPT}, {'name': REMOVED}]}))
    out = tmp_path / 'out'
    run([BIN / 'downpour', '--os-cloud', 'src', 'export', resources, out],
        migration.env)

    removed = servers[REMOVED]
    port, = src.network.ports(device_id=removed.id)
    playbook = out / 'playbook.yml'
    before = playbook.read_text()
    assert 'snapshot-%s' % removed.id in before
    playbook.write_text(_without(before, [removed.id, port.id]))

    checked = run([BIN / 'downpour', '--os-cloud', 'dst', 'check', '-f',
                   'json', out], migration.env)
    rows = yaml.safe_load(checked.stdout)
    left_out = [row['Verdict'] for row in rows if row['Check'] == 'left out']
    assert len(left_out) == 1, rows
    assert left_out[0].startswith("server snapshot '%s-snapshot'" % REMOVED)
    # One image to upload: the kept server's capture.
    images, = [row for row in rows if row['Check'] == 'images']
    assert images['Needed'] == 1, rows

    run([BIN / 'ansible-playbook', playbook, '-e', 'cloud=dst'],
        migration.env)

    assert sorted(s.name for s in dst.compute.servers()) == [KEPT]
    uploaded = [i.name for i in dst.image.images(
        owner=migration.target.project_id)]
    assert uploaded == ['%s-snapshot' % KEPT], uploaded

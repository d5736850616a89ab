"""A server whose image is gone from the source is carried by a capture of
its disk, and the capture keeps what the guest needs to boot: the
firmware, disk bus and OS type of the image it was booted from (issue
21, item 6).  Nova copies them into the capture; the export takes them
from there, without the source's own bookkeeping."""

import pytest
import yaml

from tests.functional.helpers import BIN, boot, default_group, run, upload_image

pytestmark = pytest.mark.functional

BOOTS_WITH = {'hw_firmware_type': 'uefi', 'hw_disk_bus': 'scsi',
              'os_type': 'linux'}


def test_a_capture_carries_the_gone_images_properties(tmp_path, migration):
    src, dst = migration.source.conn, migration.target.conn
    net = src.network.create_network(name='cp-net')
    src.network.create_subnet(name='cp-subnet', network_id=net.id,
                              ip_version=4, cidr='10.59.0.0/24')
    default = default_group(src, migration.source.project_id)
    image = upload_image(src, 'cp-image', b'uefi guest\n' * 8192,
                         **BOOTS_WITH)
    server = boot(src, 'cp-app', image.id, net.id, default.id)
    assert server.status == 'ACTIVE'
    src.image.delete_image(image.id)
    assert src.image.find_image(image.id, ignore_missing=True) is None

    resources = tmp_path / 'resources.yml'
    resources.write_text(yaml.safe_dump({'servers': [{'name': 'cp-app'}]}))
    out = tmp_path / 'out'
    run([BIN / 'downpour', '--os-cloud', 'src', 'export', resources, out],
        migration.env)
    run([BIN / 'ansible-playbook', out / 'playbook.yml', '-e', 'cloud=dst'],
        migration.env)

    new = dst.compute.get_server(next(
        s.id for s in dst.compute.servers() if s.name == 'cp-app'))
    booted = dst.image.get_image(new.image['id'])
    properties = dict(booted.properties or {})
    for key in ('hw_firmware_type', 'hw_disk_bus', 'os_type'):
        properties.setdefault(key, getattr(booted, key, None))
    assert {key: properties[key] for key in BOOTS_WITH} == BOOTS_WITH
    # Nothing that names the source's server or its user.
    assert not {'instance_uuid', 'base_image_ref', 'user_id',
                'owner_project_name'} & set(properties)

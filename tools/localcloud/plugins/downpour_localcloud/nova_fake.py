"""nova compute driver: nova's FakeDriver whose snapshots carry real bytes.

The stock ``nova.virt.fake.FakeDriver.snapshot()`` only moves the task state
and never uploads anything, so a server snapshot stays ``queued`` with no data
for ever.  downpour moves images between clouds, so a snapshot here uploads
the bytes of the image the server was booted from: the snapshot becomes
``active`` and downloading it returns exactly the source image's bytes, which
is what a test can check.  A server keeps its "disk" as a real one does: at
spawn, a hard link to the file of its image in Glance's file store (no
copy, whatever the size), so that deleting the image from Glance later does
not take the disk with it, and a capture still has the bytes.  Everything
else (servers are database records, "running" only in this process's
memory) is the stock fake driver.

nova imports drivers as ``nova.virt.<compute_driver>``, so
``downpour_localcloud.nova_compute`` registers this module as
``nova.virt.downpour_fake`` before nova-compute loads it.
"""
import os
import tempfile

from oslo_config import cfg
from oslo_log import log as logging

from nova.compute import task_states
import nova.conf
from nova import exception
from nova.image import glance
from nova.virt import fake

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF
CONF.register_opts([cfg.StrOpt(
    "image_store", help="Glance's filesystem_store_datadir: where a "
    "server's disk is linked from at spawn")], group="downpour_fake")


def _disk(instance):
    return os.path.join(CONF.instances_path, "%s.disk" % instance.uuid)


class DownpourFakeDriver(fake.FakeDriver):

    def spawn(self, context, instance, image_meta, *args, **kwargs):
        super().spawn(context, instance, image_meta, *args, **kwargs)
        if instance.image_ref and CONF.downpour_fake.image_store:
            os.makedirs(CONF.instances_path, exist_ok=True)
            try:
                os.link(os.path.join(CONF.downpour_fake.image_store,
                                     instance.image_ref), _disk(instance))
            except OSError as exc:
                # The snapshot reads the image instead, while it is there.
                LOG.warning("no disk kept for %s: %s", instance.uuid, exc)

    def destroy(self, context, instance, *args, **kwargs):
        super().destroy(context, instance, *args, **kwargs)
        try:
            os.unlink(_disk(instance))
        except FileNotFoundError:
            pass

    def snapshot(self, context, instance, image_id, update_task_state):
        if instance.uuid not in self.instances:
            raise exception.InstanceNotRunning(instance_id=instance.uuid)
        image_api = glance.API()
        snapshot = image_api.get(context, image_id)
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)

        disk_format = "raw"
        if instance.image_meta.obj_attr_is_set("disk_format"):
            disk_format = instance.image_meta.disk_format
        metadata = {
            "status": "active",
            "name": snapshot["name"],
            "disk_format": disk_format,
            "container_format": "bare",
            "properties": {
                "image_location": "snapshot",
                "image_state": "available",
                "owner_id": instance.project_id,
            },
        }
        # The "disk" of a fake server: the one kept at spawn, else the
        # image it was booted from.
        with tempfile.NamedTemporaryFile(prefix="snapshot-") as disk:
            kept = _disk(instance)
            if not os.path.exists(kept):
                kept = disk.name
                if instance.image_ref:
                    image_api.download(context, instance.image_ref,
                                       dest_path=disk.name)
            update_task_state(task_state=task_states.IMAGE_UPLOADING,
                              expected_state=task_states.IMAGE_PENDING_UPLOAD)
            with open(kept, "rb") as data:
                image_api.update(context, image_id, metadata, data)
        LOG.info("Snapshot %s of %s uploaded from image %s",
                 image_id, instance.uuid, instance.image_ref)

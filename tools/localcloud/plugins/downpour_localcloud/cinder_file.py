"""cinder volume driver that keeps each volume as a sparse file.

LVM cannot work in the test machines (the kernel has no device-mapper) and
cinder's in-tree fake driver keeps no data, yet downpour copies volume
contents between clouds (volume -> image upload, image -> volume creation).
This driver stores each volume, snapshot and clone as a sparse file in
``file_volume_directory``, so contents really round-trip.  Attachments are
reported with connection type ``local`` (os-brick LocalConnector) and a path;
nova's fake compute driver does not open it, but cinder-volume itself uses
the path for image transfers.  No export/target is needed.

Use in cinder.conf::

    [file]
    volume_driver = downpour_localcloud.cinder_file.FileVolumeDriver
    file_volume_directory = /somewhere
"""
import os
import subprocess

from oslo_config import cfg
from oslo_log import log as logging

from cinder.image import image_utils
from cinder.volume import driver
from cinder.volume import volume_utils

LOG = logging.getLogger(__name__)

file_opts = [
    cfg.StrOpt("file_volume_directory",
               help="Directory holding one sparse file per volume/snapshot."),
]

GiB = 1024 ** 3


class FileVolumeDriver(driver.VolumeDriver):
    VERSION = "1.0.0"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.configuration.append_config_values(file_opts)
        self._dir = self.configuration.safe_get("file_volume_directory")

    # -- set-up ------------------------------------------------------------
    def do_setup(self, context):
        os.makedirs(self._dir, exist_ok=True)

    def check_for_setup_error(self):
        if not os.path.isdir(self._dir):
            raise RuntimeError("file_volume_directory %s is missing" % self._dir)

    def _path(self, name):
        return os.path.join(self._dir, name)

    def local_path(self, volume):
        return self._path(volume.name)

    def _resize(self, path, size_gb):
        # Never shrink: a file copy may be larger than the requested size.
        if os.path.getsize(path) < size_gb * GiB:
            os.truncate(path, size_gb * GiB)

    def _copy(self, src, dst):
        # cp --sparse keeps holes, so copying a mostly empty 1 GiB volume is fast.
        subprocess.run(["cp", "--sparse=always", src, dst], check=True)

    # -- volumes and snapshots ---------------------------------------------
    def create_volume(self, volume):
        with open(self.local_path(volume), "wb"):
            pass
        self._resize(self.local_path(volume), volume.size)

    def delete_volume(self, volume):
        self._remove(self.local_path(volume))

    def _remove(self, path):
        try:
            os.remove(path)
        except FileNotFoundError:
            pass

    def create_snapshot(self, snapshot):
        self._copy(self.local_path(snapshot.volume), self._path(snapshot.name))

    def delete_snapshot(self, snapshot):
        self._remove(self._path(snapshot.name))

    def create_volume_from_snapshot(self, volume, snapshot):
        self._copy(self._path(snapshot.name), self.local_path(volume))
        self._resize(self.local_path(volume), volume.size)

    def create_cloned_volume(self, volume, src_vref):
        self._copy(self.local_path(src_vref), self.local_path(volume))
        self._resize(self.local_path(volume), volume.size)

    def extend_volume(self, volume, new_size):
        self._resize(self.local_path(volume), new_size)

    # -- image transfers -----------------------------------------------------
    def copy_image_to_volume(self, context, volume, image_service, image_id,
                             disable_sparse=False):
        path = self.local_path(volume)
        image_utils.fetch_to_raw(context, image_service, image_id, path,
                                 self.configuration.volume_dd_blocksize,
                                 size=volume.size,
                                 disable_sparse=disable_sparse)
        # qemu-img convert rewrote the file at the image's size: grow it back
        # to the volume's size.
        self._resize(path, volume.size)

    def copy_volume_to_image(self, context, volume, image_service, image_meta):
        volume_utils.upload_volume(context, image_service, image_meta,
                                   self.local_path(volume), volume)

    # -- attachments (no target: the path is the "device") -----------------
    def create_export(self, context, volume, connector):
        pass

    def ensure_export(self, context, volume):
        pass

    def remove_export(self, context, volume):
        pass

    def initialize_connection(self, volume, connector):
        return {"driver_volume_type": "local",
                "data": {"device_path": self.local_path(volume)}}

    def terminate_connection(self, volume, connector, **kwargs):
        pass

    def _update_volume_stats(self):
        self._stats = {
            "volume_backend_name":
                self.configuration.safe_get("volume_backend_name") or "file",
            "vendor_name": "downpour localcloud",
            "driver_version": self.VERSION,
            "storage_protocol": "local",
            "total_capacity_gb": 1000,
            "free_capacity_gb": 1000,
            "reserved_percentage": 0,
            "thin_provisioning_support": True,
            "max_over_subscription_ratio": 20.0,
            "multiattach": False,
        }

"""Swift's one device per cloud: an ext4 filesystem in a sparse file,
loop-mounted on the cloud's data/swift.

Why not a plain directory of the state dir: the object server keeps an
object's metadata (4 KiB of user metadata, plus Swift's own) pickled in one
extended attribute, and the state dir's ext4 holds at most one block (4 KiB)
of attributes per file: a PUT with large metadata failed with 507, and Swift
then set the only device aside for a minute.  ext4 made with ``ea_inode``
stores a large value in an inode of its own.  tmpfs would also do, but would
keep every object in memory.
"""
import os
import subprocess

from . import settings
from .procs import HarnessError

SIZE = "32G"  # sparse: the file grows with what is stored


def mountpoint(cloud):
    return os.path.join(cloud.data, "swift")


def image(cloud):
    return os.path.join(cloud.root, "swift-disk.img")


def is_mounted(path):
    with open("/proc/self/mounts") as f:
        # Mount points are escaped octal (a space is \040); ours have none.
        return any(line.split()[1] == path for line in f)


def make(cloud, run, say):
    """A fresh, empty filesystem (as every other service's data at ``up``);
    ``run(what, cmd)`` runs a command with its output in a log.  Where a
    loop mount cannot be made (not root, no loop device in a container),
    Swift stores on the state dir itself, said in one line: everything
    works but an object's metadata past what one attribute block holds."""
    unmount(cloud)
    path = image(cloud)
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    os.makedirs(mountpoint(cloud), exist_ok=True)
    try:
        if os.geteuid() != 0:
            raise HarnessError("not root")
        with open(path, "wb") as f:
            f.truncate(_bytes(SIZE))
        # Lazy inode tables and journal, and noinit_itable: nothing zeroes
        # the sparse file in the background (it reads as zeros already).
        run("swift-disk", [settings.MKFS_EXT4, "-q", "-F", "-O", "ea_inode", "-m", "0",
                           "-E", "lazy_itable_init=1,lazy_journal_init=1", path])
        run("swift-disk", ["mount", "-o", "loop,noatime,noinit_itable", path,
                           mountpoint(cloud)])
    except (HarnessError, OSError) as exc:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
        say(f"{cloud.name}: Swift stores on the state dir itself, as its own filesystem "
            f"cannot be mounted ({str(exc).splitlines()[0]}): an object's metadata is "
            "limited to one block of extended attributes (about 4 KiB with Swift's own)")
    os.makedirs(os.path.join(mountpoint(cloud), "d1"))


def unmount(cloud):
    """Unmount (the loop device goes with it) if mounted; never fails
    silently: a busy mount would keep the last boot's objects."""
    point = mountpoint(cloud)
    if not is_mounted(point):
        return
    result = subprocess.run(["umount", point], capture_output=True, text=True)
    if result.returncode != 0:
        raise HarnessError(f"{cloud.name}: cannot unmount Swift's storage {point}: "
                           f"{result.stderr.strip()}")


def _bytes(size):
    return int(size[:-1]) << {"G": 30, "M": 20}[size[-1]]

"""Where things live, which ports each cloud uses, and per-cloud names."""
import os

HERE = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))  # tools/localcloud
PLUGINS = os.path.join(HERE, "plugins")
CONSTRAINTS = os.path.join(HERE, "constraints.txt")
REQUIREMENTS = os.path.join(HERE, "requirements.txt")

VENV = os.environ.get("DOWNPOUR_LOCALCLOUD_VENV", "/opt/downpour-localcloud/venv")
STATE = os.environ.get("DOWNPOUR_LOCALCLOUD_STATE", "/var/tmp/downpour-localcloud")
LOGS = os.path.join(STATE, "logs")
CLOUDS_YAML = os.path.join(STATE, "clouds.yaml")

# Octavia's database: one MariaDB server of our own for both clouds (one
# database each), not Debian's service.  Its data survives a reboot of the
# clouds; each cloud's database is dropped and made again at its boot.
MYSQLD = "/usr/sbin/mariadbd"
MYSQL_DIR = os.path.join(STATE, "mariadb")
MYSQL_PORT = 3336

# Makes Swift's filesystem (lc/swiftdisk.py); by path, as /usr/sbin may not
# be on a tox environment's PATH.
MKFS_EXT4 = "/usr/sbin/mkfs.ext4"

HOST = "127.0.0.1"  # every listener binds here, never on another address

# Source cloud ports; the target cloud adds PORT_OFFSET["target"] to each.
BASE_PORTS = {
    "epmd": 4369,
    "rabbit": 5672,
    "rabbit_dist": 25672,
    "keystone": 5000,
    "glance": 9292,
    "placement": 8778,
    "nova": 8774,
    "neutron": 9696,
    "cinder": 8776,
    "octavia": 9876,
    "barbican": 9311,
    # Swift: the proxy (the API), and the account, container and object
    # servers its rings point at (one process serves all three).
    "swift": 8080,
    "swift_object": 6200,
    "swift_container": 6201,
    "swift_account": 6202,
}
PORT_OFFSET = {"source": 0, "target": 100}
CLOUD_NAMES = ("source", "target")

# Names that differ between the clouds, as between two providers.
PER_CLOUD = {
    "source": {
        "member_user": "src-user",
        "member_project": "src-tenant",
        "ext_net": "public",
        "ext_cidr": "203.0.113.0/24",
        "flavors": [
            # name, vcpus, ram MB, disk GB
            ("m1.tiny", 1, 512, 1),
            ("m1.small", 1, 2048, 20),
            ("m1.medium", 2, 4096, 40),
            ("ds1.custom", 1, 1024, 10),
        ],
    },
    "target": {
        "member_user": "dst-user",
        "member_project": "dst-tenant",
        "ext_net": "ext-net",
        "ext_cidr": "198.51.100.0/24",
        "flavors": [
            ("m1.tiny", 1, 512, 1),
            ("m1.small", 1, 2048, 20),
            ("t2.micro", 1, 1024, 10),
            ("t2.large", 2, 8192, 80),
        ],
    },
}

IMAGE_NAME = "cirros-fake"
REGION = "RegionOne"


def ports(cloud):
    off = PORT_OFFSET[cloud]
    return {k: v + off for k, v in BASE_PORTS.items()}

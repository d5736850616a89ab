"""Configuration files of one cloud.

Everything a service reads is generated here into $STATE/<cloud>/etc, so a
cloud never reads /etc and two clouds never share a file.  Only settings that
matter are set; the comments say why.
"""
import os
import pwd
import shutil

from . import mariadb
from . import settings


def _authtoken(c):
    # keystonemiddleware (token validation) and the service-to-service
    # sections use one "service" user per cloud.  No memcached: the
    # middleware falls back to its in-process cache.
    return f"""auth_type = password
auth_url = {c.keystone_url}
www_authenticate_uri = {c.keystone_url}
username = localcloud-service
password = {c.passwords['service']}
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = {settings.REGION}
"""


def _common(c):
    return f"""transport_url = rabbit://guest:guest@{settings.HOST}:{c.ports['rabbit']}/
debug = False
"""


def _db(c, name):
    return f"sqlite:///{c.data}/{name}.sqlite"


def render(c):
    """Write all configuration files of cloud ``c`` (a cloud.Cloud)."""
    etc = c.etc
    venv_etc = os.path.join(settings.VENV, "etc")
    files = {}
    H = settings.HOST
    p = c.ports
    auth = _authtoken(c)

    # -- RabbitMQ: a node of our own, loopback only ----------------------------
    files["rabbitmq/rabbitmq.conf"] = f"""listeners.tcp.1 = {H}:{p['rabbit']}
loopback_users.guest = true
log.console = true
log.file = false
"""
    files["rabbitmq/enabled_plugins"] = "[].\n"
    files["rabbitmq/rabbitmq-env.conf"] = "# everything is set in the environment\n"

    # -- keystone ----------------------------------------------------------------
    files["keystone/keystone.conf"] = f"""[DEFAULT]
debug = False
[database]
connection = {_db(c, 'keystone')}
sqlite_synchronous = False
[token]
provider = fernet
[fernet_tokens]
key_repository = {c.data}/fernet-keys
[fernet_receipts]
key_repository = {c.data}/fernet-keys
[credential]
key_repository = {c.data}/credential-keys
[cache]
# Without a cache keystone spends ~0.4 s CPU per authenticated request on
# SQLite role-assignment queries; the in-process dict cache makes it ~20 ms.
# It is per process: keystone must run as a single process (lc/cloud.py).
enabled = True
backend = oslo_cache.dict
[identity]
# Cheap password hashing: users are created per test.
password_hash_rounds = 4
"""

    # -- glance ------------------------------------------------------------------
    files["glance/glance-api.conf"] = f"""[DEFAULT]
{_common(c)}enabled_backends = file:file
worker_self_reference_url = http://{H}:{p['glance']}
[database]
connection = {_db(c, 'glance')}
sqlite_synchronous = False
[glance_store]
default_backend = file
[file]
filesystem_store_datadir = {c.data}/images
[os_glance_staging_store]
filesystem_store_datadir = {c.data}/image-staging
[os_glance_tasks_store]
filesystem_store_datadir = {c.data}/image-tasks
[paste_deploy]
flavor = keystone
[keystone_authtoken]
{auth}
[oslo_concurrency]
lock_path = {c.data}/locks
[oslo_messaging_notifications]
driver = noop
"""
    shutil.copy(os.path.join(venv_etc, "glance", "glance-api-paste.ini"),
                os.path.join(_mk(etc, "glance"), "glance-api-paste.ini"))

    # -- placement ---------------------------------------------------------------
    files["placement/placement.conf"] = f"""[DEFAULT]
debug = False
[api]
auth_strategy = keystone
[placement_database]
connection = {_db(c, 'placement')}
sqlite_synchronous = False
[keystone_authtoken]
{auth}
"""

    # -- nova --------------------------------------------------------------------
    files["nova/nova.conf"] = f"""[DEFAULT]
{_common(c)}host = {c.name}-compute
my_ip = {H}
state_path = {c.data}/nova
instances_path = {c.data}/nova/instances
# Our fake driver (plugins/downpour_localcloud/nova_fake.py): servers go
# ACTIVE with no hypervisor and snapshots upload real bytes.
compute_driver = downpour_fake.DownpourFakeDriver
# No agent will ever report the VIF plugged.
vif_plugging_is_fatal = False
vif_plugging_timeout = 0
[downpour_fake]
# Glance's file store (filesystem_store_datadir above): a server's disk is
# a hard link to its image's file there.
image_store = {c.data}/images
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = {venv_etc}/nova/api-paste.ini
[api_database]
connection = {_db(c, 'nova_api')}
sqlite_synchronous = False
[database]
connection = {_db(c, 'nova_cell1')}
sqlite_synchronous = False
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = -1
[keystone_authtoken]
{auth}
[placement]
{auth}
[neutron]
{auth}
[cinder]
os_region_name = {settings.REGION}
{auth}
[glance]
region_name = {settings.REGION}
[oslo_concurrency]
lock_path = {c.data}/locks
[oslo_messaging_notifications]
driver = noop
[vnc]
enabled = False
[spice]
enabled = False
[serial_console]
enabled = False
[workarounds]
disable_rootwrap = True
"""

    # nova's WSGI app reads api-paste.ini and nova.conf from OS_NOVA_CONFIG_DIR.
    shutil.copy(os.path.join(venv_etc, "nova", "api-paste.ini"),
                os.path.join(_mk(etc, "nova"), "api-paste.ini"))

    # -- neutron -----------------------------------------------------------------
    files["neutron/neutron.conf"] = f"""[DEFAULT]
{_common(c)}core_plugin = ml2
service_plugins = router
auth_strategy = keystone
state_path = {c.data}/neutron
allow_overlapping_ips = True
# No DHCP agent exists to notify.
dhcp_agent_notification = False
notify_nova_on_port_status_changes = True
notify_nova_on_port_data_changes = True
api_paste_config = {venv_etc}/neutron/api-paste.ini
[database]
connection = {_db(c, 'neutron')}
sqlite_synchronous = False
[keystone_authtoken]
{auth}
[nova]
{auth}
[oslo_concurrency]
lock_path = {c.data}/locks
[oslo_messaging_notifications]
driver = noop
[agent]
root_helper =
"""
    files["neutron/ml2_conf.ini"] = """[ml2]
type_drivers = flat,vxlan
tenant_network_types = vxlan
# plugins/downpour_localcloud/ml2_bindall.py: binds every port (no agents).
mechanism_drivers = downpour_bindall
extension_drivers = port_security
[ml2_type_flat]
flat_networks = external
[ml2_type_vxlan]
vni_ranges = 1:1000
[securitygroup]
firewall_driver = noop
"""

    # -- cinder ------------------------------------------------------------------
    files["cinder/cinder.conf"] = f"""[DEFAULT]
{_common(c)}host = {c.name}-volume
my_ip = {H}
auth_strategy = keystone
state_path = {c.data}/cinder
api_paste_config = {venv_etc}/cinder/api-paste.ini
resource_query_filters_file = {venv_etc}/cinder/resource_filters.json
enabled_backends = file
image_conversion_dir = {c.data}/cinder/conversion
[file]
# plugins/downpour_localcloud/cinder_file.py: one sparse file per volume, so
# contents survive volume <-> image transfers.
volume_driver = downpour_localcloud.cinder_file.FileVolumeDriver
volume_backend_name = file
file_volume_directory = {c.data}/volumes
[database]
connection = {_db(c, 'cinder')}
sqlite_synchronous = False
[keystone_authtoken]
{auth}
[nova]
{auth}
[oslo_concurrency]
lock_path = {c.data}/locks
[oslo_messaging_notifications]
driver = noop
"""

    # -- octavia -----------------------------------------------------------------
    octavia_etc = os.path.join(etc, "octavia")
    files["octavia/octavia.conf"] = f"""[DEFAULT]
{_common(c)}[api_settings]
auth_strategy = keystone
# The amphora provider with no-op back-ends: the real API, database and
# worker flows, no amphora VM.  (The "noop_driver" provider never updates a
# status: everything would stay PENDING_CREATE.)
enabled_provider_drivers = amphora:The Octavia Amphora driver with no-op back-ends
default_provider_driver = amphora
[database]
# MariaDB, not SQLite: see lc/mariadb.py.
connection = {mariadb.url(c.name, c.passwords['octavia_db'])}
[controller_worker]
workers = 1
amphora_driver = amphora_noop_driver
image_driver = image_noop_driver
# plugins/downpour_localcloud/octavia_noop.py: the no-op compute driver with
# its state file in this cloud, and a network driver that makes the VIP a
# real Neutron port (the upstream no-op one invents a port ID and address).
compute_driver = downpour_compute_noop
network_driver = downpour_vip_port
# The create flow reads both, although no amphora ever uses them.
client_ca = {octavia_etc}/ca.pem
[certificates]
ca_certificate = {octavia_etc}/ca.pem
ca_private_key = {octavia_etc}/ca.key
# TERMINATED_HTTPS listeners: certificates from Barbican, read with
# [service_auth] after the API grants that user a read ACL.
cert_manager = barbican_cert_manager
region_name = {settings.REGION}
endpoint_type = public
[downpour]
noop_db = sqlite:///{c.data}/octavia-noop.sqlite
[health_manager]
heartbeat_key = {c.passwords['octavia_heartbeat']}
[oslo_messaging]
# The cloud's RabbitMQ, on Octavia's own topic and exchange.
topic = octavia_prov
[keystone_authtoken]
{auth}
[service_auth]
{auth}
[neutron]
region_name = {settings.REGION}
valid_interfaces = public
[oslo_concurrency]
lock_path = {c.data}/locks
[oslo_messaging_notifications]
driver = noop
"""

    # -- barbican ----------------------------------------------------------------
    files["barbican/barbican.conf"] = f"""[DEFAULT]
{_common(c)}# Secret and container refs are built from it.
host_href = http://{H}:{p['barbican']}
sql_connection = {_db(c, 'barbican')}
[database]
connection = {_db(c, 'barbican')}
[queue]
# No queue: orders run inside the API, so no barbican-worker is needed.
enable = False
[secretstore]
enabled_secretstore_plugins = store_crypto
[crypto]
enabled_crypto_plugins = simple_crypto
[simple_crypto_plugin]
kek = {c.passwords['barbican_kek']}
[keystone_authtoken]
{auth}
[oslo_messaging_notifications]
driver = noop
"""
    # barbican's own WSGI module hard-codes /etc/barbican/...; ours
    # (plugins/downpour_localcloud/barbican_wsgi.py) reads it from $HOME.
    shutil.copy(os.path.join(venv_etc, "barbican", "barbican-api-paste.ini"),
                os.path.join(_mk(etc, "barbican"), "barbican-api-paste.ini"))

    # -- swift -------------------------------------------------------------------
    files.update(_swift(c, auth))

    for rel, text in files.items():
        path = os.path.join(etc, rel)
        _mk(os.path.dirname(path))
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)  # they hold passwords


def _swift(c, auth):
    """Swift's files: one replica on one device per ring (rings: lc/cloud.py)."""
    H = settings.HOST
    p = c.ports
    common = f"""[DEFAULT]
bind_ip = {H}
# One process, no fork: eventlet serves concurrent requests in it.
workers = 0
# Swift drops privileges to this user; it is whoever runs localcloud.
user = {pwd.getpwuid(os.getuid()).pw_name}
swift_dir = {c.etc}/swift
devices = {c.data}/swift
mount_check = false
# Not /var/cache/swift: two clouds, and nothing outside the state dir.
recon_cache_path = {c.data}/swift-recon
"""
    files = {}
    files["swift/swift.conf"] = f"""[swift-hash]
swift_hash_path_suffix = {c.passwords['swift_hash']}
[storage-policy:0]
name = Policy-0
default = yes
"""
    for kind in ("account", "container", "object"):
        files[f"swift/{kind}-server.conf"] = f"""{common}bind_port = {p['swift_' + kind]}
[pipeline:main]
pipeline = {kind}-server
[app:{kind}-server]
use = egg:swift#{kind}
"""
    # The container updater (run in the storage process, see
    # plugins/downpour_localcloud/swift_storage.py) is what makes an
    # account's object and byte counts, hence account quotas, follow writes.
    files["swift/container-server.conf"] += """[container-updater]
interval = 5
"""
    # The middlewares of a real cloud's proxy, in the order of Swift's sample
    # pipeline, with Keystone in place of tempauth; no cache (no memcached:
    # account and container info come from the servers each time), no
    # ratelimit.  staticweb and tempurl need delay_auth_decision: anonymous
    # requests reach them and keystoneauth decides after.
    pipeline = ("catch_errors gatekeeper healthcheck proxy-logging listing_formats bulk "
                "tempurl authtoken keystoneauth staticweb copy container-quotas "
                "account-quotas slo dlo versioned_writes symlink proxy-logging proxy-server")
    filters = "".join(
        f"[filter:{name}]\nuse = egg:swift#{name.replace('-', '_')}\n"
        for name in ("catch_errors", "gatekeeper", "healthcheck", "proxy-logging",
                     "listing_formats", "bulk", "tempurl", "staticweb", "copy",
                     "container-quotas", "account-quotas", "slo", "dlo", "symlink"))
    files["swift/proxy-server.conf"] = f"""[DEFAULT]
bind_ip = {H}
bind_port = {p['swift']}
workers = 0
user = {pwd.getpwuid(os.getuid()).pw_name}
swift_dir = {c.etc}/swift
[pipeline:main]
pipeline = {pipeline}
[app:proxy-server]
use = egg:swift#proxy
# A project's account is made at its first write, as Keystone never tells Swift.
account_autocreate = true
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
delay_auth_decision = True
{auth}
[filter:keystoneauth]
use = egg:swift#keystoneauth
# A tenant's member may create containers and objects in its project's account.
operator_roles = admin, member
reseller_admin_role = ResellerAdmin
[filter:versioned_writes]
use = egg:swift#versioned_writes
# Both: X-Versions-Location / X-History-Location, and X-Versions-Enabled.
allow_versioned_writes = true
allow_object_versioning = true
{filters}"""
    return files


def _mk(*parts):
    path = os.path.join(*parts)
    os.makedirs(path, exist_ok=True)
    return path

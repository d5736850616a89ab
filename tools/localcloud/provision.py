"""Create what a test cloud holds, through its APIs (run with the venv's python).

    provision.py identity|resources CLOUD   (spec in $LOCALCLOUD_SPEC, JSON)

``identity`` (keystone only is up): service project and user, service catalogue,
the member project and user (roles ``TENANT_ROLES``).  ``resources`` (every API
answers): compute host discovery, flavors, the public image, the external
network with its floating-IP pool, and raised quotas for the member project.

``raise_quotas()`` and ``TENANT_ROLES`` are also used by
tests/functional/conftest.py for the projects it creates per test.
"""
import hashlib
import json
import os
import subprocess
import sys
import time

# Default quotas (10 instances / 10 volumes ...) run out after one functional
# run in a project; tests can still lower them.
QUOTAS = {
    "compute": {"instances": 50, "cores": 200, "ram": 512000, "key_pairs": 100},
    "network": {"networks": 50, "subnets": 50, "ports": 500, "routers": 20,
                "floating_ips": 50, "security_groups": 50, "security_group_rules": 500},
    "volume": {"volumes": 50, "snapshots": 50, "gigabytes": 2000, "backups": 50},
}

IMAGE_SIZE = 2 * 1024 * 1024

# What a tenant user gets, as in a real cloud: member is all that Octavia's
# and Barbican's default policies ask for; load-balancer_member is the role
# real clouds hand out for Octavia (only its deprecated rules read it).
TENANT_ROLES = ("member", "load-balancer_member")


def raise_quotas(admin_conn, project_id):
    admin_conn.set_compute_quotas(project_id, **QUOTAS["compute"])
    admin_conn.set_network_quotas(project_id, **QUOTAS["network"])
    admin_conn.set_volume_quotas(project_id, **QUOTAS["volume"])


def image_bytes():
    """The "cirros-fake" image: 2 MiB of reproducible pseudo-random bytes.
    Same bytes (and checksum) in both clouds, as two providers would offer the
    same upstream image, but under different IDs."""
    out = bytearray(b"downpour localcloud fake image\n")
    block = hashlib.sha512(b"cirros-fake").digest()
    while len(out) < IMAGE_SIZE:
        block = hashlib.sha512(block).digest()
        out += block
    return bytes(out[:IMAGE_SIZE])


def admin_connection(spec):
    import openstack
    return openstack.connect(
        auth_url=spec["keystone_url"], username="admin", password=spec["passwords"]["admin"],
        project_name="admin", user_domain_name="Default", project_domain_name="Default",
        region_name=spec["region"], identity_api_version="3")


def identity(spec, conn):
    idn = conn.identity
    roles = {r.name: r for r in idn.roles()}
    for role in ("service", *TENANT_ROLES):  # keystone-manage bootstrap makes some
        if role not in roles:
            roles[role] = idn.create_role(name=role)
    service_project = idn.create_project(name="service", domain_id="default",
                                         description="OpenStack services")
    svc_user = idn.create_user(name="localcloud-service", domain_id="default",
                               password=spec["passwords"]["service"],
                               default_project_id=service_project.id)
    for role in ("admin", "service"):
        idn.assign_project_role_to_user(service_project, svc_user, roles[role])

    p = spec["ports"]
    h = "http://127.0.0.1"
    catalogue = [
        ("image", "glance", f"{h}:{p['glance']}"),
        ("placement", "placement", f"{h}:{p['placement']}"),
        ("compute", "nova", f"{h}:{p['nova']}/v2.1"),
        ("network", "neutron", f"{h}:{p['neutron']}"),
        # nova finds cinder as "volumev3" ([cinder] catalog_info default);
        # openstacksdk maps block-storage to it.
        ("volumev3", "cinderv3", f"{h}:{p['cinder']}/v3/%(project_id)s"),
        ("load-balancer", "octavia", f"{h}:{p['octavia']}"),
        ("key-manager", "barbican", f"{h}:{p['barbican']}"),
        ("object-store", "swift", f"{h}:{p['swift']}/v1/AUTH_%(project_id)s"),
    ]
    for stype, name, url in catalogue:
        service = idn.create_service(type=stype, name=name, is_enabled=True)
        for interface in ("public", "internal"):
            idn.create_endpoint(service_id=service.id, interface=interface, url=url,
                                region_id=spec["region"])

    names = spec["names"]
    project = idn.create_project(name=names["member_project"], domain_id="default",
                                 description="downpour test tenant")
    user = idn.create_user(name=names["member_user"], domain_id="default",
                           password=spec["passwords"]["member"], default_project_id=project.id)
    for role in TENANT_ROLES:
        idn.assign_project_role_to_user(project, user, roles[role])


def _wait(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception as exc:  # an API still warming up
            last = exc
        time.sleep(1)
    raise SystemExit(f"timed out waiting for {what}" + (f" (last error: {last})" if last else ""))


def resources(spec, conn):
    names = spec["names"]

    def service_up(listing, binary):
        return any(s.binary == binary and s.state == "up" for s in listing())

    _wait("nova-compute to report", lambda: service_up(conn.compute.services, "nova-compute"), 180)
    _wait("nova-compute's resource provider",
          lambda: any(True for _ in conn.placement.resource_providers()), 120)
    # Map the new compute host into cell1 (nova-scheduler's periodic discovery is off).
    subprocess.run([os.path.join(spec["venv"], "bin", "nova-manage"), "--config-file",
                    spec["nova_conf"], "cell_v2", "discover_hosts", "--verbose"], check=True)

    for name, vcpus, ram, disk in names["flavors"]:
        conn.compute.create_flavor(name=name, vcpus=vcpus, ram=ram, disk=disk, is_public=True)

    conn.image.create_image(name=spec["image_name"], data=image_bytes(), disk_format="raw",
                            container_format="bare", visibility="public",
                            validate_checksum=True, wait=True)

    net = conn.network.create_network(
        name=names["ext_net"], is_router_external=True, is_shared=False,
        provider_network_type="flat", provider_physical_network="external")
    prefix = names["ext_cidr"].rsplit(".", 1)[0]  # a /24 from the documentation ranges
    conn.network.create_subnet(
        network_id=net.id, name=f"{names['ext_net']}-subnet", ip_version=4,
        cidr=names["ext_cidr"], gateway_ip=f"{prefix}.1", is_dhcp_enabled=False,
        allocation_pools=[{"start": f"{prefix}.100", "end": f"{prefix}.250"}])

    project = conn.identity.find_project(names["member_project"], ignore_missing=False)
    raise_quotas(conn, project.id)

    _wait("cinder-volume to report",
          lambda: service_up(conn.block_storage.services, "cinder-volume"), 120)


def main():
    phase, _cloud = sys.argv[1:3]
    spec = json.loads(os.environ["LOCALCLOUD_SPEC"])
    conn = admin_connection(spec)
    {"identity": identity, "resources": resources}[phase](spec, conn)


if __name__ == "__main__":
    main()

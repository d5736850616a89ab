"""Smoke test of the local test clouds: what downpour relies on, as a tenant.

On each cloud, as a member user of a fresh project: keypair, network, subnet,
router with a gateway on the external network, security group, image upload
and download, a volume made from an image and uploaded back to an image
(bytes compared), a server reaching ACTIVE with that volume attached, a
server snapshot that holds the server's image bytes, and a floating IP.
Then Barbican and Octavia: a secret whose payload reads back, a certificate
container, a load balancer whose VIP is a real Neutron port (with a
floating IP on it), an HTTPS listener terminated with that container, a
pool, a member, a health monitor and an L7 policy with a rule, all ACTIVE,
and a cascade delete that takes the VIP port too.  Then Swift: a container
with metadata, an object read back with its ETag, a static large object of
two segments, all deleted again.
"""
import datetime
import hashlib
import json
import os
import time

import pytest

pytestmark = pytest.mark.functional

# Names the clouds are set up with (tools/localcloud/lc/settings.py).
EXT_NET = {"source": "public", "target": "ext-net"}
FLAVORS = {
    "source": {"m1.tiny", "m1.small", "m1.medium", "ds1.custom"},
    "target": {"m1.tiny", "m1.small", "t2.micro", "t2.large"},
}
GiB = 1024 ** 3


def wait_for(what, fetch, ready, timeout=300, failed=("error", "ERROR", "killed")):
    deadline = time.monotonic() + timeout
    while True:
        obj = fetch()
        status = getattr(obj, "status", None)
        if ready(obj):
            return obj
        assert status not in failed, f"{what} went to {status}"
        assert time.monotonic() < deadline, f"{what}: still {status} after {timeout} s"
        time.sleep(1)


def download(conn, image_id, keep=None):
    """sha256 and size of an image's data, and its first ``keep`` bytes."""
    digest = hashlib.sha256()
    size = 0
    head = bytearray()
    response = conn.image.download_image(image_id, stream=True)
    for chunk in response.iter_content(1024 * 1024):
        digest.update(chunk)
        size += len(chunk)
        if keep and len(head) < keep:
            head += chunk[:keep - len(head)]
    return digest.hexdigest(), size, bytes(head)


@pytest.mark.parametrize("cloud", ["source", "target"])
def test_tenant_workflow(cloud, fresh_project):
    project = fresh_project(cloud)
    conn = project.conn
    tag = f"smoke-{os.getpid()}"

    # token as a plain member
    roles = conn.session.auth.get_access(conn.session).role_names
    assert "member" in roles and "admin" not in roles

    # keypair
    keypair = conn.compute.create_keypair(name=f"{tag}-key")
    assert keypair.private_key.startswith("-----BEGIN")

    # network, subnet, router with a gateway on the external network
    ext = conn.network.find_network(EXT_NET[cloud], ignore_missing=False)
    assert ext.is_router_external
    net = conn.network.create_network(name=f"{tag}-net")
    subnet = conn.network.create_subnet(network_id=net.id, name=f"{tag}-subnet",
                                        ip_version=4, cidr="10.10.0.0/24")
    router = conn.network.create_router(name=f"{tag}-router",
                                        external_gateway_info={"network_id": ext.id})
    conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    router = conn.network.get_router(router.id)
    assert router.external_gateway_info["network_id"] == ext.id
    assert router.external_gateway_info["external_fixed_ips"]

    # security group with a rule
    group = conn.network.create_security_group(name=f"{tag}-sg")
    conn.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", ethertype="IPv4",
        protocol="tcp", port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0")

    # image upload + download, checksums equal
    data = os.urandom(3 * 1024 * 1024 + 12345)
    image = conn.image.create_image(name=f"{tag}-image", data=data, disk_format="raw",
                                    container_format="bare", validate_checksum=True, wait=True)
    assert image.status == "active"
    sha, size, _ = download(conn, image.id)
    assert (sha, size) == (hashlib.sha256(data).hexdigest(), len(data))

    # volume made from the image holds its bytes; volume -> image -> download
    vol = conn.block_storage.create_volume(name=f"{tag}-vol", size=1, image_id=image.id)
    vol = wait_for("volume from image", lambda: conn.block_storage.get_volume(vol.id),
                   lambda v: v.status == "available")
    assert vol.is_bootable
    conn.block_storage.upload_volume_to_image(vol, f"{tag}-vol-image", force=True,
                                              disk_format="raw", container_format="bare")
    vol_image = wait_for("volume upload",
                         lambda: conn.image.find_image(f"{tag}-vol-image", ignore_missing=False),
                         lambda i: i.status == "active")
    sha, size, head = download(conn, vol_image.id, keep=len(data))
    assert size == GiB
    assert head == data
    # the rest of the volume is zeros: the whole download equals data + zero padding
    zeros = hashlib.sha256(data)
    remaining = GiB - len(data)
    block = bytes(1024 * 1024)
    while remaining:
        n = min(remaining, len(block))
        zeros.update(block[:n])
        remaining -= n
    assert sha == zeros.hexdigest()
    wait_for("volume after upload", lambda: conn.block_storage.get_volume(vol.id),
             lambda v: v.status == "available")

    # server on the fake hypervisor, ACTIVE, with the volume attached
    base = conn.image.find_image("cirros-fake", ignore_missing=False)
    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    assert {f.name for f in conn.compute.flavors()} == FLAVORS[cloud]
    server = conn.compute.create_server(
        name=f"{tag}-server", image_id=base.id, flavor_id=flavor.id,
        networks=[{"uuid": net.id}], key_name=keypair.name,
        security_groups=[{"name": group.name}])
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=180)
    assert server.addresses[net.name][0]["addr"].startswith("10.10.0.")
    conn.compute.create_volume_attachment(server, volume=vol)
    vol = wait_for("volume attach", lambda: conn.block_storage.get_volume(vol.id),
                   lambda v: v.status == "in-use")
    assert vol.attachments[0]["server_id"] == server.id
    assert [a.volume_id for a in conn.compute.volume_attachments(server)] == [vol.id]

    # server snapshot holds the bytes of the server's (image) disk
    snapshot_id = conn.compute.create_server_image(server, name=f"{tag}-snap")
    snapshot = wait_for("server snapshot", lambda: conn.image.get_image(snapshot_id),
                        lambda i: i.status == "active", failed=("killed", "deleted"))
    assert snapshot.size and snapshot.size == base.size
    base_sha, _, _ = download(conn, base.id)
    snap_sha, _, _ = download(conn, snapshot.id)
    assert snap_sha == base_sha

    # floating IP from the external pool, on the server's port
    port = next(conn.network.ports(device_id=server.id))
    fip = conn.network.create_ip(floating_network_id=ext.id, port_id=port.id)
    fip = conn.network.get_ip(fip.id)
    assert fip.port_id == port.id
    assert fip.fixed_ip_address == port.fixed_ips[0]["ip_address"]
    assert fip.floating_ip_address in set(_pool(conn, ext))


def _pool(conn, ext):
    """Every address of the external network's allocation pools."""
    import ipaddress
    for subnet in conn.network.subnets(network_id=ext.id):
        for pool in subnet.allocation_pools:
            start = ipaddress.ip_address(pool["start"])
            end = ipaddress.ip_address(pool["end"])
            while start <= end:
                yield str(start)
                start += 1


def test_clouds_are_independent(source_conn, target_conn, source_admin_conn,
                                target_admin_conn):
    """The two clouds differ as two providers do: own keystone, own IDs,
    different flavors and external network names; the same public image
    bytes under different IDs."""
    src_token = source_conn.session.get_token()
    # a token of one cloud means nothing to the other
    assert target_conn.session.get_token() != src_token
    src_proj = source_conn.current_project_id
    assert target_admin_conn.identity.find_project(src_proj) is None

    src_flavors = {f.name for f in source_conn.compute.flavors()}
    dst_flavors = {f.name for f in target_conn.compute.flavors()}
    assert src_flavors == FLAVORS["source"] and dst_flavors == FLAVORS["target"]

    src_img = source_conn.image.find_image("cirros-fake", ignore_missing=False)
    dst_img = target_conn.image.find_image("cirros-fake", ignore_missing=False)
    assert src_img.id != dst_img.id
    assert src_img.visibility == dst_img.visibility == "public"
    assert src_img.hash_value == dst_img.hash_value

    assert source_conn.network.find_network("public").is_router_external
    assert target_conn.network.find_network("ext-net").is_router_external
    assert source_conn.network.find_network("ext-net") is None

    # quotas were raised for the member projects, and an admin can lower them
    limits = source_conn.compute.get_limits().absolute
    assert limits.instances >= 50
    source_admin_conn.set_compute_quotas(src_proj, instances=45)
    try:
        assert source_conn.compute.get_limits().absolute.instances == 45
    finally:
        source_admin_conn.set_compute_quotas(src_proj, instances=50)


def _certificate(common_name):
    """A self-signed certificate and its key, both PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def _ref_id(ref):
    return ref.rsplit("/", 1)[-1]


@pytest.mark.parametrize("cloud", ["source", "target"])
def test_load_balancer_and_secrets(cloud, fresh_project):
    conn = fresh_project(cloud).conn
    tag = f"smoke-lb-{os.getpid()}"
    roles = conn.session.auth.get_access(conn.session).role_names
    assert {"member", "load-balancer_member"} <= set(roles) and "admin" not in roles

    # Barbican: a secret's payload reads back; a certificate container
    secret = conn.key_manager.create_secret(name=f"{tag}-secret", payload="s3cret payload",
                                            payload_content_type="text/plain")
    assert conn.key_manager.get_secret(_ref_id(secret.secret_ref)).payload == "s3cret payload"
    cert_pem, key_pem = _certificate("www.example.org")
    refs = {}
    for part, pem in (("certificate", cert_pem), ("private_key", key_pem)):
        refs[part] = conn.key_manager.create_secret(
            name=f"{tag}-{part}", payload=pem, payload_content_type="text/plain").secret_ref
    container = conn.key_manager.create_container(
        name=f"{tag}-tls", type="certificate",
        secret_refs=[{"name": part, "secret_ref": ref} for part, ref in refs.items()])

    # a tenant network reachable from the external one (for the floating IP)
    ext = conn.network.find_network(EXT_NET[cloud], ignore_missing=False)
    net = conn.network.create_network(name=f"{tag}-net")
    subnet = conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.20.0.0/24")
    router = conn.network.create_router(name=f"{tag}-router",
                                        external_gateway_info={"network_id": ext.id})
    conn.network.add_interface_to_router(router, subnet_id=subnet.id)

    lbs = conn.load_balancer

    def settled():
        lb = lbs.wait_for_load_balancer(balancer.id, wait=120)
        assert lb.provisioning_status == "ACTIVE"
        return lb

    balancer = lbs.create_load_balancer(name=f"{tag}-lb", vip_subnet_id=subnet.id,
                                        vip_address="10.20.0.50")
    balancer = settled()
    # the VIP is a real port of the tenant's, made by Octavia
    assert balancer.vip_address == "10.20.0.50"
    vip = conn.network.get_port(balancer.vip_port_id)
    assert (vip.name, vip.device_owner, vip.device_id) == (
        f"octavia-lb-{balancer.id}", "Octavia", f"lb-{balancer.id}")
    assert vip.project_id == conn.current_project_id and not vip.is_admin_state_up
    assert vip.fixed_ips == [{"subnet_id": subnet.id, "ip_address": "10.20.0.50"}]
    fip = conn.network.create_ip(floating_network_id=ext.id, port_id=vip.id)
    assert conn.network.get_ip(fip.id).fixed_ip_address == "10.20.0.50"

    listener = lbs.create_listener(loadbalancer_id=balancer.id, name=f"{tag}-https",
                                   protocol="TERMINATED_HTTPS", protocol_port=443,
                                   default_tls_container_ref=container.container_ref)
    settled()
    pool = lbs.create_pool(listener_id=listener.id, protocol="HTTP",
                           lb_algorithm="ROUND_ROBIN", name=f"{tag}-pool")
    settled()
    member = lbs.create_member(pool, address="10.20.0.10", protocol_port=8080,
                               subnet_id=subnet.id)
    settled()
    monitor = lbs.create_health_monitor(pool_id=pool.id, type="HTTP", delay=5, timeout=3,
                                        max_retries=2)
    settled()
    policy = lbs.create_l7_policy(listener_id=listener.id, action="REDIRECT_TO_URL",
                                  redirect_url="https://example.org/")
    settled()
    rule = lbs.create_l7_rule(policy, type="PATH", compare_type="STARTS_WITH", value="/old")
    settled()
    listener = lbs.get_listener(listener.id)
    assert listener.default_tls_container_ref == container.container_ref
    for made in (listener, lbs.get_pool(pool.id), lbs.get_member(member.id, pool.id),
                 lbs.get_health_monitor(monitor.id), lbs.get_l7_policy(policy.id),
                 lbs.get_l7_rule(rule.id, policy.id)):
        assert made.provisioning_status == "ACTIVE", made

    # a cascade delete takes everything, the VIP port too
    conn.network.delete_ip(fip)
    lbs.delete_load_balancer(balancer.id, cascade=True)
    wait_for("load balancer delete",
             lambda: lbs.find_load_balancer(balancer.id),
             lambda lb: lb is None or lb.provisioning_status == "DELETED")
    assert conn.network.find_port(vip.id) is None


def _etag(data):
    return hashlib.md5(data, usedforsecurity=False).hexdigest()  # Swift's ETag is an MD5


@pytest.mark.parametrize("cloud", ["source", "target"])
def test_object_storage(cloud, fresh_project):
    import requests

    project = fresh_project(cloud)
    store = project.conn.object_store
    account = store.get_endpoint().rstrip("/")
    assert account.endswith(f"/v1/AUTH_{project.project_id}")
    name = f"smoke-{os.getpid()}"

    # a member creates a container with metadata: no ResellerAdmin, no admin
    store.create_container(name=name, metadata={"colour": "blue"})
    # Read as headers: the SDK's metadata of one resource held another's
    # (an object's of the test run before, in the same process).
    assert store.head(name).headers["X-Container-Meta-Colour"] == "blue"
    assert requests.get(f"{account}/{name}", timeout=30).status_code == 401

    body = os.urandom(100_000)
    store.upload_object(container=name, name="dir/object", data=body,
                        metadata={"origin": "smoke"})
    head = store.head(f"{name}/dir/object").headers
    assert head["Etag"] == _etag(body)
    assert head["X-Object-Meta-Origin"] == "smoke"
    assert store.download_object("dir/object", container=name) == body

    # a static large object over two segments reads as their concatenation
    segments = [os.urandom(1024 * 1024 + 1), os.urandom(1000)]
    manifest = []
    for i, data in enumerate(segments):
        store.upload_object(container=name, name=f"segments/{i}", data=data)
        manifest.append({"path": f"/{name}/segments/{i}",
                         "etag": _etag(data), "size_bytes": len(data)})
    put = store.put(f"{name}/large", params={"multipart-manifest": "put"},
                    data=json.dumps(manifest))
    assert put.status_code == 201, put.text
    large = store.get(f"{name}/large")
    assert large.headers["X-Static-Large-Object"] == "True"
    assert large.content == b"".join(segments)

    # the manifest goes with its segments, then the rest
    gone = store.delete(f"{name}/large", params={"multipart-manifest": "delete"},
                        headers={"Accept": "application/json"})
    assert gone.json()["Number Deleted"] == 3, gone.text
    store.delete_object("dir/object", container=name)
    assert [o.name for o in store.objects(name)] == []
    store.delete_container(name)
    assert name not in [c.name for c in store.containers()]

"""Fixtures for the functional tests, which run against real OpenStack services.

The clouds come from ``tools/localcloud/localcloud`` (see
tools/localcloud/README.rst): two independent clouds, ``source`` and
``target``.  Every test in this directory is marked ``functional``;
``pytest -m "not functional"`` deselects them all without touching a cloud.

Fixtures
--------
``localcloud`` (session)
    Runs ``localcloud up`` once per session (it reuses clouds that are already
    running, in a few seconds) and returns a :class:`LocalCloud` with
    ``clouds_yaml`` (path of the written clouds.yaml) and ``connect(name)``.
``source_conn`` / ``target_conn`` (session)
    openstacksdk ``Connection`` as the clouds' standing member users
    (entries ``source`` / ``target`` of clouds.yaml).  Shared by all tests:
    clean up what you create there, or better use ``fresh_project``.
``source_admin_conn`` / ``target_admin_conn`` (session)
    The same as the clouds' admin (``source-admin`` / ``target-admin``).
``fresh_project`` (function)
    A factory: ``fresh_project('source')`` (or ``'target'``) creates a new
    project with a new member user (roles ``member`` and
    ``load-balancer_member``, raised quotas) and
    returns a :class:`FreshProject` with ``.conn`` (Connection as that member
    user), ``.cloud_config`` (a dict to put under ``clouds:`` in a
    clouds.yaml for that user), ``.project_id``, ``.cloud`` and ``.admin``
    (the cloud's admin Connection).  When the test ends, every resource of
    the project (load balancers, Barbican secrets and containers, Swift
    containers and objects, servers,
    server groups, floating IPs, routers, ports, networks, security groups,
    volumes and their snapshots, images it owns, the user's keypairs) is
    deleted, then the user and the project.
``migration`` (function)
    A fresh ``source`` project, a fresh ``target`` project and ``env``, an
    environment whose clouds.yaml names them ``src`` and ``dst`` (see
    ``helpers.environment``).
"""
import concurrent.futures
import dataclasses
import importlib.util
import os
import pathlib
import secrets
import subprocess
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
LOCALCLOUD = REPO / "tools" / "localcloud" / "localcloud"
STATE = pathlib.Path(os.environ.get("DOWNPOUR_LOCALCLOUD_STATE",
                                    "/var/tmp/downpour-localcloud"))
HERE = pathlib.Path(__file__).resolve().parent


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "functional: needs the local clouds (tools/localcloud)")


def pytest_collection_modifyitems(config, items):
    # Everything in this directory needs the clouds, marked or not.
    for item in items:
        if HERE in pathlib.Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.functional)


def _provision_module():
    """tools/localcloud/provision.py (quota numbers shared with the clouds'
    own member projects); it imports nothing beyond openstacksdk."""
    path = REPO / "tools" / "localcloud" / "provision.py"
    spec = importlib.util.spec_from_file_location("localcloud_provision", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _connect(cloud_config):
    import openstack
    return openstack.connect(load_yaml_config=False, load_envvars=False,
                             **cloud_config)


@dataclasses.dataclass
class LocalCloud:
    clouds_yaml: pathlib.Path

    def cloud_config(self, name):
        """The clouds.yaml entry ``name`` as a dict."""
        import yaml
        with open(self.clouds_yaml) as f:
            clouds = yaml.safe_load(f)["clouds"]
        try:
            return clouds[name]
        except KeyError:
            raise KeyError(f"{name!r} is not in {self.clouds_yaml}") from None

    def connect(self, name):
        """openstacksdk Connection for a clouds.yaml entry (source, target,
        source-admin, target-admin)."""
        return _connect(self.cloud_config(name))


@pytest.fixture(scope="session")
def localcloud():
    started = time.monotonic()
    proc = subprocess.run([str(LOCALCLOUD), "up"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=3600)
    if proc.returncode != 0:
        pytest.fail(f"tools/localcloud/localcloud up failed (exit {proc.returncode}):\n"
                    f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}", pytrace=False)
    print(f"\nlocalcloud up: {time.monotonic() - started:.0f} s")
    return LocalCloud(STATE / "clouds.yaml")


@pytest.fixture(scope="session")
def source_conn(localcloud):
    return localcloud.connect("source")


@pytest.fixture(scope="session")
def target_conn(localcloud):
    return localcloud.connect("target")


@pytest.fixture(scope="session")
def source_admin_conn(localcloud):
    return localcloud.connect("source-admin")


@pytest.fixture(scope="session")
def target_admin_conn(localcloud):
    return localcloud.connect("target-admin")


@dataclasses.dataclass
class FreshProject:
    cloud: str
    project_id: str
    user_id: str
    cloud_config: dict
    conn: object
    admin: object


class Projects:
    """Fresh projects, each with a member user of its own (the roles of
    provision.TENANT_ROLES, raised quotas), made on demand; ``remove_all`` deletes
    everything in them (their address groups too), the users and the
    projects, then runs what ``after`` was given (an admin's network that
    their ports were on)."""

    def __init__(self, localcloud, prefix):
        self.localcloud = localcloud
        self.prefix = prefix
        self.made = []
        self.cleanups = []

    def make(self, cloud):
        admin = self.localcloud.connect(f"{cloud}-admin")
        name = f"{self.prefix}-{secrets.token_hex(4)}"
        project = admin.identity.create_project(name=name, domain_id="default")
        password = secrets.token_urlsafe(16)
        user = admin.identity.create_user(name=name, password=password, domain_id="default",
                                          default_project_id=project.id)
        made = [admin, project, user, None]  # the member's Connection comes last
        self.made.append(made)
        provision = _provision_module()
        # The roles the clouds' own member users have (member, and
        # load-balancer_member as real clouds give for Octavia).
        for role in provision.TENANT_ROLES:
            admin.identity.assign_project_role_to_user(
                project, user, admin.identity.find_role(role, ignore_missing=False))
        provision.raise_quotas(admin, project.id)
        base = self.localcloud.cloud_config(cloud)
        cloud_config = {
            "auth": {
                "auth_url": base["auth"]["auth_url"],
                "username": name,
                "password": password,
                "project_name": name,
                "user_domain_name": "Default",
                "project_domain_name": "Default",
            },
            "region_name": base["region_name"],
            "identity_api_version": 3,
            "interface": "public",
        }
        made[3] = _connect(cloud_config)
        return FreshProject(cloud, project.id, user.id, cloud_config, made[3], admin)

    def after(self, cleanup):
        self.cleanups.append(cleanup)

    @staticmethod
    def _remove(admin, project, user, conn):
        try:
            delete_project_resources(admin, project.id, user.id, member=conn)
            if conn is not None:
                # After the load balancers that use them.  Barbican shows a
                # project's secrets to that project only: as its member.
                delete_project_secrets(conn)
            for group in admin.network.address_groups(project_id=project.id):
                admin.network.delete_address_group(group, ignore_missing=True)
        finally:
            # Report, but still remove the project.
            admin.identity.delete_user(user, ignore_missing=True)
            admin.identity.delete_project(project, ignore_missing=True)

    def remove_all(self):
        errors = []
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            futures = {pool.submit(self._remove, *made): made[1].name
                       for made in self.made}
            for future, name in futures.items():
                try:
                    future.result()
                except Exception as exc:  # noqa: BLE001 - reported below
                    errors.append(f"{name}: {exc!r}")
        for cleanup in self.cleanups:
            try:
                cleanup()
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(repr(exc))
        if errors:
            pytest.fail("cleanup of fresh projects failed: " + "; ".join(errors),
                        pytrace=False)


@pytest.fixture
def fresh_project(localcloud, request):
    projects = Projects(localcloud, f"test-{request.node.name[:40]}")
    yield projects.make
    projects.remove_all()


@dataclasses.dataclass
class Migration:
    source: FreshProject
    target: FreshProject
    env: dict


@pytest.fixture
def migration(tmp_path, fresh_project):
    from tests.functional.helpers import environment
    source = fresh_project("source")
    target = fresh_project("target")
    return Migration(source, target, environment(
        tmp_path, {"src": source.cloud_config, "dst": target.cloud_config}))


def _wait_gone(finder, timeout=180):
    deadline = time.monotonic() + timeout
    while finder():
        if time.monotonic() > deadline:
            raise TimeoutError(f"still there after {timeout} s: {finder()}")
        time.sleep(1)


def delete_project_secrets(conn):
    """Delete the Barbican containers and secrets of ``conn``'s project."""
    keys = conn.key_manager
    # Listed whole before any is deleted: Barbican pages by offset, so
    # deleting while paging skips every other page.
    for container in list(keys.containers()):
        keys.delete_container(container.container_ref.rsplit("/", 1)[-1], ignore_missing=True)
    for secret in list(keys.secrets()):
        keys.delete_secret(secret.secret_ref.rsplit("/", 1)[-1], ignore_missing=True)


def _swift_listing(store, path, **params):
    """The whole listing of an account (``path`` "") or a container, page by
    page: Swift returns at most 10,000 names a request, and the next page
    starts after the last name seen (``marker``)."""
    entries = []
    while True:
        query = {"format": "json", **params}
        if entries:
            query["marker"] = entries[-1]["name"]
            if "version_id" in entries[-1]:  # a versions listing pages on both
                query["version_marker"] = entries[-1]["version_id"]
        page = _swift_ok(store.get(path, params=query))
        if page.status_code == 204 or not page.json():
            return entries
        entries += page.json()


def _swift_ok(response, missing_ok=False):
    if response.status_code >= 300 and not (missing_ok and response.status_code == 404):
        raise RuntimeError(f"Swift: {response.request.method} {response.request.url}: "
                           f"{response.status_code} {response.text[:200]}")
    return response


def delete_project_objects(conn):
    """Delete every container and object of ``conn``'s project, as that
    project's member: keystoneauth gives the admin's token the admin
    project's account only.  Each listing is read whole before anything in it
    is deleted, since deleting while paging by marker is safe only forwards."""
    from urllib.parse import quote
    if not conn.has_service("object-store"):  # clouds booted before Swift was added
        return
    store = conn.object_store
    names = [c["name"] for c in _swift_listing(store, "")]
    # Versioning off everywhere first: deleting an object of a container
    # with X-Versions-Location would bring its previous version back.
    versioned = set()
    for name in names:
        headers = _swift_ok(store.head(quote(name)), missing_ok=True).headers
        if "X-Versions-Location" in headers or "X-History-Location" in headers:
            _swift_ok(store.post(quote(name), headers={
                "X-Remove-Versions-Location": "x", "X-Remove-History-Location": "x"}))
        if "X-Versions-Enabled" in headers:
            _swift_ok(store.post(quote(name), headers={"X-Versions-Enabled": "false"}))
            versioned.add(name)
    for name in names:
        path = quote(name)
        # A container that has had object versioning keeps every version and
        # delete marker; each is deleted by its version-id.
        listing = _swift_listing(store, path, **({"versions": ""} if name in versioned else {}))
        for entry in listing:
            version = entry.get("version_id")
            _swift_ok(store.delete(f"{path}/{quote(entry['name'])}", params=(
                {"version-id": version} if version and version != "null" else {})),
                missing_ok=True)
        _swift_ok(store.delete(path), missing_ok=True)


def delete_load_balancers(admin, project_id):
    """Delete project ``project_id``'s load balancers with all they hold (and
    so their VIP ports), once none is busy (PENDING_*: Octavia refuses)."""
    lbs = admin.load_balancer

    def mine(busy_only=False):
        return [lb for lb in lbs.load_balancers(project_id=project_id)
                if lb.provisioning_status != "DELETED"
                and (not busy_only or lb.provisioning_status.startswith("PENDING"))]

    _wait_gone(lambda: mine(busy_only=True))
    for lb in mine():
        lbs.delete_load_balancer(lb, cascade=True, ignore_missing=True)
    _wait_gone(mine)


def delete_project_resources(admin, project_id, user_id=None, member=None):
    """Delete everything project ``project_id`` owns, as the cloud admin;
    with ``member`` (a Connection of a user of that project) its Swift
    containers and objects too, which only a user of the project can list."""
    if member is not None:
        delete_project_objects(member)
    compute, network, volume, image = admin.compute, admin.network, admin.block_storage, admin.image

    # First: a VIP port is the load balancer's, Neutron would delete it under it.
    delete_load_balancers(admin, project_id)

    servers = list(compute.servers(all_projects=True, project_id=project_id))
    for server in servers:
        compute.delete_server(server, ignore_missing=True)
    _wait_gone(lambda: list(compute.servers(all_projects=True, project_id=project_id)))
    for group in compute.server_groups(all_projects=True):
        if group.project_id == project_id:
            compute.delete_server_group(group, ignore_missing=True)

    for fip in network.ips(project_id=project_id):
        network.delete_ip(fip, ignore_missing=True)
    for router in network.routers(project_id=project_id):
        if router.routes:
            # Neutron keeps an interface a static route goes through.
            network.update_router(router, routes=[])
        for port in network.ports(device_id=router.id):
            if port.device_owner == "network:router_interface":
                network.remove_interface_from_router(router, port=port.id)
        if router.external_gateway_info:
            network.update_router(router, external_gateway_info={})
        network.delete_router(router, ignore_missing=True)
    for port in network.ports(project_id=project_id):
        network.delete_port(port, ignore_missing=True)
    for net in network.networks(project_id=project_id):
        network.delete_network(net, ignore_missing=True)
    for group in network.security_groups(project_id=project_id):
        network.delete_security_group(group, ignore_missing=True)

    for snap in volume.snapshots(all_projects=True, project_id=project_id):
        volume.delete_snapshot(snap, ignore_missing=True)
    _wait_gone(lambda: list(volume.snapshots(all_projects=True, project_id=project_id)))
    for vol in volume.volumes(all_projects=True, project_id=project_id):
        if vol.status in ("in-use", "attaching", "detaching", "error_deleting"):
            volume.reset_volume_status(vol, status="available", attach_status="detached",
                                       migration_status=None)
        volume.delete_volume(vol, ignore_missing=True)
    _wait_gone(lambda: list(volume.volumes(all_projects=True, project_id=project_id)))

    for img in image.images(owner=project_id):
        if img.is_protected:
            image.update_image(img, is_protected=False)
        image.delete_image(img, ignore_missing=True)

    if user_id:
        for kp in compute.keypairs(user_id=user_id):
            compute.delete_keypair(kp, ignore_missing=True, user_id=user_id)

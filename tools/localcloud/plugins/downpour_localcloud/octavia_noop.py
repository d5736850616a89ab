"""Octavia's no-op drivers, with a real Neutron port as the VIP.

Upstream's ``network_noop_driver`` makes no port at all: a load balancer's
``vip_port_id`` is a random UUID and its address 198.51.100.1 unless given,
so nothing can be attached to the VIP (a floating IP) and a tool that reads
the VIP port from Neutron finds nothing.  ``VipPortNetworkDriver`` keeps the
no-op behaviour for everything on the amphora's side (there is no amphora)
but does what the real driver (``allowed_address_pairs_driver``) does for
the VIP:

* ``allocate_vip`` creates port ``octavia-lb-<lb id>`` in the load
  balancer's project on the VIP network/subnet, with the requested address
  if any, ``device_owner`` ``Octavia``, ``device_id`` ``lb-<lb id>``,
  admin state down (or takes the tenant's own port when one is given);
* ``deallocate_vip`` deletes that port, and only a port Octavia made;
* networks, subnets and ports are read from Neutron, as the tenant when
  the API validates a request (so a foreign or unknown subnet is refused),
  as the service user otherwise.  Amphora-side ports exist only in the
  no-op state, so a lookup from the worker that Neutron does not know
  falls back to the no-op answer.

Neutron is reached with Octavia's own client ([neutron], else
[service_auth]).  The real driver cannot be used with the no-op compute
driver (plugging the amphora's ports needs a Nova server).

Both upstream no-op managers keep state in one hard-coded SQLite file,
/tmp/octavia-network-noop.db, which every Octavia on the machine would
share; here it is ``[downpour] noop_db``, one per cloud.  The compute
driver is the upstream no-op one for that reason only.

Registered as ``downpour_vip_port`` (octavia.network.drivers) and
``downpour_compute_noop`` (octavia.compute.drivers) by the entry_points.txt
of the ``downpour_localcloud-0.dist-info`` folder.
"""
from openstack import exceptions as os_exceptions
from oslo_config import cfg
from oslo_log import log as logging

from octavia.common import clients
from octavia.common import constants
from octavia.common import data_models
from octavia.compute.drivers.noop_driver import driver as noop_compute
from octavia.network import base
from octavia.network.drivers.neutron import utils as neutron_utils
from octavia.network.drivers.noop_driver import driver as noop_network

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
CONF.register_opts([cfg.StrOpt(
    "noop_db", default="sqlite:////tmp/octavia-network-noop.db",
    help="SQLAlchemy URL of the state the no-op compute and network "
         "drivers share")], group="downpour")

_UPSTREAM_NOOP_DB = "octavia-network-noop.db"


def _redirect_noop_db(module):
    # The managers call create_engine() with the hard-coded URL in their
    # __init__; the module's name is replaced once, at import, so that every
    # manager built later (the worker builds them in several threads) uses
    # this cloud's file.
    create_engine = module.create_engine

    def per_cloud(url, *args, **kwargs):
        if _UPSTREAM_NOOP_DB in str(url):
            url = CONF.downpour.noop_db
        return create_engine(url, *args, **kwargs)

    module.create_engine = per_cloud


_redirect_noop_db(noop_compute)
_redirect_noop_db(noop_network)

_NOT_FOUND = {"network": base.NetworkNotFound, "subnet": base.SubnetNotFound,
              "port": base.PortNotFound}


class NoopComputeDriver(noop_compute.NoopComputeDriver):
    """Upstream's no-op compute driver, its state in [downpour] noop_db."""


class VipPortNetworkDriver(noop_network.NoopNetworkDriver):

    @property
    def _network(self):
        return clients.NeutronAuth.get_neutron_client().network

    def _lookup(self, kind, resource_id, context, fallback):
        convert = getattr(neutron_utils, f"convert_{kind}_to_model")
        if resource_id is None:
            return fallback(resource_id)
        if context is not None and not CONF.networking.allow_invisible_resource_usage:
            # The API validates a tenant's request: look as the tenant.
            conn = clients.NeutronAuth.get_user_neutron_client(context)
            try:
                return convert(getattr(conn.network, f"get_{kind}")(resource_id))
            except os_exceptions.ResourceNotFound as exc:
                raise _NOT_FOUND[kind](f"{kind} {resource_id} not found") from exc
            finally:
                conn.close()
        try:
            return convert(getattr(self._network, f"get_{kind}")(resource_id))
        except os_exceptions.ResourceNotFound:
            # An amphora-side port or network only the no-op state knows.
            return fallback(resource_id)

    def get_network(self, network_id, context=None):
        return self._lookup("network", network_id, context, super().get_network)

    def get_subnet(self, subnet_id, context=None):
        return self._lookup("subnet", subnet_id, context, super().get_subnet)

    def get_port(self, port_id, context=None):
        return self._lookup("port", port_id, context, super().get_port)

    @staticmethod
    def _vips(port, load_balancer, octavia_owned):
        """The port as the load balancer's VIP (on the requested subnet, else
        its first address) and additional VIPs (its other addresses)."""
        wanted = load_balancer.vip.subnet_id if load_balancer.vip else None
        ips = list(port.fixed_ips)
        first = next((ip for ip in ips if ip.subnet_id == wanted), ips[0] if ips else None)
        vip = data_models.Vip(
            load_balancer_id=load_balancer.id, load_balancer=load_balancer,
            port_id=port.id, network_id=port.network_id,
            ip_address=first.ip_address if first else None,
            subnet_id=first.subnet_id if first else None,
            octavia_owned=octavia_owned,
            sg_ids=load_balancer.vip.sg_ids if load_balancer.vip else [])
        additional = [data_models.AdditionalVip(
            load_balancer_id=load_balancer.id, load_balancer=load_balancer,
            port_id=port.id, network_id=port.network_id,
            ip_address=ip.ip_address, subnet_id=ip.subnet_id)
            for ip in ips if ip is not first]
        return vip, additional

    def allocate_vip(self, loadbalancer):
        lb = loadbalancer
        vip = lb.vip
        if vip.port_id:
            # The tenant's own port, or ours on a re-run (failover): use it.
            try:
                port = self._network.get_port(vip.port_id)
            except os_exceptions.ResourceNotFound:
                if not vip.octavia_owned:
                    raise base.PortNotFound(f"VIP port {vip.port_id} not found") from None
                LOG.warning("VIP port %s of %s is gone; making a new one", vip.port_id, lb.id)
            else:
                owned = port.device_owner == constants.OCTAVIA_OWNER
                return self._vips(neutron_utils.convert_port_to_model(port), lb, owned)

        fixed_ips = []
        first = {k: v for k, v in (("subnet_id", vip.subnet_id),
                                   ("ip_address", vip.ip_address)) if v}
        if first:
            fixed_ips.append(first)
        for add in lb.additional_vips or ():
            ip = {k: v for k, v in (("subnet_id", add.subnet_id),
                                    ("ip_address", add.ip_address)) if v}
            if ip:
                fixed_ips.append(ip)
        attrs = {
            "name": f"octavia-lb-{lb.id}",
            "network_id": vip.network_id,
            "project_id": lb.project_id,
            "device_id": f"lb-{lb.id}",
            "device_owner": constants.OCTAVIA_OWNER,
            # As the real driver: the VIP port itself never carries traffic
            # (the amphora's port does, with the VIP as allowed address).
            "admin_state_up": False,
        }
        if fixed_ips:
            attrs["fixed_ips"] = fixed_ips
        if vip.sg_ids:
            attrs["security_group_ids"] = vip.sg_ids
        try:
            port = self._network.create_port(**attrs)
        except os_exceptions.ConflictException as exc:
            raise base.VIPInUseException(
                f"cannot make the VIP port on network {vip.network_id}: {exc}",
                orig_msg=getattr(exc, "details", None), orig_code=exc.status_code) from exc
        except os_exceptions.SDKException as exc:
            raise base.AllocateVIPException(
                f"cannot make the VIP port on network {vip.network_id}: {exc}",
                orig_msg=getattr(exc, "details", None),
                orig_code=getattr(exc, "status_code", None)) from exc
        LOG.info("VIP port %s (%s) made for load balancer %s", port.id,
                 [ip["ip_address"] for ip in port.fixed_ips], lb.id)
        return self._vips(neutron_utils.convert_port_to_model(port), lb, True)

    def deallocate_vip(self, vip):
        super().deallocate_vip(vip)
        try:
            port = self._network.get_port(vip.port_id)
        except os_exceptions.ResourceNotFound:
            return
        # Only the port this driver made for this load balancer; a port the
        # tenant brought stays.
        if (port.device_owner != constants.OCTAVIA_OWNER
                or port.device_id != f"lb-{vip.load_balancer_id}"):
            LOG.info("VIP port %s was not made by Octavia; kept", vip.port_id)
            return
        try:
            self._network.delete_port(port.id, ignore_missing=True)
        except os_exceptions.SDKException as exc:
            raise base.DeallocateVIPException(
                f"cannot delete VIP port {port.id}: {exc}") from exc
        LOG.info("VIP port %s deleted", port.id)

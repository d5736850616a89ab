"""Servers: flavor, image (or a capture of the disk), keypair, ports with
their fixed IPs, security groups, availability zone and attached volumes
(with whether Nova deletes each with the server), all by reference.
"""

import logging

from downpour import cloud
from downpour.errors import ResolveError
from downpour.resources.availability_zone import AvailabilityZone
from downpour.resources.base import Record, ResourceType, checked_uuid
from downpour.resources.flavor import Flavor
from downpour.resources.image import Image
from downpour.resources.keypair import Keypair
from downpour.resources.network import Network
from downpour.resources.port import Port
from downpour.resources.router import Router
from downpour.resources.server_group import ServerGroup
from downpour.resources.server_snapshot import ServerSnapshot
from downpour.resources.volume import Volume

LOG = logging.getLogger(__name__)


class Server(ResourceType):
    type = 'server'

    @classmethod
    def list(cls, conn):
        return conn.compute.servers(details=True)

    @classmethod
    def query_restriction(cls, conn, filters):
        if not (filters.server_flavors or filters.server_statuses):
            return None
        statuses = {s.upper() for s in filters.server_statuses}
        wanted, flavor_names = cls._flavors(conn, filters.server_flavors)

        def keep(server):
            if statuses and (server.status or '').upper() not in statuses:
                return False
            if filters.server_flavors:
                flavor = server.flavor
                name = getattr(flavor, 'name', None) or getattr(
                    flavor, 'original_name', None)
                flavor_id = getattr(flavor, 'id', None)
                if not (name in flavor_names or name in wanted
                        or (flavor_id and flavor_id in wanted)):
                    return False
            return True
        return keep

    @staticmethod
    def _flavors(conn, asked_for):
        """The flavor names and IDs that ``asked_for`` (names or IDs)
        stand for."""
        wanted = set(asked_for)
        flavor_names = set()
        if not wanted:
            return wanted, flavor_names
        # Servers carry their flavor's name (compute API 2.47 and later) or
        # its ID (earlier): list the flavors once to map one to the other.
        known = set()
        with cloud.cloud_errors('listing flavors', conn=conn):
            for flavor in conn.compute.flavors():
                asked = {flavor.id, flavor.name} & set(asked_for)
                if asked:
                    known |= asked
                    flavor_names.add(flavor.name)
                    wanted.add(flavor.id)
        for flavor in asked_for:
            if flavor not in known:
                LOG.warning('no flavor is named or has the ID %r', flavor)
        return wanted, flavor_names

    @classmethod
    def build(cls, exporter, obj, entry=None):
        checked_uuid(obj.id, 'server %r' % obj.name)
        wants_state = entry.wants_state if entry is not None else True
        record = Record(
            type=cls.type, old_id=obj.id, name=obj.name or '',
            params={'metadata': {k: v for k, v in (obj.metadata or {}).items()
                                 if isinstance(v, str)},
                    'description': getattr(obj, 'description', None) or '',
                    # Shown since compute API 2.26.
                    'tags': list(getattr(obj, 'tags', None) or []),
                    'config_drive': bool(obj.has_config_drive)},
            info={'status': obj.status, 'save_state': wants_state})
        exporter.add(record)
        what = exporter.describe(record, entry)

        record.refs['flavor'] = Flavor.for_server(exporter, obj)
        group = ServerGroup.for_server(exporter, obj)
        if group is not None:
            record.refs['server_group'] = group
        zone = AvailabilityZone.of(exporter, 'compute',
                                   obj.availability_zone)
        if zone is not None:
            record.refs['availability_zone'] = zone
        attached = cls._attached(exporter, obj)
        image_id = (obj.image or {}).get('id') if obj.image else None
        root = None
        if not image_id:
            root = cls._boot_volume(exporter, record, obj, attached, what)
        else:
            cls._image(exporter, record, obj, image_id, wants_state, what)
        cls._keypair(exporter, record, obj, entry, what)

        networks = Network.by_id(exporter)
        ports, group_records, subnets = [], [], []
        for port in Port.of_server(exporter, obj):
            network = networks.get(port.network_id)
            if network is None:
                raise ResolveError('%s: port %s is on network %s, which is '
                                   'not visible' % (what, port.id,
                                                    port.network_id))
            net_record = exporter.record(Network, network)
            port_groups = Port.groups(exporter, port, what)
            group_records += [g for g in port_groups
                              if g not in group_records]
            port_record = exporter.find(Port.type, port.id) or Port.build(
                exporter, port, network=net_record, groups=port_groups)
            subnets.extend(ip['subnet']
                           for ip in port_record.refs['fixed_ips'])
            ports.append(port_record)
        record.refs['ports'] = ports
        # Nova refuses a network without a subnet: every subnet of the
        # server's networks comes before it, routers or not.
        nets = [port.refs['network'] for port in ports]
        record.refs['subnets'] = [
            r for r in exporter.records_of('subnet')
            if any(r.refs.get('network') is net for net in nets)]
        record.refs['security_groups'] = group_records
        record.refs['routers'] = Router.for_subnets(exporter, subnets)

        volumes = []
        for volume in attached:
            if volume is root:
                continue
            volume_record = exporter.record(Volume, volume,
                                            wants_state=wants_state)
            if wants_state:
                Volume.want_contents(volume_record, volume)
            volumes.append(volume_record)
        record.refs['volumes'] = volumes
        record.refs['delete_on_termination'] = cls._deleted_with(
            exporter, obj, record, what)
        # Nova shows user_data to admins only: a tenant cannot know whether
        # a server has any, so every server says so.
        exporter.warn(
            '%s: its user_data (if it has any) is shown only to admins and '
            'is not carried; to give the new server user data, set '
            'user_data on its item in playbook.yml' % what)
        if exporter.with_load_balancers:
            # Asked for: a load balancer brings every server of its pools,
            # which a server alone does not need.
            exporter.home('load_balancer').for_server(exporter, obj)
        return record

    @classmethod
    def _deleted_with(cls, exporter, obj, record, what):
        """The server's volumes (root included) that Nova deletes with it,
        as the source says: delete_on_termination, shown since compute
        API 2.3."""
        # openstacksdk gives each as a dict with every key, None if unsaid.
        shown = [v for v in obj.attached_volumes or [] if isinstance(v, dict)]
        if any(v.get('delete_on_termination') is None for v in shown):
            exporter.warn(
                '%s: the source does not say whether its volumes are deleted '
                'with it (compute API older than 2.3); in the target none is'
                % what)
        doomed = {v.get('id') for v in shown
                  if v.get('delete_on_termination') is True}
        mine = list(record.refs['volumes'])
        if 'boot_volume' in record.refs:
            mine.insert(0, record.refs['boot_volume'])
        return [volume for volume in mine if volume.old_id in doomed]

    @classmethod
    def _attached(cls, exporter, obj):
        """The server's volumes, in device order."""
        attached = []
        for volume in Volume.all(exporter):
            for attachment in volume.attachments or []:
                if attachment.get('server_id') == obj.id:
                    attached.append((str(attachment.get('device') or ''),
                                     volume))
        # /dev/vdz comes before /dev/vdaa: shorter names first.
        return [volume for _device, volume in
                sorted(attached, key=lambda a: (len(a[0]), a[0]))]

    @classmethod
    def _image(cls, exporter, record, obj, image_id, wants_state, what):
        source_image = Image.by_id(exporter).get(image_id)
        if source_image is None:
            # Deleted (or no longer shared): its bytes live on only in the
            # server's disk, so that is captured, whatever save_state says.
            exporter.warn(
                '%s was booted from image %s, which no longer exists (or is '
                'not visible); its disk is captured instead and the new '
                'server boots from that capture' % (what, image_id))
            wants_state = True
        if wants_state:
            flavor = record.refs.get('flavor')
            record.refs['image'] = ServerSnapshot.for_server(
                exporter, obj, source_image,
                disk_gib=flavor.params.get('disk') if flavor else 0)
        else:
            record.refs['image'] = exporter.record(Image, source_image)

    @classmethod
    def _boot_volume(cls, exporter, record, obj, attached, what):
        """Booted from a volume: the root volume is copied with its bytes
        and the new server boots from the copy."""
        root_device = getattr(obj, 'root_device_name', None)
        root = next((v for v in attached for a in v.attachments or []
                     if a.get('server_id') == obj.id
                     and a.get('device') == root_device), None)
        if root is None and attached:
            root = attached[0]
        if root is None:
            raise ResolveError('%s boots from a volume that is not visible; '
                               'downpour cannot export it' % what)
        exporter.warn(
            '%s boots from volume %r (%s): the volume is copied with its '
            'bytes and the new server boots from the copy'
            % (what, root.name, root.id))
        volume_record = exporter.record(Volume, root, wants_state=True)
        Volume.want_contents(volume_record, root)
        volume_record.params['is_bootable'] = True
        record.refs['boot_volume'] = volume_record
        return root

    @classmethod
    def _keypair(cls, exporter, record, obj, entry, what):
        if entry and entry.key_name:
            key_name = entry.key_name
        else:
            key_name = obj.key_name
        record.params['key_name'] = key_name
        if not key_name:
            return
        keypair = next((k for k in Keypair.all(exporter)
                        if k.name == key_name), None)
        if keypair is not None:
            record.refs['keypair'] = exporter.record(Keypair, keypair)
        elif not (entry and entry.key_name):
            # Keypairs belong to a user: another user's key is not
            # readable.  Naming it would make the target refuse the server.
            record.params['key_name'] = None
            exporter.warn(
                '%s: its keypair %r is not visible to you (it belongs to '
                'another user); the new server boots without a keypair '
                '(a captured disk keeps its authorized keys); set key_name '
                'on its entry to boot it with one of yours'
                % (what, key_name))

"""Servers: flavor, image (or a capture of the disk), keypair, ports with
their fixed IPs, security groups and attached volumes, all by reference.
"""

from downpour.errors import ResolveError
from downpour.resources.base import Record, ResourceType, checked_uuid
from downpour.resources.flavor import Flavor
from downpour.resources.image import Image, ServerSnapshot
from downpour.resources.keypair import Keypair
from downpour.resources.network import Network, Port
from downpour.resources.router import Router
from downpour.resources.security_group import SecurityGroup
from downpour.resources.volume import Volume


class Server(ResourceType):
    type = 'server'
    section = 'servers'
    csv_type = 'server'
    result_id = 'server.id'
    sdk_service = 'compute'
    sdk_type = 'server'
    info_module = 'openstack.cloud.server_info'
    info_key = 'servers'

    @classmethod
    def list(cls, conn):
        return conn.compute.servers(details=True)

    @classmethod
    def build(cls, exporter, obj, entry=None):
        checked_uuid(obj.id, 'server %r' % obj.name)
        wants_state = entry.wants_state if entry is not None else True
        record = Record(
            type=cls.type, old_id=obj.id, name=obj.name or '',
            params={'metadata': {k: v for k, v in (obj.metadata or {}).items()
                                 if isinstance(v, str)},
                    'description': getattr(obj, 'description', None) or '',
                    'config_drive': bool(obj.has_config_drive)},
            info={'status': obj.status, 'save_state': wants_state})
        exporter.add(record)
        what = exporter.describe(record, entry)

        image_id = (obj.image or {}).get('id') if obj.image else None
        if not image_id:
            raise ResolveError(
                '%s boots from a volume, which downpour cannot export yet'
                % what)
        record.refs['flavor'] = Flavor.for_server(exporter, obj)

        source_image = Image.by_id(exporter).get(image_id)
        if wants_state:
            record.refs['image'] = ServerSnapshot.for_server(
                exporter, obj, source_image)
        elif source_image is not None:
            record.refs['image'] = exporter.record(Image, source_image)
        else:
            raise ResolveError(
                '%s was booted from image %s, which is no longer visible; '
                'export it with save_state: true' % (what, image_id))

        key_name = entry.key_name if entry and entry.key_name else obj.key_name
        record.params['key_name'] = key_name
        if key_name:
            keypair = next((k for k in Keypair.all(exporter)
                            if k.name == key_name), None)
            if keypair is not None:
                record.refs['keypair'] = exporter.record(Keypair, keypair)
            elif not (entry and entry.key_name):
                exporter.warn('%s: its keypair %r is not in the source; the '
                              'target must have it' % (what, key_name))

        networks = Network.by_id(exporter)
        groups = SecurityGroup.by_id(exporter)
        nics, group_records, subnets = [], [], []
        for port in Port.of_device(exporter, obj.id):
            network = networks.get(port.network_id)
            if network is None:
                raise ResolveError('%s: port %s is on network %s, which is '
                                   'not visible' % (what, port.id,
                                                    port.network_id))
            net_record = exporter.record(Network, network)
            nic = {'network': net_record, 'fixed_ip': None}
            if net_record.type == Network.type:
                for ip in port.fixed_ips or []:
                    subnet_record = exporter.find('subnet', ip['subnet_id'])
                    if subnet_record is not None:
                        subnets.append(subnet_record)
                        if nic['fixed_ip'] is None and ':' not in ip[
                                'ip_address']:
                            nic['fixed_ip'] = ip['ip_address']
            nics.append(nic)
            for group_id in port.security_group_ids or []:
                group = groups.get(group_id)
                if group is None:
                    continue
                group_record = exporter.record(SecurityGroup, group)
                if group_record not in group_records:
                    group_records.append(group_record)
        record.refs['nics'] = nics
        # Nova refuses a network without a subnet: every subnet of the
        # server's networks comes before it, routers or not.
        record.refs['subnets'] = [
            r for r in exporter.records_of('subnet')
            if any(r.refs.get('network') is nic['network'] for nic in nics)]
        record.refs['security_groups'] = group_records
        record.refs['routers'] = Router.for_subnets(exporter, subnets)

        attached = []
        for volume in Volume.all(exporter):
            for attachment in volume.attachments or []:
                if attachment.get('server_id') == obj.id:
                    attached.append((attachment.get('device') or '', volume))
        volumes = []
        for _device, volume in sorted(attached, key=lambda a: a[0]):
            volume_record = exporter.record(Volume, volume,
                                            wants_state=wants_state)
            if wants_state:
                Volume.want_contents(volume_record, volume)
            volumes.append(volume_record)
        record.refs['volumes'] = volumes
        return record

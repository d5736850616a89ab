"""Servers, on their ports, from their image or root volume, then given
their volumes."""

import base64

from .kind import WAIT_SERVER, WAIT_VOLUME, Kind, tag_change


def _supports(conn, version):
    # Imported here, as OpenStackModule imports openstacksdk: without it
    # the module fails with the collection's message.
    from openstack import utils
    return utils.supports_microversion(conn.compute, version)


class Servers(Kind):
    """Servers, on their ports, booted from their image (or capture) or
    from their root volume, then given their volumes in order."""

    BUSY = ('BUILD', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE', 'REBOOT',
            'HARD_REBOOT')
    # The ports: which are on the server.
    lists = ('servers', 'ports')

    @staticmethod
    def fetch(conn):
        return conn.compute.servers()

    def cost(self, item, made, cost, blob_size):
        flavor = self.imp.target(item.get('flavor')) if made else None
        if flavor is not None:
            cost['cores'] += int(getattr(flavor, 'vcpus', 0) or 0)
            cost['ram'] += int(getattr(flavor, 'ram', 0) or 0)

    def unusable(self, item, obj):
        return 'is ERROR' if obj.status == 'ERROR' else None

    def corrections(self, item, obj):
        change = {'name': item['name']} if obj.name != item['name'] else {}
        if (obj.description or '') != (item.get('description') or ''):
            change['description'] = item.get('description') or ''
        change.update(tag_change(item, obj))
        return change

    def correct(self, item, obj, change):
        change = dict(change)
        tags = change.pop('tags', None)
        if change:
            self.conn.compute.update_server(obj, **change)
        if tags is not None:
            obj.set_tags(self.conn.compute, tags)

    def _tags_at_boot(self):
        # Nova takes tags in the create request from API 2.52 on.
        return _supports(self.conn, '2.52')

    def _deletion_later(self):
        """Whether Nova changes a volume's delete_on_termination on a
        server it has (compute API 2.85), whatever the server's state."""
        return _supports(self.conn, '2.85')

    @staticmethod
    def _doomed_with(obj):
        """The volumes Nova would delete with ``obj``; not shown (an API
        before 2.3) counts as doomed."""
        return [v.get('id') for v in obj.attached_volumes or []
                if v.get('delete_on_termination') is not False]

    def irreplaceable(self, item, obj):
        doomed = self._doomed_with(obj)
        if not doomed or self._deletion_later():
            return None
        return ('deleting it would delete volume(s) %s with it (Nova\'s '
                'delete_on_termination), which this Nova cannot turn off '
                '(compute API 2.85): recover the server (a hard reboot, or '
                'an admin resetting its state), or delete it yourself if '
                'those volumes may go, and run the import again' %
                ', '.join(doomed))

    def kept_stale(self, item, obj):
        return self.irreplaceable(item, obj)

    def discard(self, obj):
        """Delete our server (in ERROR, or made from an older capture),
        keeping every volume on it: the server made again in its place is
        made on the same ones (or on those that replaced them)."""
        for volume_id in self._doomed_with(obj):
            self.conn.compute.update_volume_attachment(
                obj, volume_id, delete_on_termination=False)
        # Read before the wait, which fetches ``obj`` again: a server
        # being deleted may show its volumes no more.
        volumes = [v.get('id') for v in obj.attached_volumes or []]
        self.conn.compute.delete_server(obj)
        self.conn.compute.wait_for_delete(obj, wait=WAIT_SERVER)
        for volume_id in volumes:
            self._release(obj, volume_id)

    def _release(self, server, volume_id):
        """Wait until ``volume_id``, on the deleted ``server``, is free.
        A Nova that does not send Cinder its service token cannot end its
        attachments (Cinder refuses it: bug 2004555) and leaves them
        behind; once Nova no longer knows the server, Cinder lets the
        project delete them."""
        volume = self.conn.block_storage.find_volume(volume_id)
        if volume is None:
            return
        others = False
        for attachment in volume.attachments or []:
            if attachment.get('server_id') != server.id:
                others = True
            elif attachment.get('attachment_id'):
                self.conn.block_storage.delete_attachment(
                    attachment['attachment_id'], ignore_missing=True)
        if not others:
            self.conn.block_storage.wait_for_status(
                volume, 'available', failures=['error'], interval=2,
                wait=WAIT_VOLUME)

    def create(self, item):
        attrs = {'name': item['name'],
                 'flavor_id': self.resolve(item, item['flavor'], 'flavor'),
                 'metadata': dict(item.get('metadata') or {}),
                 'has_config_drive': bool(item.get('config_drive'))}
        ports = [self.resolve(item, port, 'port')
                 for port in item.get('ports') or []]
        attrs['networks'] = [{'port': port} for port in ports] or 'none'
        later = self._deletion_later()
        if item.get('boot_volume'):
            attrs['block_device_mapping'] = [{
                'boot_index': 0, 'source_type': 'volume',
                'destination_type': 'volume',
                # Nova deletes such a volume as soon as a build fails, and
                # with a server in ERROR: set once the server is ACTIVE,
                # where Nova can change it.  An older Nova takes it now or
                # never.
                'delete_on_termination': not later and self._doomed(
                    item, item['boot_volume']),
                'uuid': self.resolve(item, item['boot_volume'], 'volume')}]
        else:
            attrs['image_id'] = self.resolve(item, item['image'], 'image')
        if item.get('description'):
            attrs['description'] = item['description']
        if item.get('key_name'):
            attrs['key_name'] = item['key_name']
        if item.get('server_group'):
            attrs['scheduler_hints'] = {'group': self.resolve(
                item, item['server_group'], 'server group')}
        tags = list(item.get('tags') or [])
        if tags and self._tags_at_boot():
            attrs['tags'] = tags
            tags = []
        if item.get('availability_zone'):
            zone = self.resolve(item, item['availability_zone'],
                                'availability zone')
            if zone:  # '': the target's default, none asked for
                attrs['availability_zone'] = zone
        if item.get('user_data'):
            # Nova takes it base64-encoded; the playbook holds the text.
            attrs['user_data'] = base64.b64encode(
                str(item['user_data']).encode('utf-8')).decode('ascii')
        server = self.conn.compute.create_server(**attrs)
        self.imp.made(item, server.id)
        server = self._attach(item, server)
        if later:
            self._set_deletion(server, self._wrong_deletion(item, server))
        if tags:
            # An older Nova: once the server is ACTIVE (a building one
            # refuses tags).
            server.set_tags(self.conn.compute, tags)
        return server

    def _attach(self, item, server):
        # Just made (its status not yet known) or busy: wait for it.  One
        # that was shut off since is given its volumes as it is.
        if not server.status or server.status in self.BUSY:
            server = self.conn.compute.wait_for_server(
                server, status='ACTIVE', failures=['ERROR'], interval=2,
                wait=WAIT_SERVER)
        attached = {v['id'] for v in server.attached_volumes or []}
        for key in item.get('volumes') or []:
            volume_id = self.resolve(item, key, 'volume')
            if volume_id in attached:
                continue
            extra = {}
            if self._doomed(item, key):
                # Compute API 2.79 and later; false is the default anyway.
                extra['delete_on_termination'] = True
            self.conn.compute.create_volume_attachment(
                server, volume=volume_id, **extra)
            self.conn.block_storage.wait_for_status(
                self.conn.block_storage.get_volume(volume_id), 'in-use',
                failures=['error'], interval=2, wait=WAIT_VOLUME)
            self.imp.changed = True
        return server

    def _ports(self, item, obj):
        """Put back on our server the exported ports it lacks: a port of
        ours made again since (the target lost it) is not on it.  A server
        is complete only with every one."""
        listed = {p.id: p for p in self.imp.listed('ports')}
        for key in item.get('ports') or []:
            port_id = self.imp.ids.get(key)
            port = listed.get(port_id)
            if port is not None and port.device_id == obj.id:
                continue
            # Made again in this run, or (the look) to be: not on it yet.
            if self.imp.wait(item):
                return
            self.conn.compute.create_server_interface(
                obj, port_id=self.resolve(item, key, 'port'))
            self.imp.changed = True

    @staticmethod
    def _doomed(item, key):
        """Whether Nova deletes volume ``key`` with the server."""
        return key in (item.get('delete_on_termination') or [])

    def _wrong_deletion(self, item, obj):
        """Our server's volumes whose delete_on_termination is not the
        export's, by target ID: the value each should have."""
        keys = list(item.get('volumes') or [])
        if item.get('boot_volume'):
            keys.insert(0, item['boot_volume'])
        shown = {v.get('id'): v.get('delete_on_termination')
                 for v in obj.attached_volumes or []}
        wrong = {}
        for key in keys:
            volume_id = self.imp.ids.get(key)
            if volume_id in shown and shown[volume_id] is not None and \
                    bool(shown[volume_id]) != self._doomed(item, key):
                wrong[volume_id] = self._doomed(item, key)
        return wrong

    def after_create(self, item, obj):
        pass  # create attached the volumes

    def complete(self, item, obj, ours):
        if not ours:
            return
        self._ports(item, obj)
        attached = {v['id'] for v in obj.attached_volumes or []}
        wanted = [self.imp.ids.get(key) for key in item.get('volumes') or []]
        if obj.status in self.BUSY or any(
                v not in attached for v in wanted):
            if not self.imp.wait(item):
                obj = self._attach(item, obj)
            else:
                return
        wrong = self._wrong_deletion(item, obj)
        if wrong and not self.imp.wait(item):
            self._set_deletion(obj, wrong)

    def _set_deletion(self, obj, wrong):
        for volume_id, doomed in wrong.items():
            # Compute API 2.85 and later.
            self.conn.compute.update_volume_attachment(
                obj, volume_id, delete_on_termination=doomed)
            self.imp.changed = True

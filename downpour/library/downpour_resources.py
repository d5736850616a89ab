#!/usr/bin/python
# Licensed under the Apache License, Version 2.0.
#
# Shipped by ``downpour export`` in OUTPUT_DIR/library/, where Ansible finds
# it beside playbook.yml with nothing to install.  One module process, one
# login and one list call per resource type do the work that one process
# per resource did before: a process costs about a second before it makes
# its first request (doc/source/performance.rst).

DOCUMENTATION = r'''
---
module: downpour_resources
short_description: Create in the target what downpour exported, in one session
description:
  - Takes the keypairs, networks, subnets, routers, security groups (with
    their rules) and images that C(downpour export) wrote into the
    playbook, lists each of their types once in the target project, and
    creates or corrects only what is missing or different.
  - Flavors and the external (and shared) networks of the source are not
    created but found (see I(flavor_map) and I(network_map)); those the
    target lacks are returned in C(missing).
  - A resource is the one of the target whose ID uuids.csv recorded for its
    old ID, else the only one of its name (when no other exported resource
    of its type has that name), else a new one.  Every resource created is
    appended to uuids.csv at once, so an interrupted run creates nothing
    twice.
  - In check mode nothing is changed; C(pending) lists what a real run
    would create or correct.
options:
  resources:
    description: The exported resources, each a dict with C(type), C(id)
      (its ID in the source), C(name) and what its type needs.
    type: list
    elements: dict
    required: true
  ids:
    description: Target IDs of resources handled before, by source ID.
    type: dict
    default: {}
  uuids_csv:
    description: The uuids.csv to recall IDs from and to record new ones in.
    type: path
  network_map:
    description: Target network name by source network name, for the
      external (or shared) networks of the source, which are not created
      but found.
    type: dict
    default: {}
  flavor_map:
    description: Target flavor name by source flavor name; flavors are not
      created but chosen.
    type: dict
    default: {}
  parallel:
    description: Image uploads at a time.
    type: int
    default: 4
extends_documentation_fragment:
  - openstack.cloud.openstack
'''

RETURN = r'''
ids:
  description: Target ID by source ID of every resource found or created.
  type: dict
  returned: always
pending:
  description: Source IDs of the resources a run would create or correct.
  type: list
  returned: always
pending_types:
  description: The types of the pending resources.
  type: list
  returned: always
created:
  description: One dict (type, name, old, new) per resource created.
  type: list
  returned: always
looked:
  description: Target ID by source ID of the volumes and servers found
    (ready, with their volumes attached); their own tasks make the rest.
  type: dict
  returned: always
missing:
  description: The flavors and external networks the target lacks (their
    C(id) in I(resources)).
  type: list
  returned: always
'''

# Ansible's layout: the documentation strings come first.
import concurrent.futures  # noqa: E402
import csv  # noqa: E402
import os  # noqa: E402

try:
    # One line: Ansible recognises a module by this import (a regular
    # expression that does not follow a continued line).
    from ansible_collections.openstack.cloud.plugins.module_utils.openstack import OpenStackModule  # noqa: E501
except ImportError:  # pragma: no cover - only without Ansible installed
    OpenStackModule = object

# Neutron stores "any address" either way; a rule is the same rule.
_ANY = {'0.0.0.0/0': None, '::/0': None}
_RULE_KEYS = ('direction', 'ethertype', 'protocol', 'port_range_min',
              'port_range_max', 'remote_ip_prefix')


class ImportFailed(Exception):
    """A resource could not be made; the message names it."""


def recall(path):
    """Target ID by (type in uuids.csv, source ID), as an earlier run
    recorded them: a server and its snapshot share a source ID."""
    if not path or not os.path.isfile(path):
        return {}
    recorded = {}
    with open(path, newline='', encoding='utf-8') as stream:
        for row in csv.reader(stream):
            if len(row) == 4 and row[2] and row[3]:
                recorded[(row[0], row[2])] = row[3]
    return recorded


class Journal:
    """Appends a uuids.csv row the moment a resource exists, before
    anything else can fail."""

    HEADER = ('Resource Type', 'Resource Name', 'Old', 'New')

    def __init__(self, path):
        self.path = path

    def record(self, csv_type, name, old, new):
        if not self.path:
            return
        fresh = not os.path.exists(self.path)
        with open(self.path, 'a', newline='', encoding='utf-8') as stream:
            writer = csv.writer(stream, quoting=csv.QUOTE_ALL,
                                lineterminator='\n')
            if fresh:
                writer.writerow(self.HEADER)
            writer.writerow((csv_type, name, old, new))
            stream.flush()
            os.fsync(stream.fileno())


def describe(item):
    return '%s %r (source ID %s)' % (
        item.get('csv_type') or item['type'], item.get('name'), item['id'])


class Handler:
    """One resource type: list it once, find each item, create or correct.

    Before each change, ``self.imp.wait(item)`` is asked: in check mode it
    notes the item as pending and says to change nothing.
    """

    types = ()

    def __init__(self, importer):
        self.imp = importer
        self.conn = importer.conn

    def match(self, item, candidates):
        """The target resource for ``item`` among ``candidates``, or None.

        The recorded ID wins; a name counts only when no other item of the
        type shares it, and only when the target has exactly one.
        """
        recorded = self.imp.recall(item)
        for obj in candidates:
            if recorded and obj.id == recorded:
                return obj
        if not self.imp.unique(item):
            return None
        same = [obj for obj in candidates if obj.name == item['name']]
        if len(same) > 1:
            raise ImportFailed(
                '%s: the target project has %d of that name (%s); delete or '
                'rename the extra ones, or record the right one in uuids.csv'
                % (describe(item), len(same),
                   ', '.join(sorted(obj.id for obj in same))))
        return same[0] if same else None

    def apply(self, items):
        raise NotImplementedError


def _differs(obj, wanted):
    return {key: value for key, value in wanted.items()
            if getattr(obj, key, None) != value}


class Chosen(Handler):
    """Types that are never created but chosen among what the target has:
    the map entry (flavor_map, network_map), else the one of the same
    name, else ``fallback``.  Those with no match are listed in
    ``missing``, for the play to stop on."""

    def candidates(self):
        raise NotImplementedError

    def mapping(self):
        raise NotImplementedError

    def fallback(self, item, candidates):
        return []

    def apply(self, items):
        candidates = self.candidates()
        for item in items:
            self.imp.working = item
            mapped = self.mapping().get(item['name'])
            if mapped is not None:
                found = [c for c in candidates if c.name == mapped]
            else:
                found = [c for c in candidates if c.name == item['name']] \
                    or self.fallback(item, candidates)
            if found:
                self.imp.found(item, found[0].id)
            elif item['id'] not in self.imp.missing:
                self.imp.missing.append(item['id'])


class Flavors(Chosen):
    """Else the smallest flavor with at least the source's vCPUs, RAM and
    disk."""

    types = ('flavor',)

    def candidates(self):
        return list(self.conn.compute.flavors())

    def mapping(self):
        return self.imp.flavor_map

    def fallback(self, item, candidates):
        return sorted((f for f in candidates if f.vcpus >= item['vcpus']
                       and f.ram >= item['ram'] and f.disk >= item['disk']),
                      key=lambda f: (f.vcpus, f.ram, f.disk))


class ExternalNetworks(Chosen):
    """Networks of the source that the tenant uses but does not own; else
    the target's only external network."""

    types = ('external_network',)

    def candidates(self):
        return self.imp.networks()

    def mapping(self):
        return self.imp.network_map

    def fallback(self, item, candidates):
        external = [net for net in candidates if net.is_router_external]
        return external if len(external) == 1 else []


class Keypairs(Handler):
    types = ('keypair',)

    def apply(self, items):
        have = {kp.name: kp for kp in self.conn.compute.keypairs()}
        for item in items:
            self.imp.working = item
            found = have.get(item['name'])
            if found is not None:
                if (found.public_key or '').strip() != \
                        item['public_key'].strip():
                    raise ImportFailed(
                        '%s: the target has a keypair of that name with '
                        'another public key' % describe(item))
                self.imp.found(item, found.name)
                continue
            if self.imp.wait(item):
                continue
            made = self.conn.compute.create_keypair(
                name=item['name'], public_key=item['public_key'])
            self.imp.made(item, made.name)


class Networks(Handler):
    types = ('network',)

    def apply(self, items):
        project = self.conn.current_project_id
        candidates = [net for net in self.imp.networks()
                      if net.project_id == project]
        for item in items:
            self.imp.working = item
            wanted = dict(item['attributes'], name=item['name'])
            found = self.match(item, candidates)
            if found is not None:
                self.imp.found(item, found.id)
                change = _differs(found, wanted)
                if change and not self.imp.wait(item):
                    self.conn.network.update_network(found, **change)
                    self.imp.changed = True
                continue
            if not self.imp.wait(item):
                made = self.conn.network.create_network(**wanted)
                self.imp.made(item, made.id)


class Subnets(Handler):
    types = ('subnet',)
    # What can be corrected on a subnet that exists; the rest is fixed at
    # creation.
    UPDATABLE = ('description', 'is_dhcp_enabled', 'dns_nameservers',
                 'host_routes')

    def apply(self, items):
        subnets = list(self.conn.network.subnets(
            project_id=self.conn.current_project_id))
        for item in items:
            self.imp.working = item
            network_id = self.imp.ids.get(item['network'])
            if network_id is None:
                if self.imp.wait(item):
                    continue  # its network is yet to be made
                raise ImportFailed('%s: its network (source ID %s) was '
                                   'neither found nor made'
                                   % (describe(item), item['network']))
            candidates = [s for s in subnets if s.network_id == network_id]
            found = self.match(item, candidates)
            if found is not None:
                self.imp.found(item, found.id)
                change = _differs(found, {
                    key: item['attributes'][key] for key in self.UPDATABLE
                    if key in item['attributes']})
                if found.name != item['name']:
                    change['name'] = item['name']
                if change and not self.imp.wait(item):
                    self.conn.network.update_subnet(found, **change)
                    self.imp.changed = True
                continue
            if not self.imp.wait(item):
                made = self.conn.network.create_subnet(
                    name=item['name'], network_id=network_id,
                    **item['attributes'])
                self.imp.made(item, made.id)


class Routers(Handler):
    types = ('router',)

    def apply(self, items):
        project = self.conn.current_project_id
        routers = list(self.conn.network.routers(project_id=project))
        ports = None
        for item in items:
            self.imp.working = item
            gateway = (self.imp.ids.get(item['gateway'])
                       if item.get('gateway') else None)
            found = self.match(item, routers)
            if found is None:
                if self.imp.wait(item):
                    continue
                attrs = dict(item['attributes'], name=item['name'])
                if gateway:
                    attrs['external_gateway_info'] = {'network_id': gateway}
                found = self.conn.network.create_router(**attrs)
                self.imp.made(item, found.id)
                have = []
            else:
                self.imp.found(item, found.id)
                change = _differs(found, dict(item['attributes'],
                                              name=item['name']))
                current = (found.external_gateway_info or {}).get(
                    'network_id')
                if gateway and current != gateway:
                    change['external_gateway_info'] = {'network_id': gateway}
                if change and not self.imp.wait(item):
                    self.conn.network.update_router(found, **change)
                    self.imp.changed = True
                if ports is None:
                    # One list for every router's interfaces.
                    ports = list(self.conn.network.ports(project_id=project))
                have = [ip['subnet_id'] for port in ports
                        if port.device_id == found.id
                        for ip in port.fixed_ips or []]
            self._interfaces(item, found, have)

    def _interfaces(self, item, router, have):
        for interface in item.get('interfaces') or []:
            subnet_id = self.imp.ids.get(interface['subnet'])
            if subnet_id is not None and subnet_id in have:
                continue
            if self.imp.wait(item):
                return
            if interface.get('is_gateway') or not interface.get('ip_address'):
                self.conn.network.add_interface_to_router(
                    router, subnet=subnet_id)
            else:
                # Not the subnet's gateway address: a port keeps the
                # address the source router had.
                port = self.conn.network.create_port(
                    network_id=self.imp.ids[interface['network']],
                    fixed_ips=[{'subnet_id': subnet_id,
                                'ip_address': interface['ip_address']}])
                self.conn.network.add_interface_to_router(router, port=port)
            self.imp.changed = True


def _rule_key(rule):
    key = tuple(rule.get(name) for name in _RULE_KEYS)
    prefix = key[-1]
    return key[:-1] + (_ANY.get(prefix, prefix),
                       rule.get('remote_group_id') or None)


class SecurityGroups(Handler):
    """Groups first, then the rules of all of them: a rule may name another
    group.  The target's own ``default`` group gets the missing rules; the
    groups downpour makes get exactly the exported ones."""

    types = ('security_group',)

    def apply(self, items):
        project = self.conn.current_project_id
        groups = list(self.conn.network.security_groups(project_id=project))
        targets = []
        for item in items:
            self.imp.working = item
            if item.get('default'):
                found = [g for g in groups if g.name == 'default']
                if not found:
                    raise ImportFailed('%s: the target project has no '
                                       'default security group'
                                       % describe(item))
                self.imp.found(item, found[0].id)
                targets.append((item, found[0]))
                continue
            found = self.match(item, groups)
            if found is not None:
                self.imp.found(item, found.id)
                change = _differs(found, {'name': item['name'],
                                          'description': item['description']})
                if change and not self.imp.wait(item):
                    self.conn.network.update_security_group(found, **change)
                    self.imp.changed = True
            elif not self.imp.wait(item):
                found = self.conn.network.create_security_group(
                    name=item['name'], description=item['description'])
                self.imp.made(item, found.id)
            targets.append((item, found))
        for item, group in targets:
            self.imp.working = item
            self._rules(item, group)

    def _rules(self, item, group):
        wanted = []
        for rule in item.get('rules') or []:
            rule = {key: value for key, value in rule.items()
                    if value is not None}
            remote = rule.pop('remote_group', None)
            if remote is not None:
                rule['remote_group_id'] = self.imp.ids.get(remote)
                if rule['remote_group_id'] is None:
                    self.imp.wait(item)  # check mode: that group is to come
                    return
            wanted.append(rule)
        if group is None:
            return  # check mode: the group itself is to come
        have = {_rule_key(rule): rule
                for rule in group.security_group_rules or []}
        missing = [rule for rule in wanted if _rule_key(rule) not in have]
        keep = {_rule_key(rule) for rule in wanted}
        extra = [] if item.get('default') else [
            rule for key, rule in have.items() if key not in keep]
        if not missing and not extra:
            return
        if self.imp.wait(item):
            return
        for rule in extra:
            self.conn.network.delete_security_group_rule(rule['id'])
        if missing:
            # One bulk POST for the group's rules.
            list(self.conn.network.create_security_group_rules([
                dict(rule, security_group_id=group.id) for rule in missing]))
        self.imp.changed = True


class Images(Handler):
    """Images and server snapshots: the same name and the same bytes in the
    target count as the image (a public base image, or this one from an
    earlier run).  Uploads run ``parallel`` at a time, and each is checked
    against the checksum of the export before it is recorded."""

    types = ('image', 'server_snapshot')

    def apply(self, items):
        images = list(self.conn.image.images())
        uploads = []
        for item in items:
            self.imp.working = item
            found = self._match(item, images)
            if found is not None:
                self.imp.found(item, found.id)
            elif not self.imp.wait(item):
                uploads.append(item)
        if not uploads:
            return
        workers = max(1, min(self.imp.parallel, len(uploads)))
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            futures = [(item, pool.submit(self._upload, item))
                       for item in uploads]
            failures = []
            for item, future in futures:
                try:
                    self.imp.made(item, future.result())
                except Exception as exc:  # noqa: BLE001 - named below
                    failures.append('%s: %s' % (describe(item), exc))
        if failures:
            raise ImportFailed('; '.join(failures))

    @staticmethod
    def _same_bytes(image, checksum):
        if not checksum.get('value'):
            return True  # nothing to compare with
        if checksum['algo'] == 'md5':
            return image.checksum == checksum['value']
        return (image.hash_algo == checksum['algo']
                and image.hash_value == checksum['value'])

    def _match(self, item, images):
        recorded = self.imp.recall(item)
        for image in images:
            if recorded and image.id == recorded and image.status == 'active':
                return image
        if not self.imp.unique(item):
            return None
        for image in images:
            if image.name == item['name'] and image.status == 'active' and \
                    self._same_bytes(image, item.get('checksum') or {}):
                return image
        return None

    def _upload(self, item):
        attrs = item['attributes']
        image = self.conn.image.create_image(
            item['name'], filename=item['filename'],
            disk_format=attrs['disk_format'],
            container_format=attrs['container_format'],
            min_disk=attrs.get('min_disk', 0), min_ram=attrs.get('min_ram', 0),
            properties=dict(attrs.get('properties') or {}),
            visibility='private', allow_duplicates=True, wait=True,
            timeout=3600)
        if not (image.checksum or image.hash_value):
            image = self.conn.image.get_image(image.id)
        checksum = item.get('checksum') or {}
        # A target configured for another os_hash_algo cannot be compared;
        # md5 is computed by every Glance.
        comparable = checksum.get('algo') == 'md5' or \
            image.hash_algo == checksum.get('algo')
        if comparable and not self._same_bytes(image, checksum):
            got = image.checksum if checksum['algo'] == 'md5' \
                else image.hash_value
            # Not the image: left there, it would be a corrupt copy under
            # the image's name, never found again.
            self.conn.image.delete_image(image.id, ignore_missing=True)
            raise ImportFailed(
                "the target's Glance reports %s (%s) for the uploaded image "
                '%s, the manifest %s' % (got, checksum['algo'], image.id,
                                         checksum['value']))
        return image.id


class LookOnly(Handler):
    """Volumes and servers are made by their own openstack.cloud tasks;
    the look only finds them, so that a run skips the tasks of those that
    are already there."""

    # What counts as made: anything else is left to the resource's tasks.
    READY = ()

    def listing(self):
        raise NotImplementedError

    def complete(self, item, found):
        return True

    def apply(self, items):
        if not self.imp.check_mode:
            raise ImportFailed('%s: made by its own task, not by this module'
                               % describe(items[0]))
        candidates = self.listing()
        for item in items:
            self.imp.working = item
            found = self.match(item, candidates)
            # Under another name (a run stopped before the rename of a
            # name that repeats): its tasks finish the job.
            if found is not None and found.status in self.READY and \
                    found.name == item['name'] and self.complete(item, found):
                # Apart from ids: a server and its snapshot share an old ID.
                self.imp.looked[item['id']] = found.id
            else:
                self.imp.wait(item)


class Volumes(LookOnly):
    types = ('volume',)
    READY = ('available', 'in-use')

    def listing(self):
        return list(self.conn.block_storage.volumes())


class Servers(LookOnly):
    """A server counts as there when it runs with all its volumes
    attached: an import stopped before an attachment does the rest."""

    types = ('server',)
    READY = ('ACTIVE', 'SHUTOFF')

    def listing(self):
        return list(self.conn.compute.servers())

    def complete(self, item, found):
        attached = {volume['id'] for volume in found.attached_volumes or []}
        return all(self.imp.looked.get(old) in attached
                   for old in item.get('volumes') or [])


HANDLERS = (Flavors, ExternalNetworks, Keypairs, Networks, Subnets, Routers,
            SecurityGroups, Images, Volumes, Servers)
_KIND = {'server_snapshot': 'image'}


class Importer:
    """Runs the handlers in dependency order over a list of items."""

    def __init__(self, conn, ids=None, recorded=None, journal=None,
                 check_mode=False, parallel=4, network_map=None,
                 flavor_map=None):
        self.conn = conn
        self.network_map = network_map or {}
        self.flavor_map = flavor_map or {}
        self.missing = []
        # Volumes and servers the look found, by old ID.
        self.looked = {}
        self.ids = dict(ids or {})
        self.recorded = recorded or {}
        self.journal = journal or Journal(None)
        self.check_mode = check_mode
        self.parallel = parallel
        self.changed = False
        self.pending = []
        self.pending_types = []
        self.created = []
        # The item a handler is busy with, for the message of a failure.
        self.working = None
        self._names = {}
        self._networks = None

    def networks(self):
        """Every network the project sees, listed once."""
        if self._networks is None:
            self._networks = list(self.conn.network.networks())
        return self._networks

    def recall(self, item):
        return self.recorded.get((self.csv_type(item), item['id']))

    @staticmethod
    def csv_type(item):
        return item.get('csv_type') or item['type']

    def unique(self, item):
        kind = _KIND.get(item['type'], item['type'])
        return self._names.get((kind, item['name']), 0) <= 1

    def found(self, item, new_id):
        self.ids[item['id']] = new_id

    def made(self, item, new_id):
        self.found(item, new_id)
        self.journal.record(self.csv_type(item), item['name'], item['id'], new_id)
        self.created.append({'type': item['type'], 'name': item['name'],
                             'old': item['id'], 'new': new_id})
        self.changed = True

    def wait(self, item):
        """In check mode, note that ``item`` needs work and say so."""
        if not self.check_mode:
            return False
        if item['id'] not in self.pending:
            self.pending.append(item['id'])
        if item['type'] not in self.pending_types:
            self.pending_types.append(item['type'])
        return True

    def run(self, items):
        for item in items:
            key = (_KIND.get(item['type'], item['type']), item.get('name'))
            self._names[key] = self._names.get(key, 0) + 1
        known = {t for handler in HANDLERS for t in handler.types}
        unknown = sorted({item['type'] for item in items} - known)
        if unknown:
            raise ImportFailed('unknown resource type(s): %s'
                               % ', '.join(unknown))
        for handler in HANDLERS:
            mine = [item for item in items if item['type'] in handler.types]
            if not mine:
                continue
            try:
                handler(self).apply(mine)
            except ImportFailed:
                raise
            except Exception as exc:  # noqa: BLE001 - openstacksdk's many
                raise ImportFailed(self._blame(mine, exc)) from None

    def _blame(self, items, exc):
        item = self.working if self.working in items else None
        what = describe(item) if item else ', '.join(map(describe, items))
        return '%s: %s' % (what, exc)


class DownpourResources(OpenStackModule):
    argument_spec = {
        'resources': {'type': 'list', 'elements': 'dict', 'required': True},
        'ids': {'type': 'dict', 'default': {}},
        'uuids_csv': {'type': 'path'},
        'network_map': {'type': 'dict', 'default': {}},
        'flavor_map': {'type': 'dict', 'default': {}},
        'parallel': {'type': 'int', 'default': 4},
    }
    module_kwargs = {'supports_check_mode': True}

    def run(self):
        path = self.params['uuids_csv']
        importer = Importer(
            self.conn, ids=self.params['ids'], recorded=recall(path),
            journal=Journal(path), check_mode=self.check_mode,
            parallel=self.params['parallel'],
            network_map=self.params['network_map'],
            flavor_map=self.params['flavor_map'])
        result = {}
        try:
            importer.run(self.params['resources'])
        except ImportFailed as exc:
            self.fail_json(msg=str(exc), changed=importer.changed,
                           created=importer.created)
        # In check mode, "changed" says that a run would change something.
        changed = importer.changed or bool(importer.pending)
        result.update(changed=changed, ids=importer.ids,
                      looked=importer.looked, missing=importer.missing,
                      pending=importer.pending,
                      pending_types=importer.pending_types,
                      created=importer.created)
        self.exit_json(**result)


def main():
    DownpourResources()()


if __name__ == '__main__':
    main()

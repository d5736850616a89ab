#!/usr/bin/python
# Licensed under the Apache License, Version 2.0.
#
# Shipped by ``downpour export`` in OUTPUT_DIR/library/, where Ansible finds
# it beside playbook.yml with nothing to install.  One module process, one
# login and one list call per resource type do the work that one process
# per resource would: a process costs about a second before it makes its
# first request (doc/source/performance.rst).

DOCUMENTATION = r'''
---
module: downpour_resources
short_description: Create in the target what downpour exported, in one session
description:
  - Takes the resources that C(downpour export) wrote into the playbook
    (keypairs, networks, subnets, routers, security groups with their
    rules, images, volumes, ports, server groups, servers and floating
    IPs), lists each of their types
    once in the target project, and creates or corrects only what is
    missing or different.
  - A target resource is this import's own only when the journal records
    it for that source ID.  A name that matches proves nothing; the import
    creates its own resource beside it and says so (I(name_clash)).  What
    is not this import's own is never changed, narrowed or deleted; the
    project's C(default) security group, and a group taken with
    I(name_clash=adopt), only gain rules.
  - Ports are made as they were, before their servers, with every fixed IP,
    and on a network the import made the MAC address, allowed address
    pairs and port security (Neutron lets only a network's owner choose
    them).  A router's static routes are set once its interfaces exist.
    Tags go on networks, subnets, ports, routers and security groups
    right after creation (Neutron takes none in a create request), on
    servers and images in the create request.  On what this import made
    they are corrected to the exported ones; the MAC never is.
  - Flavors and the external (and shared) networks of the source are not
    created but chosen (see I(flavor_map) and I(network_map)); those the
    target lacks are returned in C(missing).
  - Volume types and availability zones are chosen too (see
    I(volume_type_map) and I(az_map)), each reported in C(choices); the
    target always has a default, so only a map entry that names what the
    target lacks leaves one unmatched (C(missing) and C(unmatched)).
  - Every resource created is appended to the journal, with fsync, the
    moment it exists, so an interrupted run creates nothing twice.
    I(uuids_csv) is then written from the journal, one row per source ID.
  - In check mode nothing in the cloud is changed; C(pending) lists what a
    real run would create or correct, and C(clashes) the names the target
    already uses.
  - A floating IP is allocated on the external network chosen for the
    source's, and associated with the new port on the same fixed IP; a
    tenant cannot choose its address, so I(addresses_csv) lists the old
    and the new address of each.  Floating IPs have no name, so one of
    the target's is never a clash, and never adopted.
options:
  resources:
    description: The exported resources, each a dict with C(type), C(id)
      (its key, the ID in the source, or one downpour chose), C(name) and
      what its type needs.
    type: list
    elements: dict
    required: true
  ids:
    description: Target IDs of resources handled before, by key.
    type: dict
    default: {}
  journal:
    description: The import's own record of what it created (or reused,
      or adopted), read at the start and appended to as it goes.
    type: path
  uuids_csv:
    description: The map of source ID to target ID for people and
      scripts, rewritten from the journal when it differs.
    type: path
  addresses_csv:
    description: The table of each floating IP's old address and new
      address (with its fixed IP and the target port), rewritten when it
      differs.
    type: path
  name_clash:
    description:
      - What to do when the target has a resource of an exported one's
        name that this import did not make.
      - C(create) makes a new one beside it (the default).
      - C(stop) stops before anything is created (the playbook stops on
        the look's C(clashes)).
      - C(adopt) takes the same-named resource when it is proven
        equivalent (subnet CIDR, IP version and gateway; a network whose
        subnets all are; a router with the same gateway and interfaces;
        an image with the same checksum; any security group, which then
        only gains rules), and else makes a new one.  Volumes, ports,
        servers and server groups are never adopted.
    type: str
    choices: [create, stop, adopt]
    default: create
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
  volume_type_map:
    description: Target volume type name by source volume type name; types
      are not created but chosen.  Without an entry, the type of the same
      name, else the target's default; an empty name asks for the default.
    type: dict
    default: {}
  az_map:
    description: Target availability zone by source zone, for servers
      (Nova's zones) and volumes (Cinder's).  Without an entry, the zone of
      the same name, else none is asked for (the target's default); an
      empty name asks for the default.
    type: dict
    default: {}
  parallel:
    description:
      - Resources in the works at a time for each service (the networks,
        routers, groups and ports; the image uploads; the volumes; the
        server groups and servers).  Each waits only for those it needs, a
        server for its own image, volumes, ports and group.
    type: int
    default: 4
extends_documentation_fragment:
  - openstack.cloud.openstack
'''

RETURN = r'''
ids:
  description: Target ID by key of every resource found or created.
  type: dict
  returned: always
pending:
  description: Keys of the resources a run would create or correct.
  type: list
  returned: always
pending_types:
  description: The types of the pending resources.
  type: list
  returned: always
created:
  description: One dict (type, name, old, new) per resource created, in
    the order of the resources given.
  type: list
  returned: always
clashes:
  description: One line per exported resource whose name the target
    already uses for a resource this import did not make, saying what
    the import does about it.
  type: list
  returned: always
missing:
  description: The flavors, external networks, volume types and zones the
    target lacks (their C(id) in I(resources)).
  type: list
  returned: always
choices:
  description: One line per volume type and availability zone, saying
    what the target's is and why.
  type: list
  returned: always
unmatched:
  description: One line per volume type or availability zone whose map
    entry names what the target lacks.
  type: list
  returned: always
addresses:
  description: One dict (old_address, new_address, fixed_ip, port, old,
    new) per floating IP found or made.
  type: list
  returned: always
'''

# Ansible's layout: the documentation strings come first.
import base64  # noqa: E402
import collections  # noqa: E402
import concurrent.futures  # noqa: E402
import csv  # noqa: E402
import functools  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402

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
# How a journal row came to be.  Only what the import created is its own to
# correct, narrow or replace.
CREATED, REUSED, ADOPTED, MAPPED = 'created', 'reused', 'adopted', 'mapped'
# Journal types that map no source ID of their own: they stay out of
# uuids.csv, which is a map (each Old once).
UNMAPPED = ('server snapshot', 'volume contents', 'router interface')
WAIT_SERVER = 900
WAIT_VOLUME = 900


class ImportFailed(Exception):
    """A resource could not be made; the message names it."""


def csv_type(item):
    return item.get('csv_type') or item['type']


def describe(item):
    return '%s %r (source ID %s)' % (csv_type(item), item.get('name'),
                                     item['id'])


def _write_private(path, text):
    """Replace ``path`` whole, readable by its owner only."""
    directory = os.path.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8', newline='') as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _rewrite(path, text):
    """Write ``text`` to ``path`` (privately) unless it says exactly that
    already; whether it was written."""
    if os.path.isfile(path):
        with open(path, newline='', encoding='utf-8') as stream:
            if stream.read() == text:
                return False
    _write_private(path, text)
    return True


class Journal:
    """What this migration made in the target, by (type, source ID).

    A row is appended, and flushed to disk, the moment a resource exists,
    before anything else can fail.  The last row of a key wins: a resource
    the target lost and a later run made again has a newer row.
    """

    HEADER = ('Resource Type', 'Resource Name', 'Old', 'New', 'How')
    MAP_HEADER = HEADER[:4]

    def __init__(self, path):
        self.path = path
        self.rows = {}
        self._lock = threading.Lock()
        if path and os.path.isfile(path):
            with open(path, newline='', encoding='utf-8') as stream:
                for row in csv.reader(stream):
                    if len(row) == 5 and row != list(self.HEADER) \
                            and row[2] and row[3]:
                        self.rows.pop((row[0], row[2]), None)
                        self.rows[(row[0], row[2])] = (row[1], row[3], row[4])

    def recall(self, item):
        """(new ID, how) recorded for ``item``, or None."""
        row = self.rows.get((csv_type(item), item['id']))
        return (row[1], row[2]) if row else None

    def owned_ids(self):
        """Every target ID the journal records, whatever the item."""
        return {new for _name, new, _how in self.rows.values()}

    def record(self, item, new_id, how):
        key = (csv_type(item), item['id'])
        with self._lock:
            if self.rows.get(key) == (item['name'], new_id, how):
                return
            self.rows.pop(key, None)
            self.rows[key] = (item['name'], new_id, how)
            if not self.path:
                return
            fresh = not os.path.exists(self.path)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                         0o600)
            with os.fdopen(fd, 'a', newline='', encoding='utf-8') as stream:
                writer = csv.writer(stream, quoting=csv.QUOTE_ALL,
                                    lineterminator='\n')
                if fresh:
                    writer.writerow(self.HEADER)
                writer.writerow((key[0], item['name'], key[1], new_id, how))
                stream.flush()
                os.fsync(stream.fileno())

    def map_text(self):
        """uuids.csv: one row per source ID, in the order first made."""
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator='\n')
        writer.writerow(self.MAP_HEADER)
        for (kind, old), (name, new, _how) in self.rows.items():
            if kind not in UNMAPPED:
                writer.writerow((kind, name, old, new))
        return out.getvalue()

    def write_map(self, path):
        """Rewrite ``path`` from the journal unless it says exactly that;
        whether it was written."""
        if not path or not self.rows:
            return False
        return _rewrite(path, self.map_text())


def _differs(obj, wanted):
    return {key: value for key, value in wanted.items()
            if getattr(obj, key, None) != value}


def _tag_change(item, obj):
    """The exported tags, when ``obj`` lacks one or has another (tags are
    a set)."""
    wanted = item.get('tags')
    if wanted is None or set(getattr(obj, 'tags', None) or []) == \
            set(wanted):
        return {}
    return {'tags': list(wanted)}


def _neutron_update(kind, obj, change, update):
    """``change`` made on ``obj``; Neutron takes tags only through their
    own call."""
    change = dict(change)
    tags = change.pop('tags', None)
    if change:
        update(obj, **change)
    if tags is not None:
        kind.conn.network.set_tags(obj, tags)


def _tag_new(kind, item, obj):
    """Tags on what ``kind`` just made.  Neutron takes none in a create
    request (its ``tag-creation`` extension is about several at once on
    the tags call), so they follow at once, the resource recorded first:
    if this fails, the next run finds it and corrects its tags."""
    if item.get('tags'):
        kind.imp.made(item, obj.id)
        kind.conn.network.set_tags(obj, list(item['tags']))
    return obj


class Kind:
    """One resource type in the target: how it is listed, found, compared,
    created and corrected.  ``Importer.sync`` is the one loop that applies
    the identity rules to every kind; a kind only answers its questions.
    """

    types = ()
    # Whether a same-named resource may be taken with name_clash=adopt,
    # once ``proof`` finds it equivalent.
    adoptable = False
    # The service whose work this is, when a real run overlaps it with the
    # other kinds' (see Pipeline): at most ``parallel`` items of a lane at
    # a time, so that the uploads do not wait behind a hundred Neutron
    # calls nor those behind the uploads.  None: done in order, not
    # overlapped; keypairs (made in a moment) and floating IPs (they run
    # once the servers' ports are all there).
    lane = None
    # The target's lists (names in LISTS) this kind reads whenever it has
    # items: all of them are fetched at once, side by side, before the
    # first kind starts.  The first one is the kind's own listing.
    lists = ()

    def __init__(self, importer):
        self.imp = importer
        self.conn = importer.conn

    def listing(self):
        """The target's resources of this kind: one list call."""
        return self.imp.listed(self.lists[0])

    def scope(self, item, listing):
        """The resources of ``listing`` that ``item`` could be."""
        return listing

    def ready(self, obj):
        """Whether a recorded resource can be kept; one of ours that
        cannot (an image whose upload died, a server in ERROR) is deleted
        and made again."""
        return True

    def proof(self, item, obj):
        """Why ``obj`` is not equivalent to ``item`` (None: it is)."""
        return 'never adopted'

    def corrections(self, item, obj):
        """What to change on our own ``obj`` to make it ``item``."""
        return {}

    def correct(self, item, obj, change):
        raise NotImplementedError

    def create(self, item):
        """Make ``item``; the new resource.  One that waits for the cloud
        records it with ``self.imp.made`` as soon as it exists."""
        raise NotImplementedError

    def needs(self, item):
        """The keys (source IDs) of the resources ``item`` is made with:
        its work starts once theirs has ended."""
        return ()

    def after_create(self, item, obj):
        self.complete(item, obj, True)

    def discard(self, obj):
        raise NotImplementedError

    def complete(self, item, obj, ours):
        """The parts of ``item`` kept outside its own record (rules,
        interfaces, attachments).  ``ours`` is False for a resource this
        import did not make: it may only gain, never lose."""

    def resolve(self, item, key, what):
        """The target ID of the resource ``key`` that ``item`` needs; None
        in check mode when it is yet to be made."""
        found = self.imp.ids.get(key)
        if found is None and not self.imp.wait(item):
            raise ImportFailed('%s: its %s (source ID %s) was neither found '
                               'nor made' % (describe(item), what, key))
        return found


class Chosen(Kind):
    """Types that are never created but chosen among what the target has:
    the map entry (flavor_map, network_map), else the one of the same
    name, else ``fallback``.  Those with no match are listed in
    ``missing``, for the play to stop on."""

    def mapping(self):
        raise NotImplementedError

    def fallback(self, item, candidates):
        return []

    def apply(self, items):
        candidates = self.listing()
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
    lists = ('flavors',)

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
    lists = ('networks',)

    def mapping(self):
        return self.imp.network_map

    def fallback(self, item, candidates):
        external = [net for net in candidates if net.is_router_external]
        return external if len(external) == 1 else []


class Defaulted(Chosen):
    """Chosen where the target always has an answer: its default, asked
    for by naming none (an empty ID).  Only a map entry that names what the
    target lacks is unmatched.  Every choice is reported."""

    map_name = None

    def label(self, item):
        """What ``item`` is, in the lines of the report."""
        raise NotImplementedError

    def candidates(self, item):
        """What the target may give ``item``, by name."""
        raise NotImplementedError

    def chosen_id(self, obj):
        return obj.id

    def default_name(self, item):
        return None

    def apply(self, items):
        for item in items:
            self.imp.working = item
            what = '%s %r' % (self.label(item), item['name'])
            have = self.candidates(item)
            mapped = self.mapping().get(item['name'])
            if mapped is not None and str(mapped) != '':
                mapped = str(mapped)
                if mapped not in have:
                    self.imp.unmatch(item, '%s: %s names %r, which the '
                                     'target does not have' % (
                                         what, self.map_name, mapped))
                    continue
                self.imp.chose(item, self.chosen_id(have[mapped]),
                               '%s -> %r (%s)' % (what, mapped,
                                                    self.map_name))
            elif mapped is None and item['name'] in have:
                self.imp.chose(item, self.chosen_id(have[item['name']]),
                               '%s -> %r (same name)' % (what,
                                                           item['name']))
            else:
                default = self.default_name(item)
                self.imp.chose(item, '', "%s -> the target's default%s (%s)"
                               % (what, ' %r' % default if default else '',
                                  '%s says so' % self.map_name
                                  if mapped is not None else
                                  'it has none of that name'))


class VolumeTypes(Defaulted):
    """A volume's type: a tenant can list the public types (and those
    shared with the project), never create one."""

    types = ('volume_type',)
    lists = ('volume_types',)
    map_name = 'volume_type_map'

    def __init__(self, importer):
        super().__init__(importer)
        self._have = None
        self._default = False

    def mapping(self):
        return self.imp.volume_type_map

    def label(self, item):
        return 'volume type'

    def candidates(self, item):
        if self._have is None:
            self._have = {t.name: t for t in self.listing()}
        return self._have

    def default_name(self, item):
        if self._default is False:
            # Only to name it in the report (API 3.62 and later).
            try:
                response = self.conn.block_storage.get(
                    '/types/default', microversion='3.62')
                self._default = response.json()['volume_type']['name'] \
                    if response.ok else None
            except Exception:  # noqa: BLE001 - an older or stricter Cinder
                self._default = None
        return self._default


class AvailabilityZones(Defaulted):
    """Zones of Nova (for servers) and of Cinder (for volumes), those that
    are available; a zone is its name."""

    types = ('availability_zone',)
    map_name = 'az_map'
    SERVICES = {'compute': 'server', 'volume': 'volume'}

    def __init__(self, importer):
        super().__init__(importer)
        self._zones = {}

    def mapping(self):
        return self.imp.az_map

    def label(self, item):
        return '%s availability zone' % self.SERVICES.get(item.get('service'),
                                                          '?')

    def candidates(self, item):
        service = item.get('service')
        if service not in self._zones:
            if service not in self.SERVICES:
                raise ImportFailed('%s: unknown service %r' % (
                    describe(item), service))
            proxy = self.conn.compute if service == 'compute' \
                else self.conn.block_storage
            self._zones[service] = {
                zone.name: zone for zone in proxy.availability_zones()
                if (zone.state or {}).get('available', True)}
        return self._zones[service]

    def chosen_id(self, obj):
        return obj.name


class Keypairs(Kind):
    """A keypair's name is unique per user, so it cannot be made beside
    another: the same public key is reused and recorded, another key stops
    the import (the look fails, before anything is created)."""

    types = ('keypair',)
    lists = ('keypairs',)

    def apply(self, items):
        have = {kp.name: kp for kp in self.listing()}
        for item in items:
            self.imp.working = item
            found = have.get(item['name'])
            if found is None:
                if not self.imp.wait(item):
                    made = self.conn.compute.create_keypair(
                        name=item['name'], public_key=item['public_key'])
                    self.imp.made(item, made.name)
                continue
            if (found.public_key or '').strip() != item['public_key'].strip():
                raise ImportFailed(
                    '%s: the target has a keypair of that name with another '
                    'public key; delete or rename it, or set key_name on the '
                    "server's entry in the resource file" % describe(item))
            recorded = self.imp.journal.recall(item)
            self.imp.keep(item, found.name,
                          recorded[1] if recorded else REUSED)


class Networks(Kind):
    types = ('network',)
    adoptable = True
    lane = 'network'
    lists = ('networks',)

    def listing(self):
        project = self.conn.current_project_id
        return [net for net in self.imp.listed('networks')
                if net.project_id == project]

    def proof(self, item, obj):
        # A network is its subnets: each exported one must be there, by
        # name, CIDR, IP version and gateway.
        on_it = [s for s in self.imp.listed('subnets')
                 if s.network_id == obj.id]
        for sub in self.imp.items_of('subnet'):
            if sub['network'] != item['id']:
                continue
            if not any(s.name == sub['name'] and _subnet_differs(sub, s) is None
                       for s in on_it):
                return 'it has no subnet %r like the exported one' % (
                    sub['name'],)
        return None

    def corrections(self, item, obj):
        return dict(_differs(obj, dict(item['attributes'],
                                       name=item['name'])),
                    **_tag_change(item, obj))

    def correct(self, item, obj, change):
        _neutron_update(self, obj, change, self.conn.network.update_network)

    def create(self, item):
        return _tag_new(self, item, self.conn.network.create_network(
            name=item['name'], **item['attributes']))


def _subnet_differs(item, obj):
    attrs = item['attributes']
    for key in ('cidr', 'ip_version', 'gateway_ip'):
        if getattr(obj, key, None) != attrs.get(key):
            return 'its %s is %s, not %s' % (key, getattr(obj, key, None),
                                             attrs.get(key))
    return None


class Subnets(Kind):
    types = ('subnet',)
    adoptable = True
    lane = 'network'
    # What can be corrected on a subnet that exists; the rest is fixed at
    # creation.
    UPDATABLE = ('description', 'is_dhcp_enabled', 'dns_nameservers',
                 'host_routes')
    lists = ('subnets',)

    def scope(self, item, listing):
        # A network made by this run (no ID yet) has no subnet of another.
        network_id = self.imp.ids.get(item['network'])
        return [s for s in listing if s.network_id == network_id]

    def needs(self, item):
        return (item['network'],)

    def proof(self, item, obj):
        return _subnet_differs(item, obj)

    def corrections(self, item, obj):
        change = _differs(obj, {key: item['attributes'][key]
                                for key in self.UPDATABLE
                                if key in item['attributes']})
        if obj.name != item['name']:
            change['name'] = item['name']
        change.update(_tag_change(item, obj))
        return change

    def correct(self, item, obj, change):
        _neutron_update(self, obj, change, self.conn.network.update_subnet)

    def create(self, item):
        network_id = self.resolve(item, item['network'], 'network')
        return _tag_new(self, item, self.conn.network.create_subnet(
            name=item['name'], network_id=network_id, **item['attributes']))


class Routers(Kind):
    types = ('router',)
    adoptable = True
    lane = 'network'

    def needs(self, item):
        # Its interfaces' subnets (and, off the gateway, their networks).
        keys = []
        for interface in item.get('interfaces') or []:
            keys += [interface.get('subnet'), interface.get('network')]
        return tuple(key for key in keys if key)

    # The ports: which subnets a router has interfaces on.
    lists = ('routers', 'ports')

    def _gateway(self, item):
        return self.imp.ids.get(item['gateway']) if item.get('gateway') \
            else None

    def _subnets_of(self, router):
        return {ip['subnet_id'] for port in self.imp.listed('ports')
                if port.device_id == router.id
                for ip in port.fixed_ips or []}

    def proof(self, item, obj):
        current = (obj.external_gateway_info or {}).get('network_id')
        if current != self._gateway(item):
            return 'its gateway is on another network'
        have = self._subnets_of(obj)
        for interface in item.get('interfaces') or []:
            if self.imp.ids.get(interface['subnet']) not in have:
                return 'it has no interface on subnet %s' % (
                    interface['subnet'],)
        lacks = _routes(item['routes']) - _routes(obj.routes) \
            if item.get('routes') is not None else None
        if lacks:
            return 'it has no route to %s via %s' % sorted(lacks)[0]
        return None

    def corrections(self, item, obj):
        change = _differs(obj, dict(item['attributes'], name=item['name']))
        gateway = self._gateway(item)
        current = (obj.external_gateway_info or {}).get('network_id')
        if gateway and current != gateway:
            change['external_gateway_info'] = {'network_id': gateway}
        change.update(_tag_change(item, obj))
        return change

    def correct(self, item, obj, change):
        _neutron_update(self, obj, change, self.conn.network.update_router)

    def create(self, item):
        attrs = dict(item['attributes'], name=item['name'])
        gateway = self._gateway(item)
        if gateway:
            attrs['external_gateway_info'] = {'network_id': gateway}
        return _tag_new(self, item, self.conn.network.create_router(**attrs))

    def complete(self, item, obj, ours):
        if not ours:
            return  # proven to have them all; never changed
        have = self._subnets_of(obj) if obj is not None else set()
        for interface in item.get('interfaces') or []:
            subnet_id = self.imp.ids.get(interface['subnet'])
            if subnet_id is not None and subnet_id in have:
                continue
            if self.imp.wait(item):
                return
            if interface.get('is_gateway') or not interface.get('ip_address'):
                self.conn.network.add_interface_to_router(
                    obj.id, subnet=subnet_id)
            else:
                # Not the subnet's gateway address: a port keeps the
                # address the source router had.  Journaled the moment it
                # exists, so that a run stopped before it is added to the
                # router uses it instead of making another.
                record = {'type': 'router_interface',
                          'csv_type': 'router interface',
                          'id': '%s/%s' % (item['id'], interface['subnet']),
                          'name': item['name']}
                recorded = self.imp.journal.recall(record)
                port_id = recorded[0] if recorded and any(
                    p.id == recorded[0] and not p.device_id
                    for p in self.imp.listed('ports')) else None
                if port_id is None:
                    port_id = self.conn.network.create_port(
                        network_id=self.imp.ids[interface['network']],
                        fixed_ips=[{'subnet_id': subnet_id,
                                    'ip_address': interface['ip_address']}],
                    ).id
                    self.imp.journal.record(record, port_id, CREATED)
                self.conn.network.add_interface_to_router(obj.id,
                                                          port=port_id)
            self.imp.changed = True
        self._set_routes(item, obj)

    def _set_routes(self, item, obj):
        """Exactly the exported static routes, once the interfaces their
        next hops need are there (Neutron checks)."""
        if item.get('routes') is None or \
                _routes(item['routes']) == _routes(obj.routes):
            return
        if self.imp.wait(item):
            return
        self.conn.network.update_router(obj.id, routes=[
            {'destination': r['destination'], 'nexthop': r['nexthop']}
            for r in item['routes']])
        self.imp.changed = True


def _routes(routes):
    return {(r.get('destination'), r.get('nexthop')) for r in routes or []}


def _rule_key(rule):
    key = tuple(rule.get(name) for name in _RULE_KEYS)
    prefix = key[-1]
    return key[:-1] + (_ANY.get(prefix, prefix),
                       rule.get('remote_group_id') or None)


class SecurityGroups(Kind):
    """Groups first, then the rules of each once the groups its rules name
    are there: a rule may name another group, two groups each other.  A
    group this import made ends with exactly the exported rules; the
    project's ``default`` group and an adopted group only gain them."""

    types = ('security_group',)
    adoptable = True
    lane = 'network'
    lists = ('security_groups',)

    def __init__(self, importer):
        super().__init__(importer)
        # The group each item became, by item ID: (group, ours).
        self._rules_of = {}

    def proof(self, item, obj):
        return None  # any group: adopted, it only gains rules

    def corrections(self, item, obj):
        return dict(_differs(obj, {'name': item['name'],
                                   'description': item['description']}),
                    **_tag_change(item, obj))

    def correct(self, item, obj, change):
        _neutron_update(self, obj, change,
                        self.conn.network.update_security_group)

    def create(self, item):
        return _tag_new(self, item, self.conn.network.create_security_group(
            name=item['name'], description=item['description']))

    def complete(self, item, obj, ours):
        # Its rules come later: one may name a group yet to be made.
        self._rules_of[item['id']] = (obj, ours)

    def apply(self, items):
        defaults = [i for i in items if i.get('default')]
        if defaults:
            groups = [g for g in self.listing() if g.name == 'default']
            for item in defaults:
                self.imp.working = item
                # The project's one default group, by its role: Neutron
                # makes it with the project, the import never does.
                if len(groups) != 1:
                    raise ImportFailed('%s: the target project has %d '
                                       'default security groups'
                                       % (describe(item), len(groups)))
                self.imp.keep(item, groups[0].id, MAPPED)
                self._rules_of[item['id']] = (groups[0], False)
        self.imp.sync(self, [i for i in items if not i.get('default')])
        for item in items:
            self.imp.working = item
            remote = [rule['remote_group'] for rule in item.get('rules') or []
                      if rule.get('remote_group')]
            # In check mode, or once the group (and those its rules name)
            # has been made or found.
            self.imp.later(self, item, [item['id']] + remote,
                           functools.partial(self._rules_now, item),
                           key=item['id'] + '/rules')

    def _rules_now(self, item):
        if item['id'] in self._rules_of:  # else check mode: yet to be made
            self._rules(item, *self._rules_of[item['id']])

    def _rules(self, item, group, ours):
        wanted = []
        for rule in item.get('rules') or []:
            rule = {key: value for key, value in rule.items()
                    if value is not None}
            remote = rule.pop('remote_group', None)
            if remote is not None:
                rule['remote_group_id'] = self.resolve(
                    item, remote, 'rule\'s remote security group')
                if rule['remote_group_id'] is None:
                    return  # check mode: that group is to come
            wanted.append(rule)
        if group is None:
            return  # check mode: the group itself is to come
        have = {_rule_key(rule): rule
                for rule in group.security_group_rules or []}
        missing = [rule for rule in wanted if _rule_key(rule) not in have]
        keep = {_rule_key(rule) for rule in wanted}
        # Rules leave only a group this import made: another's group
        # keeps every rule it had, whatever the export says.
        extra = [rule for key, rule in have.items()
                 if key not in keep] if ours else []
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


def _same_bytes(image, checksum):
    if not checksum.get('value'):
        return True  # nothing to compare with
    if checksum['algo'] == 'md5':
        return image.checksum == checksum['value']
    return (image.hash_algo == checksum['algo']
            and image.hash_value == checksum['value'])


def _reported(image):
    """What the target's Glance computed over the bytes it received, by
    algorithm."""
    reported = {}
    if image.hash_algo and image.hash_value:
        reported[image.hash_algo] = image.hash_value
    if image.checksum:
        reported['md5'] = image.checksum
    return reported


def _file_digests(path, algos):
    hashers = {algo: hashlib.new(algo) for algo in algos}
    with open(path, 'rb') as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b''):
            for hasher in hashers.values():
                hasher.update(chunk)
    return {algo: hasher.hexdigest() for algo, hasher in hashers.items()}


def _holds(image, item):
    """Whether ``image`` holds the exported bytes, by what the target's
    Glance reports: the digests of the blob (whatever algorithm either
    Glance uses; any one that both know decides), else the source's
    checksum."""
    digests = item.get('digests') or {}
    reported = _reported(image)
    common = [algo for algo in reported if algo in digests]
    if common:
        return all(reported[a] == digests[a] for a in common)
    return _same_bytes(image, item.get('checksum') or {}) and bool(
        (item.get('checksum') or {}).get('value'))


def _upload_algos(digests):
    """What to hash the bytes with as they are sent: one digest the export
    recorded (the file is checked against it) and sha512, which Glance
    computes unless told otherwise (the upload is checked against it).
    sha512 alone when the export has it: each algorithm costs a pass of
    CPU over the bytes (about 2 s per GiB for sha512, 1.7 for md5)."""
    if not digests or 'sha512' in digests:
        return {'sha512'}
    recorded = next((a for a in ('sha384', 'sha256', 'sha1', 'md5')
                     if a in digests), sorted(digests)[0])
    return {'sha512', recorded}


class _HashingReader:
    """The blob as the upload reads it, hashed on the way: what was sent is
    what is checked."""

    def __init__(self, stream, algos):
        self.stream = stream
        self.hashers = {algo: hashlib.new(algo) for algo in algos}
        self.size = os.fstat(stream.fileno()).st_size

    def read(self, size=-1):
        chunk = self.stream.read(size)
        for hasher in self.hashers.values():
            hasher.update(chunk)
        return chunk

    def __len__(self):
        return self.size

    def digests(self):
        return {algo: h.hexdigest() for algo, h in self.hashers.items()}


class Uploads:
    """Bytes into a new private image of the target, verified twice: the
    file against the export's digests (the output directory may have been
    copied or changed since), and what the target's Glance computed against
    the file, in the algorithm that Glance uses.  The image is recorded
    before its bytes are sent, so that an upload killed half-way is found
    (and replaced) by the next run instead of being left behind."""

    def __init__(self, kind):
        self.kind = kind
        self.conn = kind.conn

    def upload(self, item, name, attrs, filename, source):
        from openstack.exceptions import raise_from_response
        body = {'name': name, 'visibility': 'private',
                'disk_format': attrs['disk_format'],
                'container_format': attrs['container_format'],
                'min_disk': int(attrs.get('min_disk') or 0),
                'min_ram': int(attrs.get('min_ram') or 0)}
        for key, value in (attrs.get('properties') or {}).items():
            # Glance v2 takes extra properties as strings only.
            body[key] = value if isinstance(value, str) else str(value)
        if attrs.get('tags'):
            body['tags'] = list(attrs['tags'])
        response = self.conn.image.post('/images', json=body)
        # A raw request: an error answer raises nothing by itself.
        raise_from_response(response)
        image_id = response.json()['id']
        self.kind.imp.made(item, image_id)
        digests = source.get('digests') or {}
        with open(filename, 'rb') as stream:
            data = _HashingReader(stream, _upload_algos(digests))
            response = self.conn.image.put(
                '/images/%s/file' % image_id, data=data,
                headers={'Content-Type': 'application/octet-stream'})
        # Recorded, and not active: the next run replaces it.
        raise_from_response(response)
        sent = data.digests()
        image = self.conn.image.get_image(image_id)
        changed = sorted(a for a in digests
                         if a in sent and sent[a] != digests[a])
        if changed:
            self._reject(item, image, '%s does not hold the exported bytes '
                         '(its %s is %s, the export wrote %s): the output '
                         'directory changed since; export again'
                         % (filename, changed[0], sent[changed[0]],
                            digests[changed[0]]))
        if digests:
            reported = _reported(image)
            common = [a for a in reported if a in sent]
            if reported and not common:
                # A Glance configured for another algorithm: read once more.
                algo = image.hash_algo if image.hash_algo in reported \
                    else 'md5'
                sent.update(_file_digests(filename, [algo]))
                common = [algo]
            wrong = sorted(a for a in common if reported[a] != sent[a])
            if image.status != 'active' or not reported or wrong:
                algo = wrong[0] if wrong else image.hash_algo
                self._reject(item, image, "the target's Glance reports %s "
                             '(%s, status %s) for the uploaded image %s, the '
                             'bytes sent %s' % (
                                 reported.get(algo), algo, image.status,
                                 image.id, sent.get(algo)))
        else:
            self.verify(image, source.get('checksum'), item)
        return image

    def _reject(self, item, image, message):
        # Ours, and not the bytes: deleted, so that the next run uploads
        # again instead of trusting it.
        self.conn.image.delete_image(image.id, ignore_missing=True)
        raise ImportFailed('%s: %s; it was deleted' % (describe(item),
                                                       message))

    def verify(self, image, checksum, item):
        checksum = checksum or {}
        # A target configured for another os_hash_algo cannot be compared;
        # md5 is computed by every Glance.
        comparable = checksum.get('algo') == 'md5' or \
            image.hash_algo == checksum.get('algo')
        if image.status == 'active' and (
                not comparable or _same_bytes(image, checksum)):
            return
        got = image.checksum if checksum.get('algo') == 'md5' \
            else image.hash_value
        self._reject(item, image, "the target's Glance reports %s (%s, "
                     'status %s) for the uploaded image %s, the manifest %s'
                     % (got, checksum.get('algo'), image.status, image.id,
                        checksum.get('value')))


class Images(Kind):
    """Images and server snapshots.  Uploads run ``parallel`` at a time,
    and each is checked against the checksum of the export before it is
    used."""

    types = ('image', 'server_snapshot')
    adoptable = True
    lane = 'image'
    lists = ('images',)

    def ready(self, obj):
        return obj.status == 'active'

    def proof(self, item, obj):
        if obj.status != 'active':
            return 'it is %s' % obj.status
        if not _holds(obj, item):
            return 'its checksum differs'
        return None

    def corrections(self, item, obj):
        change = {'name': item['name']} if obj.name != item['name'] else {}
        change.update(_tag_change(item.get('attributes') or {}, obj))
        return change

    def correct(self, item, obj, change):
        change = dict(change)
        tags = change.pop('tags', None)
        if change:
            self.conn.image.update_image(obj, **change)
        if tags is not None:
            # Glance changes tags one by one.
            have = set(obj.tags or [])
            for tag in sorted(set(tags) - have):
                self.conn.image.add_tag(obj, tag)
            for tag in sorted(have - set(tags)):
                self.conn.image.remove_tag(obj, tag)

    def create(self, item):
        return Uploads(self).upload(item, item['name'], item['attributes'],
                                    item['filename'], item)

    def discard(self, obj):
        self.conn.image.delete_image(obj.id, ignore_missing=True)


class Volumes(Kind):
    """Volumes: empty, or from their exported bytes through a temporary
    image of the import's own (``volume contents`` in the journal), deleted
    once the volume has them."""

    types = ('volume',)
    lane = 'volume'
    BUSY = ('creating', 'downloading', 'attaching', 'detaching', 'reserved')
    lists = ('volumes',)

    def ready(self, obj):
        return not (obj.status or '').startswith('error')

    def corrections(self, item, obj):
        return _differs(obj, {'name': item['name'],
                              'description': item['description']})

    def correct(self, item, obj, change):
        self.conn.block_storage.update_volume(obj, **change)

    def discard(self, obj):
        self.conn.block_storage.delete_volume(obj, ignore_missing=True)
        self.conn.block_storage.wait_for_delete(obj, wait=WAIT_VOLUME)

    def _contents(self, item):
        """A verified image of the volume's bytes, made or recorded."""
        contents = {'type': 'volume_contents', 'csv_type': 'volume contents',
                    'id': item['id'], 'name': 'downpour-volume-' + item['id']}
        recorded = self.imp.journal.recall(contents)
        if recorded:
            # From the one image list every kind shares, not a request each.
            image = next((i for i in self.imp.listed('images')
                          if i.id == recorded[0]), None)
            if image is not None:
                if image.status == 'active' and _holds(image, item):
                    return contents, image
                # Ours, and not (yet) the bytes: replaced.
                self.conn.image.delete_image(image.id, ignore_missing=True)
        # As captured (qcow2 since issue 16; raw before, and on request).
        attrs = {'disk_format': item.get('disk_format') or 'raw',
                 'container_format': 'bare'}
        return contents, Uploads(self).upload(
            contents, contents['name'], attrs, item['filename'], item)

    def create(self, item):
        attrs = {'name': item['name'], 'size': int(item['size']),
                 'description': item['description'],
                 'metadata': dict(item.get('metadata') or {})}
        # Chosen by the look; '' is the target's default: none is named.
        for key, what in (('volume_type', 'volume type'),
                          ('availability_zone', 'availability zone')):
            if item.get(key):
                chosen = self.resolve(item, item[key], what)
                if chosen:
                    attrs[key] = chosen
        contents = None
        if item.get('filename'):
            contents, image = self._contents(item)
            attrs['image_id'] = image.id
        volume = self.conn.block_storage.create_volume(**attrs)
        self.imp.made(item, volume.id)
        volume = self.conn.block_storage.wait_for_status(
            volume, 'available', failures=['error'], interval=2,
            wait=WAIT_VOLUME)
        if bool(volume.is_bootable) != bool(item.get('bootable')):
            self.conn.block_storage.set_volume_bootable_status(
                volume, bool(item.get('bootable')))
        if contents is not None:
            self.conn.image.delete_image(attrs['image_id'],
                                         ignore_missing=True)
        return volume

    def complete(self, item, obj, ours):
        if ours and obj.status in self.BUSY and not self.imp.wait(item):
            self.conn.block_storage.wait_for_status(
                obj, 'available', failures=['error'], interval=2,
                wait=WAIT_VOLUME)


class Ports(Kind):
    """A server's ports, made before it with their fixed IPs and security
    groups, so that the server is created on them by ID, and the ports
    without a device that hold an address the others name in their
    allowed address pairs (a keepalived VIP).  On a network the import
    made, a port gets the source's MAC, address pairs and port security
    too; the MAC is set when the port is made, never changed after."""

    types = ('port',)
    lane = 'network'
    lists = ('ports',)

    def needs(self, item):
        keys = [item.get('network')]
        keys += [fixed.get('subnet') for fixed in item.get('fixed_ips') or []]
        keys += list(item.get('security_groups') or [])
        return tuple(key for key in keys if key)

    def _groups(self, item):
        """The target IDs of the port's groups; None while one is yet to
        be made (check mode) or with none given."""
        if item.get('security_groups') is None:
            return None
        found = [self.imp.ids.get(group) for group in item['security_groups']]
        return None if None in found else found

    @staticmethod
    def _pairs(pairs, mac):
        return sorted((p.get('ip_address'), p.get('mac_address') or mac)
                      for p in pairs or [])

    def corrections(self, item, obj):
        change = _differs(obj, {'name': item['name'],
                                'description': item['description']})
        secure = item.get('port_security_enabled')
        if secure is not None and obj.is_port_security_enabled != secure:
            change['is_port_security_enabled'] = secure
        if secure is False:
            # Neutron refuses groups and pairs on a port without port
            # security: they go in the same request.
            if obj.security_group_ids:
                change['security_group_ids'] = []
            if obj.allowed_address_pairs:
                change['allowed_address_pairs'] = []
        else:
            groups = self._groups(item)
            if groups is not None and \
                    set(groups) != set(obj.security_group_ids or []):
                change['security_group_ids'] = groups
            pairs = item.get('allowed_address_pairs')
            if pairs is not None and self._pairs(pairs, obj.mac_address) \
                    != self._pairs(obj.allowed_address_pairs, None):
                change['allowed_address_pairs'] = pairs
        change.update(_tag_change(item, obj))
        return change

    def correct(self, item, obj, change):
        _neutron_update(self, obj, change, self.conn.network.update_port)

    def create(self, item):
        network_id = self.resolve(item, item['network'], 'network')
        fixed_ips = []
        for fixed in item.get('fixed_ips') or []:
            subnet_id = self.resolve(item, fixed['subnet'], 'subnet')
            # No address on a subnet that derives it from the MAC.
            fixed_ips.append({'subnet_id': subnet_id} if fixed.get(
                'ip_address') is None else {'subnet_id': subnet_id,
                                            'ip_address': fixed['ip_address']})
        attrs = {'name': item['name'], 'description': item['description'],
                 'network_id': network_id}
        if fixed_ips:
            attrs['fixed_ips'] = fixed_ips
        if item.get('security_groups') is not None:
            attrs['security_group_ids'] = [
                self.resolve(item, group, 'security group')
                for group in item['security_groups']]
        if item.get('mac_address'):
            attrs['mac_address'] = item['mac_address']
        if item.get('port_security_enabled') is not None:
            # Said either way: a port takes its network's default.
            attrs['is_port_security_enabled'] = item['port_security_enabled']
        if item.get('port_security_enabled') is False:
            attrs['security_group_ids'] = []
        elif item.get('allowed_address_pairs'):
            attrs['allowed_address_pairs'] = item['allowed_address_pairs']
        return _tag_new(self, item, self.conn.network.create_port(**attrs))


class ServerGroups(Kind):
    """Server groups, before their servers: Nova puts a server in a group
    only when it creates it.  Nothing of a group can be changed once it is
    made (name, policy, rules), so one of ours is only found; one of the
    target's is never adopted, its members are not ours."""

    types = ('server_group',)
    lane = 'compute'
    lists = ('server_groups',)

    def create(self, item):
        attrs = {'name': item['name'], 'policy': item['policy']}
        if item.get('rules'):
            attrs['rules'] = dict(item['rules'])
        return self.conn.compute.create_server_group(**attrs)


class Servers(Kind):
    """Servers, on their ports, booted from their image (or capture) or
    from their root volume, then given their volumes in order."""

    types = ('server',)
    lane = 'compute'
    BUSY = ('BUILD', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE', 'REBOOT',
            'HARD_REBOOT')
    lists = ('servers',)

    def needs(self, item):
        keys = [item.get('image'), item.get('boot_volume'),
                item.get('server_group')]
        keys += list(item.get('volumes') or []) + list(item.get('ports') or [])
        return tuple(key for key in keys if key)

    def ready(self, obj):
        return obj.status != 'ERROR'

    def corrections(self, item, obj):
        change = {'name': item['name']} if obj.name != item['name'] else {}
        if (obj.description or '') != (item.get('description') or ''):
            change['description'] = item.get('description') or ''
        change.update(_tag_change(item, obj))
        return change

    def correct(self, item, obj, change):
        change = dict(change)
        tags = change.pop('tags', None)
        if change:
            self.conn.compute.update_server(obj, **change)
        if tags is not None:
            obj.set_tags(self.conn.compute, tags)

    def _tags_at_boot(self):
        # Nova takes tags in the create request from API 2.52 on.  Imported
        # here, as OpenStackModule imports openstacksdk: without it the
        # module fails with the collection's message.
        from openstack import utils
        return utils.supports_microversion(self.conn.compute, '2.52')

    def discard(self, obj):
        self.conn.compute.delete_server(obj)
        self.conn.compute.wait_for_delete(obj, wait=WAIT_SERVER)

    def create(self, item):
        attrs = {'name': item['name'],
                 'flavor_id': self.resolve(item, item['flavor'], 'flavor'),
                 'metadata': dict(item.get('metadata') or {}),
                 'has_config_drive': bool(item.get('config_drive'))}
        ports = [self.resolve(item, port, 'port')
                 for port in item.get('ports') or []]
        attrs['networks'] = [{'port': port} for port in ports] or 'none'
        if item.get('boot_volume'):
            attrs['block_device_mapping'] = [{
                'boot_index': 0, 'source_type': 'volume',
                'destination_type': 'volume',
                'delete_on_termination': self._doomed(item,
                                                      item['boot_volume']),
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
            for volume_id, doomed in wrong.items():
                # Compute API 2.85 and later.
                self.conn.compute.update_volume_attachment(
                    obj, volume_id, delete_on_termination=doomed)
            self.imp.changed = True


class FloatingIPs(Kind):
    """Floating IPs, after the servers: each is allocated on the external
    network chosen for the source's and associated, in the same request,
    with the new port on the same fixed IP.  The target chooses the
    address; ``Importer.addresses`` keeps the old and the new one."""

    types = ('floating_ip',)
    lists = ('floating_ips',)

    def scope(self, item, listing):
        # A floating IP has no name, and an address the target holds says
        # nothing about it: none is ever a clash, none is ever adopted.
        return []

    def corrections(self, item, obj):
        wanted = {'description': item.get('description') or ''}
        # One exported without a port is left on whatever port it was
        # given since: taking it off would cut a service off.
        if item.get('port'):
            port_id = self.resolve(item, item['port'], 'port')
            if port_id is None:
                return {}  # check mode: its port is yet to be made
            wanted.update(port_id=port_id,
                          fixed_ip_address=item.get('fixed_ip_address'))
        change = _differs(obj, wanted)
        tags = sorted(item.get('tags') or [])
        if sorted(obj.tags or []) != tags:
            change['tags'] = tags
        return change

    def correct(self, item, obj, change):
        tags = change.pop('tags', None)
        if change:
            self.conn.network.update_ip(obj, **change)
        if tags is not None:
            self.conn.network.set_tags(obj, tags)

    def create(self, item):
        attrs = {'floating_network_id': self.resolve(
                     item, item['network'], 'external network'),
                 'description': item.get('description') or ''}
        if item.get('port'):
            attrs['port_id'] = self.resolve(item, item['port'], 'port')
            if item.get('fixed_ip_address'):
                attrs['fixed_ip_address'] = item['fixed_ip_address']
        obj = self.conn.network.create_ip(**attrs)
        self.imp.made(item, obj.id)
        if item.get('tags'):
            self.conn.network.set_tags(obj, list(item['tags']))
        return obj

    def complete(self, item, obj, ours):
        self.imp.addresses[item['id']] = {
            'old_address': item.get('address') or item['name'],
            'new_address': obj.floating_ip_address,
            'fixed_ip': item.get('fixed_ip_address') or '',
            'port': self.imp.ids.get(item['port'], '')
            if item.get('port') else '',
            'old': item['id'], 'new': obj.id}


ADDRESS_HEADER = ('Old Address', 'New Address', 'Fixed IP', 'Port', 'Old',
                  'New')


def write_addresses(path, addresses):
    """Rewrite the address table ``path`` unless it says exactly that;
    whether it was written."""
    if not path or not addresses:
        return False
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator='\n')
    writer.writerow(ADDRESS_HEADER)
    for row in addresses:
        writer.writerow((row['old_address'], row['new_address'],
                         row['fixed_ip'], row['port'], row['old'],
                         row['new']))
    return _rewrite(path, out.getvalue())


def _project(conn):
    return {'project_id': conn.current_project_id}


# The target's lists the kinds read (``Kind.lists``), each one call (with
# its pages), fetched once per run and shared.  Neutron lists the project's
# own, except networks: a router's gateway is on an external one, which
# the project does not own.
LISTS = {
    'flavors': lambda conn: conn.compute.flavors(),
    'volume_types': lambda conn: conn.block_storage.types(),
    'keypairs': lambda conn: conn.compute.keypairs(),
    'networks': lambda conn: conn.network.networks(),
    'subnets': lambda conn: conn.network.subnets(**_project(conn)),
    'routers': lambda conn: conn.network.routers(**_project(conn)),
    'security_groups':
        lambda conn: conn.network.security_groups(**_project(conn)),
    'ports': lambda conn: conn.network.ports(**_project(conn)),
    'images': lambda conn: conn.image.images(),
    'volumes': lambda conn: conn.block_storage.volumes(),
    'server_groups': lambda conn: conn.compute.server_groups(),
    'servers': lambda conn: conn.compute.servers(),
    'floating_ips': lambda conn: conn.network.ips(**_project(conn)),
}
# Lists asked for at once as a run starts: asked in turn, each service
# would sit idle while the others answer.
LISTS_AT_ONCE = 8

# In the order the work is done: each needs only those before it.
KINDS = (Flavors, ExternalNetworks, VolumeTypes, AvailabilityZones,
         Keypairs, Networks, Subnets, Routers, SecurityGroups, Images,
         Volumes, Ports, ServerGroups, Servers, FloatingIPs)


class Pipeline:
    """The work of the overlapped kinds of a task (networks, subnets,
    routers, groups and their rules, ports; uploads; volumes; server
    groups, servers): each item's work starts once the work of every
    resource it needs (``Kind.needs``) has ended, in the order the kinds
    come, at most ``parallel`` at a time in each lane (``Kind.lane``, the
    service doing the work).  A server thus waits for its own image,
    volumes, ports and group, not for every upload, and an upload does not
    wait behind the network's calls.  Every item is tried; one that fails
    stops only what needs it, and the error names them all."""

    def __init__(self, parallel):
        self.parallel = max(1, int(parallel))
        self.jobs = []

    def add(self, item, needs, work, key=None, lane=None):
        """``work`` for ``item``, once the jobs of the keys ``needs`` have
        ended; the job's own key is the item's, or ``key`` for a second
        step of it (a group's rules)."""
        self.jobs.append((key or item['id'], item, tuple(needs), work, lane))

    def run(self):
        jobs, self.jobs = self.jobs, []
        if not jobs:
            return
        keys = {job[0] for job in jobs}
        # Failures by the job's place in the list: named in the export's
        # order, whichever ended first.
        done, failed, failures = set(), {}, {}
        order = {job[0]: n for n, job in enumerate(jobs)}
        waiting = list(jobs)
        running = {}
        busy = collections.Counter()

        def start_what_can(pool):
            moved = True
            while moved:  # a failure may stop a chain of items
                moved = False
                for job in list(waiting):
                    key, item, needs, work, lane = job
                    blocked = [k for k in needs
                               if k in keys and k not in done and k != key]
                    lost = [k for k in blocked if k in failed]
                    if lost:
                        waiting.remove(job)
                        failed[key] = describe(item)
                        failures[order[key]] = '%s: skipped, since %s ' \
                            'failed' % (describe(item), failed[lost[0]])
                        moved = True
                    elif not blocked and busy[lane] < self.parallel:
                        waiting.remove(job)
                        busy[lane] += 1
                        running[pool.submit(work)] = (key, item, lane)

        lanes = len({job[4] for job in jobs})
        with concurrent.futures.ThreadPoolExecutor(
                min(self.parallel * lanes, len(jobs))) as pool:
            start_what_can(pool)
            while running:
                finished, _ = concurrent.futures.wait(
                    running, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in finished:
                    key, item, lane = running.pop(future)
                    busy[lane] -= 1
                    try:
                        future.result()
                    except ImportFailed as exc:
                        # Names its item already.
                        failures[order[key]] = str(exc)
                        failed[key] = describe(item)
                    except Exception as exc:  # noqa: BLE001 - named here
                        failures[order[key]] = '%s: %s' % (describe(item),
                                                           exc)
                        failed[key] = describe(item)
                    else:
                        done.add(key)
                start_what_can(pool)
        # Left waiting: only items that need one another get here.
        for key, item, _, _, _ in waiting:
            failures[order[key]] = '%s: skipped, its dependencies form a ' \
                'cycle' % describe(item)
        if failures:
            raise ImportFailed('; '.join(failures[n] for n in sorted(failures)))


class Importer:
    """Runs the kinds in dependency order over a list of items."""

    def __init__(self, conn, ids=None, journal=None, check_mode=False,
                 parallel=4, network_map=None, flavor_map=None,
                 name_clash='create', volume_type_map=None, az_map=None):
        self.conn = conn
        self.network_map = network_map or {}
        self.flavor_map = flavor_map or {}
        self.volume_type_map = volume_type_map or {}
        self.az_map = az_map or {}
        self.choices = []
        self.unmatched = []
        self.name_clash = name_clash
        self.missing = []
        self.clashes = []
        self.ids = dict(ids or {})
        self.journal = journal or Journal(None)
        self.check_mode = check_mode
        self.parallel = parallel
        self.changed = False
        self.pending = []
        self.pending_types = []
        self.created = []
        # Old and new address of each floating IP found or made, by key.
        self.addresses = {}
        self.items = []
        # The item a kind is busy with, for the message of a failure.
        self.working = None
        # Set by ``run``: the overlapped work of a real run.
        self.pipeline = None
        # Each of LISTS, once fetched (or being fetched): a future.
        self._lists = {}
        self._list_lock = threading.Lock()
        self._lock = threading.Lock()

    # -- the target's lists, each fetched once -----------------------------

    def listed(self, name):
        """The target's list ``name`` (of LISTS), fetched on first use;
        the pipeline's threads share it too."""
        with self._list_lock:
            future = self._lists.get(name)
            mine = future is None
            if mine:
                future = self._lists[name] = concurrent.futures.Future()
        if mine:
            # Outside the lock: another list is fetched meanwhile.
            try:
                future.set_result(list(LISTS[name](self.conn)))
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()

    def fetch_lists(self, kinds):
        """Fetch side by side every list the ``kinds`` read."""
        names = list(dict.fromkeys(name for kind in kinds
                                   for name in kind.lists))
        if len(names) < 2:
            return
        # Log in first, not once in each thread.
        self.conn.current_project_id  # noqa: B018
        with concurrent.futures.ThreadPoolExecutor(
                min(len(names), LISTS_AT_ONCE)) as pool:
            for future in [pool.submit(self.listed, name) for name in names]:
                try:
                    future.result()
                except Exception:  # noqa: BLE001, S110
                    # Raised again, with the resource named, where the
                    # kind reads the list.
                    pass

    def items_of(self, kind):
        return [item for item in self.items if item['type'] == kind]

    def created_in_order(self):
        """What this run created, in the export's order: the pipeline's
        threads end in any order, the report should not."""
        order = {item['id']: n for n, item in enumerate(self.items)}
        return sorted(self.created,
                      key=lambda made: order.get(made['old'], len(order)))

    def address_rows(self):
        """The floating IPs' old and new addresses, in the export's order."""
        return [self.addresses[item['id']] for item in self.items
                if item['id'] in self.addresses]

    # -- what the kinds report ---------------------------------------------

    def found(self, item, new_id):
        self.ids[item['id']] = new_id

    def chose(self, item, new_id, line):
        """``item`` (never created) is ``new_id`` in the target ('' for
        the target's default), for the reason ``line`` gives."""
        self.found(item, new_id)
        if line not in self.choices:
            self.choices.append(line)

    def unmatch(self, item, line):
        """``item`` has no match, for the reason ``line`` gives: the play
        stops before anything is created."""
        if item['id'] not in self.missing:
            self.missing.append(item['id'])
        if line not in self.unmatched:
            self.unmatched.append(line)

    def keep(self, item, new_id, how):
        """``item`` is an existing resource, taken as ``how``: recorded by
        a real run (the look changes nothing, so it leaves the row to its
        type's task, which it marks as having work)."""
        self.found(item, new_id)
        if self.journal.recall(item) == (new_id, how):
            return
        if not self.wait(item):
            self.journal.record(item, new_id, how)

    def made(self, item, new_id):
        with self._lock:
            if self.ids.get(item['id']) == new_id and \
                    self.journal.recall(item) == (new_id, CREATED):
                return  # recorded already, as soon as it existed
            self.found(item, new_id)
            self.journal.record(item, new_id, CREATED)
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

    # -- the one loop ------------------------------------------------------

    def sync(self, kind, items):
        """Find, compare, and create or correct ``items`` of ``kind``.

        A resource is ours only when the journal says this import created
        it for that item; then it is corrected (or, broken, replaced).  A
        resource of the item's name that is not ours is a clash, handled
        as ``name_clash`` says; with nothing recorded the item is made.
        """
        if not items:
            return
        listing = kind.listing()
        by_id = {obj.id: obj for obj in listing}
        owned = self.journal.owned_ids()
        todo = []
        for item in items:
            self.working = item
            recorded = self.journal.recall(item)
            obj = by_id.get(recorded[0]) if recorded else None
            ours = bool(recorded) and recorded[1] == CREATED
            if obj is not None and not kind.ready(obj):
                if not ours:
                    raise ImportFailed('%s: %s, which the journal records '
                                       'as %s, is %s' % (
                                           describe(item), obj.id,
                                           recorded[1], obj.status))
                if self.wait(item):
                    continue
                # Ours and unusable (its upload died, it went to ERROR):
                # replaced, as the journal allows.
                kind.discard(obj)
                obj = None
            if obj is not None:
                self.found(item, obj.id)
                # In the pipeline too: a port of ours gets back a group
                # made again in the same run, a server a volume, only once
                # it is there.
                self._then(kind, item, functools.partial(
                    self._keep, kind, item, obj, ours))
                continue
            if item.get('name'):
                same = [o for o in kind.scope(item, listing)
                        if o.name == item['name'] and o.id not in owned]
                if same and self._clash(kind, item, same):
                    continue
            if not self.wait(item):
                todo.append(item)
        self._create(kind, todo)

    def _clash(self, kind, item, same):
        """Handle a name the target already uses; True when ``item`` was
        taken care of (adopted)."""
        ids = ', '.join(sorted(o.id for o in same))
        what = '%s: the target already has %d of that name that this ' \
            'import did not make (%s)' % (describe(item), len(same), ids)
        if self.name_clash == 'adopt' and kind.adoptable:
            reasons = {o.id: kind.proof(item, o) for o in same}
            equal = [o for o in same if reasons[o.id] is None]
            if len(equal) == 1:
                self.keep(item, equal[0].id, ADOPTED)
                self._note('%s: adopted %s, proven equivalent'
                           % (describe(item), equal[0].id))
                kind.complete(item, equal[0], False)
                return True
            why = '; '.join('%s: %s' % (i, r or 'as equivalent as another')
                            for i, r in sorted(reasons.items()))
            self._note('%s; not adopted (%s), a new one is made' % (what, why))
            return False
        if self.name_clash == 'adopt':
            self._note('%s; a %s is never adopted, a new one is made'
                       % (what, csv_type(item)))
        elif self.name_clash == 'stop':
            self._note(what)
            if not self.check_mode:
                raise ImportFailed('%s, and name_clash is stop' % what)
        else:
            self._note('%s; a new one is made beside it' % what)
        return False

    def _note(self, message):
        if message not in self.clashes:
            self.clashes.append(message)

    def _then(self, kind, item, work):
        """Do ``work`` for ``item`` now, or, in a real run of a kind with a
        lane, in the pipeline once what the item needs is there."""
        self.later(kind, item, kind.needs(item), work)

    def later(self, kind, item, needs, work, key=None):
        if self.pipeline is not None and kind.lane is not None:
            self.pipeline.add(item, needs, work, key, kind.lane)
        else:
            work()

    def _create(self, kind, todo):
        for item in todo:
            self.working = item
            self._then(kind, item, functools.partial(self._make, kind, item))

    def _keep(self, kind, item, obj, ours):
        """Correct ``obj``, found for ``item``, if it is ours, and complete
        it (in check mode: note what that would take)."""
        change = kind.corrections(item, obj) if ours else {}
        if change and not self.wait(item):
            kind.correct(item, obj, change)
            self.changed = True
        kind.complete(item, obj, ours)

    def _make(self, kind, item):
        obj = kind.create(item)
        self.made(item, obj.id)
        kind.after_create(item, obj)

    def run(self, items):
        self.items = list(items)
        known = {t for kind in KINDS for t in kind.types}
        unknown = sorted({item['type'] for item in items} - known)
        if unknown:
            raise ImportFailed('unknown resource type(s): %s'
                               % ', '.join(unknown))
        # The look (check mode) makes nothing: no pipeline to wait on.
        self.pipeline = None if self.check_mode else Pipeline(self.parallel)
        present = [kind for kind in KINDS
                   if any(item['type'] in kind.types for item in items)]
        try:
            self.fetch_lists(present)
        except Exception as exc:  # noqa: BLE001 - openstacksdk's many
            raise ImportFailed('the target: %s' % exc) from None
        for kind in present:
            mine = [item for item in items if item['type'] in kind.types]
            if self.pipeline is not None and kind.lane is None:
                self.pipeline.run()  # what comes after needs it done
            try:
                worker = kind(self)
                if hasattr(worker, 'apply'):
                    worker.apply(mine)
                else:
                    self.sync(worker, mine)
            except ImportFailed:
                raise
            except Exception as exc:  # noqa: BLE001 - openstacksdk's many
                raise ImportFailed(self._blame(mine, exc)) from None
        if self.pipeline is not None:
            self.pipeline.run()

    def _blame(self, items, exc):
        item = self.working if self.working in items else None
        what = describe(item) if item else ', '.join(map(describe, items))
        return '%s: %s' % (what, exc)


class DownpourResources(OpenStackModule):
    argument_spec = {
        'resources': {'type': 'list', 'elements': 'dict', 'required': True},
        'ids': {'type': 'dict', 'default': {}},
        'journal': {'type': 'path'},
        'uuids_csv': {'type': 'path'},
        'addresses_csv': {'type': 'path'},
        'name_clash': {'type': 'str', 'default': 'create',
                       'choices': ['create', 'stop', 'adopt']},
        'network_map': {'type': 'dict', 'default': {}},
        'flavor_map': {'type': 'dict', 'default': {}},
        'volume_type_map': {'type': 'dict', 'default': {}},
        'az_map': {'type': 'dict', 'default': {}},
        'parallel': {'type': 'int', 'default': 4},
    }
    module_kwargs = {'supports_check_mode': True}

    def run(self):
        journal = Journal(self.params['journal'])
        importer = Importer(
            self.conn, ids=self.params['ids'], journal=journal,
            check_mode=self.check_mode, parallel=self.params['parallel'],
            network_map=self.params['network_map'],
            flavor_map=self.params['flavor_map'],
            name_clash=self.params['name_clash'],
            volume_type_map=self.params['volume_type_map'],
            az_map=self.params['az_map'])
        try:
            importer.run(self.params['resources'])
        except ImportFailed as exc:
            # What was made before the failure is in the map too.
            journal.write_map(self.params['uuids_csv'])
            write_addresses(self.params['addresses_csv'],
                            importer.address_rows())
            self.fail_json(msg=str(exc), changed=importer.changed,
                           created=importer.created_in_order())
        # A local file, not the cloud: kept in step with the journal even
        # by the look, so that a lost uuids.csv comes back.
        journal.write_map(self.params['uuids_csv'])
        write_addresses(self.params['addresses_csv'], importer.address_rows())
        if self.check_mode:
            for message in importer.clashes:
                self.ansible.warn(message)
        # In check mode, "changed" says that a run would change something.
        changed = importer.changed or bool(importer.pending)
        self.exit_json(changed=changed, ids=importer.ids,
                       missing=importer.missing, clashes=importer.clashes,
                       choices=importer.choices,
                       unmatched=importer.unmatched,
                       pending=importer.pending,
                       pending_types=importer.pending_types,
                       created=importer.created_in_order(),
                       addresses=importer.address_rows())


def main():
    DownpourResources()()


if __name__ == '__main__':
    main()

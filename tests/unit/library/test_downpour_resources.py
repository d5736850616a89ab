"""downpour_resources, the Ansible module the playbook makes keypairs,
networks, subnets, routers, security groups and images with: its core
(Importer and its handlers), against a small stateful target cloud served
by requests-mock.

The module is shipped as a file beside the playbook, not as part of the
package, so it is loaded from its path.
"""

import copy
import csv
import hashlib
import importlib.util
import itertools
import json
import os
import re
import uuid

import pytest
import yaml

from downpour import export, render
from downpour.resourcefile import Entry
from tests.unit.fakecloud import ENDPOINTS, PROJECT_ID
from tests.unit.resources import sample

_PATH = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                     os.pardir, 'downpour', 'library', 'downpour_resources.py')
_SPEC = importlib.util.spec_from_file_location('downpour_resources', _PATH)
dr = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(dr)

OTHER_PROJECT = sample.OTHER_PROJECT
NEUTRON = ENDPOINTS['network'] + '/v2.0'
NOVA = ENDPOINTS['compute']
GLANCE = ENDPOINTS['image'] + '/v2'
WRITES = ('POST', 'PUT', 'PATCH', 'DELETE')

# Found by the playbook's look, never made: no task of their own.
LOOKED_AT = ('downpour_external_networks',)
# The order of the playbook's tasks, and the types each one makes.
BATCHES = (('downpour_keypairs', ('keypair',)),
           ('downpour_networks', ('network', 'subnet')),
           ('downpour_routers', ('router',)),
           ('downpour_security_groups', ('security_group',)),
           ('downpour_images', ('image', 'server_snapshot')))


def _collection(base, name):
    """The URL of a collection, with or without a query string."""
    return re.compile('^%s/%s(\\?.*)?$' % (re.escape(base), name))


def _member(base, name, suffix=''):
    return re.compile('^%s/%s/([^/?]+)%s(\\?.*)?$' % (
        re.escape(base), name, re.escape(suffix)))


class Target:
    """The target project: Neutron, Nova keypairs and Glance images, kept
    in dicts and changed by the requests the module makes.

    ``refuse(method, collection, ...)`` makes the next such requests fail
    the way Neutron, Nova or Glance would.
    """

    def __init__(self, fake_cloud):
        self.cloud = fake_cloud
        self.networks = {}
        self.subnets = {}
        self.routers = {}
        self.ports = {}
        self.groups = {}
        self.keypairs = {}
        self.images = {}
        self.refusals = {}
        # Glance computes the checksums over what it received; a test can
        # make it receive something else (a transfer that went wrong).
        self.mangle = None
        self.mark()
        self._register()
        # A project's own default group, with Neutron's four rules.
        self.default = self._make_group({'name': 'default',
                                         'description': 'Default group'})
        self.default['security_group_rules'] = [
            self._rule(self.default['id'], 'ingress', ethertype,
                       remote_group_id=self.default['id'])
            for ethertype in ('IPv4', 'IPv6')] + [
            self._rule(self.default['id'], 'egress', ethertype)
            for ethertype in ('IPv4', 'IPv6')]
        self.public = self.add_network('public', project=OTHER_PROJECT,
                                       external=True)

    # -- what a test looks at -------------------------------------------

    def mark(self):
        """Count requests from here on."""
        self._start = len(self.cloud.history)

    def calls(self, method=None, path=None):
        """(method, path) of the requests since mark(), login and
        discovery left out; ``path`` filters on a substring."""
        found = []
        for request in self.cloud.history[self._start:]:
            if request.url.startswith(('http://127.0.0.1:15000',)):
                continue
            where = request.url.split('?', 1)[0]
            if where.rstrip('/') in [u.rstrip('/') for u in ENDPOINTS.values()] \
                    or where.endswith(('/v2.0', '/v2', '/v2.1')):
                continue  # version discovery
            if method and request.method != method:
                continue
            if path and path not in where:
                continue
            found.append((request.method, where))
        return found

    def writes(self):
        return [call for call in self.calls() if call[0] in WRITES]

    def bodies(self, method, path):
        return [request.json() for request in self.cloud.history[self._start:]
                if request.method == method and path in request.url]

    def refuse(self, method, collection, status=409, message='refused',
               times=1, after=0):
        """Fail the next ``times`` ``method`` requests on ``collection``,
        after letting ``after`` of them through."""
        self.refusals[(method, collection)] = [after, times, status, message]

    # -- seeding the target -----------------------------------------------

    def add_network(self, name, project=PROJECT_ID, external=False, **extra):
        return self._make_network(dict({'name': name}, **extra),
                                  project=project, external=external)

    def add_subnet(self, name, network, cidr='10.20.0.0/24',
                   gateway='10.20.0.1', **extra):
        return self._make_subnet(dict({'name': name, 'network_id':
                                       network['id'], 'cidr': cidr,
                                       'ip_version': 4,
                                       'gateway_ip': gateway}, **extra))

    def add_router(self, name, **extra):
        return self._make_router(dict({'name': name}, **extra))

    def add_group(self, name, description='', rules=()):
        group = self._make_group({'name': name, 'description': description})
        group['security_group_rules'] = [
            self._rule(group['id'], **rule) for rule in rules]
        return group

    def add_keypair(self, name, public_key):
        self.keypairs[name] = {'name': name, 'public_key': public_key,
                               'type': 'ssh', 'fingerprint': 'aa:bb'}

    def add_image(self, name, data, **extra):
        image = self._new_image(dict({'name': name}, **extra))
        self._store(image, data)
        return image

    # -- the fake services ---------------------------------------------------

    def _register(self):
        mock = self.cloud.mocker
        for name, store, make in (
                ('networks', self.networks, self._make_network),
                ('subnets', self.subnets, self._make_subnet),
                ('routers', self.routers, self._make_router),
                ('ports', self.ports, self._make_port),
                ('security-groups', self.groups, self._make_group)):
            key = name.replace('-', '_')
            one = key[:-1]
            mock.get(_collection(NEUTRON, name),
                     json=self._guard('GET', name, self._lister(key, store)))
            mock.post(_collection(NEUTRON, name), status_code=201,
                      json=self._guard('POST', name, self._creator(one, make)))
            mock.put(_member(NEUTRON, name),
                     json=self._guard('PUT', name, self._updater(one, store)))
        mock.put(_member(NEUTRON, 'routers', '/add_router_interface'),
                 json=self._guard('PUT', 'add_router_interface',
                                  self._add_interface))
        mock.post(_collection(NEUTRON, 'security-group-rules'),
                  status_code=201,
                  json=self._guard('POST', 'security-group-rules',
                                   self._create_rules))
        mock.delete(_member(NEUTRON, 'security-group-rules'),
                    status_code=204,
                    text=self._guard('DELETE', 'security-group-rules',
                                     self._delete_rule, text=True))
        mock.get(_collection(NOVA, 'os-keypairs'),
                 json=self._guard('GET', 'os-keypairs', lambda r, c: {
                     'keypairs': [{'keypair': kp}
                                  for kp in self.keypairs.values()]}))
        mock.post(_collection(NOVA, 'os-keypairs'),
                  json=self._guard('POST', 'os-keypairs',
                                   self._create_keypair))
        mock.get(_collection(GLANCE, 'images'),
                 json=self._guard('GET', 'images', lambda r, c: {
                     'images': list(self.images.values())}))
        mock.post(_collection(GLANCE, 'images'), status_code=201,
                  json=self._guard('POST', 'images', self._create_image))
        mock.get(_member(GLANCE, 'images'),
                 json=self._guard('GET', 'image', self._get_image))
        mock.put(_member(GLANCE, 'images', '/file'), status_code=204,
                 text=self._guard('PUT', 'file', self._upload, text=True))
        mock.delete(_member(GLANCE, 'images'), status_code=204,
                    text=self._delete_image)

    def _delete_image(self, request, context):
        self.images.pop(request.path.rstrip('/').rsplit('/', 1)[-1], None)
        return ''

    def _guard(self, method, collection, answer, text=False):
        def respond(request, context):
            refusal = self.refusals.get((method, collection))
            if refusal is not None:
                if refusal[0] > 0:
                    refusal[0] -= 1
                elif refusal[1] > 0:
                    refusal[1] -= 1
                    context.status_code = refusal[2]
                    body = {'NeutronError': {'type': 'Refused',
                                             'message': refusal[3],
                                             'detail': ''}}
                    return json.dumps(body) if text else body
            return answer(request, context)
        return respond

    @staticmethod
    def _lister(key, store):
        def answer(request, context):
            project = request.qs.get('project_id')
            return {key: [copy.deepcopy(obj) for obj in store.values()
                          if not project or obj['project_id'] in project]}
        return answer

    @staticmethod
    def _creator(one, make):
        def answer(request, context):
            return {one: copy.deepcopy(make(request.json()[one]))}
        return answer

    @staticmethod
    def _updater(one, store):
        def answer(request, context):
            obj = store[request.path.rstrip('/').rsplit('/', 1)[1]]
            obj.update(request.json()[one])
            return {one: copy.deepcopy(obj)}
        return answer

    @staticmethod
    def _base(body, project=PROJECT_ID):
        return dict({'id': str(uuid.uuid4()), 'project_id': project,
                     'tenant_id': project, 'description': ''}, **body)

    def _make_network(self, body, project=PROJECT_ID, external=False):
        net = self._base(dict({'admin_state_up': True, 'status': 'ACTIVE',
                               'port_security_enabled': True,
                               'router:external': external, 'shared': False,
                               'subnets': []}, **body), project)
        self.networks[net['id']] = net
        return net

    def _make_subnet(self, body):
        subnet = self._base(dict({'enable_dhcp': True, 'dns_nameservers': [],
                                  'host_routes': [], 'allocation_pools': []},
                                 **body))
        self.subnets[subnet['id']] = subnet
        self.networks[subnet['network_id']]['subnets'].append(subnet['id'])
        return subnet

    def _make_router(self, body):
        router = self._base(dict({'admin_state_up': True, 'status': 'ACTIVE',
                                  'external_gateway_info': None}, **body))
        self.routers[router['id']] = router
        return router

    def _make_port(self, body):
        port = self._base(dict({'device_id': '', 'device_owner': '',
                                'fixed_ips': []}, **body))
        self.ports[port['id']] = port
        return port

    def _make_group(self, body):
        group = self._base(body)
        # Neutron gives a new group two egress rules.
        group['security_group_rules'] = [
            self._rule(group['id'], 'egress', ethertype)
            for ethertype in ('IPv4', 'IPv6')]
        self.groups[group['id']] = group
        return group

    @staticmethod
    def _rule(group_id, direction='ingress', ethertype='IPv4', **extra):
        return dict({'id': str(uuid.uuid4()), 'security_group_id': group_id,
                     'direction': direction, 'ethertype': ethertype,
                     'protocol': None, 'port_range_min': None,
                     'port_range_max': None, 'remote_ip_prefix': None,
                     'remote_group_id': None, 'description': '',
                     'project_id': PROJECT_ID}, **extra)

    def _create_rules(self, request, context):
        made = []
        for body in request.json()['security_group_rules']:
            rule = self._rule(body.pop('security_group_id'), **body)
            self.groups[rule['security_group_id']][
                'security_group_rules'].append(rule)
            made.append(rule)
        return {'security_group_rules': made}

    def _delete_rule(self, request, context):
        rule_id = request.path.rsplit('/', 1)[1]
        for group in self.groups.values():
            group['security_group_rules'] = [
                r for r in group['security_group_rules']
                if r['id'] != rule_id]
        return ''

    def _add_interface(self, request, context):
        router_id = request.path.split('/')[-2]
        body = request.json()
        if body.get('port_id'):
            port = self.ports[body['port_id']]
        else:
            subnet = self.subnets[body['subnet_id']]
            port = self._make_port({
                'network_id': subnet['network_id'],
                'fixed_ips': [{'subnet_id': subnet['id'],
                               'ip_address': subnet['gateway_ip']}]})
        port.update(device_id=router_id,
                    device_owner='network:router_interface')
        return {'id': router_id, 'port_id': port['id'],
                'subnet_id': port['fixed_ips'][0]['subnet_id']}

    def _create_keypair(self, request, context):
        body = request.json()['keypair']
        self.add_keypair(body['name'], body['public_key'])
        return {'keypair': self.keypairs[body['name']]}

    def _new_image(self, body):
        image = dict({'id': str(uuid.uuid4()), 'status': 'queued',
                      'visibility': 'private', 'owner': PROJECT_ID,
                      'checksum': None, 'os_hash_algo': None,
                      'os_hash_value': None, 'protected': False,
                      'tags': []}, **body)
        self.images[image['id']] = image
        return image

    def _store(self, image, data):
        image.update(
            status='active', size=len(data),
            checksum=hashlib.md5(data).hexdigest(),  # noqa: S324
            os_hash_algo='sha512',
            os_hash_value=hashlib.sha512(data).hexdigest())

    def _create_image(self, request, context):
        return copy.deepcopy(self._new_image(request.json()))

    def _get_image(self, request, context):
        return copy.deepcopy(self.images[request.path.rsplit('/', 1)[1]])

    def _upload(self, request, context):
        body = request.body
        data = body.read() if hasattr(body, 'read') else body
        image = self.images[request.path.split('/')[-2]]
        if self.mangle is not None:
            data = self.mangle(data)
        self._store(image, data)
        return ''


# -- items, as the playbook lists them ---------------------------------------

_IDS = itertools.count(1)


def old_id():
    return '%08d-0000-4000-8000-000000000000' % next(_IDS)


def network(name, old=None, **attributes):
    return {'type': 'network', 'id': old or old_id(), 'name': name,
            'csv_type': 'network',
            'attributes': dict({'is_admin_state_up': True,
                                'description': ''}, **attributes)}


def subnet(name, net, old=None, cidr='10.20.0.0/24', gateway='10.20.0.1'):
    return {'type': 'subnet', 'id': old or old_id(), 'name': name,
            'csv_type': 'subnet', 'network': net['id'],
            'attributes': {'cidr': cidr, 'ip_version': 4, 'description': '',
                           'is_dhcp_enabled': True, 'gateway_ip': gateway,
                           'allocation_pools': [], 'dns_nameservers': [],
                           'host_routes': []}}


def router(name, old=None, gateway=None, interfaces=()):
    item = {'type': 'router', 'id': old or old_id(), 'name': name,
            'csv_type': 'router',
            'attributes': {'is_admin_state_up': True, 'description': ''},
            'interfaces': [
                {'subnet': sub['id'], 'network': sub['network'],
                 'ip_address': address or sub['attributes']['gateway_ip'],
                 'is_gateway': not address}
                for sub, address in interfaces]}
    if gateway:
        item['gateway'] = gateway
    return item


def rule(direction='ingress', ethertype='IPv4', **extra):
    return dict({'direction': direction, 'ethertype': ethertype,
                 'description': ''}, **extra)


def group(name, rules=(), old=None, default=False, description=''):
    item = {'type': 'security_group', 'id': old or old_id(), 'name': name,
            'csv_type': 'security group', 'description': description,
            'rules': list(rules)}
    if default:
        item['default'] = True
    return item


def keypair(name, public_key='ssh-ed25519 AAAAC3Nza test@host'):
    return {'type': 'keypair', 'id': name, 'name': name,
            'csv_type': 'keypair', 'public_key': public_key}


def image(tmp_path, name, data, old=None, algo='sha512', checksum=None):
    old = old or old_id()
    path = tmp_path / old
    path.write_bytes(data)
    value = checksum or hashlib.new(algo, data).hexdigest()
    return {'type': 'image', 'id': old, 'name': name, 'csv_type': 'image',
            'filename': str(path), 'checksum': {'algo': algo, 'value': value},
            'attributes': {'disk_format': 'raw', 'container_format': 'bare',
                           'min_disk': 0, 'min_ram': 0, 'properties': {}}}


# -- running it ----------------------------------------------------------------


def run(fake_cloud, items, csv_path=None, ids=None, check_mode=False,
        network_map=None, flavor_map=None):
    """One module process: its own login, uuids.csv read at the start."""
    importer = dr.Importer(fake_cloud.connect(), ids=ids,
                           recorded=dr.recall(str(csv_path) if csv_path
                                              else None),
                           journal=dr.Journal(str(csv_path) if csv_path
                                              else None),
                           check_mode=check_mode, parallel=2,
                           network_map=network_map, flavor_map=flavor_map)
    importer.run(items)
    return importer


def external(name):
    return {'type': 'external_network', 'id': old_id(), 'name': name}


def play(fake_cloud, lists, csv_path, network_map=None):
    """What the playbook does: look in check mode over every list (which
    finds the external networks), then run the task of each list with
    work pending, with the IDs known so far."""
    keys = LOOKED_AT + tuple(key for key, _ in BATCHES)
    look = run(fake_cloud, [i for key in keys for i in lists.get(key, [])],
               csv_path, check_mode=True, network_map=network_map)
    ids = dict(look.ids)
    ran = []
    for key, types in BATCHES:
        if set(look.pending_types) & set(types) and lists.get(key):
            ids.update(run(fake_cloud, lists[key], csv_path, ids=ids).ids)
            ran.append(key)
    return look, ids, ran


def rows(csv_path):
    with open(csv_path, newline='', encoding='utf-8') as stream:
        return list(csv.reader(stream))


def _sample_lists(fake_cloud, tmp_path):
    """The typed lists of the playbook downpour writes for the sample
    export, read back as Ansible would give them to the module."""
    sample.register(fake_cloud)
    records = export.Exporter(fake_cloud.connect(), 'resources.yml').resolve([
        Entry('servers', name='web-1', index=0),
        Entry('servers', name='web-2', save_state=False, index=1)])
    text = render.render_playbook(records)
    play_, = yaml.safe_load(text.replace('!unsafe ', ''))
    lists = {key: play_['vars'][key]
             for key in LOOKED_AT + tuple(key for key, _ in BATCHES)}
    blobs = tmp_path / 'blobs'
    blobs.mkdir()
    for item in lists['downpour_images']:
        item['filename'] = item['filename'].replace('{{ playbook_dir }}',
                                                    str(tmp_path))
        (blobs / item['id']).write_bytes(sample.IMAGE_BYTES)
    return lists


# -- tests ---------------------------------------------------------------------


def test_a_first_run_makes_everything_and_a_second_nothing(fake_cloud,
                                                          tmp_path):
    lists = _sample_lists(fake_cloud, tmp_path)
    target = Target(fake_cloud)
    csv_path = tmp_path / 'uuids.csv'

    look, ids, ran = play(fake_cloud, lists, csv_path)

    assert look.pending_types == ['keypair', 'network', 'subnet', 'router',
                                  'security_group', 'server_snapshot',
                                  'image']
    assert ran == [key for key, _ in BATCHES]
    # One of each, found under the old IDs the playbook refers to.
    (net,), (sub,), (rtr,) = (list(target.networks.values())[1:],
                              list(target.subnets.values()),
                              list(target.routers.values()))
    web, = [g for g in target.groups.values() if g['name'] == 'web']
    assert ids[sample.NET] == net['id']
    assert ids[sample.SUBNET] == sub['id']
    assert ids[sample.ROUTER] == rtr['id']
    assert ids[sample.SG_WEB] == web['id']
    assert ids[sample.SG_DEFAULT] == target.default['id']
    assert ids['app-key'] == 'app-key'
    assert {ids[sample.IMAGE], ids[sample.SERVER_1]} == set(target.images)
    # As exported.
    posted, = target.bodies('POST', '/networks')
    assert posted == {'network': {'name': 'app-net', 'admin_state_up': True,
                                  'description': '',
                                  'port_security_enabled': True}}
    assert (sub['network_id'], sub['cidr'], sub['gateway_ip']) == (
        net['id'], '10.20.0.0/24', '10.20.0.1')
    assert sub['host_routes'] == [{'destination': '198.51.100.0/24',
                                   'nexthop': '10.20.0.254'}]
    assert rtr['external_gateway_info'] == {'network_id':
                                            target.public['id']}
    interface, = [p for p in target.ports.values()
                  if p['device_id'] == rtr['id']]
    assert interface['fixed_ips'] == [{'subnet_id': sub['id'],
                                       'ip_address': '10.20.0.1'}]
    assert target.keypairs['app-key']['public_key'] == \
        'ssh-ed25519 AAAAC3Nza test@host'
    assert all(i['status'] == 'active' and i['visibility'] == 'private'
               for i in target.images.values())
    # The web group has exactly the exported rules, the ones naming a group
    # naming the new groups; they went in with one request.
    assert sorted(dr._rule_key(r) for r in web['security_group_rules']) == \
        sorted([
            ('egress', 'IPv4', None, None, None, None, None),
            ('ingress', 'IPv4', 'tcp', 22, 22, None, None),
            ('ingress', 'IPv4', 'tcp', 443, 443, None,
             target.default['id']),
            ('ingress', 'IPv4', 'tcp', 80, 80, None, web['id'])])
    assert len(target.calls('POST', '/security-group-rules')) == 1
    # Each resource made has its row, under its old ID.
    made = {(row[0], row[2]): row[3] for row in rows(csv_path)[1:]}
    assert made == {
        ('keypair', 'app-key'): 'app-key',
        ('network', sample.NET): net['id'],
        ('subnet', sample.SUBNET): sub['id'],
        ('router', sample.ROUTER): rtr['id'],
        ('security group', sample.SG_WEB): web['id'],
        ('server snapshot', sample.SERVER_1): ids[sample.SERVER_1],
        ('image', sample.IMAGE): ids[sample.IMAGE]}
    assert rows(csv_path)[0] == ['Resource Type', 'Resource Name', 'Old',
                                 'New']

    # Again: the look finds everything, and nothing is run or written.
    target.mark()
    again, ids_again, ran = play(fake_cloud, lists, csv_path)
    assert (again.pending, again.pending_types, ran) == ([], [], [])
    assert target.writes() == []
    assert ids_again == ids
    assert len(rows(csv_path)) == 8
    # One list call per type, in one login.
    assert sorted(target.calls('GET')) == sorted([
        ('GET', NOVA + '/os-keypairs'),
        ('GET', NEUTRON + '/networks'), ('GET', NEUTRON + '/subnets'),
        ('GET', NEUTRON + '/routers'), ('GET', NEUTRON + '/ports'),
        ('GET', NEUTRON + '/security-groups'), ('GET', GLANCE + '/images')])


def test_check_mode_changes_nothing_and_says_what_is_missing(fake_cloud,
                                                             tmp_path):
    target = Target(fake_cloud)
    net = network('app-net')
    sub = subnet('app-subnet', net)
    items = [keypair('k'), net, sub, router('r', interfaces=[(sub, None)]),
             group('g', [rule(protocol='tcp', port_range_min=22,
                              port_range_max=22)]),
             image(tmp_path, 'img', b'bytes')]
    csv_path = tmp_path / 'uuids.csv'
    target.mark()

    look = run(fake_cloud, items, csv_path, check_mode=True)

    assert target.writes() == []
    assert not csv_path.exists()
    assert look.created == [] and not look.changed
    assert look.pending == [i['id'] for i in items]
    assert look.pending_types == ['keypair', 'network', 'subnet', 'router',
                                  'security_group', 'image']
    assert look.ids == {}


def test_check_mode_lists_only_what_differs(fake_cloud, tmp_path):
    target = Target(fake_cloud)
    net = network('app-net', description='new text')
    target.add_network('app-net', description='old text')
    same = network('same')
    target.add_network('same')
    target.mark()

    look = run(fake_cloud, [net, same], check_mode=True)

    assert target.writes() == []
    assert look.pending == [net['id']]
    assert look.pending_types == ['network']
    assert set(look.ids) == {net['id'], same['id']}


def test_a_recorded_id_wins_over_names(fake_cloud, tmp_path):
    """uuids.csv says which target resource is which, whatever its name
    now, and even when several have that name."""
    target = Target(fake_cloud)
    renamed = target.add_network('renamed by hand')
    twins = [target.add_network('twin'), target.add_network('twin')]
    target.add_network('app-net')  # a decoy with the exported name
    groups = [target.add_group('twin'), target.add_group('twin')]
    csv_path = tmp_path / 'uuids.csv'
    journal = dr.Journal(str(csv_path))
    app = network('app-net')
    nets = [network('twin'), network('twin')]
    sgs = [group('twin'), group('twin')]
    journal.record('network', 'app-net', app['id'], renamed['id'])
    for item, obj in zip(nets, twins, strict=True):
        journal.record('network', 'twin', item['id'], obj['id'])
    for item, obj in zip(sgs, groups, strict=True):
        journal.record('security group', 'twin', item['id'], obj['id'])
    target.mark()

    look = run(fake_cloud, [app] + nets + sgs, csv_path, check_mode=True)
    assert look.ids == dict({app['id']: renamed['id']},
                            **{i['id']: o['id'] for i, o in
                               zip(nets + sgs, twins + groups,
                                   strict=True)})
    # Only the name of the renamed one is to be put right.
    assert look.pending == [app['id']]

    done = run(fake_cloud, [app] + nets + sgs, csv_path)
    assert done.ids == look.ids
    assert target.calls('POST') == []
    assert target.writes() == [('PUT', NEUTRON + '/networks/'
                                + renamed['id'])]
    assert target.networks[renamed['id']]['name'] == 'app-net'
    assert len(rows(csv_path)) == 6  # nothing new recorded


def test_a_recorded_id_the_target_lost_is_made_again(fake_cloud, tmp_path):
    target = Target(fake_cloud)
    csv_path = tmp_path / 'uuids.csv'
    item = network('app-net')
    dr.Journal(str(csv_path)).record('network', 'app-net', item['id'],
                                     str(uuid.uuid4()))

    done = run(fake_cloud, [item], csv_path)

    net, = [n for n in target.networks.values() if n['name'] == 'app-net']
    assert done.ids == {item['id']: net['id']}
    assert rows(csv_path)[-1] == ['network', 'app-net', item['id'],
                                  net['id']]


def test_names_that_repeat_are_all_made_and_each_recorded_at_once(
        fake_cloud, tmp_path):
    target = Target(fake_cloud)
    # The target's own "twin" is not taken for either: which would it be?
    mine = target.add_network('twin')
    items = [network('twin'), network('twin'), network('twin')]
    csv_path = tmp_path / 'uuids.csv'
    # The third fails: the two made before it are on record already.
    target.refuse('POST', 'networks', status=500, message='boom', after=2)

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, items, csv_path)

    made = [n for n in target.networks.values()
            if n['name'] == 'twin' and n is not mine]
    assert len(made) == 2
    assert rows(csv_path) == [
        ['Resource Type', 'Resource Name', 'Old', 'New'],
        ['network', 'twin', items[0]['id'], made[0]['id']],
        ['network', 'twin', items[1]['id'], made[1]['id']]]
    assert "network 'twin' (source ID %s)" % items[2]['id'] in \
        str(failed.value)
    assert 'boom' in str(failed.value)

    # Next time the two are found by their recorded IDs, the third made.
    target.mark()
    done = run(fake_cloud, items, csv_path)
    assert len(target.calls('POST', '/networks')) == 1
    assert [done.ids[i['id']] for i in items[:2]] == [n['id'] for n in made]
    assert done.ids[items[2]['id']] not in (mine['id'], made[0]['id'],
                                            made[1]['id'])
    assert len(rows(csv_path)) == 4


def test_two_in_the_target_with_a_unique_name_stop_the_import(fake_cloud,
                                                              tmp_path):
    target = Target(fake_cloud)
    first, second = target.add_group('web'), target.add_group('web')
    item = group('web')
    target.mark()

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, [item], tmp_path / 'uuids.csv', check_mode=True)

    message = str(failed.value)
    assert message.startswith("security group 'web' (source ID %s): the "
                              'target project has 2 of that name'
                              % item['id'])
    assert first['id'] in message and second['id'] in message
    assert target.writes() == []


def test_a_unique_name_the_target_has_is_taken(fake_cloud, tmp_path):
    target = Target(fake_cloud)
    theirs = target.add_network('app-net')
    item = network('app-net')
    csv_path = tmp_path / 'uuids.csv'
    target.mark()

    done = run(fake_cloud, [item], csv_path)

    assert done.ids == {item['id']: theirs['id']}
    assert target.writes() == []
    assert not csv_path.exists()  # found, not made


def test_a_keypair_with_another_public_key_stops_the_import(fake_cloud,
                                                            tmp_path):
    target = Target(fake_cloud)
    target.add_keypair('ops', 'ssh-ed25519 AAAAother someone@else')
    target.mark()

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, [keypair('ops')], check_mode=True)

    assert str(failed.value) == (
        "keypair 'ops' (source ID ops): the target has a keypair of that "
        'name with another public key')
    assert target.writes() == []


def test_a_keypair_with_the_same_public_key_is_used(fake_cloud):
    target = Target(fake_cloud)
    # Nova may hand the key back with another line ending.
    target.add_keypair('ops', 'ssh-ed25519 AAAAC3Nza test@host\n')
    target.mark()

    done = run(fake_cloud, [keypair('ops')])

    assert done.ids == {'ops': 'ops'}
    assert target.writes() == []


@pytest.mark.parametrize('algo', ['sha512', 'md5'])
def test_an_upload_is_verified_against_the_manifest(fake_cloud, tmp_path,
                                                    algo):
    target = Target(fake_cloud)
    good = image(tmp_path, 'good', b'good bytes', algo=algo)
    csv_path = tmp_path / 'uuids.csv'

    done = run(fake_cloud, [good], csv_path)

    uploaded = target.images[done.ids[good['id']]]
    assert uploaded['name'] == 'good'
    assert rows(csv_path)[1] == ['image', 'good', good['id'],
                                 uploaded['id']]

    # The target's Glance receives other bytes than the export has.
    target.mangle = lambda data: data + b'!'
    bad = image(tmp_path, 'web {{ x }} image', b'bad bytes', algo=algo)
    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, [bad], csv_path)
    message = str(failed.value)
    assert message.startswith("image 'web {{ x }} image' (source ID %s): "
                              "the target's Glance reports " % bad['id'])
    assert bad['checksum']['value'] in message
    assert '(%s)' % algo in message
    # Not recorded, and not left behind: a later run uploads it again.
    assert [row[2] for row in rows(csv_path)[1:]] == [good['id']]
    assert [i['name'] for i in target.images.values()] == ['good']


def test_a_failed_upload_does_not_keep_the_others_from_being_recorded(
        fake_cloud, tmp_path):
    target = Target(fake_cloud)
    first = image(tmp_path, 'first', b'one')
    second = image(tmp_path, 'second', b'two',
                   checksum='0' * 128)  # a corrupted copy of the export
    csv_path = tmp_path / 'uuids.csv'

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, [first, second], csv_path)

    assert "image 'second'" in str(failed.value)
    assert "image 'first'" not in str(failed.value)
    made, = rows(csv_path)[1:]
    assert made[:3] == ['image', 'first', first['id']]
    assert target.images[made[3]]['name'] == 'first'


def test_an_image_with_the_same_name_and_bytes_is_used(fake_cloud,
                                                       tmp_path):
    target = Target(fake_cloud)
    base = target.add_image('cirros', b'cirros bytes', visibility='public')
    target.add_image('other', b'other bytes')
    same = image(tmp_path, 'cirros', b'cirros bytes')
    other = image(tmp_path, 'other', b'new bytes')
    target.mark()

    done = run(fake_cloud, [same, other], tmp_path / 'uuids.csv')

    assert done.ids[same['id']] == base['id']
    # Another image of that name, with other bytes, is not this one.
    assert len(target.calls('POST', '/images')) == 1
    assert target.images[done.ids[other['id']]]['checksum'] == \
        hashlib.md5(b'new bytes').hexdigest()  # noqa: S324


def test_the_default_group_only_gains_rules(fake_cloud, tmp_path):
    target = Target(fake_cloud)
    before = {r['id'] for r in target.default['security_group_rules']}
    item = group('default', default=True, rules=[
        rule('egress'),  # Neutron's own, with a prefix written either way
        rule('egress', remote_ip_prefix='0.0.0.0/0'),
        rule(protocol='tcp', port_range_min=22, port_range_max=22,
             remote_ip_prefix='0.0.0.0/0'),
        rule(protocol='icmp')])
    target.mark()

    done = run(fake_cloud, [item], tmp_path / 'uuids.csv')

    assert done.ids == {item['id']: target.default['id']}
    assert target.calls('DELETE') == []
    posted, = target.bodies('POST', '/security-group-rules')
    assert sorted((r['protocol'], r.get('port_range_min'))
                  for r in posted['security_group_rules']) == [
        ('icmp', None), ('tcp', 22)]
    after = {r['id'] for r in target.default['security_group_rules']}
    assert before < after and len(after) == 6
    assert not (tmp_path / 'uuids.csv').exists()  # the target's own group


def test_another_group_gets_exactly_the_exported_rules(fake_cloud, tmp_path):
    target = Target(fake_cloud)
    extra = {'direction': 'ingress', 'protocol': 'tcp',
             'port_range_min': 23, 'port_range_max': 23}
    found = target.add_group('web', rules=[
        {'direction': 'egress', 'ethertype': 'IPv4'},
        {'direction': 'egress', 'ethertype': 'IPv6'}, extra])
    keep = found['security_group_rules'][0]['id']
    item = group('web', description='Web servers', rules=[
        rule('egress'),
        rule(protocol='tcp', port_range_min=22, port_range_max=22)])
    target.mark()

    run(fake_cloud, [item], tmp_path / 'uuids.csv')

    rules = found['security_group_rules']
    assert sorted(dr._rule_key(r) for r in rules) == [
        ('egress', 'IPv4', None, None, None, None, None),
        ('ingress', 'IPv4', 'tcp', 22, 22, None, None)]
    assert keep in {r['id'] for r in rules}  # unchanged rules stay
    assert len(target.calls('DELETE', '/security-group-rules')) == 2
    assert len(target.calls('POST', '/security-group-rules')) == 1
    assert found['description'] == 'Web servers'


def test_one_rule_request_per_group(fake_cloud, tmp_path):
    target = Target(fake_cloud)
    ports = [rule(protocol='tcp', port_range_min=p, port_range_max=p)
             for p in (22, 80, 443, 8080)]
    items = [group('a', ports), group('b', ports), group('c', [])]
    target.mark()

    done = run(fake_cloud, items, tmp_path / 'uuids.csv')

    posts = target.bodies('POST', '/security-group-rules')
    assert len(posts) == 2
    for body, item in zip(posts, items[:2], strict=True):
        assert len(body['security_group_rules']) == 4
        assert {r['security_group_id'] for r in body['security_group_rules']} \
            == {done.ids[item['id']]}
    # Neutron's two egress rules on each new group are not exported.
    assert len(target.calls('DELETE')) == 6


def test_a_rule_may_name_a_group_made_later(fake_cloud, tmp_path):
    target = Target(fake_cloud)
    b = group('b')
    a = group('a', [rule(protocol='tcp', remote_group=b['id'])])
    b['rules'] = [rule(protocol='udp', remote_group=a['id'])]

    done = run(fake_cloud, [a, b], tmp_path / 'uuids.csv')

    by_name = {g['name']: g for g in target.groups.values()}
    remote = {g['name']: [r['remote_group_id']
                          for r in g['security_group_rules']
                          if r['direction'] == 'ingress']
              for g in by_name.values()}
    assert remote['a'] == [done.ids[b['id']]]
    assert remote['b'] == [done.ids[a['id']]]


def test_a_router_interface_off_the_gateway_keeps_its_address(fake_cloud,
                                                             tmp_path):
    target = Target(fake_cloud)
    net = network('n')
    sub = subnet('s', net)
    item = router('r', interfaces=[(sub, '10.20.0.7')])

    done = run(fake_cloud, [net, sub, item], tmp_path / 'uuids.csv')

    port, = [p for p in target.ports.values()
             if p['device_id'] == done.ids[item['id']]]
    assert port['fixed_ips'] == [{'subnet_id': done.ids[sub['id']],
                                  'ip_address': '10.20.0.7'}]
    assert port['network_id'] == done.ids[net['id']]


def test_errors_of_the_cloud_name_the_resource(fake_cloud, tmp_path):
    target = Target(fake_cloud)
    net = network('n')
    sub = subnet('s', net)
    items = [net, sub, router('first', interfaces=[(sub, None)]),
             router('second')]
    target.refuse('POST', 'routers', status=409,
                  message='Quota exceeded for resources: router.', after=1)

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, items, tmp_path / 'uuids.csv')

    message = str(failed.value)
    assert message.startswith("router 'second' (source ID %s): "
                              % items[3]['id']), message
    assert 'Quota exceeded for resources: router.' in message
    assert "'first'" not in message


def test_an_interface_error_names_its_router(fake_cloud, tmp_path):
    target = Target(fake_cloud)
    net = network('n')
    sub = subnet('s', net)
    first = router('first', interfaces=[(sub, None)])
    items = [net, sub, first, router('second')]
    target.refuse('PUT', 'add_router_interface', status=409,
                  message='Router already has a port on subnet')

    with pytest.raises(dr.ImportFailed) as failed:
        run(fake_cloud, items, tmp_path / 'uuids.csv')

    assert str(failed.value).startswith("router 'first'"), str(failed.value)


def test_the_look_sees_a_router_without_its_gateway(fake_cloud, tmp_path):
    target = Target(fake_cloud)
    target.add_router('r')  # found by name, no external gateway
    public = external('public')
    item = router('r', gateway=public['id'])
    csv_path = tmp_path / 'uuids.csv'

    look, _, ran = play(fake_cloud, {'downpour_external_networks': [public],
                                     'downpour_routers': [item]}, csv_path)

    assert look.pending == [item['id']]
    assert ran == ['downpour_routers']
    found, = target.routers.values()
    assert found['external_gateway_info'] == {'network_id':
                                              target.public['id']}
    # Moved to another external network: the look sees that too.
    other = target.add_network('other-ext', project=OTHER_PROJECT,
                               external=True)
    look, _, ran = play(fake_cloud, {'downpour_external_networks': [public],
                                     'downpour_routers': [item]}, csv_path,
                        network_map={'public': 'other-ext'})
    assert ran == ['downpour_routers']
    assert target.routers[found['id']]['external_gateway_info'] == {
        'network_id': other['id']}


def test_external_networks_are_found_never_made(fake_cloud):
    target = Target(fake_cloud)
    same, mapped, only = external('public'), external('provider'), \
        external('elsewhere')
    target.mark()

    look = run(fake_cloud, [same, mapped, only], check_mode=True,
               network_map={'provider': 'public'})

    # By name, by network_map, and as the target's only external network.
    assert look.ids == {item['id']: target.public['id']
                        for item in (same, mapped, only)}
    assert look.missing == [] and look.pending == []
    assert target.calls('POST') == target.calls('PUT') == []

    # With two external networks, one not named is missing, not guessed;
    # a network_map entry naming nothing is missing too.
    target.add_network('ext-2', project=OTHER_PROJECT, external=True)
    look = run(fake_cloud, [same, mapped, only],
               network_map={'provider': 'gone'})
    assert look.ids == {same['id']: target.public['id']}
    assert look.missing == [mapped['id'], only['id']]


def test_an_unknown_type_is_refused_before_anything_is_done(fake_cloud):
    target = Target(fake_cloud)
    target.mark()
    with pytest.raises(dr.ImportFailed, match='unknown resource type'):
        run(fake_cloud, [network('n'), {'type': 'floating_ip', 'id': 'v',
                                        'name': 'v'}])
    assert target.calls() == []


def test_recall_reads_what_the_journal_and_the_playbook_write(tmp_path):
    path = tmp_path / 'uuids.csv'
    journal = dr.Journal(str(path))
    journal.record('network', 'a\n"b","c"', 'OLD', 'NEW')
    journal.record('server snapshot', 's', 'SERVER', 'IMAGE')
    journal.record('server', 's', 'SERVER', 'NEWSERVER')
    assert dr.recall(str(path)) == {
        ('Resource Type', 'Old'): 'New',
        ('network', 'OLD'): 'NEW',
        ('server snapshot', 'SERVER'): 'IMAGE',
        ('server', 'SERVER'): 'NEWSERVER'}
    assert rows(path)[0] == list(dr.Journal.HEADER)
    assert dr.recall(str(tmp_path / 'missing.csv')) == {}
    assert dr.recall(None) == {}


def test_a_subnet_without_a_gateway_is_made_without_one(fake_cloud,
                                                        tmp_path):
    """Neutron gives a subnet a gateway unless told null."""
    target = Target(fake_cloud)
    net = network('n')
    sub = subnet('s', net, gateway=None)

    run(fake_cloud, [net, sub], tmp_path / 'uuids.csv')

    posted, = target.bodies('POST', '/subnets')
    assert 'gateway_ip' in posted['subnet']
    assert posted['subnet']['gateway_ip'] is None


def test_ansible_doc_shows_the_module_and_its_options():
    import subprocess
    import sys
    tool = os.path.join(os.path.dirname(sys.executable), 'ansible-doc')
    if not os.path.exists(tool):
        pytest.skip('ansible-doc is not installed beside this Python')
    proc = subprocess.run(  # noqa: S603 (our own command)
        [tool, '--json', '-M', os.path.dirname(_PATH), 'downpour_resources'],
        capture_output=True, text=True, timeout=120, check=True)
    doc = json.loads(proc.stdout)['downpour_resources']['doc']
    options = doc['options']
    assert options['resources']['required'] is True
    assert {'ids', 'uuids_csv', 'network_map', 'parallel', 'cloud',
            'auth'} <= set(options)


def _volumes_and_servers(fake_cloud, volumes, servers):
    fake_cloud.get('block-storage', '/volumes/detail',
                   json={'volumes': volumes})
    fake_cloud.get('compute', '/servers/detail', json={'servers': servers})


def _server(server_id, name, status='ACTIVE', attached=()):
    return {'id': server_id, 'name': name, 'status': status,
            'os-extended-volumes:volumes_attached': [
                {'id': volume_id} for volume_id in attached]}


def test_the_look_finds_volumes_and_servers_that_are_complete(fake_cloud,
                                                               tmp_path):
    target = Target(fake_cloud)
    data = {'type': 'volume', 'id': old_id(), 'name': 'data',
            'csv_type': 'volume'}
    spare = {'type': 'volume', 'id': old_id(), 'name': 'spare',
             'csv_type': 'volume'}
    web = {'type': 'server', 'id': old_id(), 'name': 'web',
           'csv_type': 'server', 'volumes': [data['id']]}
    db = {'type': 'server', 'id': old_id(), 'name': 'db',
          'csv_type': 'server', 'volumes': []}
    _volumes_and_servers(fake_cloud, [
        {'id': 'vol-data', 'name': 'data', 'status': 'in-use'},
        {'id': 'vol-spare', 'name': 'spare', 'status': 'creating'},
    ], [_server('srv-web', 'web', attached=['vol-data']),
        _server('srv-db', 'db', status='BUILD')])
    target.mark()

    look = run(fake_cloud, [data, spare, web, db], tmp_path / 'uuids.csv',
               check_mode=True)

    # Found when ready (and, for a server, with its volumes attached);
    # the rest is left to their own tasks.
    assert look.looked == {data['id']: 'vol-data', web['id']: 'srv-web'}
    assert look.pending == [spare['id'], db['id']]
    assert look.pending_types == ['volume', 'server']
    # One list of each, nothing written.
    assert {m for m, _ in target.calls()} == {'GET'}
    assert sorted(p.rsplit('/', 2)[-2] for _, p in target.calls()
                  if p.endswith('/detail')) == ['servers', 'volumes']


def test_a_server_missing_an_attachment_is_left_to_its_tasks(fake_cloud):
    Target(fake_cloud)
    data = {'type': 'volume', 'id': old_id(), 'name': 'data'}
    web = {'type': 'server', 'id': old_id(), 'name': 'web',
           'volumes': [data['id']]}
    _volumes_and_servers(fake_cloud,
                         [{'id': 'vol-data', 'name': 'data',
                           'status': 'available'}],
                         [_server('srv-web', 'web', attached=[])])

    look = run(fake_cloud, [data, web], check_mode=True)

    assert look.looked == {data['id']: 'vol-data'}
    assert look.pending == [web['id']]


def test_servers_whose_names_repeat_are_found_by_recorded_id(fake_cloud,
                                                              tmp_path):
    Target(fake_cloud)
    first = {'type': 'server', 'id': old_id(), 'name': 'twin',
             'csv_type': 'server', 'volumes': []}
    second = dict(first, id=old_id())
    csv_path = tmp_path / 'uuids.csv'
    dr.Journal(str(csv_path)).record('server', 'twin', second['id'], 'srv-2')
    _volumes_and_servers(fake_cloud, [], [_server('srv-1', 'twin'),
                                          _server('srv-2', 'twin')])

    look = run(fake_cloud, [first, second], csv_path, check_mode=True)

    # Two of that name: only the recorded one is known.
    assert look.looked == {second['id']: 'srv-2'}
    assert look.pending == [first['id']]


def test_volumes_and_servers_are_never_made_by_the_module(fake_cloud):
    Target(fake_cloud)
    with pytest.raises(dr.ImportFailed, match='made by its own task'):
        run(fake_cloud, [{'type': 'server', 'id': old_id(), 'name': 'web',
                          'volumes': []}])


def test_a_server_and_its_snapshot_keep_their_own_ids(fake_cloud, tmp_path):
    """The snapshot of a server is exported under the server's old ID:
    finding the server must not change what the snapshot maps to."""
    target = Target(fake_cloud)
    server_id = old_id()
    blob = tmp_path / 'blob'
    blob.write_bytes(b'disk')
    snapshot = {'type': 'server_snapshot', 'id': server_id,
                'name': 'web-snapshot', 'csv_type': 'server snapshot',
                'filename': str(blob), 'attributes': {
                    'disk_format': 'raw', 'container_format': 'bare'}}
    image_id = target.add_image('web-snapshot', b'disk')['id']
    server = {'type': 'server', 'id': server_id, 'name': 'web',
              'csv_type': 'server', 'volumes': []}
    _volumes_and_servers(fake_cloud, [], [_server('srv-web', 'web')])

    look = run(fake_cloud, [snapshot, server], check_mode=True)

    assert look.ids == {server_id: image_id}
    assert look.looked == {server_id: 'srv-web'}


def test_a_volume_left_under_its_provisional_name_is_left_to_its_tasks(
        fake_cloud, tmp_path):
    """A run stopped between recording a volume and renaming it: the look
    must not skip the tasks that rename it."""
    Target(fake_cloud)
    volume = {'type': 'volume', 'id': old_id(), 'name': 'twin',
              'csv_type': 'volume'}
    csv_path = tmp_path / 'uuids.csv'
    dr.Journal(str(csv_path)).record('volume', 'twin', volume['id'], 'vol-1')
    _volumes_and_servers(fake_cloud, [
        {'id': 'vol-1', 'name': 'downpour-' + volume['id'],
         'status': 'available'}], [])

    look = run(fake_cloud, [volume], csv_path, check_mode=True)

    assert look.looked == {}
    assert look.pending == [volume['id']]


def test_a_recorded_group_renamed_in_the_target_gets_its_name_back(
        fake_cloud, tmp_path):
    target = Target(fake_cloud)
    found = target.add_group('renamed', description='web servers')
    item = group('web', description='web servers')
    csv_path = tmp_path / 'uuids.csv'
    dr.Journal(str(csv_path)).record('security group', 'web', item['id'],
                                     found['id'])

    look = run(fake_cloud, [item], csv_path, check_mode=True)
    assert look.pending == [item['id']]
    run(fake_cloud, [item], csv_path)

    assert target.groups[found['id']]['name'] == 'web'
    assert [g['name'] for g in target.groups.values()].count('web') == 1


def test_flavors_are_chosen_never_made(fake_cloud):
    Target(fake_cloud)
    fake_cloud.get('compute', '/flavors/detail', json={'flavors': [
        {'id': 'f-large', 'name': 't2.large', 'vcpus': 2, 'ram': 4096,
         'disk': 40},
        {'id': 'f-micro', 'name': 't2.micro', 'vcpus': 1, 'ram': 512,
         'disk': 1},
        {'id': 'f-tiny', 'name': 'm1.tiny', 'vcpus': 1, 'ram': 512,
         'disk': 1},
        {'id': 'f-small', 'name': 'm1.small', 'vcpus': 1, 'ram': 2048,
         'disk': 20}]})

    def flavor(var, name, vcpus=1, ram=512, disk=1):
        return {'type': 'flavor', 'id': var, 'name': name, 'vcpus': vcpus,
                'ram': ram, 'disk': disk}

    same = flavor('flavor_001', 'm1.tiny')
    mapped = flavor('flavor_002', 'gold', vcpus=8)
    sized = flavor('flavor_003', 'ds1.custom', ram=1024, disk=10)
    huge = flavor('flavor_004', 'huge', vcpus=64)

    look = run(fake_cloud, [same, mapped, sized, huge], check_mode=True,
               flavor_map={'gold': 't2.large'})

    # By name; by flavor_map (whatever its size); the smallest as large.
    assert look.ids == {'flavor_001': 'f-tiny', 'flavor_002': 'f-large',
                        'flavor_003': 'f-small'}
    assert look.missing == ['flavor_004']
    assert look.pending == []

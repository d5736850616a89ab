"""downpour_resources: server groups and floating IPs in the target,
against a small stateful Nova and Neutron served by requests-mock.

The rules checked are those of ``Importer.sync``: a resource is this
import's own only when the journal records it; a server group of the
target's own is never adopted; a floating IP has no name, so none of the
target's is ever a clash.  The address table is written from what the look
or the task found.
"""

import copy
import csv
import importlib.util
import os
import re
import uuid

import pytest

from tests.unit.fakecloud import ENDPOINTS, PROJECT_ID

_PATH = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                     os.pardir, 'downpour', 'library', 'downpour_resources.py')
_SPEC = importlib.util.spec_from_file_location('downpour_resources_gf', _PATH)
dr = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(dr)

NOVA = ENDPOINTS['compute']
NEUTRON = ENDPOINTS['network'] + '/v2.0'
WRITES = ('POST', 'PUT', 'PATCH', 'DELETE')

EXT_OLD = '11111111-1111-4111-8111-111111111111'
PORT_OLD = 'aaaaaaaa-0000-4000-8000-000000000002'
GROUP_OLD = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc'
FIP_OLD = 'dddddddd-dddd-4ddd-8ddd-ddddddddddd1'
SPARE_OLD = 'dddddddd-dddd-4ddd-8ddd-ddddddddddd2'
SERVER_OLD = '88888888-8888-4888-8888-888888888881'
EXT_NET = 'e0000000-0000-4000-8000-00000000000e'
NEW_PORT = 'f0000000-0000-4000-8000-00000000000f'


def _id(request):
    return request.path.rstrip('/').split('/')


class Target:
    """Server groups, servers and floating IPs of one project."""

    def __init__(self, fake_cloud):
        self.cloud = fake_cloud
        self.groups = {}
        self.servers = {}
        self.fips = {}
        self.addresses = (f'198.51.100.{n}' for n in range(100, 250))
        self.mark()
        mock = fake_cloud.mocker
        mock.get(re.compile(re.escape(NOVA) + r'/os-server-groups(\?.*)?$'),
                 json=lambda r, c: {'server_groups': copy.deepcopy(
                     list(self.groups.values()))})
        mock.post(NOVA + '/os-server-groups', json=self._create_group)
        mock.post(NOVA + '/servers', status_code=202,
                  json=self._create_server)
        mock.get(re.compile(re.escape(NOVA) + r'/servers/[^/]+$'),
                 json=lambda r, c: {'server': copy.deepcopy(
                     self.servers[_id(r)[-1]])})
        # Registered last: requests-mock tries the latest first.
        mock.get(re.compile(re.escape(NOVA) + r'/servers/detail(\?.*)?$'),
                 json=lambda r, c: {'servers': copy.deepcopy(
                     list(self.servers.values()))})
        mock.get(re.compile(re.escape(NEUTRON) + r'/floatingips(\?.*)?$'),
                 json=self._list_fips)
        mock.post(NEUTRON + '/floatingips', status_code=201,
                  json=self._create_fip)
        mock.put(re.compile(re.escape(NEUTRON) + r'/floatingips/[^/]+$'),
                 json=self._update_fip)
        mock.put(re.compile(re.escape(NEUTRON) + r'/floatingips/[^/]+/tags$'),
                 json=self._set_tags)

    # -- what a test looks at ----------------------------------------------

    def mark(self):
        self._start = len(self.cloud.history)

    def requests(self, method=None, path=''):
        return [r for r in self.cloud.history[self._start:]
                if (method is None or r.method == method)
                and path in r.path and not r.url.startswith(
                    'http://127.0.0.1:15000')]

    def writes(self):
        return [(r.method, r.path) for r in self.requests()
                if r.method in WRITES]

    # -- seeding -------------------------------------------------------------

    def add_group(self, name, policy='affinity', rules=None):
        group = {'id': str(uuid.uuid4()), 'name': name, 'policy': policy,
                 'rules': rules or {}, 'members': [],
                 'project_id': PROJECT_ID, 'user_id': 'u'}
        self.groups[group['id']] = group
        return group

    def add_fip(self, address, port_id=None, fixed=None, description='',
                tags=()):
        fip = {'id': str(uuid.uuid4()), 'floating_ip_address': address,
               'floating_network_id': EXT_NET, 'port_id': port_id,
               'fixed_ip_address': fixed, 'description': description,
               'tags': list(tags), 'status': 'DOWN',
               'project_id': PROJECT_ID, 'tenant_id': PROJECT_ID}
        self.fips[fip['id']] = fip
        return fip

    # -- the fake services ------------------------------------------------------

    def _create_group(self, request, context):
        body = request.json()['server_group']
        group = self.add_group(body['name'], body['policy'],
                               body.get('rules'))
        return {'server_group': copy.deepcopy(group)}

    def _create_server(self, request, context):
        body = request.json()
        server = dict(body['server'], id=str(uuid.uuid4()), status='ACTIVE',
                      hints=body.get('OS-SCH-HNT:scheduler_hints'))
        server['os-extended-volumes:volumes_attached'] = []
        self.servers[server['id']] = server
        group = (server['hints'] or {}).get('group')
        if group:
            self.groups[group]['members'].append(server['id'])
        return {'server': copy.deepcopy(server)}

    def _list_fips(self, request, context):
        project = request.qs.get('project_id')
        return {'floatingips': [copy.deepcopy(f) for f in self.fips.values()
                                if not project or f['project_id'] in project]}

    def _create_fip(self, request, context):
        body = request.json()['floatingip']
        fip = self.add_fip(next(self.addresses), body.get('port_id'),
                           body.get('fixed_ip_address'),
                           body.get('description', ''))
        fip['floating_network_id'] = body['floating_network_id']
        return {'floatingip': copy.deepcopy(fip)}

    def _update_fip(self, request, context):
        fip = self.fips[_id(request)[-1]]
        fip.update(request.json()['floatingip'])
        return {'floatingip': copy.deepcopy(fip)}

    def _set_tags(self, request, context):
        self.fips[_id(request)[-2]]['tags'] = list(request.json()['tags'])
        return {'tags': request.json()['tags']}


@pytest.fixture
def target(fake_cloud):
    return Target(fake_cloud)


def group_item(name='web-group', policy='anti-affinity', rules=None,
               old=GROUP_OLD):
    return {'type': 'server_group', 'id': old, 'name': name,
            'csv_type': 'server group', 'policy': policy,
            'rules': {'max_server_per_host': 2} if rules is None else rules}


def fip_item(old=FIP_OLD, address='203.0.113.20', port=PORT_OLD,
             fixed='10.20.0.101', description='web-1 public',
             tags=('public', 'web')):
    item = {'type': 'floating_ip', 'id': old, 'name': address,
            'csv_type': 'floating ip', 'address': address,
            'network': EXT_OLD, 'description': description,
            'tags': list(tags)}
    if port:
        item.update(port=port, fixed_ip_address=fixed)
    return item


def run(fake_cloud, items, tmp_path, check_mode=False, name_clash='create',
        ids=None):
    importer = dr.Importer(
        fake_cloud.connect(),
        ids=dict({EXT_OLD: EXT_NET, PORT_OLD: NEW_PORT}, **(ids or {})),
        journal=dr.Journal(str(tmp_path / 'journal.csv')),
        check_mode=check_mode, parallel=2, name_clash=name_clash)
    importer.run(items)
    return importer


def rows(path):
    with open(path, newline='', encoding='utf-8') as stream:
        return list(csv.reader(stream))


# -- server groups -------------------------------------------------------------

def test_a_group_is_made_once_with_its_policy_and_rules(fake_cloud, target,
                                                        tmp_path):
    look = run(fake_cloud, [group_item()], tmp_path, check_mode=True)
    assert (look.pending, target.writes()) == ([GROUP_OLD], [])
    made = run(fake_cloud, [group_item()], tmp_path)
    group, = target.groups.values()
    assert made.ids[GROUP_OLD] == group['id']
    posted, = target.requests('POST', 'os-server-groups')
    assert posted.json() == {'server_group': {
        'name': 'web-group', 'policy': 'anti-affinity',
        'rules': {'max_server_per_host': 2}}}
    assert posted.headers['OpenStack-API-Version'] == 'compute 2.64'
    assert rows(tmp_path / 'journal.csv')[1] == [
        'server group', 'web-group', GROUP_OLD, group['id'], 'created']

    target.mark()
    again = run(fake_cloud, [group_item()], tmp_path, check_mode=True)
    assert (again.pending, again.clashes, target.writes()) == ([], [], [])
    assert again.ids[GROUP_OLD] == group['id']


def test_a_group_without_rules_sends_none(fake_cloud, target, tmp_path):
    run(fake_cloud, [group_item(policy='soft-anti-affinity', rules={})],
        tmp_path)
    posted, = target.requests('POST', 'os-server-groups')
    assert posted.json() == {'server_group': {
        'name': 'web-group', 'policy': 'soft-anti-affinity'}}


def test_the_targets_own_group_is_a_clash_and_never_adopted(
        fake_cloud, target, tmp_path):
    theirs = target.add_group('web-group', policy='anti-affinity',
                              rules={'max_server_per_host': 2})
    look = run(fake_cloud, [group_item()], tmp_path, check_mode=True,
               name_clash='stop')
    clash, = look.clashes
    assert "server group 'web-group'" in clash and theirs['id'] in clash
    with pytest.raises(dr.ImportFailed, match='name_clash is stop'):
        run(fake_cloud, [group_item()], tmp_path, name_clash='stop')
    assert list(target.groups) == [theirs['id']]

    # Even exactly alike, a group of the target's is not taken.
    made = run(fake_cloud, [group_item()], tmp_path, name_clash='adopt')
    assert made.ids[GROUP_OLD] != theirs['id']
    assert 'never adopted' in made.clashes[0]
    assert len(target.groups) == 2
    assert target.groups[theirs['id']]['members'] == []


def test_servers_are_made_into_their_new_group(fake_cloud, target,
                                               tmp_path):
    made = run(fake_cloud, [group_item()], tmp_path)
    new_group = made.ids[GROUP_OLD]
    server = {'type': 'server', 'id': SERVER_OLD, 'name': 'web-1',
              'csv_type': 'server', 'flavor': 'flavor_001',
              'image': 'image-old', 'ports': [PORT_OLD], 'volumes': [],
              'metadata': {}, 'description': '', 'config_drive': False,
              'key_name': None, 'server_group': GROUP_OLD}
    run(fake_cloud, [server], tmp_path, ids={
        'flavor_001': 'f-1', 'image-old': 'i-1', GROUP_OLD: new_group})
    posted, = target.requests('POST', '/servers')
    assert posted.json()['OS-SCH-HNT:scheduler_hints'] == {
        'group': new_group}
    assert target.groups[new_group]['members'] == list(target.servers)


def test_a_server_whose_group_is_missing_is_not_made(fake_cloud, target,
                                                     tmp_path):
    server = {'type': 'server', 'id': SERVER_OLD, 'name': 'web-1',
              'csv_type': 'server', 'flavor': 'flavor_001',
              'image': 'image-old', 'ports': [], 'volumes': [],
              'metadata': {}, 'server_group': GROUP_OLD}
    with pytest.raises(dr.ImportFailed, match='server group'):
        run(fake_cloud, [server], tmp_path,
            ids={'flavor_001': 'f-1', 'image-old': 'i-1'})
    assert target.servers == {}


# -- floating IPs ----------------------------------------------------------------

def test_a_floating_ip_is_allocated_on_its_port_and_listed(fake_cloud,
                                                          target, tmp_path):
    spare = fip_item(old=SPARE_OLD, address='203.0.113.30', port=None,
                     description='spare', tags=['spare'])
    items = [fip_item(), spare]
    look = run(fake_cloud, items, tmp_path, check_mode=True)
    assert (look.pending, look.address_rows(), target.writes()) == (
        [FIP_OLD, SPARE_OLD], [], [])

    made = run(fake_cloud, items, tmp_path)
    posted = [r.json() for r in target.requests('POST', 'floatingips')]
    assert posted == [
        {'floatingip': {'floating_network_id': EXT_NET,
                        'description': 'web-1 public', 'port_id': NEW_PORT,
                        'fixed_ip_address': '10.20.0.101'}},
        {'floatingip': {'floating_network_id': EXT_NET,
                        'description': 'spare'}}]
    web, other = target.fips.values()
    assert (web['tags'], other['tags']) == (['public', 'web'], ['spare'])
    assert made.ids == dict(made.ids, **{FIP_OLD: web['id'],
                                         SPARE_OLD: other['id']})
    assert made.address_rows() == [
        {'old_address': '203.0.113.20', 'new_address': '198.51.100.100',
         'fixed_ip': '10.20.0.101', 'port': NEW_PORT, 'old': FIP_OLD,
         'new': web['id']},
        {'old_address': '203.0.113.30', 'new_address': '198.51.100.101',
         'fixed_ip': '', 'port': '', 'old': SPARE_OLD, 'new': other['id']}]
    journal = rows(tmp_path / 'journal.csv')
    assert journal[1:] == [
        ['floating ip', '203.0.113.20', FIP_OLD, web['id'], 'created'],
        ['floating ip', '203.0.113.30', SPARE_OLD, other['id'], 'created']]

    # The look of a second run: nothing to do, and the same table.
    target.mark()
    again = run(fake_cloud, items, tmp_path, check_mode=True)
    assert (again.pending, target.writes()) == ([], [])
    assert again.address_rows() == made.address_rows()


def test_the_address_table_is_written_when_it_differs(tmp_path):
    path = tmp_path / 'addresses.csv'
    table = [{'old_address': '203.0.113.20', 'new_address': '198.51.100.7',
              'fixed_ip': '10.0.0.5', 'port': NEW_PORT, 'old': FIP_OLD,
              'new': 'n-1'}]
    assert not dr.write_addresses(str(path), [])
    assert not path.exists()
    assert dr.write_addresses(str(path), table)
    assert rows(path) == [
        ['Old Address', 'New Address', 'Fixed IP', 'Port', 'Old', 'New'],
        ['203.0.113.20', '198.51.100.7', '10.0.0.5', NEW_PORT, FIP_OLD,
         'n-1']]
    assert path.read_text().splitlines()[1].startswith('"203.0.113.20",')
    assert os.stat(path).st_mode & 0o077 == 0
    assert not dr.write_addresses(str(path), table)
    assert dr.write_addresses(str(path), [dict(table[0], new='n-2')])
    assert rows(path)[1][-1] == 'n-2'


def test_a_floating_ip_is_never_a_clash(fake_cloud, target, tmp_path):
    # The target holds the old address (the same external range): that
    # says nothing, even when clashes stop the import.
    theirs = target.add_fip('203.0.113.20', description='theirs')
    look = run(fake_cloud, [fip_item()], tmp_path, check_mode=True,
               name_clash='stop')
    assert (look.clashes, look.pending) == ([], [FIP_OLD])
    made = run(fake_cloud, [fip_item()], tmp_path, name_clash='adopt')
    assert made.ids[FIP_OLD] != theirs['id']
    assert target.fips[theirs['id']] == dict(theirs, tags=[])
    assert made.clashes == []


def test_one_of_ours_moved_or_retagged_is_put_back(fake_cloud, target,
                                                   tmp_path):
    made = run(fake_cloud, [fip_item()], tmp_path)
    ours = target.fips[made.ids[FIP_OLD]]
    ours.update(port_id=None, fixed_ip_address=None, tags=['other'],
                description='changed')
    target.mark()
    look = run(fake_cloud, [fip_item()], tmp_path, check_mode=True)
    assert (look.pending, target.writes()) == ([FIP_OLD], [])
    run(fake_cloud, [fip_item()], tmp_path)
    assert (ours['port_id'], ours['fixed_ip_address'], ours['description'],
            ours['tags']) == (NEW_PORT, '10.20.0.101', 'web-1 public',
                              ['public', 'web'])
    assert len(target.fips) == 1


def test_an_unassociated_one_given_a_port_since_keeps_it(fake_cloud, target,
                                                         tmp_path):
    spare = fip_item(old=SPARE_OLD, port=None, tags=())
    made = run(fake_cloud, [spare], tmp_path)
    ours = target.fips[made.ids[SPARE_OLD]]
    ours.update(port_id='p-somewhere', fixed_ip_address='10.9.9.9')
    target.mark()
    again = run(fake_cloud, [spare], tmp_path, check_mode=True)
    assert (again.pending, target.writes()) == ([], [])


def test_one_recorded_but_gone_is_allocated_again(fake_cloud, target,
                                                  tmp_path):
    made = run(fake_cloud, [fip_item()], tmp_path)
    target.fips.pop(made.ids[FIP_OLD])
    again = run(fake_cloud, [fip_item()], tmp_path)
    new, = target.fips.values()
    assert again.ids[FIP_OLD] == new['id'] != made.ids[FIP_OLD]
    # uuids.csv maps the old ID once, to the new one.
    journal = dr.Journal(str(tmp_path / 'journal.csv'))
    mapped = [row for row in csv.reader(journal.map_text().splitlines())
              if row[0] == 'floating ip']
    assert mapped == [['floating ip', '203.0.113.20', FIP_OLD, new['id']]]


def test_the_look_waits_for_a_port_yet_to_be_made(fake_cloud, target,
                                                  tmp_path):
    importer = dr.Importer(fake_cloud.connect(), ids={EXT_OLD: EXT_NET},
                           journal=dr.Journal(str(tmp_path / 'j.csv')),
                           check_mode=True)
    importer.run([fip_item()])
    assert importer.pending == [FIP_OLD]
    assert target.writes() == []
    # A real run without its port stops, naming it.
    importer = dr.Importer(fake_cloud.connect(), ids={EXT_OLD: EXT_NET},
                           journal=dr.Journal(str(tmp_path / 'j.csv')))
    with pytest.raises(dr.ImportFailed, match='its port'):
        importer.run([fip_item()])
    assert target.fips == {}

"""A fake Octavia for the import engine, served by requests-mock beside the
fake target (tests/unit/importer/target.py).

It keeps load balancers and what is on them in dicts, and refuses what the
real one refuses that matters here: any change to a load balancer, or to
anything on it, while it is not ACTIVE (409, "immutable").  After each
change the load balancer is PENDING_* for ``pending`` GETs of it, then
ACTIVE (or ERROR, for an object named in ``breaks``).  A new load
balancer's VIP port is made in the target's Neutron, owned by Octavia.
"""

import copy
import json
import re
import urllib.parse
import uuid

import requests_mock

from tests.unit.fakecloud import OCTAVIA, PROJECT_ID

# openstacksdk finds Octavia's v2 API at /v2.0 (its version's ID).
LBAAS = OCTAVIA + '/v2.0/lbaas'
WRITES = ('POST', 'PUT', 'DELETE')


class Refused(Exception):

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _new_id():
    return str(uuid.uuid4())


class Octavia:
    """``lbs``, ``listeners``, ``pools``, ``members`` (by ID, each with its
    ``pool_id``), ``monitors``, ``policies`` and ``rules`` (each with its
    ``l7policy_id``); ``calls()`` and ``writes()`` since ``mark()``."""

    def __init__(self, fake_cloud, target=None, pending=2):
        self.target = target
        self.pending = pending
        self.breaks = set()
        # Writes refused as immutable though the load balancer is ACTIVE.
        self.immutable = 0
        self.lbs, self.listeners, self.pools, self.members = {}, {}, {}, {}
        self.monitors, self.policies, self.rules = {}, {}, {}
        self.flavors = {'f-small': {'id': 'f-small', 'name': 'small',
                                    'enabled': True}}
        self.zones = {'az1': {'name': 'az1', 'enabled': True}}
        self.quota = {'load_balancer': 10, 'listener': -1, 'pool': -1,
                      'member': 5, 'health_monitor': -1, 'l7policy': -1,
                      'l7rule': -1}
        # GETs of each load balancer left before it leaves PENDING_*.
        self._left = {}
        self.log = []
        self._start = 0
        self.refused = []
        fake_cloud.mocker.register_uri(
            requests_mock.ANY, re.compile('^%s/.+' % re.escape(LBAAS)),
            text=self._dispatch)

    # -- what a test looks at -------------------------------------------

    def mark(self):
        self._start = len(self.log)

    def calls(self):
        return [(m, p) for m, p, _ in self.log[self._start:]]

    def writes(self):
        return [(m, p) for m, p in self.calls() if m in WRITES]

    def bodies(self, method, path_start):
        return [b for m, p, b in self.log[self._start:]
                if m == method and p.startswith(path_start)]

    def add_lb(self, name, subnet_id='s', project=PROJECT_ID, **extra):
        lb = dict({'id': _new_id(), 'name': name, 'description': '',
                   'admin_state_up': True, 'tags': [],
                   'provisioning_status': 'ACTIVE',
                   'operating_status': 'ONLINE', 'project_id': project,
                   'vip_subnet_id': subnet_id, 'vip_address': '10.9.9.9',
                   'vip_port_id': _new_id(), 'provider': 'amphora'}, **extra)
        self.lbs[lb['id']] = lb
        return lb

    # -- the dispatcher ---------------------------------------------------

    def _dispatch(self, request, context):
        url = urllib.parse.urlsplit(request.url)
        path = url.path[len('/v2.0/lbaas'):]
        body = request.json() if request.method in ('POST', 'PUT') and \
            request.body else None
        self.log.append((request.method, path, body))
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(
            url.query).items()}
        try:
            if request.method in WRITES and self.immutable > 0 and \
                    path != '/loadbalancers':
                # As Octavia answers while what is on an ACTIVE load
                # balancer is still PENDING_*.
                self.immutable -= 1
                raise Refused(409, 'Pool %s is immutable and cannot be '
                              'updated.' % path)
            status, answer = self._route(request.method, path, body, query)
        except Refused as exc:
            self.refused.append((request.method, path, str(exc)))
            context.status_code = exc.status
            context.headers['Content-Type'] = 'application/json'
            return json.dumps({'faultstring': str(exc)})
        context.status_code = status
        if answer is None:
            return ''
        context.headers['Content-Type'] = 'application/json'
        return json.dumps(answer)

    def _route(self, method, path, body, query):
        parts = path.strip('/').split('/')
        if parts[0] == 'quotas' and method == 'GET':
            return 200, {'quota': dict(self.quota, project_id=parts[1])}
        if parts[0] == 'flavors' and method == 'GET':
            return 200, {'flavors': list(self.flavors.values())}
        if parts[0] == 'availabilityzones' and method == 'GET':
            return 200, {'availability_zones': list(self.zones.values())}
        if parts[0] == 'pools' and len(parts) >= 3 and \
                parts[2] == 'members':
            return self._children(method, parts[3:], body, 'member',
                                  'members', self.members,
                                  {'pool_id': parts[1]})
        if parts[0] == 'l7policies' and len(parts) >= 3 and \
                parts[2] == 'rules':
            return self._children(method, parts[3:], body, 'rule', 'rules',
                                  self.rules, {'l7policy_id': parts[1]})
        kinds = {'loadbalancers': ('loadbalancer', self.lbs),
                 'listeners': ('listener', self.listeners),
                 'pools': ('pool', self.pools),
                 'healthmonitors': ('healthmonitor', self.monitors),
                 'l7policies': ('l7policy', self.policies)}
        if parts[0] not in kinds:
            raise Refused(501, 'not faked: %s %s' % (method, path))
        return self._children(method, parts[1:], body, kinds[parts[0]][0],
                              parts[0], kinds[parts[0]][1], {}, query)

    def _children(self, method, rest, body, one, plural, store, scope,
                  query=None):
        query = query or {}
        if not rest:
            if method == 'GET':
                # Octavia filters a listing by any field.
                found = [self._show(one, o) for o in store.values()
                         if all(o.get(k) == v for k, v in scope.items())
                         and all(o.get(k) == v for k, v in query.items())]
                return 200, {plural: found}
            if method == 'POST':
                return 201, {one: self._show(one, self._create(
                    one, store, dict(body[one], **scope)))}
        else:
            obj = store.get(rest[0])
            if obj is None or any(obj.get(k) != v
                                  for k, v in scope.items()):
                raise Refused(404, '%s %s not found' % (one, rest[0]))
            if method == 'GET':
                if one == 'loadbalancer':
                    self._tick(obj)
                    if obj['id'] not in self.lbs:
                        raise Refused(404, 'gone')
                return 200, {one: self._show(one, obj)}
            if method == 'PUT':
                self._change(self._lb_of(one, obj))
                obj.update(body[one])
                return 200, {one: self._show(one, obj)}
            if method == 'DELETE':
                self._delete(one, store, obj, query)
                return 204, None
        raise Refused(405, method)

    # -- the rules ---------------------------------------------------------

    def _tick(self, lb):
        left = self._left.get(lb['id'], 0)
        if left > 1:
            self._left[lb['id']] = left - 1
            return
        self._left.pop(lb['id'], None)
        status = lb['provisioning_status']
        if status == 'PENDING_DELETE':
            del self.lbs[lb['id']]
            self._cascade(lb['id'])
            if self.target is not None:
                self.target.ports.pop(lb.get('vip_port_id'), None)
        elif status.startswith('PENDING_'):
            lb['provisioning_status'] = 'ERROR' if lb.pop(
                '_breaks', False) else 'ACTIVE'

    def _change(self, lb, status='PENDING_UPDATE'):
        # One in ERROR may only be deleted.
        if lb['provisioning_status'] != 'ACTIVE' and not (
                status == 'PENDING_DELETE' and
                lb['provisioning_status'] == 'ERROR'):
            raise Refused(409, 'Load Balancer %s is immutable and cannot be '
                          'updated.' % lb['id'])
        lb['provisioning_status'] = status
        self._left[lb['id']] = self.pending

    def _lb_of(self, one, obj):
        if one == 'loadbalancer':
            return obj
        if one in ('listener', 'pool'):
            return self.lbs[obj['loadbalancer_id']]
        if one in ('member', 'healthmonitor'):
            return self._lb_of('pool', self.pools[obj['pool_id']])
        if one == 'l7policy':
            return self._lb_of('listener', self.listeners[obj['listener_id']])
        return self._lb_of('l7policy', self.policies[obj['l7policy_id']])

    def _create(self, one, store, body):
        obj = dict(body, id=_new_id(), project_id=PROJECT_ID,
                   provisioning_status='ACTIVE', operating_status='ONLINE')
        obj.setdefault('tags', [])
        obj.setdefault('admin_state_up', True)
        obj.setdefault('name', '')
        if one == 'l7policy' and obj.get('rules'):
            # As Octavia 19.0.0 does.
            raise Refused(500, "'dict' object has no attribute "
                          "'_sa_instance_state'")
        if one == 'loadbalancer':
            self._new_lb(obj)
        else:
            self._check(one, obj)
            self._change(self._lb_of(one, obj))
        if obj.get('name') in self.breaks:
            obj['provisioning_status'] = 'ERROR'
            self._lb_of(one, obj)['_breaks'] = True
        store[obj['id']] = obj
        if one == 'l7policy':
            self._place(obj)
        return obj

    def _new_lb(self, lb):
        if lb.get('flavor_id') and lb['flavor_id'] not in self.flavors:
            raise Refused(400, 'flavor %s not found' % lb['flavor_id'])
        if lb.get('availability_zone') and \
                lb['availability_zone'] not in self.zones:
            raise Refused(400, 'zone not found')
        lb['provisioning_status'] = 'PENDING_CREATE'
        self._left[lb['id']] = self.pending
        if self.target is not None:
            if lb.get('vip_subnet_id'):
                subnet = self.target.subnets[lb['vip_subnet_id']]
                lb['vip_network_id'] = subnet['network_id']
                fixed = {'subnet_id': subnet['id']}
                if lb.get('vip_address'):
                    fixed['ip_address'] = lb['vip_address']
                fixed_ips = [fixed]
            else:
                fixed_ips = None
            port = self.target._new_port(dict(
                {'network_id': lb['vip_network_id'],
                 'name': 'octavia-lb-' + lb['id']},
                **({'fixed_ips': fixed_ips} if fixed_ips else {})))
            port['device_owner'] = 'Octavia'
            port['device_id'] = 'lb-' + lb['id']
            lb['vip_port_id'] = port['id']
            lb['vip_address'] = port['fixed_ips'][0]['ip_address']
            lb['vip_subnet_id'] = port['fixed_ips'][0]['subnet_id']

    def _cascade(self, lb_id):
        """What was on a deleted load balancer goes with it."""
        pools = {i for i, p in self.pools.items()
                 if p['loadbalancer_id'] == lb_id}
        listeners = {i for i, x in self.listeners.items()
                     if x['loadbalancer_id'] == lb_id}
        policies = {i for i, p in self.policies.items()
                    if p['listener_id'] in listeners}
        for store, gone in ((self.pools, pools), (self.listeners, listeners),
                            (self.policies, policies)):
            for key in gone:
                del store[key]
        for store, field, gone in ((self.members, 'pool_id', pools),
                                   (self.monitors, 'pool_id', pools),
                                   (self.rules, 'l7policy_id', policies)):
            for key in [k for k, o in store.items() if o[field] in gone]:
                del store[key]

    def _check(self, one, obj):
        if one in ('listener', 'pool'):
            if obj.get('loadbalancer_id') not in self.lbs:
                raise Refused(400, 'load balancer not found')
        if one == 'listener':
            if any(o['loadbalancer_id'] == obj['loadbalancer_id'] and
                   o['protocol_port'] == obj['protocol_port']
                   for o in self.listeners.values()):
                raise Refused(409, 'port in use')
            pool = obj.get('default_pool_id')
            if pool and self.pools[pool]['loadbalancer_id'] != \
                    obj['loadbalancer_id']:
                raise Refused(400, 'pool of another load balancer')
        if one == 'healthmonitor':
            if any(m['pool_id'] == obj['pool_id']
                   for m in self.monitors.values()):
                raise Refused(409, 'pool has a health monitor')
        if one == 'member' and obj.get('pool_id') not in self.pools:
            raise Refused(404, 'pool not found')
        if one == 'member' and any(
                (m['pool_id'], m['address'], m['protocol_port']) ==
                (obj['pool_id'], obj['address'], obj['protocol_port'])
                for m in self.members.values()):
            raise Refused(409, 'Another member on this pool is already '
                          'using ip %s on protocol_port %s'
                          % (obj['address'], obj['protocol_port']))

    def _place(self, policy):
        """Octavia's positions: 1, 2 ... on each listener, the new one at
        the position asked for (or last)."""
        others = sorted((p for p in self.policies.values()
                         if p['listener_id'] == policy['listener_id']
                         and p is not policy), key=lambda p: p['position'])
        at = min(max(int(policy.get('position') or len(others) + 1), 1),
                 len(others) + 1)
        others.insert(at - 1, policy)
        for n, p in enumerate(others, 1):
            p['position'] = n

    def _delete(self, one, store, obj, query):
        lb = self._lb_of(one, obj)
        if one == 'loadbalancer':
            self._change(lb, 'PENDING_DELETE')
            if query.get('cascade') != 'true' and any(
                    p['loadbalancer_id'] == lb['id']
                    for p in self.pools.values()):
                raise Refused(400, 'not empty')
            return
        self._change(lb)
        del store[obj['id']]

    def _show(self, one, obj):
        shown = {k: v for k, v in copy.deepcopy(obj).items()
                 if not k.startswith('_')}
        if one == 'loadbalancer':
            shown['listeners'] = [{'id': i} for i, o in
                                  self.listeners.items()
                                  if o['loadbalancer_id'] == obj['id']]
            shown['pools'] = [{'id': i} for i, o in self.pools.items()
                              if o['loadbalancer_id'] == obj['id']]
        if one in ('listener', 'pool'):
            shown['loadbalancers'] = [{'id': obj['loadbalancer_id']}]
        if one == 'pool':
            shown['members'] = [{'id': i} for i, m in self.members.items()
                                if m['pool_id'] == obj['id']]
            shown['healthmonitor_id'] = next(
                (i for i, m in self.monitors.items()
                 if m['pool_id'] == obj['id']), None)
            shown.setdefault('session_persistence', None)
        if one == 'healthmonitor':
            shown['pools'] = [{'id': obj['pool_id']}]
        if one == 'l7policy':
            shown['rules'] = [{'id': i} for i, r in self.rules.items()
                              if r['l7policy_id'] == obj['id']]
        return shown

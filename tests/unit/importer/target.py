"""A fake target project for the import engine, served by requests-mock.

Neutron, Nova, Glance and Cinder keep their resources in dicts and change
them as the module's requests say, refusing what the real services refuse
(an unknown ID, a port already bound, an address already taken, a volume
that is not available, a rule that exists...), so that a test can look at
the target's state afterwards as a user would, and count the requests.

Every API request is answered by one dispatcher; version discovery and
the login stay with tests.unit.fakecloud.  A request nothing here answers
gets a 501 naming it, so that a call the fake does not know fails loudly.
"""

import copy
import hashlib
import ipaddress
import json
import re
import threading
import urllib.parse
import uuid

import requests
import requests_mock

from tests.unit.fakecloud import ENDPOINTS, PROJECT_ID

OTHER_PROJECT = '0e0e0e0e0e0e4e0e8e0e0e0e0e0e0e0e'
NEUTRON = ENDPOINTS['network'] + '/v2.0'
NOVA = ENDPOINTS['compute']
GLANCE = ENDPOINTS['image'] + '/v2'
CINDER = ENDPOINTS['block-storage']
WRITES = ('POST', 'PUT', 'PATCH', 'DELETE')


class Refused(Exception):
    """What a service answers instead: an HTTP status and a message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def _new_id():
    return str(uuid.uuid4())


class Target:
    """The target project.  Seed it with ``add_*``; look at ``networks``,
    ``servers``... (dicts by ID, as the APIs return them) and at
    ``calls()`` / ``writes()`` / ``bodies()``, the requests made since
    ``mark()`` as (method, route), the route as written below, e.g.
    ``('PUT', '/routers/{id}/add_router_interface')``; with ``of=ID``,
    only those on that resource.

    ``refuse(method, route, ...)`` makes the next such requests fail.
    ``mangle`` changes the bytes Glance receives; ``server_status`` and
    ``volume_status`` are what new servers and volumes become.
    ``nova_detaches`` False: Nova sends Cinder no service token, so a
    server's deletion leaves its volumes attached to it (bug 2004555).
    """

    def __init__(self, fake_cloud):
        self.cloud = fake_cloud
        self.networks, self.subnets, self.routers = {}, {}, {}
        self.ports, self.groups, self.keypairs = {}, {}, {}
        self.flavors, self.images, self.volumes, self.servers = {}, {}, {}, {}
        self.server_groups, self.fips = {}, {}
        # The bytes Glance holds for each image, and those each volume was
        # made from.
        self.image_data, self.volume_data = {}, {}
        self.refusals = {}
        # As a cloud with a DHCP agent: a subnet with DHCP on gets a port
        # of the agent's at its first free address.
        self.dhcp_agent = False
        self.mangle = None
        self.server_status = 'ACTIVE'
        self.volume_status = 'available'
        self.nova_detaches = True
        # Glance's os_hash_algo (a deployment may choose another).
        self.hash_algo = 'sha512'
        self.log = []
        self._start = 0
        self._lock = threading.RLock()
        self._routes = self._route_table()
        api = '|'.join(re.escape(base)
                       for base in (NEUTRON, NOVA, GLANCE, CINDER))
        fake_cloud.mocker.register_uri(requests_mock.ANY,
                                       re.compile('^(%s)/.+' % api),
                                       text=self._dispatch)
        # What Neutron gives a new project: its default group with four
        # rules; and the cloud's external network, in another project.
        self.default = self._new_group({'name': 'default',
                                        'description': 'Default group'})
        self.default['security_group_rules'] = [
            self._rule(self.default['id'], 'ingress', ethertype,
                       remote_group_id=self.default['id'])
            for ethertype in ('IPv4', 'IPv6')] + [
            self._rule(self.default['id'], 'egress', ethertype)
            for ethertype in ('IPv4', 'IPv6')]
        self.public = self.add_network('public', project=OTHER_PROJECT,
                                       external=True)
        self.add_subnet('public-subnet', self.public, cidr='203.0.113.0/24',
                        gateway='203.0.113.1', project=OTHER_PROJECT)
        for name, vcpus, ram, disk in (('m1.tiny', 1, 512, 1),
                                       ('m1.small', 1, 2048, 20),
                                       ('m1.large', 4, 8192, 80)):
            self.add_flavor(name, vcpus, ram, disk)

    # -- what a test looks at ----------------------------------------------

    def mark(self):
        """Count requests from here on."""
        self._start = len(self.log)

    def _logged(self, method, route, of, since):
        start = self._start if since is None else since
        return [(m, r, body) for m, r, obj_id, body in self.log[start:]
                if (method is None or m == method)
                and (route is None or r == route)
                and (of is None or obj_id == of)]

    def calls(self, method=None, route=None, of=None):
        return [(m, r) for m, r, _body in self._logged(method, route, of,
                                                       None)]

    def writes(self, of=None):
        return [call for call in self.calls(of=of) if call[0] in WRITES]

    def bodies(self, method, route, of=None, since=None):
        """The JSON bodies; ``since=0``: since the target was made, not
        since ``mark()``."""
        return [body for _m, _r, body in self._logged(method, route, of,
                                                      since)]

    def refuse(self, method, route, status=409, message='refused',
               times=1, after=0, name=None):
        """Fail the next ``times`` ``method`` requests on ``route``, after
        letting ``after`` of them through; ``status=None``: the connection
        drops (a process killed, a network gone) with no answer at all.
        With ``name``, only requests for a resource of that name count:
        the import works in parallel, so "the second request" is not
        always the same resource's."""
        self.refusals[(method, route)] = [after, times, status, message,
                                          name]

    def snapshot(self):
        """Everything the target holds, to compare before and after."""
        return copy.deepcopy((self.networks, self.subnets, self.routers,
                              self.ports, self.groups, self.keypairs,
                              self.images, self.volumes, self.servers,
                              self.server_groups, self.fips))

    def named(self, store, name):
        return [obj for obj in store.values() if obj.get('name') == name]

    # -- seeding -----------------------------------------------------------

    def add_network(self, name, project=PROJECT_ID, external=False, **extra):
        return self._new_network(dict(extra, name=name),
                                 project=project, external=external)

    def add_subnet(self, name, network, cidr='10.20.0.0/24',
                   gateway='10.20.0.1', project=PROJECT_ID, **extra):
        return self._new_subnet(dict(extra, name=name, cidr=cidr,
                                     network_id=network['id'], ip_version=4,
                                     gateway_ip=gateway), project=project)

    def add_router(self, name, gateway=None, subnets=(), routes=None,
                   **extra):
        body = dict(extra, name=name)
        if gateway is not None:
            body['external_gateway_info'] = {'network_id': gateway['id']}
        router = self._new_router(body)
        for sub in subnets:
            self._add_router_interface(router['id'],
                                       {'subnet_id': sub['id']})
        if routes is not None:
            # After the interfaces, as Neutron would have it.
            self._check_routes(router, routes)
            router['routes'] = copy.deepcopy(list(routes))
        return router

    def add_port(self, name, network, **extra):
        return self._new_port(dict(extra, name=name,
                                   network_id=network['id']))

    def add_group(self, name, description='', rules=()):
        group = self._new_group({'name': name, 'description': description})
        group['security_group_rules'] = [
            self._rule(group['id'], **rule) for rule in rules]
        return group

    def add_keypair(self, name, public_key):
        self.keypairs[name] = {'name': name, 'public_key': public_key,
                               'type': 'ssh', 'fingerprint': 'aa:bb'}
        return self.keypairs[name]

    def add_flavor(self, name, vcpus, ram, disk):
        flavor = {'id': 'flavor-' + name, 'name': name, 'vcpus': vcpus,
                  'ram': ram, 'disk': disk, 'swap': 0,
                  'OS-FLV-EXT-DATA:ephemeral': 0, 'os-flavor-access:is_public':
                  True, 'rxtx_factor': 1.0, 'extra_specs': {}}
        self.flavors[flavor['id']] = flavor
        return flavor

    def add_image(self, name, data, **extra):
        image = self._new_image(dict(extra, name=name))
        self._store(image, data)
        return image

    def add_volume(self, name, size=1, **extra):
        return self._new_volume(dict(extra, name=name, size=size))

    def add_server_group(self, name, policy='affinity', rules=None):
        group = {'id': _new_id(), 'name': name, 'policy': policy,
                 'rules': rules or {}, 'members': [],
                 'project_id': PROJECT_ID, 'user_id': 'u'}
        self.server_groups[group['id']] = group
        return group

    def add_fip(self, network, address=None, **extra):
        body = dict(extra, floating_network_id=network['id'])
        if address is not None:
            body['floating_ip_address'] = address
        return self._new_fip(body)

    def add_server(self, name, **extra):
        server = self._server_record(dict(extra, name=name), [], {})
        self.servers[server['id']] = server
        return server

    # -- the dispatcher ----------------------------------------------------

    def _route_table(self):
        neutron = [
            ('PUT', '/routers/{id}/add_router_interface',
             self._add_interface),
            ('POST', '/security-group-rules', self._create_rules),
            ('DELETE', '/security-group-rules/{id}', self._delete_rule),
            ('GET', '/floatingips', self._lister('floatingips', self.fips)),
            ('POST', '/floatingips', self._create_fip),
            ('PUT', '/floatingips/{id}', self._update_fip),
            ('PUT', '/floatingips/{id}/tags', self._set_fip_tags)]
        for plural, store, make, check in (
                ('networks', self.networks, self._new_network, None),
                ('subnets', self.subnets, self._new_subnet,
                 self._subnet_change),
                ('routers', self.routers, self._new_router,
                 self._router_change),
                ('ports', self.ports, self._new_port, self._port_change),
                ('security-groups', self.groups, self._new_group, None)):
            one = plural.replace('-', '_')[:-1]
            neutron += [
                ('GET', '/' + plural, self._lister(plural, store)),
                ('POST', '/' + plural, self._creator(one, make)),
                ('GET', '/%s/{id}' % plural, self._getter(one, store)),
                ('PUT', '/%s/{id}' % plural,
                 self._updater(one, store, check)),
                ('PUT', '/%s/{id}/tags' % plural, self._tagger(store))]
        nova = [
            ('GET', '/os-availability-zone', lambda r: {
                'availabilityZoneInfo': [{'zoneName': 'nova',
                                          'zoneState': {'available': True},
                                          'hosts': None}]}),
            ('GET', '/os-keypairs', lambda r: {'keypairs': [
                {'keypair': copy.deepcopy(kp)}
                for kp in self.keypairs.values()]}),
            ('POST', '/os-keypairs', self._create_keypair),
            ('GET', '/os-server-groups', lambda r: {'server_groups': list(
                copy.deepcopy(self.server_groups).values())}),
            ('POST', '/os-server-groups', self._create_server_group),
            ('GET', '/flavors/detail', lambda r: {'flavors': list(
                copy.deepcopy(self.flavors).values())}),
            ('GET', '/servers/detail', lambda r: {'servers': list(
                copy.deepcopy(self.servers).values())}),
            ('POST', '/servers', self._create_server),
            ('GET', '/servers/{id}', self._getter('server', self.servers)),
            ('PUT', '/servers/{id}', self._update_server),
            ('PUT', '/servers/{id}/tags', self._set_server_tags),
            ('DELETE', '/servers/{id}', self._delete_server),
            ('POST', '/servers/{id}/os-volume_attachments', self._attach),
            ('PUT', '/servers/{id}/os-volume_attachments/{volume}',
             self._update_attachment),
            ('DELETE', '/servers/{id}/os-volume_attachments/{volume}',
             self._detach),
            ('POST', '/servers/{id}/os-interface', self._attach_port)]
        glance = [
            ('GET', '/images', self._list_images),
            ('POST', '/images', self._create_image),
            ('GET', '/images/{id}', self._get_image),
            ('PATCH', '/images/{id}', self._patch_image),
            ('DELETE', '/images/{id}', self._delete_image),
            ('PUT', '/images/{id}/file', self._upload),
            ('PUT', '/images/{id}/tags/{tag}', self._add_image_tag),
            ('DELETE', '/images/{id}/tags/{tag}', self._remove_image_tag)]
        cinder = [
            # One type, Cinder's default, and one zone for each service.
            ('GET', '/types', lambda r: {'volume_types': [
                {'id': 'type-default', 'name': '__DEFAULT__',
                 'is_public': True, 'extra_specs': {}}]}),
            ('GET', '/types/default', lambda r: {'volume_type': {
                'id': 'type-default', 'name': '__DEFAULT__'}}),
            ('GET', '/os-availability-zone', lambda r: {
                'availabilityZoneInfo': [{'zoneName': 'nova',
                                          'zoneState': {'available': True}}]}),
            ('GET', '/volumes/detail', lambda r: {'volumes': list(
                copy.deepcopy(self.volumes).values())}),
            ('POST', '/volumes', self._create_volume),
            ('GET', '/volumes/{id}', self._getter('volume', self.volumes)),
            ('PUT', '/volumes/{id}', self._updater('volume', self.volumes)),
            ('DELETE', '/volumes/{id}', self._delete_volume),
            ('POST', '/volumes/{id}/action', self._volume_action),
            ('DELETE', '/attachments/{id}', self._delete_attachment)]
        routes = []
        for base, table in ((NEUTRON, neutron), (NOVA, nova),
                            (GLANCE, glance), (CINDER, cinder)):
            for method, route, answer in table:
                pattern = re.escape(base + route)
                for field in ('id', 'tag', 'volume'):
                    pattern = pattern.replace(re.escape('{%s}' % field),
                                              '(?P<%s>[^/]+)' % field)
                routes.append((method, re.compile(pattern + '$'), route,
                               answer))
        return routes

    def _dispatch(self, request, context):
        url = request.url.split('?', 1)[0]
        with self._lock:
            for method, pattern, route, answer in self._routes:
                match = pattern.match(url)
                if method != request.method or match is None:
                    continue
                request.match_id = match.groupdict().get('id')
                request.match_tag = urllib.parse.unquote(
                    match.groupdict().get('tag') or '')
                request.match_volume = match.groupdict().get('volume')
                body = self._body(request)
                self.log.append((method, route, request.match_id, body))
                try:
                    self._refusal(method, route, body)
                    answer_body = answer(request)
                except Refused as refused:
                    context.status_code = refused.status
                    context.headers['Content-Type'] = 'application/json'
                    return json.dumps({'error': {'message': refused.message,
                                                 'code': refused.status}})
                status, answer_body = answer_body if isinstance(
                    answer_body, tuple) else (200, answer_body)
                context.status_code = status
                if answer_body is None:
                    return ''
                context.headers['Content-Type'] = 'application/json'
                return json.dumps(answer_body)
            self.log.append((request.method, url, None, None))
            context.status_code = 501
            context.headers['Content-Type'] = 'application/json'
            return json.dumps({'error': {
                'message': 'not faked: %s %s' % (request.method, url)}})

    @staticmethod
    def _body(request):
        """The JSON body; the bytes of an upload are read into
        ``request.data`` (the client sends them whatever the answer)."""
        if request.method not in ('POST', 'PUT', 'PATCH'):
            return None
        if request.headers.get('Content-Type', '').startswith(
                'application/octet-stream'):
            body = request.body
            if hasattr(body, 'read'):
                data = body.read()
            elif isinstance(body, (bytes, str)) or body is None:
                data = body
            else:  # an iterable of chunks, as a stream is sent
                data = b''.join(body)
            request.data = data.encode() if isinstance(data, str) else data
            return None
        return request.json() if request.body else None

    def _refusal(self, method, route, body):
        refusal = self.refusals.get((method, route))
        if refusal is None:
            return
        if refusal[4] is not None and refusal[4] not in [
                value.get('name') for value in (body or {}).values()
                if isinstance(value, dict)]:
            return
        if refusal[0] > 0:
            refusal[0] -= 1
        elif refusal[1] > 0:
            refusal[1] -= 1
            if refusal[2] is None:
                raise requests.exceptions.ConnectionError(refusal[3])
            raise Refused(refusal[2], refusal[3])

    @staticmethod
    def _query(request):
        return {key: values[-1] for key, values in urllib.parse.parse_qs(
            urllib.parse.urlsplit(request.url).query).items()}

    @staticmethod
    def _find(store, what, obj_id, status=404):
        if obj_id not in store:
            raise Refused(status, '%s %s could not be found' % (what, obj_id))
        return store[obj_id]

    # -- Neutron -----------------------------------------------------------

    def _lister(self, plural, store):
        def answer(request):
            project = self._query(request).get('project_id')
            return {plural.replace('-', '_'): [
                copy.deepcopy(obj) for obj in store.values()
                if not project or obj['project_id'] == project]}
        return answer

    @staticmethod
    def _creator(one, make):
        def answer(request):
            return 201, {one: copy.deepcopy(make(request.json()[one]))}
        return answer

    def _getter(self, one, store):
        def answer(request):
            return {one: copy.deepcopy(self._find(store, one,
                                                  request.match_id))}
        return answer

    def _updater(self, one, store, check=None):
        """``check(obj, change)``: refuses the change or says what it
        becomes."""
        def answer(request):
            obj = self._find(store, one, request.match_id)
            change = request.json()[one]
            if check is not None:
                change = check(obj, change)
            obj.update(change)
            return {one: copy.deepcopy(obj)}
        return answer

    @staticmethod
    def _base(body, project=PROJECT_ID):
        return dict({'id': _new_id(), 'name': '', 'description': '',
                     'project_id': project, 'tenant_id': project,
                     'tags': []}, **body)

    def _new_network(self, body, project=PROJECT_ID, external=False):
        net = self._base(dict({'admin_state_up': True, 'status': 'ACTIVE',
                               'port_security_enabled': True,
                               'router:external': external, 'shared': False,
                               'mtu': 1450}, **body), project)
        net['subnets'] = []
        self.networks[net['id']] = net
        return net

    def _new_subnet(self, body, project=PROJECT_ID):
        net = self._find(self.networks, 'network', body.get('network_id'),
                         status=400)
        cidr = ipaddress.ip_network(body['cidr'])
        for other in self.subnets.values():
            if other['network_id'] == net['id'] and \
                    ipaddress.ip_network(other['cidr']).overlaps(cidr):
                raise Refused(400, 'Invalid input for operation: Requested '
                                   'subnet with cidr: %s for network: %s '
                                   'overlaps with another subnet'
                              % (cidr, net['id']))
        if 'gateway_ip' not in body:  # Neutron's default: the first host
            body = dict(body, gateway_ip=str(next(cidr.hosts())))
        subnet = self._base(dict({'enable_dhcp': True, 'dns_nameservers': [],
                                  'host_routes': [], 'allocation_pools': [],
                                  'ip_version': cidr.version}, **body),
                            project)
        self.subnets[subnet['id']] = subnet
        net['subnets'].append(subnet['id'])
        if subnet['enable_dhcp']:
            self._dhcp_port(subnet)
        return subnet

    def _subnet_change(self, subnet, change):
        if change.get('enable_dhcp') and not subnet['enable_dhcp']:
            self._dhcp_port(dict(subnet, **change))
        return change

    def _dhcp_port(self, subnet):
        """The DHCP agent's port, at the first address no port has."""
        if not self.dhcp_agent:
            return
        taken = {ip['ip_address'] for port in self.ports.values()
                 for ip in port['fixed_ips']
                 if ip['subnet_id'] == subnet['id']}
        taken.add(subnet.get('gateway_ip'))
        free = next(str(a) for a in ipaddress.ip_network(
            subnet['cidr']).hosts() if str(a) not in taken)
        self._new_port({'network_id': subnet['network_id'],
                        'device_owner': 'network:dhcp',
                        'device_id': 'dhcp-agent',
                        'fixed_ips': [{'subnet_id': subnet['id'],
                                       'ip_address': free}]})

    def _new_router(self, body):
        if 'routes' in body:
            raise Refused(400, "Attribute 'routes' not allowed in POST")
        gateway = body.get('external_gateway_info')
        if gateway:
            net = self._find(self.networks, 'network', gateway['network_id'],
                             status=400)
            if not net['router:external']:
                raise Refused(400, 'Network %s is not an external network'
                              % net['id'])
            body = dict(body, external_gateway_info={
                'network_id': net['id'], 'enable_snat': True,
                'external_fixed_ips': []})
        router = self._base(dict({'admin_state_up': True, 'status': 'ACTIVE',
                                  'external_gateway_info': None,
                                  'routes': []}, **body))
        self.routers[router['id']] = router
        return router

    def _check_routes(self, router, routes):
        """Neutron takes a static route only through a next hop on a
        subnet the router is on: an interface's, or its gateway's."""
        subnet_ids = [ip['subnet_id'] for port in self.ports.values()
                      if port['device_id'] == router['id']
                      for ip in port['fixed_ips']]
        gateway = (router.get('external_gateway_info') or {}).get(
            'network_id')
        if gateway in self.networks:
            subnet_ids += self.networks[gateway]['subnets']
        cidrs = [ipaddress.ip_network(self.subnets[s]['cidr'])
                 for s in subnet_ids]
        for route in routes:
            if not any(ipaddress.ip_address(route['nexthop']) in cidr
                       for cidr in cidrs):
                raise Refused(400, 'Invalid format for routes: %s, the '
                                   'nexthop is not connected with router'
                              % (routes,))

    def _router_change(self, router, change):
        if 'routes' in change:
            self._check_routes(router, change['routes'])
        return change

    def _new_port(self, body):
        net = self._find(self.networks, 'network', body.get('network_id'),
                         status=400)
        fixed_ips = []
        for fixed in body.get('fixed_ips') or []:
            subnet = self._find(self.subnets, 'subnet', fixed['subnet_id'],
                                status=400)
            if subnet['network_id'] != net['id']:
                raise Refused(400, 'subnet %s is not on network %s'
                              % (subnet['id'], net['id']))
            address = fixed.get('ip_address')
            if any(ip == {'subnet_id': subnet['id'], 'ip_address': address}
                   for port in self.ports.values()
                   for ip in port['fixed_ips']):
                raise Refused(409, 'IP address %s already allocated in '
                                   'subnet %s' % (address, subnet['id']))
            fixed_ips.append({'subnet_id': subnet['id'],
                              'ip_address': address})
        if 'fixed_ips' not in body:
            # Neutron's choice: an address of an IPv4 subnet of the
            # network's.
            fixed_ips = self._free_address(net)
        for group_id in body.get('security_groups') or []:
            self._find(self.groups, 'security group', group_id, status=400)
        # As Neutron fills a port in: a MAC of its own unless one is asked
        # for, port security on, the project's default group when none is
        # named (not on a port of Neutron's own, which it trusts), and
        # that MAC in each address pair that names none.
        guarded = body.get('port_security_enabled', True) and not body.get(
            'device_owner', '').startswith('network:')
        port = self._base(dict({'device_id': '', 'device_owner': '',
                                'admin_state_up': True, 'status': 'DOWN',
                                'security_groups': [self.default['id']]
                                if guarded else [],
                                'port_security_enabled': True,
                                'allowed_address_pairs': [],
                                'mac_address': 'fa:16:3e:00:%02x:%02x' % divmod(
                                    len(self.ports) + 1, 256)},
                               **body))
        port['fixed_ips'] = fixed_ips
        port.update(self._port_change(port, {}))
        self.ports[port['id']] = port
        return port

    def _free_address(self, net):
        """The fixed IPs Neutron gives a port asked for none: the first
        free address of the network's first IPv4 subnet."""
        for subnet_id in net['subnets']:
            subnet = self.subnets[subnet_id]
            if subnet['ip_version'] != 4:
                continue
            taken = {ip['ip_address'] for port in self.ports.values()
                     for ip in port['fixed_ips']}
            taken.add(subnet.get('gateway_ip'))
            free = [str(a) for a in ipaddress.ip_network(
                subnet['cidr']).hosts() if int(a) % 256 >= 50
                and str(a) not in taken]
            if free:
                return [{'subnet_id': subnet_id, 'ip_address': free[0]}]
        return []

    @staticmethod
    def _port_change(port, change):
        """Neutron keeps groups and address pairs off a port without port
        security, and gives each pair that names no MAC the port's."""
        after = dict(port, **change)
        if not after['port_security_enabled']:
            if after['security_groups']:
                raise Refused(409, 'Port has security group associated. '
                                   'Cannot disable port security or ip '
                                   'address until security group is '
                                   'removed')
            if after['allowed_address_pairs']:
                raise Refused(409, 'Port Security must be enabled in order '
                                   'to have allowed address pairs on a '
                                   'port.')
        return dict(change, allowed_address_pairs=[
            dict(pair, mac_address=pair.get('mac_address')
                 or after['mac_address'])
            for pair in after['allowed_address_pairs']])

    def _new_group(self, body):
        if body.get('name') == 'default' and hasattr(self, 'default'):
            # Neutron keeps the name for the project's own.
            raise Refused(409, 'Default security group already exists.')
        group = self._base(body)
        # Neutron gives a new group two egress rules.
        group['security_group_rules'] = [
            self._rule(group['id'], 'egress', ethertype)
            for ethertype in ('IPv4', 'IPv6')]
        self.groups[group['id']] = group
        return group

    @staticmethod
    def _rule(group_id, direction='ingress', ethertype='IPv4', **extra):
        return dict({'id': _new_id(), 'security_group_id': group_id,
                     'direction': direction, 'ethertype': ethertype,
                     'protocol': None, 'port_range_min': None,
                     'port_range_max': None, 'remote_ip_prefix': None,
                     'remote_group_id': None, 'description': '',
                     'project_id': PROJECT_ID}, **extra)

    _SAME_RULE = ('direction', 'ethertype', 'protocol', 'port_range_min',
                  'port_range_max', 'remote_ip_prefix', 'remote_group_id')

    def _create_rules(self, request):
        made = []
        for body in request.json()['security_group_rules']:
            body = dict(body)
            group = self._find(self.groups, 'security group',
                               body.pop('security_group_id'), status=400)
            if body.get('remote_group_id'):
                self._find(self.groups, 'security group',
                           body['remote_group_id'], status=400)
            rule = self._rule(group['id'], **body)
            for other in group['security_group_rules'] + made:
                if all(other[k] == rule[k] for k in self._SAME_RULE):
                    raise Refused(409, 'Security group rule already exists. '
                                       'Rule id is %s.' % other['id'])
            made.append(rule)
        for rule in made:
            self.groups[rule['security_group_id']][
                'security_group_rules'].append(rule)
        return 201, {'security_group_rules': copy.deepcopy(made)}

    def _delete_rule(self, request):
        for group in self.groups.values():
            for rule in group['security_group_rules']:
                if rule['id'] == request.match_id:
                    group['security_group_rules'].remove(rule)
                    return 204, None
        raise Refused(404, 'Security group rule %s could not be found'
                      % request.match_id)

    def _add_interface(self, request):
        return self._add_router_interface(request.match_id, request.json())

    def _add_router_interface(self, router_id, body):
        self._find(self.routers, 'router', router_id)
        if body.get('port_id'):
            port = self._find(self.ports, 'port', body['port_id'],
                              status=400)
            if port['device_id']:
                raise Refused(409, 'Port %s is still in use' % port['id'])
        else:
            subnet = self._find(self.subnets, 'subnet', body['subnet_id'],
                                status=400)
            port = self._new_port({
                'network_id': subnet['network_id'],
                'device_owner': 'network:router_interface',
                'fixed_ips': [{'subnet_id': subnet['id'],
                               'ip_address': subnet['gateway_ip']}]})
        port.update(device_id=router_id,
                    device_owner='network:router_interface')
        return {'id': router_id, 'port_id': port['id'],
                'subnet_id': port['fixed_ips'][0]['subnet_id'],
                'tenant_id': PROJECT_ID}

    def _fip_port(self, fip, body):
        """Check an association as Neutron does: the port exists, holds the
        fixed IP, and a router joins its subnet to the external network."""
        port_id = body.get('port_id', fip.get('port_id'))
        if not port_id:
            return {'port_id': None, 'fixed_ip_address': None}
        port = self._find(self.ports, 'port', port_id, status=404)
        fixed = body.get('fixed_ip_address')
        if fixed is None:
            ipv4 = [ip for ip in port['fixed_ips']
                    if ipaddress.ip_address(ip['ip_address']).version == 4]
            if len(ipv4) != 1:
                raise Refused(400, 'Port %s has %s fixed IPv4 addresses; '
                                   'must provide a specific IPv4 address '
                                   'when assigning a floating IP'
                              % (port_id, len(ipv4) or 'no'))
            fixed = ipv4[0]['ip_address']
        ip, = [ip for ip in port['fixed_ips'] if ip['ip_address'] == fixed] \
            or [None]
        if ip is None:
            raise Refused(400, 'Port %s does not have fixed ip %s'
                          % (port_id, fixed))
        if ipaddress.ip_address(fixed).version != 4:
            raise Refused(400, 'Cannot create floating IP and bind it to '
                               '%s, since that is not an IPv4 address'
                          % fixed)
        joined = any(
            (router.get('external_gateway_info') or {}).get('network_id')
            == fip['floating_network_id'] and any(
                other['device_id'] == router['id']
                and ip['subnet_id'] in [i['subnet_id']
                                        for i in other['fixed_ips']]
                for other in self.ports.values())
            for router in self.routers.values())
        if not joined:
            raise Refused(404, 'External network %s is not reachable from '
                               'subnet %s'
                          % (fip['floating_network_id'], ip['subnet_id']))
        for other in self.fips.values():
            if other is not fip and other['port_id'] == port_id and \
                    other['fixed_ip_address'] == fixed:
                raise Refused(409, 'Cannot associate floating IP with port '
                                   'using fixed IP %s, as that fixed IP '
                                   'already has a floating IP' % fixed)
        return {'port_id': port_id, 'fixed_ip_address': fixed}

    def _new_fip(self, body):
        net = self._find(self.networks, 'network',
                         body.get('floating_network_id'), status=404)
        if not net['router:external']:
            raise Refused(400, 'Network %s is not a valid external network'
                          % net['id'])
        taken = {f['floating_ip_address'] for f in self.fips.values()}
        address = body.get('floating_ip_address')
        if address is None:
            cidr = ipaddress.ip_network(self.subnets[net['subnets'][0]][
                'cidr'])
            address = next(str(host) for host in cidr.hosts()
                           if int(host) % 256 >= 100
                           and str(host) not in taken)
        elif address in taken:
            raise Refused(409, 'IP address %s already allocated' % address)
        fip = self._base({'floating_network_id': net['id'],
                          'floating_ip_address': address, 'status': 'DOWN',
                          'router_id': None,
                          'description': body.get('description', '')})
        fip.update(self._fip_port(fip, body))
        self.fips[fip['id']] = fip
        return fip

    def _create_fip(self, request):
        return 201, {'floatingip': copy.deepcopy(
            self._new_fip(request.json()['floatingip']))}

    def _update_fip(self, request):
        fip = self._find(self.fips, 'floating IP', request.match_id)
        body = request.json()['floatingip']
        change = {}
        if 'port_id' in body or 'fixed_ip_address' in body:
            change.update(self._fip_port(fip, body))
        if 'description' in body:
            change['description'] = body['description']
        fip.update(change)
        return {'floatingip': copy.deepcopy(fip)}

    def _tagger(self, store):
        # Neutron's tag extension: the whole list, replaced.
        def answer(request):
            obj = self._find(store, 'resource', request.match_id)
            obj['tags'] = list(request.json()['tags'])
            return {'tags': list(obj['tags'])}
        return answer

    def _set_fip_tags(self, request):
        fip = self._find(self.fips, 'floating IP', request.match_id)
        fip['tags'] = list(request.json()['tags'])
        return {'tags': list(fip['tags'])}

    # -- Nova ----------------------------------------------------------------

    def _create_server_group(self, request):
        body = request.json()['server_group']
        if body.get('rules') and body.get('policy') != 'anti-affinity':
            raise Refused(400, 'Only anti-affinity policy supports rules.')
        return {'server_group': copy.deepcopy(self.add_server_group(
            body['name'], body['policy'], body.get('rules')))}

    def _create_keypair(self, request):
        body = request.json()['keypair']
        if body['name'] in self.keypairs:
            raise Refused(409, 'Key pair %r already exists.' % body['name'])
        return {'keypair': copy.deepcopy(
            self.add_keypair(body['name'], body['public_key']))}

    def _server_record(self, body, ports, boot_volumes):
        """``boot_volumes``: {volume ID: delete_on_termination}."""
        flavor = self.flavors.get(body.get('flavorRef'), {})
        return {
            'id': _new_id(), 'name': body['name'],
            'status': body.get('status', self.server_status),
            'tenant_id': PROJECT_ID,
            'flavor': {'original_name': flavor.get('name'),
                       'vcpus': flavor.get('vcpus'), 'ram': flavor.get('ram'),
                       'disk': flavor.get('disk'), 'ephemeral': 0, 'swap': 0,
                       'extra_specs': {}},
            'image': {'id': body['imageRef']} if body.get('imageRef') else '',
            'key_name': body.get('key_name'),
            'metadata': body.get('metadata') or {},
            'tags': list(body.get('tags') or []),
            'config_drive': 'True' if body.get('config_drive') else '',
            'description': body.get('description'),
            'security_groups': [{'name': 'default'}],
            'os-extended-volumes:volumes_attached': [
                {'id': v, 'delete_on_termination': doomed}
                for v, doomed in boot_volumes.items()],
            'addresses': {}, 'ports': ports, 'server_groups': []}

    def _create_server(self, request):
        body = request.json()['server']
        self._find(self.flavors, 'flavor', body.get('flavorRef'), status=400)
        boot_volumes = {}
        for mapping in body.get('block_device_mapping_v2') or []:
            volume = self._find(self.volumes, 'volume', mapping['uuid'],
                                status=400)
            if volume['status'] != 'available':
                raise Refused(400, 'volume %s is %s' % (volume['id'],
                                                        volume['status']))
            boot_volumes[volume['id']] = bool(
                mapping.get('delete_on_termination'))
        if not boot_volumes:
            image = self._find(self.images, 'image', body.get('imageRef'),
                               status=400)
            if image['status'] != 'active':
                raise Refused(400, 'Image %s is not active.' % image['id'])
        if body.get('key_name') and body['key_name'] not in self.keypairs:
            raise Refused(400, 'Invalid key_name provided.')
        networks = body.get('networks')
        ports = []
        if networks != 'none':
            for network in networks or []:
                port = self._find(self.ports, 'port', network.get('port'),
                                  status=400)
                if port['device_id']:
                    raise Refused(409, 'Port %s is still in use.'
                                  % port['id'])
                ports.append(port['id'])
        hints = request.json().get('OS-SCH-HNT:scheduler_hints') or {}
        group = None
        if hints.get('group'):
            group = self._find(self.server_groups, 'server group',
                               hints['group'], status=400)
        server = self._server_record(body, ports, boot_volumes)
        self.servers[server['id']] = server
        if group is not None:
            group['members'].append(server['id'])
            server['server_groups'] = [group['id']]
        for port_id in ports:
            self.ports[port_id].update(device_id=server['id'],
                                       device_owner='compute:nova')
        for volume_id in boot_volumes:
            self._set_attached(self.volumes[volume_id], server['id'])
        # Nova answers with little more than the ID; the rest is in GET.
        return 202, {'server': {'id': server['id'], 'links': [],
                                'OS-DCF:diskConfig': 'MANUAL',
                                'adminPass': 'secret'}}

    def _update_server(self, request):
        server = self._find(self.servers, 'server', request.match_id)
        server.update(request.json()['server'])
        return {'server': copy.deepcopy(server)}

    # The states Nova changes a server's tags in; not one it is building.
    _TAGGABLE = ('ACTIVE', 'PAUSED', 'SUSPENDED', 'SHUTOFF', 'SHELVED',
                 'SHELVED_OFFLOADED')

    def _set_server_tags(self, request):
        server = self._find(self.servers, 'server', request.match_id)
        if server['status'] not in self._TAGGABLE:
            raise Refused(409, "Cannot 'update tags' instance %s while it "
                               'is in %s' % (server['id'], server['status']))
        server['tags'] = list(request.json()['tags'])
        return {'tags': list(server['tags'])}

    def _delete_server(self, request):
        server = self._find(self.servers, 'server', request.match_id)
        # Ports made before the server are left, unbound; volumes detached,
        # and those marked delete_on_termination deleted, whatever the
        # server's state (an ERROR one too).
        for port_id in server['ports']:
            if port_id in self.ports:
                self.ports[port_id].update(device_id='', device_owner='')
        for attached in server['os-extended-volumes:volumes_attached']:
            volume = self.volumes.get(attached['id'])
            if volume is None:
                continue
            if self.nova_detaches:
                volume.update(status='available', attachments=[])
            # Cinder refuses to delete one still attached.
            if attached['delete_on_termination'] and not \
                    volume['attachments']:
                del self.volumes[volume['id']]
                self.volume_data.pop(volume['id'], None)
        del self.servers[server['id']]
        return 204, None

    def _set_attached(self, volume, server_id):
        volume['status'] = 'in-use'
        volume['attachments'].append({
            'server_id': server_id, 'volume_id': volume['id'],
            'attachment_id': _new_id(), 'id': volume['id'],
            'device': '/dev/vd' + 'abcdefgh'[len(volume['attachments']) + 1]})

    def _attach_port(self, request):
        server = self._find(self.servers, 'server', request.match_id)
        port_id = request.json()['interfaceAttachment']['port_id']
        port = self._find(self.ports, 'port', port_id, status=400)
        if port['device_id']:
            raise Refused(409, 'Port %s is still in use.' % port_id)
        port.update(device_id=server['id'], device_owner='compute:nova')
        server['ports'].append(port_id)
        return {'interfaceAttachment': {
            'port_id': port_id, 'net_id': port['network_id'],
            'mac_addr': port['mac_address'], 'port_state': 'ACTIVE',
            'fixed_ips': copy.deepcopy(port['fixed_ips'])}}

    def _attach(self, request):
        server = self._find(self.servers, 'server', request.match_id)
        volume_id = request.json()['volumeAttachment']['volumeId']
        volume = self._find(self.volumes, 'volume', volume_id, status=400)
        if server['status'] not in ('ACTIVE', 'SHUTOFF'):
            raise Refused(409, 'Cannot attach a volume to a server in %s'
                          % server['status'])
        if volume['status'] != 'available':
            raise Refused(400, 'Invalid volume: volume %s status must be '
                               'available' % volume_id)
        self._set_attached(volume, server['id'])
        server['os-extended-volumes:volumes_attached'].append(
            {'id': volume_id, 'delete_on_termination': bool(
                request.json()['volumeAttachment'].get(
                    'delete_on_termination'))})
        return {'volumeAttachment': {
            'id': volume_id, 'volumeId': volume_id,
            'serverId': server['id'],
            'device': volume['attachments'][-1]['device']}}

    def _detach(self, request):
        server = self._find(self.servers, 'server', request.match_id)
        volume = self._find(self.volumes, 'volume', request.match_volume)
        attached = server['os-extended-volumes:volumes_attached']
        if not any(a['id'] == volume['id'] for a in attached):
            raise Refused(404, 'volume %s is not attached to server %s'
                          % (volume['id'], server['id']))
        server['os-extended-volumes:volumes_attached'] = [
            a for a in attached if a['id'] != volume['id']]
        volume['attachments'] = [a for a in volume['attachments']
                                 if a['server_id'] != server['id']]
        if not volume['attachments']:
            volume['status'] = 'available'
        return 202, None

    def _update_attachment(self, request):
        # Compute API 2.85: in any state of the server, ERROR too.
        server = self._find(self.servers, 'server', request.match_id)
        body = request.json()['volumeAttachment']
        for attached in server['os-extended-volumes:volumes_attached']:
            if attached['id'] == request.match_volume:
                if 'delete_on_termination' in body:
                    attached['delete_on_termination'] = \
                        body['delete_on_termination']
                return 202, None
        raise Refused(404, 'volume %s is not attached to server %s'
                      % (request.match_volume, server['id']))

    # -- Glance --------------------------------------------------------------

    def _new_image(self, body):
        image = dict({'id': _new_id(), 'status': 'queued',
                      'visibility': 'private', 'owner': PROJECT_ID,
                      'disk_format': 'raw', 'container_format': 'bare',
                      'min_disk': 0, 'min_ram': 0, 'size': None,
                      'checksum': None, 'os_hash_algo': None,
                      'os_hash_value': None, 'protected': False,
                      'tags': []}, **body)
        image['file'] = '/v2/images/%s/file' % image['id']
        self.images[image['id']] = image
        return image

    def _store(self, image, data):
        self.image_data[image['id']] = data
        image.update(
            status='active', size=len(data),
            checksum=hashlib.md5(data).hexdigest(),  # noqa: S324
            os_hash_algo=self.hash_algo,
            os_hash_value=hashlib.new(self.hash_algo, data).hexdigest())

    _IMAGE_FIELDS = ('name', 'visibility', 'disk_format', 'container_format',
                     'min_disk', 'min_ram', 'protected', 'tags', 'id')

    def _create_image(self, request):
        body = request.json()
        for key, value in body.items():
            # Glance v2 takes extra properties as strings only.
            if key not in self._IMAGE_FIELDS and not isinstance(value, str):
                raise Refused(400, 'Provided object does not match schema '
                                   "'image': %r is not of type 'string'"
                              % (value,))
        return 201, copy.deepcopy(self._new_image(body))

    def _list_images(self, request):
        name = self._query(request).get('name')
        return {'images': [copy.deepcopy(image)
                           for image in self.images.values()
                           if name is None or image['name'] == name],
                'schema': '/v2/schemas/images', 'first': '/v2/images'}

    def _get_image(self, request):
        return copy.deepcopy(self._find(self.images, 'image',
                                        request.match_id))

    def _patch_image(self, request):
        image = self._find(self.images, 'image', request.match_id)
        for change in request.json():
            key = change['path'].lstrip('/')
            if change['op'] == 'remove':
                image.pop(key, None)
            else:
                image[key] = change['value']
        return copy.deepcopy(image)

    def _delete_image(self, request):
        self._find(self.images, 'image', request.match_id)
        del self.images[request.match_id]
        self.image_data.pop(request.match_id, None)
        return 204, None

    def _upload(self, request):
        image = self._find(self.images, 'image', request.match_id)
        if image['status'] != 'queued':
            raise Refused(409, 'Image status transition from %s to saving '
                               'is not allowed' % image['status'])
        data = request.data
        if self.mangle is not None:
            data = self.mangle(data)
        self._store(image, data)
        return 204, None

    def _add_image_tag(self, request):
        image = self._find(self.images, 'image', request.match_id)
        if request.match_tag not in image['tags']:
            image['tags'].append(request.match_tag)
        return 204, None

    def _remove_image_tag(self, request):
        image = self._find(self.images, 'image', request.match_id)
        if request.match_tag not in image['tags']:
            raise Refused(404, 'Tag %s not found' % request.match_tag)
        image['tags'].remove(request.match_tag)
        return 204, None

    # -- Cinder ----------------------------------------------------------------

    def _new_volume(self, body, status=None, data=None):
        volume = dict({'id': _new_id(), 'status': status or 'available',
                       'description': '', 'metadata': {},
                       'bootable': 'false', 'attachments': [],
                       'volume_type': '__DEFAULT__',
                       'availability_zone': 'nova',
                       'os-vol-tenant-attr:tenant_id': PROJECT_ID}, **body)
        self.volumes[volume['id']] = volume
        if data is not None:
            self.volume_data[volume['id']] = data
        return volume

    def _create_volume(self, request):
        body = dict(request.json()['volume'])
        data = None
        image_id = body.pop('imageRef', None)
        if image_id is not None:
            image = self._find(self.images, 'image', image_id, status=400)
            if image['status'] != 'active':
                raise Refused(400, 'Image %s is not active.' % image_id)
            data = self.image_data[image_id]
            # A volume made from an image is marked bootable by Cinder.
            body.update(bootable='true', volume_image_metadata={
                'image_id': image_id, 'image_name': image['name']})
        volume = self._new_volume(body, status=self.volume_status, data=data)
        return 202, {'volume': dict(copy.deepcopy(volume),
                                    status='creating')}

    # The states Cinder deletes a volume in, unless an admin forces it.
    _DELETABLE = ('available', 'error', 'error_restoring', 'error_extending',
                  'error_managing')

    def _delete_volume(self, request):
        volume = self._find(self.volumes, 'volume', request.match_id)
        if volume['status'] not in self._DELETABLE or volume['attachments']:
            raise Refused(400, 'Invalid volume: Volume status must be '
                               'available or error')
        del self.volumes[volume['id']]
        return 202, None

    def _delete_attachment(self, request):
        for volume in self.volumes.values():
            for attachment in volume['attachments']:
                if attachment['attachment_id'] != request.match_id:
                    continue
                # From a user, while Nova still has the server: refused.
                if attachment['server_id'] in self.servers:
                    raise Refused(409, 'ConflictNovaUsingAttachment: Detach '
                                       'volume from instance %s using the '
                                       'Compute API'
                                  % attachment['server_id'])
                volume['attachments'].remove(attachment)
                if not volume['attachments']:
                    volume['status'] = 'available'
                return 200, {'attachments': []}
        raise Refused(404, 'attachment %s could not be found'
                      % request.match_id)

    def _volume_action(self, request):
        volume = self._find(self.volumes, 'volume', request.match_id)
        body = request.json()
        if 'os-set_bootable' not in body:
            raise Refused(400, 'fake: unknown action %s' % list(body))
        volume['bootable'] = \
            'true' if body['os-set_bootable']['bootable'] else 'false'
        return 200, None

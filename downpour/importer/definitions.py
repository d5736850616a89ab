"""What each resource type is: one declaration per type, the only place
that says it.

Every per-type list of downpour is derived from these declarations: the
order the import works in (topologically, from the references), the
resource file's sections and their keys, the query's filters and options,
the playbook's lists and the title of its task, what ``downpour check``
counts against which quota, how ``downpour graph`` draws each type, and the
import's kinds.  A type has, besides its declaration, one home on each
side, named after it: ``downpour/resources/<name>.py`` reads it at export,
``downpour/importer/<name>.py`` finds, compares, creates and corrects it at
import (doc/source/adding-a-type.rst).

This module travels with the importer (OUTPUT_DIR/collections/): the
import machine has no downpour, only Ansible and openstacksdk.  So it
holds plain data, and imports nothing but the importer's homes.
"""

import dataclasses

from . import (
    availability_zone,
    external_network,
    flavor,
    floating_ip,
    health_monitor,
    image,
    keypair,
    l7_policy,
    listener,
    load_balancer,
    load_balancer_availability_zone,
    load_balancer_flavor,
    member,
    network,
    pool,
    port,
    router,
    secret,
    secret_container,
    security_group,
    server,
    server_group,
    server_snapshot,
    subnet,
    swift_container,
    swift_policy,
    volume,
    volume_type,
)

# The fields every item of the playbook has, whatever its type.
HEAD = ('type', 'id', 'name', 'csv_type')


@dataclasses.dataclass(frozen=True)
class Ref:
    """A field of an item that holds the key of another item (its ID in the
    source, or the key downpour chose): ``path`` is the field, with
    ``[]`` for each list on the way (``fixed_ips[].subnet``).  ``needed``:
    the import waits for the item named before it starts this one; a ref
    that is only said (which volumes a server's deletion takes) is not
    waited for."""

    path: str
    types: tuple
    needed: bool = True

    def keys(self, item):
        """The keys this ref holds in ``item``."""
        values = [item]
        for part in self.path.split('.'):
            many = part.endswith('[]')
            name = part[:-2] if many else part
            found = []
            for value in values:
                inner = value.get(name) if isinstance(value, dict) else None
                if inner is None:
                    continue
                found.extend(inner if many and isinstance(inner, list)
                             else [inner])
            values = found
        return [v for v in values if isinstance(v, str) and v]

    @property
    def field(self):
        """The item's own field that holds it (before any ``.``)."""
        return self.path.split('.', 1)[0].rstrip('[]')


@dataclasses.dataclass(frozen=True)
class Quota:
    """A kind of the target project's quota that the type consumes:
    ``each`` per item the import makes (0 when the type's import home
    counts it, from the look: a server's cores, a volume's gigabytes)."""

    key: str
    label: str
    each: int = 1
    # Of a service many clouds lack (Barbican, Octavia): asked for and
    # shown by check only when the export needs some, so that a check
    # without it has no row saying "not reported".
    optional: bool = False


@dataclasses.dataclass(frozen=True)
class Type:
    """One resource type.

    ``name`` is the type of its records and items, and names its template
    and its homes.  ``csv`` is its name in uuids.csv and the journal; a
    type without one is never made but chosen among what the target has
    (flavors, external networks, volume types, zones).
    """

    name: str
    home: type
    csv: str | None = None
    # Whether uuids.csv maps it (a server's snapshot has the server's old
    # ID, which uuids.csv maps to the new server).
    mapped: bool = True
    # The resource file: its section, the keys an entry may have besides
    # what names it, and what names it ('name', or 'address').
    section: str | None = None
    options: tuple = ()
    named_by: str = 'name'
    # downpour query's option for the names (or addresses) to look for.
    option: str | None = None
    # The item the playbook lists and the import reads, beyond HEAD:
    # ``carried`` is sent to the target, ``info`` only said about the
    # source, ``refs`` names other items, ``correctable`` is what the
    # import corrects on a resource of its own (the rest is fixed once
    # made).
    carried: tuple = ()
    info: tuple = ()
    refs: tuple = ()
    correctable: tuple = ()
    # The playbook's list it goes in (downpour_<list>), and what the task
    # does to that list, for its title (said by the list's last type, the
    # one the list is for).
    list: str = ''
    verb: str = 'create'
    noun: str = ''
    # The service whose work it is at import: at most `parallel` at a time
    # in each lane, the lanes side by side.  None: done in order, outside
    # the overlapped work (made in a moment: a keypair), where the first
    # failure stops the rest.
    lane: str | None = None
    # Whether name_clash=adopt may take a same-named resource, once its
    # import home proves it equivalent.
    adoptable: bool = False
    # What a same-named resource the import did not make is: 'clash' (as
    # name_clash says), 'reuse' for a type whose name is its identity
    # (a keypair: the same one is reused, another stops the import), or
    # 'unique' for one whose name is its identity and that is never reused
    # (a Swift container: nothing can be made beside it, so only adopt may
    # take it, else the import stops on it).
    same_name: str = 'clash'
    quota: tuple = ()
    # Whether it is in an export only for the items that refer to it (a
    # server's capture, its flavor and group): when a hand edit of the
    # playbook removes them all, it goes too (orphans.py).  Not a type the
    # resource file names, nor a port (a VIP port is there for the ports
    # whose address pairs name its address, which is no reference).
    for_others: bool = False
    # downpour check --fit takes it along with what it refers to (a router
    # with the networks it joins, a floating IP with its port).
    follows: bool = False
    # downpour graph: its rank along what moves, and its shape.
    rank: int = 9
    shape: str = 'box'
    # Of a chosen type: the playbook's map variable that chooses for it,
    # whether the target always has a default (else the play stops before
    # anything is made when nothing matches), and what the playbook says
    # over its list.
    map: str | None = None
    defaulted: bool = False
    about: str = ''

    @property
    def chosen(self):
        return self.csv is None

    @property
    def fields(self):
        return self.carried + self.info + tuple(r.field for r in self.refs)

    def references(self, item, needed_only=False):
        """The keys of the other items ``item`` names."""
        keys = []
        for ref in self.refs:
            if ref.needed or not needed_only:
                keys += [k for k in ref.keys(item)
                         if k != item.get('id') and k not in keys]
        return keys


_BLOB = ('filename', 'checksum', 'digests')
# What a load balancer's certificate may be: a container (certificate,
# key, intermediates), or a secret (PKCS#12; a CA's or CRL's PEM).
_BARBICAN = ('secret_container', 'secret')

TYPES = (
    Type('flavor', flavor.Flavors, list='flavors',
         for_others=True,
         info=('vcpus', 'ram', 'disk'), rank=1, shape='tab',
         map='flavor_map',
         about="The target's flavor for each of these: the flavor_map "
               'entry, else the flavor of the same name, else the smallest '
               'one as large.'),
    Type('external_network', external_network.ExternalNetworks,
         for_others=True,
         list='external_networks', info=('external',), rank=5,
         shape='hexagon',
         map='network_map',
         about="The target's network for each of these: the network_map "
               "entry, else the network of the same name, else the target's "
               'only external one.'),
    Type('volume_type', volume_type.VolumeTypes, list='volume_types',
         for_others=True,
         rank=1, shape='tab', map='volume_type_map', defaulted=True,
         about="The target's volume type for each of these: the "
               'volume_type_map entry, else the type of the same name, else '
               "the target's default."),
    Type('availability_zone', availability_zone.AvailabilityZones,
         for_others=True,
         list='availability_zones', info=('service',), rank=1,
         shape='tab', map='az_map', defaulted=True,
         about="The target's zone for each of these: the az_map entry, else "
               'the zone of the same name (of the same service), else the '
               "target's default."),
    Type('keypair', keypair.Keypairs, csv='keypair', section='keypairs',
         option='--keypair-name', list='keypairs', carried=('public_key',),
         same_name='reuse',
         quota=(Quota('key_pairs', 'key pairs'),), rank=1,
         shape='component'),
    Type('network', network.Networks, csv='network', section='networks',
         option='--network-name', list='networks',
         carried=('attributes', 'tags'),
         correctable=('name', 'attributes', 'tags'), lane='network',
         adoptable=True, quota=(Quota('networks', 'networks'),), rank=2,
         shape='hexagon'),
    Type('subnet', subnet.Subnets, csv='subnet', list='networks',
         carried=('attributes', 'tags'),
         refs=(Ref('network', ('network',)),),
         # DHCP too, last, by its import home (a DHCP port could take a
         # carried address).
         correctable=('name', 'attributes.description',
                      'attributes.dns_nameservers',
                      'attributes.host_routes', 'tags'),
         lane='network', adoptable=True,
         quota=(Quota('subnets', 'subnets'),), rank=3, shape='ellipse'),
    Type('router', router.Routers, csv='router', list='routers',
         carried=('attributes', 'tags', 'routes'),
         refs=(Ref('gateway', ('external_network',)),
               Ref('interfaces[].subnet', ('subnet',)),
               Ref('interfaces[].network', ('network',))),
         correctable=('name', 'attributes', 'gateway', 'tags', 'routes',
                      'interfaces'),
         lane='network', adoptable=True,
         # Each interface is a port of the project.
         quota=(Quota('routers', 'routers'), Quota('ports', 'ports', 0)),
         follows=True, rank=4, shape='diamond'),
    Type('security_group', security_group.SecurityGroups,
         csv='security group', section='security_groups',
         option='--security-group-name', list='security_groups',
         carried=('description', 'rules', 'tags'), info=('default',),
         # A group is made before any rule: its rules wait for the groups
         # they name, two groups may name each other.
         refs=(Ref('rules[].remote_group', ('security_group',),
                   needed=False),),
         correctable=('name', 'description', 'tags', 'rules'),
         lane='network', adoptable=True,
         quota=(Quota('security_groups', 'security groups', 0),
                Quota('security_group_rules', 'security group rules', 0)),
         rank=2, shape='octagon'),
    Type('server_group', server_group.ServerGroups, csv='server group',
         for_others=True,
         list='server_groups', noun='server groups',
         carried=('policy', 'rules'), lane='compute',
         quota=(Quota('server_groups', 'server groups'),
                Quota('server_group_members',
                      'server group members (largest group)', 0)),
         rank=1, shape='folder'),
    Type('image', image.Images, csv='image', section='images',
         option='--image-name', list='images', verb='upload',
         carried=('attributes',) + _BLOB, correctable=('name', 'tags'),
         lane='image', adoptable=True,
         quota=(Quota('image_count_total', 'images'),
                Quota('image_size_total', 'image storage (MiB)', 0)),
         rank=1, shape='note'),
    Type('server_snapshot', server_snapshot.ServerSnapshots,
         for_others=True,
         csv='server snapshot', mapped=False, list='images', verb='upload',
         carried=('attributes',) + _BLOB, info=('stays',),
         correctable=('name', 'tags'),
         lane='image', adoptable=True,
         quota=(Quota('image_count_total', 'images'),
                Quota('image_size_total', 'image storage (MiB)', 0)),
         rank=1, shape='note'),
    Type('volume', volume.Volumes, csv='volume', section='volumes',
         options=('save_state',), option='--volume-name', list='volumes',
         verb='make',
         carried=('size', 'description', 'metadata', 'bootable',
                  'disk_format', 'image_properties') + _BLOB,
         refs=(Ref('volume_type', ('volume_type',)),
               Ref('availability_zone', ('availability_zone',))),
         correctable=('name', 'description'), lane='volume',
         # Its bytes go through an image of the import's own.
         quota=(Quota('volumes', 'volumes'),
                Quota('gigabytes', 'volume gigabytes', 0),
                Quota('image_count_total', 'images', 0),
                Quota('image_size_total', 'image storage (MiB)', 0)),
         rank=1, shape='cylinder'),
    Type('port', port.Ports, csv='port', list='servers',
         carried=('description', 'fixed_ips', 'mac_address',
                  'allowed_address_pairs', 'port_security_enabled',
                  'tags'),
         refs=(Ref('network', ('network', 'external_network')),
               Ref('fixed_ips[].subnet', ('subnet',)),
               Ref('security_groups[]', ('security_group',))),
         correctable=('name', 'description', 'security_groups',
                      'allowed_address_pairs', 'port_security_enabled',
                      'tags'),
         lane='network', quota=(Quota('ports', 'ports'),), rank=1,
         shape='circle'),
    Type('server', server.Servers, csv='server', section='servers',
         options=('save_state', 'key_name'), option='--server-name',
         list='servers', verb='boot',
         carried=('metadata', 'description', 'config_drive', 'tags',
                  'user_data'),
         refs=(Ref('flavor', ('flavor',)),
               Ref('image', ('image', 'server_snapshot')),
               Ref('boot_volume', ('volume',)),
               Ref('key_name', ('keypair',)),
               Ref('server_group', ('server_group',)),
               Ref('ports[]', ('port',)),
               Ref('volumes[]', ('volume',)),
               Ref('delete_on_termination[]', ('volume',), needed=False),
               Ref('availability_zone', ('availability_zone',))),
         correctable=('name', 'description', 'tags', 'volumes',
                      'delete_on_termination'),
         lane='compute',
         quota=(Quota('instances', 'instances'),
                Quota('cores', 'cores', 0), Quota('ram', 'RAM (MiB)', 0)),
         rank=0, shape='box3d'),
    # Octavia's flavors and zones, chosen like Nova's: a tenant cannot make
    # them, and their meaning (a provider's profile) is the operator's.
    Type('load_balancer_flavor', load_balancer_flavor.LoadBalancerFlavors,
         for_others=True, list='load_balancer_flavors', rank=-3,
         shape='tab', map='lb_flavor_map', defaulted=True,
         about="The target's Octavia flavor for each of these: the "
               'lb_flavor_map entry, else the flavor of the same name, else '
               "the target's default."),
    Type('load_balancer_availability_zone',
         load_balancer_availability_zone.LoadBalancerAvailabilityZones,
         for_others=True, list='load_balancer_availability_zones', rank=-3,
         shape='tab', map='lb_az_map', defaulted=True,
         about="The target's Octavia availability zone for each of these: "
               'the lb_az_map entry, else the zone of the same name, else '
               "the target's default."),
    # Load balancers and what is on them, in the lane of Octavia, which
    # takes one change at a time on a load balancer (importer/octavia.py).
    # None is adoptable: adopt proves equivalence, and a load balancer is
    # equivalent only with everything on it (listeners, pools, members,
    # their certificates), which no kind proves yet.
    Type('load_balancer', load_balancer.LoadBalancers, csv='load balancer',
         section='load_balancers', option='--load-balancer',
         list='load_balancers', noun='load balancers',
         carried=('description', 'tags', 'admin_state_up', 'vip_address'),
         info=('provider',),
         refs=(Ref('vip_network', ('network', 'external_network')),
               Ref('vip_subnet', ('subnet',)),
               Ref('flavor', ('load_balancer_flavor',)),
               Ref('availability_zone',
                   ('load_balancer_availability_zone',))),
         correctable=('name', 'description', 'tags', 'admin_state_up'),
         lane='load_balancer',
         quota=(Quota('octavia_load_balancer', 'load balancers',
                      optional=True),),
         rank=-4, shape='invtrapezium'),
    Type('pool', pool.Pools, csv='pool', list='load_balancers',
         carried=('description', 'tags', 'admin_state_up', 'protocol',
                  'lb_algorithm', 'session_persistence', 'tls_enabled',
                  'tls_versions', 'tls_ciphers', 'alpn_protocols'),
         # Its certificates, CA and CRL for TLS to the members, in
         # Barbican.
         refs=(Ref('load_balancer', ('load_balancer',)),
               Ref('tls_container', _BARBICAN),
               Ref('ca_tls_container', _BARBICAN),
               Ref('crl_container', _BARBICAN)),
         correctable=('name', 'description', 'tags', 'admin_state_up',
                      'lb_algorithm', 'session_persistence', 'tls_enabled',
                      'tls_versions', 'tls_ciphers', 'alpn_protocols',
                      'tls_container', 'ca_tls_container', 'crl_container'),
         lane='load_balancer',
         quota=(Quota('octavia_pool', 'load balancer pools', optional=True),),
         rank=-2, shape='trapezium'),
    # A listener's default pool is made before it, on the load balancer.
    Type('listener', listener.Listeners, csv='listener',
         list='load_balancers',
         carried=('description', 'tags', 'admin_state_up', 'protocol',
                  'protocol_port', 'connection_limit', 'timeout_client_data',
                  'timeout_member_connect', 'timeout_member_data',
                  'timeout_tcp_inspect', 'allowed_cidrs', 'insert_headers',
                  'tls_versions', 'tls_ciphers', 'alpn_protocols',
                  'client_authentication', 'hsts_max_age',
                  'hsts_include_subdomains', 'hsts_preload'),
         # Its certificates (the default one, those by SNI), the CA and
         # CRL of its clients' certificates, in Barbican.
         refs=(Ref('load_balancer', ('load_balancer',)),
               Ref('default_pool', ('pool',)),
               Ref('default_tls_container', _BARBICAN),
               Ref('sni_containers[]', _BARBICAN),
               Ref('client_ca_tls_container', _BARBICAN),
               Ref('client_crl_container', _BARBICAN)),
         correctable=('name', 'description', 'tags', 'admin_state_up',
                      'connection_limit', 'timeout_client_data',
                      'timeout_member_connect', 'timeout_member_data',
                      'timeout_tcp_inspect', 'allowed_cidrs',
                      'insert_headers', 'tls_versions', 'tls_ciphers',
                      'alpn_protocols', 'client_authentication',
                      'hsts_max_age', 'hsts_include_subdomains',
                      'hsts_preload', 'default_pool',
                      'default_tls_container', 'sni_containers',
                      'client_ca_tls_container', 'client_crl_container'),
         lane='load_balancer',
         quota=(Quota('octavia_listener', 'load balancer listeners',
                      optional=True),),
         rank=-3, shape='cds'),
    Type('member', member.Members, csv='member', list='load_balancers',
         carried=('address', 'protocol_port', 'weight', 'backup',
                  'monitor_address', 'monitor_port', 'tags',
                  'admin_state_up'),
         # The server is only said (the graph draws the pool in front of
         # it); its port, whose new address the member takes, is waited
         # for.
         refs=(Ref('pool', ('pool',)), Ref('subnet', ('subnet',)),
               Ref('port', ('port',)),
               Ref('server', ('server',), needed=False)),
         correctable=('name', 'weight', 'backup', 'monitor_address',
                      'monitor_port', 'tags', 'admin_state_up'),
         lane='load_balancer',
         quota=(Quota('octavia_member', 'load balancer members',
                      optional=True),),
         rank=-1, shape='rarrow'),
    Type('health_monitor', health_monitor.HealthMonitors,
         csv='health monitor', list='load_balancers',
         # Its type (HTTP, TCP ...) is ``monitor_type``: ``type`` is the
         # item's.
         carried=('monitor_type', 'delay', 'timeout', 'max_retries',
                  'max_retries_down', 'http_method', 'url_path',
                  'expected_codes', 'domain_name', 'http_version', 'tags',
                  'admin_state_up'),
         refs=(Ref('pool', ('pool',)),),
         correctable=('name', 'delay', 'timeout', 'max_retries',
                      'max_retries_down', 'http_method', 'url_path',
                      'expected_codes', 'domain_name', 'http_version',
                      'tags', 'admin_state_up'),
         lane='load_balancer',
         quota=(Quota('octavia_health_monitor',
                      'load balancer health monitors', optional=True),),
         rank=-1, shape='egg'),
    Type('l7_policy', l7_policy.L7Policies, csv='l7 policy',
         list='load_balancers', noun='load balancers',
         carried=('action', 'position', 'redirect_url', 'redirect_prefix',
                  'redirect_http_code', 'description', 'tags',
                  'admin_state_up', 'rules'),
         refs=(Ref('listener', ('listener',)),
               Ref('redirect_pool', ('pool',))),
         correctable=('name', 'action', 'redirect_url', 'redirect_prefix',
                      'redirect_http_code', 'redirect_pool', 'description',
                      'tags', 'admin_state_up', 'rules'),
         lane='load_balancer',
         quota=(Quota('octavia_l7policy', 'load balancer L7 policies',
                      optional=True),
                Quota('octavia_l7rule', 'load balancer L7 rules', 0,
                      optional=True)),
         rank=-2, shape='note'),
    # Barbican.  A payload is never in the item: the export writes it to
    # secrets.vault.yml (Ansible Vault), the playbook hands it to the
    # module in an argument that is never logged.  Secrets and containers
    # cannot change once made: nothing is corrected.
    Type('secret', secret.Secrets, csv='secret', section='secrets',
         option='--secret', list='secrets', verb='store',
         carried=('secret_type', 'algorithm', 'bit_length', 'mode',
                  'expiration', 'payload_content_type'),
         lane='key_manager',
         quota=(Quota('secrets', 'secrets', optional=True),), rank=2,
         shape='signature'),
    Type('secret_container', secret_container.SecretContainers,
         csv='secret container', section='secret_containers',
         option='--secret-container', list='secret_containers',
         verb='store',
         carried=('container_type',),
         refs=(Ref('secret_refs[].secret', ('secret',)),),
         lane='key_manager',
         quota=(Quota('containers', 'secret containers', optional=True),),
         rank=1, shape='Msquare'),
    # Swift.  A storage policy is chosen like a volume type; a container's
    # name is its identity in the account (engine: same_name 'unique').
    Type('swift_policy', swift_policy.SwiftPolicies, list='swift_policies',
         for_others=True, rank=1, shape='tab', map='swift_policy_map',
         defaulted=True,
         about="The target's storage policy for each of these: the "
               'swift_policy_map entry, else the policy of the same name, '
               "else the target's default."),
    Type('swift_container', swift_container.SwiftContainers,
         csv='container', section='containers', option='--container',
         list='containers', verb='fill', noun='containers',
         carried=('metadata', 'read_acl', 'write_acl', 'versions_mode',
                  'objects', 'object_count', 'object_bytes'),
         # The container that keeps its old versions is only named: Swift
         # takes the name before that container exists.
         refs=(Ref('storage_policy', ('swift_policy',)),
               Ref('versions', ('swift_container',), needed=False),
               # Those holding segments of its static large objects,
               # which Swift checks as it takes their manifests.
               Ref('segment_containers[]', ('swift_container',))),
         correctable=('metadata', 'read_acl', 'write_acl', 'versions'),
         lane='object', adoptable=True, same_name='unique',
         rank=1, shape='cylinder'),
    Type('floating_ip', floating_ip.FloatingIPs, csv='floating ip',
         section='floating_ips', named_by='address',
         option='--floating-ip', list='floating_ips', verb='allocate',
         noun='floating IPs',
         carried=('fixed_ip_address', 'description', 'tags'),
         info=('address',),
         # On a load balancer's VIP, it names the load balancer, not the
         # port (Octavia's own, never exported).
         refs=(Ref('network', ('external_network',)),
               Ref('port', ('port',)),
               Ref('vip_of', ('load_balancer',))),
         correctable=('description', 'port', 'vip_of', 'fixed_ip_address',
                      'tags'),
         # Overlapped, so that each is tried whatever another's fate, once
         # its port and the routers that join its network are there.
         lane='network',
         quota=(Quota('floating_ips', 'floating IPs'),), follows=True,
         rank=2, shape='doublecircle'),
)


def _in_order(types):
    """The types in dependency order: each after those its refs name,
    otherwise in the order declared."""
    left = list(types)
    done, result = set(), []
    while left:
        ready = next((t for t in left if all(
            name in done or name == t.name
            for ref in t.refs for name in ref.types)), None)
        if ready is None:
            raise ValueError('the types refer to each other in a circle: %s'
                             % ', '.join(t.name for t in left))
        left.remove(ready)
        done.add(ready.name)
        result.append(ready)
    return tuple(result)


ORDER = _in_order(TYPES)
BY_NAME = {t.name: t for t in ORDER}
BY_SECTION = {t.section: t for t in ORDER if t.section}
# The playbook's lists, in the order of its vars: those the look only
# chooses from, then those made, each in the order its first type comes.
LISTS = tuple(dict.fromkeys(
    [t.list for t in ORDER if t.chosen]
    + [t.list for t in ORDER if not t.chosen]))
# The kinds of quota, in the order check shows them.
QUOTAS = tuple(dict.fromkeys((q.key, q.label) for t in ORDER
                             for q in t.quota))

for _type in ORDER:
    # Each import home knows its declaration.
    _type.home.definition = _type

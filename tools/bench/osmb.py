#!/usr/bin/env python3
"""The "osmb" benchmark of issue 6: downpour (and os-migrate beside it).

The workload is the one of doc/source/performance.rst: 10 networks each
with one /24 subnet, a router with interfaces on 5 of them, 20 security
groups with 3 ingress TCP rules each (22, 80, 443), 5 raw images of
random bytes (64 MiB by default) and a keypair.  It is built, as a member
user, in a fresh project of the local source cloud (tools/localcloud; the
admin entries of its clouds.yaml make the projects and users).  Then::

    downpour query (everything: '*' for every section), once
    3 times:  downpour export            into a fresh directory
              ansible-playbook           into a fresh target project
              ansible-playbook again     (nothing to change)

and, with --os-migrate COLLECTIONS_PATH, os-migrate's export and import
playbooks on the same workload, as the same kind of member users.

Every step runs with tools/bench/reqcount on PYTHONPATH, which counts, in
every Python process (downpour, ansible-playbook, each Ansible module
process), the HTTP requests sent and the process's peak RSS.  The table
gives the median wall time of the runs, the largest peak RSS of downpour
and the module processes, the median number of requests, of POSTs, and of
POSTs other than logins (POST*).  Then, for one run of each step: seconds
and requests per module, seconds per kind of task (Ansible's profile_tasks
callback) and the most frequent requests.  --details DIR keeps every
step's records and output there.

Projects are deleted at the end, also on failure (--keep leaves them).
Run it with the dev virtualenv, the local clouds up::

    tox -e bench-osmb          # or: python tools/bench/osmb.py
"""

import argparse
import collections
import contextlib
import importlib.util
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import openstack
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
REQCOUNT = pathlib.Path(__file__).resolve().parent / 'reqcount'
BIN = pathlib.Path(sys.executable).parent
STATE = pathlib.Path(os.environ.get('DOWNPOUR_LOCALCLOUD_STATE',
                                    '/var/tmp/downpour-localcloud'))
PREFIX = 'osmb'
RULE_PORTS = (22, 80, 443)


def log(message):
    print('%s %s' % (time.strftime('%H:%M:%S'), message), flush=True)


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The functional tests' clean-up, and the clouds' quota settings: one
# definition of each.
provision = _load('localcloud_provision', REPO / 'tools/localcloud/provision.py')
conftest = _load('functional_conftest', REPO / 'tests/functional/conftest.py')


def connect(config):
    return openstack.connect(load_yaml_config=False, load_envvars=False,
                             **config)


class Projects:
    """Fresh projects with a member user each, deleted on close() (or one
    by one with drop()).  ``quotas`` (cloud -> {'compute': {...},
    'network': {...}, 'volume': {...}}) raises the quotas of the projects
    made in that cloud beyond provision.py's."""

    def __init__(self, clouds_yaml, prefix=PREFIX, quotas=None):
        with open(clouds_yaml) as stream:
            self.clouds = yaml.safe_load(stream)['clouds']
        self.prefix = prefix
        self.quotas = quotas or {}
        self.admins = {}
        self.made = []

    def admin(self, cloud):
        if cloud not in self.admins:
            self.admins[cloud] = connect(self.clouds['%s-admin' % cloud])
        return self.admins[cloud]

    def make(self, cloud, label):
        admin = self.admin(cloud)
        name = '%s-%s-%s' % (self.prefix, label, secrets.token_hex(4))
        project = admin.identity.create_project(name=name, domain_id='default')
        password = secrets.token_urlsafe(16)
        user = admin.identity.create_user(
            name=name, password=password, domain_id='default',
            default_project_id=project.id)
        self.made.append((cloud, project, user))
        admin.identity.assign_project_role_to_user(
            project, user, admin.identity.find_role('member', ignore_missing=False))
        provision.raise_quotas(admin, project.id)
        more = self.quotas.get(cloud) or {}
        if more.get('compute'):
            admin.set_compute_quotas(project.id, **more['compute'])
        if more.get('network'):
            admin.set_network_quotas(project.id, **more['network'])
        if more.get('volume'):
            admin.set_volume_quotas(project.id, **more['volume'])
        base = self.clouds[cloud]
        return {
            'auth': {
                'auth_url': base['auth']['auth_url'],
                'username': name, 'password': password, 'project_name': name,
                'user_domain_name': 'Default', 'project_domain_name': 'Default',
            },
            'region_name': base['region_name'],
            'identity_api_version': 3,
            'interface': 'public',
        }

    def _delete(self, cloud, project, user):
        """Never raises: a cloud that went away (a restart boots it from
        empty databases) has nothing left to delete."""
        try:
            admin = self.admin(cloud)
            try:
                conftest.delete_project_resources(admin, project.id, user.id)
            except Exception as exc:  # noqa: BLE001 (go on with the rest)
                log('clean-up of %s failed: %r' % (project.name, exc))
            admin.identity.delete_user(user, ignore_missing=True)
            admin.identity.delete_project(project, ignore_missing=True)
        except Exception as exc:  # noqa: BLE001 (go on with the rest)
            log('deleting %s failed: %r' % (project.name, exc))

    def drop(self, name):
        """Delete the project (and user) called ``name`` now."""
        for made in list(self.made):
            if made[1].name == name:
                self.made.remove(made)
                self._delete(*made)

    def close(self):
        for made in reversed(self.made):
            self._delete(*made)
        self.made = []


def build_workload(conn, workdir, image_mib):
    """The osmb workload, in the project of ``conn`` (a member user)."""
    subnets = []
    for i in range(10):
        net = conn.network.create_network(name='%s-net-%02d' % (PREFIX, i))
        subnets.append(conn.network.create_subnet(
            name='%s-subnet-%02d' % (PREFIX, i), network_id=net.id,
            ip_version=4, cidr='10.60.%d.0/24' % i))
    router = conn.network.create_router(name='%s-router' % PREFIX)
    for subnet in subnets[:5]:
        conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    for i in range(20):
        group = conn.network.create_security_group(
            name='%s-sg-%02d' % (PREFIX, i), description='osmb group %d' % i)
        for port in RULE_PORTS:
            conn.network.create_security_group_rule(
                security_group_id=group.id, direction='ingress',
                ethertype='IPv4', protocol='tcp', port_range_min=port,
                port_range_max=port, remote_ip_prefix='0.0.0.0/0')
    blob = workdir / 'random.img'
    for i in range(5):
        with open(blob, 'wb') as stream:
            for _ in range(image_mib):
                stream.write(os.urandom(1024 * 1024))
        conn.image.create_image(
            name='%s-image-%d' % (PREFIX, i), filename=str(blob),
            disk_format='raw', container_format='bare', wait=True)
    blob.unlink()
    key = workdir / 'key'
    for path in (key, workdir / 'key.pub'):  # from a lost earlier attempt
        path.unlink(missing_ok=True)
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', PREFIX,
                    '-f', str(key)], check=True)
    conn.compute.create_keypair(name='%s-key' % PREFIX,
                                public_key=(workdir / 'key.pub').read_text())


class Step:
    """One timed command, counted by tools/bench/reqcount."""

    def __init__(self, name, argv, env, details, cwd=None):
        self.name = name
        self.records_dir = pathlib.Path(tempfile.mkdtemp(prefix='reqcount-'))
        # The counter first; then whatever the caller put there (a tree
        # of downpour to run instead of the installed one).
        path = os.pathsep.join(p for p in (str(REQCOUNT),
                                           env.get('PYTHONPATH')) if p)
        env = dict(env, PYTHONPATH=path,
                   DOWNPOUR_REQCOUNT_DIR=str(self.records_dir))
        started = time.monotonic()
        proc = subprocess.run([str(a) for a in argv], env=env, cwd=cwd,
                              capture_output=True, text=True, timeout=7200)
        self.wall = time.monotonic() - started
        self.output = proc.stdout + proc.stderr
        self.records = [json.loads(p.read_text())
                        for p in sorted(self.records_dir.glob('*.json'))]
        if details:
            stem = details / re.sub(r'\W+', '-', name)
            stem.with_suffix('.out').write_text(self.output)
            stem.with_suffix('.json').write_text(json.dumps(
                {'wall': self.wall, 'records': self.records}, indent=1))
        shutil.rmtree(self.records_dir)
        if proc.returncode != 0:
            log('%s failed (exit %d):\n%s' % (
                name, proc.returncode, self.output[-3000:]))
            raise StepFailed('%s failed (exit %d)' % (name, proc.returncode))

    def requests(self, method=None, logins=True):
        return sum(n for r in self.records for key, n in r['requests'].items()
                   if (method is None or key.split()[0] == method) and
                   (logins or not key.endswith('/v3/auth/tokens')))

    def peak_rss_mb(self):
        """Largest peak RSS among the processes doing the work: downpour or
        a module process (ansible-playbook's own processes are reported
        apart, see controller_rss_mb)."""
        return max((r['maxrss_kb'] for r in self.records
                    if r['argv0'] != 'ansible-playbook'), default=0) / 1024

    def controller_rss_mb(self):
        return max((r['maxrss_kb'] for r in self.records
                    if r['argv0'] == 'ansible-playbook'), default=0) / 1024

    def changed(self):
        counts = re.findall(r'changed=(\d+)', self.output)
        return sum(int(c) for c in counts) if counts else None

    def by_module(self):
        """module -> [processes, seconds, requests] (seconds: summed wall
        time of its processes, interpreter start to exit)."""
        table = collections.defaultdict(lambda: [0, 0.0, 0])
        for r in self.records:
            name = r['module'] or r['argv0']
            row = table[name]
            row[0] += 1
            row[1] += r['end'] - r['start']
            row[2] += sum(r['requests'].values())
        return dict(table)

    def by_request(self):
        counts = collections.Counter()
        for r in self.records:
            counts.update(r['requests'])
        return counts

    def task_times(self, stems=(PREFIX, 'default')):
        """Seconds per kind of task from the profile_tasks callback: the
        task name up to the resource name (the first word that starts
        with one of ``stems``)."""
        times = collections.defaultdict(lambda: [0, 0.0])
        for line in self.output.splitlines():
            match = re.match(r'^(.+?) -{3,} (\d+\.\d+)s$', line)
            if not match:
                continue
            words = []
            for word in match.group(1).split():
                if word.startswith(tuple(stems)):
                    break
                words.append(word)
            kind = ' '.join(words) or match.group(1)
            times[kind][0] += 1
            times[kind][1] += float(match.group(2))
        return dict(times)


class StepFailed(Exception):
    pass


def base_env(clouds_yaml):
    env = dict(os.environ)
    env.pop('OS_CLOUD', None)
    env.update({
        'OS_CLIENT_CONFIG_FILE': str(clouds_yaml),
        'PATH': '%s:%s' % (BIN, env.get('PATH', '')),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        # Seconds per task, every task, in playbook order.
        'ANSIBLE_CALLBACKS_ENABLED': 'ansible.posix.profile_tasks',
        'PROFILE_TASKS_TASK_OUTPUT_LIMIT': 'all',
        'PROFILE_TASKS_SORT_ORDER': 'none',
    })
    return env


OS_MIGRATE_EXPORT = (
    'export_networks', 'export_subnets', 'export_routers',
    'export_router_interfaces', 'export_security_groups',
    'export_security_group_rules', 'export_keypairs', 'export_images')


class Bench:
    """The source workload, and the runs of each tool against it.

    The local clouds are shared: another engineer's ``localcloud down`` /
    ``up`` wipes them (they boot from empty databases).  A run that fails
    waits for the clouds (``localcloud up``), builds the workload again if
    its project is gone, and starts over; its failure is reported.
    """

    # Names of projects and scratch directories; the source project's
    # clouds.yaml entry.
    prefix = PREFIX
    source = 'osmb-source'

    def __init__(self, args):
        self.args = args
        self.workdir = pathlib.Path(tempfile.mkdtemp(prefix=self.prefix + '-'))
        self.clouds_yaml = self.workdir / 'clouds.yaml'
        self.projects = None
        self.entries = {}
        self.source_project = None
        self.resources = self.workdir / 'resources.yml'
        self.env = base_env(self.clouds_yaml)
        self.results = collections.defaultdict(
            lambda: collections.defaultdict(list))
        self.failures = []
        self.broken = set()

    def step(self, name, argv, env=None):
        try:
            step = Step(name, argv, env or self.env, self.args.details)
        except StepFailed as exc:
            self.failures.append(str(exc).splitlines()[0])
            raise
        return step

    def add_cloud(self, name, cloud, label):
        self.entries[name] = self.projects.make(cloud, label)
        self.clouds_yaml.write_text(yaml.safe_dump({'clouds': self.entries}))

    @staticmethod
    def clouds_ready():
        return subprocess.run(
            [REPO / 'tools/localcloud/localcloud', 'status'],
            capture_output=True, check=False).returncode == 0

    def source_exists(self):
        if self.projects is None or self.source_project is None:
            return False
        try:
            admin = connect(self.projects.clouds['source-admin'])
            return bool(admin.identity.get_project(self.source_project))
        except Exception:  # noqa: BLE001 (a cloud that went away)
            return False

    def ensure_source(self):
        """The workload's project, built again if the cloud lost it."""
        if self.source_exists():
            return
        if self.source_project is not None:
            log('the source project is gone: building the workload again')
        if self.projects is not None:
            with contextlib.suppress(Exception):
                self.projects.close()
        self.projects = self.new_projects(pathlib.Path(os.environ.get(
            'DOWNPOUR_BENCH_CLOUDS', STATE / 'clouds.yaml')))
        self.entries = {}
        self.add_cloud(self.source, 'source', 'src')
        self.source_project = self.projects.made[-1][1].id
        self.build_source()

    def new_projects(self, clouds_yaml):
        return Projects(clouds_yaml)

    def build_source(self):
        """The workload in the source project, and the resource file."""
        log('building the workload (%d MiB images)' % self.args.image_mib)
        started = time.monotonic()
        build_workload(connect(self.entries['osmb-source']), self.workdir,
                       self.args.image_mib)
        log('workload built in %.0f s' % (time.monotonic() - started))
        # Select everything, as a user would: '*' in every section.
        argv = [BIN / 'downpour', '--os-cloud', 'osmb-source', 'query']
        for option in ('--server-name', '--volume-name', '--image-name',
                       '--keypair-name', '--network-name',
                       '--security-group-name'):
            argv += [option, '*']
        self.resources.unlink(missing_ok=True)
        self.step('downpour query', argv + [self.resources])

    def run(self, tool, number):
        if tool in self.broken:
            return
        for attempt in range(1, 4):
            try:
                try:
                    self.ensure_source()
                except Exception as exc:  # noqa: BLE001 (a cloud went away)
                    raise StepFailed('building the workload: %r' % exc) from exc
                steps = getattr(self, 'run_' + tool.replace('-', '_'))(number)
            except StepFailed as exc:
                log('%s run %d, attempt %d failed: %s' % (
                    tool, number, attempt, str(exc).splitlines()[0]))
                if self.clouds_ready() and self.source_exists():
                    # Not the clouds: the tool.  Go on without it.
                    log('%s failed on healthy clouds: no more runs of it'
                        % tool)
                    self.broken.add(tool)
                    return
                subprocess.run([REPO / 'tools/localcloud/localcloud', 'up'],
                               capture_output=True, check=False)
                continue
            for label, step in steps.items():
                self.results[tool][label].append(step)
            return
        log('%s run %d failed three times: no more runs of it' % (tool, number))
        self.broken.add(tool)

    def run_downpour(self, number):
        steps = {}
        out = self.workdir / ('out-%d' % number)
        shutil.rmtree(out, ignore_errors=True)
        steps['export'] = self.step(
            'downpour export %d' % number,
            [BIN / 'downpour', '--os-cloud', 'osmb-source', 'export',
             self.resources, out])
        log('downpour export %d: %.1f s' % (number, steps['export'].wall))
        cloud = 'osmb-target-%d' % number
        self.add_cloud(cloud, 'target', 'dp%d' % number)
        for label in ('first import', 'second import'):
            steps[label] = self.step(
                'downpour %s %d' % (label, number),
                [BIN / 'ansible-playbook', out / 'playbook.yml',
                 '-e', 'cloud=' + cloud])
            log('downpour %s %d: %.1f s, changed=%s' % (
                label, number, steps[label].wall, steps[label].changed()))
        shutil.rmtree(out)  # 5 images a run
        return steps

    def run_floor(self, number):
        """The same creates from one openstacksdk session
        (tools/bench/osmb_floor.py): the API work alone."""
        cloud = 'osmb-target-floor%d' % number
        self.add_cloud(cloud, 'target', 'floor%d' % number)
        blob = self.workdir / 'floor.img'
        with open(blob, 'wb') as stream:
            for _ in range(self.args.image_mib):
                stream.write(os.urandom(1024 * 1024))
        argv = [sys.executable, pathlib.Path(__file__).with_name('osmb_floor.py'),
                cloud, blob, self.workdir / 'key.pub']
        steps = {}
        for label in ('first import', 'second import'):
            steps[label] = self.step('floor %s %d' % (label, number), argv)
            log('floor %s %d: %.1f s' % (label, number, steps[label].wall))
        blob.unlink()
        return steps

    def run_os_migrate(self, number):
        """os-migrate's export and import playbooks for the same resource
        types, as the same kind of member users (see performance.rst)."""
        collections_path = pathlib.Path(self.args.os_migrate).resolve()
        playbooks = (collections_path / 'ansible_collections' / 'os_migrate' /
                     'os_migrate' / 'playbooks')
        env = dict(self.env, ANSIBLE_COLLECTIONS_PATH=str(collections_path))
        data = self.workdir / ('osm-%d' % number)
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir()
        cloud = 'osmb-target-osm%d' % number
        self.add_cloud(cloud, 'target', 'osm%d' % number)
        source, target = self.entries['osmb-source'], self.entries[cloud]
        (data / 'vars.yml').write_text(yaml.safe_dump({
            'os_migrate_data_dir': str(data),
            'os_migrate_src_auth': source['auth'],
            'os_migrate_src_region_name': source['region_name'],
            'os_migrate_dst_auth': target['auth'],
            'os_migrate_dst_region_name': target['region_name'],
        }))
        # Its playbooks run on the group "migrator".
        (data / 'inventory.yml').write_text(yaml.safe_dump({'migrator': {
            'hosts': {'localhost': {
                'ansible_connection': 'local',
                'ansible_python_interpreter': sys.executable}}}}))
        imports = [name.replace('export_', 'import_')
                   for name in OS_MIGRATE_EXPORT]
        steps = {}
        for label, names in (('export', OS_MIGRATE_EXPORT),
                             ('first import', imports),
                             ('second import', imports)):
            argv = [BIN / 'ansible-playbook', '-i', data / 'inventory.yml',
                    '-e', '@%s' % (data / 'vars.yml')]
            argv += [playbooks / ('%s.yml' % name) for name in names]
            steps[label] = self.step('os-migrate %s %d' % (label, number),
                                     argv, env)
            log('os-migrate %s %d: %.1f s, changed=%s' % (
                label, number, steps[label].wall, steps[label].changed()))
        shutil.rmtree(data)
        return steps

    def close(self):
        if self.projects is not None:
            if self.args.keep:
                log('kept projects: %s' % ', '.join(
                    p.name for _, p, _ in self.projects.made))
            else:
                log('deleting the projects')
                with contextlib.suppress(Exception):  # a cloud went away
                    self.projects.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def summary(steps):
    rows = []
    for label in ('export', 'first import', 'second import'):
        runs = steps.get(label)
        if not runs:
            continue
        rows.append((label,
                     statistics.median(s.wall for s in runs),
                     max(s.peak_rss_mb() for s in runs),
                     statistics.median(s.requests() for s in runs),
                     statistics.median(s.requests('POST') for s in runs),
                     statistics.median(s.requests('POST', logins=False)
                                       for s in runs),
                     [round(s.wall, 1) for s in runs]))
    return rows


def print_table(title, rows):
    print('\n%s' % title)
    print('%-14s %8s %9s %9s %6s %6s  %s' % (
        'step', 'wall s', 'RSS MB', 'requests', 'POST', 'POST*',
        'runs (wall s)'))
    for label, wall, rss, requests, posts, creates, walls in rows:
        print('%-14s %8.1f %9.0f %9d %6d %6d  %s' % (
            label, wall, rss, requests, posts, creates, walls))
    print('POST*: POSTs other than logins (POST /v3/auth/tokens)')


def print_breakdown(tool, steps, stems=(PREFIX, 'default')):
    for label, runs in steps.items():
        step = runs[len(runs) // 2]  # one run, not a median
        print('\n%s %s, run %d: module processes (count, s, requests)'
              % (tool, label, len(runs) // 2 + 1))
        for name, (count, seconds, requests) in sorted(
                step.by_module().items(), key=lambda kv: -kv[1][1]):
            print('  %-32s %4d %8.1f %6d' % (name, count, seconds, requests))
        tasks = step.task_times(stems)
        if tasks:
            print('  tasks by kind (profile_tasks: count, s)')
            for kind, (count, seconds) in sorted(tasks.items(),
                                                 key=lambda kv: -kv[1][1]):
                print('    %-60s %4d %8.1f' % (kind[:60], count, seconds))
        print('  requests by method, port, path')
        for key, count in step.by_request().most_common(15):
            print('    %5d  %s' % (count, key))
        if step.controller_rss_mb():
            print('  ansible-playbook peak RSS: %.0f MB'
                  % step.controller_rss_mb())


def describe_machine(args):
    from importlib import metadata

    import downpour
    cpu = 'unknown CPU'
    with contextlib.suppress(OSError), open('/proc/cpuinfo') as stream:
        for line in stream:
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    memory = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    lines = [
        '%d cores (%s), %.0f GiB RAM, Python %s' % (
            os.cpu_count(), cpu, memory / 2**30, sys.version.split()[0]),
        'downpour %s, ansible-core %s, openstack.cloud %s, openstacksdk %s, '
        'keystoneauth1 %s' % (
            downpour.__version__, metadata.version('ansible-core'),
            _collection_version(pathlib.Path(metadata.distribution(
                'ansible').locate_file('ansible_collections'))),
            metadata.version('openstacksdk'), metadata.version('keystoneauth1')),
    ]
    if args.os_migrate:
        lines.append('os-migrate %s (%s)' % (
            _collection_version(pathlib.Path(args.os_migrate) /
                                'ansible_collections', 'os_migrate',
                                'os_migrate'), args.os_migrate))
    lines.append('clouds: tools/localcloud on the same machine, shared with '
                 'other work: expect noise')
    return lines


def _collection_version(root, namespace='openstack', name='cloud'):
    with contextlib.suppress(OSError, ValueError, KeyError):
        manifest = root / namespace / name / 'MANIFEST.json'
        return json.loads(manifest.read_text())['collection_info']['version']
    return 'unknown'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--image-mib', type=int, default=64)
    parser.add_argument('--os-migrate', metavar='COLLECTIONS_PATH',
                        help='also run os-migrate, installed in this '
                             'collections path (see performance.rst)')
    parser.add_argument('--no-downpour', action='store_true',
                        help='only the other tools')
    parser.add_argument('--floor', action='store_true',
                        help='also the import\'s API work alone, from one '
                             'process (tools/bench/osmb_floor.py)')
    parser.add_argument('--details', metavar='DIR', type=pathlib.Path,
                        help='keep every step\'s output and records here')
    parser.add_argument('--keep', action='store_true',
                        help='leave the projects (debugging)')
    args = parser.parse_args()
    # A killed benchmark still deletes its projects.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit('terminated'))

    if args.details:
        args.details.mkdir(parents=True, exist_ok=True)
    tools = [] if args.no_downpour else ['downpour']
    if args.os_migrate:
        tools.append('os-migrate')
    if args.floor:
        tools.append('floor')
    bench = Bench(args)
    try:
        # The tools take turns, so that both see the same noise.
        for number in range(1, args.runs + 1):
            for tool in tools:
                bench.run(tool, number)
    finally:
        bench.close()
    results = bench.results
    print('\nMachine:\n  ' + '\n  '.join(describe_machine(args)))
    if bench.failures:
        print('\nfailed attempts (run again): %s' % '; '.join(bench.failures))
    for tool, steps in results.items():
        print_breakdown(tool, steps)
    for tool, steps in results.items():
        print_table('%s, osmb workload, median of %d' % (tool, args.runs),
                    summary(steps))
    if 'downpour' in results and 'os-migrate' in results:
        ours, theirs = ({r[0]: r for r in summary(results[t])}
                        for t in ('downpour', 'os-migrate'))
        print('\ndownpour / os-migrate')
        for label in ours:
            if label in theirs:
                print('%-14s wall %.2f  requests %.2f' % (
                    label, ours[label][1] / theirs[label][1],
                    ours[label][3] / max(1, theirs[label][3])))


if __name__ == '__main__':
    main()

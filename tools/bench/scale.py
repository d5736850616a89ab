#!/usr/bin/env python3
"""The scale benchmark of issue 16: downpour on K units of work.

A unit of work, built as a member user in a fresh project of the local
source cloud (tools/localcloud), K times (names scale-uNNN-*):

* a network with a /24 subnet, and a router with its gateway on the
  cloud's external network and an interface on that subnet;
* a security group with 4 ingress rules (TCP 22, 80, 443 from anywhere,
  ICMP from the group's members);
* an image of random bytes (--image-mib, 16 MiB by default) and a keypair;
* a server group (soft-anti-affinity: the fake virt driver has one host);
* two servers of the smallest flavor in that group, on the unit's network,
  booted from the unit's image: ``keep`` (``save_state: true``: its disk
  is captured at export) with a floating IP on its port, and ``fresh``
  (``save_state: false``) with the keypair;
* two 1 GiB volumes made from the unit's image (so they hold its bytes):
  ``data``, attached to ``keep``, and ``spare``, detached.

``downpour query`` writes the resource file (the servers, ``keep`` ones
with ``--save-state`` and ``fresh`` ones with ``--no-save-state``, and the
detached volumes); everything else comes with the servers.  Then, --runs
times, each tool in turn::

    downpour export            into a fresh directory
    ansible-playbook           into a fresh target project (first import)
    ansible-playbook again     (second import: must change nothing)

the target project deleted after each run.  The tools: this tree's
downpour; with --baseline REV, the downpour of another revision (a git
worktree of it, on PYTHONPATH, same virtualenv); with --floor, the same
creates as the first import from one openstacksdk session in one process
(tools/bench/scale_floor.py), no Ansible.  The first import is checked
against the export's manifest (as many servers, all ACTIVE, volumes,
floating IPs, server groups, routers and networks in the target), and the
second must report changed=0; otherwise the benchmark says FAILED and
exits with 1.

With --workload demo: instead of units, playbooks/demo-workload.yml in the
source project, selected as tools/demo does.

Every step runs with tools/bench/reqcount, as in osmb.py (whose pieces
this reuses): wall time, requests, the peak RSS of downpour and the module
processes; per unit, and the first import of K against that of the
smallest K.  Projects are deleted at the end of each K, also on failure
(--keep leaves them).  Run it with the dev virtualenv, the local clouds
up::

    tox -e bench-scale -- --scale 1 5 20 --floor --baseline a28329a
    python tools/bench/scale.py --scale 1 2
    python tools/bench/scale.py --workload demo --baseline a28329a
"""

import argparse
import collections
import concurrent.futures
import json
import os
import pathlib
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import osmb  # noqa: E402
import scale_floor  # noqa: E402
from osmb import BIN, REPO, StepFailed, connect, log  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
PREFIX = scale_floor.PREFIX
DEMO_PREFIX = 'downpour-demo'
STEPS = ('export', 'first import', 'second import')
# What the tools print names by: the task breakdown cuts there.
STEMS = (PREFIX, DEMO_PREFIX, 'default')
# Manifest types checked in the target after a first import.
CHECKED = ('server', 'volume', 'floating_ip', 'server_group', 'router',
           'network')
# The types a unit brings, and how many of each (what the current
# export must carry).
PER_UNIT = {'server': 2, 'volume': 2, 'floating_ip': 1, 'server_group': 1,
            'router': 1, 'network': 1, 'subnet': 1, 'security_group': 1,
            'keypair': 1, 'image': 1, 'server_snapshot': 1, 'port': 2}


def quotas(units):
    """Enough for ``units`` units (and the export's temporary volumes and
    snapshots), never less than provision.py's."""
    units = units or 1
    return {
        'compute': {'instances': max(50, 2 * units + 10),
                    'cores': max(200, 2 * units + 10),
                    'key_pairs': max(100, units + 10),
                    'server_groups': max(10, units + 10)},
        'network': {'networks': max(50, units + 10),
                    'subnets': max(50, units + 10),
                    'routers': max(20, units + 10),
                    'ports': max(500, 6 * units + 50),
                    'floating_ips': max(50, units + 10),
                    'security_groups': max(50, units + 10),
                    'security_group_rules': max(500, 10 * units + 100)},
        'volume': {'volumes': max(50, 3 * units + 20),
                   'snapshots': max(50, 2 * units + 20),
                   'gigabytes': max(2000, 4 * units + 100)},
    }


def write_random(path, mib, size=None):
    """``mib`` MiB of random bytes, then (``size``) zeros up to ``size``
    bytes, left as a hole."""
    with open(path, 'wb') as stream:
        for _ in range(mib):
            stream.write(os.urandom(1024 * 1024))
        if size:
            stream.truncate(size)


class Units:
    """K units in the project of ``config`` (a member user), built
    ``parallel`` at a time, each by a thread with its own session."""

    def __init__(self, config, workdir, image_mib):
        self.config = config
        self.workdir = workdir
        self.image_mib = image_mib
        self.local = threading.local()
        conn = connect(config)
        self.external = next(n for n in conn.network.networks(
            is_router_external=True))
        self.flavor = min(conn.compute.flavors(),
                          key=lambda f: (f.vcpus, f.ram, f.disk))
        key = workdir / 'key'
        for path in (key, workdir / 'key.pub'):  # from a lost earlier attempt
            path.unlink(missing_ok=True)
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C',
                        PREFIX, '-f', str(key)], check=True)
        self.public_key = (workdir / 'key.pub').read_text()

    def conn(self):
        if not hasattr(self.local, 'conn'):
            self.local.conn = connect(self.config)
        return self.local.conn

    def build(self, count, parallel):
        with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
            for future in [pool.submit(self.unit, number)
                           for number in range(count)]:
                future.result()

    def unit(self, number):
        conn = self.conn()
        n = scale_floor.unit_names(number)
        network, compute, volumes = conn.network, conn.compute, \
            conn.block_storage
        conn.compute.create_keypair(name=n['key'], public_key=self.public_key)
        net = network.create_network(name=n['net'])
        subnet = network.create_subnet(
            name=n['subnet'], network_id=net.id, ip_version=4,
            cidr=scale_floor.unit_cidr(number))
        router = network.create_router(
            name=n['router'],
            external_gateway_info={'network_id': self.external.id})
        network.add_interface_to_router(router, subnet_id=subnet.id)
        group = network.create_security_group(
            name=n['sg'], description='scale unit %d' % number)
        for rule in scale_floor.ingress_rules(group.id):
            network.create_security_group_rule(security_group_id=group.id,
                                               **rule)
        blob = self.workdir / ('unit-%d.img' % number)
        write_random(blob, self.image_mib)
        image = conn.image.create_image(
            name=n['image'], filename=str(blob), disk_format='raw',
            container_format='bare', visibility='private', wait=True)
        blob.unlink()
        server_group = compute.create_server_group(
            name=n['group'], policy=scale_floor.GROUP_POLICY)
        made = {key: volumes.create_volume(
                    name=n[key], size=scale_floor.VOLUME_GIB,
                    image_id=image.id, description='scale unit %d' % number)
                for key in ('data', 'spare')}
        servers = {}
        for key, extra in (('keep', {}), ('fresh', {'key_name': n['key']})):
            port = network.create_port(
                name=n[key + '-port'], network_id=net.id,
                security_group_ids=[group.id])
            servers[key] = compute.create_server(
                name=n[key], flavor_id=self.flavor.id, image_id=image.id,
                networks=[{'port': port.id}],
                scheduler_hints={'group': server_group.id}, **extra)
            servers[key + '-port'] = port
        for key in made:
            made[key] = volumes.wait_for_status(
                made[key], 'available', failures=['error'], interval=2,
                wait=1800)
        for key in ('keep', 'fresh'):
            servers[key] = compute.wait_for_server(
                servers[key], status='ACTIVE', failures=['ERROR'],
                interval=2, wait=1800)
        compute.create_volume_attachment(servers['keep'],
                                         volume=made['data'].id)
        volumes.wait_for_status(made['data'], 'in-use', failures=['error'],
                                interval=2, wait=1800)
        network.create_ip(floating_network_id=self.external.id,
                          port_id=servers['keep-port'].id)


def manifest_counts(out):
    manifest = yaml.safe_load((out / 'manifest.yml').read_text())
    counts = collections.Counter(r['type'] for r in manifest['resources'])
    counts['blob bytes'] = sum(r.get('size') or 0
                               for r in manifest['resources'])
    return counts


def target_counts(config):
    """What a first import left in the target project (its member user)."""
    conn = connect(config)
    project = conn.current_project_id
    servers = list(conn.compute.servers())
    return {
        'server': len(servers),
        'server ACTIVE': sum(s.status == 'ACTIVE' for s in servers),
        'volume': len(list(conn.block_storage.volumes())),
        'floating_ip': len(list(conn.network.ips(project_id=project))),
        'server_group': len(list(conn.compute.server_groups())),
        'router': len(list(conn.network.routers(project_id=project))),
        'network': len(list(conn.network.networks(project_id=project))),
    }


class ScaleBench(osmb.Bench):
    """One K (or the demo workload): its source project, and the runs of
    each tool against it."""

    prefix = PREFIX
    source = 'scale-source'

    def __init__(self, args, units, trees, broken, problems):
        super().__init__(args)
        self.units = units            # None: the demo workload
        self.label = 'demo' if units is None else 'K=%d' % units
        self.trees = trees            # tool -> directory for PYTHONPATH
        self.broken = broken          # shared by every K
        self.problems = problems      # what makes the run FAILED
        self.build_seconds = None
        self.teardown_seconds = None
        self.target_teardowns = []
        self.exported = {}            # tool -> manifest counts
        self.floor_files = None

    def new_projects(self, clouds_yaml):
        return osmb.Projects(clouds_yaml, prefix=PREFIX,
                             quotas={'source': quotas(self.units),
                                     'target': quotas(self.units)})

    def fail(self, tool, message):
        """A check that failed: loud, and the end of that tool."""
        log('FAILED: %s' % message)
        self.problems.append('%s: %s' % (self.label, message))
        self.failures.append(message)
        raise StepFailed(message)

    def run(self, tool, number):
        if tool in self.broken:
            return
        before = len(self.problems)
        super().run(tool, number)
        if tool in self.broken and len(self.problems) == before:
            # A step's exit status, not a check: as loud.
            self.problems.append('%s: %s run %d failed: %s' % (
                self.label, tool, number,
                self.failures[-1] if self.failures else 'see above'))

    def build_source(self):
        started = time.monotonic()
        config = self.entries[self.source]
        if self.units is None:
            log('building the demo workload (playbooks/demo-workload.yml)')
            proc = subprocess.run(
                [BIN / 'ansible-playbook', REPO / 'playbooks/demo-workload.yml',
                 '-e', 'cloud=' + self.source], env=self.env,
                capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError('demo-workload.yml failed:\n%s' % (
                    (proc.stdout + proc.stderr)[-3000:]))
            queries = [['--server-name', DEMO_PREFIX + '-*',
                        '--volume-name', DEMO_PREFIX + '-spare',
                        '--image-name', DEMO_PREFIX + '-image']]
        else:
            log('building %d units (%d MiB images, %d at a time)' % (
                self.units, self.args.image_mib, self.args.build_parallel))
            Units(config, self.workdir, self.args.image_mib).build(
                self.units, self.args.build_parallel)
            queries = [['--save-state', '--server-name', PREFIX + '-u*-keep'],
                       ['--no-save-state',
                        '--server-name', PREFIX + '-u*-fresh'],
                       ['--volume-name', PREFIX + '-u*-spare']]
        self.build_seconds = time.monotonic() - started
        log('%s built in %.0f s' % (self.label, self.build_seconds))
        self.resources.unlink(missing_ok=True)
        env = dict(self.env, PYTHONPATH=str(self.trees['downpour']))
        for number, options in enumerate(queries, 1):
            self.step('%s downpour query %d' % (self.label, number),
                      [BIN / 'downpour', '--os-cloud', self.source, 'query']
                      + options + [self.resources], env)

    def run_downpour(self, number):
        return self.run_tree('downpour', number)

    def run_baseline(self, number):
        return self.run_tree('baseline', number)

    def run_tree(self, tool, number):
        env = dict(self.env, PYTHONPATH=str(self.trees[tool]))
        name = '%s %s %%s %d' % (self.label, tool, number)
        out = self.workdir / ('out-%s-%d' % (tool, number))
        shutil.rmtree(out, ignore_errors=True)
        steps = {}
        steps['export'] = self.step(
            name % 'export',
            [BIN / 'downpour', '--os-cloud', self.source, 'export',
             self.resources, out], env)
        log('%s: %.1f s' % (name % 'export', steps['export'].wall))
        exported = self.exported[tool] = manifest_counts(out)
        if self.units is not None and tool == 'downpour':
            short = {t: self.units * n for t, n in PER_UNIT.items()
                     if exported[t] != self.units * n}
            if short:
                self.fail(tool, '%s: the export carried %s, a unit '
                          'workload wants %s' % (
                              name % 'export',
                              {t: exported[t] for t in short}, short))
        cloud = 'scale-target-%s%d' % (tool, number)
        self.add_cloud(cloud, 'target', '%s%d' % (tool[:4], number))
        try:
            for label in ('first import', 'second import'):
                steps[label] = self.step(
                    name % label,
                    [BIN / 'ansible-playbook', out / 'playbook.yml',
                     '-e', 'cloud=' + cloud,
                     '-e', 'parallel=%d' % self.args.parallel], env)
                log('%s: %.1f s, changed=%s' % (
                    name % label, steps[label].wall, steps[label].changed()))
                if label == 'first import':
                    self.check_target(tool, name % label, cloud, exported)
            changed = steps['second import'].changed()
            if changed != 0:
                self.fail(tool, '%s reported changed=%s, not 0:\n%s' % (
                    name % 'second import', changed,
                    steps['second import'].output[-3000:]))
        finally:
            self.drop_target(cloud)
            shutil.rmtree(out, ignore_errors=True)
        return steps

    def check_target(self, tool, name, cloud, expected):
        found = target_counts(self.entries[cloud])
        wrong = {t: (found[t], expected[t]) for t in CHECKED
                 if found[t] != expected[t]}
        if found['server ACTIVE'] != found['server']:
            wrong['server ACTIVE'] = (found['server ACTIVE'], found['server'])
        if wrong:
            self.fail(tool, '%s: the target holds (found, exported) %s'
                      % (name, wrong))

    def drop_target(self, cloud):
        if self.args.keep:
            return
        entry = self.entries.pop(cloud)
        self.clouds_yaml.write_text(yaml.safe_dump({'clouds': self.entries}))
        started = time.monotonic()
        self.projects.drop(entry['auth']['project_name'])
        self.target_teardowns.append(time.monotonic() - started)

    def run_floor(self, number):
        if self.floor_files is None:
            image = self.workdir / 'floor-image.img'
            volume = self.workdir / 'floor-volume.img'
            write_random(image, self.args.image_mib)
            write_random(volume, self.args.image_mib,
                         size=scale_floor.VOLUME_GIB * 2**30)
            # What downpour's export makes of a volume (Cinder converts it
            # the same way): qcow2, only the bytes written.
            qcow2 = self.workdir / 'floor-volume.qcow2'
            subprocess.run(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2',  # noqa: S607
                            str(volume), str(qcow2)], check=True)
            volume.unlink()
            self.floor_files = (image, qcow2)
        cloud = 'scale-target-floor%d' % number
        self.add_cloud(cloud, 'target', 'floor%d' % number)
        argv = [sys.executable, HERE / 'scale_floor.py', cloud,
                str(self.units), *self.floor_files, self.workdir / 'key.pub',
                '--parallel', str(self.args.parallel)]
        name = '%s floor %%s %d' % (self.label, number)
        steps = {}
        try:
            for label in ('first import', 'second import'):
                steps[label] = self.step(name % label, argv)
                created = json.loads(re.search(
                    r'^floor: (.*)$', steps[label].output, re.M).group(1))
                log('%s: %.1f s, %d created' % (
                    name % label, steps[label].wall, created['created']))
                if label == 'first import':
                    expected = {t: self.units * PER_UNIT[t] for t in CHECKED}
                    self.check_target('floor', name % label, cloud, expected)
                elif created['created']:
                    self.fail('floor', '%s created %d' % (
                        name % label, created['created']))
        finally:
            self.drop_target(cloud)
        return steps

    def close(self):
        started = time.monotonic()
        super().close()
        self.teardown_seconds = time.monotonic() - started


# -- the report ---------------------------------------------------------------

def rst_table(header, rows, text_columns=(0,)):
    """A reStructuredText simple table (every row one line); numbers to
    the right, the ``text_columns`` to the left."""
    cells = [header] + [['' if c is None else str(c) for c in row]
                        for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    rule = '  '.join('=' * w for w in widths)

    def line(row):
        return '  '.join(
            c.ljust(w) if i in text_columns else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()
    return '\n'.join([rule, line(cells[0]), rule] +
                     [line(row) for row in cells[1:]] + [rule])


def medians(runs):
    return {'wall': statistics.median(s.wall for s in runs),
            'requests': statistics.median(s.requests() for s in runs),
            'rss': max(s.peak_rss_mb() for s in runs),
            'walls': [round(s.wall, 1) for s in runs]}


def tool_rows(benches, tool):
    """Rows for one tool: per K and step, with per unit figures and the
    first import against the smallest K's."""
    rows = []
    first = None
    for bench in benches:
        steps = bench.results.get(tool) or {}
        units = bench.units
        for label in STEPS:
            if not steps.get(label):
                continue
            m = medians(steps[label])
            ratio = None
            if label == 'first import' and units is not None:
                if first is None:
                    first = (units, m['wall'])
                ratio = '%.2f' % (m['wall'] / first[1])
            rows.append([
                bench.label.replace('K=', ''), label, '%.1f' % m['wall'],
                '%.2f' % (m['wall'] / units) if units else None,
                '%d' % m['requests'],
                '%.1f' % (m['requests'] / units) if units else None,
                '%.0f' % m['rss'], ratio,
                ', '.join('%.1f' % w for w in m['walls'])])
    return rows, first


def side_by_side(benches, tools):
    rows = []
    for bench in benches:
        got = {t: medians(bench.results[t]['first import'])
               for t in tools if bench.results.get(t, {}).get('first import')}
        if 'downpour' not in got:
            continue
        ours = got['downpour']
        row = [bench.label.replace('K=', ''), '%.1f' % ours['wall'],
               '%d' % ours['requests']]
        for other in ('floor', 'baseline'):
            if other not in tools:
                continue
            if other in got:
                row += ['%.1f' % got[other]['wall'],
                        '%d' % got[other]['requests'],
                        '%.2f' % (ours['wall'] / got[other]['wall'])]
            else:
                row += ['failed', '', '']
        rows.append(row)
    return rows


def report(args, benches, tools, revisions, problems):
    print('\nMachine:\n  ' + '\n  '.join(osmb.describe_machine(args)))
    for tool, revision in revisions.items():
        print('  %s: %s' % (tool, revision))
    print('\nBuilding and tearing down (not measured steps)')
    for bench in benches:
        print('  %s: built in %s s; source project deleted in %s s, target '
              'projects in %s s' % (
                  bench.label,
                  '%.0f' % bench.build_seconds if bench.build_seconds else '-',
                  '%.0f' % bench.teardown_seconds
                  if bench.teardown_seconds else '-',
                  ', '.join('%.0f' % s for s in bench.target_teardowns) or '-'))
        for tool, counts in bench.exported.items():
            print('    %s export: %.2f GiB of blobs; %s' % (
                tool, counts['blob bytes'] / 2**30, ' '.join(
                    '%s=%d' % kv for kv in sorted(counts.items())
                    if kv[0] != 'blob bytes')))
        ours = bench.exported.get('downpour')
        for tool, counts in bench.exported.items():
            if ours is None or tool == 'downpour':
                continue
            differ = sorted(t for t in set(ours) | set(counts)
                            if t != 'blob bytes' and ours[t] != counts[t])
            if differ:
                print('    NOTE: not the same work: %s exported %s, '
                      'downpour %s' % (tool, ', '.join(
                          '%s=%d' % (t, counts[t]) for t in differ),
                          ', '.join('%s=%d' % (t, ours[t]) for t in differ)))
    if benches:
        largest = benches[-1]
        for tool in tools:
            if largest.results.get(tool):
                osmb.print_breakdown('%s %s' % (largest.label, tool),
                                     largest.results[tool], STEMS)
    header = ['K', 'step', 'wall s', 'wall/K', 'requests', 'req/K', 'RSS MB',
              'first/first1', 'runs, wall s']
    for tool in tools:
        rows, first = tool_rows(benches, tool)
        if not rows:
            continue
        print('\n%s, %s, median of %d run(s)%s' % (
            tool, revisions[tool], args.runs,
            ': first/first1 is the first import against that of K=%d'
            % first[0] if first else ''))
        print(rst_table(header, rows, text_columns=(0, 1, len(header) - 1)))
    extra = [t for t in ('floor', 'baseline') if t in tools]
    if extra:
        rows = side_by_side(benches, tools)
        if rows:
            header = ['K', 'downpour s', 'requests']
            for other in extra:
                header += ['%s s' % other, 'requests',
                           'downpour/%s' % other]
            print('\nFirst import, side by side (medians)')
            print(rst_table(header, rows))
    if problems:
        print('\nFAILED:\n  ' + '\n  '.join(
            p.splitlines()[0] for p in problems))


# -- trees of downpour ---------------------------------------------------------

def revision(tree):
    """The tree's commit, and whether its downpour/ differs from it."""
    def git(*argv):
        return subprocess.run(['git', '-C', str(tree), *argv],
                              capture_output=True, text=True,
                              check=False).stdout.strip()
    commit = git('log', '-1', '--format=%h %cs') or 'unknown'
    if git('status', '--porcelain', '--', 'downpour'):
        commit += ', with uncommitted changes in downpour/'
    return commit


def package_dir(root, name, tree):
    """A directory holding only ``downpour`` (a link to the tree's), for
    PYTHONPATH: the tree's other top-level folders (tests, tools) stay
    out of every process's imports."""
    where = root / name
    where.mkdir()
    (where / 'downpour').symlink_to(tree / 'downpour')
    return where


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--scale', metavar='K', type=int, nargs='+',
                        default=[1, 5, 20], help='numbers of units '
                        '(default 1 5 20), each in a fresh source project')
    parser.add_argument('--workload', choices=('units', 'demo'),
                        default='units', help='demo: playbooks/'
                        'demo-workload.yml instead of units (--scale is '
                        'then ignored)')
    parser.add_argument('--runs', type=int, default=1)
    parser.add_argument('--image-mib', type=int, default=16,
                        help='size of each unit\'s image (default 16)')
    parser.add_argument('--parallel', type=int, default=4,
                        help='the import\'s -e parallel=N, and the floor\'s '
                             'bound per service (default 4, the playbook\'s '
                             'default)')
    parser.add_argument('--build-parallel', type=int, default=4,
                        help='units built at a time (default 4)')
    parser.add_argument('--floor', action='store_true',
                        help='also the first import\'s creates from one '
                             'process (tools/bench/scale_floor.py)')
    parser.add_argument('--baseline', metavar='REV',
                        help='also the downpour of git revision REV, run '
                             'for run with this tree\'s')
    parser.add_argument('--details', metavar='DIR', type=pathlib.Path,
                        help='keep every step\'s output and records here')
    parser.add_argument('--keep', action='store_true',
                        help='leave the projects (debugging)')
    args = parser.parse_args()
    args.os_migrate = None  # for osmb.describe_machine
    if args.workload == 'demo':
        if args.floor:
            parser.error('--floor measures units only, not --workload demo')
        scales = [None]
    else:
        scales = sorted(set(args.scale))
        if min(scales) < 1:
            parser.error('--scale: at least 1 unit')
    if args.baseline and subprocess.run(
            ['git', '-C', str(REPO), 'rev-parse', '--verify', '--quiet',
             args.baseline + '^{commit}'], capture_output=True,
            check=False).returncode != 0:
        parser.error('--baseline: %r is not a revision of %s'
                     % (args.baseline, REPO))
    # A killed benchmark still deletes its projects.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit('terminated'))
    if args.details:
        args.details.mkdir(parents=True, exist_ok=True)

    scratch = pathlib.Path(tempfile.mkdtemp(prefix='scale-trees-'))
    trees = {'downpour': package_dir(scratch, 'current', REPO)}
    revisions = {'downpour': 'this tree, %s' % revision(REPO)}
    tools = ['downpour']
    baseline = None
    benches, problems, broken = [], [], set()
    try:
        if args.baseline:
            baseline = scratch / 'baseline'
            subprocess.run(['git', '-C', str(REPO), 'worktree', 'add',
                            '--detach', str(baseline), args.baseline],
                           check=True, capture_output=True)
            trees['baseline'] = package_dir(scratch, 'base', baseline)
            revisions['baseline'] = '%s (%s)' % (args.baseline,
                                                 revision(baseline))
            tools.append('baseline')
        if args.floor:
            tools.append('floor')
            revisions['floor'] = ('scale_floor.py, one openstacksdk session, '
                                  '%d at a time per service' % args.parallel)
        for units in scales:
            bench = ScaleBench(args, units, trees, broken, problems)
            benches.append(bench)
            try:
                try:
                    bench.ensure_source()
                except Exception as exc:  # noqa: BLE001 (reported, loud)
                    problems.append('%s: building the workload: %r'
                                    % (bench.label, exc))
                    log('FAILED: building %s: %r' % (bench.label, exc))
                    break
                # The tools take turns, so that they see the same noise.
                for number in range(1, args.runs + 1):
                    for tool in tools:
                        bench.run(tool, number)
            except Exception as exc:  # noqa: BLE001 (reported, loud)
                # Not a step (those are StepFailed, handled in run): a
                # cloud that went away, or a bug here.  What was measured
                # is still reported.
                problems.append('%s: %r' % (bench.label, exc))
                log('FAILED: %s: %r' % (bench.label, exc))
                break
            finally:
                log('%s: deleting its projects' % bench.label)
                bench.close()
                log('%s: projects deleted in %.0f s' % (
                    bench.label, bench.teardown_seconds or 0))
    finally:
        if baseline is not None:
            subprocess.run(['git', '-C', str(REPO), 'worktree', 'remove',
                            '--force', str(baseline)],
                           check=False, capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)
    report(args, benches, tools, revisions, problems)
    if problems:
        sys.exit(1)


if __name__ == '__main__':
    main()

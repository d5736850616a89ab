#!/usr/bin/env python3
"""The transfer benchmark of issue 5 (a script, not a test).

On the local source cloud (tools/localcloud), in a fresh project made with
the admin entry of its clouds.yaml and deleted at the end:

1. one image of BIG MiB of random bytes (1024): ``downpour export``
   beside ``curl`` of the same Glance URL with the same kind of token,
   beside curl piped through ``sha512sum`` (downpour verifies Glance's
   sha512 as it downloads: this is what the check costs) and beside
   ``openstack image save``: wall time, MiB/s, peak RSS;
2. four images of EACH MiB (256): ``downpour export --parallel 1`` and
   ``--parallel 4``;
3. a mostly-zero image (a volume's shape): disk used by downpour's blob
   (sparse) and by curl's file;
4. projects of SERVERS servers (10 then 50; fake virt driver, exported
   without their disks): API requests made by ``downpour export`` and wall
   time, counted on the client side by tools/bench/reqcount (logins and
   discovery included).

Each figure is the median of RUNS runs (3); runs of the tools are
interleaved so that the machine's noise falls on all of them.  Peak RSS is
the command's ru_maxrss, from GNU time (/usr/bin/time).  Output directories are deleted after
each run, images and servers with the project.

    tox -e bench                       # or: python tools/bench/transfers.py
    python tools/bench/transfers.py --big-mib 64 --each-mib 16 --servers 5
"""

import argparse
import contextlib
import importlib.util
import json
import os
import pathlib
import platform
import re
import secrets
import shutil
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
OPENSTACK = pathlib.Path(os.environ.get(
    'DOWNPOUR_BENCH_OPENSTACK', '/opt/downpour-localcloud/venv/bin/openstack'))
MiB = 1024 * 1024
LOAD_BEFORE = ' '.join(open('/proc/loadavg').read().split()[:3])


def log(message):
    print('[%s] %s' % (time.strftime('%H:%M:%S'), message), file=sys.stderr,
          flush=True)


def measure(argv, env, cwd=None):
    """Run ``argv``; (wall seconds, peak RSS MiB, stderr text).

    The peak RSS comes from GNU time (``%M``, the child's ru_maxrss): a
    child forked from this Python process would count this process's
    pages too until its exec.
    """
    # Dirty pages of the previous command are written out before, not
    # during, this one.
    os.sync()
    with tempfile.NamedTemporaryFile('w+') as rss, \
            tempfile.TemporaryFile('w+') as err:
        started = time.monotonic()
        proc = subprocess.run(  # noqa: S603
            ['/usr/bin/time', '-f', '%M', '-o', rss.name, *argv], env=env,
            cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, check=False)
        wall = time.monotonic() - started
        err.seek(0)
        text = err.read()
        if proc.returncode != 0:
            raise SystemExit('%s failed (%d):\n%s' % (
                ' '.join(map(str, argv)), proc.returncode, text[-3000:]))
        peak_kib = int(rss.read().split()[-1])
    return wall, peak_kib / 1024.0, text


class Project:
    """A fresh project and member user in the source cloud."""

    def __init__(self, clouds_yaml, workdir):
        with open(clouds_yaml) as stream:
            clouds = yaml.safe_load(stream)['clouds']
        self.admin = openstack.connect(load_yaml_config=False,
                                       load_envvars=False,
                                       **clouds['source-admin'])
        name = 'bench-transfers-%s' % secrets.token_hex(4)
        password = secrets.token_urlsafe(16)
        identity = self.admin.identity
        self.project = identity.create_project(name=name,
                                               domain_id='default')
        self.user = identity.create_user(
            name=name, password=password, domain_id='default',
            default_project_id=self.project.id)
        identity.assign_project_role_to_user(
            self.project, self.user,
            identity.find_role('member', ignore_missing=False))
        _load('provision', REPO / 'tools/localcloud/provision.py'
              ).raise_quotas(self.admin, self.project.id)
        base = clouds['source']
        self.config = {
            'auth': {'auth_url': base['auth']['auth_url'], 'username': name,
                     'password': password, 'project_name': name,
                     'user_domain_name': 'Default',
                     'project_domain_name': 'Default'},
            'region_name': base['region_name'], 'identity_api_version': 3,
            'interface': 'public'}
        self.conn = openstack.connect(load_yaml_config=False,
                                      load_envvars=False, **self.config)
        self.clouds_yaml = workdir / 'clouds.yaml'
        fd = os.open(self.clouds_yaml, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, 'w') as stream:
            yaml.safe_dump({'clouds': {'bench': self.config}}, stream)
        self.env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(
            self.clouds_yaml), OS_CLOUD='bench')

    def delete(self):
        conftest = _load('conftest', REPO / 'tests/functional/conftest.py')
        try:
            conftest.delete_project_resources(self.admin, self.project.id,
                                              self.user.id)
        finally:
            self.admin.identity.delete_user(self.user, ignore_missing=True)
            self.admin.identity.delete_project(self.project,
                                               ignore_missing=True)


def _load(name, path):
    spec = importlib.util.spec_from_file_location('bench_' + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_image(project, workdir, name, mib, zeros_after=None):
    """Upload an image of ``mib`` MiB of random bytes (zeros after
    ``zeros_after`` MiB), streamed from a file deleted afterwards."""
    path = workdir / ('%s.raw' % name)
    with open(path, 'wb') as stream:
        for index in range(mib):
            if zeros_after is not None and index >= zeros_after:
                stream.write(bytes(MiB))
            else:
                stream.write(os.urandom(MiB))
    try:
        image = project.conn.create_image(
            name, filename=str(path), disk_format='raw',
            container_format='bare', wait=True, timeout=1800)
    finally:
        path.unlink()
    return project.conn.image.get_image(image.id)


def resource_file(workdir, name, section, entries):
    path = workdir / ('%s.yml' % name)
    path.write_text(yaml.safe_dump({section: entries}))
    return path


def downpour_export(project, resources, out, *extra, env=None):
    argv = [BIN / 'downpour', 'export', resources, out, *extra]
    try:
        return measure([str(a) for a in argv], env or project.env)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def blob_seconds(stderr):
    """Seconds downpour spent on the blob, from its line."""
    match = re.search(r'received in ([0-9.]+) s', stderr)
    return float(match.group(1)) if match else float('nan')


def tree_env(project, tree):
    """The environment in which ``downpour`` runs the package of ``tree``
    (this tree unless --baseline), whatever /opt/dev has installed."""
    return dict(project.env, PYTHONPATH=str(tree))


def bench_one_big(project, workdir, mib, runs, trees):
    image = make_image(project, workdir, 'bench-big', mib)
    log('image of %d MiB uploaded: %s' % (mib, image.id))
    resources = resource_file(workdir, 'big', 'images', [{'id': image.id}])
    url = '%s/v2/images/%s/file' % (
        project.conn.image.get_endpoint().rstrip('/').removesuffix('/v2'),
        image.id)
    headers = workdir / 'curl-headers'
    results = {label: [] for label in trees}
    results.update({'curl': [], 'curl | tee | sha512sum': [],
                    'openstack image save': []})
    blob_times = {label: [] for label in trees}
    for run in range(runs):
        out = workdir / 'out'
        for label, tree in trees.items():
            wall, rss, err = downpour_export(
                project, resources, out, '--parallel', '1',
                env=tree_env(project, tree))
            results[label].append((wall, rss))
            blob_times[label].append(blob_seconds(err))
        # The same token as a user would get: a fresh login, read from a
        # file (not the command line, where ps would show it).
        fd = os.open(headers, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as stream:
            stream.write('X-Auth-Token: %s\n' % project.conn.auth_token)
        target = workdir / 'curl.out'
        results['curl'].append(measure(
            ['curl', '-sS', '-f', '-o', str(target), '-H', '@%s' % headers,
             url], project.env)[:2])
        target.unlink()
        # What verifying costs: curl's bytes through sha512sum as well.
        results['curl | tee | sha512sum'].append(measure(
            ['bash', '-o', 'pipefail', '-c',
             'curl -sS -f -H @"$1" "$2" | tee "$3" | sha512sum >/dev/null',
             'bench', str(headers), url, str(target)], project.env)[:2])
        target.unlink()
        target = workdir / 'openstack.out'
        results['openstack image save'].append(measure(
            [str(OPENSTACK), 'image', 'save', '--file', str(target),
             image.id], project.env)[:2])
        target.unlink()
        log('one big image, run %d: %s' % (run + 1, {
            k: '%.1f s' % v[-1][0] for k, v in results.items()}))
    headers.unlink()
    project.conn.image.delete_image(image.id)
    rows = []
    curl_wall = statistics.median(w for w, _ in results['curl'])
    for tool, values in results.items():
        wall = statistics.median(w for w, _ in values)
        rows.append((
            '1 x %d MiB: %s' % (mib, tool), wall, mib / wall,
            curl_wall / wall, max(r for _, r in values)))
    for label, times in blob_times.items():
        rows.append(('  (%s: the blob alone)' % label,
                     statistics.median(times), mib / statistics.median(times),
                     curl_wall / statistics.median(times), None))
    return rows


def bench_parallel(project, workdir, mib, count, runs):
    images = [make_image(project, workdir, 'bench-four-%d' % i, mib)
              for i in range(count)]
    log('%d images of %d MiB uploaded' % (count, mib))
    resources = resource_file(workdir, 'four', 'images',
                              [{'id': i.id} for i in images])
    results = {1: [], count: []}
    for run in range(runs):
        for parallel in results:
            results[parallel].append(downpour_export(
                project, resources, workdir / 'out', '--parallel',
                str(parallel))[:2])
        log('parallel, run %d: %s' % (run + 1, {
            k: '%.1f s' % v[-1][0] for k, v in results.items()}))
    for image in images:
        project.conn.image.delete_image(image.id)
    serial = statistics.median(w for w, _ in results[1])
    rows = []
    for parallel, values in results.items():
        wall = statistics.median(w for w, _ in values)
        rows.append(('%d x %d MiB: --parallel %d' % (count, mib, parallel),
                     wall, count * mib / wall, serial / wall,
                     max(r for _, r in values)))
    return rows


def bench_sparse(project, workdir, mib, data_mib):
    image = make_image(project, workdir, 'bench-zeros', mib,
                       zeros_after=data_mib)
    resources = resource_file(workdir, 'zeros', 'images', [{'id': image.id}])
    out = workdir / 'out'
    measure([str(BIN / 'downpour'), 'export', str(resources), str(out)],
            project.env)
    blob = os.stat(out / 'blobs' / image.id)
    shutil.rmtree(out)
    target = workdir / 'curl.out'
    headers = workdir / 'curl-headers'
    fd = os.open(headers, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as stream:
        stream.write('X-Auth-Token: %s\n' % project.conn.auth_token)
    url = '%s/v2/images/%s/file' % (
        project.conn.image.get_endpoint().rstrip('/').removesuffix('/v2'),
        image.id)
    measure(['curl', '-sS', '-f', '-o', str(target), '-H', '@%s' % headers,
             url], project.env)
    plain = os.stat(target)
    target.unlink()
    headers.unlink()
    project.conn.image.delete_image(image.id)
    return blob.st_size, blob.st_blocks * 512, plain.st_blocks * 512


def make_servers(project, count, prefix):
    conn = project.conn
    if not getattr(project, 'network', None):
        project.network = conn.network.create_network(name='bench-net')
        conn.network.create_subnet(network_id=project.network.id,
                                   ip_version=4, cidr='10.77.0.0/16',
                                   name='bench-subnet')
        project.image = conn.image.find_image('cirros-fake') or next(
            iter(conn.image.images()))
        project.flavor = conn.compute.find_flavor('m1.tiny')
        project.servers = []
    made = []
    for index in range(count):
        made.append(conn.compute.create_server(
            name='%s-%03d' % (prefix, index), image_id=project.image.id,
            flavor_id=project.flavor.id,
            networks=[{'uuid': project.network.id}]))
    for server in made:
        conn.compute.wait_for_server(server, wait=900)
    project.servers.extend(made)


def bench_servers(project, workdir, counts, runs):
    rows = []
    for count in counts:
        make_servers(project, count - len(getattr(project, 'servers', [])),
                     'bench-server-%d' % count)
        log('%d servers active' % count)
        resources = resource_file(
            workdir, 'servers', 'servers',
            [{'id': s.id, 'save_state': False} for s in project.servers])
        walls, totals, detail = [], [], None
        for _ in range(runs):
            counts_dir = pathlib.Path(tempfile.mkdtemp(dir=workdir))
            env = dict(project.env, DOWNPOUR_REQCOUNT_DIR=str(counts_dir),
                       PYTHONPATH=os.pathsep.join(
                           [str(REQCOUNT)] + [p for p in project.env.get(
                               'PYTHONPATH', '').split(os.pathsep) if p]))
            wall, _, _ = downpour_export(project, resources,
                                         workdir / 'out', env=env)
            records = [json.loads(p.read_text())
                       for p in counts_dir.glob('*.json')]
            shutil.rmtree(counts_dir)
            requests = {}
            for record in records:
                for key, n in record['requests'].items():
                    requests[key] = requests.get(key, 0) + n
            walls.append(wall)
            totals.append(sum(requests.values()))
            detail = requests
        rows.append((count, statistics.median(walls),
                     statistics.median(totals), detail))
    return rows


def package_dir(root, name, tree):
    """A directory holding only ``downpour`` (a link to the tree's), for
    PYTHONPATH: the tree's other folders stay out of the imports."""
    where = root / name
    where.mkdir()
    (where / 'downpour').symlink_to(tree / 'downpour')
    return where


def revision_tree(root, rev):
    """The files of revision ``rev`` of this repository, unpacked under
    ``root`` (git archive: no worktree to clean up)."""
    where = root / 'tree-of-revision'
    where.mkdir()
    archive = subprocess.run(  # noqa: S603
        ['git', '-C', str(REPO), 'archive', '--format=tar', rev,
         'downpour'], capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit('--baseline: %s' % archive.stderr.decode().strip())
    subprocess.run(['tar', '-x', '-C', str(where)],  # noqa: S603, S607
                   input=archive.stdout, check=True)
    return where


def describe_machine(workdir):
    def version(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True,  # noqa: S603
                                  timeout=60).stdout.split('\n')[0].strip()
        except OSError:
            return 'not found'
    cpu = 'unknown CPU'
    with contextlib.suppress(OSError):
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    memory = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    disk = shutil.disk_usage(workdir)
    from importlib import metadata

    import downpour
    return [
        '%d cores (%s), %.0f GiB RAM, %.0f GiB disk (%.0f GiB free) for '
        'the work directory' % (os.cpu_count(), cpu, memory / 2**30,
                                disk.total / 2**30, disk.free / 2**30),
        '%s, Python %s' % (platform.platform(), platform.python_version()),
        'downpour %s, openstacksdk %s, keystoneauth1 %s, requests %s' % (
            downpour.__version__, metadata.version('openstacksdk'),
            metadata.version('keystoneauth1'), metadata.version('requests')),
        version(['curl', '--version']),
        'openstack image save: %s' % version([str(OPENSTACK), '--version']),
        'clouds: tools/localcloud (loopback, glance file store), shared '
        'with other work: expect noise',
    ]


def print_tables(machine, transfers, sparse, servers, runs):
    print('\nMachine:')
    for line in machine:
        print('  ' + line)
    print('  load average before the runs: %s' % LOAD_BEFORE)
    print('  load average after the runs: %s' % ' '.join(
        open('/proc/loadavg').read().split()[:3]))
    print('\nMedian of %d runs.\n' % runs)
    if transfers:
        head = ('%-44s %9s %9s %9s %12s' % (
            'transfer', 'wall (s)', 'MiB/s', 'x ref', 'peak RSS MiB'))
        print(head)
        print('-' * len(head))
        for name, wall, rate, ratio, rss in transfers:
            print('%-44s %9.2f %9.0f %9.2f %12s' % (
                name, wall, rate, ratio,
                '' if rss is None else '%.0f' % rss))
        print('(x ref: against curl for one image, against --parallel 1 '
              'for several)')
    if sparse:
        size, blob_disk, plain_disk = sparse
        print('\nmostly-zero image of %.0f MiB: downpour blob uses %.1f MiB '
              'of disk, curl\'s file %.1f MiB' % (
                  size / MiB, blob_disk / MiB, plain_disk / MiB))
    if servers:
        print('\n%-10s %9s %9s' % ('servers', 'wall (s)', 'requests'))
        for count, wall, total, _ in servers:
            print('%-10d %9.2f %9d' % (count, wall, total))
        if len(servers) > 1:
            (n1, _, r1, _), (n2, _, r2, _) = servers[0], servers[-1]
            print('requests per extra server: %.2f' % ((r2 - r1) / (n2 - n1)))
        print('\nrequests of the last export of %d servers:'
              % servers[-1][0])
        for key, n in sorted(servers[-1][3].items(), key=lambda i: -i[1]):
            print('  %5d  %s' % (n, key))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--big-mib', type=int, default=1024)
    parser.add_argument('--each-mib', type=int, default=256)
    parser.add_argument('--count', type=int, default=4)
    parser.add_argument('--zeros-mib', type=int, default=512)
    parser.add_argument('--servers', default='10,50',
                        help='server counts, comma-separated ("" for none)')
    parser.add_argument('--only', choices=('big', 'parallel', 'sparse',
                                           'servers'), action='append')
    parser.add_argument('--workdir', default='/var/tmp')
    parser.add_argument('--baseline', metavar='REV',
                        help='also export the big image with the downpour '
                             'of this git revision, taking turns with this '
                             'tree\'s (before and after in the same run)')
    args = parser.parse_args()
    only = set(args.only or ('big', 'parallel', 'sparse', 'servers'))

    needed = max(args.big_mib, args.count * args.each_mib) * 2 * MiB
    if shutil.disk_usage(args.workdir).free < needed + 2 * 2**30:
        raise SystemExit('not enough free disk in %s' % args.workdir)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='downpour-bench-',
                                            dir=args.workdir))
    project = None
    transfers, sparse, servers = [], None, []
    try:
        project = Project(STATE / 'clouds.yaml', workdir)
        log('project %s' % project.project.name)
        trees = {'downpour export': package_dir(workdir, 'current', REPO)}
        # Every downpour of the benchmark is this tree's.
        project.env = tree_env(project, trees['downpour export'])
        if args.baseline:
            trees['downpour export (%s)' % args.baseline] = package_dir(
                workdir, 'baseline', revision_tree(workdir, args.baseline))
        if 'big' in only:
            transfers += bench_one_big(project, workdir, args.big_mib,
                                       args.runs, trees)
        if 'parallel' in only:
            transfers += bench_parallel(project, workdir, args.each_mib,
                                        args.count, args.runs)
        if 'sparse' in only:
            sparse = bench_sparse(project, workdir, args.zeros_mib, 16)
        if 'servers' in only and args.servers:
            servers = bench_servers(
                project, workdir,
                [int(n) for n in args.servers.split(',')], args.runs)
        print_tables(describe_machine(workdir), transfers, sparse, servers,
                     args.runs)
    finally:
        try:
            if project is not None:
                log('deleting the project')
                project.delete()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""How a volume's contents can reach the target: the benchmark of issue 16,
item 2 (a script, not a test).

A tenant (a member user, no admin, no access to the storage back end) has
these ways of moving a volume's bytes between two clouds; each is measured
end to end on the local clouds (tools/localcloud), stage by stage:

A. raw (what downpour does today): in the source, Cinder uploads the volume
   to a raw image (os-volume_upload_image); the image is downloaded and
   verified against Glance's checksum (downpour.transfer.download_image),
   uploaded to the target as a raw image and checked against the digests
   (downpour.importer.uploads.Uploads), a volume is made from it, the images are
   deleted;
B. qcow2: the same, with ``disk_format=qcow2`` asked of the source's Cinder
   (it converts with qemu-img and leaves the zeros out) and a qcow2 image in
   the target (its Cinder converts back to raw);
C. for a bootable volume: the server booted with a block device mapping
   ``source_type: image, destination_type: volume`` (Nova has Cinder make
   the volume from the uploaded image as part of the boot), beside making
   the volume first, then booting from it.  Time until ACTIVE, for the raw
   and for the qcow2 image;
D. what else a tenant can ask for, each with the API's answer: Glance's
   image import methods (``GET /v2/info/import``; ``glance-direct`` is
   timed against the plain upload, ``web-download`` is tried), Cinder's
   ``container_format: compressed`` (on upload-to-image in the source, and
   a gzip image into a volume in the target), and the volume backup records
   (import_record) that would let two clouds share a backup store.  The
   answers are printed as they came.

Two source volumes of VOLUME_GIB (1) GiB, each made from an image of its
bytes: one with 16 MiB of random data then zeros, one with 256 MiB of random
data then zeros (--cases).  Every target volume is read back (uploaded to a
raw image of the target, streamed, sha256 of the first MiB compared with
the source data and the rest checked to be zeros), and so is each source
volume once: the table says which alternatives kept the bytes.  A volume
the target refuses to make from the image (a qcow2 of a full volume is
larger than the volume) is said, and the stages before it kept.  The local
target's Nova sends Cinder no service token, so a deleted server's volume
stays in-use: the admin detaches it, untimed.

Download and upload run in a child process each (this script again, with
--child), so that their peak RSS is their own.  The stages that wait for a
cloud poll every 0.5 s (downpour polls every 2 s: its waits end up to 2 s
later than these).  Each figure is the median of --runs (3) runs; within a
run the alternatives take turns, in a different order each run.

Fresh projects (made with the admin entries of the clouds' clouds.yaml, as
tools/bench/osmb.py does) hold everything, and are deleted at the end, also
on failure.  Run it with the dev virtualenv, the local clouds up::

    python tools/bench/volume_contents.py            # about 35 minutes
    python tools/bench/volume_contents.py --runs 1 --cases 16
"""

import argparse
import base64
import collections
import contextlib
import gzip
import hashlib
import http.server
import importlib.util
import json
import os
import pathlib
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
# This checkout's downpour, whichever one the virtualenv has installed.
sys.path.insert(0, str(REPO))

import openstack  # noqa: E402
import yaml  # noqa: E402

STATE = pathlib.Path(os.environ.get('DOWNPOUR_LOCALCLOUD_STATE',
                                    '/var/tmp/downpour-localcloud'))
MiB = 1024 * 1024
GiB = 1024 * MiB
POLL = 0.5
TIMEOUT = 1800
PREFIX = 'volbench-'
LOAD_BEFORE = ' '.join(open('/proc/loadavg').read().split()[:3])


def log(message):
    print('[%s] %s' % (time.strftime('%H:%M:%S'), message), file=sys.stderr,
          flush=True)


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Failed(Exception):
    pass


def poll(fetch, ready, what, started, failed=('error', 'killed')):
    """Fetch until the status is ``ready``: (object, seconds since
    ``started``)."""
    deadline = started + TIMEOUT
    while True:
        obj = fetch()
        status = (obj.status or '').lower()
        if status == ready:
            return obj, time.monotonic() - started
        if status in failed or status.startswith('error'):
            raise Failed('%s went to status %s' % (what, status))
        if time.monotonic() > deadline:
            raise Failed('%s still %s after %d s' % (what, status, TIMEOUT))
        time.sleep(POLL)


def wait_gone(fetch, what):
    deadline = time.monotonic() + TIMEOUT
    while fetch() is not None:
        if time.monotonic() > deadline:
            raise Failed('%s not gone after %d s' % (what, TIMEOUT))
        time.sleep(POLL)


def answer(response):
    """An API's answer in one line: status and message."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    text = json.dumps(body) if not isinstance(body, str) else body
    text = ' '.join(text.split())
    return 'HTTP %d %s' % (response.status_code, text[:300])


def error_answer(exc):
    response = getattr(exc, 'response', None)
    if response is not None:
        return answer(response)
    return '%s: %s' % (type(exc).__name__, ' '.join(str(exc).split())[:300])


# -- the child processes: download and upload, peak RSS their own ---------

class _Counting:
    """downpour's progress reporter that counts what came over the wire."""

    def __init__(self):
        from downpour import progress
        self.base = progress.Reporter()
        self.received = 0

    def __getattr__(self, name):
        return getattr(self.base, name)

    def finish(self, blob, received, seconds):
        self.received += received


def child_download(args):
    from downpour import transfer
    from downpour.resources.base import Blob
    conn = openstack.connect(cloud=args['cloud'])
    image = conn.image.get_image(args['image_id'])
    out = args['out']
    os.makedirs(os.path.join(out, 'blobs'), exist_ok=True)
    blob = Blob('volume', args['volume_id'], args['volume_id'],
                'volume %s' % args['volume_id'])
    reporter = _Counting()
    started = time.monotonic()
    transfer.download_image(conn, image, out, blob, reporter=reporter)
    seconds = time.monotonic() - started
    path = os.path.join(out, blob.path)
    stat = os.stat(path)
    # What the source's Glance says of the image, and the file's digests.
    digests = transfer.file_digests(path, ('md5', 'sha256', 'sha512'))
    clusters = None
    if image.disk_format == 'qcow2':
        # How qemu-img wrote it: compressed clusters (Cinder's -c) or not.
        check = json.loads(subprocess.run(
            ['qemu-img', 'check', '--output=json', path], capture_output=True,
            text=True, check=False).stdout or '{}')
        clusters = {k: check.get(k) for k in (
            'allocated-clusters', 'compressed-clusters', 'total-clusters')}
    return {'seconds': seconds, 'received': reporter.received,
            'path': path, 'apparent': stat.st_size,
            'allocated': stat.st_blocks * 512, 'digests': digests,
            'clusters': clusters,
            'glance': {'checksum': image.checksum,
                       'hash_algo': image.hash_algo,
                       'hash_value': image.hash_value},
            'glance_matches': image.checksum == digests['md5'] and
            image.hash_value == digests.get(image.hash_algo)}


class _Imp:
    def made(self, item, target_id):
        pass


class _Kind:
    def __init__(self, conn):
        self.conn = conn
        self.imp = _Imp()


class _HashingFile:
    """A file as requests reads it for an upload, hashed on the way."""

    def __init__(self, stream, algos):
        self.stream = stream
        self.hashers = {a: hashlib.new(a) for a in algos}
        self.sent = 0

    def __len__(self):
        return os.fstat(self.stream.fileno()).st_size

    def read(self, size=-1):
        chunk = self.stream.read(size)
        for hasher in self.hashers.values():
            hasher.update(chunk)
        self.sent += len(chunk)
        return chunk


def child_upload(args):
    """PUT (downpour's own Uploads: checked against the digests, and
    Glance's answer against the bytes sent) or glance-direct (stage,
    then import; checked here)."""
    conn = openstack.connect(cloud=args['cloud'])
    digests = args['digests']
    size = os.stat(args['file']).st_size
    item = {'type': 'volume_contents', 'csv_type': 'volume contents',
            'id': args['volume_id'], 'name': args['name']}
    attrs = {'disk_format': args['disk_format'],
             'container_format': args['container_format']}
    started = time.monotonic()
    if args['method'] == 'put':
        from downpour.importer.uploads import Uploads
        image = Uploads(_Kind(conn)).upload(
            item, args['name'], attrs, args['file'], {'digests': digests})
        sent = size
    else:
        response = conn.image.post('/images', json={
            'name': args['name'], 'visibility': 'private', **attrs})
        if response.status_code >= 300:
            raise Failed('image create: %s' % answer(response))
        image_id = response.json()['id']
        with open(args['file'], 'rb') as stream:
            data = _HashingFile(stream, ('md5', 'sha256', 'sha512'))
            response = conn.image.put(
                '/images/%s/stage' % image_id, data=data,
                headers={'Content-Type': 'application/octet-stream'})
        if response.status_code >= 300:
            raise Failed('stage: %s' % answer(response))
        staged = time.monotonic() - started
        response = conn.image.post(
            '/images/%s/import' % image_id,
            json={'method': {'name': 'glance-direct'}})
        if response.status_code >= 300:
            raise Failed('import: %s' % answer(response))
        deadline = time.monotonic() + TIMEOUT
        while True:
            image = conn.image.get_image(image_id)
            failed = getattr(image, 'properties', {}) or {}
            if image.status == 'active':
                break
            if image.status in ('killed', 'deleted') or failed.get(
                    'os_glance_failed_import') or time.monotonic() > deadline:
                raise Failed('glance-direct import of %s: status %s %s' % (
                    image_id, image.status, failed))
            time.sleep(POLL)
        sent = data.sent
        sums = {a: h.hexdigest() for a, h in data.hashers.items()}
        if any(sums[a] != digests[a] for a in sums if a in digests):
            raise Failed('glance-direct: the file changed')
    seconds = time.monotonic() - started
    reported = {'md5': image.checksum, image.hash_algo: image.hash_value}
    result = {'seconds': seconds, 'image_id': image.id, 'sent': sent,
              'glance': {'checksum': image.checksum,
                         'hash_algo': image.hash_algo,
                         'hash_value': image.hash_value},
              'glance_matches': all(digests.get(a) == v
                                    for a, v in reported.items()),
              'size': image.size, 'virtual_size': image.virtual_size}
    if args['method'] != 'put':
        result['staged'] = staged
    return result


def child_main(kind, args_json):
    args = json.loads(args_json)
    result = {'download': child_download, 'upload': child_upload}[kind](args)
    result['rss_mib'] = resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(result))


# -- the parent ------------------------------------------------------------

class Bench:
    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.osmb = _load('bench_osmb', REPO / 'tools/bench/osmb.py')
        self.projects = self.osmb.Projects(STATE / 'clouds.yaml')
        self.clouds_yaml = workdir / 'clouds.yaml'
        self.src = self.dst = None
        # results[case][alternative][measure] = [value of each run]
        self.results = collections.defaultdict(
            lambda: collections.defaultdict(lambda: collections.defaultdict(
                list)))
        self.notes = collections.defaultdict(list)
        self.checks = []
        self.quirks = set()
        self.failures = []
        self.flavor = None

    # set-up -----------------------------------------------------------

    def setup(self):
        entries = {'src': self.projects.make('source', 'volsrc'),
                   'dst': self.projects.make('target', 'voldst')}
        fd = os.open(self.clouds_yaml, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, 'w') as stream:
            yaml.safe_dump({'clouds': entries}, stream)
        self.env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(
            self.clouds_yaml))
        self.env.pop('OS_CLOUD', None)
        self.src = self.osmb.connect(entries['src'])
        self.dst = self.osmb.connect(entries['dst'])
        self.flavor = self.dst.compute.find_flavor('m1.tiny') or min(
            self.dst.compute.flavors(), key=lambda f: (f.ram, f.vcpus))

    def make_source_volume(self, data_mib):
        """A volume of VOLUME_GIB GiB made from an image of ``data_mib`` MiB
        of random bytes: (volume, sha256 of those bytes)."""
        path = self.workdir / ('seed-%d.raw' % data_mib)
        digest = hashlib.sha256()
        with open(path, 'wb') as stream:
            for _ in range(data_mib):
                chunk = os.urandom(MiB)
                digest.update(chunk)
                stream.write(chunk)
        try:
            image = self.src.create_image(
                '%sseed-%d' % (PREFIX, data_mib), filename=str(path),
                disk_format='raw', container_format='bare', wait=True,
                timeout=TIMEOUT)
        finally:
            path.unlink()
        volume = self.src.block_storage.create_volume(
            name='%ssource-%d' % (PREFIX, data_mib),
            size=self.args.volume_gib, image_id=image.id)
        volume, _ = poll(lambda: self.src.block_storage.get_volume(volume.id),
                         'available', 'source volume', time.monotonic())
        self.src.image.delete_image(image.id)
        return volume, digest.hexdigest()

    # one stage each -----------------------------------------------------

    def child(self, kind, **args):
        proc = subprocess.run(
            [sys.executable, __file__, '--child', kind, json.dumps(args)],
            env=self.env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise Failed('%s failed:\n%s' % (kind, proc.stderr[-3000:]))
        return json.loads(proc.stdout.splitlines()[-1])

    def capture(self, volume, disk_format, container_format='bare'):
        """Upload-to-image in the source: (image, seconds until the image is
        active, seconds more until the volume is available again)."""
        started = time.monotonic()
        upload = self.src.block_storage.upload_volume_to_image(
            volume, PREFIX + 'capture', disk_format=disk_format,
            container_format=container_format)
        image, active = poll(
            lambda: self.src.image.get_image(upload['image_id']), 'active',
            'capture', started)
        _, settled = poll(lambda: self.src.block_storage.get_volume(volume),
                          'available', 'source volume', started)
        return image, active, settled - active

    def volume_from_image(self, conn, image_id, name):
        started = time.monotonic()
        volume = conn.block_storage.create_volume(
            name=name, size=self.args.volume_gib, image_id=image_id)
        volume, seconds = poll(
            lambda: conn.block_storage.get_volume(volume.id), 'available',
            'volume from image', started)
        return volume, seconds

    def boot(self, mapping):
        """A server on ``mapping`` (its root disk): seconds until ACTIVE,
        then deleted; the ID of the volume it booted from."""
        started = time.monotonic()
        server = self.dst.compute.create_server(
            name=PREFIX + 'server', flavor_id=self.flavor.id,
            networks='none', block_device_mapping=[mapping])
        server, seconds = poll(
            lambda: self.dst.compute.get_server(server.id), 'active',
            'server', started)
        volumes = [a['id'] for a in server.attached_volumes or []]
        self.dst.compute.delete_server(server)
        wait_gone(lambda: self.dst.compute.find_server(server.id),
                  'server %s' % server.id)
        for volume_id in volumes:
            self.release(volume_id)
        return seconds, volumes[0] if volumes else None

    def release(self, volume_id):
        """The volume of a deleted server, available again.  The local
        target's Nova sends no service token, so its Cinder refuses Nova's
        attachment delete (ConflictNovaUsingAttachment) and the volume
        stays in-use: the admin detaches it (not part of what is timed)."""
        started = time.monotonic()
        while True:
            volume = self.dst.block_storage.get_volume(volume_id)
            if volume.status == 'available':
                return
            waited = time.monotonic() - started
            if waited > 60 or (volume.status == 'in-use' and waited > 5):
                break
            time.sleep(POLL)
        admin = self.projects.admin('target')
        for attachment in volume.attachments or []:
            admin.block_storage.post(
                '/volumes/%s/action' % volume_id, json={'os-force_detach': {
                    'attachment_id': attachment['attachment_id']}})
        self.quirks.add('the volume of a deleted server stayed in-use '
                        '(Nova sent no service token): the admin detached '
                        'it, untimed')
        poll(lambda: self.dst.block_storage.get_volume(volume_id),
             'available', 'volume after the server', time.monotonic())

    def read_back(self, conn, volume_id, data_mib, expected):
        """Whether the volume holds ``data_mib`` MiB whose sha256 is
        ``expected``, then zeros, VOLUME_GIB GiB in all; with the reason."""
        started = time.monotonic()
        upload = conn.block_storage.upload_volume_to_image(
            volume_id, PREFIX + 'readback', disk_format='raw',
            container_format='bare')
        image_id = upload['image_id']
        try:
            poll(lambda: conn.image.get_image(image_id), 'active',
                 'read-back image', started)
            poll(lambda: conn.block_storage.get_volume(volume_id),
                 'available', 'volume after read-back', started)
            digest = hashlib.sha256()
            data_left = data_mib * MiB
            total = 0
            nonzero = None
            response = conn.image.get('/images/%s/file' % image_id,
                                      stream=True)
            with contextlib.closing(response):
                for chunk in response.iter_content(chunk_size=MiB):
                    head = chunk[:data_left]
                    digest.update(head)
                    data_left -= len(head)
                    tail = chunk[len(head):]
                    if nonzero is None and tail.count(0) != len(tail):
                        nonzero = total + len(head)
                    total += len(chunk)
        finally:
            conn.image.delete_image(image_id, ignore_missing=True)
        size = self.args.volume_gib * GiB
        if total != size:
            return False, '%d bytes read back, not %d' % (total, size)
        if digest.hexdigest() != expected:
            return False, 'the first %d MiB differ' % data_mib
        if nonzero is not None:
            return False, 'not zeros after the data (at byte %d)' % nonzero
        return True, ''

    def delete_volume(self, conn, volume_id):
        conn.block_storage.delete_volume(volume_id, ignore_missing=True)
        wait_gone(lambda: conn.block_storage.find_volume(volume_id),
                  'volume %s' % volume_id)

    # one alternative, one run ---------------------------------------------

    def alternative(self, case, label, volume, disk_format, run):
        data_mib, expected = case['data_mib'], case['sha256']
        out = self.workdir / ('out-%s' % disk_format)
        # This run's figures: kept only if the whole alternative went
        # through.
        record = collections.defaultdict(list)
        verify = run == 0 or self.args.verify == 'all'
        image, active, settle = self.capture(volume, disk_format)
        record['capture'].append(active)
        record['settle'].append(settle)
        record['image MiB'].append(image.size / MiB)
        try:
            got = self.child('download', cloud='src', image_id=image.id,
                             volume_id=volume.id, out=str(out))
        finally:
            started = time.monotonic()
            self.src.image.delete_image(image.id)
            record['delete source image'].append(time.monotonic() - started)
        record['download'].append(got['seconds'])
        record['download MiB'].append(got['received'] / MiB)
        record['blob apparent MiB'].append(got['apparent'] / MiB)
        record['blob allocated MiB'].append(got['allocated'] / MiB)
        record['download RSS'].append(got['rss_mib'])
        record['source glance = file'].append(got['glance_matches'])
        self.notes[(data_mib, label)].append(
            'run %d: blob sha256 %s, source Glance %s %s' % (
                run + 1, got['digests']['sha256'][:16],
                got['glance']['hash_algo'],
                'matches the file' if got['glance_matches'] else
                'DIFFERS from the file') + (
                    ', qcow2 clusters %s' % json.dumps(got['clusters'])
                    if got['clusters'] else ''))
        try:
            up = self.child('upload', cloud='dst', method='put',
                            file=got['path'], volume_id=volume.id,
                            name=PREFIX + 'contents', disk_format=disk_format,
                            container_format='bare',
                            digests=got['digests'])
            record['upload'].append(up['seconds'])
            record['upload MiB'].append(up['sent'] / MiB)
            record['upload RSS'].append(up['rss_mib'])
            record['target glance = file'].append(up['glance_matches'])
            record['target glance = source glance'].append(
                up['glance'] == got['glance'])
            if self.args.glance_direct:
                direct = self.child(
                    'upload', cloud='dst', method='glance-direct',
                    file=got['path'], volume_id=volume.id,
                    name=PREFIX + 'direct', disk_format=disk_format,
                    container_format='bare', digests=got['digests'])
                self.dst.image.delete_image(direct['image_id'])
                record['upload, glance-direct'].append(direct['seconds'])
                record['  of which staging'].append(direct['staged'])
                record['glance-direct: glance = file'].append(
                    direct['glance_matches'])
        finally:
            shutil.rmtree(out, ignore_errors=True)
        made = []
        try:
            try:
                target, seconds = self.volume_from_image(
                    self.dst, up['image_id'], PREFIX + 'target')
            except openstack.exceptions.BadRequestException as exc:
                # Cinder compares the image's file size, not only its
                # virtual size, with the volume's: a qcow2 of a full volume
                # is a little larger than the volume.  The stages before
                # are kept; this alternative has no volume in this run.
                record['volume refused'].append(True)
                self.notes[(data_mib, label)].append(
                    'run %d: no volume of the same size from the %.1f MiB '
                    'image: %s' % (run + 1, up['size'] / MiB,
                                   error_answer(exc)))
                return self._keep(data_mib, label, record)
            made.append(target.id)
            record['volume from image'].append(seconds)
            if self.args.boot:
                boot, _ = self.boot({
                    'boot_index': 0, 'source_type': 'volume',
                    'destination_type': 'volume', 'uuid': target.id,
                    'delete_on_termination': False})
                record['C: boot from the volume'].append(boot)
                record['C: volume, then boot'].append(seconds + boot)
                bdm, bdm_volume = self.boot({
                    'boot_index': 0, 'source_type': 'image',
                    'destination_type': 'volume', 'uuid': up['image_id'],
                    'volume_size': self.args.volume_gib,
                    'delete_on_termination': False})
                if bdm_volume:
                    made.append(bdm_volume)
                record['C: boot, image to volume'].append(bdm)
            started = time.monotonic()
            self.dst.image.delete_image(up['image_id'])
            record['delete target image'].append(time.monotonic() - started)
            record['total'].append(
                active + settle + got['seconds'] +
                record['delete source image'][-1] + up['seconds'] + seconds +
                record['delete target image'][-1])
            if verify:
                for name, volume_id in zip(('target volume', 'C: BDM volume'),
                                           made, strict=False):
                    same, why = self.read_back(self.dst, volume_id, data_mib,
                                               expected)
                    record['same bytes: %s' % name].append(same)
                    if not same:
                        self.notes[(data_mib, label)].append(
                            'run %d: %s: %s' % (run + 1, name, why))
        finally:
            try:
                self.dst.image.delete_image(up['image_id'],
                                            ignore_missing=True)
                for volume_id in made:
                    self.delete_volume(self.dst, volume_id)
            except Exception as exc:  # noqa: BLE001 (the project goes anyway)
                log('clean-up in the run failed: %s' % error_answer(exc))
        return self._keep(data_mib, label, record)

    def _keep(self, data_mib, label, record):
        for key, values in record.items():
            self.results[data_mib][label][key].extend(values)
        return record

    # D: what else a tenant can ask for --------------------------------------

    def check(self, name, available, detail):
        self.checks.append((name, available, detail))
        log('D: %s: %s' % (name, detail))

    def tenant_options(self, volume):
        for cloud, conn in (('source', self.src), ('target', self.dst)):
            response = conn.image.get('/info/import', raise_exc=False)
            methods = None
            if response.status_code == 200:
                methods = response.json()['import-methods']['value']
            self.check('Glance import methods (%s)' % cloud, bool(methods),
                       'GET /v2/info/import: %s' % (
                           ', '.join(methods) if methods else
                           answer(response)))
        self._compressed_upload(volume)
        self._compressed_volume()
        self._web_download()
        self._backup_records()

    def _compressed_upload(self, volume):
        before = {i.id for i in self.src.image.images()}
        try:
            upload = self.src.block_storage.upload_volume_to_image(
                volume, PREFIX + 'compressed', disk_format='raw',
                container_format='compressed')
        except openstack.exceptions.SDKException as exc:
            left = [i for i in self.src.image.images() if i.id not in before]
            for image in left:
                self.src.image.delete_image(image.id)
            self.check(
                "upload-to-image, container_format 'compressed' (source)",
                False, '%s%s' % (error_answer(exc), (
                    '; it left image %s (%s) behind in Glance' % (
                        left[0].id, left[0].status) if left else '')))
            poll(lambda: self.src.block_storage.get_volume(volume),
                 'available', 'source volume', time.monotonic())
            return
        image, seconds = poll(
            lambda: self.src.image.get_image(upload['image_id']), 'active',
            'compressed capture', time.monotonic())
        self.src.image.delete_image(image.id)
        poll(lambda: self.src.block_storage.get_volume(volume), 'available',
             'source volume', time.monotonic())
        self.check("upload-to-image, container_format 'compressed' (source)",
                   True, 'accepted: image of %.1f MiB in %.1f s' % (
                       image.size / MiB, seconds))

    def _compressed_volume(self):
        """A gzip of raw bytes, as container_format 'compressed', made into
        a volume of the target."""
        data = gzip.compress(os.urandom(MiB) + bytes(3 * MiB))
        try:
            image = self.dst.create_image(
                PREFIX + 'gzip', data=data, disk_format='raw',
                container_format='compressed', wait=True, timeout=TIMEOUT)
        except openstack.exceptions.SDKException as exc:
            self.check("image with container_format 'compressed' (target)",
                       False, error_answer(exc))
            return
        volume = None
        try:
            volume = self.dst.block_storage.create_volume(
                name=PREFIX + 'from-gzip', size=1, image_id=image.id)
            started = time.monotonic()
            try:
                _, seconds = poll(
                    lambda: self.dst.block_storage.get_volume(volume.id),
                    'available', 'volume from a compressed image', started)
                self.check("volume from a 'compressed' image (target)", True,
                           'available in %.1f s' % seconds)
            except Failed as exc:
                messages = []
                for _ in range(10):
                    response = self.dst.block_storage.get(
                        '/messages', microversion='3.3', raise_exc=False)
                    if response.status_code != 200:
                        messages = [answer(response)]
                        break
                    messages = [m.get('user_message') for m in
                                response.json().get('messages', [])
                                if m.get('resource_uuid') == volume.id]
                    if messages:
                        break
                    time.sleep(1)
                self.check("volume from a 'compressed' image (target)", False,
                           '%s; Cinder\'s user messages (GET /messages): %s'
                           % (exc, '; '.join(messages) or 'none for it'))
        finally:
            if volume is not None:
                self.delete_volume(self.dst, volume.id)
            self.dst.image.delete_image(image.id, ignore_missing=True)

    def _web_download(self):
        """web-download of a file served on the loopback (the source's own
        Glance wants a token, which web-download cannot send)."""
        directory = self.workdir / 'www'
        directory.mkdir(exist_ok=True)
        (directory / 'blob').write_bytes(os.urandom(MiB))

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(directory), **kwargs)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        image_id = None
        try:
            response = self.dst.image.post('/images', json={
                'name': PREFIX + 'web', 'disk_format': 'raw',
                'container_format': 'bare'})
            image_id = response.json()['id']
            uri = 'http://127.0.0.1:%d/blob' % server.server_address[1]
            response = self.dst.image.post(
                '/images/%s/import' % image_id, raise_exc=False, json={
                    'method': {'name': 'web-download', 'uri': uri}})
            if response.status_code >= 300:
                self.check('web-download (target)', False, answer(response))
                return
            deadline = time.monotonic() + 120
            while True:
                image = self.dst.image.get_image(image_id)
                props = image.properties or {}
                if image.status == 'active' or props.get(
                        'os_glance_failed_import') or \
                        time.monotonic() > deadline:
                    break
                time.sleep(POLL)
            tasks = self.dst.image.get('/images/%s/tasks' % image_id,
                                       raise_exc=False)
            messages = [t.get('message') for t in tasks.json().get(
                'tasks', [])] if tasks.status_code == 200 else []
            self.check('web-download (target)', image.status == 'active',
                       'import of %s answered %d; image %s%s' % (
                           uri, 202, image.status,
                           ', task: ' + '; '.join(m for m in messages if m)
                           if any(messages) else ''))
        finally:
            server.shutdown()
            if image_id:
                self.dst.image.delete_image(image_id, ignore_missing=True)

    def _backup_records(self):
        """Cinder's backup records, which would let a target import a
        backup from a backup store both clouds share.  No backup is made
        (the local clouds run no cinder-backup: a backup goes to error and
        cannot be deleted), so only the import is asked for."""
        record = base64.b64encode(json.dumps({}).encode()).decode()
        response = self.dst.block_storage.post(
            '/backups/import_record', raise_exc=False, json={
                'backup-record': {
                    'backup_service': 'cinder.backup.drivers.posix',
                    'backup_url': record}})
        self.check('backup import_record (target)', response.status_code < 300,
                   'POST /backups/import_record: %s' % answer(response))

    # everything -------------------------------------------------------------

    def run(self):
        self.setup()
        cases = []
        for data_mib in self.args.cases:
            volume, expected = self.make_source_volume(data_mib)
            same, why = self.read_back(self.src, volume.id, data_mib,
                                       expected)
            if not same:
                raise Failed('the source volume of %d MiB is wrong: %s'
                             % (data_mib, why))
            log('source volume of %d MiB data: %s' % (data_mib, volume.id))
            cases.append({'data_mib': data_mib, 'sha256': expected,
                          'volume': volume})
        if self.args.checks:
            self.tenant_options(cases[0]['volume'])
        alternatives = [('A raw', 'raw'), ('B qcow2', 'qcow2')]
        for run in range(self.args.runs):
            for case in cases:
                order = alternatives[run % 2:] + alternatives[:run % 2]
                for label, disk_format in order:
                    log('run %d, %d MiB, %s' % (run + 1, case['data_mib'],
                                                label))
                    try:
                        record = self.alternative(case, label, case['volume'],
                                                  disk_format, run)
                    except Exception as exc:  # noqa: BLE001 (said, and counted)
                        # The local clouds are shared: an API may hang or a
                        # cloud restart under the run.  Its figures are left
                        # out; the table says how many runs each median has.
                        log('  failed: %s' % error_answer(exc))
                        self.failures.append('run %d, %d MiB, %s: %s' % (
                            run + 1, case['data_mib'], label,
                            error_answer(exc)[:200]))
                        if len(self.failures) >= 3:
                            raise
                        continue
                    log('  total %s s (capture %s, download %s, upload %s, '
                        'volume %s)' % tuple(
                            '%.1f' % record[k][-1] if record[k] else '-'
                            for k in ('total', 'capture', 'download',
                                      'upload', 'volume from image')))
                    self.save()

    def save(self):
        if self.args.json:
            self.args.json.write_text(json.dumps({
                'results': self.results, 'checks': self.checks,
                'quirks': sorted(self.quirks), 'failures': self.failures,
                'notes': {'%s %s' % k: v for k, v in self.notes.items()}},
                indent=1))

    def close(self):
        if self.args.keep:
            return
        log('deleting the projects')
        self.projects.close()


# -- the tables ---------------------------------------------------------------

ROWS = (
    ('capture', 's', 'source: upload-to-image until the image is active'),
    ('settle', 's', 'source: then until the volume is available'),
    ('download', 's', 'download, verified'),
    ('delete source image', 's', 'delete the source image'),
    ('upload', 's', 'target: upload, verified'),
    ('volume from image', 's', 'target: volume from image, until available'),
    ('delete target image', 's', 'delete the target image'),
    ('total', 's', 'end to end'),
    ('volume refused', '?', 'target: volume of the same size refused'),
    ('image MiB', 'MiB', 'image size in Glance'),
    ('download MiB', 'MiB', 'bytes downloaded'),
    ('upload MiB', 'MiB', 'bytes uploaded'),
    ('blob apparent MiB', 'MiB', 'blob on disk, apparent size'),
    ('blob allocated MiB', 'MiB', 'blob on disk, allocated'),
    ('download RSS', 'MiB', 'peak RSS, download process'),
    ('upload RSS', 'MiB', 'peak RSS, upload process'),
    ('upload, glance-direct', 's', 'D: upload by glance-direct instead'),
    ('  of which staging', 's', 'D:   of which staging'),
    ('C: boot from the volume', 's', 'C: boot from that volume until ACTIVE'),
    ('C: volume, then boot', 's', 'C: volume from image, then boot'),
    ('C: boot, image to volume', 's', 'C: boot, BDM image -> volume'),
    ('source glance = file', '?', "source Glance's checksums = the blob"),
    ('target glance = file', '?', "target Glance's checksums = the blob"),
    ('target glance = source glance', '?', 'target checksums = source'),
    ('glance-direct: glance = file', '?', 'D: glance-direct checksums = blob'),
    ('same bytes: target volume', '?', 'target volume = source volume'),
    ('same bytes: C: BDM volume', '?', 'C: BDM volume = source volume'),
)


def cell(values, unit):
    if not values:
        return '-'
    if unit == '?':
        return 'yes' if all(values) else (
            'no' if not any(values) else '%d/%d' % (sum(values), len(values)))
    return '%.1f' % statistics.median(values)


def print_tables(bench, args):
    print('\nMachine: %d cores, %s; %s; openstacksdk %s' % (
        os.cpu_count(), ' '.join(subprocess.run(
            ['qemu-img', '--version'], capture_output=True, text=True,
            check=False).stdout.split()[:3]),
        'Python %s' % sys.version.split()[0], openstack.version.__version__))
    print('load average before: %s, after: %s' % (LOAD_BEFORE, ' '.join(
        open('/proc/loadavg').read().split()[:3])))
    print('%d GiB volumes; median of %d runs (seconds, MiB); byte checks '
          'on %s' % (args.volume_gib, args.runs,
                     'every run' if args.verify == 'all' else 'the first run'))
    for failure in bench.failures:
        print('failed, left out: %s' % failure)
    for data_mib, alternatives in bench.results.items():
        labels = list(alternatives)
        print('\n%d MiB of random data, then zeros (runs: %s)' % (
            data_mib, ', '.join('%s %d' % (label, len(
                alternatives[label]['capture'])) for label in labels)))
        head = '%-44s' % 'stage' + ''.join('%12s' % label for label in labels)
        print(head)
        print('-' * len(head))
        for key, unit, title in ROWS:
            if not any(alternatives[label].get(key) for label in labels):
                continue
            print('%-44s' % title + ''.join(
                '%12s' % cell(alternatives[label].get(key), unit)
                for label in labels))
        for label in labels:
            for note in bench.notes.get((data_mib, label), []):
                print('  %s, %s' % (label, note))
    for quirk in sorted(bench.quirks):
        print('\nnote: %s' % quirk)
    if bench.checks:
        print('\nD: what else a tenant can ask for')
        for name, available, detail in bench.checks:
            print('  %-58s %s\n      %s' % (
                name, 'available' if available else 'NOT available', detail))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == '--child':
        child_main(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--cases', default='16,256',
                        help='MiB of random data at the start of each volume '
                             '(comma-separated)')
    parser.add_argument('--volume-gib', type=int, default=1)
    parser.add_argument('--verify', choices=('all', 'first'), default='all',
                        help='read the target volumes back in every run '
                             '(all) or in the first only')
    parser.add_argument('--no-boot', dest='boot', action='store_false',
                        help='leave out C (the boots)')
    parser.add_argument('--no-glance-direct', dest='glance_direct',
                        action='store_false',
                        help='leave out the glance-direct uploads')
    parser.add_argument('--no-checks', dest='checks', action='store_false',
                        help='leave out the D checks')
    parser.add_argument('--workdir', default='/var/tmp')
    parser.add_argument('--json', type=pathlib.Path,
                        help='also write every figure to this file, after '
                             'each alternative')
    parser.add_argument('--keep', action='store_true',
                        help='leave the projects (debugging)')
    args = parser.parse_args()
    args.cases = [int(n) for n in args.cases.split(',') if n]
    if any(n * MiB > args.volume_gib * GiB for n in args.cases):
        parser.error('a case does not fit in a %d GiB volume'
                     % args.volume_gib)
    if shutil.disk_usage(args.workdir).free < 3 * args.volume_gib * GiB:
        raise SystemExit('not enough free disk in %s' % args.workdir)
    # A killed benchmark still deletes its projects.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit('terminated'))
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='volbench-',
                                            dir=args.workdir))
    bench = None
    try:
        bench = Bench(args, workdir)
        bench.run()
    finally:
        try:
            if bench is not None:
                bench.close()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            # What was measured, also when a run failed.
            if bench is not None and bench.results:
                print_tables(bench, args)


if __name__ == '__main__':
    main()

"""Bytes into a new private image of the target, hashed as they are sent
and verified against the export's digests and the target's Glance."""

import os

from . import hashing
from .kind import ImportFailed, describe

# What the upload reads and sends at a time.
CHUNK_SIZE = 1 << 20


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


def holds(image, item):
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
    """The blob as the upload sends it, hashed on the way: what was sent is
    what is checked.  An iterable with a length, so that the request sends
    it in chunks of a MiB (a file object is read 16 KiB at a time) and says
    its Content-Length; each algorithm hashes in a thread of its own while
    the next chunk is read and sent."""

    def __init__(self, stream, algos):
        self.stream = stream
        self.algos = algos
        self.hashes = None
        self.size = os.fstat(stream.fileno()).st_size

    def __iter__(self):
        # Each time from the first byte, with new digests: a request that
        # keystoneauth sends again (a connection reset) sends the whole
        # blob, and the digests are of what the last one sent.
        self.close()
        self.stream.seek(0)
        self.hashes = hashing.Digests(self.algos)
        for chunk in iter(lambda: self.stream.read(CHUNK_SIZE), b''):
            self.hashes.update(chunk)
            yield chunk

    def __len__(self):
        return self.size

    def digests(self):
        if self.hashes is None:  # never sent: the digests of no bytes
            self.hashes = hashing.Digests(self.algos)
        return self.hashes.result()

    def close(self):
        if self.hashes is not None:
            self.hashes.close()


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
            try:
                response = self.conn.image.put(
                    '/images/%s/file' % image_id, data=data,
                    headers={'Content-Type': 'application/octet-stream'})
                # Recorded, and not active: the next run replaces it.
                raise_from_response(response)
                sent = data.digests()
            finally:
                data.close()
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
                sent.update(hashing.of_file(filename, [algo], CHUNK_SIZE))
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
        # again.  Should the delete fail, what was wrong is still what the
        # user reads, and the next run, which checks the bytes of what it
        # finds, replaces it.
        try:
            self.conn.image.delete_image(image.id, ignore_missing=True)
        except Exception as exc:  # noqa: BLE001 - any: said, not hidden
            raise ImportFailed('%s: %s; it could not be deleted (%s), the '
                               'next run replaces it' % (
                                   describe(item), message, exc)) from None
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

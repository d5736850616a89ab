"""The free space an export needs in its output directory, checked before
it downloads anything.

The sizes are known from the source before anything is captured, but only
as bounds: an image's size is exact; a volume's capture holds at most the
volume's size, a server's at most its virtual disk (the flavor's disk, or
its image's virtual size), and usually much less (qcow2 keeps what was
written).  Blobs are sparse files (runs of zeros are not written), so a
raw image may take less than its size too.

So the export refuses only when it clearly cannot fit: less free space
than the images (other than raw ones) it still has to download.  When the
captures' bounds do not fit, it warns and goes on.  What an earlier run
left counts: a verified blob this run keeps needs nothing more, a partial
download only what it lacks.
"""

import dataclasses
import json
import logging
import os

from downpour.errors import DownpourError
from downpour.resources.base import human_size

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class Estimate:
    # Bytes the export still needs for certain, and at most.
    at_least: int = 0
    at_most: int = 0
    # Captures whose bound the source does not say.
    unknown: int = 0


def _stamp(path):
    """The stamp of a blob on disk (<blob>.verified, as the transfer
    writes it), if its size still matches: the transfer reads the digest
    again, here only what is cheap is looked at."""
    try:
        with open(path + '.verified', encoding='utf-8') as stream:
            stamp = json.load(stream)
        size = os.path.getsize(path)
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get('size') != size:
        return None
    return stamp


def _kept(blob, stamp, captures):
    """Whether the transfer will keep the verified blob it finds."""
    if stamp is None:
        return False
    if blob.kind == 'image':
        return not blob.hash_value or (
            stamp.get('hash_algo'), stamp.get('hash_value')) == (
            blob.hash_algo, blob.hash_value)
    return captures.usable(stamp.get('captured_at'))


def _bound(blob):
    if blob.kind == 'image':
        return blob.size
    if blob.kind == 'volume':
        return (blob.volume_size_gib or 0) * 1024 ** 3 or None
    return blob.size_bound


def estimate(records, output_dir, captures):
    """What the blobs of ``records`` still need in ``output_dir``."""
    result = Estimate()
    for record in records:
        # A container's objects, by the bytes its listing says: exact for
        # a first export, less for one that keeps what an earlier run
        # downloaded (the export does not read them again to count them).
        result.at_most += int(record.info.get('stored_bytes') or 0)
        blob = record.blob
        if blob is None:
            continue
        final = os.path.join(output_dir, blob.path)
        if _kept(blob, _stamp(final), captures):
            continue
        bound = _bound(blob)
        if bound is None:
            result.unknown += 1
            continue
        # A partial download is continued, or truncated and written
        # again: either way it needs only what it lacks.
        try:
            bound = max(0, bound - os.path.getsize(final + '.part'))
        except OSError:
            pass
        result.at_most += bound
        if blob.kind == 'image' and \
                (record.params.get('disk_format') or 'raw') != 'raw':
            result.at_least += bound
    return result


def free_bytes(path):
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize


def check(records, output_dir, captures, free=None):
    """Refuse in one line when the blobs clearly do not fit; say what
    they need, and warn when they may not fit."""
    need = estimate(records, output_dir, captures)
    free = free_bytes(output_dir) if free is None else free
    unknown = (' and %d capture%s of unknown size' % (
        need.unknown, '' if need.unknown == 1 else 's')) if need.unknown \
        else ''
    if free < need.at_least:
        raise DownpourError(
            'not enough free space in %s: the export needs at least %s '
            '(the images it downloads) and up to %s%s; %s free: free some '
            'space or export into another directory'
            % (output_dir, human_size(need.at_least),
               human_size(need.at_most), unknown, human_size(free)))
    if free < need.at_most:
        LOG.warning('%s may not have room: the export needs up to %s%s '
                    '(an estimate: captures are at most their disk sizes, '
                    'usually less); %s free', output_dir,
                    human_size(need.at_most), unknown, human_size(free))
    elif need.at_most or need.unknown:
        LOG.info('the export needs up to %s%s in %s (an estimate); %s free',
                 human_size(need.at_most), unknown, output_dir,
                 human_size(free))
    return need

"""manifest.yml: what an export holds, for people and for later tools.

Written with PyYAML's safe dumper: source names are data in it, and no
credential is ever passed in (only the cloud's name).
"""

import datetime
import os

import yaml

import downpour
from downpour.render import write_atomic

MANIFEST = 'manifest.yml'


def build(records, cloud_name=None, warnings=(), source=None):
    resources = []
    for record in records:
        item = {'type': record.type, 'name': record.name,
                'old_id': record.old_id, 'var': record.var}
        if record.blob is not None:
            item.update(size=record.blob.size,
                        checksum={'algo': record.blob.hash_algo,
                                  'value': record.blob.hash_value},
                        # Of the bytes in the blob, whatever either cloud's
                        # Glance computes: what the import checks.
                        digests=dict(record.blob.digests or {}),
                        blob=record.blob.path)
            if record.blob.kind != 'image':
                # A capture is the server or volume as it was then, in the
                # format the source's cloud wrote it (a volume: qcow2, or
                # raw when it would not fit or was asked so).
                item['captured_at'] = record.blob.captured_at
                item['disk_format'] = record.blob.disk_format
        resources.append(item)
    return {
        # The exact build (with the commit of a development build).
        'downpour_version': downpour.build(),
        'exported_at': datetime.datetime.now(
            datetime.UTC).isoformat(timespec='seconds'),
        'source_cloud': cloud_name,
        # Which cloud and project the export read (cloud.identity): check
        # and the import refuse to run in that same project.
        'source': dict(source or {}),
        'resources': resources,
        # What could not be copied as it is, and what was done instead.
        'warnings': list(warnings),
    }


def write(records, output_dir, cloud_name=None, warnings=(), source=None):
    text = yaml.safe_dump(build(records, cloud_name, warnings, source),
                          sort_keys=False,
                          allow_unicode=True, default_flow_style=False)
    write_atomic(os.path.join(output_dir, MANIFEST), text)

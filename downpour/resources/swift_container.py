"""Swift containers: name, metadata (static web and quota included),
ACLs, versioning and storage policy; their objects come with them
(downpour/resources/swift_objects.py).

Swift has no IDs: a container's name is its identity in the account, as a
keypair's is.  The record's ID is that name, and its key in the playbook
a UUID derived from it, the same in every export of the container (the
journal finds it again by it) and safe inside an expression or a file
name, which a name from the source is not.
"""

import uuid

from downpour.errors import ResolveError
from downpour.importer import swift
from downpour.resources import swift_objects
from downpour.resources.base import Record, ResourceType

_KEYS = uuid.UUID('6a1d4c0e-5f3b-4d8e-9a27-0c3b9e1f7d24')
# Headers of a container that are not carried, and why.
NOT_CARRIED = {
    'X-Container-Sync-To': 'container sync (its key is a credential, and '
                           'its peer is in the source cloud)',
}


def _count(value):
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def key_of(name):
    return str(uuid.uuid5(_KEYS, name))


def carried_acl(elements):
    """The elements of an ACL that can hold in another cloud, and those
    that cannot.  Referrer elements (``.r:*``, ``.r:-host``,
    ``.rlistings``) and ``*:*`` (any user) mean the same there; every
    other element names a project or user of the source's Keystone.
    Dropping a grant never widens an ACL; a referrer's denial is kept."""
    kept, dropped = [], []
    for element in elements:
        if element.startswith('.r:') or element in ('.rlistings', '*:*'):
            kept.append(element)
        else:
            dropped.append(element)
    return kept, dropped


class SwiftContainer(ResourceType):
    type = 'swift_container'
    optional_service = 'object-store'

    @staticmethod
    def item_id(record):
        return key_of(record.old_id)

    @staticmethod
    def detail(item, blob_size):
        if item.get('object_count') is None:
            return ''
        return '%d objects' % item['object_count']

    @classmethod
    def list(cls, conn):
        return swift.containers(conn)

    @classmethod
    def build(cls, exporter, obj, entry=None):
        what = 'container %r' % obj.name
        try:
            headers = swift.head(exporter.conn, obj.name)
        except swift.SwiftError as exc:
            raise ResolveError(str(exc)) from None
        state = swift.container_state(headers)
        record = Record(type=cls.type, old_id=obj.name, name=obj.name,
                        params={'metadata': state['metadata']},
                        # For the export's estimate of the space it needs.
                        info={'stored_bytes': _count(headers.get(
                            'X-Container-Bytes-Used', obj.bytes))})
        for key in headers:
            if key.lower().startswith(swift.CONTAINER_META) and \
                    key[len(swift.CONTAINER_META):].lower() in \
                    swift.SECRET_META:
                exporter.warn('%s: its temporary URL key is not carried '
                              '(a credential): set a new one in the target'
                              % what)
                break
        for header, why in NOT_CARRIED.items():
            if headers.get(header):
                exporter.warn('%s: %s is not carried' % (what, why))
        for key, name in (('read_acl', 'read'), ('write_acl', 'write')):
            kept, dropped = carried_acl(state[key])
            record.params[key] = kept
            if dropped:
                exporter.warn('%s: its %s ACL names projects or users of '
                              "the source's Keystone, which the target "
                              'does not have; left out: %s' % (
                                  what, name, ', '.join(dropped)))
        if state['versions']:
            record.info['versions'] = state['versions']
        policy = exporter.home('swift_policy').for_container(
            exporter, state['storage_policy'])
        if policy is not None:
            record.refs['storage_policy'] = policy
        exporter.add(record)
        return record

    @classmethod
    def after_resolve(cls, exporter):
        # Once every container is known: versioning names another one.
        for record in exporter.records_of(cls.type):
            versions = record.info.pop('versions', None)
            if not versions:
                continue
            mode, name = versions
            other = exporter.find(cls.type, name)
            if other is None:
                exporter.warn('container %r keeps its old versions in '
                              'container %r, which is not in the export: '
                              'its versioning is left out'
                              % (record.name, name))
                continue
            record.params['versions_mode'] = mode
            record.refs['versions'] = other

    @classmethod
    def write_contents(cls, exporter, output_dir):
        for record in exporter.records_of(cls.type):
            path, count, size, _ = swift_objects.export_container(
                exporter, record, key_of(record.old_id), output_dir,
                exporter.warn)
            record.params.update(objects=path, object_count=count,
                                 object_bytes=size)


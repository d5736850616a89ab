"""Server groups: a server's group is recreated once, with its policy and
rules, and every exported member is created into it.

Nova lets a server join a group only when it is created, so the group
comes before its servers.
"""

from downpour.resources.base import Record, ResourceType, checked_uuid


class ServerGroup(ResourceType):
    type = 'server_group'

    @classmethod
    def list(cls, conn):
        # openstacksdk asks for compute 2.64 when the cloud has it: one
        # ``policy`` and its ``rules`` instead of the older ``policies``.
        return conn.compute.server_groups()

    @classmethod
    def for_server(cls, exporter, server):
        """The record of ``server``'s group, or None."""
        named = getattr(server, 'server_groups', None)
        if named is not None and not named:
            # Compute 2.71 and later name a server's groups: none here,
            # so the groups need not be listed for it.
            return None
        if named:
            groups = [g for g in cls.all(exporter) if g.id in named]
        else:
            groups = [g for g in cls.all(exporter)
                      if server.id in (g.member_ids or [])]
        if not groups:
            if named:
                exporter.warn('server %r (%s) is in server group %s, which '
                              'is not visible; the new server is made '
                              'outside any group' % (server.name, server.id,
                                                     ', '.join(named)))
            return None
        # Nova puts a server in one group at most.
        return exporter.record(cls, groups[0])

    @classmethod
    def build(cls, exporter, obj, entry=None):
        checked_uuid(obj.id, 'server group %r' % obj.name)
        policy = obj.policy or next(iter(obj.policies or []), None)
        record = Record(
            type=cls.type, old_id=obj.id, name=obj.name or '',
            params={'policy': policy,
                    'rules': {str(k): v for k, v in (obj.rules or {}).items()
                              if isinstance(v, (int, str))
                              and not isinstance(v, bool)}},
            info={'members': list(obj.member_ids or [])})
        exporter.add(record)
        return record

    @classmethod
    def after_resolve(cls, exporter):
        for record in exporter.records_of(cls.type):
            exported = {r.old_id for r in exporter.records_of('server')}
            left = [m for m in record.info['members'] if m not in exported]
            if left:
                exporter.warn(
                    '%s has %d member(s) that are not exported (%s): the new '
                    'group holds only the exported ones, and the policy '
                    'applies among those' % (exporter.describe(record),
                                             len(left), ', '.join(left)))

"""Keypairs: only the public half exists in the cloud, and that is enough."""

from downpour.resources.base import Record, ResourceType


class Keypair(ResourceType):
    type = 'keypair'
    in_expressions = False

    @staticmethod
    def item_id(record):
        # Never inside an expression: servers name their keypair.
        return record.old_id

    @classmethod
    def list(cls, conn):
        return conn.compute.keypairs()

    @classmethod
    def used_by(cls, context):
        used = {s.key_name for s in context.selected if s.key_name}
        return lambda keypair: keypair.name in used

    @classmethod
    def build(cls, exporter, obj, entry=None):
        # Nova names keypairs per user: the name is their ID.
        record = Record(type=cls.type, old_id=obj.name, name=obj.name,
                        params={'public_key': obj.public_key},
                        info={'key_type': getattr(obj, 'type', None)})
        exporter.add(record)
        return record

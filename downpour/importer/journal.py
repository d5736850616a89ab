"""The import's own record of what it made in the target (journal.csv),
and uuids.csv, written from it for people and scripts."""

import csv
import io
import os
import threading

from . import definitions
from .files import rewrite
from .kind import csv_type

# Journal types that map no source ID of their own: they stay out of
# uuids.csv, which is a map (each Old once).  The types declared so, and
# the parts a kind records on their own (Kind.parts).
UNMAPPED = tuple(t.csv for t in definitions.ORDER if not t.mapped) + tuple(
    part.csv for t in definitions.ORDER for part in t.home.parts)


class Journal:
    """What this migration made in the target, by (type, source ID).

    A row is appended, and flushed to disk, the moment a resource exists,
    before anything else can fail.  The last row of a key wins: a resource
    the target lost and a later run made again has a newer row.
    """

    HEADER = ('Resource Type', 'Resource Name', 'Old', 'New', 'How')
    MAP_HEADER = HEADER[:4]

    def __init__(self, path):
        self.path = path
        self.rows = {}
        self._lock = threading.Lock()
        if path and os.path.isfile(path):
            with open(path, newline='', encoding='utf-8') as stream:
                for row in csv.reader(stream):
                    if len(row) == 5 and row != list(self.HEADER) \
                            and row[2] and row[3]:
                        self.rows.pop((row[0], row[2]), None)
                        self.rows[(row[0], row[2])] = (row[1], row[3], row[4])

    def recall(self, item):
        """(new ID, how) recorded for ``item``, or None."""
        row = self.rows.get((csv_type(item), item['id']))
        return (row[1], row[2]) if row else None

    def owned_ids(self):
        """Every target ID the journal records, whatever the item."""
        return {new for _name, new, _how in self.rows.values()}

    def record(self, item, new_id, how):
        key = (csv_type(item), item['id'])
        with self._lock:
            if self.rows.get(key) == (item['name'], new_id, how):
                return
            self.rows.pop(key, None)
            self.rows[key] = (item['name'], new_id, how)
            if not self.path:
                return
            fresh = not os.path.exists(self.path)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                         0o600)
            with os.fdopen(fd, 'a', newline='', encoding='utf-8') as stream:
                writer = csv.writer(stream, quoting=csv.QUOTE_ALL,
                                    lineterminator='\n')
                if fresh:
                    writer.writerow(self.HEADER)
                writer.writerow((key[0], item['name'], key[1], new_id, how))
                stream.flush()
                os.fsync(stream.fileno())

    def map_text(self):
        """uuids.csv: one row per source ID, in the order first made."""
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator='\n')
        writer.writerow(self.MAP_HEADER)
        for (kind, old), (name, new, _how) in self.rows.items():
            if kind not in UNMAPPED:
                writer.writerow((kind, name, old, new))
        return out.getvalue()

    def write_map(self, path):
        """Rewrite ``path`` from the journal unless it says exactly that;
        whether it was written."""
        if not path or not self.rows:
            return False
        return rewrite(path, self.map_text())

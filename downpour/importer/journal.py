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


def _rows(data):
    """The whole rows of the journal's bytes ``data``, and how many bytes
    they take.  Each row is appended in one write and ends with a line
    break; a crash may tear the last one (its new ID cut short; the run
    that wrote it did not go on): that one is left out."""
    lines = data.split(b'\n')
    # The part after the last line break is torn for certain.  csv.reader
    # counts the lines each row takes: a name may hold a line break.
    texts = [line.decode('utf-8', 'replace') + '\n' for line in lines[:-1]]
    reader = csv.reader(texts)
    rows, ends = [], []
    for row in reader:
        rows.append(row)
        ends.append(reader.line_num)
    if rows:
        start = ends[-2] if len(ends) > 1 else 0
        try:
            list(csv.reader(texts[start:ends[-1]], strict=True))
        except csv.Error:
            # Its quote never closed: torn after a line break in a name.
            rows.pop()
            ends.pop()
    whole = sum(len(line) + 1 for line in lines[:ends[-1]]) if ends else 0
    return rows, whole


class Journal:
    """What this migration made in the target, by (type, source ID).

    A row is appended, and flushed to disk, the moment a resource exists,
    before anything else can fail.  The last row of a key wins: a resource
    the target lost and a later run made again has a newer row.

    The sixth column, Captured, is when the capture a server or volume (or
    a server's disk image) was made from was taken, as the export said
    (empty for what is made from no capture).  A journal of an earlier
    downpour has five: its rows load with the capture unknown (''), which
    ``Importer`` takes as stale when the export says when its capture was
    taken (doc/source/decisions.rst).
    """

    HEADER = ('Resource Type', 'Resource Name', 'Old', 'New', 'How',
              'Captured')
    MAP_HEADER = HEADER[:4]

    def __init__(self, path):
        self.path = path
        self.rows = {}
        self._lock = threading.Lock()
        # Bytes of whole rows at the start, when a torn row follows them.
        self._whole = None
        if path and os.path.isfile(path):
            with open(path, 'rb') as stream:
                data = stream.read()
            rows, whole = _rows(data)
            if whole < len(data):
                self._whole = whole
            for row in rows:
                if len(row) == 5:
                    row = [*row, '']  # an earlier downpour's: unknown
                if len(row) == 6 and row[:5] != list(self.HEADER[:5]) \
                        and row[2] and row[3]:
                    self.rows.pop((row[0], row[2]), None)
                    self.rows[(row[0], row[2])] = (row[1], row[3], row[4],
                                                   row[5])

    def recall(self, item):
        """(new ID, how) recorded for ``item``, or None."""
        row = self.rows.get((csv_type(item), item['id']))
        return (row[1], row[2]) if row else None

    def captured(self, item):
        """When the capture that what is recorded for ``item`` was made
        from was taken: '' when not known (none, or a row of an earlier
        downpour), None when nothing is recorded."""
        row = self.rows.get((csv_type(item), item['id']))
        return row[3] if row else None

    def owned_ids(self):
        """Every target ID the journal records, whatever the item."""
        return {row[1] for row in self.rows.values()}

    def record(self, item, new_id, how):
        key = (csv_type(item), item['id'])
        row = (item['name'], new_id, how, str(item.get('captured_at') or ''))
        with self._lock:
            if self.rows.get(key) == row:
                return
            self.rows.pop(key, None)
            self.rows[key] = row
            if not self.path:
                return
            self._append((key[0], item['name'], key[1], *row[1:]))

    def _append(self, row):
        """One row at the end of the file, in one write, on disk before
        this returns.  After a row torn by a crash, on a line of its own:
        the torn one stays unread, never the new one."""
        text = io.StringIO()
        writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator='\n')
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if self._whole is not None:
                # A row torn by a crash before this run: cut back to the
                # last whole one, or its open quote would swallow the rows
                # after it.
                os.ftruncate(fd, self._whole)
                self._whole = None
            size = os.fstat(fd).st_size
            if not size:
                writer.writerow(self.HEADER)
            writer.writerow(row)
            data = text.getvalue().encode('utf-8')
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
        finally:
            os.close(fd)

    def map_text(self):
        """uuids.csv: one row per source ID, in the order first made."""
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator='\n')
        writer.writerow(self.MAP_HEADER)
        for (kind, old), (name, new, *_rest) in self.rows.items():
            if kind not in UNMAPPED:
                writer.writerow((kind, name, old, new))
        return out.getvalue()

    def write_map(self, path):
        """Rewrite ``path`` from the journal unless it says exactly that;
        whether it was written."""
        if not path or not self.rows:
            return False
        return rewrite(path, self.map_text())

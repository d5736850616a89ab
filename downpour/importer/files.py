"""The files the import writes beside the playbook: replaced whole, never
half-written, readable by their owner only; CSV with every field
quoted."""

import csv
import io
import os
import tempfile


def write_private(path, text):
    """Replace ``path`` whole, readable by its owner only."""
    directory = os.path.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8', newline='') as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def rewrite(path, text):
    """Write ``text`` to ``path`` (privately) unless it says exactly that
    already; whether it was written."""
    if os.path.isfile(path):
        with open(path, newline='', encoding='utf-8') as stream:
            if stream.read() == text:
                return False
    write_private(path, text)
    return True


def write_table(path, header, rows):
    """Rewrite the CSV table ``path`` (every field quoted) unless it says
    exactly that; whether it was written.  Nothing without rows."""
    if not path or not rows:
        return False
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator='\n')
    writer.writerow(header)
    writer.writerows(rows)
    return rewrite(path, out.getvalue())

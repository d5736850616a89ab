"""``downpour graph``: what moves, and what it needs, as a Graphviz graph.

From an output directory the graph is read from the playbook (each item's
references to other items) with the sizes from the manifest, and the marks
of the last ``downpour check`` (check.yml): a flavor or network the target
lacks, a name the target already uses, what did not fit.  From a resource
file it is resolved in the source cloud as export would, with GET requests
only and nothing downloaded.

Every name comes from a cloud and is untrusted: it only ever appears inside
a quoted DOT string, escaped; node IDs are downpour's own (n1, n2, ...).
"""

import dataclasses
import os
import shutil
import subprocess
import unicodedata

import yaml

from downpour import check
from downpour import render as playbook
from downpour.errors import DownpourError
from downpour.importer import definitions
from downpour.resources import BY_TYPE

# Rank along what moves (a server, its ports, their networks, subnets and
# routers) and shape, as each type declares them.  An edge goes from the
# lower rank to the higher, whichever refers to which (a subnet names its
# network, yet is drawn under it).
RANK = {t.name: t.rank for t in definitions.ORDER}
SHAPES = {t.name: t.shape for t in definitions.ORDER}
MARKS = {'missing': ('red', 'missing in the target'),
         'clash': ('darkorange', 'name used in the target'),
         # Made by an earlier import from an older capture than the export
         # holds: the import stops on it unless told to replace it.
         'stale': ('purple', 'stale in the target'),
         'not_fitting': ('gray50', 'does not fit now')}
# check.yml, written by downpour check beside the playbook.
CHECK = 'check.yml'
FORMATS = ('dot', 'svg', 'png')


@dataclasses.dataclass
class Node:
    key: str
    type: str
    name: str
    detail: str = ''
    marks: tuple = ()


@dataclasses.dataclass
class Graph:
    nodes: list
    edges: list  # (key, key)


def _detail(item, exported):
    """What its type's export home says of it under its name (a volume's
    size, a subnet's CIDR), with its blob's size from the manifest."""
    home = BY_TYPE.get(item['type'])
    return home.detail(item, exported.blob_size(item, None)) if home else ''


def from_output(output_dir):
    """The graph of an export, marked as its last check found it."""
    exported = check.Export.load(output_dir)
    marks = _marks(output_dir)
    keys = {item['id'] for item in exported.items}
    nodes, edges = [], []
    for item in exported.items:
        nodes.append(Node(
            key=item['id'], type=item['type'], name=str(item.get('name')
                                                        or ''),
            detail=_detail(item, exported),
            marks=tuple(m for m in MARKS if item['id'] in marks.get(m, ()))))
        for ref in check.references(item, keys):
            edges.append((item['id'], ref))
    return _oriented(Graph(nodes, edges))


def _marks(output_dir):
    path = os.path.join(output_dir, CHECK)
    try:
        with open(path, encoding='utf-8') as stream:
            data = yaml.safe_load(stream) or {}
    except FileNotFoundError:
        return {}
    except (OSError, yaml.YAMLError) as exc:
        raise DownpourError('%s: cannot be read: %s' % (
            path, ' '.join(str(exc).split()))) from exc
    if not isinstance(data, dict):
        return {}
    return {mark: {str(k) for k in data.get(mark) or []} for mark in MARKS}


def from_records(records):
    """The graph of resolved export records (a resource file), each drawn
    from the item the playbook would list for it."""
    env = playbook.environment()
    nodes, edges = [], []
    for record in records:
        item = playbook.item(env, record)
        nodes.append(Node(key=str(id(record)), type=record.type,
                          name=record.name or '',
                          detail=BY_TYPE[record.type].detail(item, None)))
        for dep in record.dependencies():
            if dep is not record:
                edges.append((str(id(record)), str(id(dep))))
    return _oriented(Graph(nodes, edges))


def _oriented(graph):
    types = {node.key: node.type for node in graph.nodes}
    edges = []
    for a, b in graph.edges:
        if RANK.get(types[b], 9) < RANK.get(types[a], 9):
            a, b = b, a
        if (a, b) not in edges:
            edges.append((a, b))
    return Graph(graph.nodes, edges)


def quoted(text):
    """A DOT quoted string holding ``text`` as plain text."""
    out = []
    for char in str(text):
        if char in '"\\':
            out.append('\\' + char)
        elif char == '\n':
            out.append('\\n')
        elif unicodedata.category(char) in ('Cc', 'Zl', 'Zp'):
            # Control characters and line separators: a label is one
            # line per part, whatever a name holds.
            out.append(' ')
        else:
            out.append(char)
    return '"%s"' % ''.join(out)


def dot(graph):
    """The graph as Graphviz DOT text."""
    ids = {node.key: 'n%d' % n for n, node in enumerate(graph.nodes, 1)}
    lines = ['digraph downpour {',
             '  rankdir=LR;',
             '  node [fontname="Helvetica", fontsize=10, shape=box];',
             '  edge [color="gray40"];']
    for node in graph.nodes:
        label = node.type.replace('_', ' ')
        for part in (node.name, node.detail) + tuple(
                MARKS[mark][1] for mark in node.marks):
            if part:
                label += '\n' + part
        attrs = ['label=%s' % quoted(label),
                 'shape=%s' % SHAPES.get(node.type, 'box')]
        if node.marks:
            color = MARKS[node.marks[0]][0]
            attrs += ['color=%s' % quoted(color),
                      'fontcolor=%s' % quoted(color), 'penwidth=2']
        if 'not_fitting' in node.marks:
            attrs.append('style="dashed"')
        lines.append('  %s [%s];' % (ids[node.key], ', '.join(attrs)))
    for a, b in graph.edges:
        lines.append('  %s -> %s;' % (ids[a], ids[b]))
    lines.append('}')
    return '\n'.join(lines) + '\n'


def render(text, fmt):
    """DOT text rendered by Graphviz's dot as ``fmt`` (svg, png)."""
    program = shutil.which('dot')
    if program is None:
        raise DownpourError('rendering %s needs Graphviz\'s dot, which is '
                            'not installed (apt-get install graphviz); '
                            'write DOT instead (-o FILE.dot)' % fmt)
    proc = subprocess.run(  # noqa: S603 - dot, with our own arguments
        [program, '-T' + fmt], input=text.encode('utf-8'),
        capture_output=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise DownpourError('dot failed (%d): %s' % (
            proc.returncode,
            ' '.join(proc.stderr.decode('utf-8', 'replace').split())))
    return proc.stdout


def output_format(path, fmt=None):
    """The format to write: given, else the file's extension, else DOT."""
    if fmt:
        return fmt
    if path:
        ext = os.path.splitext(path)[1].lstrip('.').lower()
        if ext in FORMATS:
            return ext
        if ext == 'gv':
            return 'dot'
    if path:
        raise DownpourError('%s: give -o a name ending in .dot, .svg or .png, '
                            'or --format' % path)
    return 'dot'

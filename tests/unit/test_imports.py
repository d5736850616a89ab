"""No module of downpour imports one that imports it back, however far
round: a circle makes the order of imports matter, and a home of one type
import another's only one way (a home that needs one that imports it asks
the exporter for it)."""

import ast
import os

import downpour

TOP = os.path.dirname(downpour.__file__)


def _module(path):
    name = os.path.relpath(path, os.path.dirname(TOP))[:-3].replace(os.sep,
                                                                    '.')
    return name[:-len('.__init__')] if name.endswith('.__init__') else name


def _imports(path, name):
    """The downpour modules the file at ``path`` imports."""
    package = name if path.endswith('__init__.py') else name.rsplit('.', 1)[0]
    found = set()
    for node in ast.walk(ast.parse(open(path, encoding='utf-8').read())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split('.')
                base = '.'.join(parts[:len(parts) - node.level + 1])
            else:
                base = ''
            module = '.'.join(p for p in (base, node.module) if p)
            if node.module:
                found.add(module)
            # "from . import x" imports the module x, not its package.
            found.update('%s.%s' % (module, a.name) for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.split('.')[0] == 'downpour'}


def _graph():
    graph = {}
    for directory, _dirs, files in os.walk(TOP):
        for file in files:
            if file.endswith('.py'):
                path = os.path.join(directory, file)
                graph[_module(path)] = _imports(path, _module(path))
    return {m: {d for d in deps if d in graph and d != m}
            for m, deps in graph.items()}


def _circles(graph):
    state, circles = {}, []

    def visit(module, path):
        state[module] = 'open'
        for other in sorted(graph[module]):
            if state.get(other) == 'open':
                circles.append(path[path.index(other):] + [other])
            elif other not in state:
                visit(other, path + [other])
        state[module] = 'done'

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return circles


def test_no_module_imports_one_that_imports_it_back():
    graph = _graph()
    assert 'downpour.importer.definitions' in graph
    assert _circles(graph) == []


def test_a_circle_would_be_found():
    graph = {'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': set()}
    assert _circles(graph) == [['a', 'b', 'c', 'a']]

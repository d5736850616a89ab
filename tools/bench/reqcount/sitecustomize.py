"""Count the HTTP requests of every Python process, for the benchmarks.

Benchmark only: never installed, only put on PYTHONPATH by tools/bench
scripts together with DOWNPOUR_REQCOUNT_DIR.  Python imports this file at
start-up in every process that inherits that environment: downpour,
ansible-playbook and each Ansible module process (with the local
connection, modules run with the same interpreter and environment).

Requests are counted where python-requests hands them to the network
(``HTTPAdapter.send``): every request keystoneauth and openstacksdk send,
logins, discovery and redirects included.  requests is patched only when
something imports it, so processes that never use it pay nothing.

At exit each process writes DIR/<pid>.json: its requests by method, port
and path (IDs replaced by ``{id}``), its peak RSS (``ru_maxrss``), its wall
time and, for an Ansible module, the module's name.
"""

import atexit
import collections
import importlib.abc
import importlib.machinery
import json
import os
import re
import resource
import sys
import time

_DIR = os.environ.get('DOWNPOUR_REQCOUNT_DIR')
_ID = re.compile(r'/(?:[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?'
                 r'[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}|\d+)(?=/|$)')
_state = {'pid': os.getpid(), 'start': time.time(),
          'requests': collections.Counter()}


def _key(request):
    from urllib.parse import urlsplit
    url = urlsplit(request.url)
    return '%s %s %s' % (request.method, url.port or url.scheme,
                         _ID.sub('/{id}', url.path) or '/')


def _patch(adapters):
    send = adapters.HTTPAdapter.send

    def counted_send(self, request, *args, **kwargs):
        _state['requests'][_key(request)] += 1
        return send(self, request, *args, **kwargs)

    adapters.HTTPAdapter.send = counted_send


class _Loader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _patch(module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != 'requests.adapters':
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


def _module_name():
    # Ansible runs a module as .../AnsiballZ_<module>.py
    base = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ''
    match = re.match(r'AnsiballZ_(\w+)\.py$', base)
    return match.group(1) if match else None


def _write():
    if os.getpid() != _state['pid']:
        return  # a forked child that did not start afresh
    record = {
        'pid': os.getpid(),
        'ppid': os.getppid(),
        'argv0': os.path.basename(sys.argv[0]) if sys.argv else '',
        'module': _module_name(),
        'start': _state['start'],
        'end': time.time(),
        # kilobytes on Linux
        'maxrss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        'requests': dict(_state['requests']),
    }
    path = os.path.join(_DIR, '%d.json' % os.getpid())
    with open(path + '.tmp', 'w', encoding='utf-8') as stream:
        json.dump(record, stream)
    os.replace(path + '.tmp', path)


def _after_fork():
    # A fork that goes on running Python (a multiprocessing worker) is a
    # process of its own: count it from zero.
    _state.update(pid=os.getpid(), start=time.time(),
                  requests=collections.Counter())


if _DIR:
    if 'requests.adapters' in sys.modules:
        _patch(sys.modules['requests.adapters'])
    else:
        sys.meta_path.insert(0, _Finder())
    os.register_at_fork(after_in_child=_after_fork)
    atexit.register(_write)

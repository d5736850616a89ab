"""Serve one OpenStack WSGI application with gunicorn.

Usage: python -m downpour_localcloud.wsgi NAME MODULE HOST:PORT WORKERS [APP ARGS...]

Why not the ``gunicorn`` command: the WSGI modules of nova, neutron and cinder
parse ``sys.argv[1:]`` with oslo.config at import time and reject gunicorn's
own options.  Here ``sys.argv`` is set to ``[NAME, APP ARGS...]`` before the
application module is imported.  Settings and why:

* ``control_socket_disable``: gunicorn >= 25.1 opens ``~/.gunicorn/gunicorn.ctl``
  and several masters on one machine fight over it.
* ``keepalive = 0``: the 2 s default races clients that poll every ~2 s
  (openstacksdk's wait_for_*) and gave "Connection reset by peer".
* ``timeout``: large image uploads/downloads through a sync worker must not be
  killed as "silent" after gunicorn's default 30 s.
"""
import importlib
import sys

from gunicorn.app.base import BaseApplication


class _App(BaseApplication):
    def __init__(self, module, options):
        self._module = module
        self._options = options
        super().__init__()

    def load_config(self):
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return importlib.import_module(self._module).application


def main():
    name, module, bind, workers = sys.argv[1:5]
    sys.argv = [name] + sys.argv[5:]
    options = {
        "bind": bind,
        "workers": int(workers),
        "worker_class": "sync",
        "keepalive": 0,
        "timeout": 900,
        "graceful_timeout": 5,
        "proc_name": name,
        "accesslog": "-",
        "control_socket_disable": True,
    }
    _App(module, options).run()


if __name__ == "__main__":
    main()

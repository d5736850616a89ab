"""Swift's account, container and object servers in one process.

Usage: python -m downpour_localcloud.swift_storage SERVER.conf...

Each configuration file (NAME-server.conf, with [app:NAME-server]) is served
as swift-NAME-server serves it with ``workers = 0`` (Swift's run_server, in
the foreground), but all of them in green threads of one process: three
processes would each hold Swift, eventlet and their pipelines in memory for a
cloud that never has more than one client.
"""
import os
import sys

import eventlet
import eventlet.hubs
import eventlet.queue
from swift.common import utils
from swift.common import wsgi
from swift.container.updater import ContainerUpdater


def main():
    servers = []
    stopped = eventlet.queue.Queue()
    for path in sys.argv[1:]:
        section = os.path.basename(path).rsplit(".", 1)[0]
        # check_config loads the application once (a configuration error
        # stops the process before any port is open) and logs to stderr.
        conf, logger, global_conf, _strategy = wsgi.check_config(path, section, verbose=True)
        servers.append((path, section, conf, logger, global_conf, wsgi.get_socket(conf)))
    # run_server chooses eventlet's hub with use_hub, which throws away the
    # running hub and every green thread on it: the second server would
    # orphan the first.  Choose it once here; later calls only choose one in
    # an OS thread that has none yet (Swift's disk I/O thread pool).
    eventlet.hubs.use_hub(utils.get_hub())
    choose = eventlet.hubs.use_hub

    def use_hub_once(*args, **kwargs):
        if not hasattr(eventlet.hubs._threadlocal, "hub"):
            choose(*args, **kwargs)

    eventlet.hubs.use_hub = use_hub_once
    for path, section, conf, logger, global_conf, sock in servers:
        thread = eventlet.spawn(wsgi.run_server, conf, logger, sock, global_conf=global_conf)
        thread.link(lambda _thread, name=section: stopped.put(name))
        if section == "container-server":
            eventlet.spawn(_container_updates, path)
    # One server gone is the whole process gone: localcloud status then
    # reports it down instead of a cloud that answers only in part.
    print(f"swift_storage: {stopped.get()} stopped", file=sys.stderr, flush=True)
    return 1


def _container_updates(conf_path):
    """What swift-container-updater does, in a green thread of this process
    (its run_once neither forks nor threads): report each container's
    counts to its account every ``interval`` seconds."""
    conf = utils.readconf(conf_path, "container-updater")
    updater = ContainerUpdater(conf, logger=utils.get_logger(
        conf, log_route="container-updater", log_to_console=True))
    interval = float(conf.get("interval", 300))
    while True:
        eventlet.sleep(interval)
        try:
            updater.run_once()
        except Exception:  # a failed sweep is retried at the next interval
            updater.logger.exception("container update sweep failed")


if __name__ == "__main__":
    sys.exit(main())

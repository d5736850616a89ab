"""One test cloud: its services, how it boots, stops and reports."""
import base64
import concurrent.futures
import grp
import json
import os
import pwd
import secrets
import shutil
import subprocess
import time

from . import configs
from . import mariadb
from . import procs
from . import settings
from . import swiftdisk
from .procs import HarnessError

H = settings.HOST


class Service:
    def __init__(self, name, cmd, env=None, port=None, url=None):
        self.name = name
        self.cmd = cmd
        self.env = env or {}
        self.port = port   # TCP port it listens on (None: RPC-only worker)
        self.url = url     # HTTP URL that must answer for the API to be "up"


class Cloud:
    def __init__(self, name):
        if name not in settings.CLOUD_NAMES:
            raise HarnessError(f"unknown cloud {name!r} "
                               f"(choose from {', '.join(settings.CLOUD_NAMES)})")
        self.name = name
        self.ports = settings.ports(name)
        self.names = settings.PER_CLOUD[name]
        self.root = os.path.join(settings.STATE, name)
        self.etc = os.path.join(self.root, "etc")
        self.data = os.path.join(self.root, "data")
        self.run = os.path.join(self.root, "run")
        self.ready_file = os.path.join(self.root, "ready")
        self.keystone_url = f"http://{H}:{self.ports['keystone']}/v3"
        self._passwords = None

    # -- secrets -----------------------------------------------------------------
    @property
    def passwords(self):
        """Random passwords (and Barbican's key-encryption key) made at the
        first ``up``, kept in the state dir; a key added by a newer localcloud
        is made on the next ``up`` and the others are kept."""
        if self._passwords is None:
            path = os.path.join(self.root, "passwords.json")
            known = {}
            if os.path.exists(path):
                with open(path) as f:
                    known = json.load(f)
            self._passwords = dict(known)
            for key in ("admin", "service", "member", "octavia_db", "octavia_heartbeat",
                        "swift_hash"):
                if key not in known:
                    self._passwords[key] = secrets.token_urlsafe(16)
            if "barbican_kek" not in known:
                # simple_crypto wants a Fernet key: 32 random bytes, URL-safe base64.
                self._passwords["barbican_kek"] = base64.urlsafe_b64encode(
                    secrets.token_bytes(32)).decode()
            if self._passwords != known:
                os.makedirs(self.root, exist_ok=True)
                tmp = path + ".tmp"
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    json.dump(self._passwords, f)
                os.replace(tmp, path)
        return self._passwords

    # -- processes ----------------------------------------------------------------
    def log(self, what):
        return os.path.join(settings.LOGS, f"{self.name}-{what}.log")

    def pidfile(self, svc):
        return os.path.join(self.run, f"{svc}.pid")

    def base_env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OS_", "PYTHON", "VIRTUAL_ENV"))}
        # plugins/ holds sitecustomize (SQLite locking), our drivers and the
        # dist-info that registers the ML2 driver; plugins/bin holds the sudo shim.
        env["PYTHONPATH"] = settings.PLUGINS
        env["PATH"] = os.pathsep.join([os.path.join(settings.PLUGINS, "bin"),
                                       os.path.join(settings.VENV, "bin"),
                                       env.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")])
        env["HOME"] = self.root  # gunicorn, erlang cookie etc. stay in the state dir
        return env

    def services(self):
        p = self.ports
        py = os.path.join(settings.VENV, "bin", "python")
        vbin = os.path.join(settings.VENV, "bin")
        nova_conf = ["--config-file", os.path.join(self.etc, "nova", "nova.conf")]
        cinder_conf = ["--config-file", os.path.join(self.etc, "cinder", "cinder.conf")]
        octavia_conf = ["--config-file", os.path.join(self.etc, "octavia", "octavia.conf")]

        def wsgi(name, module, port, workers=1, args=()):
            return [py, "-m", "downpour_localcloud.wsgi", name, module,
                    f"{H}:{port}", str(workers), *args]

        rabbit_dir = os.path.join(self.data, "rabbitmq")
        rabbit_env = {
            "RABBITMQ_NODENAME": f"rabbit-{self.name}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": H,
            "RABBITMQ_NODE_PORT": str(p["rabbit"]),
            "RABBITMQ_DIST_PORT": str(p["rabbit_dist"]),
            "RABBITMQ_CONFIG_FILE": os.path.join(self.etc, "rabbitmq", "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(self.etc, "rabbitmq", "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": os.path.join(rabbit_dir, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(rabbit_dir, "log"),
            "RABBITMQ_PID_FILE": os.path.join(rabbit_dir, "rabbit.pid"),
            "RABBITMQ_CONF_ENV_FILE": os.path.join(self.etc, "rabbitmq", "rabbitmq-env.conf"),
            "RABBITMQ_USE_LONGNAME": "false",
            "ERL_EPMD_PORT": str(p["epmd"]),
            "ERL_EPMD_ADDRESS": H,
            # Erlang distribution on loopback only.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }
        return [
            # Our own epmd on loopback (an erlang node would otherwise start one
            # listening on every address, outside our process group).
            Service("epmd", ["epmd", "-address", H, "-port", str(p["epmd"])], port=p["epmd"]),
            Service("rabbitmq", ["/usr/lib/rabbitmq/bin/rabbitmq-server"], env=rabbit_env,
                    port=p["rabbit"]),
            # One worker: keystone's cache is in-process (oslo_cache.dict) and
            # is invalidated only in the process that made a change; with two
            # workers one kept serving a catalogue cached before the
            # endpoints were created ("endpoint for compute not found").
            Service("keystone", wsgi("keystone", "keystone.wsgi.api", p["keystone"]),
                    env={"OS_KEYSTONE_CONFIG_DIR": os.path.join(self.etc, "keystone")},
                    port=p["keystone"], url=f"http://{H}:{p['keystone']}/v3"),
            # Two workers: one sync worker streaming a 1 GiB image would block
            # every other image request (nova, cinder and the tests share it).
            Service("glance-api", wsgi("glance-api", "glance.wsgi.api", p["glance"], 2),
                    env={"OS_GLANCE_CONFIG_DIR": os.path.join(self.etc, "glance")},
                    port=p["glance"], url=f"http://{H}:{p['glance']}/"),
            Service("placement-api", wsgi("placement-api", "placement.wsgi.api", p["placement"]),
                    env={"OS_PLACEMENT_CONFIG_DIR": os.path.join(self.etc, "placement")},
                    port=p["placement"], url=f"http://{H}:{p['placement']}/"),
            # Two workers for nova-api and cinder-api: each calls the other
            # while it answers (an attachment deleted with its server, a
            # volume attached), and with one sync worker each, two such calls
            # at once wait on each other until gunicorn's timeout (seen in
            # the scale benchmark's clean-up: both silent for 15 min).
            Service("nova-api", wsgi("nova-api", "nova.wsgi.osapi_compute", p["nova"], 2),
                    env={"OS_NOVA_CONFIG_DIR": os.path.join(self.etc, "nova")},
                    port=p["nova"], url=f"http://{H}:{p['nova']}/"),
            Service("nova-conductor", [os.path.join(vbin, "nova-conductor"), *nova_conf]),
            Service("nova-scheduler", [os.path.join(vbin, "nova-scheduler"), *nova_conf]),
            Service("nova-compute", [py, "-m", "downpour_localcloud.nova_compute", *nova_conf]),
            Service("neutron-api", wsgi("neutron-api", "neutron.wsgi.api", p["neutron"]),
                    env={"OS_NEUTRON_CONFIG_DIR": os.path.join(self.etc, "neutron"),
                         "OS_NEUTRON_CONFIG_FILES": "neutron.conf;ml2_conf.ini"},
                    port=p["neutron"], url=f"http://{H}:{p['neutron']}/"),
            Service("cinder-api", wsgi("cinder-api", "cinder.wsgi.api", p["cinder"], 2,
                                       args=cinder_conf),
                    port=p["cinder"], url=f"http://{H}:{p['cinder']}/"),
            Service("cinder-scheduler", [os.path.join(vbin, "cinder-scheduler"), *cinder_conf]),
            Service("cinder-volume", [os.path.join(vbin, "cinder-volume"), *cinder_conf]),
            # Octavia: the API and one worker (amphora provider, no-op
            # amphora/compute/image drivers, our VIP-port network driver).
            # No health manager (no amphora sends heartbeats), no housekeeping.
            Service("octavia-api", wsgi("octavia-api", "octavia.wsgi.api", p["octavia"],
                                        args=octavia_conf),
                    port=p["octavia"], url=f"http://{H}:{p['octavia']}/"),
            Service("octavia-worker", [os.path.join(vbin, "octavia-worker"), *octavia_conf]),
            # Barbican re-reads its configuration at import with no arguments,
            # only from $HOME, ~ and /etc: its HOME is its etc directory.  No
            # worker or keystone listener: without a queue, orders run in the API.
            Service("barbican-api", wsgi("barbican-api", "downpour_localcloud.barbican_wsgi",
                                         p["barbican"]),
                    env={"HOME": os.path.join(self.etc, "barbican")},
                    port=p["barbican"], url=f"http://{H}:{p['barbican']}/"),
            # Swift: the account, container and object servers in one
            # process (plugins/downpour_localcloud/swift_storage.py), the
            # proxy in another, each with workers = 0 (no fork); -v sends
            # the proxy's log to its file (there is no syslog here).
            Service("swift-storage", [py, "-m", "downpour_localcloud.swift_storage",
                                      *(os.path.join(self.etc, "swift", f"{kind}-server.conf")
                                        for kind in ("account", "container", "object"))],
                    # Any answer (400: no such path) shows its hub is serving.
                    port=p["swift_object"], url=f"http://{H}:{p['swift_object']}/"),
            Service("swift-proxy", [os.path.join(vbin, "swift-proxy-server"),
                                    os.path.join(self.etc, "swift", "proxy-server.conf"), "-v"],
                    port=p["swift"], url=f"http://{H}:{p['swift']}/healthcheck"),
        ]

    def start_service(self, svc):
        env = self.base_env()
        env.update(svc.env)
        procs.spawn(svc.cmd, self.pidfile(svc.name), self.log(svc.name), env, self.root)

    # -- state ------------------------------------------------------------------------
    def status(self):
        """[(service, pid or None, healthy bool, detail)]"""
        rows = []
        for svc in self.services():
            pid = procs.read_pid(self.pidfile(svc.name))
            if pid is None:
                rows.append((svc, None, False, "not running"))
                continue
            if svc.url:
                ok = procs.http_answers(svc.url)
                rows.append((svc, pid, ok, svc.url if ok else f"no answer at {svc.url}"))
            elif svc.port:
                ok = procs.port_open(svc.port)
                rows.append((svc, pid, ok, f"{H}:{svc.port}" if ok else f"{H}:{svc.port} closed"))
            else:
                rows.append((svc, pid, True, "running (RPC worker)"))
        return rows

    def any_running(self):
        return any(procs.read_pid(self.pidfile(s.name)) for s in self.services())

    def processes_alive(self):
        """True if every service process localcloud started is still alive,
        the shared MariaDB included."""
        return (mariadb.pid() is not None
                and all(procs.read_pid(self.pidfile(s.name)) for s in self.services()))

    def answering(self, timeout=60):
        """Wait up to ``timeout`` s for every service to answer: a busy API
        (a sync gunicorn worker streaming a large image) answers late."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.status()
            if all(ok for _s, _p, ok, _d in rows):
                return []
            if time.monotonic() > deadline:
                return [svc.name for svc, _p, ok, _d in rows if not ok]
            time.sleep(2)

    def stop(self):
        pidfiles = [(s.name, self.pidfile(s.name)) for s in reversed(self.services())]
        stopped = procs.stop_groups(pidfiles)
        swiftdisk.unmount(self)
        try:
            os.remove(self.ready_file)
        except FileNotFoundError:
            pass
        return stopped

    # -- boot -------------------------------------------------------------------------
    def _check_ports_free(self):
        taken = [f"{H}:{port} ({name})" for name, port in self.ports.items()
                 if name != "rabbit_dist" and procs.port_open(port)]
        if taken:
            raise HarnessError(
                f"cannot start cloud {self.name}: port(s) already in use by a process "
                f"localcloud did not start: {', '.join(taken)}")

    def _run(self, what, cmd, env=None):
        """Run a one-shot command, output to its own log; raise with the log's tail."""
        full_env = self.base_env()
        full_env.update(env or {})
        log = self.log(what)
        with open(log, "ab") as f:
            rc = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT, env=full_env,
                                 cwd=self.root, stdin=subprocess.DEVNULL)
        if rc != 0:
            raise HarnessError(f"{self.name}: {what} failed (exit {rc}); "
                               f"last lines of {log}:\n{_tail(log)}")

    def _db_sync(self):
        """All schema migrations of the cloud, run in parallel (CPU-bound, but
        nova's alone is the longest and the others fit beside it)."""
        v = lambda exe: os.path.join(settings.VENV, "bin", exe)  # noqa: E731
        py = v("python")
        etc = self.etc
        nova_args = ["--config-file", f"{etc}/nova/nova.conf"]
        neutron_conf = ["--config-file", f"{etc}/neutron/neutron.conf",
                        "--config-file", f"{etc}/neutron/ml2_conf.ini"]
        cell0 = f"sqlite:///{self.data}/nova_cell0.sqlite"

        user = pwd.getpwuid(os.getuid()).pw_name  # owner of the key repositories
        group = grp.getgrgid(os.getgid()).gr_name

        def keystone():
            env = {"OS_BOOTSTRAP_PASSWORD": self.passwords["admin"]}
            kconf = ["--config-file", f"{etc}/keystone/keystone.conf"]
            self._run("dbsync-keystone", [v("keystone-manage"), *kconf, "db_sync"])
            for what in ("fernet_setup", "credential_setup"):
                self._run("dbsync-keystone", [
                    v("keystone-manage"), *kconf, what,
                    "--keystone-user", user, "--keystone-group", group])
            url = self.keystone_url
            self._run("dbsync-keystone", [
                v("keystone-manage"), *kconf, "bootstrap",
                "--bootstrap-username", "admin", "--bootstrap-project-name", "admin",
                "--bootstrap-role-name", "admin", "--bootstrap-service-name", "keystone",
                "--bootstrap-region-id", settings.REGION,
                "--bootstrap-admin-url", url, "--bootstrap-internal-url", url,
                "--bootstrap-public-url", url], env=env)

        def glance():
            self._run("dbsync-glance", [v("glance-manage"), "--config-file",
                                        f"{etc}/glance/glance-api.conf", "db_sync"])

        def placement():
            self._run("dbsync-placement", [v("placement-manage"), "--config-file",
                                           f"{etc}/placement/placement.conf", "db", "sync"])

        def nova():
            m = [v("nova-manage"), *nova_args]
            self._run("dbsync-nova", [*m, "api_db", "sync"])
            self._run("dbsync-nova", [*m, "cell_v2", "map_cell0", "--database_connection", cell0])
            self._run("dbsync-nova", [*m, "cell_v2", "create_cell", "--name", "cell1"])
            self._run("dbsync-nova", [*m, "db", "sync"])

        def neutron():
            # neutron's alembic migrations cannot run on SQLite (ALTER of
            # constraints); create the head schema from the models, then stamp
            # it, as neutron's own unit tests do.
            self._run("dbsync-neutron", [py, "-c", (
                "import sys, sqlalchemy\n"
                "from neutron.db.migration.models import head\n"
                "head.get_metadata().create_all(sqlalchemy.create_engine(sys.argv[1]))\n"),
                f"sqlite:///{self.data}/neutron.sqlite"])
            self._run("dbsync-neutron", [v("neutron-db-manage"), *neutron_conf, "stamp", "heads"])

        def cinder():
            self._run("dbsync-cinder", [v("cinder-manage"), "--config-file",
                                        f"{etc}/cinder/cinder.conf", "db", "sync"])

        def octavia():
            mariadb.fresh_database(self.name, self.passwords["octavia_db"])
            self._run("dbsync-octavia", [v("octavia-db-manage"), "--config-file",
                                         f"{etc}/octavia/octavia.conf", "upgrade", "head"])

        def barbican():
            self._run("dbsync-barbican", [v("barbican-manage"), "db", "upgrade"],
                      env={"HOME": f"{etc}/barbican"})

        def swift():
            # One device per ring, one replica, 2^6 partitions: the smallest
            # ring Swift accepts that still spreads over partitions.  Built
            # with Swift's RingBuilder in one interpreter (swift-ring-builder
            # would start nine, about 1 s each).
            self._run("swift-rings", [py, "-c", (
                "import sys\n"
                "from swift.common.ring import RingBuilder\n"
                "etc, host = sys.argv[1:3]\n"
                "for kind, port in zip(('account', 'container', 'object'), sys.argv[3:]):\n"
                "    builder = RingBuilder(6, 1, 1)\n"
                "    builder.add_dev({'region': 1, 'zone': 1, 'ip': host, 'port': int(port),\n"
                "                     'device': 'd1', 'weight': 1})\n"
                "    builder.rebalance()\n"
                "    builder.save(f'{etc}/{kind}.builder')\n"
                "    builder.get_ring().save(f'{etc}/{kind}.ring.gz')\n"),
                f"{etc}/swift", H, *(str(self.ports[f"swift_{kind}"])
                                     for kind in ("account", "container", "object"))])

        jobs = [keystone, nova, neutron, glance, placement, cinder, octavia, barbican, swift]
        with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
            futures = [pool.submit(j) for j in jobs]
            errors = [f.exception() for f in futures if f.exception()]
        if errors:
            raise errors[0]

    def _wait(self, what, predicate, timeout, svc_names=()):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            for name in svc_names:
                if procs.read_pid(self.pidfile(name)) is None:
                    raise HarnessError(f"{self.name}: {name} exited during start; "
                                       f"last lines of {self.log(name)}:\n{_tail(self.log(name))}")
            time.sleep(0.5)
        raise HarnessError(f"{self.name}: timed out after {timeout} s waiting for {what}; "
                           f"logs in {settings.LOGS}")

    def _octavia_ca(self):
        """The CA Octavia signs its (never used) amphora certificates with:
        without it a load balancer's create flow ends in ERROR."""
        d = os.path.join(self.etc, "octavia")
        self._run("octavia-ca", [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
            "-subj", f"/CN=localcloud-{self.name}-octavia-ca",
            "-keyout", os.path.join(d, "ca.key"), "-out", os.path.join(d, "ca.pem")])
        os.chmod(os.path.join(d, "ca.key"), 0o600)

    def provision(self, phase):
        py = os.path.join(settings.VENV, "bin", "python")
        script = os.path.join(settings.HERE, "provision.py")
        self._run(f"provision-{phase}", [py, script, phase, self.name], env={
            "LOCALCLOUD_SPEC": json.dumps(self.spec())})

    def spec(self):
        """What provision.py needs to know about this cloud."""
        return {
            "name": self.name,
            "ports": self.ports,
            "names": self.names,
            "passwords": self.passwords,
            "keystone_url": self.keystone_url,
            "region": settings.REGION,
            "image_name": settings.IMAGE_NAME,
            "nova_conf": os.path.join(self.etc, "nova", "nova.conf"),
            "venv": settings.VENV,
        }

    def start(self, say):
        """Boot the cloud from scratch (its data is wiped; passwords are kept)."""
        t0 = time.monotonic()
        self._check_ports_free()
        swiftdisk.unmount(self)  # left by a boot that died before its down
        for d in (self.etc, self.data, self.run):
            shutil.rmtree(d, ignore_errors=True)
        for d in (self.etc, self.data, self.run, settings.LOGS,
                  os.path.join(self.data, "locks"), os.path.join(self.data, "cinder", "conversion"),
                  os.path.join(self.data, "volumes"), os.path.join(self.data, "images"),
                  os.path.join(self.data, "swift-recon")):
            os.makedirs(d, exist_ok=True)
        # Fresh logs for a fresh cloud; the last run's go to logs/previous/.
        previous = os.path.join(settings.LOGS, "previous")
        os.makedirs(previous, exist_ok=True)
        for f in os.listdir(settings.LOGS):
            if f.startswith(f"{self.name}-") and f.endswith(".log"):
                os.replace(os.path.join(settings.LOGS, f), os.path.join(previous, f))
        configs.render(self)
        self._octavia_ca()
        swiftdisk.make(self, self._run, say)
        services = {s.name: s for s in self.services()}

        try:
            # RabbitMQ boots (~10 s) while the databases are migrated.
            self.start_service(services["epmd"])
            self._wait("epmd", lambda: procs.port_open(self.ports["epmd"]), 30, ["epmd"])
            self.start_service(services["rabbitmq"])
            mariadb.ensure_running(say, self.base_env())
            self._db_sync()
            say(f"{self.name}: databases ready ({time.monotonic() - t0:.0f} s)")

            self.start_service(services["keystone"])
            self._wait("keystone", lambda: procs.http_answers(services["keystone"].url), 120,
                       ["keystone"])
            self.provision("identity")
            say(f"{self.name}: keystone ready ({time.monotonic() - t0:.0f} s)")

            rest = [s for s in services.values() if s.name not in ("epmd", "rabbitmq", "keystone")]
            self._wait("rabbitmq", lambda: procs.port_open(self.ports["rabbit"]), 120, ["rabbitmq"])
            for svc in rest:
                self.start_service(svc)
            apis = [s for s in rest if s.url]
            self._wait("the APIs (" + ", ".join(s.name for s in apis) + ")",
                       lambda: all(procs.http_answers(s.url) for s in apis), 240,
                       [s.name for s in rest])
            say(f"{self.name}: all APIs answer ({time.monotonic() - t0:.0f} s)")

            self.provision("resources")
        except BaseException:
            say(f"{self.name}: start failed; stopping what was started")
            self.stop()
            raise
        with open(self.ready_file, "w") as f:
            f.write(f"{time.time()}\n")
        say(f"{self.name}: ready in {time.monotonic() - t0:.0f} s")


def _tail(path, n=25):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no log)"

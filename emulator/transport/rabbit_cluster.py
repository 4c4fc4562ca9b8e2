"""A real clustering MQTT broker on this machine: Debian's RabbitMQ (3.10, ``rabbitmq_mqtt``) as
N nodes joined into one cluster, for running the fleet across broker nodes (docs/fleet.md).

Each node is its own Erlang VM (``smets2-<run>-<n>@localhost``) with its own MQTT port,
distribution port, data and log folders; all share one Erlang cookie and one ``epmd`` that this
module starts on a free port (nothing is left behind when the cluster stops). Node 0 boots with
the users and permissions; nodes 1.. boot empty and ``rabbitmqctl join_cluster`` node 0 (they
then share its users). Three nodes is the default: the MQTT plugin keeps its client-id registry
in a Raft cluster across the nodes, which needs a majority up - with two nodes, losing one stops
MQTT logins on the other.

Users, mapped from the embedded mosquitto's (broker.py, topics.acl()):

* ``dsp`` reads and writes every ``smets2/...`` topic;
* one user per hub, named by its CHF EUI, with the password derived from the run's secret as
  mosquitto's (:func:`~emulator.transport.broker.hub_password`): it reads only its own ``down``
  and writes only its own ``up/...``;
* the multiplexing user ``hubs`` (mqtt_mux.py) reads every hub's ``down`` and writes every ``up``.

RabbitMQ checks MQTT topics as routing keys on ``amq.topic`` (``/`` becomes ``.``), through
per-user *topic permissions* (regular expressions on the routing key), and it also needs
resource permissions on the queue each subscriber gets (``mqtt-subscription-<client id>qos1``);
a hub's resource permissions name its own queue only. Differences from mosquitto are in
docs/fleet.md ("A RabbitMQ cluster").

A missing RabbitMQ raises :class:`~emulator.transport.broker.BrokerError` with one line saying
how to install it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from emulator.transport import topics
from emulator.transport.broker import DSP_USER, BrokerError, BrokerUrl, free_port, hub_password, mux_password

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
NO_RABBITMQ = ("rabbitmq-server is not installed, so the RabbitMQ cluster cannot start: "
               "apt-get install rabbitmq-server (Debian's 3.10 has the MQTT plugin)")
#: A node's boot on a loaded 2-core machine: about 10 s each, several at once take longer.
BOOT_TIMEOUT_S = 180.0
CTL_TIMEOUT_S = 120.0

_ROOT = re.escape(topics.ROOT)


def rabbit_password_hash(password: str, salt: bytes) -> str:
    """RabbitMQ's ``rabbit_password_hashing_sha256``: base64(salt + SHA-256(salt + password))."""
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


@dataclass(frozen=True, slots=True)
class Grant:
    """One RabbitMQ user: resource permissions on the vhost, topic permissions on ``amq.topic``."""

    user: str
    password: str
    configure: str
    write: str
    read: str
    topic_write: str
    topic_read: str


def _queue(client_id: str) -> str:
    # The MQTT plugin's queue for a QoS 1 subscriber (clean session or not).
    return f"^mqtt-subscription-{re.escape(client_id)}qos[01]$"


def grants(secret: bytes, hubs: Iterable[bytes]) -> list[Grant]:
    """The DSP, the multiplexing user and one user per hub, as topics.acl() allows them."""
    any_queue = "^mqtt-subscription-.*$"
    out = [
        Grant(DSP_USER, hmac.new(secret, b"dsp", hashlib.sha256).hexdigest()[:24], any_queue,
              "^(amq\\.topic|mqtt-subscription-.*)$", "^(amq\\.topic|mqtt-subscription-.*)$",
              f"^{_ROOT}\\.", f"^{_ROOT}\\."),
        Grant(topics.MUX_USER, mux_password(secret), any_queue,
              "^(amq\\.topic|mqtt-subscription-.*)$", "^(amq\\.topic|mqtt-subscription-.*)$",
              f"^{_ROOT}\\.hubs\\.[0-9A-F]{{16}}\\.up\\.", f"^{_ROOT}\\.hubs\\.[0-9A-F]{{16}}\\.down$"),
    ]
    for hub in sorted(set(hubs)):
        eui = hub.hex().upper()
        queue = _queue(f"chf-{eui}")
        out.append(Grant(eui, hub_password(secret, hub), queue, f"^amq\\.topic$|{queue}", f"^amq\\.topic$|{queue}",
                         f"^{_ROOT}\\.hubs\\.{eui}\\.up\\.", f"^{_ROOT}\\.hubs\\.{eui}\\.down$"))
    return out


#: RabbitMQ 3.10 gives every MQTT QoS 1 subscriber a *durable* classic queue on the node it
#: connected to, even for a clean session. Unmirrored, a node's death leaves those queues' records
#: in the cluster and the same client id is refused on every other node ("home node ... is down
#: or inaccessible") until the node is back or forgotten; ``forget_cluster_node`` did not finish
#: within 120 s while 667 hubs retried (docs/fleet.md). Mirrored on a second node (3.10's classic
#: queue mirroring), the mirror takes over and the hub subscribes again on another node.
MIRROR_POLICY = {"vhost": "/", "name": "mqtt-subscribers-mirrored", "pattern": "^mqtt-subscription-",
                 "apply-to": "queues", "priority": 0,
                 "definition": {"ha-mode": "exactly", "ha-params": 2, "ha-sync-mode": "automatic"}}


def definitions(grants: list[Grant], salt: bytes, mirrored: bool = True) -> dict[str, object]:
    """A RabbitMQ definitions document (``load_definitions``) for these users on vhost ``/``."""
    users, perms, topic_perms = [], [], []
    for g in grants:
        users.append({"name": g.user, "password_hash": rabbit_password_hash(g.password, salt),
                      "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []})
        perms.append({"user": g.user, "vhost": "/", "configure": g.configure, "write": g.write, "read": g.read})
        topic_perms.append({"user": g.user, "vhost": "/", "exchange": "amq.topic",
                            "write": g.topic_write, "read": g.topic_read})
    return {"users": users, "vhosts": [{"name": "/"}], "permissions": perms, "topic_permissions": topic_perms,
            "policies": [MIRROR_POLICY] if mirrored else []}


@dataclass(slots=True)
class RabbitNode:
    index: int
    name: str            # Erlang node name, smets2-<run>-<n>@localhost
    mqtt_port: int
    dist_port: int
    dir: Path
    proc: asyncio.subprocess.Process | None = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None


@dataclass(slots=True)
class RabbitCluster:
    """``size`` RabbitMQ nodes in one cluster; :meth:`start`, :meth:`kill_node`, :meth:`stop`."""

    size: int = 3
    hubs: set[bytes] = field(default_factory=set)
    mirrored: bool = True
    secret: bytes = field(default_factory=lambda: os.urandom(16))
    dir: Path = field(init=False)
    nodes: list[RabbitNode] = field(default_factory=list)
    epmd: asyncio.subprocess.Process | None = None
    epmd_port: int = 0
    started_s: float = 0.0
    kind = "rabbitmq"

    def __post_init__(self) -> None:
        if not (RABBIT_BIN / "rabbitmq-server").exists() or shutil.which("epmd") is None:
            raise BrokerError(NO_RABBITMQ)
        if self.size < 1:
            raise ValueError(f"a cluster needs at least one node, not {self.size}")
        self.dir = Path(tempfile.mkdtemp(prefix="smets2-rabbit-"))
        run = os.urandom(3).hex()
        self.nodes = [RabbitNode(i, f"smets2-{run}-{i}@localhost", free_port(), free_port(), self.dir / f"node{i}")
                      for i in range(self.size)]

    # --- URLs ------------------------------------------------------------------------------

    def _url(self, node: int, user: str, password: str) -> BrokerUrl:
        """The user's URL on ``node``, the other nodes after it as failover addresses."""
        order = [self.nodes[(node + k) % self.size] for k in range(self.size)]
        return BrokerUrl("127.0.0.1", order[0].mqtt_port, user, password,
                         tuple(("127.0.0.1", n.mqtt_port) for n in order[1:]))

    def dsp_url(self, node: int = 0) -> BrokerUrl:
        return self._url(node, DSP_USER, grants(self.secret, ())[0].password)

    def hub_url(self, node: int) -> str:
        """What a fleet worker on ``node`` is given (no user: it derives each hub's from the secret)."""
        return self._url(node, "", "").to_url()

    def describe(self) -> str:
        return (f"RabbitMQ cluster of {self.size} nodes, MQTT on "
                + ", ".join(f"{n.name.split('@')[0]}:{n.mqtt_port}" for n in self.nodes))

    def pids(self) -> dict[str, int]:
        return {f"broker{n.index}": n.proc.pid for n in self.nodes if n.proc is not None and n.alive}

    # --- processes -------------------------------------------------------------------------

    def _env(self, node: RabbitNode | None = None) -> dict[str, str]:
        env = dict(os.environ, HOME=str(self.dir / "home"), ERL_EPMD_PORT=str(self.epmd_port),
                   RABBITMQ_CONF_ENV_FILE="/dev/null", LC_ALL="C.UTF-8")
        if node is not None:
            env.update(RABBITMQ_NODENAME=node.name, RABBITMQ_DIST_PORT=str(node.dist_port),
                       RABBITMQ_MNESIA_BASE=str(node.dir / "mnesia"), RABBITMQ_LOG_BASE=str(node.dir / "log"),
                       RABBITMQ_CONFIG_FILE=str(node.dir / "rabbitmq.conf"),
                       RABBITMQ_ENABLED_PLUGINS_FILE=str(node.dir / "enabled_plugins"),
                       RABBITMQ_PLUGINS_EXPAND_DIR=str(node.dir / "plugins"),
                       RABBITMQ_PID_FILE=str(node.dir / "pid"),
                       RABBITMQ_ADVANCED_CONFIG_FILE=str(node.dir / "advanced.config"),
                       # exec the VM (its pid is ours to signal), without a shell on stdin
                       RUNNING_UNDER_SYSTEMD="1",
                       # no busy-waiting schedulers: three VMs share two cores with the fleet
                       RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="+sbwt none +sbwtdcpu none +sbwtdio none")
        return env

    def _write_node(self, node: RabbitNode, defs: Path | None) -> None:
        node.dir.mkdir(parents=True, exist_ok=True)
        (node.dir / "enabled_plugins").write_text("[rabbitmq_mqtt].\n")
        (node.dir / "advanced.config").write_text("[].\n")
        lines = [
            "listeners.tcp = none",                      # no AMQP: MQTT only
            f"mqtt.listeners.tcp.default = 127.0.0.1:{node.mqtt_port}",
            "mqtt.allow_anonymous = false",
            "mqtt.vhost = /",
            "mqtt.exchange = amq.topic",
            "mqtt.tcp_listen_options.nodelay = true",    # as mosquitto's set_tcp_nodelay (wan.md)
            "mqtt.tcp_listen_options.backlog = 4096",    # thousands of hubs connect at once
            "vm_memory_high_watermark.absolute = 2GB",   # the default 40 % of RAM, times three nodes, is too much
            "disk_free_limit.absolute = 50MB",
            "log.file.level = warning",
            "log.console = false",
        ]
        if defs is not None:
            lines.append(f"load_definitions = {defs}")
        (node.dir / "rabbitmq.conf").write_text("\n".join(lines) + "\n")

    async def _ctl(self, node: RabbitNode, *args: str, timeout: float = CTL_TIMEOUT_S) -> str:
        proc = await asyncio.create_subprocess_exec(str(RABBIT_BIN / "rabbitmqctl"), "-n", node.name, *args,
                                                    env=self._env(), stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise BrokerError(f"rabbitmqctl {' '.join(args)} on {node.name}: no answer within {timeout:g} s") from None
        text = out.decode(errors="replace").strip()
        if proc.returncode != 0:
            raise BrokerError(f"rabbitmqctl {' '.join(args)} on {node.name} failed ({proc.returncode}): "
                              f"{text.splitlines()[-1] if text else 'no output'}")
        return text

    async def _boot(self, node: RabbitNode) -> None:
        with (node.dir / "console.txt").open("wb") as console:  # what a failed boot says
            node.proc = await asyncio.create_subprocess_exec(str(RABBIT_BIN / "rabbitmq-server"),
                                                             env=self._env(node), stdin=asyncio.subprocess.DEVNULL,
                                                             stdout=console, stderr=asyncio.subprocess.STDOUT)
        await self._await_running(node)

    async def _await_running(self, node: RabbitNode) -> None:
        """Until the node has booted (``rabbitmqctl await_startup``, which fails at once while the
        VM is not yet reachable: asked again until :data:`BOOT_TIMEOUT_S`)."""
        assert node.proc is not None
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while True:
            if node.proc.returncode is not None:
                said = (node.dir / "console.txt").read_text(errors="replace").strip().splitlines()
                raise BrokerError(f"RabbitMQ node {node.name} exited with status {node.proc.returncode} at start"
                                  + (f": {' | '.join(said[-3:])}" if said else ""))
            try:
                await self._ctl(node, "await_startup", "--timeout", f"{BOOT_TIMEOUT_S:g}", timeout=BOOT_TIMEOUT_S + 30)
                return
            except BrokerError:
                if time.monotonic() >= deadline:
                    raise
            await asyncio.get_running_loop().run_in_executor(None, time.sleep, 0.5)

    async def start(self) -> None:
        """epmd, node 0 with the users, the others joined to it; every MQTT listener up."""
        t0 = time.perf_counter()
        home = self.dir / "home"
        home.mkdir(parents=True, exist_ok=True)
        cookie = home / ".erlang.cookie"
        cookie.write_text(os.urandom(20).hex().upper())
        cookie.chmod(0o400)
        self.epmd_port = free_port()
        self.epmd = await asyncio.create_subprocess_exec("epmd", "-port", str(self.epmd_port), env=self._env(),
                                                         stdin=asyncio.subprocess.DEVNULL,
                                                         stdout=asyncio.subprocess.DEVNULL,
                                                         stderr=asyncio.subprocess.DEVNULL)
        defs = self.dir / "definitions.json"
        defs.write_text(json.dumps(definitions(grants(self.secret, self.hubs), os.urandom(4), self.mirrored)))
        for i, node in enumerate(self.nodes):
            self._write_node(node, defs if i == 0 else None)
        # All boot at once (node 0 with the users); then the others join node 0.
        await asyncio.gather(*(self._boot(n) for n in self.nodes))
        for node in self.nodes[1:]:
            await self._ctl(node, "stop_app")
            await self._ctl(node, "join_cluster", self.nodes[0].name)
            await self._ctl(node, "start_app")
        for node in self.nodes:
            await _wait_port(node.mqtt_port, BOOT_TIMEOUT_S, node.name)
        self.started_s = time.perf_counter() - t0

    async def cluster_nodes(self) -> list[str]:
        """The running nodes as node 0 sees them (``rabbitmqctl cluster_status``)."""
        alive = next(n for n in self.nodes if n.alive)
        text = await self._ctl(alive, "cluster_status", "--formatter", "json")
        doc = json.loads(text[text.index("{"):])
        return sorted(str(n) for n in doc.get("running_nodes", []))

    async def kill_node(self, index: int) -> None:
        """SIGKILL one node (a broker machine dies): its clients must reconnect to another node, where
        the mirror of each subscriber's queue has taken over (:data:`MIRROR_POLICY`)."""
        node = self.nodes[index]
        if node.proc is not None and node.alive:
            node.proc.send_signal(signal.SIGKILL)
            await node.proc.wait()

    async def stop(self) -> None:
        """Every node (SIGTERM: a clean stop; SIGKILL after 30 s), then epmd; the folder is removed."""
        async def stop_one(proc: asyncio.subprocess.Process | None) -> None:
            if proc is None or proc.returncode is not None:
                return
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()

        await asyncio.gather(*(stop_one(n.proc) for n in self.nodes))
        await stop_one(self.epmd)
        shutil.rmtree(self.dir, ignore_errors=True)


async def _wait_port(port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError as e:
            if time.monotonic() >= deadline:
                raise BrokerError(f"{what}: MQTT did not listen on 127.0.0.1:{port} within {timeout:g} s "
                                  f"({e.strerror or e})") from None
            await asyncio.get_running_loop().run_in_executor(None, time.sleep, 0.1)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return


@contextlib.asynccontextmanager
async def start_cluster(size: int = 3, hubs: set[bytes] | None = None,
                        mirrored: bool = True) -> AsyncIterator[RabbitCluster]:
    """A RabbitMQ cluster for the length of the block; :class:`BrokerError` (one line) if it cannot start."""
    cluster = RabbitCluster(size, set(hubs or ()), mirrored)
    try:
        await cluster.start()
    except BaseException:
        await cluster.stop()
        raise
    try:
        yield cluster
    finally:
        await cluster.stop()

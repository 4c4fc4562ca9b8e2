"""The embedded broker the emulator starts by itself (WN-2): Debian's mosquitto as a
subprocess with a generated, tuned configuration. It listens on a free loopback port, requires
a password, and enforces the topic ACL (a hub cannot publish or read as another hub).

The project has no broker of its own: where mosquitto is not installed, starting the embedded
broker raises :class:`BrokerError` with one line saying how to install it and what else to run
(``--broker memory``: no MQTT; ``--broker mqtt://...``: an external broker).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import shutil
import socket
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from emulator.transport import topics

DSP_USER = "dsp"


class BrokerError(RuntimeError):
    """The broker could not be started or reached; the message says why."""


#: What to tell a user who has no mosquitto (one line, with the ways out).
NO_MOSQUITTO = ("mosquitto is not installed, so the embedded MQTT broker cannot start: install it "
                "(apt-get install mosquitto, or ./dev.sh does it), or run with --broker memory (no MQTT) "
                "or --broker mqtt://user:pass@host:port (an external broker)")


@dataclass(frozen=True, slots=True)
class BrokerUrl:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    #: Other nodes of a clustered broker (``mqtt://user:pass@a:1883,b:1884``): a link that loses
    #: its connection tries the next (:meth:`failover`).
    others: tuple[tuple[str, int], ...] = ()

    @classmethod
    def parse(cls, url: str) -> BrokerUrl:
        """``mqtt://user:pass@host:port[,host:port...]``; errors name the bad part."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp"):
            raise ValueError(f"broker URL {url!r}: scheme must be mqtt://, not {parts.scheme or 'missing'}")
        user, _, hosts = parts.netloc.rpartition("@")
        addresses = []
        for address in hosts.split(","):
            one = urlsplit(f"mqtt://{address}")
            if not one.hostname:
                raise ValueError(f"broker URL {url!r}: no host")
            try:
                addresses.append((one.hostname, one.port or 1883))
            except ValueError:
                raise ValueError(f"broker URL {url!r}: the port is not a number from 1 to 65535") from None
        name, _, password = user.partition(":")
        (host, port), *others = addresses
        return cls(host, port, unquote(name) if name else None, unquote(password) if password else None,
                   tuple(others))

    def with_user(self, username: str, password: str) -> BrokerUrl:
        return BrokerUrl(self.host, self.port, username, password, self.others)

    def failover(self) -> BrokerUrl:
        """The same user on the next node (the first goes last); itself if there is no other."""
        if not self.others:
            return self
        (host, port), *rest = self.others
        return BrokerUrl(host, port, self.username, self.password, (*rest, (self.host, self.port)))

    def to_url(self) -> str:
        user = ""
        if self.username:
            user = quote(self.username, safe="") + (f":{quote(self.password, safe='')}" if self.password else "") + "@"
        hosts = ",".join(f"{h}:{p}" for h, p in ((self.host, self.port), *self.others))
        return f"mqtt://{user}{hosts}"


def hub_password(secret: bytes, hub: bytes) -> str:
    return hmac.new(secret, b"hub:" + hub, hashlib.sha256).hexdigest()[:24]


def mux_password(secret: bytes) -> str:
    """The multiplexing hubs user's password, derived from the broker secret as hub passwords are."""
    return hmac.new(secret, b"mux:" + topics.MUX_USER.encode(), hashlib.sha256).hexdigest()[:24]


def mosquitto_hash(password: str, salt: bytes, iterations: int = 101) -> str:
    """A mosquitto 2 password-file hash ($7$: PBKDF2-SHA512)."""
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_mosquitto() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if os.access("/usr/sbin/mosquitto", os.X_OK) else None


class EmbeddedBroker:
    """A mosquitto owned by this process (``kind`` is ``mosquitto``). :class:`BrokerError` if it is not installed."""

    kind = "mosquitto"

    def __init__(self, port: int | None = None) -> None:
        exe = find_mosquitto()
        if exe is None:
            raise BrokerError(NO_MOSQUITTO)
        self.exe = exe
        self.port = port or free_port()
        self.secret = os.urandom(16)
        self.dsp_password = hmac.new(self.secret, b"dsp", hashlib.sha256).hexdigest()[:24]
        self.dir = Path(tempfile.mkdtemp(prefix="smets2-broker-"))
        self.proc: asyncio.subprocess.Process | None = None
        self.hubs: set[bytes] = set()

    def dsp_url(self) -> BrokerUrl:
        return BrokerUrl("127.0.0.1", self.port, DSP_USER, self.dsp_password)

    def mux_url(self) -> BrokerUrl:
        """The multiplexing hubs user (:data:`~emulator.transport.topics.MUX_USER`): many hubs, few connections."""
        return BrokerUrl("127.0.0.1", self.port, topics.MUX_USER, mux_password(self.secret))

    def hub_url(self, hub: bytes) -> BrokerUrl:
        self.hubs.add(hub)
        return BrokerUrl("127.0.0.1", self.port, hub.hex().upper(), hub_password(self.secret, hub))

    def _write_config(self) -> Path:
        lines = [f"{DSP_USER}:{mosquitto_hash(self.dsp_password, os.urandom(12))}",
                 f"{topics.MUX_USER}:{mosquitto_hash(mux_password(self.secret), os.urandom(12))}"]
        # mosquitto reads the password file at start: hubs are any EUI, so we cannot list them
        # all in advance; the emulator registers up to 4096 hub users per broker start.
        for hub in sorted(self.hubs):
            lines.append(f"{hub.hex().upper()}:{mosquitto_hash(hub_password(self.secret, hub), os.urandom(12))}")
        (self.dir / "passwd").write_text("\n".join(lines) + "\n")
        (self.dir / "acl").write_text(topics.acl())
        (self.dir / "data").mkdir(exist_ok=True)
        # Started as root, mosquitto drops to its own user: it must be able to read these
        # files and write its persistence folder (the hashes are not the passwords).
        self.dir.chmod(0o755)
        (self.dir / "data").chmod(0o777)
        for name in ("passwd", "acl"):
            (self.dir / name).chmod(0o644)
        conf = self.dir / "mosquitto.conf"
        conf.write_text("\n".join([
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {self.dir / 'passwd'}",
            f"acl_file {self.dir / 'acl'}",
            "set_tcp_nodelay true",           # paho's QoS-1 round trip has an ~88 ms floor without it (wan.md)
            "max_queued_messages 1000000",    # an alert storm to a slow DSP must queue, not drop
            "max_inflight_messages 1000",
            "max_keepalive 600",
            "persistence true",               # queued QoS-1 messages survive a broker restart
            f"persistence_location {self.dir / 'data'}/",
            "autosave_interval 1",
            "log_dest none",
            "",
        ]))
        return conf

    async def start(self, hubs: set[bytes] | None = None) -> None:
        self.hubs |= set(hubs or ())
        conf = self._write_config()
        self.proc = await asyncio.create_subprocess_exec(self.exe, "-c", str(conf),
                                                         stdout=asyncio.subprocess.DEVNULL,
                                                         stderr=asyncio.subprocess.PIPE)
        await self._wait_ready()

    async def _wait_ready(self, deadline_s: float = 30.0) -> None:
        """Until mosquitto accepts a connection on its port (a loaded machine may take seconds)."""
        # Real time, whatever the loop's clock: a virtual-time loop would jump over the wait.
        deadline = time.monotonic() + deadline_s
        while True:
            if self.proc is not None and self.proc.returncode is not None:
                err = await self.proc.stderr.read() if self.proc.stderr else b""
                reason = err.decode(errors="replace").strip().splitlines()
                raise BrokerError(f"mosquitto exited with status {self.proc.returncode} at start"
                                  + (f": {reason[-1]}" if reason else ""))
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError as e:
                if time.monotonic() >= deadline:
                    raise BrokerError(f"mosquitto did not listen on 127.0.0.1:{self.port} within "
                                      f"{deadline_s:g} s ({e.strerror or e})") from None
                # A real pause (in a thread, so a virtual-time loop waits for it instead of jumping).
                await asyncio.get_running_loop().run_in_executor(None, time.sleep, 0.02)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return

    async def kill(self) -> None:
        """Stop abruptly (tests: the broker dies mid-run)."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    async def restart(self) -> None:
        """Start again on the same port, with the same persistence and users."""
        await self.start()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.asynccontextmanager
async def start_broker(hubs: set[bytes] | None = None) -> AsyncIterator[EmbeddedBroker]:
    """The embedded mosquitto for the length of the block; :class:`BrokerError` (one line) if it cannot start."""
    broker = EmbeddedBroker()
    try:
        await broker.start(hubs)
    except BaseException:
        await broker.stop()
        raise
    try:
        yield broker
    finally:
        await broker.stop()

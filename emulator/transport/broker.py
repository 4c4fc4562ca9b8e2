"""The embedded broker the emulator starts by itself (WN-2): Debian's mosquitto as a
subprocess with a generated, tuned configuration when it is installed, else the
in-process broker in ``mini_broker.py``. Both listen on a free loopback port, require a
password, and enforce the topic ACL (a hub cannot publish or read as another hub).
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
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from emulator.transport import topics

DSP_USER = "dsp"


class BrokerError(RuntimeError):
    """The broker could not be started or reached; the message says why."""


@dataclass(frozen=True, slots=True)
class BrokerUrl:
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerUrl:
        """``mqtt://user:pass@host:port``; errors name the bad part."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp"):
            raise ValueError(f"broker URL {url!r}: scheme must be mqtt://, not {parts.scheme or 'missing'}")
        if not parts.hostname:
            raise ValueError(f"broker URL {url!r}: no host")
        try:
            port = parts.port or 1883
        except ValueError:
            raise ValueError(f"broker URL {url!r}: the port is not a number from 1 to 65535") from None
        return cls(parts.hostname, port, unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None)

    def with_user(self, username: str, password: str) -> BrokerUrl:
        return BrokerUrl(self.host, self.port, username, password)


def hub_password(secret: bytes, hub: bytes) -> str:
    return hmac.new(secret, b"hub:" + hub, hashlib.sha256).hexdigest()[:24]


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
    """A broker owned by this process. ``kind`` is ``mosquitto`` or ``in-process``."""

    def __init__(self, prefer: str = "mosquitto", port: int | None = None) -> None:
        self.port = port or free_port()
        self.secret = os.urandom(16)
        self.dsp_password = hmac.new(self.secret, b"dsp", hashlib.sha256).hexdigest()[:24]
        self.dir = Path(tempfile.mkdtemp(prefix="smets2-broker-"))
        self.exe = find_mosquitto() if prefer == "mosquitto" else None
        self.kind = "mosquitto" if self.exe else "in-process"
        self.proc: asyncio.subprocess.Process | None = None
        self.inproc: object | None = None
        self.hubs: set[bytes] = set()

    def dsp_url(self) -> BrokerUrl:
        return BrokerUrl("127.0.0.1", self.port, DSP_USER, self.dsp_password)

    def hub_url(self, hub: bytes) -> BrokerUrl:
        self.hubs.add(hub)
        return BrokerUrl("127.0.0.1", self.port, hub.hex().upper(), hub_password(self.secret, hub))

    def check_password(self, user: str, password: str) -> bool:
        if user == DSP_USER:
            return hmac.compare_digest(password, self.dsp_password)
        try:
            hub = bytes.fromhex(user)
        except ValueError:
            return False
        return len(hub) == 8 and hmac.compare_digest(password, hub_password(self.secret, hub))

    def _write_config(self) -> Path:
        lines = [f"{DSP_USER}:{mosquitto_hash(self.dsp_password, os.urandom(12))}"]
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
        if self.kind == "mosquitto":
            assert self.exe is not None
            conf = self._write_config()
            self.proc = await asyncio.create_subprocess_exec(self.exe, "-c", str(conf),
                                                             stdout=asyncio.subprocess.DEVNULL,
                                                             stderr=asyncio.subprocess.PIPE)
        else:
            from emulator.transport.mini_broker import MiniBroker

            broker = MiniBroker(self.port, self.check_password)
            await broker.start()
            self.inproc = broker
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        for _ in range(200):
            if self.proc is not None and self.proc.returncode is not None:
                err = await self.proc.stderr.read() if self.proc.stderr else b""
                raise BrokerError(f"mosquitto exited with {self.proc.returncode}: {err.decode(errors='replace')}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return
        raise BrokerError(f"broker did not listen on 127.0.0.1:{self.port}")

    async def kill(self) -> None:
        """Stop abruptly (tests: the broker dies mid-run)."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self.inproc is not None:
            from emulator.transport.mini_broker import MiniBroker

            assert isinstance(self.inproc, MiniBroker)
            await self.inproc.stop(abrupt=True)

    async def restart(self) -> None:
        """Start again on the same port, with the same persistence and users."""
        if self.kind == "mosquitto":
            await self.start()
        else:
            from emulator.transport.mini_broker import MiniBroker

            assert isinstance(self.inproc, MiniBroker)
            await self.inproc.start()
            await self._wait_ready()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self.inproc is not None:
            from emulator.transport.mini_broker import MiniBroker

            assert isinstance(self.inproc, MiniBroker)
            await self.inproc.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.asynccontextmanager
async def start_broker(prefer: str = "mosquitto", hubs: set[bytes] | None = None) -> AsyncIterator[EmbeddedBroker]:
    broker = EmbeddedBroker(prefer)
    try:
        await broker.start(hubs)
    except BaseException:
        await broker.stop()
        raise
    try:
        yield broker
    finally:
        await broker.stop()

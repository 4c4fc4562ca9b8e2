"""The compose files and the Dockerfile, checked without a Docker daemon (and built where one is)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from emulator.cli import build_parser
from emulator.cli.fleet import ptr_lookup, replica_first, replica_number
from emulator.transport.broker import BrokerUrl, find_mosquitto, free_port, mosquitto_hash

DOCKER = Path(__file__).resolve().parents[2] / "docker"
ROOT = DOCKER.parent


def _compose(name: str) -> dict:  # type: ignore[type-arg]
    doc = yaml.safe_load((DOCKER / name).read_text())
    assert isinstance(doc, dict) and isinstance(doc.get("services"), dict), name
    return doc


def _docker_daemon() -> bool:
    return shutil.which("docker") is not None and subprocess.run(
        ["docker", "info"], capture_output=True, check=False).returncode == 0


def test_compose_references_resolve():
    doc = _compose("compose.yaml")
    services = doc["services"]
    assert {"broker", "dsp", "worker"} <= set(services)
    volumes = set(doc.get("volumes", {}))
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, name
        for dep in svc.get("depends_on", []):
            assert dep in services, f"{name} depends on unknown {dep}"
        for v in svc.get("volumes", []):
            src = v.split(":")[0]
            if src.startswith("."):
                assert (DOCKER / src).exists(), f"{name}: {src} does not exist"
            else:
                assert src in volumes, f"{name}: volume {src} not declared"
        for port in svc.get("ports", []):
            host, _, container = str(port).partition(":")
            assert host.isdigit() and container.isdigit(), port
        if "build" in svc:
            ctx = (DOCKER / svc["build"]["context"]).resolve()
            assert (ctx / svc["build"]["dockerfile"]).is_file()
    worker_cmd = services["worker"]["command"]
    assert worker_cmd[:2] == ["fleet", "hubs"] and "--broker" in worker_cmd
    assert services["dsp"]["command"][:2] == ["fleet", "dsp"]
    assert services["worker"]["image"] == services["dsp"]["image"]


def test_emqx_override_only_overrides_known_services():
    base, over = _compose("compose.yaml"), _compose("compose.emqx.yaml")
    assert "broker" in over["services"] and set(over["services"]) - set(base["services"]) == {"broker2"}


def test_dockerfile_copies_what_exists_and_runs_the_cli():
    lines = (DOCKER / "Dockerfile").read_text().splitlines()
    copies = [line.split()[1:-1] for line in lines if line.startswith("COPY")]
    for sources in copies:
        for src in sources:
            assert (ROOT / src).exists(), src
    assert any(line.startswith("ENTRYPOINT") and "smets2-emu" in line for line in lines)


@pytest.mark.skipif(not _docker_daemon(), reason="no Docker daemon here")
def test_compose_config_with_docker():
    r = subprocess.run(["docker", "compose", "-f", str(DOCKER / "compose.yaml"), "config"], capture_output=True,
                       text=True, check=False)
    assert r.returncode == 0, r.stderr


# --- the fleet split: the commands, the premises ranges, the broker users ------------------------

_VAR = re.compile(r"\$\{(\w+):-([^}]*)\}")


def _command(service: str, env: dict[str, str] | None = None) -> list[str]:
    """A service's command with compose's ${VAR:-default} filled from ``env`` or the default."""
    cmd = _compose("compose.yaml")["services"][service]["command"]
    return [_VAR.sub(lambda m: (env or {}).get(m.group(1), m.group(2)), str(a)) for a in cmd]


def _args(service: str, env: dict[str, str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(_command(service, env))


def test_fleet_commands_parse_with_the_real_cli():
    dsp, worker = _args("dsp"), _args("worker")
    assert dsp.func.__module__ == worker.func.__module__ == "emulator.cli.fleet"
    assert (dsp.fleet_command, worker.fleet_command) == ("dsp", "hubs")
    assert worker.first == "auto" and dsp.drive and dsp.host == "0.0.0.0"
    for args in (dsp, worker):
        url = BrokerUrl.parse(args.broker)
        assert url.host == "broker" and url.port == 1883 and url.username and url.password
    assert BrokerUrl.parse(dsp.broker).username == "dsp"
    assert str(dsp.port) in {p.split(":")[1] for p in _compose("compose.yaml")["services"]["dsp"]["ports"]}


def _ranges(replicas: int, count: int) -> list[range]:
    """What --first auto gives replica 1..N, named as compose names them (hostname = container id)."""
    out = []
    for r in range(1, replicas + 1):
        first, _ = replica_first(count, env={}, hostname="3f4e5a6b7c12", dns_name=lambda r=r: f"docker-worker-{r}.x")
        out.append(range(first, first + count))
    return out


@pytest.mark.parametrize("replicas", [None, 1, 8])
def test_worker_ranges_are_disjoint_and_the_dsp_covers_them(replicas: int | None):
    n = replicas or _compose("compose.yaml")["services"]["worker"]["deploy"]["replicas"]
    count = _args("worker").count
    env = {} if replicas is None else {"FLEET_PREMISES": str(n * count)}  # as docker/README.md says
    total = _args("dsp", env).premises
    ranges = _ranges(n, count)
    seen: set[int] = set()
    for r in ranges:
        assert not seen & set(r)
        seen |= set(r)
    assert seen == set(range(total))  # every premises of the DSP has its hub, and no hub is outside


def test_first_auto_rule():
    assert replica_first(25, env={"WORKER_INDEX": "2"}, hostname="docker-worker-7") == (50, "WORKER_INDEX=2")
    assert replica_first(10, env={}, hostname="fleet-worker-3", dns_name=lambda: None)[0] == 20
    assert replica_first(10, env={}, hostname="abc123", dns_name=lambda: "docker_worker_2.docker_default")[0] == 10
    with pytest.raises(ValueError, match="WORKER_INDEX"):
        replica_first(10, env={}, hostname="abc123", dns_name=lambda: None)
    with pytest.raises(ValueError, match="start at 1"):
        replica_first(10, env={}, hostname="worker-0", dns_name=lambda: None)


def test_compose_dsp_keeps_its_state_in_a_volume():
    """Durable by default (issue 15): the DSP's SQLite file lives in a named volume, not the container."""
    doc = _compose("compose.yaml")
    args = _args("dsp")
    assert args.db is None and args.data == Path("/data")
    mounts = dict(v.split(":")[:2] for v in doc["services"]["dsp"].get("volumes", []))
    assert mounts.get("dsp-data") == "/data" and "dsp-data" in doc["volumes"]


def test_ptr_lookup_against_a_fake_resolver():
    """The DNS PTR query --first auto sends to Docker's resolver, answered by a local UDP server."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))

        def answer() -> None:
            query, peer = server.recvfrom(512)
            name = b"".join(bytes((len(x),)) + x for x in (b"docker-worker-3", b"docker_default")) + b"\0"
            reply = (query[:2] + b"\x81\x80" + query[4:6] + b"\x00\x01\x00\x00\x00\x00" + query[12:]
                     + b"\xc0\x0c\x00\x0c\x00\x01\x00\x00\x02\x58" + len(name).to_bytes(2, "big") + name)
            server.sendto(reply, peer)

        t = threading.Thread(target=answer)
        t.start()
        got = ptr_lookup("172.18.0.5", "127.0.0.1", port=server.getsockname()[1], timeout=30)
        t.join(5)
    assert got == "docker-worker-3.docker_default"
    assert replica_number(got) == 3


def _users() -> dict[str, str]:
    lines = (DOCKER / "mosquitto.passwd").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if line and not line.startswith("#"))


def _verify(password: str, stored: str) -> bool:
    _, kind, iterations, salt, _digest = stored.split("$")
    return kind == "7" and mosquitto_hash(password, base64.b64decode(salt), int(iterations)) == stored


def test_broker_users_are_the_ones_the_services_use():
    users = _users()
    acl = (DOCKER / "mosquitto.acl").read_text()
    conf = (DOCKER / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf
    for service in ("dsp", "worker"):
        url = BrokerUrl.parse(_args(service).broker)
        assert url.username in users and url.password is not None
        assert _verify(url.password, users[url.username]), f"{service}: password does not match the hash"
        assert f"user {url.username}\n" in acl


def _broker_conf(tmp: Path, port: int) -> Path:
    """docker/mosquitto.conf with the compose mounts resolved to this checkout, on a loopback port."""
    mounts = {}
    for v in _compose("compose.yaml")["services"]["broker"]["volumes"]:
        src, dst = v.split(":")[:2]
        mounts[dst] = str(DOCKER / src) if src.startswith(".") else str(tmp / "data")
    text = (DOCKER / "mosquitto.conf").read_text().replace("listener 1883", f"listener {port} 127.0.0.1")
    for dst, src in sorted(mounts.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(dst, src)
    (tmp / "data").mkdir()
    (tmp / "data").chmod(0o777)
    tmp.chmod(0o755)
    conf = tmp / "mosquitto.conf"
    conf.write_text(text + "\nlog_dest none\n")
    return conf


#: How long mosquitto may take to admit its first client: generous, for a loaded machine.
BROKER_START_S = 60.0


async def _until_admitted(proc: subprocess.Popen[bytes], port: int, user: BrokerUrl, deadline_s: float) -> None:
    """Until ``user`` completes an MQTT CONNECT on ``port`` (not merely a TCP accept); fails naming why."""
    import aiomqtt

    deadline = time.monotonic() + deadline_s
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            pytest.fail(f"mosquitto exited with status {proc.returncode} before admitting a client: {err[-2000:]}")
        try:
            async with aiomqtt.Client("127.0.0.1", port, username=user.username, password=user.password,
                                      identifier="probe", timeout=5):
                return
        except aiomqtt.MqttError as e:
            last = str(e)
        await asyncio.sleep(0.1)
    pytest.fail(f"mosquitto on 127.0.0.1:{port} did not admit {user.username} within {deadline_s:g} s: {last}")


@pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed")
def test_compose_broker_config_admits_the_services(tmp_path: Path):
    """The real mosquitto on the compose config: dsp and hub users get in, anonymous does not, a hub
    cannot read other hubs' answers, and what a hub sends up reaches the DSP."""
    import aiomqtt

    port = free_port()
    proc = subprocess.Popen([str(find_mosquitto()), "-c", str(_broker_conf(tmp_path, port))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dsp, hub = BrokerUrl.parse(_args("dsp").broker), BrokerUrl.parse(_args("worker").broker)

    async def main() -> None:
        await _until_admitted(proc, port, dsp, BROKER_START_S)
        with pytest.raises(aiomqtt.MqttCodeError):
            async with aiomqtt.Client("127.0.0.1", port, identifier="anon"):
                pass
        async with aiomqtt.Client("127.0.0.1", port, username=dsp.username, password=dsp.password,
                                  identifier="dsp") as d, \
                aiomqtt.Client("127.0.0.1", port, username=hub.username, password=hub.password,
                               identifier="chf-00DB1234567890A2") as h:
            await d.subscribe("smets2/hubs/+/up/#", qos=1)
            await h.subscribe("smets2/hubs/+/up/#", qos=1)  # granted, but the ACL filters what it reads
            await h.publish("smets2/hubs/00DB1234567890A2/up/event", b"{}", qos=1)
            message = await asyncio.wait_for(anext(aiter(d.messages)), 5)
            assert str(message.topic) == "smets2/hubs/00DB1234567890A2/up/event"
            with pytest.raises(TimeoutError):  # the hub did not read its own (nor any hub's) answer
                await asyncio.wait_for(anext(aiter(h.messages)), 0.5)
            await h.subscribe("smets2/hubs/+/down", qos=1)
            await d.publish("smets2/hubs/00DB1234567890A2/down", b"{}", qos=1)
            message = await asyncio.wait_for(anext(aiter(h.messages)), 5)
            assert str(message.topic) == "smets2/hubs/00DB1234567890A2/down"

    try:
        asyncio.run(main())
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.mark.skipif(not _docker_daemon(), reason="no Docker daemon here")
def test_compose_up_commissions_every_premises_of_two_workers():
    """The real run, where Docker is: build the image, a broker, the DSP and 2 workers x 2 premises;
    every meter in the DSP's inventory reaches Commissioned over the broker."""
    import json
    import os
    import urllib.request

    env = {**os.environ, "FLEET_COUNT": "2", "FLEET_PREMISES": "4", "FLEET_RATE": "2"}
    base = ["docker", "compose", "-f", str(DOCKER / "compose.yaml"), "-p", "smets2citest"]
    up = subprocess.run([*base, "up", "--build", "-d", "--scale", "worker=2"], env=env, capture_output=True,
                        text=True, timeout=1200, check=False)
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        meters: list[dict] = []  # type: ignore[type-arg]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen("http://127.0.0.1:8080/api/inventory", timeout=5) as r:
                    meters = [d for d in json.loads(r.read()) if d["device_type"] in ("ESME", "GSME")]
            except OSError:
                meters = []
            if len(meters) == 8 and all(d["status"] == "Commissioned" for d in meters):
                break
            time.sleep(3)
        assert len(meters) == 8 and {d["status"] for d in meters} == {"Commissioned"}, meters
    finally:
        subprocess.run([*base, "down", "-v"], env=env, capture_output=True, timeout=300, check=False)

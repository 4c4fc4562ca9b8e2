"""The fleet split on this machine: the embedded broker, two hub workers as their own processes
(`python -m emulator fleet hubs`, disjoint premises ranges, per-hub broker users) and the DSP
role (`fleet dsp --drive`) commissioning every premises and reading the ESMEs for a few seconds."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import urllib.request
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from emulator.clock import VirtualClock, run
from emulator.dsp.core import Dsp
from emulator.dsp.repository import MemoryRepository
from emulator.pki.generate import device_eui
from emulator.scenarios import fleet
from emulator.scenarios.world import USERS, build_world, key_stores
from emulator.transport.broker import start_broker

ROOT = Path(__file__).resolve().parents[2]
WORKERS = ((0, 3), (3, 3))  # (first, count): disjoint
TOTAL = 6
READ_SECONDS = 4.0
#: Deadline for a process to start, answer or stop: generous, so a busy machine is slower, not red.
LOADED_S = 60.0


async def _spawn(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "emulator", "fleet", *args, cwd=ROOT,
                                                env={**os.environ, **(env or {})}, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)


async def _json_line(proc: asyncio.subprocess.Process, timeout: float) -> dict[str, Any]:
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout)
    if not line:
        err = await proc.stderr.read() if proc.stderr else b""
        raise AssertionError(f"worker ended without output: {err.decode(errors='replace')}")
    doc: dict[str, Any] = json.loads(line)
    return doc


async def _inventory(dsp: asyncio.subprocess.Process) -> list[dict[str, Any]]:
    """The DSP's SSI API while it drives: GET /api/inventory at the address it printed."""
    assert dsp.stderr is not None
    line = (await asyncio.wait_for(dsp.stderr.readline(), LOADED_S)).decode()
    assert line.startswith("SSI on http://"), line
    url = line.split()[-1] + "api/inventory"
    loop = asyncio.get_running_loop()
    body = await loop.run_in_executor(None, lambda: urllib.request.urlopen(url, timeout=LOADED_S).read())
    rows: list[dict[str, Any]] = json.loads(body)
    return rows


async def _fleet(*state: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Two fresh workers and a DSP over a fresh broker; ``state``: the DSP's state options."""
    async with start_broker(hubs={device_eui(i, "CHF") for i in range(TOTAL)}) as broker:
        hub_url = f"mqtt://127.0.0.1:{broker.port}"
        env = {fleet.HUB_SECRET_ENV: broker.secret.hex()}
        workers = [await _spawn("hubs", "--broker", hub_url, "--first", str(first), "--count", str(count),
                                "--gsme-wake", "1", env=env) for first, count in WORKERS]
        try:
            ready = [await _json_line(w, LOADED_S) for w in workers]
            d = broker.dsp_url()
            dsp = await _spawn("dsp", "--broker", f"mqtt://{d.username}:{d.password}@127.0.0.1:{d.port}",
                               "--premises", str(TOTAL), "--port", "0", "--drive", "--rate", "50",
                               "--seconds", str(READ_SECONDS), "--commission-timeout", str(LOADED_S),
                               *(state or ("--db", ":memory:")))
            inventory = await _inventory(dsp)
            out, err = await asyncio.wait_for(dsp.communicate(), 2 * LOADED_S)
            assert dsp.returncode == 0, err.decode(errors="replace")
            summary: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
            summary["inventory"] = inventory
            summary["stderr"] = err.decode(errors="replace")
        finally:
            for w in workers:
                if w.returncode is None:
                    w.terminate()
        stopped = [await _json_line(w, LOADED_S) for w in workers]
        for w in workers:
            assert await asyncio.wait_for(w.wait(), LOADED_S) == 0
    return ready, stopped, summary


def test_two_workers_and_the_dsp_over_the_broker():
    ready, stopped, summary = asyncio.run(_fleet())
    hubs = [set(r["hubs"]) for r in ready]
    assert not hubs[0] & hubs[1]  # no collisions: disjoint hubs, so disjoint client ids and topics
    assert hubs[0] | hubs[1] == {device_eui(i, "CHF").hex().upper() for i in range(TOTAL)}
    assert summary["commissioned"] == TOTAL and summary["commission_failures"] == {}
    assert summary["hubs_heard"] == TOTAL and summary["foreign_hubs"] == 0
    assert summary["requests"] > 0 and summary["failures"] == 0 and summary["i0"] == summary["requests"]
    assert summary["meters_read"] == TOTAL
    assert len(summary["inventory"]) == 4 * TOTAL  # CHF, ESME, GSME, GPF per premises, served over HTTP
    for s in stopped:
        assert s["event"] == "stopped" and s["join_failures"] == {} and s["reconnects"] == 0
        assert s["joins"] == 2 * s["count"]  # ESME and GSME of every premises joined once
    print(json.dumps({k: summary[k] for k in ("requests", "reads_per_s", "p50_ms", "p95_ms", "commission_s")}))


def test_fleet_dsp_keeps_its_state_and_installs_fresh_hubs_again(tmp_path: Path):
    """Durable by default (issue 15): a second fleet run on the same --data folder finds the DSP's
    records (the meters Commissioned), installs the new workers' empty hubs again, and reads them all."""
    data = tmp_path / "data"
    _, _, first = asyncio.run(_fleet("--data", str(data)))
    assert f"DSP state in {data / 'dsp.sqlite'}" in first["stderr"]
    assert first["commissioned"] == TOTAL and first["failures"] == 0
    _, _, second = asyncio.run(_fleet("--data", str(data)))
    # The inventory the second DSP serves as it starts, before it commissions anything: the first run's.
    kept = {d["status"] for d in second["inventory"] if d["device_type"] in ("ESME", "GSME")}
    assert kept == {"Commissioned"} and len(second["inventory"]) == 4 * TOTAL
    assert second["commissioned"] == TOTAL and second["commission_failures"] == {}
    assert second["requests"] > 0 and second["failures"] == 0 and second["meters_read"] == TOTAL


def test_dsp_inventory_is_build_worlds():
    """Both sides agree: the DSP role registers what build_world registers, for any first index."""
    profiles = [fleet.fleet_profile()] * 3

    async def main() -> None:
        for first in (0, 5):
            world = await build_world(VirtualClock(), profiles, seed=7, first=first)
            core = Dsp(MemoryRepository(), None, USERS)
            fleet.add_inventory(core, 7, profiles, first)
            assert [p.id for p in world.premises] == [f"P{i:04d}" for i in range(first, first + 3)]
            for mine, theirs in ((core.repo, world.dsp.core.repo),):
                assert sorted(map(asdict, mine.devices()), key=str) == sorted(map(asdict, theirs.devices()), key=str)
                assert sorted(map(asdict, mine.all_premises()), key=str) == sorted(
                    map(asdict, theirs.all_premises()), key=str)
            assert fleet.add_inventory(core, 7, profiles, first) == 0  # kept, not rewritten
            await world.stop()

    run(main())


def test_keys_agree_across_premises_counts():
    """A worker's store (first+count premises) and the DSP's (all premises) hold the same keys."""
    small, _ = key_stores(3, 2)
    large, _ = key_stores(3, 5)
    big = {(k.eui, k.usage): k.certificate_der for k in large}
    for k in small:
        assert big[(k.eui, k.usage)] == k.certificate_der


def test_ranges_are_checked():
    fleet.check_range(0, 1)
    for first, count in ((-1, 1), (0, 0), (fleet.MAX_PREMISES - 1, 2)):
        with pytest.raises(ValueError):
            fleet.check_range(first, count)
    assert device_eui(fleet.MAX_PREMISES, "CHF") == device_eui(0, "CHF")  # why the limit is there

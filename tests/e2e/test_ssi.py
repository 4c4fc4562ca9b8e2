"""The SSI stand-in (RM-2, RM-6): the HTTP API (token-authenticated changes), DUIS-like JSON, and the
page in headless Chromium, on the aiohttp server. Signed DUIS XML is tests/e2e/test_duis.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import tempfile
import threading
import urllib.request
from collections.abc import Iterator

import pytest

from emulator.cli.dsp import serve_demo
from emulator.devices.profile import MeterProfile, PremisesProfile

ESME = "00DB1234567890A0"
TOKEN = "test-ssi-token"
#: The demo's premises with a GSME that wakes every 2 s: commissioning it waits for a wake (the
#: standard 30 s made this module's set-up the slowest in the suite); nothing here tests the period.
PROFILE = PremisesProfile(gas=MeterProfile(seed=2, load_shape="gas-heating", daily_kwh=30.0, image_type=0x0002,
                                           wake_period_s=2.0))


@pytest.fixture(scope="module")
def ssi() -> Iterator[str]:
    ready = threading.Event()
    port_holder: list[int] = []
    control: dict[str, object] = {}

    def main() -> None:
        async def go() -> None:
            ev = asyncio.Event()
            task = asyncio.ensure_future(serve_demo(0, None, ev, seconds=120, bound_port=port_holder,
                                                          token=TOKEN, profile=PROFILE))
            control["loop"], control["task"] = asyncio.get_running_loop(), task
            await ev.wait()
            ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        asyncio.run(go())

    t = threading.Thread(target=main, daemon=True)
    t.start()
    assert ready.wait(60), "the SSI server did not start"
    yield f"http://127.0.0.1:{port_holder[0]}"
    loop, task = control["loop"], control["task"]
    loop.call_soon_threadsafe(task.cancel)  # type: ignore[attr-defined]
    t.join(30)


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as r:
        return bytes(r.read())


def _post(url: str, body: bytes, ctype: str, user: str = "", token: str = TOKEN) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": ctype, "X-User": user,
                                                          "Authorization": f"Bearer {token}"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, bytes(r.read())
    except urllib.error.HTTPError as e:
        return e.code, bytes(e.read())


def test_rm6_api_shows_the_flag_and_rm2_refuses_others(ssi: str):
    status, body = _post(f"{ssi}/api/restricted", json.dumps(
        {"user": "90B3D51F30030000", "device": ESME, "restricted": True}).encode(), "application/json")
    assert json.loads(body)["ResponseCode"] == "E4"
    status, body = _post(f"{ssi}/api/restricted", b"{}", "application/json")
    assert status == 400 and "user" in json.loads(body)["ResponseMessage"]
    inv = json.loads(_get(f"{ssi}/api/inventory"))
    assert any(d["eui"] == ESME and d["restricted"] is False for d in inv)
    assert b"restricted" in _get(f"{ssi}/api/extract.csv").splitlines()[0]


def test_duis_json_requests(ssi: str):
    rid = "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:9000000000001"
    status, body = _post(f"{ssi}/api/requests", json.dumps(
        {"RequestID": rid, "CommandVariant": 1, "ServiceReferenceVariant": "11.2", "Body": {}}).encode(),
        "application/json")
    assert json.loads(body)["ResponseCode"] == "I99"
    status, body = _post(f"{ssi}/api/requests", b'{"RequestID": "x"}', "application/json")
    assert status == 400 and b"ServiceReferenceVariant" in body


def test_changing_calls_need_the_token(ssi: str):
    for path in ("/api/requests", "/api/restricted"):
        status, body = _post(f"{ssi}{path}", b"{}", "application/json", token="wrong")
        assert status == 401 and b"token" in body
        status, body = _post(f"{ssi}{path}", b"{}", "application/json", token="")
        assert status == 401
    assert b"inventory" in _get(f"{ssi}/")  # reading needs no token


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Debian's chromium is not installed (./dev.sh installs it)")
def test_rm2_rm6_page_in_headless_chromium_sets_restricted(ssi: str):
    with tempfile.TemporaryDirectory() as profile:
        cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--virtual-time-budget=10000", "--dump-dom", f"{ssi}/#token={TOKEN}&set={ESME}"]
        dom = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
    assert 'data-ready="yes"' in dom, dom[-2000:]
    assert f'id="dev-{ESME}" class="r"' in dom and ">Restricted<" in dom
    inv = json.loads(_get(f"{ssi}/api/inventory"))
    assert any(d["eui"] == ESME and d["restricted"] for d in inv)

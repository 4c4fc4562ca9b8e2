"""Errors a user can act on (issue 15, item 8): the real command in a subprocess ends with ONE line
on stderr naming the thing and the reason, exit status 2, and no Python or asyncio noise (no
traceback, no "Task was destroyed", no "never awaited"). Expected texts are written here."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.transport import broker

ROOT = Path(__file__).resolve().parents[2]
NOISE = ("Traceback", "Task was destroyed", "never awaited", "Exception ignored", "ResourceWarning")


def _cli(*args: str, cwd: Path = ROOT, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    # -W default: warnings that are hidden by default (never-awaited coroutines, unclosed resources) show.
    return subprocess.run([sys.executable, "-W", "default", "-m", "emulator", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, check=False)


def _one_line(r: subprocess.CompletedProcess[str], *fragments: str) -> str:
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, f"exit {r.returncode}, stderr:\n{r.stderr}"
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{r.stderr}"
    for noise in NOISE:
        assert noise not in r.stderr, f"{noise!r} in stderr:\n{r.stderr}"
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_broker_is_named_with_the_reason():
    port = _closed_port()
    r = _cli("run", "uit", "--quiet", "--broker", f"mqtt://127.0.0.1:{port}")
    _one_line(r, "smets2-emu run uit:", f"broker 127.0.0.1:{port}", "Connection refused")


def test_unreachable_broker_for_fleet_dsp():
    port = _closed_port()
    r = _cli("fleet", "dsp", "--broker", f"mqtt://dsp:pw@127.0.0.1:{port}", "--premises", "1", "--wait", "1",
             "--db", ":memory:")
    _one_line(r, "smets2-emu fleet dsp:", f"broker 127.0.0.1:{port} unreachable")


def test_taken_port_is_named(tmp_path: Path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        r = _cli("dsp", "serve", "--port", str(port), "--db", ":memory:", "--seconds", "1")
    _one_line(r, "smets2-emu dsp serve:", f"cannot listen on 127.0.0.1:{port}", "the port is taken")


def test_missing_key_store_is_named(tmp_path: Path):
    missing = tmp_path / "no-keys"
    r = _cli("gbcs", "decode", "--keys", str(missing), "00")
    _one_line(r, "smets2-emu gbcs decode:", f"key store {missing}", "no such file or folder", "pki init")


def test_key_store_without_keys_is_named(tmp_path: Path):
    (tmp_path / "readme.txt").write_text("not a key\n")
    r = _cli("gbcs", "decode", "--keys", str(tmp_path), "00")
    _one_line(r, "smets2-emu gbcs decode:", str(tmp_path), "no <eui>-ds/-ka .pem or .key files")


def test_unreadable_profile_is_named(tmp_path: Path):
    missing = tmp_path / "dongle.yaml"
    r = _cli("hardware", "check", str(missing))
    _one_line(r, "smets2-emu hardware check:", f"hardware profile {missing}", "No such file or directory")
    folder = tmp_path / "a-folder.yaml"
    folder.mkdir()
    r = _cli("hardware", "check", str(folder))
    _one_line(r, f"hardware profile {folder}", "Is a directory")


def test_unreadable_restricted_policy_is_named(tmp_path: Path):
    missing = tmp_path / "alerts.csv"
    r = _cli("run", "uit", "--quiet", "--broker", "memory", "--restricted-policy", str(missing))
    _one_line(r, "smets2-emu run uit:", str(missing), "No such file or directory")


def test_dsp_state_that_is_not_a_database_is_named(tmp_path: Path):
    bad = tmp_path / "dsp.sqlite"
    bad.write_bytes(b"this is not SQLite" * 100)
    r = _cli("dsp", "serve", "--db", str(bad), "--port", "0", "--seconds", "1")
    _one_line(r, "smets2-emu dsp serve:", f"DSP state {bad}", "SQLite cannot use it")


def test_data_folder_that_cannot_be_made_is_named(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = _cli("dsp", "serve", "--data", str(blocker / "data"), "--port", "0", "--seconds", "1")
    _one_line(r, "smets2-emu dsp serve:", str(blocker / "data"), "Not a directory")


def test_no_mosquitto_says_how_to_install_it_and_what_else_to_run(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]):
    """Where mosquitto is not installed (simulated: it is on this machine), one line with the ways out."""
    monkeypatch.setattr(broker, "find_mosquitto", lambda: None)
    assert main(["run", "uit", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    for fragment in ("mosquitto is not installed", "apt-get install mosquitto", "./dev.sh", "--broker memory",
                     "--broker mqtt://"):
        assert fragment in err[0], err[0]


def test_help_is_for_users_grouped_by_task():
    r = subprocess.run([sys.executable, "-m", "emulator", "--help"], capture_output=True, text=True, timeout=300,
                       cwd=ROOT, check=False)
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert "register(" not in text and "sub-command group" not in text  # no developer docstring
    headings = ["Run a journey end to end", "Serve a DSP and premises", "look inside messages, keys and firmware",
                "Use a real Zigbee radio", "Measure"]
    positions = [text.index(h) for h in headings]
    assert positions == sorted(positions), "task headings out of order"
    for command in ("run uit|sit|mp121", "dsp serve", "fleet hubs|dsp|run", "gbcs decode|encode", "pki init",
                    "hardware list|check|serve|fake-znp|fake-ezsp", "bench"):
        assert f"  {command} " in text, command
    assert "Exit status: 0" in text and "2 the run could not start" in text

"""``smets2-emu gbcs decode|encode`` end to end, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import RTDS, need_rtds

EXE = [sys.executable, "-m", "emulator"]


def _run(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXE, *args], input=stdin, capture_output=True, text=True, timeout=300)


def test_dv2_all_rtds_vectors_decode_with_the_cli():
    need_rtds()
    lines = "\n".join(p.read_text().strip() for p in sorted((RTDS / "messages").glob("*/*.HEX")))
    r = _run(["gbcs", "decode", "--keys", str(RTDS / "keystore")], lines)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 1275 and not any("error" in row for row in rows)
    assert sum(row["mac"] == "valid" for row in rows) == 811
    assert sum(row["signature"] == "valid" for row in rows) == 472
    assert all(row["payload"]["kind"] != "unknown" for row in rows)
    first = rows[0]
    for key in ("cra", "counter", "originator", "target", "message_code", "use_case", "payload", "mac", "signature"):
        assert key in first


def test_malformed_input_names_field_and_offset_and_exits_1():
    r = _run(["gbcs", "decode", "DF0901"])
    assert r.returncode == 1
    row = json.loads(r.stdout)
    assert row["error"] and row["field"] and row["offset"] is not None
    r = _run(["gbcs", "decode"], "zz\n")
    assert r.returncode == 1 and json.loads(r.stdout)["field"] == "input"


def test_dv3_frames_built_with_pki_keys_verify_and_a_changed_byte_does_not(tmp_path: Path):
    keys = tmp_path / "keys"
    assert _run(["pki", "init", str(keys)]).returncode == 0
    desc = {"cra": "command", "counter": 1000, "originator": "90B3D51F30010000", "target": "00DB1234567890A0",
            "message_code": "0x0059", "payload": "D9200003E800010100010000000201FF020100", "mac": True}
    (tmp_path / "d.json").write_text(json.dumps(desc))
    r = _run(["gbcs", "encode", str(tmp_path / "d.json"), "--keys", str(keys)])
    assert r.returncode == 0, r.stderr
    wire = r.stdout.strip()
    ok = json.loads(_run(["gbcs", "decode", "--keys", str(keys), wire]).stdout)
    assert ok["mac"] == "valid" and ok["use_case"] == "ECS52" and ok["payload"]["kind"] == "dlms-access-request"
    changed = wire[:-2] + ("00" if wire[-2:] != "00" else "01")
    assert json.loads(_run(["gbcs", "decode", "--keys", str(keys), changed]).stdout)["mac"] == "invalid"
    signed = dict(desc, message_code="0x0012", payload="3000", sign=True, counter=1001)
    (tmp_path / "s.json").write_text(json.dumps(signed))
    wire2 = _run(["gbcs", "encode", str(tmp_path / "s.json"), "--keys", str(keys)]).stdout.strip()
    row = json.loads(_run(["gbcs", "decode", "--keys", str(keys), wire2]).stdout)
    assert row["mac"] == "valid" and row["signature"] == "valid"


def test_encode_refuses_a_field_of_the_wrong_kind_naming_it_and_exits_2():
    base = {"cra": "command", "message_code": "0x0001", "counter": 1, "originator": "90B3D51F30000002",
            "target": "0000000000000001"}
    for field, value, says in (("counter", [1], "counter must be a number, not [1]"),
                               ("originator", 5, "originator must be a string, not 5"),
                               ("payload", {"x": 1}, "payload must be a string, not {'x': 1}")):
        r = _run(["gbcs", "encode", "-"], json.dumps({**base, field: value}))
        assert r.returncode == 2 and says in r.stderr, r.stderr
    r = _run(["gbcs", "encode", "-"], "[3]")
    assert r.returncode == 2 and "a message description is a JSON object, not 3" in r.stderr, r.stderr

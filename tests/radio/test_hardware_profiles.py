"""Hardware profiles and ``hardware check`` errors (DV-7, radio half)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from emulator.hardware import ProfileError, load

HW = Path(__file__).resolve().parents[2] / "hardware"


def test_every_shipped_profile_validates():
    profiles = [load(p) for p in sorted(HW.glob("*.yaml"))]
    assert {p.radio for p in profiles} >= {"znp", "ezsp", "deconz", "xbee", "zigate", "virtual"}
    assert not next(p for p in profiles if p.radio == "zigate").install_codes


@pytest.mark.parametrize(("text", "key"), [
    ("radio: znp\nport: /dev/x\nchannel: 30\n", "channel"),
    ("radio: znp\nport: /dev/x\nbaudrate: 1234\n", "baudrate"),
    ("radio: znp\nport: /dev/x\nflow: hardware\n", "flow"),
    ("radio: zz\nport: /dev/x\n", "radio"),
    ("radio: znp\n", "port"),
])
def test_bad_profiles_name_file_and_key(tmp_path: Path, text: str, key: str):
    f = tmp_path / "p.yaml"
    f.write_text(text)
    with pytest.raises(ProfileError) as e:
        load(f)
    assert e.value.key == key and str(f) in str(e.value)


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emulator", "hardware", "check", str(path)], capture_output=True,
                          text=True, timeout=300, check=False)


def test_hardware_check_clear_errors(tmp_path: Path):
    missing = tmp_path / "missing.yaml"
    missing.write_text("radio: znp\nport: /dev/serial/by-id/nothing-here\n")
    r = _check(missing)
    assert r.returncode == 2 and "does not exist" in r.stderr
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("radio: zstack\nport: /dev/ttyUSB0\n")
    r = _check(wrong)
    assert r.returncode == 2 and "radio: expected one of" in r.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("radio: [znp\n")
    r = _check(broken)
    assert r.returncode == 2 and "well-formed YAML" in r.stderr
    virtual = _check(HW / "virtual.yaml")
    assert virtual.returncode == 0 and '"ok": true' in virtual.stdout

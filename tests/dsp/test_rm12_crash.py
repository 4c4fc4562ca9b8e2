"""RM-12 under a crash: a DSP process is killed with SIGKILL while it works; every flag change,
audit record, rejection and discarded alert it had acknowledged is on disk afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from emulator.dsp.store import SqliteRepository
from emulator.zigbee.eui64 import Eui64

ESME = "00DB1234567890A0"

# The child: a DSP on SQLite that, in a loop, sets the flag, has a consumption read refused and a
# billing-data alert discarded, clears the flag, and prints "ack N" after each round returns.
_CHILD = r"""
import sys
from emulator.dsp.core import Dsp
from emulator.dsp.model import Device, Premises, Region, ServiceRequest, Status
from emulator.dsp.store import SqliteRepository
from emulator.scenarios.world import SUPPLIER, USERS
from emulator.zigbee.eui64 import Eui64

HUB, ESME = Eui64.from_hex("00DB1234567890A2"), Eui64.from_hex("00DB1234567890A0")
d = Dsp(SqliteRepository(sys.argv[1]), None, USERS)
d.add_premises(Premises("P1", Region.NORTH, HUB))
d.add_device(Device(HUB, "CHF", "P1", Status.COMMISSIONED))
d.add_device(Device(ESME, "ESME", "P1", Status.COMMISSIONED, import_supplier=SUPPLIER))
sup = "-".join(SUPPLIER[i:i + 2] for i in range(0, 16, 2))
esme = "-".join(str(ESME)[i:i + 2] for i in range(0, 16, 2))
n = 0
while True:
    n += 1
    now = 1767225600.0 + n
    assert d.set_restricted(SUPPLIER, ESME, True, now)[0].response.code == "I0"
    assert d.submit(SUPPLIER, ServiceRequest(f"{sup}:{esme}:{n}", "4.1.1", 1, {}, "IS"), now)[0].response.code == "E72"
    assert d.on_alert(ESME, 0x8F0A, True, "DF", now) == []
    print(f"ack {n} restricted", flush=True)
    d.set_restricted(SUPPLIER, ESME, False, now + 0.5)
    print(f"ack {n} cleared", flush=True)
"""


def test_rm12_flag_audit_and_logs_survive_sigkill_mid_run(tmp_path: Path) -> None:
    db = tmp_path / "dsp.sqlite"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(db)], stdout=subprocess.PIPE, text=True,
                             stderr=subprocess.PIPE)
    assert child.stdout is not None
    last = ""
    deadline = time.monotonic() + 120
    rounds = 0
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        assert line, f"the DSP process ended early: {child.stderr.read() if child.stderr else ''}"
        last = line.split(maxsplit=1)[1].strip()
        rounds = int(last.split()[0])
        if rounds >= 25 and last.endswith("restricted"):
            break
    os.kill(child.pid, signal.SIGKILL)  # while it is busy with the next round
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert rounds >= 25, f"only {rounds} rounds acknowledged before the deadline"

    repo = SqliteRepository(db)  # what a restarted DSP finds
    try:
        audit = repo.read_log("audit")
        sets = [a for a in audit if a["what"] == "restricted-set" and a["device"] == ESME]
        clears = [a for a in audit if a["what"] == "restricted-cleared"]
        rejections = [a for a in audit if a["what"] == "restricted-rejection"]
        discards = [a for a in audit if a["what"] == "alert-discarded"]
        # Everything acknowledged is there: at least `rounds` of each (the round cut by the kill may
        # have written some of its records, never half a flag change).
        assert len(sets) >= rounds and len(rejections) >= rounds and len(discards) >= rounds
        assert len(clears) >= rounds - 1
        assert len(repo.read_log("diagnostics")) >= rounds
        csp = repo.read_log("csp")
        assert len(csp) == len(sets) + len(clears)  # each flag change with its CSP record, in one transaction
        device = repo.device(Eui64.from_hex(ESME))
        assert device is not None
        # The flag agrees with the last audited change.
        assert device.restricted == (len(sets) > len(clears))
        assert all(a["who"] and a["time"] for a in audit)
    finally:
        repo.close()

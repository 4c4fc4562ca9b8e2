"""The SIT matrix checked against expectations written here, not taken from the catalogue or the
policy the code uses (PIA 7.2; RM-4, RM-5).

Per SRV, the DUIS roles that may send it (SEC Appendix AD as recorded in this project's SRV
list, copied here as data), the SRVs Restricted blocks (RM-4: consumption reads) and the alerts
a Restricted meter still delivers (RM-5, see tests/dsp/test_rm5_alert_list.py). The SIT run's
report gives what was observed for each case; every case must match.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.dsp.test_restricted_rules import CONS_SRVS
from tests.dsp.test_rm5_alert_list import DELIVERED, DISCARDED

# SRV -> the roles among IS (import supplier), GS (gas supplier), ED (electricity distributor),
# GT (gas transporter) that may send it.
ROLES = {
    "1.1.1": "IS+GS", "1.1.2": "IS", "1.2.1": "IS+GS", "1.2.2": "IS", "1.5": "IS+GS", "1.6": "IS+GS", "1.7":
    "IS", "2.1": "IS+GS", "2.2": "IS+GS", "2.3": "IS+GS", "2.5": "IS+GS", "3.1": "IS+GS", "3.2": "IS+GS", "3.3":
    "IS+GS", "3.4": "IS+GS", "3.5": "IS+GS", "4.1.1": "IS+GS+ED+GT", "4.1.2": "IS+GS+ED+GT", "4.1.3": "IS+ED",
    "4.1.4": "GS", "4.2": "ED", "4.3": "IS+GS", "4.4.2": "IS+GS", "4.4.3": "IS+GS", "4.4.4": "IS+GS", "4.4.5":
    "IS+GS", "4.6.1": "IS+GS", "4.6.2": "", "4.8.1": "IS+GS+ED+GT", "4.8.2": "IS+ED", "4.8.3": "ED", "4.10":
    "IS+GS+ED+GT", "4.11.1": "IS+GS", "4.11.2": "IS", "4.12.1": "IS+ED", "4.12.2": "ED", "4.13": "IS+GS",
    "4.14": "IS+GS", "4.15": "IS+ED", "4.16": "IS+ED", "4.17": "IS+GS+ED+GT", "4.18": "IS+GS", "6.2.1": "IS+ED",
    "6.2.2": "IS+ED", "6.2.3": "IS+GS", "6.2.4": "IS+GS+ED+GT", "6.2.5": "IS", "6.2.7": "IS+GS+ED+GT", "6.2.8":
    "GS+GT", "6.2.9": "IS+GS", "6.2.10": "IS+GS+ED", "6.4.1": "IS", "6.4.2": "IS", "6.5": "ED", "6.6": "GS",
    "6.7": "GS", "6.8": "IS+GS", "6.11": "IS+GS", "6.12": "IS", "6.13": "IS+GS+ED+GT", "6.14.1": "IS", "6.14.2":
    "IS", "6.14.3": "IS", "6.15.1": "IS+GS+ED+GT", "6.15.2": "IS+GS", "6.17": "IS+GS", "6.18.1": "ED", "6.18.2":
    "ED", "6.20.1": "IS+GS", "6.20.2": "", "6.21": "IS+GS", "6.22": "IS+GS+ED", "6.23": "IS+GS", "6.24.1":
    "IS+GS+ED+GT", "6.24.2": "IS+GS", "6.25": "IS", "6.26": "IS", "6.27": "ED", "6.28": "IS+GS", "6.29":
    "IS+GS", "6.30": "IS+GS", "6.31": "IS+GS", "6.32": "IS+GS", "7.1": "IS", "7.2": "IS+GS", "7.3": "IS+GS",
    "7.4": "IS+GS+ED+GT", "7.5": "IS", "7.6": "IS", "7.7": "IS+ED", "7.8": "IS", "7.9": "IS", "7.10": "IS",
    "7.11": "IS", "7.12": "IS", "7.13": "IS", "7.14": "IS+ED", "7.15": "IS+ED", "7.16": "", "8.1.1": "IS+GS",
    "8.5": "", "8.7.1": "IS+GS", "8.7.2": "IS+GS", "8.8.1": "IS+GS", "8.8.2": "IS+GS", "8.9": "IS+GS", "8.11":
    "IS+GS", "8.12.1": "IS+GS", "8.12.2": "IS+GS", "9.1": "", "11.2": "IS+GS+ED+GT", "11.3": "IS+GS", "14.1":
    "GT"
}
# The role each SIT user uses per device type (the supplier and the network operator).
USER_ROLE = {"supplier": {"ESME": "IS", "GSME": "GS", "GPF": "GS", "CHF": "IS"},
             "network-operator": {"ESME": "ED", "GSME": "GT", "GPF": "GT", "CHF": "ED"}}


# SRV 6.21 (Request Handover Of DCC Controlled Device) goes out as the RTDS 6.21 commands do:
# CS02b originated and signed by the ACB (90B3D51F30000002). The SIT premises are
# supplier-controlled (their supplier and network operator cells hold those parties' own
# certificates), so the ACB has no authority over the cell and the device refuses it (alert
# 0x8F30) without answering: the user gets I99, then E21 (no response) at the DSP's deadline.
DEVICE_REFUSES = {"6.21": "E21"}


def expected(srv: str, device_type: str, restricted: bool, user: str) -> str:
    if USER_ROLE[user][device_type] not in ROLES[srv].split("+"):
        return "E3"
    if restricted and srv in CONS_SRVS:
        return "E72"
    return DEVICE_REFUSES.get(srv, "I0")


def test_sit_matrix_outcomes_match_expectations_written_as_data(tmp_path: Path) -> None:
    out = tmp_path / "sit.json"
    r = subprocess.run([sys.executable, "-m", "emulator", "run", "sit", "--broker", "memory", "--quiet",
                        "--report", str(out)], capture_output=True, text=True, timeout=600)
    report = json.loads(out.read_text())
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    seen_srv, seen_alert = 0, 0
    wrong = []
    for step in report["steps"]:
        kind, _, rest = step["id"].partition(".")
        if kind == "srv":
            srv, device_type, state, user = rest.split("/")
            observed = step["detail"].split(":")[0]
            want = expected(srv, device_type, state == "R", user)
            if observed != want:
                wrong.append(f"{rest}: expected {want}, observed {step['detail'][:120]}")
            seen_srv += 1
        elif kind == "alert":
            code = int(rest, 16)
            want = "delivered" if code in DELIVERED else "discarded" if code in DISCARDED else "?"
            if step["detail"] != want:
                wrong.append(f"alert {rest}: expected {want}, observed {step['detail']}")
            seen_alert += 1
    assert not wrong, "\n".join(wrong[:40])
    assert seen_srv == report["summary"]["srv_matrix_cases"] and seen_srv > 700
    assert seen_alert == 188

"""``fleet run`` with alerts in the mix, end to end over the embedded mosquitto: two worker
processes raise the alerts the seeded load asks for (through their meters' device cores), the
DSP delivers or discards each by RM-5, and the run's ledger accounts for every one.
Deadlines, not fixed pauses: the run itself waits until every alert raised is settled."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from emulator.scenarios.fleet_run import RunOptions, run_fleet
from emulator.scenarios.load_mix import load_mix
from emulator.transport.broker import find_mosquitto

pytestmark = pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed")
LOADED_S = 240.0

# 0x8F57 Supply interrupted: critical (GBCS block 0x8Fxx, device-signed), on the delivered list
# (restricted_alerts.csv: deliver, safety). 0x8145 Clock adjusted: a Generic Non Critical Alert,
# off the list (discard, operational). 0x8F1F Low Battery from the gas meter, not Restricted.
MIX = """name,weight,srv,target,body,expect
read,2,4.1.1,esme,none,I0
outage,2,alert,esme,0x8F57,delivered
gas-battery,1,alert,gsme,0x8F1F,delivered
restricted-outage,2,alert,restricted-esme,0x8F57,delivered
restricted-clock,2,alert,restricted-esme,0x8145,discarded
"""


def _driven(tmp_path: Path) -> dict[str, Any]:
    mix = tmp_path / "mix.csv"
    mix.write_text(MIX)
    options = RunOptions(premises=6, workers=2, rate=20.0, duration_s=4.0, seed=3, mix=load_mix(mix),
                         resend_s=2.0, retry_for_s=90.0, gsme_wake_s=2.0, ready_timeout_s=LOADED_S,
                         commission_timeout_s=LOADED_S)
    report = asyncio.run(run_fleet(options, lambda line: None))
    assert report["restricted_premises"] == 1 and report["start"]["commission_failures"] == 0
    driven: dict[str, Any] = report["alerts"]["driven"]
    return driven


def test_rm5_fleet_alerts_critical_delivered_non_critical_discarded_none_lost(tmp_path: Path):
    driven = _driven(tmp_path)
    rows = driven["rows"]
    assert set(rows) == {"outage", "gas-battery", "restricted-outage", "restricted-clock"}
    for name, r in rows.items():
        # Every alert asked was raised (every meter joined), reached the DSP, was acknowledged.
        assert r["asked"] > 0, name
        assert r["raised"] == r["asked"] and r["not_raised"] == 0, (name, r["not_raised_why"])
        assert r["at_dsp"] == r["raised"] and r["acknowledged"] == r["raised"] and r["lost"] == 0, name
        assert r["delivered"] + r["discarded"] == r["at_dsp"], name
        lat = r["latency"]
        assert lat["count"] == r["at_dsp"] and 0 < lat["p50_ms"] <= lat["p99_ms"] <= lat["max_ms"], name
    # RM-5: a Restricted meter's critical alert still reaches the Service User and the SAT log ...
    ro = rows["restricted-outage"]
    critical = {name: r["critical"] for name, r in rows.items()}
    assert critical == {"outage": True, "gas-battery": True, "restricted-outage": True, "restricted-clock": False}
    assert (ro["delivered"], ro["to_user"], ro["discarded"]) == (ro["raised"], ro["raised"], 0)
    # ... its non-critical one goes to the diagnostics log only, never to the user.
    rc = rows["restricted-clock"]
    assert (rc["discarded"], rc["delivered"], rc["to_user"]) == (rc["raised"], 0, 0)
    # Unrestricted meters: delivered, whatever the code.
    assert rows["outage"]["delivered"] == rows["outage"]["raised"] == rows["outage"]["to_user"]
    assert rows["gas-battery"]["delivered"] == rows["gas-battery"]["raised"]
    assert driven["unexpected"] == {} and driven["lost"] == 0
    assert driven["raised"] == sum(r["raised"] for r in rows.values())
    codes = driven["codes"]
    assert set(codes) == {"0x8F57", "0x8F1F", "0x8145"}
    assert codes["0x8F57"]["raised"] == rows["outage"]["raised"] + ro["raised"]
    assert codes["0x8F57"]["latency"]["count"] == codes["0x8F57"]["at_dsp"]


def test_alerts_need_worker_processes(tmp_path: Path):
    mix = tmp_path / "alerts-only.csv"
    mix.write_text("name,weight,srv,target,body,expect\noutage,1,alert,esme,0x8F57,delivered\n")
    with pytest.raises(ValueError, match="only alert rows, and --workers 0 runs no worker to raise them"):
        RunOptions(premises=4, workers=0, broker="mqtt://127.0.0.1:1883", mix=load_mix(mix)).check()

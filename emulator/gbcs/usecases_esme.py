"""Command payload builders for the ESME (ECS, DLMS) use cases.

Each use case is declared once, as the ordered DLMS requests GBCS defines for it (the
object list of its GBCS use case; the RTDS 4.5.0 reference commands are the check, in
tests/gbcs/test_rtds_usecases_esme.py), with the data of each request computed from
the DUIS parameters of the SRV (:mod:`emulator.gbcs.duis_params`). Reads that GBCS
protects (consumption registers and logs) go as an Action on a Data Protection object
(:func:`emulator.gbcs.esme_ops.protected_read`); the ESME answers them encrypted.

DUIS elements read are named next to each entry; absent elements take the default
noted there, so the SIT matrix's empty bodies still give the reference's structure.
Registered in :mod:`emulator.gbcs.usecase_builders`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from typing import Any

from emulator.gbcs.dlms import Data
from emulator.gbcs.duis_params import ALL_FROM, ALL_TO, CANCEL, NOT_SPECIFIED, Params, dlms_datetime, execution_time
from emulator.gbcs.esme_alerts import ALERT_BEHAVIOURS
from emulator.gbcs.esme_config import CONFIG
from emulator.gbcs.esme_ops import Op, Protected, access_request, act, get, protected_read, put, read_range
from emulator.gbcs.esme_schedule import ALCS_SCHEDULER, CONTROLLER_SCHEDULER, prepayment_configuration
from emulator.gbcs.esme_tariff import TARIFF
from emulator.gbcs.esme_writes import WRITES
from emulator.gbcs.usecase_builders import Builder, UseCaseRequest

# Reads with no DUIS parameter but ReadLogPeriod (StartDateTime/EndDateTime; default: all).
READS: dict[str, tuple[Op, ...]] = {
    "ECS52": (get(1, "0-0:0.2.1.255"),),
    "ECS23": (get(3, "1-0:32.32.0.4"), get(3, "1-0:32.32.0.4", 3), get(3, "1-0:32.36.0.4"),
        get(3, "1-0:32.36.0.4", 3), read_range(7, "1-0:32.24.0.255"), get(7, "1-0:32.24.0.255", 4)),
    "ECS23b": (get(3, "1-0:32.32.0.4"), get(3, "1-0:32.32.0.4", 3), get(3, "1-0:32.36.0.4"),
        get(3, "1-0:32.36.0.4", 3), read_range(7, "1-0:32.24.0.255"), get(7, "1-0:32.24.0.255", 4),
        get(3, "1-0:52.32.0.4"), get(3, "1-0:52.32.0.4", 3), get(3, "1-0:52.36.0.4"),
        get(3, "1-0:52.36.0.4", 3), read_range(7, "1-0:52.24.0.255"), get(7, "1-0:52.24.0.255", 4),
        get(3, "1-0:72.32.0.4"), get(3, "1-0:72.32.0.4", 3), get(3, "1-0:72.36.0.4"),
        get(3, "1-0:72.36.0.4", 3), read_range(7, "1-0:72.24.0.255"), get(7, "1-0:72.24.0.255", 4)),
    "ECS24": (get(3, "0-0:94.44.1.7"), get(3, "0-0:94.44.1.7", 3), get(20, "0-0:13.0.0.255", 3),
        get(20, "0-0:13.0.0.255", 4), get(20, "0-0:13.0.0.255", 5), get(11, "0-0:11.0.0.255"),
        get(21, "0-0:16.0.11.255"), get(21, "0-0:16.0.12.255"), get(21, "0-0:16.0.13.255"),
        get(21, "0-0:16.0.14.255"), get(21, "0-0:16.0.15.255"), get(21, "0-0:16.0.16.255"),
        get(21, "0-0:16.0.17.255"), get(21, "0-0:16.0.18.255"), get(9000, "0-0:94.44.2.0"),
        get(113, "0-0:19.20.4.255", 5), get(113, "0-0:19.20.0.255", 5)),
    "ECS24b": (get(113, "0-0:19.20.5.255", 5), get(3, "0-0:94.44.1.8"), get(3, "0-0:94.44.1.8", 3),
        get(11, "0-0:11.0.1.255"), get(20, "0-0:13.0.1.255", 3), get(20, "0-0:13.0.1.255", 4),
        get(20, "0-0:13.0.1.255", 5)),
    "ECS18b": (get(1, "0-0:94.44.5.0"), get(1, "0-0:94.44.5.1"), get(4, "1-0:1.6.0.255"),
        get(4, "1-0:1.6.0.255", 3), get(4, "1-0:1.6.0.255", 5), get(4, "1-0:1.6.1.255"),
        get(4, "1-0:1.6.1.255", 3), get(4, "1-0:1.6.1.255", 5), get(10, "0-0:12.0.0.255")),
    "ECS18a": (get(1, "0-0:94.44.5.2"), get(4, "1-0:2.6.0.255"), get(4, "1-0:2.6.0.255", 3),
        get(4, "1-0:2.6.0.255", 5)),
    "ECS26a": (get(113, "0-0:19.20.1.255", 5), get(11, "0-0:11.0.2.255"), get(113, "0-0:19.20.1.255", 8),
        get(113, "0-0:19.20.1.255", 5), get(113, "0-0:19.20.2.255", 5), get(113, "0-0:19.20.2.255", 8),
        get(113, "0-0:19.20.2.255", 5), get(113, "0-0:19.20.3.255", 13), get(9000, "0-0:94.44.2.10"),
        get(21, "0-0:16.0.1.255"), get(9000, "0-0:94.44.2.20"), get(111, "0-0:19.0.0.255", 16),
        get(111, "0-0:19.0.0.255", 18), get(111, "0-0:19.0.0.255", 19), get(112, "0-0:19.10.1.255", 9),
        get(112, "0-0:19.10.1.255", 10), get(10, "0-0:12.0.1.255"), get(111, "0-0:19.0.0.255", 11)),
    "ECS27": (get(9000, "0-0:94.44.0.3"), get(3, "0-0:94.44.42.255"), get(3, "0-0:94.44.42.255", 3),
        get(71, "0-0:17.0.0.255", 4), get(71, "0-0:17.0.0.255", 6), get(71, "0-0:17.0.0.255", 7)),
    "ECS17c": (get(1, "0-0:94.44.34.20"),),
    "ECS82": (get(112, "0-0:19.10.0.255"),),
    "ECS17a": (get(3, "1-0:2.8.0.255"), get(3, "1-0:2.8.0.255", 3), get(3, "1-0:4.8.0.255"),
        get(3, "1-0:4.8.0.255", 3)),
    "ECS20a": (read_range(7, "0-0:98.1.4.255"),),
    "ECS20d": (read_range(7, "0-0:98.1.5.255"),),
    "ECS21c": (read_range(7, "0-0:98.1.10.255"),),
    "ECS22c": (read_range(7, "0-0:99.1.2.255"),),
    "ECS22a": (read_range(7, "0-0:99.1.1.255"),),
    "ECS35a": (read_range(7, "0-0:99.98.0.255"),),
    "ECS35b": (read_range(7, "0-0:99.98.1.255"),),
    "ECS35c": (read_range(7, "0-0:99.98.0.255"),),
    "ECS35d": (read_range(7, "0-0:99.98.1.255"),),
    "ECS35e": (read_range(7, "0-0:99.98.4.255"),),
    "ECS35f": (read_range(7, "0-17:99.98.2.255"),),
    "ECS35g": (read_range(7, "0-17:99.98.2.255"),),
    "ECS25r1": (get(1, "0-30:97.98.15.255"), get(1, "0-30:97.98.16.255"), get(1, "0-30:97.98.17.255"),
        get(1, "0-30:97.98.18.255")),
    "ECS25r2": (get(1, "0-33:97.98.15.255"), get(1, "0-33:97.98.18.255")),
    "ECS26b": (get(71, "0-0:17.0.1.255", 4), get(71, "0-0:17.0.1.255", 6), get(71, "0-0:17.0.2.255", 4),
        get(71, "0-0:17.0.2.255", 6), get(71, "0-0:17.0.3.255", 4), get(71, "0-0:17.0.3.255", 6),
        get(71, "0-0:17.0.4.255", 4), get(71, "0-0:17.0.4.255", 6), get(1, "1-0:32.35.0.4"),
        get(1, "1-0:32.31.0.4")),
    "ECS26k": (get(71, "0-0:17.0.1.255", 4), get(71, "0-0:17.0.1.255", 6), get(71, "0-0:17.0.2.255", 4),
        get(71, "0-0:17.0.2.255", 6), get(71, "0-0:17.0.3.255", 4), get(71, "0-0:17.0.3.255", 6),
        get(71, "0-0:17.0.4.255", 4), get(71, "0-0:17.0.4.255", 6), get(1, "1-0:32.35.0.4"),
        get(1, "1-0:32.31.0.4"), get(1, "1-0:52.31.0.4"), get(1, "1-0:52.35.0.4"), get(1, "1-0:72.31.0.4"),
        get(1, "1-0:72.35.0.4")),
    "ECS26c": (get(1, "0-0:94.44.0.0"), get(1, "0-0:94.44.0.2"), get(1, "0-0:94.44.0.1")),
    "ECS26d": (get(22, "0-0:15.0.0.255", 4),),
    "ECS26l": (get(22, "0-0:15.0.0.255", 4),),
    "ECS26e": (get(1, "0-0:96.1.1.255"), get(1, "0-0:96.1.2.255"), get(1, "0-0:96.1.4.255"),
        get(1, "0-0:96.1.6.255"), get(1, "0-0:94.44.0.4")),
    "ECS26i": (get(1, "0-0:96.1.1.255"), get(1, "0-0:96.1.4.255"), get(1, "0-0:96.1.6.255")),
    "ECS26m": (get(1, "0-0:96.1.2.255"), get(1, "0-0:96.1.4.255"), get(1, "0-0:96.1.6.255"),
        get(1, "0-0:94.44.0.4")),
    "ECS26n": (get(1, "0-0:96.1.4.255"), get(1, "0-0:96.1.6.255")),
    "ECS26f": (get(21, "0-0:16.0.0.255"),),
    "ECS40": (get(1, "0-0:94.44.34.11"), get(1, "1-0:0.0.2.255")),
    "ECS26j": (get(111, "0-0:19.0.0.255"),),
    "ECS61c": (get(1, "0-0:94.44.7.255"), read_range(7, "0-0:99.98.20.255"), get(1, "0-0:94.44.6.1"),
        get(1, "0-0:94.44.6.2"), get(1, "0-0:94.44.6.3"), get(1, "0-0:94.44.6.4"), get(1, "0-0:94.44.6.5")),
    "ECS61d": (get(1, "0-0:94.44.0.11"), get(1, "0-0:94.44.0.12"), get(1, "0-0:94.44.0.13"),
        get(1, "0-0:94.44.0.14"), get(1, "0-0:94.44.0.15"), get(11, "0-0:11.0.3.255"),
        get(10, "0-0:12.0.2.255")),
    "ECS61e": (get(1, "0-0:94.44.0.21"), get(1, "0-0:94.44.0.22"), get(1, "0-0:94.44.0.23"),
        get(1, "0-0:94.44.0.24"), get(1, "0-0:94.44.0.25"), get(1, "0-0:94.44.0.31"), get(1, "0-0:94.44.0.32"),
        get(1, "0-0:94.44.0.33"), get(1, "0-0:94.44.0.34"), get(1, "0-0:94.44.0.35")),
    "ECS45": (get(70, "0-0:96.3.10.255", 3),),
    "ECS61a": (get(1, "0-0:94.44.0.11"), get(1, "0-0:94.44.0.12"), get(1, "0-0:94.44.0.13"),
        get(1, "0-0:94.44.0.14"), get(1, "0-0:94.44.0.15"), get(1, "0-0:94.44.0.21"), get(1, "0-0:94.44.0.22"),
        get(1, "0-0:94.44.0.23"), get(1, "0-0:94.44.0.24"), get(1, "0-0:94.44.0.25"),
        get(11, "0-0:11.0.3.255"), get(10, "0-0:12.0.2.255"), get(70, "0-1:96.3.10.255"),
        get(70, "0-2:96.3.10.255"), get(70, "0-3:96.3.10.255"), get(70, "0-4:96.3.10.255"),
        get(70, "0-5:96.3.10.255")),
}

_REG = "0-0:94.44.34."  # the protected register objects read by ECS17x and ECS19
# Protected reads: (Data Protection object, attributes read). ``period``: ReadLogPeriod applies.
PROTECTED: dict[str, tuple[str, tuple[Protected, ...]]] = {
    "ECS17b": ("0-0:43.2.8.255", (Protected(1, _REG + "10"),)),  # import energy registers
    "ECS17d": ("0-0:43.2.9.255", (Protected(1, _REG + "1"),)),  # import TOU registers
    "ECS17e": ("0-0:43.2.10.255", (Protected(1, _REG + "2"),)),  # import TOU with blocks
    "ECS19": ("0-0:43.2.1.255", (Protected(1, _REG + "30"),)),  # prepayment values
    "ECS20b": ("0-0:43.2.3.255", (Protected(7, "0-0:98.1.2.255", period=True),)),  # CoM/tariff billing log
    "ECS20c": ("0-0:43.2.2.255", (Protected(7, "0-0:98.1.0.255", period=True),
                                  Protected(7, "0-0:98.1.1.255", period=True))),  # billing calendar log
    "ECS21a": ("0-0:43.2.5.255", (Protected(7, "0-0:98.1.9.255", period=True),)),  # import daily read log
    "ECS21b": ("0-0:43.2.6.255", (Protected(7, "0-0:98.1.8.255", period=True),)),  # prepayment daily read log
    "ECS22b": ("0-0:43.2.7.255", (Protected(7, "0-0:99.1.0.255", period=True),)),  # active import profile
    "ECS66": ("0-0:43.2.4.255", (Protected(7, "0-0:99.1.3.255", period=True),)),  # daily consumption log
}


def _ops(ops: tuple[Op, ...]) -> Builder:
    return lambda req: access_request(ops, req)


def _payment_mode(prepayment: bool) -> Callable[[UseCaseRequest], bytes]:
    """1.6 UpdatePaymentMode: ``Credit`` or ``Prepayment`` (SuspendDebtDisabled, SuspendDebtEmergency,
    DisablementThreshold), ExecutionDateTime (immediate when absent; ``Cancel`` = true cancels a pending
    change, as the RTDS cancellation variant). Not DUIS: ``ESMEVariant`` "B" (twin element) adds the
    second element's charges; the DSP knows it from the inventory. The credit/charge flags (C0 time debt
    collection suspended while disabled, the emergency-credit charges left out when suspended in emergency)
    follow the RTDS examples."""
    account = "0-1:19.0.0.255"

    def charges(p: Params) -> Data:
        twin = p.text("ESMEVariant", "A").upper() == "B"
        refs: list[tuple[int, int, int]] = [(0, 0, 0xE0), (0, 4, 0xE0)]
        if prepayment:
            time_debt = 0xC0 if p.bool("SuspendDebtDisabled", False) else 0xE0
            refs += [(0, 1, time_debt), (0, 2, time_debt), (0, 3, 0xE0), (1, 3, 0xE0), (1, 0, 0xE0), (1, 4, 0xE0),
                     (1, 1, time_debt), (1, 2, time_debt)]
            if not p.bool("SuspendDebtEmergency", False):
                refs += [(2, 4, 0xE0), (2, 1, 0xE0), (2, 2, 0xE0)]
            if twin:
                refs += [(0, 5, 0xE0), (1, 5, 0xE0)]
        elif twin:
            refs.append((0, 5, 0xE0))
        return Data("array", tuple(Data("structure", (
            Data("octet-string", bytes((0, 0, 19, 10, credit, 255))),
            Data("octet-string", bytes((0, 0, 19, 20, charge, 255))), Data("bit-string", (3, bytes((bits,))))))
            for credit, charge, bits in refs))

    def when(p: Params) -> bytes:
        return CANCEL if p.bool("Cancel", False) else execution_time(p)

    mode = Data("structure", (Data("enum", 2 if prepayment else 1), Data("enum", 1)))
    ops: tuple[Op, ...] = (put(111, account, 2, mode),)
    if prepayment:
        ops += (put(9000, "0-0:94.44.128.22", 4, lambda p: Data("double-long", p.int("DisablementThreshold", 0))),)
    ops += (put(111, account, 11, charges),)
    if prepayment:
        ops += (put(9000, "0-0:94.44.128.22", 6, lambda p: Data("octet-string", when(p))),)
    ops += (put(111, account, 13, lambda p: Data("octet-string", when(p))),)
    return _ops(ops)


def _clock_sync(req: UseCaseRequest) -> bytes:
    """6.11 SynchroniseClock / 8.1.1 CommissionDeviceSynchroniseClock: CurrentDateTime, TolerancePeriod
    (s, default 60). The validity window is [CurrentDateTime, CurrentDateTime + TolerancePeriod]: an ESME
    whose clock lies outside it takes CurrentDateTime. Without CurrentDateTime the window is all time
    (the clock is kept): the DSP fills CurrentDateTime from its own clock when it has one."""
    p = Params(req.body)
    clock = "0-0:1.0.0.255"
    current = p.datetime("CurrentDateTime")
    if current is None:
        start, end = ALL_FROM, ALL_TO
    else:
        start, end = current, current + _dt.timedelta(seconds=p.int("TolerancePeriod", 60))
    window = Data("structure", (Data("octet-string", NOT_SPECIFIED), Data("octet-string", dlms_datetime(start)),
                                Data("octet-string", dlms_datetime(end))))
    ops = (put(8, clock, 9, Data("enum", 5)), act(8, clock, 5, window), act(8, clock, 4),
           get(8, clock, 2), get(8, clock, 4))
    return access_request(ops, req)


BUILDERS: dict[str, Builder] = {
    **{name: _ops(ops) for name, ops in READS.items()},
    **{name: protected_read(obj, targets) for name, (obj, targets) in PROTECTED.items()},
    **{name: _ops(ops) for name, ops in WRITES.items()},
    **{name: _ops(ops) for name, ops in ALERT_BEHAVIOURS.items()},
    **{name: _ops(ops) for name, ops in CONFIG.items()},
    **{name: _ops(ops) for name, ops in TARIFF.items()},
    "ECS46c": _ops(ALCS_SCHEDULER),
    "ECS46d": _ops(CONTROLLER_SCHEDULER),
    "ECS08": _ops(prepayment_configuration(max_balance_attribute=2)),
    "ECS08a": _ops(prepayment_configuration(max_balance_attribute=4)),
    "ECS02": _payment_mode(prepayment=False),
    "ECS03": _payment_mode(prepayment=True),
    "ECS70": _clock_sync,
    "ECS70Commission": _clock_sync,
}


# One message code, several commands: the RTDS names these use cases by the SRV that sends them
# (``ECS47Activate_7.5``, ``ECS62Remove_7.10``); (SRV, use case) -> the builder's name.
BY_SRV: dict[tuple[str, str], str] = {
    ("7.5", "ECS47"): "ECS47Activate", ("7.6", "ECS47"): "ECS47Deactivate", ("7.8", "ECS47"): "ECS47Reset",
    ("7.9", "ECS62"): "ECS62Add", ("7.10", "ECS62"): "ECS62Remove",
}


# --- which ESME use case an SRV becomes, by what its DUIS body asks ----------------------------
# (for emulator.gbcs.usecases' body-dependent selection; None: the SRV's default use case)
_LOGS = {"Event": "ECS35a", "Security": "ECS35b", "PowerEvent": "ECS35e", "ALCSEvent": "ECS35f"}
_ALERT_SETTINGS = (("ElectricitySupplierHANAlertSettings", "ECS25a1"), ("ElectricitySupplierAlarmSettings", "ECS25a2"),
                   ("ElectricitySupplierLoggingSettings", "ECS25a3"),
                   ("ElectricityNetworkOperatorLoggingSettings", "ECS25b3"),
                   ("ElectricityNetworkOperatorAlerts", "ECS25b"), ("ElectricitySupplierAlerts", "ECS25a"))


def _balance(p: Params) -> str | None:
    return "ECS04b" if p.has("ResetMeterBalance") else "ECS04a" if p.has("AdjustMeterBalance") else None


def _mode(p: Params) -> str | None:
    return "ECS03" if p.has("Prepayment") else "ECS02" if p.has("Credit") else None


def _clear_log(p: Params) -> str | None:
    return {"ESME": "ECS15a", "ALCS": "ECS15c"}.get(p.text("ClearEventLog", ""))


def _voltage(p: Params) -> str | None:
    if not (p.has("SinglePhaseVoltageSettings") or p.has("PolyPhaseVoltageSettings")):
        return None
    poly, keep = p.has("PolyPhaseVoltageSettings"), p.has("RMSVoltageCountersNotReset")
    return {(False, False): "ECS29a", (True, False): "ECS29b", (False, True): "ECS29c", (True, True): "ECS29d"}[
        (poly, keep)]


def _log(p: Params) -> str | None:
    return _LOGS.get(p.text("LogToRead", ""))


def _alerts(p: Params) -> str | None:
    return next((uc for element, uc in _ALERT_SETTINGS if p.has(element)), None)


SELECTORS: dict[str, Callable[[Params], str | None]] = {
    "1.5": _balance, "1.6": _mode, "3.3": _clear_log, "6.5": _voltage, "6.13": _log, "6.22": _alerts,
}


def select(srv: str, body: Mapping[str, Any]) -> str | None:
    """The ESME use case the DUIS ``body`` of ``srv`` asks for, or None (the SRV's default)."""
    chooser = SELECTORS.get(srv)
    return chooser(Params(body)) if chooser is not None and body else None

"""ESME use cases that change the meter: supply, balance, configuration, labels, thresholds.

One entry per use case: the ordered DLMS requests GBCS defines for it, each with the DUIS
element it carries (named in the comment; default in the call when the element is absent).
"""

from __future__ import annotations

from emulator.gbcs.dlms import Data
from emulator.gbcs.duis_params import ParameterError, Params, dlms_datetime, execution_time
from emulator.gbcs.esme_ops import Op, Predicate, ValueFn, act, put
from emulator.gbcs.esme_schedule import controller_script

SUPPLY_SCRIPTS = "0-0:10.0.106.255"  # disconnector script table: 51 disable, 52 arm, 54 enable
SCRIPT_DISABLE, SCRIPT_ARM, SCRIPT_ENABLE = 51, 52, 54
TARIFF_SCRIPTS = "0-0:10.0.100.255"  # tariffication script table: 99 resets the block counter matrix
AUX_SCRIPTS = "0-0:10.0.103.255"
ACCOUNT = "0-0:19.10."  # credit objects 0 meter balance, 1 emergency credit, 2 debt


def _text(name: str, default: str = "") -> ValueFn:
    return lambda p: Data("octet-string", p.text(name, default).encode("latin-1"))


def _when(name: str) -> ValueFn:
    def value(p: Params) -> Data:
        t = p.datetime(name)
        return Data("octet-string", b"" if t is None else dlms_datetime(t))
    return value


def _boost(element: str, i: int, adding: bool) -> ValueFn:
    """7.9 AddToBoostButton / 7.10 RemoveFromBoostButton: five booleans, each with its ``index`` (1-5).
    The object holds "in the boost group": added -> true, removed -> false; an index not given keeps the
    use case's sense (all five, as the RTDS examples)."""
    def value(p: Params) -> Data:
        chosen = True
        for item in _listed(p.find(element)):
            if isinstance(item, dict) and str(item.get("@index", item.get("index", ""))).strip() == str(i + 1):
                chosen = Params({"v": item.get("#text", item.get("value", "true"))}).bool("v", True)
        in_group = chosen if adding else not chosen
        return Data("boolean", 0xFF if in_group else 0x00)
    return value


def _listed(node: object) -> list[object]:
    return node if isinstance(node, list) else [] if node is None else [node]


def _mpans(p: Params) -> Data:
    """6.20.1: ImportMPAN, then SecondaryImportMPAN for a twin element ESME, as one string."""
    return Data("octet-string", (p.text("ImportMPAN", "") + p.text("SecondaryImportMPAN", "")).encode("ascii"))


def _tamper(p: Params) -> Data:
    """6.25 SupplyTamperState: ``Locked`` (true) or ``Unlocked``."""
    return Data("boolean", 0xFF if p.text("SupplyTamperState", "Locked").lower() == "locked" else 0x00)


def _thresholds(p: Params) -> Data:
    """6.12: LowMediumPowerThreshold, MediumHighPowerThreshold (W)."""
    return Data("array", (Data("double-long-unsigned", p.int("LowMediumPowerThreshold", 0)),
                          Data("double-long-unsigned", p.int("MediumHighPowerThreshold", 0))))


_LABELS = tuple(f"0-0:94.44.0.{11 + i}" for i in range(5))  # ALCS/HCALCS switch descriptions 1-5


def _label(i: int) -> Op:
    """6.14.1 ALCSHCALCSDescription/SwitchDescription (the i-th of up to 5; only those given)."""
    def value(p: Params) -> Data:
        return Data("visible-string", _description(p, i))

    return put(1, _LABELS[i], 2, value, when=lambda p: _description(p, i) != "" or not p.body)


def _description(p: Params, i: int) -> str:
    found = p.find("ALCSHCALCSDescription")
    items = found if isinstance(found, list) else [found] if found is not None else []
    for item in items:  # the XML attribute ``index`` (1-5), given as "index" or "@index"
        if isinstance(item, dict) and str(item.get("index", item.get("@index", ""))).strip() == str(i + 1):
            return str(item.get("SwitchDescription", ""))
    return "" if p.body else f"ALCS_{i + 1}"


# --- auxiliary load control (7.5, 7.6, 7.8) and auxiliary proportional controllers (7.13, 7.16) ---
# GBCS's ALCS script table is not public here; the identifiers follow the RTDS examples, read the way
# the ALCS scheduler (ECS46c) uses them: switch index in the high byte, action in the low byte
# (0x01 on, 0x02 off, 0x11 on for a duration, 0x12 off for a duration, 0x20 reset); the duration of
# switch i sits in 0-0:94.44.(116 + i).1 (on) / .2 (off); a controller's scripts are built by
# :func:`emulator.gbcs.esme_schedule.controller_script`, its period objects are 0-0:94.44.(116 + N).x.
ALCS_ACTIVATE, ALCS_DEACTIVATE, ALCS_RESET = 0x11, 0x12, 0x20


def _index(p: Params, element: str) -> int:
    found = p.find(element)
    raw = found.get("index", found.get("@index", 1)) if isinstance(found, dict) else 1
    index = int(str(raw))
    if not 1 <= index <= 5:
        raise ParameterError(f"{element} index must be 1-5, got {index}", field=element)
    return index


def _alcs(element: str, action: int, duration_field: int | None) -> tuple[Op, ...]:
    """ActivateALCSHCALCS / DeactivateALCSHCALCS (index, Duration s) / ResetALCSHCALCS (index)."""
    script = act(9, AUX_SCRIPTS, 1, lambda p: Data("long-unsigned", (_index(p, element) << 8) | action))
    if duration_field is None:
        return (script,)

    def indexed(i: int) -> Predicate:
        return lambda p: _index(p, element) == i

    # the duration object depends on the index: one request per possible index, the indexed one chosen
    ops = tuple(put(1, f"0-0:94.44.{116 + i}.{duration_field}", 2,
                    lambda p: Data("long-unsigned", p.int("Duration", 0)), when=indexed(i)) for i in range(1, 6))
    return (*ops, script)


def _controller(table: str, first_field: int) -> tuple[Op, ...]:
    """SetAuxiliaryControllerState / LimitAPCLevel (attribute auxiliaryControllerN, default 1): StartDateTime,
    EndDateTime into controller N's period objects, then its level script (CommandedStateLevel 0-100,
    InputFromControlledLoad present: the input side)."""
    def number(p: Params) -> int:
        return p.int("auxiliaryControllerN", p.int("@auxiliaryControllerN", 1))

    def script(p: Params) -> Data:
        return Data("long-unsigned", controller_script(number(p), p.int("CommandedStateLevel", 0),
                                                       p.has("InputFromControlledLoad"), scheduled=False))

    def numbered(n: int) -> Predicate:
        return lambda p: number(p) == n

    ops: list[Op] = []
    for n in range(1, 6):
        ops.append(put(1, f"0-0:94.44.{116 + n}.{first_field}", 2, _when("StartDateTime"), when=numbered(n)))
        ops.append(put(1, f"0-0:94.44.{116 + n}.{first_field + 1}", 2, _when("EndDateTime"), when=numbered(n)))
    return (*ops, act(9, table, 1, script))


_BOOST = tuple(f"0-0:94.44.6.{i}" for i in range(1, 6))


WRITES: dict[str, tuple[Op, ...]] = {
    # 7.1 / 7.2 / 7.3: no parameters; the disconnector scripts.
    "ECS42": (act(9, SUPPLY_SCRIPTS, 1, Data("long-unsigned", SCRIPT_DISABLE)),),
    "ECS43": (act(9, SUPPLY_SCRIPTS, 1, Data("long-unsigned", SCRIPT_ARM)),),
    "ECS44": (act(9, SUPPLY_SCRIPTS, 1, Data("long-unsigned", SCRIPT_ENABLE)),),
    # 1.5 UpdateMeterBalance / AdjustMeterBalance (amount, currency units x 10^-5 as DUIS gives them).
    "ECS04a": (act(112, ACCOUNT + "0.255", 1, lambda p: Data("double-long", p.int("AdjustMeterBalance", 0))),),
    # 1.5 ResetMeterBalance: meter balance, emergency credit and debt to zero.
    "ECS04b": tuple(act(112, f"{ACCOUNT}{i}.255", 2, Data("double-long", 0)) for i in range(3)),
    # 1.7 ResetTariffBlockCounterMatrix: no parameters.
    "ECS05": (act(9, TARIFF_SCRIPTS, 1, Data("long-unsigned", 99)),),
    # 2.5 ActivateEmergencyCredit: no parameters.
    "ECS09": (act(112, ACCOUNT + "1.255", 3),),
    # 3.1 DisplayMessage: SupplierMessage.
    "ECS10": (put(1, "0-2:96.13.1.255", 2, _text("SupplierMessage")),),
    # 3.2 RestrictAccessForChangeOfTenancy: RestrictionDateTime.
    "ECS12": (put(1, "0-0:94.44.3.2", 2, _when("RestrictionDateTime")),),
    # 3.3 ClearEventLog (ECS15a event log, ECS15c ALCS event log): no parameters.
    "ECS15a": (act(7, "0-0:99.98.0.255", 1),),
    "ECS15c": (act(7, "0-17:99.98.2.255", 1),),
    # 3.4 UpdateSupplierName: SupplierName, SupplierTelephoneNumber.
    "ECS16": (put(9000, "0-0:96.13.0.255", 2, _text("SupplierTelephoneNumber")),
              put(9000, "0-0:96.13.1.255", 2, _text("SupplierName"))),
    # 3.5 DisablePrivacyPIN: no parameters (the PIN becomes empty).
    "ECS14": (put(1, "0-0:94.44.3.1", 2, Data("octet-string", b"")),),
    # 6.12 UpdateDeviceConfigurationInstantaneousPowerThreshold.
    "ECS34": (put(21, "0-0:16.0.0.255", 2, _thresholds),),
    # 6.14.1 UpdateDeviceConfigurationALCDescriptions (empty body: all five, default labels).
    "ECS46a": tuple(_label(i) for i in range(5)),
    # 6.18.2 ResetMaximumDemandRegisters: no parameters.
    "ECS57": tuple(act(4, ln, 1) for ln in ("1-0:1.6.0.255", "1-0:1.6.1.255", "1-0:2.6.0.255")),
    # 6.20.1 SetDeviceConfigurationImportMPxN (ImportMPAN, SecondaryImportMPAN); 6.20.2 ExportMPAN.
    "ECS39a": (put(1, "0-0:94.44.34.11", 2, _mpans),),
    "ECS39b": (put(1, "1-0:0.0.2.255", 2, _text("ExportMPAN")),),
    # 6.25 SetElectricitySupplyTamperState.
    "ECS81": (put(1, "0-0:94.44.0.4", 2, _tamper),),
    # 6.27 UpdateDeviceConfigurationRMSVoltageCounterReset (single phase: the two counters).
    "ECS29e": (act(3, "1-0:32.32.0.4", 1), act(3, "1-0:32.36.0.4", 1)),
    "ECS29f": tuple(act(3, f"1-0:{ph}.{kind}.0.4", 1) for ph in (32, 52, 72) for kind in (32, 36)),
    # 6.4.2 UpdateDeviceConfigurationLoadLimitingCounterReset.
    "ECS28b": (act(3, "0-0:94.44.42.255", 1),),
    # 7.12 SetRandomisedOffsetLimit (seconds).
    "ECS38": (put(1, "0-0:94.44.0.1", 2, lambda p: Data("long-unsigned", p.int("RandomisedOffsetLimit", 0))),),
    # 7.9 / 7.10 Add/RemoveAuxiliaryLoadToBoostButton: one flag per ALCS (all five when not given).
    "ECS62Add": tuple(put(1, ln, 2, _boost("AddToBoostButton", i, adding=True)) for i, ln in enumerate(_BOOST)),
    "ECS62Remove": tuple(put(1, ln, 2, _boost("RemoveFromBoostButton", i, adding=False))
                         for i, ln in enumerate(_BOOST)),
    # 9.1 RequestCustomerIdentificationNumber: the DSP's CustomerIdentificationNumber.
    "ECS50": (put(1, "0-3:96.13.1.255", 2, _text("CustomerIdentificationNumber", "0000")),),
    # 6.26 daily resetting of the tariff block counter matrix: midnight, every day.
    "ECS48": (put(22, "0-0:15.1.0.255", 4, Data("array", (Data("structure", (
        Data("octet-string", bytes.fromhex("00000000")), Data("octet-string", bytes.fromhex("FFFFFFFFFF")))),))),),
    "ECS47Activate": _alcs("ActivateALCSHCALCS", ALCS_ACTIVATE, 1),
    "ECS47Deactivate": _alcs("DeactivateALCSHCALCS", ALCS_DEACTIVATE, 2),
    "ECS47Reset": _alcs("ResetALCSHCALCS", ALCS_RESET, None),
    "ECS47a": _controller(AUX_SCRIPTS, 1),
    "ECS47e": _controller("0-0:10.0.107.255", 3),
}

__all__ = ["WRITES", "execution_time"]

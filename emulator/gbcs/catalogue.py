"""The GBCS/DUIS catalogues as typed tables: message codes, alert codes and SRVs.

The tables are package data (``emulator/data/*.csv``, copied from the project's
shared catalogue) read once through ``importlib.resources`` - static data shipped
with the code, not run-time I/O. Rules elsewhere look things up here rather than
carrying their own lists.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class MessageCodeInfo:
    code: int
    use_case: str
    gbcs_type: str  # SME.C.C critical command, SME.C.NC, SME.A.C critical alert, ...
    service_reference: str
    protection_command: str  # "M", "S", "" as seen on the reference vectors
    protection_response: str
    protection_alert: str

    @property
    def use_case_id(self) -> str:
        """The leading use-case token, e.g. ``ECS52`` or ``CCS01``."""
        return self.use_case.split(" ", 1)[0]

    @property
    def critical(self) -> bool:
        return self.gbcs_type in ("SME.C.C", "SME.A.C")

    @property
    def command_always_signed(self) -> bool:
        """Every reference form of the command carries a signature: ``S``, ``M+S``, ``M+S/pre``
        (``/pre``: also issued as a Pre-Command), but not ``M/S`` (some variants are MAC only).

        For the codes whose type is "See GBCS" (CS02b, CS02g: the variant decides) this is the
        only place the catalogue says a signature is due."""
        forms = [f for f in self.protection_command.split("/") if f and f != "pre"]
        return bool(forms) and all("S" in f.split("+") for f in forms)


@dataclass(frozen=True, slots=True)
class AlertCodeInfo:
    code: int
    name: str
    group: str  # security, safety, firmware, other


@dataclass(frozen=True, slots=True)
class SrvInfo:
    srv: str
    name: str
    critical: bool
    on_demand: bool
    future_dated: str
    dcc_scheduled: bool
    non_device: bool
    roles: tuple[str, ...]
    use_cases: tuple[str, ...]
    body_element: str
    command_variants: tuple[int, ...]
    restricted_class: str  # CONS, CONS?, FW, SEC, NDS, OPS

    @property
    def device_types(self) -> tuple[str, ...]:
        """Device types the SRV applies to, from its use cases (ECS → ESME, GCS → GSME/GPF, ...)."""
        kinds: list[str] = []
        for uc in self.use_cases:
            if uc.startswith("ECS"):
                kinds.append("ESME")
            elif uc.startswith("GCS"):
                kinds.extend(("GSME", "GPF"))
            elif uc.startswith("CCS"):
                kinds.append("CHF")
            elif uc.startswith("CS"):
                kinds.extend(("ESME", "GSME"))
            elif uc.startswith("PCS"):
                kinds.append("PPMID")
        return tuple(dict.fromkeys(kinds))


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("emulator.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _yes(value: str) -> bool:
    return value.strip().lower() in ("yes", "y", "true")


@cache
def message_codes() -> dict[int, MessageCodeInfo]:
    return {
        int(r["code"], 16): MessageCodeInfo(
            int(r["code"], 16), r["use_case"].strip(), r["gbcs_type"].strip(),
            r["service_reference"].strip(), r["rtds_command"].strip(), r["rtds_response"].strip(),
            r["rtds_alert"].strip())
        for r in _rows("message_codes.csv")
    }


@cache
def alert_codes() -> dict[int, AlertCodeInfo]:
    out: dict[int, AlertCodeInfo] = {}
    for r in _rows("alert_codes.csv"):
        code = int(r["code"], 16)
        # The file's restricted_default column (the shared catalogue's first guess) is not read:
        # the Restricted alert list has one home, emulator/data/restricted_alerts.csv (RM-5).
        out[code] = AlertCodeInfo(code, r["name"].strip(), r["group"].strip())
    return out


def _variants(body: str) -> tuple[str, tuple[int, ...]]:
    # "UpdateImportTariffPrimaryElement [4]" or "ReadInventory [8]" or "X [1,2,3]"
    if "[" in body:
        element, _, rest = body.partition("[")
        nums = tuple(int(x) for x in rest.rstrip("]").replace(" ", "").split(",") if x.isdigit())
        return element.strip(), nums
    return body.strip(), ()


@cache
def srvs() -> dict[str, SrvInfo]:
    out: dict[str, SrvInfo] = {}
    for r in _rows("srvs.csv"):
        element, variants = _variants(r["duis_body_element_and_cv"])
        out[r["srv"].strip()] = SrvInfo(
            srv=r["srv"].strip(),
            name=r["name"].strip(),
            critical=_yes(r["critical"]),
            on_demand=_yes(r["on_demand"]),
            future_dated=r["future_dated_response"].strip(),
            dcc_scheduled=_yes(r["dcc_scheduled"]),
            non_device=_yes(r["non_device"]),
            roles=tuple(x.strip() for x in r["roles"].split(",") if x.strip()),
            use_cases=tuple(x.strip() for x in r["gbcs_use_cases"].split(",") if x.strip()),
            body_element=element,
            command_variants=variants,
            restricted_class=r["restricted_class"].strip(),
        )
    return out


def use_case_of(message_code: int) -> str:
    info = message_codes().get(message_code)
    return info.use_case_id if info else f"0x{message_code:04X}"

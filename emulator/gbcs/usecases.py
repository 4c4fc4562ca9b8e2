"""SRV x device type -> GBCS use case and message code, derived from the catalogues.

The SRV table lists use cases loosely (``ECS04a/b``, ``ECS47 (activate)``,
``CS02b (SupplierByTransCoS)``); this resolves each to the message codes the
message-code table knows, so the DSP can frame a command for any device SRV.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from emulator.gbcs import catalogue

_TOKEN = re.compile(r"([A-Z]+\d+[A-Za-z0-9]*)")

# CS02b qualifiers of the SRV table that are not part of the GBCS variant's name, -> the variant.
# An unmatched qualifier used to fall through to the first code, 0x0100 rootBySupplier, which no
# DUIS SRV sends. 6.21 hands over what the DCC held for the supplier or the network operator: the
# RTDS 6.21 folders are CS02bSupplierBySupplierHandover (0x0102) and CS02bNOByNOHandover (0x0103),
# and the request's RemotePartyRole picks which (usecases_common.credentials_message_code).
# Without a qualifier (6.15.1, a KRP update) the default is supplierBySupplier too.
_CS02B_VARIANTS: dict[str, str] = {"": "supplierbysupplier", "handover": "supplierbysupplier",
                                   "acbbyacb": "accesscontrolbrokerbyacb"}

# Device type -> use-case prefixes it answers (GBCS: E = ESME, G = GSME/GPF, C = CHF, CS = both meters).
_PREFIXES: dict[str, tuple[str, ...]] = {
    "ESME": ("ECS", "CS"),
    "GSME": ("GCS", "CS"),
    "GPF": ("GCS", "CS"),
    "CHF": ("CCS", "DBCH", "CS"),
    "PPMID": ("PCS",),
}


@dataclass(frozen=True, slots=True)
class UseCase:
    srv: str
    device_type: str
    use_case: str
    message_code: int
    critical: bool


@cache
def _codes_by_use_case() -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for code, info in sorted(catalogue.message_codes().items()):
        out.setdefault(info.use_case_id, []).append(code)
    return out


def _resolve_token(token: str) -> list[int]:
    exact = _codes_by_use_case().get(token)
    if exact:
        return exact
    # "ECS47" -> ECS47a, ECS47e ...; "CS03C" -> CS03C...
    return [c for uc, codes in _codes_by_use_case().items() if uc.startswith(token) for c in codes]


def _matches(use_case: str, device_type: str) -> bool:
    uc = use_case.upper()
    for prefix in _PREFIXES.get(device_type, ()):
        if uc.startswith(prefix) and not (prefix == "CS" and uc.startswith(("CCS", "ECS", "GCS", "PCS"))):
            return True
    return False


@cache
def use_case_for(srv: str, device_type: str) -> UseCase | None:
    """The use case of ``srv`` for ``device_type`` (None: the SRV has none for that type).

    Among the candidates, one named by the SRV's qualifier wins (``CS02b (SupplierByTransCoS)``),
    then one whose criticality matches the SRV's (8.7.2 is the non-critical join), then the first.
    """
    info = catalogue.srvs().get(srv)
    if info is None:
        return None
    candidates: list[tuple[int, bool]] = []  # (code, qualifier matched)
    for raw in info.use_cases:
        match = _TOKEN.match(raw.strip())
        if not match or not _matches(match.group(1), device_type):
            continue
        qualifier = raw[raw.find("(") + 1:raw.rfind(")")].lower() if "(" in raw else ""
        for code in _resolve_token(match.group(1)):
            name = catalogue.message_codes()[code].use_case.lower()
            hit = bool(qualifier) and qualifier in name
            if match.group(1) == "CS02b":
                hit = f"({_CS02B_VARIANTS.get(qualifier, qualifier)})" in name
            candidates.append((code, hit))
    if not candidates:
        return None
    codes = [c for c, hit in candidates if hit] or [c for c, _ in candidates]
    # A use case for this very device type (ECS for an ESME) beats a generic one (CS).
    own = _PREFIXES.get(device_type, ("",))[0]
    codes.sort(key=lambda c: not catalogue.message_codes()[c].use_case_id.startswith(own))
    same = [c for c in codes if catalogue.message_codes()[c].critical == info.critical]
    code = (same or codes)[0]
    mc = catalogue.message_codes()[code]
    return UseCase(srv, device_type, mc.use_case_id, code, mc.critical or info.critical)


def device_types_for(srv: str) -> tuple[str, ...]:
    """Device types for which ``srv`` resolves to a message code."""
    return tuple(d for d in _PREFIXES if use_case_for(srv, d) is not None)


@cache
def srvs_for_message_code(message_code: int) -> frozenset[str]:
    """Every SRV whose use cases include ``message_code``: what a frame's use case stands for,
    whichever SRV a user claimed for it (the Restricted rules decide on this, RM-4)."""
    out: set[str] = set()
    for srv, info in catalogue.srvs().items():
        for raw in info.use_cases:
            match = _TOKEN.match(raw.strip())
            if match and message_code in _resolve_token(match.group(1)):
                out.add(srv)
    return frozenset(out)


# Use cases chosen by what the request asks, not by the SRV alone: (SRV, DUIS body element) ->
# the use case per device type. SRV 1.6 Update Payment Mode is ECS02/GCS02 (to credit) or
# ECS03/GCS03 (to prepayment) depending on its DUIS choice element.
_BY_BODY_ELEMENT: dict[tuple[str, str], dict[str, str]] = {
    ("1.6", "Prepayment"): {"ESME": "ECS03", "GSME": "GCS03"},
    ("1.6", "Credit"): {"ESME": "ECS02", "GSME": "GCS02"},
}


def body_elements(body: Mapping[str, Any]) -> set[str]:
    """The DUIS element names at the top of a request body (and under its one wrapper element)."""
    names = set(body)
    for value in body.values():
        if isinstance(value, Mapping):
            names |= set(value)
    legacy = str(body.get("payment_mode", "")).lower()  # the project's older JSON key
    if legacy in ("prepayment", "credit"):
        names.add(legacy.capitalize())
    return names


def select_use_case(srv: str, device_type: str, body: Mapping[str, Any] | None = None) -> UseCase | None:
    """The use case a request for ``srv`` with ``body`` becomes on ``device_type``."""
    base = use_case_for(srv, device_type)
    if base is None or not body:
        return base
    for element in sorted(body_elements(body)):
        name = _BY_BODY_ELEMENT.get((srv, element), {}).get(device_type)
        if name is not None:
            return use_case_named(base, name)
    return base


def use_case_named(base: UseCase, name: str) -> UseCase:
    """``base`` (an SRV's default use case) replaced by its sibling use case ``name``."""
    code = _codes_by_use_case()[name][0]
    mc = catalogue.message_codes()[code]
    return UseCase(base.srv, base.device_type, name, code, mc.critical or base.critical)

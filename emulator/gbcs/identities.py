"""Reference identities (GBCS test EUI-64s) so fixtures compare with the RTDS vectors."""

from __future__ import annotations

ESME = bytes.fromhex("00DB1234567890A0")
GSME = bytes.fromhex("00DB1234567890A1")
CHF = bytes.fromhex("00DB1234567890A2")
GPF = bytes.fromhex("00DB1234567890A3")
PPMID = bytes.fromhex("00DB1234567890A4")

SUPPLIER = bytes.fromhex("90B3D51F30010000")
NETWORK_OPERATOR = bytes.fromhex("90B3D51F30020000")
SECOND_SUPPLIER = bytes.fromhex("90B3D51F30030000")
ACB = bytes.fromhex("90B3D51F30000002")
RECOVERY = bytes.fromhex("90B3D51F30000001")
TRANSITIONAL_COS = bytes.fromhex("90B3D51F30000004")
WAN_PROVIDER = bytes.fromhex("90B3D51F30000007")
#: Non-device SRVs target the DCC itself (DUIS: 90-B3-D5-1F-30-00-00-02, the ACB's EUI).
DCC = ACB

REMOTE_PARTIES: dict[str, bytes] = {
    "supplier": SUPPLIER,
    "network_operator": NETWORK_OPERATOR,
    "second_supplier": SECOND_SUPPLIER,
    "acb": ACB,
    "recovery": RECOVERY,
    "transitional_cos": TRANSITIONAL_COS,
    "wan_provider": WAN_PROVIDER,
}


def eui_hex(eui: bytes) -> str:
    """Upper-case hex without separators, as GBCS tooling prints EUI-64s."""
    return eui.hex().upper()


def eui_duis(eui: bytes) -> str:
    """DUIS form: ``90-B3-D5-1F-30-01-00-00``."""
    return "-".join(f"{b:02X}" for b in eui)


def parse_eui(text: str) -> bytes:
    """Accept ``90B3D51F30010000``, ``90-b3-...`` or ``90:B3:...``; raise ValueError naming the input."""
    cleaned = text.replace("-", "").replace(":", "").strip()
    try:
        value = bytes.fromhex(cleaned)
    except ValueError:
        raise ValueError(f"{text!r} is not an EUI-64 (16 hex digits)") from None
    if len(value) != 8:
        raise ValueError(f"{text!r} is not an EUI-64 (16 hex digits, got {len(cleaned)})")
    return value

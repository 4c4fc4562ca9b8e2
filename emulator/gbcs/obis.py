"""OBIS logical names (IEC 62056-6-1): the one parser of the ``A-B:C.D.E.F`` text form and the
one table of the COSEM objects that more than one module names, so the DSP's command builders,
the CHF and the ESME's object model cannot drift apart on an object's six bytes.

Objects named only inside one use-case table (``esme_*.py``'s ``get(8, "0-0:1.0.0.255", 2)``
rows, the ESME's factory objects) stay in their tables as text and go through :func:`obis`.
"""

from __future__ import annotations

from emulator.gbcs.errors import EncodeError


def obis(text: str) -> bytes:
    """``"1-0:1.8.0.255"`` -> its 6 bytes; a malformed name is refused, naming it."""
    try:
        a, rest = text.split("-")
        b, rest = rest.split(":")
        value = bytes(int(x) for x in (a, b, *rest.split(".")))
    except ValueError:
        raise EncodeError(f"{text!r} is not an OBIS logical name A-B:C.D.E.F (each 0-255)", field="obis") from None
    if len(value) != 6:
        raise EncodeError(f"{text!r} is not an OBIS logical name A-B:C.D.E.F (six groups)", field="obis")
    return value


# --- identity and firmware (class 1, Data) ---------------------------------------------------------
FIRMWARE_VERSION = obis("0-0:0.2.1.255")  # attribute 2: the active firmware version (ECS52, SRV 11.2, DBCH)

# --- ZigBee network control (class 104): the device logs (CCS01-CCS07) -----------------------------
ZIGBEE_NETWORK_CONTROL = obis("0-0:30.3.0.255")  # the CHF's device log
GPF_NETWORK_CONTROL = obis("0-0:30.3.1.255")  # the GPF's device log

# --- the ESME's measured and controlled objects --------------------------------------------------
CLOCK = obis("0-0:1.0.0.255")
IMPORT_ACTIVE_ENERGY = obis("1-0:1.8.0.255")  # class 3 register
DISCONNECTOR = obis("0-0:96.3.10.255")
ACCOUNT = obis("0-0:19.0.0.255")  # the account in force (ECS26j reads it)
PASSIVE_ACCOUNT = obis("0-1:19.0.0.255")  # the account ECS02/ECS03 write, active from its activation time
TOKEN_GATEWAY = obis("0-0:19.40.0.255")  # class 115: CS01a top up
SUPPLY_SCRIPTS = obis("0-0:10.0.106.255")
TARIFF_SCRIPTS = obis("0-0:10.0.100.255")
EVENT_LOG = obis("0-0:99.98.0.255")
ALCS_LOG = obis("0-17:99.98.2.255")
ALCS_SCRIPTS = obis("0-0:10.0.103.255")  # the auxiliary load control switches' script table

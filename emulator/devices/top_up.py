"""A UTRN entered at a meter (CS01a to an ESME, CS01b to a GSME): whose key checks it, and the
top-up it gives. The token rules are GBCS's (:mod:`emulator.gbcs.utrn`); this names the parties."""

from __future__ import annotations

from emulator.devices.endpoint import GbcsEndpoint
from emulator.gbcs import credentials as cred
from emulator.gbcs import utrn

TOP_UP_CELL = cred.Cell(cred.SUPPLIER, cred.KEY_AGREEMENT, cred.PREPAYMENT_TOP_UP)


def enter(endpoint: GbcsEndpoint, device: bytes, text: str, last_counter: int) -> utrn.TopUp:
    """The top-up of ``text``, checked with the supplier's prepayment key the meter trusts (its
    prepayment top-up cell); raises :class:`~emulator.gbcs.utrn.UtrnError` with the alert to raise."""
    supplier = endpoint.trust.cells.get(TOP_UP_CELL)
    if supplier is None:
        raise utrn.UtrnError("no supplier prepayment key in the trust anchor cells", utrn.NOT_AUTHENTIC)
    return utrn.accept(endpoint.keys, supplier, device, text, last_counter)

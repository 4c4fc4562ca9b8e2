"""A MAC the key store cannot compute (the DSP meets one on every response MACed for a Service User,
whose private key it does not hold) is refused each time with the key it lacks named, and computed
once that key is added: what the store remembers of the failure goes when a key is added."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from emulator.gbcs import frames, security
from emulator.gbcs.errors import MacError, UnknownKeyError
from emulator.gbcs.frames import Cra, Message
from emulator.gbcs.identities import ESME, SUPPLIER
from emulator.gbcs.keys import KeyStore


def _private(eui: bytes) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(eui + b"ka", "big") % (2**255) + 1, ec.SECP256R1())


def _response(counter: int) -> Message:
    return Message(Cra.RESPONSE, counter, ESME, SUPPLIER, 0x0059, b"\xda\x20\x00\x03\xe8\x00\x00\x00\x00",
                   mac_protected=True)


def test_a_missing_key_is_named_every_time_and_a_key_added_later_is_used() -> None:
    device = KeyStore()
    device.add_private(ESME, "ka", _private(ESME))
    device.add_public(SUPPLIER, "ka", _private(SUPPLIER).public_key())
    dsp = KeyStore()  # holds neither party's private key, as the DSP for a response to a user
    dsp.add_public(ESME, "ka", _private(ESME).public_key())
    dsp.add_public(SUPPLIER, "ka", _private(SUPPLIER).public_key())
    for counter in (1, 2, 3):
        msg = frames.decode(security.seal(device, _response(counter)))
        with pytest.raises(UnknownKeyError, match=r"no private ka \(nor one for 90B3D51F30010000\) key for "
                                                  r"00DB1234567890A0"):
            security.verify_mac(dsp, msg)
    dsp.add_private(SUPPLIER, "ka", _private(SUPPLIER))
    good = frames.decode(security.seal(device, _response(4)))
    security.verify_mac(dsp, good)
    with pytest.raises(MacError):
        security.verify_mac(dsp, good.with_(mac=bytes(12)))

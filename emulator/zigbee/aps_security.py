"""APS-layer security with a link key (Zigbee PRO 05-3474 4.4.1 and 4.5; zigbee.md section 4): how
a frame protected by the CBKE link key looks on air, for captures Wireshark decrypts.

The ASDU (the ZCL frame) is encrypted and authenticated with AES-CCM* at security level 5
(ENC-MIC-32) under the data key, which is the link key itself. Between the APS header (with its
security bit set) and the ciphertext comes the auxiliary header:

* security control: level (bits 0-2), key identifier (bits 3-4, 0 = data key), extended nonce
  (bit 5: the source EUI-64 follows the counter);
* the frame counter (u32 LE);
* the source EUI-64 (LE).

The nonce is the source EUI-64 (LE), the counter (LE) and the security control byte. The
additional data is the APS header and the auxiliary header. Both use level 5, but on air the
level is written as 0 (the receiver puts the known level back), and the 4-byte MIC follows the
ciphertext. The virtual bus carries plaintext (docs/cbke.md); :func:`secure_frame` turns a
captured frame into the one a real stack would send, and :func:`unsecure_frame` reverses it.
"""

from __future__ import annotations

from dataclasses import replace

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from emulator.zigbee.aps import ApsHeader, NwkHeader
from emulator.zigbee.errors import FrameDecodeError, ZigbeeEncodeError
from emulator.zigbee.mac import MacHeader, strip_fcs, with_fcs
from emulator.zigbee.pcap import parse_frame
from emulator.zigbee.types import Reader

SECURITY_LEVEL_ENC_MIC_32 = 5
KEY_ID_DATA = 0  # the link key, used as it is
EXTENDED_NONCE = 0x20
MIC_LENGTH = 4


def _control(level: int) -> int:
    return level | KEY_ID_DATA << 3 | EXTENDED_NONCE


def _nonce(source: bytes, counter: int, control: int) -> bytes:
    return source[::-1] + counter.to_bytes(4, "little") + bytes((control,))


def encrypt(header: ApsHeader, payload: bytes, key: bytes, counter: int, source: bytes) -> bytes:
    """The secured APS frame (header with the security bit, auxiliary header, ciphertext, MIC).

    ``source`` is the sender's EUI-64 as printed (most significant byte first).
    """
    if len(key) != 16 or len(source) != 8 or not 0 <= counter < 1 << 32:
        raise ZigbeeEncodeError("APS security needs a 16-byte key, an 8-byte source and a 32-bit counter",
                                field="aps.security")
    head = replace(header, security=True).encode()
    aux_tail = counter.to_bytes(4, "little") + source[::-1]
    control = _control(SECURITY_LEVEL_ENC_MIC_32)
    sealed = AESCCM(key, tag_length=MIC_LENGTH).encrypt(_nonce(source, counter, control), payload,
                                                       head + bytes((control,)) + aux_tail)
    return head + bytes((_control(0),)) + aux_tail + sealed


def decrypt(frame: bytes, key: bytes) -> tuple[ApsHeader, bytes, int, bytes]:
    """(header, payload, counter, source) of a frame :func:`encrypt` made; a wrong key or a changed
    byte is a :class:`FrameDecodeError` naming the MIC."""
    header, rest = ApsHeader.decode(frame)
    if not header.security:
        raise FrameDecodeError("APS frame is not secured", field="aps.security", offset=0)
    head = frame[:len(frame) - len(rest)]
    r = Reader(frame, error=FrameDecodeError, offset=len(head))
    control = r.take(1, "aps.security_control")[0]
    if control & 0x18 != KEY_ID_DATA << 3 or not control & EXTENDED_NONCE:
        raise FrameDecodeError(f"security control 0x{control:02X}: only the data key with an extended nonce is "
                               "supported", field="aps.security_control", offset=len(head))
    counter = r.uint(4, "aps.frame_counter")
    source = r.take(8, "aps.source")[::-1]
    sealed = r.rest()
    if len(sealed) < MIC_LENGTH:
        raise FrameDecodeError("secured APS frame is shorter than its MIC", field="aps.mic", offset=len(frame))
    level5 = (control & ~0x07) | SECURITY_LEVEL_ENC_MIC_32
    aad = head + bytes((level5,)) + counter.to_bytes(4, "little") + source[::-1]
    try:
        payload = AESCCM(key, tag_length=MIC_LENGTH).decrypt(_nonce(source, counter, level5), sealed, aad)
    except InvalidTag:
        raise FrameDecodeError("APS MIC does not verify: another key, or the frame was changed",
                               field="aps.mic", offset=len(frame) - MIC_LENGTH) from None
    return replace(header, security=False), payload, counter, source


def secure_frame(frame: bytes, key: bytes, counter: int) -> bytes:
    """A captured 802.15.4 frame (as :mod:`emulator.zigbee.pcap` builds it, source EUI-64 in the NWK
    header) with its APS payload secured under ``key``; FCS recomputed."""
    parsed = parse_frame(frame)
    source = parsed.nwk.src_ieee
    if source is None:
        raise ZigbeeEncodeError("the NWK header carries no source EUI-64 for the APS nonce", field="nwk.src_ieee")
    body = strip_fcs(frame)
    aps_at = len(body) - len(parsed.payload) - len(parsed.aps.encode())
    return with_fcs(body[:aps_at] + encrypt(parsed.aps, parsed.payload, key, counter, source))


def unsecure_frame(frame: bytes, key: bytes) -> bytes:
    """The reverse of :func:`secure_frame`."""
    body = strip_fcs(frame)
    _, rest = MacHeader.decode(body)
    _, rest = NwkHeader.decode(rest)
    header, payload, _, _ = decrypt(rest, key)
    return with_fcs(body[:len(body) - len(rest)] + header.encode() + payload)

"""The RTDS 4.5.0 CCS01 install code against an independent install-code implementation (zigpy).

Our CHF used to refuse the reference CCS01 (SRV 8.11) command's install code with "install code
CRC is EFCD, expected 3F5C". The CRC was not the fault: ours agrees with zigpy's on every length.
The 16 octets the command carries are the install code itself, without a CRC: the RTDS DUIS
request (SmartDCCInnovation/duis-templates, templates/CCS01_8.11_SUCCESS_REQUEST_DUIS.XML) names
``<sr:InstallCode>30313233343536373839414243444546</sr:InstallCode>``, DUIS allows 6 to 16 bytes
(no room for a 16-byte code's CRC), and the reference CHF accepts it (action result 0). We read
those octets as ASCII hex text ("0123456789ABCDEF"), decoded them to 8 bytes and took the last
two as a CRC. zigpy rejects both misreadings, and accepts the octets once their CRC is appended.
"""

from __future__ import annotations

import random

import pytest

from emulator.devices.device_log import install_code_from_ccs01
from emulator.zigbee.errors import InstallCodeError
from emulator.zigbee.install_code import link_key_from_install_code, with_crc
from tests.conftest import RTDS, need_rtds

zigpy_util = pytest.importorskip("zigpy.util")

CCS01_FILE = "8.11_CCS01/CCS01_8.11_SUCCESS_COMMAND_GBCS.HEX"
# The install code octet string of that file: DLMS 09 10 (octet-string, 16 octets) then these.
RTDS_OCTETS = bytes.fromhex("30313233343536373839414243444546")
# Its CRC-16/X-25, little-endian, and the link key of code + CRC, as zigpy 2.4.0 computes them.
RTDS_CRC = bytes.fromhex("F596")
RTDS_LINK_KEY = bytes.fromhex("17e92caaa342c367e8eddc58eeba69ed")


def test_ic2_the_literal_is_the_reference_files_install_code() -> None:
    need_rtds()
    wire = bytes.fromhex((RTDS / "messages" / CCS01_FILE).read_text().strip())
    # entry: structure(4) { octet-string(8) EUI, enum device type, octet-string(16) install code, ...
    assert b"\x09\x08\x00\xdb\x12\x34\x56\x78\x90\xa0\x16\x01\x09\x10" + RTDS_OCTETS in wire


def test_ic2_zigpy_refuses_both_old_readings_of_the_octets() -> None:
    # As ASCII hex text: 8 bytes, 6 of code and "CRC" CDEF, which is not their CRC.
    with pytest.raises(ValueError, match="Invalid install code CRC"):
        zigpy_util.convert_install_code(bytes.fromhex(RTDS_OCTETS.decode("ascii")))
    # As a code with its CRC: 16 is not a length that carries one (8, 10, 14 or 18).
    with pytest.raises(ValueError, match="Invalid install code length"):
        zigpy_util.convert_install_code(RTDS_OCTETS)
    # And our check says the same, naming the problem.
    with pytest.raises(InstallCodeError, match="install code CRC is EFCD, expected 3F5C"):
        link_key_from_install_code(bytes.fromhex(RTDS_OCTETS.decode("ascii")))
    with pytest.raises(InstallCodeError, match=r"must be 8, 10, 14 or 18 bytes .* got 16"):
        link_key_from_install_code(RTDS_OCTETS)


def test_ic2_zigpy_keys_the_octets_once_their_crc_is_appended_as_the_hub_does() -> None:
    assert bytes(zigpy_util.convert_install_code(RTDS_OCTETS + RTDS_CRC)) == RTDS_LINK_KEY
    with pytest.raises(ValueError, match="Invalid install code CRC"):  # so F596 is the CRC, by zigpy
        zigpy_util.convert_install_code(RTDS_OCTETS + bytes.fromhex("F597"))
    code = install_code_from_ccs01(bytes.fromhex("00DB1234567890A0"), RTDS_OCTETS)
    assert code == RTDS_OCTETS + RTDS_CRC and link_key_from_install_code(code) == RTDS_LINK_KEY


@pytest.mark.parametrize("length", [6, 8, 12, 16])
def test_ic2_our_crc_and_key_agree_with_zigpy(length: int) -> None:
    rng = random.Random(length)
    for _ in range(50):
        code = with_crc(rng.randbytes(length))
        assert bytes(zigpy_util.convert_install_code(code)) == link_key_from_install_code(code)

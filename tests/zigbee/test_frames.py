"""ZCL Tunneling/OTA commands, the OTA file and the pcap: round trips, fuzzing, tshark (DV-5, DV-8)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from emulator.zigbee import ota_file, zcl
from emulator.zigbee.clusters import ota, tunneling
from emulator.zigbee.errors import OtaFileError, ZigbeeError
from emulator.zigbee.packet import HanPacket
from emulator.zigbee.pcap import PcapWriter

u8, u16, u32 = st.integers(0, 0xFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF)
COMMANDS = st.one_of(
    st.builds(tunneling.RequestTunnel, u8, u16, st.booleans(), u16),
    st.builds(tunneling.RequestTunnelResponse, u16, u8, u16),
    st.builds(tunneling.TransferDataClient, u16, st.binary(max_size=300)),
    st.builds(tunneling.TransferDataServer, u16, st.binary(max_size=300)),
    st.builds(ota.ImageNotify, st.integers(0, 3), u8, u16, u16, u32),
    st.builds(ota.QueryNextImage, st.integers(0, 1), u16, u16, u32, u16),
    st.builds(ota.ImageBlockRequest, st.integers(0, 3), u16, u16, u32, u32, u8, st.binary(min_size=8, max_size=8),
              u16),
    st.builds(ota.ImageBlockResponse, st.just(0), u16, u16, u32, u32, st.binary(max_size=64)),
    st.builds(ota.UpgradeEndRequest, u8, u16, u16, u32),
    st.builds(ota.UpgradeEndResponse, u16, u16, u32, u32, u32),
)


def _normalise(cmd: zcl.ZclCommand) -> zcl.ZclCommand:
    """Fields absent on the wire decode to their defaults."""
    return type(cmd).decode_payload(cmd.encode_payload())


@given(COMMANDS, u8)
def test_zcl_commands_round_trip(cmd: zcl.ZclCommand, seq: int) -> None:
    frame = cmd.encode(seq)
    header, back = zcl.decode_command(cmd.CLUSTER, frame)
    assert header.sequence == seq and header.cluster_specific
    assert back == _normalise(cmd)
    assert isinstance(back, zcl.ZclCommand) and back.encode(seq) == frame


@given(st.sampled_from([0x0019, 0x0704]), st.binary(max_size=80))
def test_fuzz_zcl_decoder_raises_only_zigbee_errors(cluster: int, data: bytes) -> None:
    with contextlib.suppress(ZigbeeError):
        zcl.decode_command(cluster, data)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(12345, ec.SECP256R1())


def test_dv5_signed_ota_file_round_trip_and_refusals():
    key = _key()
    data = ota_file.sample_image(key, manufacturer_code=0x1234, image_type=1, file_version=0x01020304, size=5000)
    f = ota_file.verify(data, key.public_key())
    assert f.header.file_version == 0x01020304 and len(f.image) == 5000
    assert f.encode() == data
    assert data[:4] == bytes.fromhex("1EF1EE0B")
    tampered = bytearray(data)
    tampered[100] ^= 1
    with pytest.raises(OtaFileError, match="signature"):
        ota_file.verify(bytes(tampered), key.public_key())
    with pytest.raises(OtaFileError, match="signature"):
        ota_file.verify(data, ec.derive_private_key(999, ec.SECP256R1()).public_key())
    with pytest.raises(OtaFileError, match="image_size"):
        ota_file.decode(data + b"\x00")


@given(st.binary(max_size=200))
def test_fuzz_ota_file_decoder(data: bytes) -> None:
    with contextlib.suppress(OtaFileError):
        ota_file.decode(data)


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed (./dev.sh installs it)")
def test_dv8_pcap_is_dissected_by_tshark(tmp_path: Path):
    w = PcapWriter()
    esme, chf = bytes.fromhex("00DB1234567890A0"), bytes.fromhex("00DB1234567890A2")
    gbcs = bytes.fromhex("DD000000000000471100000000DF090100000000000003E80890B3D51F300100000800DB1234567890A0"
                         "0002005913D9200003E800010100010000000201FF020100A25A51A93BAFA5C9E2B224BD")
    packets = [HanPacket(chf, esme, 0x0704, tunneling.TransferDataClient(1, gbcs).encode(1), src_nwk=0,
                         dst_nwk=0x1001),
               HanPacket(esme, chf, 0x0019, ota.QueryNextImage(0, 0x1234, 1, 5).encode(2), src_nwk=0x1001, dst_nwk=0)]
    path = tmp_path / "han.pcap"
    path.write_bytes(w.header() + b"".join(w.packet(1767225600 + i, p) for i, p in enumerate(packets)))
    assert path.read_bytes()[20] == 195
    out = subprocess.run(["tshark", "-r", str(path), "-V"], capture_output=True, text=True, check=True).stdout
    assert "ZigBee Network Layer" in out and "ZigBee Application Support Layer" in out
    assert "Smart Energy (0x0109)" in out and "Tunneling (0x0704)" in out and "OTA Upgrade (0x0019)" in out
    assert "Query Next Image Request" in out

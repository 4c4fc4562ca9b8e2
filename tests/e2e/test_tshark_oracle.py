"""An independent oracle (issue 11, deliverable 4): Wireshark's own Zigbee and GBCS dissectors
read the HAN capture of a full SIT run and of the UIT.

Nothing here uses the emulator's decoders to judge the frames: tshark does. A run passes
when tshark finds no malformed packet and no expert error, and every GBCS frame carried on
the HAN (as many as the run's trace lists) is dissected as GBCS with its use case named.
Wireshark 4.0 does not know the newest message codes (0x011A and up, and a few others):
for those the allowance is calibrated on the RTDS 4.5.0 reference itself, so a code may go
unnamed only where tshark cannot name the reference frame of that code either.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.zigbee.clusters import tunneling
from emulator.zigbee.packet import CLUSTER_TUNNELING, HanPacket
from emulator.zigbee.pcap import PcapWriter
from tests.conftest import RTDS, need_rtds

TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (./dev.sh installs it)")

BAD = "_ws.malformed || _ws.expert.severity >= error"
UNKNOWN = "Unknown Use Case"

# What tshark 4.0.x (Debian 12) cannot name, read from its dissection of the RTDS reference.
WIRESHARK_4_0_UNNAMED = {0x00FD, 0x00FE, 0x011A, 0x011B, 0x011C, 0x011D, 0x011E, 0x011F, 0x0120, 0x0121,
                         0x0122, 0x0123, 0x0124, 0x0125, 0x0126, 0x0128, 0x0129, 0x012A, 0x012B}


def _tshark(pcap: Path, *args: str) -> list[str]:
    assert TSHARK is not None
    out = subprocess.run([TSHARK, "-r", str(pcap), *args], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return [line for line in out.stdout.splitlines() if line.strip()]


def _version() -> str:
    assert TSHARK is not None
    first = subprocess.run([TSHARK, "--version"], capture_output=True, text=True, timeout=60).stdout.splitlines()[0]
    found = re.search(r"(\d+\.\d+\.\d+)", first)
    return found.group(1) if found else first


def _message_codes(pcap: Path) -> dict[int, tuple[int, str]]:
    """frame number -> (message code, the info column tshark wrote) for every GBCS frame."""
    rows = _tshark(pcap, "-Y", "gbcs_message", "-T", "fields", "-e", "frame.number",
                   "-e", "gbcs_message.grouping_header.message_code", "-e", "gbcs_message.routing_header.message_code",
                   "-e", "_ws.col.Info")
    out: dict[int, tuple[int, str]] = {}
    for row in rows:
        number, grouping, routing, info = [*row.split("\t"), "", "", ""][:4]
        code = grouping or routing
        out[int(number)] = (int(code.split(",")[0], 16) if code else -1, info)
    return out


def _reference_unnamed(tmp: Path) -> frozenset[int]:
    """The message codes tshark cannot name on the RTDS reference frames (pre-commands never
    travel on the HAN and are left out)."""
    writer = PcapWriter()
    data = bytearray(writer.header())
    for i, path in enumerate(sorted((RTDS / "messages").glob("*/*_GBCS.HEX"))):
        if "PRECOMMAND" in path.name:
            continue
        frame = tunneling.TransferDataServer(1, bytes.fromhex(path.read_text().strip())).encode(i & 0xFF)
        packet = HanPacket(bytes.fromhex("00DB1234567890A0"), bytes.fromhex("00DB1234567890A2"), CLUSTER_TUNNELING,
                           frame, src_nwk=0x1001, dst_nwk=0x0000)
        data += writer.packet(float(i), packet)
    pcap = tmp / "rtds.pcap"
    pcap.write_bytes(bytes(data))
    assert _tshark(pcap, "-Y", BAD) == [], "tshark finds the reference frames themselves malformed"
    return frozenset(code for code, info in _message_codes(pcap).values() if UNKNOWN in info)


@pytest.fixture(scope="module")
def reference_unnamed(tmp_path_factory: pytest.TempPathFactory) -> frozenset[int]:
    need_rtds()
    return _reference_unnamed(tmp_path_factory.mktemp("rtds"))


def test_the_oracle_reads_the_rtds_reference_cleanly(reference_unnamed: frozenset[int]) -> None:
    if _version().startswith("4.0."):
        assert reference_unnamed == WIRESHARK_4_0_UNNAMED
    assert len(reference_unnamed) < 40  # tshark names the great majority of use cases


def _journey(name: str, tmp: Path) -> tuple[Path, int]:
    pcap, trace = tmp / f"{name}.pcap", tmp / f"{name}.jsonl"
    r = subprocess.run([sys.executable, "-m", "emulator", "run", name, "--pcap", str(pcap), "--trace", str(trace),
                        "--broker", "memory", "--keys", str(tmp / "keys"), "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    han = sum(1 for line in trace.read_text().splitlines() if json.loads(line)["link"] == "han")
    return pcap, han


@pytest.mark.parametrize("journey", ["uit", "sit"])
def test_dv8_tshark_finds_no_malformed_frame_and_names_every_gbcs_use_case(
        journey: str, tmp_path: Path, reference_unnamed: frozenset[int]) -> None:
    pcap, han_messages = _journey(journey, tmp_path)
    assert len(_tshark(pcap, "-T", "fields", "-e", "frame.number")) > 1000  # a full run, not an empty capture
    bad = _tshark(pcap, "-Y", BAD)
    assert bad == [], f"{len(bad)} frames malformed or with expert errors:\n" + "\n".join(bad[:20])
    expert = "\n".join(_tshark(pcap, "-q", "-z", "expert,error"))
    assert "Errors (" not in expert and "Malformed" not in expert, expert
    gbcs = _message_codes(pcap)
    assert len(gbcs) == han_messages, f"tshark dissected {len(gbcs)} GBCS frames, the run sent {han_messages}"
    unnamed = {code for code, info in gbcs.values() if UNKNOWN in info or code < 0}
    assert unnamed <= reference_unnamed, f"tshark names the reference but not ours: {sorted(map(hex, unnamed))}"
    # GBZ payloads: tshark walks every component the header announces (a wrong length would stop it).
    rows = _tshark(pcap, "-Y", "gbcs_gbz && !gbcs_gbz.alert_code", "-T", "fields", "-e", "frame.number",
                   "-e", "gbcs_gbz.components", "-e", "gbcs_gbz.extended_header_cluster")
    assert rows, "no GBZ command or response in the capture"
    for row in rows:
        number, count, clusters = [*row.split("\t"), "", ""][:3]
        walked = len(clusters.split(",")) if clusters else 0
        assert walked == int(count), f"frame {number}: {count} components announced, tshark read {walked}"

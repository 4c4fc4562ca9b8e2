"""The sans-IO rule, enforced: the core packages import no I/O or wall-clock modules, and a
layer imports only the layers below it (style lesson 1; architecture)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "emulator"
CORE = ("gbcs", "zigbee", "devices", "dsp", "znp", "ezsp")
FORBIDDEN = {"asyncio", "socket", "time", "select", "selectors", "subprocess", "aiomqtt", "sqlite3", "zigpy",
             "scapy", "threading"}
ALLOWED_IO = {PKG / "dsp" / "store.py"}  # the DSP's SQLite adapter lives beside the rules it stores
# GBCS sits on Zigbee: a GBZ payload is ZCL frames in a GBCS wrapper (GBCS 7.2), so the GBCS
# layer reads and builds them with the one ZCL codec (zigbee.zcl) and the declared Smart Energy
# commands, the same ones the GSME decodes. Zigbee imports nothing above it, so there is no cycle.
LOWER = {"gbcs": {"zigbee"}, "zigbee": set(), "devices": {"gbcs", "zigbee"}, "dsp": {"gbcs", "zigbee"},
         "znp": {"zigbee"}, "ezsp": {"zigbee"}}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_is_sans_io():
    for layer in CORE:
        for path in (PKG / layer).rglob("*.py"):
            if path in ALLOWED_IO:
                continue
            bad = {n for n in _imports(path) if n.split(".")[0] in FORBIDDEN}
            assert not bad, f"{path.relative_to(PKG)} imports {bad}"
            text = path.read_text()
            assert "datetime.now(" not in text and "time.time(" not in text, path


def test_layers_import_only_downwards():
    for layer, allowed in LOWER.items():
        for path in (PKG / layer).rglob("*.py"):
            for name in _imports(path):
                if name.startswith("emulator."):
                    target = name.split(".")[1]
                    assert target == layer or target in allowed or (
                        target in ("clock",) and layer not in CORE), (
                        f"{path.relative_to(PKG)} imports {name}")

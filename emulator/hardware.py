"""Hardware profiles: which Zigbee radio the CHF runs on, and how to reach it (DV-7).

A profile is a small YAML file (``hardware/*.yaml``) validated into :class:`RadioProfile`;
every error names the file, the key and what was expected. ``check`` opens the radio
through zigpy (the optional ``radio`` extra, GPL-3.0, imported only here and in
``transport/zigpy_han.py``) and reports firmware, channel and network state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Radio type -> (zigpy radio module, pip package) (zigbee.md section 2; ZHA's names).
RADIOS: dict[str, tuple[str, str]] = {
    "ezsp": ("bellows.zigbee.application", "bellows"),
    "znp": ("zigpy_znp.zigbee.application", "zigpy-znp"),
    "deconz": ("zigpy_deconz.zigbee.application", "zigpy-deconz"),
    "xbee": ("zigpy_xbee.zigbee.application", "zigpy-xbee"),
    "zigate": ("zigpy_zigate.zigbee.application", "zigpy-zigate"),
    "virtual": ("", ""),
}
BAUDRATES = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
FLOW = ("hardware", "software", None)
KEYS = ("name", "radio", "port", "baudrate", "flow_control", "channel", "radio_options", "install_codes", "notes")


class ProfileError(ValueError):
    def __init__(self, source: str, key: str, expected: str, got: object) -> None:
        self.source, self.key = source, key
        super().__init__(f"{source}: {key}: expected {expected}, got {got!r}")

    @classmethod
    def unreadable(cls, source: str, reason: str) -> ProfileError:
        """The profile file itself cannot be read (missing, a folder, no permission)."""
        error = cls(source, "(file)", "", "")
        error.args = (f"hardware profile {source}: cannot read it ({reason})",)
        return error


class RadioError(RuntimeError):
    """The radio could not be reached or used; the message says what to do."""


@dataclass(frozen=True, slots=True)
class RadioProfile:
    name: str
    radio: str
    port: str
    baudrate: int = 115200
    flow_control: str | None = None
    channel: int = 15
    radio_options: dict[str, Any] = field(default_factory=dict)
    install_codes: bool = True
    notes: str = ""
    source: str = ""

    @property
    def is_socket(self) -> bool:
        return self.port.startswith(("socket://", "tcp://"))


def from_mapping(doc: object, source: str) -> RadioProfile:
    if not isinstance(doc, dict):
        raise ProfileError(source, "(top level)", "a mapping", doc)
    for key in doc:
        if key not in KEYS:
            raise ProfileError(source, str(key), f"one of {', '.join(KEYS)}", "unknown key")
    radio = doc.get("radio")
    if radio not in RADIOS:
        raise ProfileError(source, "radio", f"one of {', '.join(RADIOS)}", radio)
    port = doc.get("port", "" if radio == "virtual" else None)
    if not isinstance(port, str) or (radio != "virtual" and not port):
        raise ProfileError(source, "port", "a serial device path or socket://host:port", port)
    baud = doc.get("baudrate", 115200)
    if isinstance(baud, bool) or baud not in BAUDRATES:
        raise ProfileError(source, "baudrate", f"one of {BAUDRATES}", baud)
    flow = doc.get("flow_control")
    if flow not in FLOW:
        raise ProfileError(source, "flow_control", "hardware, software or null", flow)
    channel = doc.get("channel", 15)
    if isinstance(channel, bool) or not isinstance(channel, int) or not 11 <= channel <= 26:
        raise ProfileError(source, "channel", "a Zigbee channel from 11 to 26", channel)
    options = doc.get("radio_options", {}) or {}
    if not isinstance(options, dict):
        raise ProfileError(source, "radio_options", "a mapping", options)
    codes = doc.get("install_codes", radio != "zigate")
    if not isinstance(codes, bool):
        raise ProfileError(source, "install_codes", "true or false", codes)
    return RadioProfile(str(doc.get("name", Path(source).stem)), radio, port, baud, flow, channel, options, codes,
                        str(doc.get("notes", "")), source)


def load(path: Path | str) -> RadioProfile:
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text())
    except OSError as e:
        raise ProfileError.unreadable(str(p), e.strerror or type(e).__name__) from None
    except yaml.YAMLError as e:
        raise ProfileError(str(p), "(file)", "well-formed YAML", str(e).splitlines()[0]) from None
    return from_mapping(doc, str(p))


def check_port(profile: RadioProfile) -> None:
    """Fail early, naming the problem, when the port cannot be the radio."""
    if profile.radio == "virtual" or profile.is_socket:
        return
    if not os.path.exists(profile.port):
        hint = "plug the dongle in, or use its /dev/serial/by-id/ path (see hardware/BENCH.md)"
        raise RadioError(f"{profile.source}: port {profile.port} does not exist: {hint}")
    if not os.access(profile.port, os.R_OK | os.W_OK):
        raise RadioError(f"{profile.source}: no read/write access to {profile.port}: add your user to the "
                         f"dialout group or install hardware/99-smets2-dongles.rules")


def radio_class(profile: RadioProfile) -> Any:
    """The zigpy ControllerApplication class for the profile (needs the ``radio`` extra)."""
    module, package = RADIOS[profile.radio]
    if not module:
        raise RadioError("the virtual radio has no zigpy class: it is emulator.transport.virtual_han")
    import importlib

    try:
        return importlib.import_module(module).ControllerApplication
    except ModuleNotFoundError as e:
        raise RadioError(f"radio {profile.radio!r} needs {package} (GPL-3.0): pip install 'smets2-emu[radio]' "
                         f"({e.name} is not installed)") from None

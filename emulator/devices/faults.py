"""Declared faults for an emulated device under test: the meter a conformance run must catch.

CI has no faulty real meter, so it runs the emulated ESME with one of these faults switched on
and asserts that ``smets2-emu conformance`` names it. Each fault is one row of :data:`FAULTS`
and one hook here; the meter itself has no fault branches.

* ``wrong-structure[:SRV]``: in the answer to the SRV's use case (default 4.1.1) the last data
  item, when a structure, loses its last field, else is dropped with its result (DLMS answers).
* ``no-alert-retry``: an alert the hub never acknowledged is not sent again (DV-6 expects the
  device to retry until acknowledged).
* ``refused-join``: the device derives its link key from another install code, so the trust
  centre refuses its join (IC-2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emulator.devices.alerts import AlertOutbox
from emulator.devices.esme import Esme
from emulator.gbcs import dlms, usecases
from emulator.gbcs.frames import Message
from emulator.zigbee.install_code import link_key_from_install_code, with_crc

DEFAULT_WRONG_SRV = "4.1.1"

#: name -> what a conformance run must report when the fault is on.
FAULTS: dict[str, str] = {
    "wrong-structure": "the answer to one use case has the wrong structure (a field or data item is missing)",
    "no-alert-retry": "an unacknowledged alert is never sent again",
    "refused-join": "the device joins with a link key that is not its install code's, and is refused",
}


@dataclass(frozen=True, slots=True)
class Faults:
    wrong_structure: frozenset[int] = field(default_factory=frozenset)
    """Message codes whose answers lose their last data item."""
    wrong_structure_srvs: tuple[str, ...] = ()
    alert_retry: bool = True
    join_refused: bool = False

    @classmethod
    def parse(cls, specs: list[str], device_type: str = "ESME") -> Faults:
        """``["wrong-structure:4.1.1", "no-alert-retry"]`` -> Faults; an unknown name is refused,
        naming the known ones."""
        codes: set[int] = set()
        srvs: list[str] = []
        retry, refused = True, False
        for spec in specs:
            name, _, arg = spec.partition(":")
            if name not in FAULTS:
                raise ValueError(f"fault {name!r} is not one of {', '.join(FAULTS)}")
            if name == "wrong-structure":
                srv = arg or DEFAULT_WRONG_SRV
                uc = usecases.use_case_for(srv, device_type)
                if uc is None:
                    raise ValueError(f"fault {spec!r}: SRV {srv} has no {device_type} use case")
                codes.add(uc.message_code)
                srvs.append(srv)
            elif name == "no-alert-retry":
                retry = False
            else:
                refused = True
        return cls(frozenset(codes), tuple(srvs), retry, refused)

    def link_key(self, install_code: bytes) -> bytes:
        """The link key the device joins with."""
        if self.join_refused:
            return link_key_from_install_code(with_crc(bytes(b ^ 0x5A for b in install_code[:16])))
        return link_key_from_install_code(install_code)


class FaultyEsme(Esme):
    """An ESME with :class:`Faults` applied; with none, exactly an :class:`Esme`."""

    faults: Faults = Faults()

    def with_faults(self, faults: Faults) -> FaultyEsme:
        self.faults = faults
        if not faults.alert_retry:
            self.outbox = AlertOutbox(max_attempts=1)  # sent once, never again
        return self

    def execute(self, msg: Message, now: float) -> bytes:
        payload = super().execute(msg, now)
        if msg.message_code in self.faults.wrong_structure and payload[:1] == bytes((dlms.ACCESS_RESPONSE,)):
            rsp = dlms.decode_access_response(payload)
            last = rsp.data[-1] if rsp.data else None
            if last is not None and last.type == "structure" and last.value:
                short = dlms.Data("structure", tuple(last.value[:-1]))
                return dlms.AccessResponse(rsp.invoke_id, (*rsp.data[:-1], short), rsp.results, rsp.date_time).encode()
            return dlms.AccessResponse(rsp.invoke_id, rsp.data[:-1], rsp.results[:-1], rsp.date_time).encode()
        return payload

"""The install-code exchange between suppliers after a change of supplier (MP121: IC-3, IC-4).

The gaining supplier asks; the DSP passes the request to the losing supplier (the one before
the change), which answers within 10 working days (England and Wales) with the code if it
installed the device, or says it did not. The DSP hands a code only to the gaining supplier
of an open exchange, and never the code of a commissioned device. Sans-IO.
"""

from __future__ import annotations

from collections.abc import Callable

from emulator.dsp.model import CodeExchange, Response, Status
from emulator.dsp.repository import Repository
from emulator.dsp.working_days import add_working_days
from emulator.zigbee.eui64 import Eui64


class InstallCodeExchange:
    def __init__(self, repo: Repository, audit: Callable[..., None]) -> None:
        self.repo = repo
        self._audit = audit

    def request(self, gaining: str, device_eui: Eui64, now: float) -> Response:
        """The gaining supplier asks the losing one for a device's install code (10 working days, IC-3)."""
        device = self.repo.device(device_eui)
        rid = f"ic:{device_eui}:{now}"
        if device is None:
            return Response(rid, "E19", f"device {device_eui} is not in the inventory")
        if device.responsible_supplier != gaining:
            return Response(rid, "E4", f"{gaining} is not the responsible supplier of {device_eui}")
        if device.status == Status.COMMISSIONED:
            return Response(rid, "E5", f"{device_eui} is Commissioned: the install-code exchange is only for a device "
                                       f"never commissioned (IC-3)")
        losing = device.losing_supplier or ""
        if not losing or losing == gaining:
            return Response(rid, "E4", f"{device_eui} has had no change of supplier: there is no losing supplier "
                                       f"to ask (IC-3)")
        record = CodeExchange(rid, device_eui, gaining, losing, now, add_working_days(now, 10))
        self.repo.put_code_exchange(record)
        self._audit(now, gaining, "install-code-requested", device=device_eui, exchange=rid, losing=losing)
        return Response(rid, "I0", f"request sent to {losing}; answer due by {record.deadline:.0f}", record.view())

    def answer(self, losing: str, exchange_id: str, now: float) -> Response:
        """The losing supplier answers: the code if it installed the device, else that it did not (IC-3).

        The DSP hands a code only to the gaining supplier of an open exchange, and never the code
        of a device commissioned meanwhile (IC-4)."""
        record = self.repo.code_exchange(exchange_id)
        if record is None:
            return Response(exchange_id, "E19", f"no install-code exchange {exchange_id}")
        if record.losing != losing:
            return Response(exchange_id, "E4", f"{losing} is not the supplier asked in {exchange_id}")
        if record.state != "open":
            return Response(exchange_id, "E1", f"exchange {exchange_id} was already answered ({record.state})")
        device = self.repo.device(record.device)
        if device is not None and device.status == Status.COMMISSIONED:
            self.repo.put_code_exchange(record.closed("closed-commissioned", now))
            return Response(exchange_id, "E5", f"{record.device} is Commissioned now: its install code is not "
                                               f"released (IC-4)")
        if device is not None and device.installing_supplier == losing and device.install_code:
            record = record.closed("answered", now)
            self.repo.put_code_exchange(record)
            self._audit(now, losing, "install-code-given", device=record.device, to=record.gaining, late=record.late)
            return Response(exchange_id, "I0", "install code provided", {"install_code": device.install_code,
                                                                         "late": record.late})
        self.repo.put_code_exchange(record.closed("not-installer", now))
        self._audit(now, losing, "install-code-not-installer", device=record.device)
        return Response(exchange_id, "I0", f"{losing} did not install {record.device}", {"install_code": None})

    def overdue(self, now: float) -> list[CodeExchange]:
        return [x for x in self.repo.code_exchanges() if x.state == "open" and now > x.deadline]

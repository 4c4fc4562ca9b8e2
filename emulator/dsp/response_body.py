"""The body of a device's answer as the DSP hands it to the Service User: ``{"gbcs": hex,
"payload": tree}``, the tree made when something first reads it.

The DCC forwards a device's GBCS response; it need not parse it. Decoding every payload into a
tree cost the DSP a tenth of its time per SRV in the fleet, where nobody reads the tree (the load
generator looks at the response code). So the tree is made on first use: by a read of
``"payload"``, or by anything that looks at the whole body (iterating, comparing, copying, JSON,
pickling, printing). What every reader sees is what the eager body held, keys in the same order;
``"gbcs"`` is there from the start, and ``in`` and ``len`` answer without decoding (the DUIS XML
answer and the core's checks need no tree). The decode is a pure function of the payload bytes,
so when it runs changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.gbcs.payload import decode_payload

PAYLOAD = "payload"


class ResponseBody(dict[str, Any]):
    """A plain dict to every reader; ``"payload"`` filled in from the GBCS payload when first needed.
    Built empty (``ResponseBody()``, as copies and unpickling do) it is an ordinary dict."""

    # No __slots__: a class default keeps every way a dict is rebuilt (copies, each pickle protocol)
    # an ordinary dict without a pending tree.
    _source: tuple[bytes, int, int] | None = None

    @classmethod
    def device_response(cls, gbcs_hex: str, payload: bytes, message_code: int, cra: int) -> ResponseBody:
        """``{"gbcs": gbcs_hex, "payload": decode_payload(payload, ...).to_tree()}``, the tree made on use."""
        body = cls(gbcs=gbcs_hex)
        body._source = (payload, message_code, cra)
        return body

    def _fill(self) -> None:
        source = self._source
        if source is not None:
            self._source = None
            payload, message_code, cra = source
            dict.__setitem__(self, PAYLOAD, decode_payload(payload, message_code=message_code, cra=cra).to_tree())

    # --- what answers without the tree --------------------------------------------------------
    def __contains__(self, key: object) -> bool:
        return (key == PAYLOAD and self._source is not None) or dict.__contains__(self, key)

    def __len__(self) -> int:
        return dict.__len__(self) + (self._source is not None)

    # --- reads of one key: the tree only when it is the one read ---------------------------------
    def __getitem__(self, key: str) -> Any:
        if key == PAYLOAD:
            self._fill()
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        if key == PAYLOAD:
            self._fill()
        return dict.get(self, key, default)


def _filled(name: str) -> Callable[..., Any]:
    method = getattr(dict, name)

    def call(self: ResponseBody, *args: Any, **kwargs: Any) -> Any:
        self._fill()
        for other in args:  # comparing two bodies: the other's tree too
            if isinstance(other, ResponseBody):
                other._fill()
        return method(self, *args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = method.__doc__
    return call


# Everything else a dict does sees the whole body (iteration, views, comparison, copies, JSON and
# pickle through items(), repr) or changes it (the tree is made first, so the keys keep their order).
for _name in ("__iter__", "__reversed__", "keys", "values", "items", "__eq__", "__ne__", "__repr__", "copy",
              "__or__", "__ror__", "__ior__", "__setitem__", "__delitem__", "pop", "popitem", "setdefault",
              "update", "clear", "__reduce_ex__"):
    setattr(ResponseBody, _name, _filled(_name))
del _name

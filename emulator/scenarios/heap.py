"""How the long-running processes (hubs workers, the DSP, the fleet's load) keep Python's cyclic
garbage collector from stalling them.

A full collection walks every tracked object alive, about 0.5-1 ms per thousand on this machine:
the 110,000 objects a DSP process holds after start-up (functions, classes, the inventory) made
each one a 60-170 ms stall, so at 800 SRV/s the fleet benchmark's p99 was 144 ms where it was
24 ms with the collector off. What a process builds to run (premises, inventory, keys) lives as
long as the process: frozen (:func:`gc.freeze`), it is no longer walked. What a run keeps per
request is bounded elsewhere (the ageing repository, the DSP service's memories).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def built_then_frozen() -> Iterator[None]:
    """Build without the collector, then freeze what was built. Collections started while the
    premises pile up walk them again and again (a third of a 2,000-premises start)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.freeze()


def freeze_long_lived() -> None:
    """Collect what is already garbage, then freeze the rest: call once a process has built what it
    keeps for its whole run (the DSP's inventory and service, say), before the load starts."""
    gc.collect()
    gc.freeze()

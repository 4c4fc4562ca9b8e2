"""Losses and re-orderings told from GBCS counters, as the DSP sees them.

Every GBCS message carries its originator's counter, strictly increasing per originator (a
receiver refuses one not above the last). A command the DSP sends to a device carries the
Service User's (or the DCC's) counter; the device's response carries the same counter back.
So, per stream (originator, target):

* **lost**: a counter sent and never answered (by the end of the run);
* **re-ordered**: an answer whose counter is below one already received on the stream
  (the answers came back in another order than the commands went out);
* **duplicate**: a counter received twice (a transport re-delivery the receiver must drop).

Alerts are the device's own stream: no "sent" side, so only re-orderings and duplicates.
Sans-IO: fed counters, returns counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Stream = tuple[bytes, bytes]  # (originator, target) of the command; an alert: (device, its recipient)


@dataclass(slots=True)
class _Seen:
    sent: set[int] = field(default_factory=set)
    received: set[int] = field(default_factory=set)
    highest: int = -1


@dataclass(slots=True)
class CounterWatch:
    streams: dict[Stream, _Seen] = field(default_factory=dict)
    reordered: int = 0
    duplicates: int = 0
    unsolicited: int = 0  # answers to counters this watch never saw sent
    #: Sent counters drop out once answered: the memory is what is outstanding, not the run's length.
    outstanding: int = 0

    def sent(self, stream: Stream, counter: int) -> None:
        seen = self.streams.setdefault(stream, _Seen())
        if counter not in seen.sent:
            seen.sent.add(counter)
            self.outstanding += 1

    def received(self, stream: Stream, counter: int, *, solicited: bool = True) -> str:
        """Note an arrival; returns ``in-order``, ``reordered``, ``duplicate`` or ``unsolicited``."""
        seen = self.streams.setdefault(stream, _Seen())
        if counter in seen.received:
            self.duplicates += 1
            return "duplicate"
        if solicited and counter not in seen.sent:
            self.unsolicited += 1
            return "unsolicited"
        if solicited:
            seen.sent.discard(counter)
            self.outstanding -= 1
        seen.received.add(counter)
        if len(seen.received) > 64:  # only recent counters come again: keep the 32 highest
            seen.received = set(sorted(seen.received)[-32:])
        if counter < seen.highest:
            self.reordered += 1
            return "reordered"
        seen.highest = counter
        return "in-order"

    def lost(self) -> int:
        """Counters sent and never answered."""
        return self.outstanding

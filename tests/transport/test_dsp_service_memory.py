"""What the DSP service keeps per request stays small (issue 13): an answer someone awaited in
``result`` is delivered, not also kept in ``completed`` (which held the last 100,000 answers of
every run, each walked by every full garbage collection); an answer nobody awaited yet is kept
until ``result`` collects it."""

from __future__ import annotations

from emulator.clock import run, until
from emulator.dsp.model import ServiceRequest
from emulator.scenarios.world import SUPPLIER
from tests.commissioned import commissioned_world


def test_wn1_an_awaited_answer_is_not_kept_and_an_unawaited_one_is_until_collected() -> None:
    async def main() -> None:
        w, p, sup = await commissioned_world()
        try:
            esme = p.esme.hex().upper()
            kept_before = len(w.dsp.completed)
            ack, final = await sup.send("4.1.1", esme)  # submit, then await the result
            assert ack.code == "I99" and final is not None and final.code == "I0"
            assert ack.request_id not in w.dsp.completed and len(w.dsp.completed) == kept_before
            # Submitted, and nobody waits: the final answer is kept for a later result().
            req = ServiceRequest(sup.request_id(esme), "4.1.1", 1, {}, "IS")
            assert (await w.dsp.submit(SUPPLIER, req)).code == "I99"
            assert await until(lambda: req.request_id in w.dsp.completed, 60)
            late = await w.dsp.result(req.request_id)
            assert late.code == "I0" and late.request_id == req.request_id
            assert req.request_id not in w.dsp.completed  # collected once
            answers = [a for a in w.dsp.inbox[SUPPLIER].answers if a.request_id in (ack.request_id, req.request_id)]
            assert [a.code for a in answers] == ["I99", "I0", "I99", "I0"]  # both still told to the user's inbox
        finally:
            await w.stop()

    run(main())

"""The DSP's stored JSON is read with the kind each reader needs (emulator/dsp/jsondoc.py): a document of
another shape is refused naming where it is and what was wrong, not passed on as a value of the wrong type."""

from __future__ import annotations

import pytest

from emulator.dsp.jsondoc import DocumentError, integer, loads_object, number, text
from emulator.dsp.model import Due, DueEntry
from emulator.dsp.store import SqliteRepository
from emulator.zigbee.jsonvalue import array


def test_readers_narrow_each_kind():
    doc = loads_object('{"at": 12, "when": 1.5, "key": "k", "n": 3, "flag": true}', "due x")
    assert number(doc, "at") == 12.0 and number(doc, "when") == 1.5
    assert text(doc, "key") == "k"
    assert integer(doc, "n") == 3
    assert array(sorted({"b", "a"})) == ["a", "b"]


@pytest.mark.parametrize(("reader", "key", "message"), [
    (number, "key", "'key' is 'k', not a number"),
    (number, "flag", "'flag' is True, not a number"),
    (integer, "when", "'when' is 1.5, not an integer"),
    (text, "n", "'n' is 3, not a string"),
    (text, "missing", "'missing' is None, not a string"),
])
def test_a_value_of_another_kind_is_refused_by_name(reader, key, message):
    doc = loads_object('{"when": 1.5, "key": "k", "n": 3, "flag": true}', "doc")
    with pytest.raises(DocumentError, match=message):
        reader(doc, key)


def test_a_stored_document_that_is_not_an_object_is_refused_naming_it(tmp_path):
    repo = SqliteRepository(tmp_path / "dsp.db")
    repo.put_timer(DueEntry(100.0, Due.DEADLINE, "req-1"))
    assert [(e.at, e.key) for e in repo.timers()] == [(100.0, "req-1")]
    repo.db.execute("UPDATE kv SET doc = ? WHERE kind = 'due'", ("[1, 2]",))
    with pytest.raises(DocumentError, match=r"due .*req-1: a stored document is list, not a JSON object"):
        repo.timers()
    repo.db.execute("UPDATE kv SET doc = ? WHERE kind = 'due'", ('{"kind": "deadline", "key": "req-1", "at": "soon"}',))
    with pytest.raises(DocumentError, match=r"'at' is 'soon', not a number"):
        repo.timers()

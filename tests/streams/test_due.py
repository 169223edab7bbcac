"""The sweep index (streams/due.py): due keys in due order, owners' keys only, rebuilt after invalidation."""
import math

from streams.due import DueIndex


class Keys:
    def __init__(self, *keys):
        self._keys = list(keys)

    def keys(self):
        return self._keys


def test_due_keys_come_in_due_order_once_their_time_has_come():
    index = DueIndex()
    assert index.due_keys(0.0, Keys()) == []  # a new index first looks at what the store holds
    index.note("b", 20.0)
    index.note("a", 10.0)
    index.note("c", math.inf)  # never due
    assert index.due_keys(5.0, Keys()) == []
    assert index.due_keys(25.0, Keys()) == ["a", "b"]
    # Taken keys wait for the caller to note them again.
    assert index.due_keys(30.0, Keys()) == []
    index.note("a", 40.0)
    assert index.due_keys(40.0, Keys()) == ["a"]


def test_a_key_noted_again_or_deleted_leaves_no_stale_due_time():
    index = DueIndex()
    index.due_keys(0.0, Keys())
    index.note("a", 10.0)
    index.note("a", 50.0)
    index.note("b", 10.0)
    index.note("b", None)
    assert index.due_keys(20.0, Keys()) == []
    assert index.due_keys(50.0, Keys()) == ["a"]
    index.note("b", 60.0)  # re-created
    index.note("a", 55.0)
    assert index.due_keys(60.0, Keys()) == ["a", "b"]


def test_keys_not_owned_stay_due_for_their_owner():
    index = DueIndex()
    index.due_keys(0.0, Keys())
    for key in ("p0:x", "p1:y", "p0:z"):
        index.note(key, 10.0)
    assert index.due_keys(10.0, Keys(), owned=lambda k: k.startswith("p0")) == ["p0:x", "p0:z"]
    assert index.due_keys(10.0, Keys(), owned=lambda k: k.startswith("p1")) == ["p1:y"]


def test_a_new_or_invalidated_index_takes_every_stored_key_as_due():
    assert sorted(DueIndex().due_keys(0.0, Keys("x", "y"))) == ["x", "y"]  # a store that came filled
    index = DueIndex()
    index.due_keys(0.0, Keys())
    index.note("a", 100.0)
    index.invalidate()  # e.g. a table recovered from its changelog
    assert sorted(index.due_keys(0.0, Keys("a", "r1", "r2"))) == ["a", "r1", "r2"]


def test_stale_entries_are_compacted():
    index = DueIndex()
    for step in range(5000):
        index.note("a", float(step))
    assert len(index._heap) <= 2 * len(index) + 1024
    assert index.due_keys(4999.0, Keys()) == ["a"]

"""Cycles in a bounded graph of recent transfers."""
from __future__ import annotations

import pytest

from detectors.graph import TransferGraph


def build(graph, transfers):
    state = None
    for src, dst, t, ref in transfers:
        state = graph.add(state, src, dst, t, 100.0, ref)
    return state


def refs(path):
    return [e[4] for e in path] if path is not None else None


def test_two_transfers_back_and_forth_whichever_arrives_first():
    g = TransferGraph(window_s=10.0)
    assert refs(g.find_cycle(build(g, [("a", "b", 1.0, "t1")]), "b", "a", 2.0)) == ["t1"]
    assert refs(g.find_cycle(build(g, [("b", "a", 2.0, "t2")]), "a", "b", 1.0)) == ["t2"]


def test_a_ring_of_three_in_time_order():
    g = TransferGraph(window_s=10.0)
    state = build(g, [("a", "b", 1.0, "t1"), ("b", "c", 2.0, "t2"), ("x", "a", 0.5, "noise")])
    assert refs(g.find_cycle(state, "c", "a", 3.0)) == ["t1", "t2"]


def test_money_cannot_flow_back_in_time():
    g = TransferGraph(window_s=10.0)
    # a->b at 1, b->c at 3, c->a at 2: c cannot pass on at 2 what it receives at 3.
    state = build(g, [("a", "b", 1.0, "t1"), ("b", "c", 3.0, "t2")])
    assert g.find_cycle(state, "c", "a", 2.0) is None
    # ...but c->a at 4 closes the ring.
    assert refs(g.find_cycle(state, "c", "a", 4.0)) == ["t1", "t2"]


def test_the_cycle_must_lie_within_the_window():
    g = TransferGraph(window_s=10.0)
    state = build(g, [("a", "b", 0.0, "t1")])
    assert g.find_cycle(state, "b", "a", 10.0) is not None
    assert g.find_cycle(state, "b", "a", 10.5) is None


def test_cycle_length_is_bounded():
    ring = [("a", "b", 1.0, "t1"), ("b", "c", 2.0, "t2"), ("c", "d", 3.0, "t3")]
    assert TransferGraph(10.0, max_cycle_length=3).find_cycle(build(TransferGraph(10.0), ring), "d", "a", 4.0) is None
    assert TransferGraph(10.0, max_cycle_length=4).find_cycle(build(TransferGraph(10.0), ring), "d", "a", 4.0)


def test_grouped_accounts_are_one_node():
    g = TransferGraph(window_s=10.0)
    state = build(g, [("a1", "b", 1.0, "t1")])
    node = {"a1": "A", "a2": "A"}.get
    members = {"A": ["a1", "a2"]}.get
    # b pays a2, another account of A's: the money is back with A.
    path = g.find_cycle(state, "b", "a2", 2.0, node_of=lambda x: node(x) or x, accounts_of=lambda n: members(n) or [n])
    assert refs(path) == ["t1"]
    assert g.find_cycle(state, "b", "a2", 2.0) is None  # ungrouped: no cycle


def test_a_transfer_within_one_node_closes_nothing():
    g = TransferGraph(window_s=10.0)
    assert g.find_cycle(build(g, [("a", "b", 1.0, "t1")]), "a", "a", 2.0) is None


def test_memory_and_work_are_bounded():
    g = TransferGraph(window_s=100.0, max_edges=3)
    state = build(g, [("a", "b", 1.0, "t1"), ("b", "c", 2.0, "t2"), ("c", "d", 3.0, "t3"), ("d", "e", 4.0, "t4")])
    assert state["n"] == 3 and "a" not in state["out"]  # the oldest transfer went
    assert g.forget(state, 3.5) == {"out": {"d": [["e", 4.0, 100.0, "t4"]]}, "n": 1, "q": [[4.0, "d"]]}
    assert g.forget(state, 5.0) is None
    hub = TransferGraph(window_s=100.0, max_expansions=5)
    fan = build(hub, [("a", f"x{k}", 1.0, f"f{k}") for k in range(10)] + [("x9", "b", 2.0, "t")])
    assert hub.find_cycle(fan, "b", "a", 3.0) is None  # the search gave up within its budget
    assert TransferGraph(100.0).find_cycle(fan, "b", "a", 3.0) is not None


def test_a_full_graph_drops_the_oldest_transfer_even_when_it_arrived_late():
    g = TransferGraph(window_s=100.0, max_edges=2)
    state = build(g, [("a", "b", 5.0, "t1"), ("c", "d", 1.0, "late"), ("e", "f", 6.0, "t3")])
    assert state["out"] == {"a": [["b", 5.0, 100.0, "t1"]], "e": [["f", 6.0, 100.0, "t3"]]}
    del state["q"]  # a state saved before the time index existed: rebuilt on use
    state = g.add(state, "g", "h", 7.0, 100.0, "t4")
    assert sorted(state["out"]) == ["e", "g"] and state["q"] == [[6.0, "e"], [7.0, "g"]]


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError):
        TransferGraph(window_s=0.0)
    with pytest.raises(ValueError):
        TransferGraph(window_s=1.0, max_cycle_length=1)

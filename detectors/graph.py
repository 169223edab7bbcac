"""Recent transfers between accounts, and a bounded search for cycles.

:class:`TransferGraph` keeps the directed transfers ``src -> dst`` of the last
``window_s`` of event time (at most ``max_edges`` of them, the oldest dropped
first) as explicit, JSON-serialisable state, and looks for a cycle through each
new transfer: a path from its destination back to its source of at most
``max_cycle_length - 1`` further transfers. It is written for any stream of
account-to-account transfers (the insurer's payer-to-payee flows, or a bank
transfer log such as IBM AMLSim's).

A cycle must be possible as a flow of money: its transfers, read round the
cycle, are in time order from some starting point (a rotation of a
non-decreasing sequence), and they span at most ``window_s``. So ``a->b`` at
t=1 and ``b->a`` at t=2 make a cycle whichever of the two arrives first, but
``a->b`` at t=1, ``b->c`` at t=3 and ``c->a`` at t=2 do not. Nodes may be
grouped (the accounts of one customer are one node): pass ``node_of`` (account
to node) and ``accounts_of`` (node to its accounts) to :meth:`find_cycle`.

The search visits at most ``max_expansions`` edges per transfer, so a hub with
very many transfers costs a bounded amount of time; what it cannot reach in
that budget it does not report.

State: ``{"out": {src: [[dst, time, amount, ref], ...]}, "n": edge count,
"q": [[time, src], ...]}``, ``q`` one entry per transfer in time order, so
that the oldest transfer is found at once when ``max_edges`` is reached (a
scan of every transfer held, on every new one, made a full graph cost
O(edges) per transfer).

>>> g = TransferGraph(window_s=10.0)
>>> state = g.add(None, "a", "b", 1.0, 100.0, "t1")
>>> state = g.add(state, "b", "c", 2.0, 90.0, "t2")
>>> [e[4] for e in g.find_cycle(state, "c", "a", 3.0)]
['t1', 't2']
"""
from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from typing import Any

GraphState = Any
#: (src, dst, time, amount, ref)
Edge = tuple[str, str, float, float, Any]


def _identity(account: str) -> str:
    return account


def _alone(node: str) -> Iterable[str]:
    return (node,)


class TransferGraph:
    def __init__(self, window_s: float, max_cycle_length: int = 6, max_edges: int = 50_000,
                 max_expansions: int = 20_000) -> None:
        if not window_s > 0 or max_cycle_length < 2 or max_edges < 1 or max_expansions < 1:
            raise ValueError("window_s must be positive, max_cycle_length at least 2, the caps positive")
        self.window_s = window_s
        self.max_cycle_length = max_cycle_length
        self.max_edges = max_edges
        self.max_expansions = max_expansions

    def has(self, state: GraphState, src: str, ref: Any) -> bool:
        """Whether a transfer from ``src`` with this ``ref`` is held (a duplicate delivery)."""
        return bool(state) and any(e[3] == ref for e in state["out"].get(src, ()))

    def add(self, state: GraphState, src: str, dst: str, time: float, amount: float, ref: Any) -> GraphState:
        """``state`` with the transfer added (dropping the oldest beyond ``max_edges``)."""
        state = state or {"out": {}, "n": 0, "q": []}
        queue = self._queue(state)
        state["out"].setdefault(src, []).append([dst, time, amount, ref])
        bisect.insort(queue, [time, src])
        state["n"] += 1
        if state["n"] > self.max_edges:
            _, oldest = queue.pop(0)
            edges = state["out"][oldest]
            edges.remove(min(edges, key=lambda e: e[1]))
            if not edges:
                del state["out"][oldest]
            state["n"] -= 1
        return state

    @staticmethod
    def _queue(state: dict) -> list:
        """The time-ordered index of the held transfers (rebuilt for a state saved without one)."""
        if "q" not in state:
            state["q"] = sorted([e[1], src] for src, edges in state["out"].items() for e in edges)
        return state["q"]

    def find_cycle(self, state: GraphState, src: str, dst: str, time: float,
                   node_of: Callable[[str], str] = _identity,
                   accounts_of: Callable[[str], Iterable[str]] = _alone) -> list[Edge] | None:
        """Transfers leading from ``dst`` back to ``src`` (by node) that close a
        cycle with a transfer ``src -> dst`` at ``time``, oldest-first along the
        path, or None. The new transfer itself need not be in the state."""
        if not state:
            return None
        target, start = node_of(src), node_of(dst)
        if target == start:
            return None
        budget = [self.max_expansions]
        path: list[Edge] = []

        def walk(node: str, last: float, descents: int, low: float, high: float, seen: set) -> bool:
            if len(path) >= self.max_cycle_length - 1:
                return False
            for account in accounts_of(node):
                for dst_account, t, amount, ref in state["out"].get(account, ()):
                    budget[0] -= 1
                    if budget[0] < 0:
                        return False
                    down = descents + (t < last)
                    lo, hi = min(low, t), max(high, t)
                    if down > 1 or hi - lo > self.window_s:
                        continue
                    nxt = node_of(dst_account)
                    path.append((account, dst_account, t, amount, ref))
                    if nxt == target:
                        # Closing back onto the new transfer: one more step of the cyclic order.
                        if down + (time < t) <= 1:
                            return True
                    elif nxt not in seen:
                        seen.add(nxt)
                        if walk(nxt, t, down, lo, hi, seen):
                            return True
                        seen.discard(nxt)
                    path.pop()
            return False

        if walk(start, time, 0, time, time, {start, target}):
            return list(path)
        return None

    def forget(self, state: GraphState, horizon: float) -> GraphState:
        """Drop transfers before ``horizon``; ``None`` once nothing is left."""
        if not state:
            return None
        queue = self._queue(state)
        gone = bisect.bisect_left(queue, [horizon])
        if gone == 0:
            return state
        for src in {src for _, src in queue[:gone]}:
            kept = [e for e in state["out"][src] if e[1] >= horizon]
            if kept:
                state["out"][src] = kept
            else:
                del state["out"][src]
        del queue[:gone]
        state["n"] = len(queue)
        return state if queue else None

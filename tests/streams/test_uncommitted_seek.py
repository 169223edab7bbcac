"""Which partitions the seek to committed offsets sends to their beginning (streams/uncommitted_seek.py)."""
from __future__ import annotations

from faust.types import TP

from streams.uncommitted_seek import uncommitted


def test_stream_partitions_with_nothing_committed_go_to_their_beginning():
    committed = {
        TP("policy.events", 0): 117,      # aiokafka seeks it to 117 itself
        TP("policy.events", 1): None,     # a survivor's takeover of a worker killed before its first commit
        TP("policy.events", 2): 0,        # committed at 0: aiokafka leaves the position where it is
        TP("policy.events", 3): -1,       # "no offset" as some brokers answer it
        TP("app-riskwatch-state-changelog", 0): None,  # recovery positions changelogs itself
    }
    assert uncommitted(committed, lambda tp: tp.topic.endswith("-changelog")) == [
        TP("policy.events", 1), TP("policy.events", 2), TP("policy.events", 3)]


def test_nothing_to_seek_when_every_stream_partition_has_a_commit():
    assert uncommitted({TP("payment.events", 0): 5, TP("payment.events", 1): 1}, lambda tp: False) == []

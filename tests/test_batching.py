"""core.batching: inside a batch, the messages rows set off go out once per kind; outside, at once."""

from __future__ import annotations

import pytest

from core import batching


def _recorder():
    sent = {"one": [], "many": []}
    return sent, {"send_one": sent["one"].append, "send_many": sent["many"].append}


def test_outside_a_batch_each_item_is_sent_at_once():
    sent, senders = _recorder()
    batching.enqueue("k", 1, **senders)
    batching.enqueue("k", 2, **senders)
    assert sent == {"one": [1, 2], "many": []}


def test_inside_a_batch_items_go_out_once_per_key_when_it_ends_nested_blocks_included():
    sent, senders = _recorder()
    other, other_senders = _recorder()
    with batching.collected():
        batching.enqueue("k", 1, **senders)
        with batching.collected():
            batching.enqueue("k", 2, **senders)
        batching.enqueue("other", "x", **other_senders)
        assert sent == {"one": [], "many": []}  # nothing before the outer block ends
    assert sent == {"one": [], "many": [[1, 2]]}
    assert other == {"one": [], "many": [["x"]]}


def test_a_failing_send_or_a_raising_block_still_announces_what_was_gathered():
    sent, senders = _recorder()

    def broken(items):
        raise ConnectionError("broker down")

    with pytest.raises(RuntimeError):
        with batching.collected():
            batching.enqueue("broken", 1, send_one=broken, send_many=broken)  # logged, not raised
            batching.enqueue("k", 2, **senders)
            raise RuntimeError("the task failed after committing some rows")
    assert sent["many"] == [[2]]

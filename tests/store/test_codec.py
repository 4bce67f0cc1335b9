"""Stored events come back exactly as they were sent."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.domain import StoredEvent
from orchestrator.store.codec import expand_events, pack_events

_names = st.sampled_from(
    ["message.delta", "message.delta", "message.delta", "tool.call", "tool.result"]
)


@st.composite
def _events(draw: st.DrawFn) -> list[StoredEvent]:
    events = []
    for seq, name in enumerate(draw(st.lists(_names, max_size=40)), start=1):
        if name == "message.delta":
            events.append(StoredEvent(seq, name, {"text": draw(st.text(max_size=8))}))
        else:
            events.append(StoredEvent(seq, name, {"id": f"call_{seq}"}))
    return events


@settings(deadline=None)
@given(_events(), st.integers(min_value=0, max_value=45))
def test_packing_deltas_loses_nothing_and_resumes_anywhere(
    events: list[StoredEvent], after: int
) -> None:
    rows = pack_events("run", events)
    assert len(rows) <= len(events)
    assert expand_events(rows, 0) == events
    assert expand_events(rows, after) == [e for e in events if e.seq > after]


def test_a_run_of_deltas_is_one_row() -> None:
    events = [StoredEvent(i, "message.delta", {"text": f"t{i}"}) for i in range(1, 101)]
    rows = pack_events("run", [*events, StoredEvent(101, "run.completed", {"status": "completed"})])
    assert len(rows) == 2
    assert rows[0]["seq"] == 1 and rows[0]["last_seq"] == 100 and len(rows[0]["splits"]) == 100

"""Group commit (engine/group_commit.py) with real threads: writes that arrive while one
is in flight go together, each keeps its own outcome, and no writer is left waiting."""

from __future__ import annotations

import threading
import time

import pytest

from automations.engine.group_commit import ALONE, GroupCommit

WAIT = 5  # seconds: a bound for the test threads, never reached when all is well


class Store:
    """A write function whose first call waits to be released, recording each batch."""

    def __init__(self, fail_batches: bool = False, stop: bool = False) -> None:
        self.batches: list[list] = []
        self.in_flight = threading.Event()
        self.release = threading.Event()
        self.fail_batches, self.stop = fail_batches, stop

    def write(self, items):
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.in_flight.set()
            assert self.release.wait(WAIT)
        if self.stop and len(self.batches) == 2:
            raise SystemExit("the worker is stopped")
        if self.fail_batches and len(items) > 1:
            raise ValueError("one of them is refused")
        return [f"written {item}" for item in items]


def submit_in_threads(group, items, key=lambda item: "one shape", call="submit"):
    """Each item submitted (or written, ``call``) from a thread of its own; their
    outcomes by item."""
    outcomes, threads = {}, []

    def one(item):
        try:
            outcomes[item] = getattr(group, call)(item, key=key(item))
        except BaseException as exc:  # noqa: BLE001 (what the thread met is the outcome)
            outcomes[item] = exc

    for item in items:
        threads.append(threading.Thread(target=one, args=(item,), daemon=True))
        threads[-1].start()
    return outcomes, threads


def join(threads):
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive()


def until(condition):
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.001)


def queued(group, count):
    until(lambda: len(group._waiting) >= count)


def behind_a_write_in_flight(store, group, later, **how):
    """ "a" written and held in flight while ``later`` queue behind it, then released:
    the outcomes of both, by item."""
    first, threads = submit_in_threads(group, ["a"])
    assert store.in_flight.wait(WAIT)
    outcomes, more = submit_in_threads(group, later, **how)
    queued(group, len(later))
    store.release.set()
    join(threads + more)
    return first, outcomes


def test_it_writes_a_lone_write_at_once():
    store = Store()
    store.release.set()
    group = GroupCommit(store.write, limit=10, most=10)
    assert group.submit("a", key="k") == "written a"
    assert store.batches == [["a"]]


def test_writes_that_arrive_while_one_is_in_flight_go_together():
    store = Store()
    group = GroupCommit(store.write, limit=10, most=10)
    first, later = behind_a_write_in_flight(store, group, ["b", "c", "d"])
    assert store.batches[0] == ["a"]
    assert sorted(store.batches[1]) == ["b", "c", "d"] and len(store.batches) == 2
    assert {**first, **later} == {i: f"written {i}" for i in "abcd"}
    assert not group._busy  # the next write goes at once


def test_a_batch_holds_one_shape_and_no_more_than_it_may():
    store = Store()
    group = GroupCommit(store.write, limit=10, most=2)
    later = ["b1", "c2", "d1", "e1"]
    _first, later = behind_a_write_in_flight(store, group, later, key=lambda i: i[-1])
    assert all(len({i[-1] for i in batch}) == 1 for batch in store.batches[1:])
    assert max(len(batch) for batch in store.batches) == 2
    assert sorted(i for batch in store.batches for i in batch) == ["a", "b1", "c2", "d1", "e1"]
    assert later == {i: f"written {i}" for i in ["b1", "c2", "d1", "e1"]}


def test_a_batch_that_fails_as_a_whole_has_each_write_alone():
    store = Store(fail_batches=True)
    group = GroupCommit(store.write, limit=10, most=10)
    first, later = behind_a_write_in_flight(store, group, ["b", "c"])
    assert first == {"a": "written a"}
    assert later == {"b": ALONE, "c": ALONE}


def test_write_writes_alone_what_its_batch_could_not():
    store = Store(fail_batches=True)
    group = GroupCommit(store.write, limit=10, most=10)
    _first, later = behind_a_write_in_flight(store, group, ["b", "c"], call="write")
    assert later == {"b": "written b", "c": "written c"}
    assert sorted(store.batches[1]) == ["b", "c"] and sorted(store.batches[2:]) == [["b"], ["c"]]


@pytest.mark.parametrize("how", [{"alone": True}, {"size": 11}])
def test_write_goes_alone_when_told_or_too_large(how):
    store = Store()
    group = GroupCommit(store.write, most=10, alone_above=10)
    first, threads = submit_in_threads(group, ["a"])
    assert store.in_flight.wait(WAIT)
    # Not queued behind the write in flight: written at once, beside it.
    assert group.write("big", key="one shape", **how) == "written big"
    assert not group._waiting
    store.release.set()
    join(threads)
    assert store.batches == [["a"], ["big"]]


def test_no_writer_is_left_waiting_when_the_writing_thread_is_stopped():
    store = Store(stop=True)
    group = GroupCommit(store.write, limit=10, most=10)
    _first, later = behind_a_write_in_flight(store, group, ["b", "c"])
    # The thread that wrote b and c was stopped; the other was told to write alone.
    outcomes = list(later.values())
    assert sum(isinstance(outcome, SystemExit) for outcome in outcomes) == 1
    assert outcomes.count(ALONE) == 1
    assert not group._busy


@pytest.mark.parametrize("size", [4, 11])
def test_a_write_larger_than_the_limit_still_goes_alone(size):
    store = Store()
    store.release.set()
    group = GroupCommit(store.write, limit=10, most=10)
    assert group.submit("big", key="k", size=size) == "written big"


def test_a_write_stuck_behind_a_slow_one_goes_alone_after_its_patience():
    store = Store()
    group = GroupCommit(store.write, limit=10, most=10, patience=0.05)
    first, threads = submit_in_threads(group, ["slow"])
    assert store.in_flight.wait(WAIT)
    started = time.monotonic()
    assert group.submit("next", key="one shape") is ALONE
    assert time.monotonic() - started < WAIT
    assert not group._waiting  # it left the queue: no batch will write it too
    store.release.set()
    join(threads)
    assert first == {"slow": "written slow"} and store.batches == [["slow"]]
    assert group.submit("later", key="one shape") == "written later"


def crowded(group, store):
    """The group's last batch held several writes (b and c, behind a in flight)."""
    behind_a_write_in_flight(store, group, ["b", "c"])
    assert [sorted(batch) for batch in store.batches[1:]] == [["b", "c"]]


def lingering(group):
    until(lambda: group._gate is not None)


def test_after_a_crowded_batch_the_leader_lingers_for_company():
    store = Store()
    group = GroupCommit(store.write, most=10, linger=0.2, patience=WAIT)
    crowded(group, store)
    outcomes, threads = submit_in_threads(group, ["d"])
    lingering(group)  # without the linger, d would be written alone by now
    more, others = submit_in_threads(group, ["e"])
    join(threads + others)
    assert store.batches[-1] == ["d", "e"]
    assert {**outcomes, **more} == {"d": "written d", "e": "written e"}
    assert not group._busy and group._gate is None


def test_the_linger_ends_as_soon_as_the_batch_is_full():
    store = Store()
    # Never waited out in a test: the second write fills the batch.
    group = GroupCommit(store.write, most=2, linger=600, patience=601)
    crowded(group, store)
    outcomes, threads = submit_in_threads(group, ["d"])
    lingering(group)
    more, others = submit_in_threads(group, ["e"])
    join(threads + others)  # within WAIT: the second write filled the batch
    assert store.batches[-1] == ["d", "e"]
    assert {**outcomes, **more} == {"d": "written d", "e": "written e"}


def test_a_write_after_a_lone_one_goes_at_once():
    store = Store()
    store.release.set()
    group = GroupCommit(store.write, most=10, linger=600, patience=601)
    assert group.submit("a", key="k") == "written a"
    outcomes, threads = submit_in_threads(group, ["b"])
    join(threads)  # within WAIT: a was alone, so nobody lingers
    assert outcomes == {"b": "written b"} and store.batches == [["a"], ["b"]]


class StoppedWhileLingering(GroupCommit):
    def __init__(self, *args, company: threading.Event, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.company = company

    def _wait_for_company(self) -> None:
        assert self.company.wait(WAIT)
        raise SystemExit("the worker is stopped")


def test_no_writer_is_left_waiting_when_the_lingering_thread_is_stopped():
    store = Store()
    company = threading.Event()
    group = StoppedWhileLingering(store.write, most=10, linger=600, patience=601, company=company)
    crowded(group, store)
    outcomes, threads = submit_in_threads(group, ["d"])
    queued(group, 1)  # d leads
    more, others = submit_in_threads(group, ["e"])
    queued(group, 2)
    company.set()
    join(threads + others)
    assert isinstance(outcomes["d"], SystemExit)
    assert more == {"e": ALONE}  # told to write alone, as when a batch fails
    assert not group._busy and not group._waiting


def test_a_linger_as_long_as_the_patience_is_refused():
    # Writers queued behind a lingering leader would give up before it wrote.
    with pytest.raises(ValueError, match="linger"):
        GroupCommit(Store().write, most=10, linger=0.1, patience=0.1)

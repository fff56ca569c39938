"""Group commit: the log writes that the threads of one process make at the same moment,
sent to the database together by one of them.

A webhook answered inline writes its log in one statement at the end (engine/inserts.py),
and that statement's round trip and commit cost the database more than the rows it
carries: on PostgreSQL a statement of four runs' logs cost the server 68 µs of CPU per
run and the client 47, one of a single run's log 150 and 115. While one thread's write
is on its way, the threads finishing their runs after it queue theirs; when it is done,
the first of them writes all that queued, in one statement, and each waits for its own
outcome. A write that finds no other in flight goes at once, so a lone webhook is
written as before, and under load the batches form by themselves.

Under load a leader may first linger a moment (``linger``, SQLite's): when the batch
before it held several writes, others are finishing their runs on this process's other
threads, and a leader that wrote at once would carry one or two of them where one more
millisecond gathers most. Each write costs the database a commit and its shared pages
once, whatever the batch's size, so waiting a little costs less than writing twice; on
SQLite, where every write also takes the writers' turn of all processes, three
processes of eight threads drained 15-17% more webhooks and spent 4-8% less CPU on each
with a millisecond's linger (batches of 4.5 runs against 2.4 under gunicorn). A write
that follows a lone one goes at once, so a webhook on a quiet server never waits, and
the linger ends early once the batch is full.

Each write keeps its own outcome: a batch that fails as a whole (a refused value in one
of its runs, a lost connection) is written again by each of its writers alone, as if
there had been no batch, so an error stays with the run it belongs to.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from typing import Any

logger = logging.getLogger(__name__)

# Told to a writer whose batch failed as a whole: write alone, as without a batch.
ALONE = object()


class _Entry:
    __slots__ = ("item", "key", "size", "woken", "outcome", "leads")

    def __init__(self, item: Any, key: Hashable, size: int) -> None:
        self.item, self.key, self.size = item, key, size
        # Held from birth and released once, by whoever hands this writer its outcome or
        # the lead: one C call on each side. An Event (a Condition, a lock per wait, a
        # waiters' list) cost about ten µs of Python per write under load.
        self.woken = threading.Lock()
        self.woken.acquire()
        self.outcome: Any = ALONE
        self.leads = False


class GroupCommit:
    """``write(items)`` answers one outcome per item, in order; it is called by one
    thread at a time, with items of one ``key`` (writes of one shape, so that a batch is
    one of few statements), at most ``most`` of them and ``limit`` in size all told (no
    bound when None). An item larger than ``alone_above`` is written alone. A leader
    whose predecessor wrote several waits up to ``linger`` seconds for more."""

    def __init__(
        self,
        write: Callable[[Sequence[Any]], list[Any]],
        *,
        most: int,
        limit: int | None = None,
        alone_above: int | None = None,
        patience: float = 0.1,
        linger: float = 0.0,
    ) -> None:
        if linger >= patience:
            raise ValueError(f"A linger of {linger} s would outlast the writers' patience.")
        self._write = write
        self._most = most
        self._linger = linger
        # Whether the last batch held several writes (others were writing meanwhile),
        # and the gate of a leader lingering, which a writer that fills the batch opens.
        self._crowded = False
        self._gate: threading.Lock | None = None
        self._limit = limit
        self._alone_above = alone_above
        self._patience = patience
        self._lock = threading.Lock()
        self._waiting: deque[_Entry] = deque()
        self._busy = False

    def write(self, item: Any, *, key: Hashable, size: int = 1, alone: bool = False) -> Any:
        """``item``'s outcome, written with others' where it may be: alone when the
        caller says so (its writes belong to a transaction of its own), when it is larger
        than ``alone_above`` (nobody waits for it), or when ``submit`` answers ALONE (its
        error, if it meets one, is then raised here)."""
        if not alone and (self._alone_above is None or size <= self._alone_above):
            outcome = self.submit(item, key=key, size=size)
            if outcome is not ALONE:
                return outcome
        return self._write([item])[0]

    def submit(self, item: Any, *, key: Hashable, size: int = 1) -> Any:
        """``item`` written, alone or with others: its outcome, or ALONE when the
        caller must write it alone (its batch failed as a whole, or the write in flight
        took longer than ``patience`` seconds and this one was not yet taken)."""
        entry = _Entry(item, key, size)
        with self._lock:
            self._waiting.append(entry)
            leads = not self._busy
            self._busy = True
            if self._gate is not None and len(self._waiting) >= self._most:
                self._gate.release()
                self._gate = None
        if not leads:
            if not entry.woken.acquire(timeout=self._patience):
                if self._give_up(entry):
                    # Stuck behind a slow write (a stalled connection): this one goes on
                    # its own connection instead, as it would have without group commit.
                    return ALONE
                entry.woken.acquire()
            if not entry.leads:
                return entry.outcome
        return self._lead()

    def _give_up(self, entry: _Entry) -> bool:
        """Leave the queue, unless a batch took this entry or it was made the leader
        meanwhile (then the others count on it)."""
        with self._lock:
            if entry.leads or entry not in self._waiting:
                return False
            self._waiting.remove(entry)
            return True

    def _lead(self) -> Any:
        """Write the batch at the head of the queue (this thread's write comes first),
        after lingering when the last batch was crowded."""
        batch: list[_Entry] = []
        outcomes: list[Any] | None = None  # None: the write did not complete
        try:
            if self._linger and self._crowded:
                self._wait_for_company()
            with self._lock:
                batch = self._take()
            self._crowded = len(batch) > 1
            outcomes = self._write([entry.item for entry in batch])
        except Exception as exc:
            # Each writes alone and meets its own error there; the message may quote a
            # run's values, so only the kind is said here.
            logger.info("%d writes sent together failed (%s)", len(batch), type(exc).__name__)
        finally:
            # Even when the thread is stopped mid-write (or while lingering), no writer
            # is left waiting.
            with self._lock:
                if not batch:
                    batch = self._take()
                if self._waiting:
                    self._waiting[0].leads = True
                    self._waiting[0].woken.release()
                else:
                    self._busy = False
            if outcomes is None:
                outcomes = [ALONE] * len(batch)
            for entry, outcome in zip(batch[1:], outcomes[1:], strict=True):
                entry.outcome = outcome
                entry.woken.release()
        return outcomes[0]

    def _wait_for_company(self) -> None:
        """Up to ``linger`` seconds, or until a writer fills the batch."""
        gate = threading.Lock()
        gate.acquire()
        with self._lock:
            if len(self._waiting) >= self._most:
                return
            self._gate = gate
        try:
            gate.acquire(timeout=self._linger)
        finally:
            with self._lock:
                self._gate = None

    def _take(self) -> list[_Entry]:
        # The head, and those behind it of the same key while the batch has room; the
        # others keep their place for the next batch.
        head = self._waiting.popleft()
        batch, size, kept = [head], head.size, deque()
        while self._waiting:
            entry = self._waiting.popleft()
            if (
                entry.key == head.key
                and (self._limit is None or size + entry.size <= self._limit)
                and len(batch) < self._most
            ):
                batch.append(entry)
                size += entry.size
            else:
                kept.append(entry)
        self._waiting = kept
        return batch

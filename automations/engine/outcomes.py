"""How a step ends other than with an output: it fails, waits in the queue, or stops
the run. Raised by the runner and by the flow control it walks."""

from __future__ import annotations


class Deferred(Exception):
    """A step waits to retry, or a delay waits: the run goes back to the queue and
    continues later at the same position, in any worker, so that no worker sleeps
    through the wait. ``waiting`` marks a delay (its time does not count towards the
    run's time limit)."""

    def __init__(self, message: str, *, delay: float, attempts: int, waiting: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.delay = delay
        self.attempts = attempts
        self.waiting = waiting


class Stopped(Exception):
    """A flow.stop step ends the run with an outcome."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message


MAY_HAVE_BEEN_APPLIED = "The request may have been applied; check before retrying."


class StepFailed(Exception):
    def __init__(
        self, message: str, *, timed_out: bool = False, attempts: int = 0, internal: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.timed_out = timed_out
        self.attempts = attempts
        # For an exception nobody raised on purpose: its type, all the user is shown.
        self.internal = internal

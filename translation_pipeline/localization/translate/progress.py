"""Progress of a running step, for whoever in this process wants to show it (the CLI's progress bar).

The Dagster log gets its own throttled lines; this is the unthrottled feed. Listeners are process-local
by design: a run in another process or container reports through the Dagster log only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    stage: str
    done: int
    total: int
    cost_usd: float | None = None
    note: str = ""  # a line to show as it is (the batch lane's waiting state)


Listener = Callable[[Progress], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> Callable[[], None]:
    """Register `listener`; returns the function that removes it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def publish(progress: Progress) -> None:
    for listener in list(_listeners):
        listener(progress)

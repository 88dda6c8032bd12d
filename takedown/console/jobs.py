"""Background jobs the console starts (a case's scan, a follow-up round): one at a time per key, their state in
the store so that every console process and every officer sees it.

``start_job`` claims the key (refusing while a run of it is going), records who asked in a custody log, and runs
the work on a thread of its own with an event loop of its own. The state says running (with the stage reached),
done (with the work's summary) or failed (with the reason). A run still "running" after ``STALE`` is taken as
crashed and may be started again; the jobs themselves resume where an earlier run stopped.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from takedown.errors import TakedownError, UsageError
from takedown.models import utcnow
from takedown.store.base import CaseStore

__all__ = ["STALE", "JobState", "job_state", "start_job"]

STALE = timedelta(hours=6)
"""A run still "running" after this long is taken as crashed."""

Work = Callable[[Callable[[str], None]], Awaitable[dict[str, Any]]]
"""A job's work: given a function to report its stage with, it returns its summary."""


class JobState(BaseModel):
    """Where a job's last run stands."""

    model_config = ConfigDict(frozen=True)

    status: Literal["running", "done", "failed"]
    by: str
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    stage: str = ""
    summary: dict[str, Any] = Field(default_factory=dict)
    error: str = ""

    def running(self, now: datetime | None = None) -> bool:
        """Whether the run is still going (and not stale)."""
        return self.status == "running" and (now or utcnow()) - self.started_at < STALE


def job_state(store: CaseStore, key: str) -> JobState | None:
    """The last run of the job ``key``, if there was one."""
    value = store.get_checkpoint(key)
    return JobState.model_validate_json(value) if value else None


def start_job(
    store: CaseStore,
    key: str,
    work: Work,
    *,
    by: str,
    what: str,
    custody: tuple[str, str, Mapping[str, str]],
    check: Callable[[], None] = lambda: None,
) -> threading.Thread:
    """Claim ``key`` and run ``work`` in the background; return the thread that runs it.

    Args:
        work: the job (see ``Work``).
        by: who asked (a display name).
        what: the job, in words, for the refusal while it runs ("a scan of this case").
        custody: ``(subject, action, details)`` of the custody event that records who asked.
        check: raises if the job may not start (run inside the claim's transaction).

    Raises:
        UsageError: a run of ``key`` is going; or what ``check`` raises.
    """
    with store.transaction():  # the check and the claim together: two clicks start one run
        check()
        current = job_state(store, key)
        if current is not None and current.running():
            raise UsageError(f"{current.by} started {what} at {current.started_at.isoformat(timespec='minutes')}; "
                             "it is still running")
        state = JobState(status="running", by=by, started_at=utcnow(), stage="starting")
        store.set_checkpoint(key, state.model_dump_json())
        subject, action, details = custody
        store.append_custody(subject, action, actor=by, details=dict(details))
    thread = threading.Thread(target=_run, args=(store, key, state, work), name=key, daemon=True)
    thread.start()
    return thread


async def _main(work: Work, stage: Callable[[str], None]) -> dict[str, Any]:
    return await work(stage)


def _run(store: CaseStore, key: str, state: JobState, work: Work) -> None:
    def save(changed: JobState) -> None:
        store.set_checkpoint(key, changed.model_dump_json())

    def stage(text: str) -> None:
        save(state.model_copy(update={"stage": text}))

    try:
        summary = asyncio.run(_main(work, stage))
    except TakedownError as exc:
        save(state.model_copy(update={"status": "failed", "finished_at": utcnow(),
                                      "error": f"{type(exc).__name__}: {exc}"}))
    except Exception as exc:  # a bug must still end the run visibly, never leave it "running"
        save(state.model_copy(update={"status": "failed", "finished_at": utcnow(),
                                      "error": f"unexpected {type(exc).__name__}: {exc}"}))
        raise
    else:
        save(state.model_copy(update={"status": "done", "finished_at": utcnow(), "stage": "", "summary": summary}))

"""Scanning a case from the console: the same run as ``takedown scan``, in the background, one at a time per case.

``start_scan`` checks that the case is open and not being scanned, records who asked in the case's custody log
(``scan_started``), and runs the agency's workflow (``build_workflow``: the site files of ``[sites] dir``, the
detectors, evidence writers and languages of the settings) on a thread of its own. Its state (running, with the
stage it is at; done, with the run's summary; failed, with the reason) is kept in the store, so every console
process and every officer sees it on the case page. A run that crashed without saying so counts as failed after
``STALE`` and can be started again; a run resumes where the last one stopped, as ``takedown scan`` does.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from takedown.errors import TakedownError, UsageError
from takedown.models import utcnow
from takedown.settings import Settings
from takedown.store.base import CaseStore

__all__ = ["STALE", "ScanState", "scan_state", "start_scan"]

STALE = timedelta(hours=6)
"""A run still "running" after this long is taken as crashed."""


class ScanState(BaseModel):
    """Where a case's last console scan stands."""

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


def _key(case_id: str) -> str:
    return f"console-scan:{case_id}"


def scan_state(store: CaseStore, case_id: str) -> ScanState | None:
    """The case's last console scan, if there was one."""
    value = store.get_checkpoint(_key(case_id))
    return ScanState.model_validate_json(value) if value else None


def _save(store: CaseStore, case_id: str, state: ScanState) -> None:
    store.set_checkpoint(_key(case_id), state.model_dump_json())


def start_scan(
    store: CaseStore, settings: Settings, case_id: str, *, by: str, context: dict[str, str]
) -> threading.Thread:
    """Start scanning an open case in the background and return the thread that runs it.

    Raises:
        NotFoundError: no such case.
        UsageError: the case is closed or withdrawn, or a scan of it is running.
    """
    from takedown.workflow import require_open

    with store.transaction():  # the check and the claim together: two clicks start one run
        require_open(store.get_case(case_id))
        current = scan_state(store, case_id)
        if current is not None and current.running():
            raise UsageError(f"{current.by} started a scan of this case at "
                             f"{current.started_at.isoformat(timespec='minutes')}; it is still running")
        state = ScanState(status="running", by=by, started_at=utcnow(), stage="starting")
        _save(store, case_id, state)
        store.append_custody(case_id, "scan_started", actor=by, details=context)
    thread = threading.Thread(target=_run, args=(store, settings, case_id, state), name=f"scan-{case_id}",
                              daemon=True)
    thread.start()
    return thread


def _run(store: CaseStore, settings: Settings, case_id: str, state: ScanState) -> None:
    from takedown.pipeline import build_workflow
    from takedown.workflow import ProgressEvent

    def progress(event: ProgressEvent) -> None:
        total = f"/{event.total}" if event.total is not None else ""
        _save(store, case_id, state.model_copy(update={"stage": f"{event.stage} {event.done}{total}"}))

    async def run() -> dict[str, Any]:
        workflow = build_workflow(settings, store, progress=progress, operator=f"console scan by {state.by}")
        try:
            return (await workflow.run(case_id)).summary()
        finally:
            await workflow.aclose()

    try:
        summary = asyncio.run(run())
    except TakedownError as exc:
        _save(store, case_id, state.model_copy(update={"status": "failed", "finished_at": utcnow(),
                                                       "error": f"{type(exc).__name__}: {exc}"}))
    except Exception as exc:  # a bug must still end the run visibly, never leave it "running"
        _save(store, case_id, state.model_copy(update={"status": "failed", "finished_at": utcnow(),
                                                       "error": f"unexpected {type(exc).__name__}: {exc}"}))
        raise
    else:
        _save(store, case_id, state.model_copy(update={"status": "done", "finished_at": utcnow(), "stage": "",
                                                       "summary": summary}))

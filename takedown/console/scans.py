"""Scanning a case from the console: the same run as ``takedown scan``, in the background, one at a time per case.

``start_scan`` checks that the case is open and not being scanned, records who asked in the case's custody log
(``scan_started``), and runs the agency's workflow (``build_workflow``: the site files of ``[sites] dir``, the
detectors, evidence writers and languages of the settings) as a console job (``takedown.console.jobs``): its
state (running with its stage, done with the run's summary, failed with the reason) shows on the case page. A
run resumes where the last one stopped, as ``takedown scan`` does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from takedown.console.jobs import JobState, job_state, start_job
from takedown.settings import Settings
from takedown.store.base import CaseStore

__all__ = ["scan_state", "start_scan"]


def _key(case_id: str) -> str:
    return f"console-scan:{case_id}"


def scan_state(store: CaseStore, case_id: str) -> JobState | None:
    """The case's last console scan, if there was one."""
    return job_state(store, _key(case_id))


def start_scan(
    store: CaseStore, settings: Settings, case_id: str, *, by: str, context: dict[str, str]
) -> threading.Thread:
    """Start scanning an open case in the background and return the thread that runs it.

    Raises:
        NotFoundError: no such case.
        UsageError: the case is closed or withdrawn, or a scan of it is running.
    """
    from takedown.pipeline import build_workflow
    from takedown.workflow import ProgressEvent, require_open

    async def work(stage: Callable[[str], None]) -> dict[str, Any]:
        def progress(event: ProgressEvent) -> None:
            stage(f"{event.stage} {event.done}{f'/{event.total}' if event.total is not None else ''}")

        workflow = build_workflow(settings, store, progress=progress, operator=f"console scan by {by}")
        try:
            return (await workflow.run(case_id)).summary()
        finally:
            await workflow.aclose()

    return start_job(store, _key(case_id), work, by=by, what="a scan of this case",
                     custody=(case_id, "scan_started", context),
                     check=lambda: require_open(store.get_case(case_id)))

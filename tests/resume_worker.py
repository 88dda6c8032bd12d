"""Runs the demo case against a demo site that is already serving, printing each progress event as a JSON line.

The resume test starts this in a subprocess and SIGKILLs it at chosen points. Usage:
    python tests/resume_worker.py OUT BASE_URL SITE_ROOT
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from takedown.demo.media import generate_demo_media
from takedown.demo.run import DEMO_CASE_ID, DEMO_KEYWORDS, DEMO_LOCALES, DEMO_SITE, demo_settings
from takedown.detect import DHashDetector, ExactHashDetector, reference_hashes
from takedown.errors import NotFoundError
from takedown.evidence import JsonWriter
from takedown.models import Case
from takedown.report import PlainTextTemplate
from takedown.sites import HttpSite, HttpSiteConfig
from takedown.store import SQLiteCaseStore
from takedown.workflow import ProgressEvent, Workflow


def main(out: Path, base_url: str, site_root: Path) -> None:
    settings = demo_settings(out)
    store = SQLiteCaseStore(out / "takedown.sqlite")
    try:
        store.get_case(DEMO_CASE_ID)
    except NotFoundError:
        manifest = generate_demo_media(site_root)
        refs = [h for m in manifest.references() for h in reference_hashes(site_root / m.file, label=Path(m.file).stem)]
        store.put_case(Case(id=DEMO_CASE_ID, title="resume", references=refs, keywords=list(DEMO_KEYWORDS),
                            languages=list(DEMO_LOCALES)))

    def emit(event: ProgressEvent) -> None:
        print(json.dumps(event.model_dump(mode="json")), flush=True)

    site = HttpSite(HttpSiteConfig(site=DEMO_SITE, base_url=base_url), network=settings.network)
    workflow = Workflow(store, settings=settings, sites=[site], detectors=[ExactHashDetector(), DHashDetector()],
                        writers=[JsonWriter()], templates=[PlainTextTemplate()], concurrency=1, cpu_workers=1,
                        progress=emit)
    result = workflow.run_sync(DEMO_CASE_ID)
    store.close()
    print(json.dumps({"done": result.summary()}), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))

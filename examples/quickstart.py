"""Quickstart: the demo case end to end through the Python API, on synthetic media only.

Run ``python examples/quickstart.py [OUT]``: it serves the demo site on loopback, builds a case from the hashes
of the demo's reference media, runs discover → judge → evidence → draft, approves and sends one notice to an
outbox folder, and prints the summary. OUT defaults to a new temporary folder.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from takedown import (
    Case,
    DHashDetector,
    ExactHashDetector,
    HttpSite,
    HttpSiteConfig,
    JsonWriter,
    LocalePackTemplate,
    OutboxTransport,
    SQLiteCaseStore,
    Workflow,
    approve_notice,
    reference_hashes,
    send_notice,
)
from takedown.demo import DemoSite
from takedown.settings import AgencySettings, NetworkSettings, Settings, StorageSettings


def main(out: Path) -> int:
    network = NetworkSettings(allow_loopback=True)  # the demo site lives on 127.0.0.1
    agency = AgencySettings(name="Demo Victim Support Center", registration_number="DEMO-0001",
                            phone="+82-2-000-0000")  # a Korean notice needs both before it can be approved
    settings = Settings(agency=agency, storage=StorageSettings(data_dir=out), network=network)
    store = SQLiteCaseStore(out / "takedown.sqlite")
    try:
        with DemoSite(out / "demo-site") as site:
            refs = [h for path in site.reference_files() for h in reference_hashes(path, label=path.stem)]
            case = Case(title="Quickstart (synthetic media)", references=refs, keywords=["minji_cam"],
                        languages=["ko", "en"])
            store.put_case(case)
            adapter = HttpSite(HttpSiteConfig(site="demo-sns.example", base_url=site.base_url), network=network)
            workflow = Workflow(store, settings=settings, sites=[adapter], templates=[LocalePackTemplate()],
                                detectors=[ExactHashDetector(), DHashDetector()], writers=[JsonWriter()],
                                locales=["ko", "en"])
            result = workflow.run_sync(case.id)
        # An officer approves one draft by name; only then can it be sent (here: written to an outbox folder).
        notice = store.list_notices(case.id)[0]
        approve_notice(store, notice.id, by="Officer Demo")
        outbox = OutboxTransport(out / "outbox")
        delivery = send_notice(store, notice.id, transport=outbox, sender=settings.agency.email)
    finally:
        store.close()
    print(json.dumps(result.summary(), indent=2, ensure_ascii=False))
    print(f"sent 1 approved notice to {delivery.detail}; {result.notices - 1} drafts wait for an officer")
    return 1 if result.errors else 0


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="takedown-quickstart-"))
    target.mkdir(parents=True, exist_ok=True)
    sys.exit(main(target))

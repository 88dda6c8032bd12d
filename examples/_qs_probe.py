"""Quickstart: the demo case end to end through the Python API, on synthetic media only.

Run ``python examples/quickstart.py [OUT]``: it serves the demo site on loopback, builds a case from the hashes
of the demo's reference media, assembles the agency's pipeline from settings with ``build_workflow`` (the same one
``takedown scan`` runs: the site file, hash and keyword detectors, live capture, HWPX/HWP/PDF reports), runs
discover → judge → evidence → draft, approves and sends one notice to an outbox folder, and prints the summary.
OUT defaults to a new temporary folder.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from takedown import (
    Case,
    OutboxTransport,
    SQLiteCaseStore,
    approve_notice,
    reference_hashes,
    send_notice,
)
from takedown.demo import DemoSite
from takedown.demo.run import demo_site_file
from takedown.pipeline import build_workflow
from takedown.settings import (
    AgencySettings,
    EvidenceSettings,
    NetworkSettings,
    ReportSettings,
    Settings,
    SitesSettings,
    StorageSettings,
)


def main(out: Path) -> int:
    sites = out / "sites"  # the agency's folder of site files; here the demo site's own
    sites.mkdir(exist_ok=True)
    shutil.copy(demo_site_file(), sites / "demo-sns.toml")
    store = SQLiteCaseStore(out / "takedown.sqlite")
    try:
        with DemoSite(out / "demo-site") as site:
            settings = Settings(
                agency=AgencySettings(name="Demo Victim Support Center", registration_number="DEMO-0001",
                                      phone="+82-2-000-0000"),  # a Korean notice needs both to be approved
                storage=StorageSettings(data_dir=out),
                network=NetworkSettings(allow_loopback=True),  # the demo site lives on 127.0.0.1
                sites=SitesSettings(dir=sites, vars={"base_url": site.base_url}),
                evidence=EvidenceSettings(screenshot=False),  # live HTTP capture and every report, no Chromium
                report=ReportSettings(locales=("ko", "en"), rdap=False),
            )
            refs = [h for path in site.reference_files() for h in reference_hashes(path, label=path.stem)]
            case = Case(title="Quickstart (synthetic media)", references=refs, keywords=["minji_cam"],
                        languages=["ko", "en"])
            store.put_case(case)
            # The same pipeline as takedown scan: sites, detectors, capture, writers and templates from settings.
            workflow = build_workflow(settings, store)
            result = workflow.run_sync(case.id)
        # An officer approves one draft by name; only then can it be sent (here: written to an outbox folder).
        print("ERRS", result.errors, [(n.recipient.channel, n.locale) for n in store.list_notices(case.id)], flush=True)
        notice = next(n for n in store.list_notices(case.id) if n.recipient.channel == "email")
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

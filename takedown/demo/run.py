"""The demo flow: a case built from the demo's reference media, run end to end against the demo site.

Used by ``takedown demo``, the example notebook, the end-to-end benchmark and the tests. Running it again on
the same folder resumes the same case against a demo site on the same port, so an interrupted demo finishes
without duplicating anything.

The demo site is described by the TOML files in ``takedown/demo/sites`` (``demo_site_file``) and read through
``takedown.sites.declarative``, as any site an agency adds: ``demo-sns.toml`` over plain HTTP (search, feed,
sitemap), ``demo-sns-browser.toml`` with its JavaScript home page besides (read in headless Chromium, past the age
gate, scrolled to the end).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from takedown.demo.site import DemoSite
from takedown.demo.tsa import LocalTsa
from takedown.detect.references import reference_hashes
from takedown.errors import NotFoundError
from takedown.evidence.signing import make_agency_identity
from takedown.evidence.tsa import TsaClient
from takedown.models import Case, Decision, DetectionLabel, PolicyRule
from takedown.pipeline import build_workflow
from takedown.settings import AgencySettings, NetworkSettings, ReportSettings, Settings, StorageSettings
from takedown.sites.declarative import ConfiguredSite, load_site
from takedown.store.base import CaseStore
from takedown.store.sqlite import SQLiteCaseStore
from takedown.workflow import ProgressEvent, Workflow, WorkflowResult

__all__ = [
    "DEMO_CASE_ID",
    "DEMO_SITE",
    "demo_adapter",
    "demo_case",
    "demo_settings",
    "demo_site_file",
    "demo_workflow",
    "run_demo",
    "write_demo_config",
]

DEMO_CASE_ID = "case-demo"
DEMO_SITE = "demo-sns.example"
"""The demo site's label: the ``name`` in its site files."""
DEMO_KEYWORDS = ("minji_cam",)
DEMO_LOCALES = ("ko", "en")
_PORT_KEY = "demo.port"


def demo_settings(out: Path) -> Settings:
    """Settings for the demo: data under ``out``, loopback fetching allowed (the demo site is on 127.0.0.1), and an
    agency signing key of its own in ``out/agency`` (made on first use; trusted by the demo's settings only)."""
    name = "Demo Victim Support Center"
    return Settings(
        agency=AgencySettings(name=name, registration_number="DEMO-0001",
                              email="takedown@agency.example", phone="+82-2-000-0000"),
        storage=StorageSettings(data_dir=out),
        signing=make_agency_identity(Path(out) / "agency", name=name),
        network=NetworkSettings(allow_loopback=True),
        report=ReportSettings(rdap=False),  # the demo site's contacts are declared on its pages; no RDAP offline
    )


def demo_case(site: DemoSite) -> Case:
    """The demo case: the hashes of the demo's reference media (never the media), its keyword, and one rule.

    The rule shows a case's own decision policy: a post that names the victim's handle but holds none of her media
    goes to an officer, with a reason the review queue shows.
    """
    references = [h for path in site.reference_files() for h in reference_hashes(path, label=path.stem)]
    handle = PolicyRule(decision=Decision.REVIEW, detector="keyword", labels=frozenset({DetectionLabel.SUSPECT}),
                        reason="the post names the victim's handle")
    return Case(id=DEMO_CASE_ID, title="Demo case (synthetic media)", references=references,
                keywords=list(DEMO_KEYWORDS), languages=list(DEMO_LOCALES), jurisdiction="KR",
                requester="Demo Victim Support Center", policy=[handle])


def demo_site_file(*, js_feed: bool = False) -> Path:
    """The demo site's TOML file: ``demo-sns.toml``, or with ``js_feed`` ``demo-sns-browser.toml``."""
    return Path(__file__).resolve().parent / "sites" / ("demo-sns-browser.toml" if js_feed else "demo-sns.toml")


def demo_adapter(site: DemoSite, settings: Settings, *, js_feed: bool = False) -> ConfiguredSite:
    """The site adapter for the running demo site, loaded from its TOML file with ``{base_url}`` filled in.

    With ``js_feed``, discovery also reads the JavaScript-rendered home page in headless Chromium (the
    ``browser`` extra); posts are fetched over HTTP either way.
    """
    return load_site(demo_site_file(js_feed=js_feed), network=settings.network,
                     variables={"base_url": site.base_url}, evidence=settings.evidence)


def demo_workflow(
    store: CaseStore,
    site: DemoSite,
    settings: Settings,
    *,
    progress: Callable[[ProgressEvent], None] | None = None,
    full_evidence: bool = False,
    tsa: TsaClient | None = None,
    js_feed: bool = False,
) -> Workflow:
    """A workflow over the demo site, assembled like every other by ``takedown.pipeline.build_workflow``.

    Hash detectors (exact, PDQ, vPDQ, dHash) find copies of the references; the keyword detector flags posts that
    name the case's keyword, however it is disguised. The default decision policy, after the case's own rule,
    makes a hash match a match and a keyword hit alone a review.

    Candidates are discovered through the demo's site file (see ``demo_adapter``): its search, feed and sitemap,
    and with ``js_feed`` its JavaScript home page too. The site's operator gets one request listing every match,
    in Korean (its site file declares it in Korea) with an English copy, and one through its report form. With
    ``full_evidence``, each match is captured live (HTTP with WARC, a Chromium screenshot and MHTML) and written
    up as JSON, HWPX, HWP and PDF; without it (quicker, for tests), evidence is the fetched page and media with
    the JSON manifest and the recipient's copy of it. Either way every bundle is sealed, and time-stamped when
    ``tsa`` is given.
    """
    adapter = demo_adapter(site, settings, js_feed=js_feed)
    writers = settings.evidence.writers if full_evidence else ("json", "recipient")
    settings = settings.model_copy(update={
        "evidence": settings.evidence.model_copy(update={"live": full_evidence, "writers": writers}),
        "report": settings.report.model_copy(update={"locales": (), "bilingual": True}),
    })
    return build_workflow(settings, store, sites=[adapter], progress=progress, operator="demo", tsa=tsa)


def run_demo(
    out: Path, *, progress: Callable[[ProgressEvent], None] | None = None, full_evidence: bool = True
) -> WorkflowResult:
    """Run the demo into ``out`` and write ``out/summary.json``; resume if ``out`` holds an earlier run.

    Discovery reads the demo site's search, feed, sitemap and JavaScript home page (in headless Chromium), so every
    post is a candidate; the demo's ground truth says which of them hold copies. A local time-stamping authority
    (``openssl ts``) runs beside the demo site; its certificates are in ``out/tsa``, and the demo agency's signing
    key and CA in ``out/agency`` (``takedown verify BUNDLE --config out/takedown.toml`` trusts both).

    Returns the workflow's result (``summary.json`` holds the same data).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = demo_settings(out)
    store = SQLiteCaseStore(out / "takedown.sqlite")
    try:
        saved_port = store.get_checkpoint(_PORT_KEY)
        with DemoSite(out / "demo-site", port=int(saved_port or 0)) as site, LocalTsa(out / "tsa") as authority:
            store.set_checkpoint(_PORT_KEY, site.base_url.rsplit(":", 1)[1])
            try:
                store.get_case(DEMO_CASE_ID)
            except NotFoundError:
                store.put_case(demo_case(site))
            with TsaClient(authority.settings()) as tsa:
                workflow = demo_workflow(store, site, settings, progress=progress, full_evidence=full_evidence,
                                         tsa=tsa, js_feed=True)
                result = workflow.run_sync(DEMO_CASE_ID)
    finally:
        store.close()
    (out / "summary.json").write_text(json.dumps(result.summary(), indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    write_demo_config(out)
    return result


def write_demo_config(out: Path) -> Path:
    """Write ``out/takedown.toml``: settings that point the officer's commands at the demo's store and evidence.

    ``takedown review --config OUT/takedown.toml`` (or ``TAKEDOWN_CONFIG=OUT/takedown.toml``) then lists the
    demo's drafts; ``verify`` checks its bundles against the demo TSA's certificates; sending goes to an outbox
    folder unless an SMTP server is configured.
    """
    root = Path(out).resolve()
    settings = demo_settings(root)
    agency = settings.agency
    text = f"""# Settings for the officer's commands on the demo's result (written by takedown demo).
[agency]
name = {json.dumps(agency.name)}
registration_number = {json.dumps(agency.registration_number)}
email = {json.dumps(agency.email)}
phone = {json.dumps(agency.phone)}

[storage]
data_dir = {json.dumps(str(root))}

[tsa]
certificate = {json.dumps(str(root / "tsa" / "tsa.pem"))}
ca_file = {json.dumps(str(root / "tsa" / "ca.pem"))}

[signing]                         # the demo agency's own key: bundles are signed with it, verify trusts its CA
key = {json.dumps(str(settings.signing.key))}
certificate = {json.dumps(str(settings.signing.certificate))}
ca_file = {json.dumps(str(settings.signing.ca_file))}

[network]
allow_loopback = true             # the demo site runs on 127.0.0.1

[report]
rdap = false

[console]
unblur = true                     # the demo's pictures are synthetic: officers may unblur them (each time logged)
"""
    path = root / "takedown.toml"
    path.write_text(text, encoding="utf-8")
    return path

"""Commands that run the pipeline: ``demo``, ``scan``, ``monitor``, ``capture`` and ``verify``.

Every one of them assembles its workflow with ``takedown.pipeline.build_workflow`` from the agency's settings,
so each produces the same sealed bundles (live capture, every configured report, the time stamp).
"""


from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from takedown._version import __version__
from takedown.cli._common import (
    ConfigOption,
    VarOption,
    console,
    err_console,
    open_existing_store,
    parse_variables,
    progress_bars,
    resolve_id,
    settings_from,
)

if TYPE_CHECKING:
    from takedown.settings import Settings
    from takedown.sites.base import SiteAdapter
    from takedown.sites.monitor import RunReport
    from takedown.store.base import CaseStore
    from takedown.workflow import WorkflowResult

SitesOption = Annotated[
    Path | None, typer.Option("--sites", help="a folder of site TOML files (default: [sites] dir in the settings)")
]


def summary_table(result: "WorkflowResult") -> Table:
    """A run's counts as a table."""
    table = Table(title=f"Case {result.case_id}", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    for key in ("candidates", "findings", "matches", "reviews", "bundles", "notices"):
        table.add_row(key, str(getattr(result, key)))
    table.add_row("locales", ", ".join(result.locales))
    table.add_row("seconds", f"{result.seconds:.2f}")
    return table


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command()(demo)
    app.command()(scan)
    app.command()(monitor)
    app.command()(capture)
    app.command()(verify)


def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for the store, evidence and summary.json")] = Path(
        "demo-out"
    ),
) -> None:
    """Run the whole flow against the bundled demo site (synthetic media) and write DIR/summary.json.

    Running it again on the same folder resumes the same case and duplicates nothing. It also writes
    DIR/takedown.toml, so the officer's commands work on the result: takedown review --config DIR/takedown.toml.
    """
    from takedown.demo.run import run_demo
    from takedown.settings import Settings

    console.print(f"takedown {__version__} demo: synthetic media only; nothing is sent. Output: {out}")
    with progress_bars() as progress:
        result = run_demo(out, progress=progress)
    console.print(summary_table(result))
    with open_existing_store(Settings.model_validate({"storage": {"data_dir": out}})) as store:
        table = Table(title="Findings", show_header=True)
        for column in ("finding", "decision", "state", "url"):
            table.add_column(column)
        for finding in store.list_findings(result.case_id):
            table.add_row(finding.id, finding.decision.value if finding.decision else "-", finding.state.value,
                          finding.candidate.url)
        console.print(table)
    for error in result.errors:
        err_console.print(f"[yellow]not finished (rerun to retry):[/] {escape(error)}")
    config = out / "takedown.toml"
    console.print(f"Wrote {out / 'summary.json'}. Drafts wait for an officer's approval:\n"
                  f"  takedown review --config {config}\n"
                  f"  takedown approve --case {result.case_id} --by \"Your Name\" --config {config}\n"
                  f"  takedown send --case {result.case_id} --channel email --transport outbox "
                  f"--outbox {out / 'outbox'} --config {config}\n"
                  "(The e-mails go to the outbox folder; requests through the demo site's web form can be sent only "
                  "while a demo site runs.)\n"
                  "Or in a browser: add yourself, start the console, open http://127.0.0.1:8000/\n"
                  f"  takedown user add me --name \"Your Name\" --role officer --by \"Your Name\" --config {config}\n"
                  f"  takedown console --transport outbox --outbox {out / 'outbox'} --config {config}", soft_wrap=True)


def scan(
    case_id: Annotated[str, typer.Argument(help="the case (an id or a unique prefix)")],
    sites: SitesOption = None,
    var: VarOption = None,
    config: ConfigOption = None,
) -> None:
    """Run a case through the whole pipeline once: discover, judge, capture and seal evidence, draft requests.

    Sites come from the site files in --sites or [sites] dir; detectors, evidence writers, the TSA and the notice
    languages from the settings. Drafts wait for an officer's approval. Running it again resumes and finds only
    what is new.
    """
    import asyncio

    from takedown.pipeline import build_sites, build_workflow
    from takedown.workflow import require_open

    settings = settings_from(config)
    with open_existing_store(settings) as store:
        case_id = resolve_id(store, "case", case_id)
        require_open(store.get_case(case_id))
        adapters = build_sites(settings, directory=sites, variables=parse_variables(var))
        with progress_bars() as progress:
            workflow = build_workflow(settings, store, sites=adapters, progress=progress, operator="scan")

            async def run() -> "WorkflowResult":
                try:
                    return await workflow.run(case_id)
                finally:
                    await workflow.aclose()

            result = asyncio.run(run())
    console.print(summary_table(result))
    for error in result.errors:
        err_console.print(f"[yellow]not finished (run scan again to retry):[/] {escape(error)}")
    console.print(f"Review what needs an officer with: takedown findings --case {case_id} --decision review; "
                  f"the drafts with: takedown review --case {case_id}")


def monitor(
    case_id: Annotated[str, typer.Argument(help="the case to watch (an id or a unique prefix)")],
    sites: SitesOption = None,
    every: Annotated[str, typer.Option("--every", help="time between ticks: 30s, 10m, 2h, 1d")] = "10m",
    once: Annotated[bool, typer.Option("--once", help="run one tick and exit")] = False,
    followup: Annotated[bool, typer.Option(
        "--followup/--no-followup", help="each tick, also re-check the case's sent requests whose legal time ran out "
        "and draft reminders for what is still up")] = True,
    var: VarOption = None,
    config: ConfigOption = None,
) -> None:
    """Watch a case: search its sites again every interval and report only new pages (Ctrl+C stops).

    New pages are judged, evidenced and drafted exactly as takedown scan does (the same pipeline, the same sealed
    bundles); drafts wait for an officer's approval. What was reported is remembered in the store, so a restart
    reports nothing twice. A case that is closed or withdrawn is no longer searched. Each tick also follows up the
    case's sent requests whose legal time has run out (as takedown followup does; --no-followup leaves that to it).
    """
    import asyncio

    from takedown.pipeline import build_sites, build_workflow
    from takedown.sites.monitor import Monitor, MonitorTick, parse_interval
    from takedown.workflow import ProgressEvent, require_open

    interval = parse_interval(every)
    settings = settings_from(config)

    def show(tick: MonitorTick) -> None:
        when = tick.finished_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        console.print(f"{when} {escape(tick.case_id)}: {len(tick.new)} new (tick {tick.tick})")
        for finding in tick.new:
            decision = finding.decision.value if finding.decision else "-"
            console.print(f"  {decision:<7} {escape(finding.candidate.site)} {escape(finding.candidate.url)}")
        for error in tick.errors:
            err_console.print(f"  [yellow]{escape(error)}[/]")

    def progress(event: ProgressEvent) -> None:
        if event.total is not None and event.done == 0 and event.total:  # a stage starts with work to do
            console.print(f"  {event.stage}: {event.total} to do")
        elif event.stage == "discover" and event.message:
            console.print(f"  found {escape(event.message)}")

    with open_existing_store(settings) as store:
        case_id = resolve_id(store, "case", case_id)
        require_open(store.get_case(case_id))  # before any site is contacted
        adapters = build_sites(settings, directory=sites, variables=parse_variables(var))
        workflow = build_workflow(settings, store, sites=adapters, progress=progress, operator="monitor")

        async def run_and_follow_up(case: str) -> "RunReport":
            result = await workflow.run(case)
            if followup:
                await _follow_up_due(store, settings, case, adapters)
            return result

        watcher = Monitor(run_and_follow_up, store, sites=list(workflow.sites), interval=interval, on_tick=show)
        console.print(f"Watching {escape(case_id)} on {', '.join(escape(s) for s in workflow.sites)} every {every}"
                      f"{' (one tick)' if once else '; Ctrl+C stops'}")

        async def watch() -> None:
            try:
                await watcher.run([case_id], max_ticks=1 if once else None)
            finally:
                await workflow.aclose()

        try:
            asyncio.run(watch())
        except KeyboardInterrupt:
            console.print("stopped; the next run resumes where this one left off")


async def _follow_up_due(
    store: "CaseStore", settings: "Settings", case_id: str, adapters: "list[SiteAdapter]"
) -> None:
    """Re-check the case's sent requests whose legal time has run out; print what happened when anything was due."""
    from takedown.pipeline import build_templates
    from takedown.report.followup import FollowUpConfig, follow_up, http_fetcher
    from takedown.sites.base import FormReporter

    fetch, close = http_fetcher(settings.network)
    try:
        report = await follow_up(store, fetch=fetch, agency=settings.agency, templates=build_templates(),
                                 case_id=case_id, config=FollowUpConfig(deadline_hours=settings.report.deadlines),
                                 forms=[a for a in adapters if isinstance(a, FormReporter)], actor="monitor")
    finally:
        await close()
    if report.checked:
        console.print(f"  follow-up: {report.checked} due, removed {len(report.removed)}, still up "
                      f"{len(report.still_up)}; {len(report.reminders)} reminder draft(s) wait for approval")
    for error in report.errors:
        err_console.print(f"  [yellow]{escape(error)}[/]")


def capture(
    url: Annotated[str, typer.Argument(help="the page to capture")],
    out: Annotated[Path, typer.Option("--out", "-o", help="evidence folder (the bundle goes in a sub-folder)")],
    config: ConfigOption = None,
    screenshot: Annotated[bool, typer.Option(help="full-page screenshot and MHTML with headless Chromium")] = True,
    operator: Annotated[str, typer.Option("--operator", help="who captures (recorded)")] = "officer",
) -> None:
    """Capture one page as sealed evidence, as a case's evidence is: raw HTTP in a WARC, media, screenshot,
    masked previews, every configured report (JSON, HWPX, HWP, PDF), the seal and the time stamp."""
    import asyncio

    from takedown.pipeline import build_workflow
    from takedown.store.sqlite import SQLiteCaseStore
    from takedown.workflow import SealedEvidence

    settings = settings_from(config)
    settings = settings.model_copy(update={
        "evidence": settings.evidence.model_copy(update={"screenshot": screenshot, "live": True}),
        "storage": settings.storage.model_copy(update={"evidence_dir": out}),
        "report": settings.report.model_copy(update={"rdap": False}),
        "sites": settings.sites.model_copy(update={"dir": None}),
    })
    with SQLiteCaseStore(":memory:", blob_dir=out / ".blobs") as store:  # nothing is stored: a throw-away store
        workflow = build_workflow(settings, store, sites=[], operator=operator)

        async def run() -> "SealedEvidence":
            try:
                return await workflow.capture_url(url)
            finally:
                await workflow.aclose()

        sealed = asyncio.run(run())
    bundle, folder = sealed.bundle, sealed.folder
    table = Table(title=f"Evidence bundle {bundle.id}", box=box.SIMPLE_HEAD)
    table.add_column("file", overflow="fold")
    table.add_column("role")
    table.add_column("sha256", no_wrap=True)
    for artifact in bundle.artifacts:
        table.add_row(escape(artifact.path), artifact.role, artifact.sha256[:16] + "...")
    console.print(table)
    if bundle.error:
        err_console.print(f"[yellow]capture failed:[/] {escape(bundle.error)} (what was captured is sealed)")
        raise typer.Exit(1)
    console.print(f"Sealed in {escape(str(folder))}. Check it with: takedown verify {escape(str(folder))}")


def verify(
    folder: Annotated[Path, typer.Argument(help="a bundle folder (holding seal.json)")],
    config: ConfigOption = None,
    tsa_cert: Annotated[Path | None, typer.Option("--tsa-cert", help="the TSA's certificate (PEM)")] = None,
    ca_file: Annotated[Path | None, typer.Option("--ca-file", help="CA certificates the TSA chains to (PEM)")] = None,
    allow_unstamped: Annotated[bool, typer.Option(
        "--allow-unstamped", help="accept a bundle without a time stamp from a trusted TSA: integrity only")] = False,
    agency_ca: Annotated[Path | None, typer.Option(
        "--agency-ca", help="CA certificates trusted for the agency's signature (PEM)")] = None,
    allow_unsigned: Annotated[bool, typer.Option(
        "--allow-unsigned", help="accept a bundle without a trusted agency signature: integrity only")] = False,
) -> None:
    """Check every hash, the custody chain, the agency's signature and the time stamps of a bundle; exit 0 only
    when all holds.

    The seal must be signed by the agency (a certificate under --agency-ca or [signing] ca_file) and time-stamped
    by a trusted TSA (--tsa-cert / --ca-file, or [tsa] certificate / ca_file), or the bundle fails: without them,
    anyone could re-seal altered files. --allow-unsigned and --allow-unstamped check integrity only.
    """
    from takedown.evidence.verify import format_report, verify_bundle

    settings = settings_from(config)
    report = verify_bundle(folder, certificate=tsa_cert or settings.tsa.certificate,
                           ca_file=ca_file or settings.tsa.ca_file, allow_unstamped=allow_unstamped,
                           agency_ca=agency_ca or settings.signing.ca_file, allow_unsigned=allow_unsigned)
    console.print(escape(format_report(report)))
    if not report.ok:
        raise typer.Exit(1)

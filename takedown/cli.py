"""The ``takedown`` command: the demo, settings, and a look at cases and findings.

Every command reads the agency's settings from ``--config`` (or ``takedown.toml`` / ``$TAKEDOWN_CONFIG``) and
the environment. Errors of takedown's own tree are shown as one clear line with exit status 2, never a
traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich import box
from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from takedown._version import __version__
from takedown.errors import PluginLoadError, TakedownError, UnknownPluginError, UsageError
from takedown.models import Decision, Delivery, EvidenceBundle, Finding, FindingState, Notice, NoticeState
from takedown.report.base import NoticeTemplate, Transport
from takedown.settings import CONFIG_FILE, Settings, example_toml, load_settings
from takedown.store import open_store
from takedown.store.sqlite import SQLiteCaseStore
from takedown.workflow import ProgressEvent, WorkflowResult

if TYPE_CHECKING:
    from takedown.detect.base import Detector
    from takedown.report.followup import FollowUpReport

__all__ = ["app", "main"]

app = typer.Typer(
    name="takedown",
    help="Find, judge, evidence and request the removal of non-consensual intimate imagery.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="settings file (default: ./takedown.toml if present)")
]


def _settings(config: Path | None) -> Settings:
    return load_settings(config)


@contextmanager
def _store(settings: Settings) -> Iterator[SQLiteCaseStore]:
    """Open the existing store; a command that only reads never creates one."""
    url = settings.storage.store_url
    path = Path(url.removeprefix("sqlite:///"))
    if url.startswith("sqlite:///") and not path.is_file():
        raise UsageError(f"no case store at {path}; set [storage] data_dir, or run a case first")
    store = open_store(url)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def _progress_bars() -> Iterator[Callable[[ProgressEvent], None]]:
    """A progress callback that draws one rich bar per workflow stage."""
    columns = (TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bars:
        tasks: dict[str, TaskID] = {}

        def update(event: ProgressEvent) -> None:
            if event.stage not in tasks:
                tasks[event.stage] = bars.add_task(event.stage, total=event.total)
            bars.update(tasks[event.stage], completed=event.done, total=event.total)

        yield update
        for task in tasks.values():  # discovery never knows its total; close its bar at its count
            current = bars.tasks[task]
            bars.update(task, total=current.completed)


def _summary_table(result: WorkflowResult) -> Table:
    table = Table(title=f"Case {result.case_id}", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    for key in ("candidates", "findings", "matches", "reviews", "bundles", "notices"):
        table.add_row(key, str(getattr(result, key)))
    table.add_row("locales", ", ".join(result.locales))
    table.add_row("seconds", f"{result.seconds:.2f}")
    return table


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for the store, evidence and summary.json")] = Path(
        "demo-out"
    ),
) -> None:
    """Run the whole flow against the bundled demo site (synthetic media) and write DIR/summary.json.

    Running it again on the same folder resumes the same case and duplicates nothing.
    """
    from takedown.demo.run import run_demo

    console.print(f"takedown {__version__} demo: synthetic media only; nothing is sent. Output: {out}")
    with _progress_bars() as progress:
        result = run_demo(out, progress=progress)
    console.print(_summary_table(result))
    with _store(Settings.model_validate({"storage": {"data_dir": out}})) as store:
        table = Table(title="Findings", show_header=True)
        for column in ("finding", "decision", "state", "url"):
            table.add_column(column)
        for finding in store.list_findings(result.case_id):
            table.add_row(finding.id, finding.decision.value if finding.decision else "-", finding.state.value,
                          finding.candidate.url)
        console.print(table)
    for error in result.errors:
        err_console.print(f"[yellow]not finished (rerun to retry):[/] {escape(error)}")
    console.print(f"Wrote {out / 'summary.json'}. Drafts wait for an officer's approval.")


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="where to write the settings file")] = Path(CONFIG_FILE),
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
) -> None:
    """Write a commented example settings file."""
    if path.exists() and not force:
        raise UsageError(f"{path} exists; use --force to overwrite it")
    path.write_text(example_toml(), encoding="utf-8")
    console.print(f"Wrote {escape(str(path))}. Edit \\[agency] before drafting real notices.")


@app.command()
def cases(config: ConfigOption = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the cases in the store."""
    settings = _settings(config)
    with _store(settings) as store:
        rows = [
            {"id": c.id, "title": c.title, "references": len(c.references), "keywords": c.keywords,
             "findings": len(store.list_findings(c.id)), "created_at": c.created_at.isoformat()}
            for c in store.list_cases()
        ]
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table(title="Cases")
    for column in ("id", "title", "references", "findings", "created"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row["id"]), str(row["title"]), str(row["references"]), str(row["findings"]),
                      str(row["created_at"])[:19])
    console.print(table)


@app.command()
def findings(
    config: ConfigOption = None,
    case: Annotated[str | None, typer.Option("--case", help="only this case")] = None,
    state: Annotated[FindingState | None, typer.Option("--state", help="only this state")] = None,
    decision: Annotated[Decision | None, typer.Option("--decision", help="only this decision")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List findings with their decision and state (hashes and URLs only; no media is shown)."""
    settings = _settings(config)
    with _store(settings) as store:
        found = store.list_findings(case, states=[state] if state else None, decision=decision)
    rows: list[dict[str, Any]] = [
        {"id": f.id, "case": f.case_id, "state": f.state.value, "decision": f.decision.value if f.decision else None,
         "url": f.candidate.url, "reasons": list(f.reasons)}
        for f in found
    ]
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title=f"Findings ({len(rows)})")
    for column in ("id", "state", "decision", "url", "why"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["id"], row["state"], row["decision"] or "-", row["url"], "; ".join(row["reasons"])[:120])
    console.print(table)


@app.command()
def capture(
    url: Annotated[str, typer.Argument(help="the page to capture")],
    out: Annotated[Path, typer.Option("--out", "-o", help="evidence folder (the bundle goes in a sub-folder)")],
    config: ConfigOption = None,
    screenshot: Annotated[bool, typer.Option(help="full-page screenshot and MHTML with headless Chromium")] = True,
    operator: Annotated[str, typer.Option("--operator", help="who captures (recorded)")] = "officer",
) -> None:
    """Capture one page as sealed evidence: raw HTTP in a WARC, media, screenshot, previews, JSON manifest, seal."""
    import asyncio

    from takedown.evidence.capture import CaptureConfig, Capturer, bundle_folder
    from takedown.evidence.custody import CUSTODY_FILE, chain_events, export_custody
    from takedown.evidence.json_writer import JsonWriter
    from takedown.evidence.preview import make_previews
    from takedown.evidence.seal import seal_bundle
    from takedown.evidence.tsa import TsaClient
    from takedown.models import make_id, utcnow

    settings = _settings(config)
    evidence = settings.evidence.model_copy(update={"screenshot": screenshot})
    settings = settings.model_copy(update={"evidence": evidence})

    finding_id = make_id("fnd", "adhoc", url)
    target = bundle_folder(out, EvidenceBundle(case_id="adhoc", finding_id=finding_id))

    async def run() -> EvidenceBundle:
        async with Capturer(CaptureConfig.from_settings(settings, operator=operator)) as capturer:
            return await capturer.capture_url(url, out=target, root=out, case_id="adhoc", finding_id=finding_id)

    bundle = asyncio.run(run())
    folder = bundle_folder(out, bundle)
    steps: list[tuple[str, str, Any, dict[str, str]]] = [
        ("captured", operator, bundle.captured_at, {"url": url, "final_url": bundle.capture.get("final_url", "")})
    ]
    if bundle.error is None:
        made, originals = make_previews(bundle, root=out, out=folder, settings=settings.evidence)
        bundle = bundle.model_copy(update={"artifacts": (*bundle.artifacts, *made)})
        if originals:
            steps.append(("originals_included", operator, utcnow(), {"why": "settings: evidence.include_originals"}))
    sample = _sample_finding_for(bundle, url)
    bundle = bundle.model_copy(update={"artifacts": (
        *bundle.artifacts, JsonWriter().write(bundle, sample, out=folder, root=out))})
    tsa = TsaClient(settings.tsa) if settings.tsa.url else None
    try:
        bundle, _, sealing = seal_bundle(bundle, root=out, tsa=tsa)
    finally:
        if tsa is not None:
            tsa.close()
    steps += [(action, operator, utcnow(), details) for action, details in sealing]
    export_custody(chain_events(bundle.id, steps), folder / CUSTODY_FILE)
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


def _sample_finding_for(bundle: EvidenceBundle, url: str) -> Finding:
    from takedown.models import Candidate

    candidate = Candidate(case_id=bundle.case_id, site=bundle.capture.get("site", "") or "adhoc", url=url,
                          title=bundle.capture.get("title", ""))
    return Finding(case_id=bundle.case_id, candidate=candidate)


@app.command()
def verify(
    folder: Annotated[Path, typer.Argument(help="a bundle folder (holding seal.json)")],
    config: ConfigOption = None,
    tsa_cert: Annotated[Path | None, typer.Option("--tsa-cert", help="the TSA's certificate (PEM)")] = None,
    ca_file: Annotated[Path | None, typer.Option("--ca-file", help="CA certificates the TSA chains to (PEM)")] = None,
) -> None:
    """Check every hash, the custody chain and the time stamp of a bundle; exit 0 only when all holds."""
    from takedown.evidence.verify import format_report, verify_bundle

    settings = _settings(config)
    report = verify_bundle(folder, certificate=tsa_cert or settings.tsa.certificate,
                           ca_file=ca_file or settings.tsa.ca_file)
    console.print(escape(format_report(report)))
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def review(
    notice_id: Annotated[str | None, typer.Argument(help="show this notice in full")] = None,
    config: ConfigOption = None,
    case: Annotated[str | None, typer.Option("--case", help="only this case")] = None,
    all_states: Annotated[bool, typer.Option("--all", help="list every notice, not only drafts")] = False,
) -> None:
    """List draft notices waiting for an officer, or show one in full."""
    from takedown.report.jurisdictions import missing_fields

    settings = _settings(config)
    with _store(settings) as store:
        if notice_id is not None:
            notice = store.get_notice(notice_id)
            delivery = store.get_delivery(notice_id)
            console.print(_notice_panel(notice, missing_fields(notice), delivery))
            return
        notices = store.list_notices(case, states=None if all_states else [NoticeState.DRAFT])
        missing = {n.id: missing_fields(n) for n in notices}
        table = Table(title=f"Notices ({len(notices)})", box=box.SIMPLE_HEAD)
        table.add_column("id", no_wrap=True, min_width=20)
        if all_states:
            table.add_column("state", no_wrap=True, min_width=5)
        table.add_column("lang", no_wrap=True, min_width=8)
        table.add_column("to", overflow="ellipsis", no_wrap=True, max_width=18)
        table.add_column("subject", overflow="ellipsis", no_wrap=True, max_width=24)
        if any(missing.values()):
            table.add_column("missing", overflow="fold")
        for notice in notices:
            state = notice.state.value if notice.kind == "initial" else f"{notice.state.value} ({notice.kind})"
            row = [notice.id, *([state] if all_states else []), f"{notice.locale}/{notice.jurisdiction}",
                   escape(notice.recipient.address), escape(notice.subject)]
            if any(missing.values()):
                row.append(f"[red]{escape(', '.join(missing[notice.id]))}[/]")
            table.add_row(*row)
        console.print(table)


def _notice_panel(notice: Notice, missing: list[str], delivery: Delivery | None) -> Panel:
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold")
    fields.add_column()
    rows = [("state", notice.state.value), ("to", f"{notice.recipient.address} ({notice.recipient.source})"),
            ("jurisdiction", notice.jurisdiction), ("locale", notice.locale), ("subject", notice.subject)]
    if notice.approved_by:
        rows.append(("approved", f"{notice.approved_by} at {notice.approved_at}"))
    if notice.in_reply_to:
        rows.append(("in reply to", notice.in_reply_to))
    if delivery:
        rows.append(("sent", f"{delivery.sent_at} via {delivery.transport} as {delivery.message_id}"))
    rows += [(f"legal.{k}", v or "(empty)") for k, v in sorted(notice.legal.items())]
    if missing:
        rows.append(("missing", ", ".join(missing)))
    for key, value in rows:
        fields.add_row(escape(key), escape(str(value)))
    body = Text(notice.body_text)
    return Panel(Group(fields, Rule(), body), title=f"notice {notice.id}", subtitle=f"{notice.kind} #{notice.attempt}")


@app.command()
def approve(
    notice_id: Annotated[str, typer.Argument(help="the notice to approve")],
    by: Annotated[str, typer.Option("--by", help="the officer approving it (recorded)")],
    note: Annotated[str, typer.Option("--note", help="why, or what was checked")] = "",
    config: ConfigOption = None,
) -> None:
    """Record an officer's approval of a draft. Nothing is sent without one."""
    from takedown.report.review import approve_notice

    with _store(_settings(config)) as store:
        notice = approve_notice(store, notice_id, by=by, note=note)
    console.print(f"Approved {notice.id} by {escape(by)}. Send it with: takedown send {notice.id}")


@app.command()
def reject(
    notice_id: Annotated[str, typer.Argument(help="the notice to reject")],
    by: Annotated[str, typer.Option("--by", help="the officer rejecting it")],
    reason: Annotated[str, typer.Option("--reason", help="why (recorded)")],
    config: ConfigOption = None,
) -> None:
    """Reject a draft, with the reason."""
    from takedown.report.review import reject_notice

    with _store(_settings(config)) as store:
        reject_notice(store, notice_id, by=by, reason=reason)
    console.print(f"Rejected {notice_id}.")


@app.command()
def edit(
    notice_id: Annotated[str, typer.Argument(help="the draft to edit")],
    by: Annotated[str, typer.Option("--by", help="the officer editing it")],
    subject: Annotated[str | None, typer.Option("--subject", help="a new subject")] = None,
    body_file: Annotated[Path | None, typer.Option("--body-file", help="a file with the new plain-text body")] = None,
    legal: Annotated[list[str] | None, typer.Option("--set", help="a legal field, KEY=VALUE (repeatable)")] = None,
    config: ConfigOption = None,
) -> None:
    """Edit a draft before approval (editing an approved notice withdraws the approval)."""
    from takedown.report.review import edit_notice

    fields: dict[str, str] = {}
    for item in legal or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set takes KEY=VALUE, got {item!r}")
        fields[key.strip()] = value
    body = body_file.read_text(encoding="utf-8") if body_file else None
    with _store(_settings(config)) as store:
        edit_notice(store, notice_id, by=by, subject=subject, body_text=body, legal=fields or None)
    console.print(f"Edited {notice_id}; it is a draft again and needs approval.")


@app.command()
def send(
    notice_ids: Annotated[list[str] | None, typer.Argument(help="notices to send (default: all approved)")] = None,
    transport: Annotated[str, typer.Option("--transport", help="smtp (settings [smtp]) or outbox")] = "smtp",
    outbox: Annotated[Path, typer.Option("--outbox", help="folder for --transport outbox")] = Path("outbox"),
    sites: Annotated[
        Path | None, typer.Option("--sites", help="folder of site TOML files; web-form notices go through their forms")
    ] = None,
    var: Annotated[
        list[str] | None, typer.Option("--var", help="NAME=VALUE for {NAME} in the site files (repeatable)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Send approved notices, each once: by email, or through the site's web form. Unapproved notices are refused.

    A notice addressed to a web form is submitted by the adapter of the site file (in ``--sites``) whose
    ``[report.form]`` it names; every such notice must have one before anything is sent.
    """
    import asyncio

    from takedown.report.review import send_notice, submit_notice
    from takedown.sites.base import submits_to
    from takedown.sites.declarative import load_sites

    variables = _variables(var)
    settings = _settings(config)
    chosen = _transport(transport, settings, outbox)
    try:
        with _store(settings) as store:
            ids = notice_ids or [n.id for n in store.list_notices(states=[NoticeState.APPROVED])]
            # Web-form notices not yet sent, by id: each needs its site's adapter (one already sent returns its
            # delivery without one).
            notices = [store.get_notice(notice_id) for notice_id in ids]
            to_forms = {n.id: n.recipient.address for n in notices
                        if n.recipient.channel == "web_form" and store.get_delivery(n.id) is None}
            adapters = []
            if sites is not None and to_forms:
                adapters = load_sites(sites, network=settings.network, variables=variables, evidence=settings.evidence)
            forms = {url: adapter for url in set(to_forms.values()) for adapter in adapters if submits_to(adapter, url)}

            async def send_all() -> None:
                try:
                    lacking = sorted(set(to_forms.values()) - set(forms))
                    if lacking and sites is None:
                        raise UsageError(f"notices to the web form(s) {', '.join(lacking)} are submitted by their "
                                         "site's adapter: pass --sites with the folder of site files; nothing was sent")
                    if lacking:
                        raise UsageError(f"no site file in {sites} has the web form(s) {', '.join(lacking)}; "
                                         "nothing was sent")
                    for notice_id in ids:
                        if notice_id in to_forms:
                            delivery = await submit_notice(store, notice_id, site=forms[to_forms[notice_id]])
                        else:
                            delivery = send_notice(store, notice_id, transport=chosen, sender=settings.smtp.sender,
                                                   sender_name=settings.agency.name,
                                                   evidence_root=settings.storage.evidence_root)
                        console.print(f"Sent {notice_id} as {escape(delivery.message_id)} via {delivery.transport}")
                finally:
                    for adapter in adapters:  # their connections belong to this event loop
                        await adapter.aclose()

            asyncio.run(send_all())
            if not ids:
                console.print("No approved notices to send.")
    finally:
        chosen.close()


def _transport(name: str, settings: Settings, outbox: Path) -> Transport:
    if name == "outbox":
        from takedown.report.transports import OutboxTransport

        return OutboxTransport(outbox)
    if name == "smtp":
        from takedown.report.smtp import SmtpTransport

        return SmtpTransport(settings.smtp)
    raise UnknownPluginError("transport", name, ["outbox", "smtp"])


@app.command()
def followup(
    config: ConfigOption = None,
    case: Annotated[str | None, typer.Option("--case", help="only this case")] = None,
    after_hours: Annotated[
        float | None, typer.Option("--after-hours", help="re-check after this many hours (default: the legal deadline)")
    ] = None,
) -> None:
    """Re-check sent notices past their deadline; mark removals and draft reminders for what is still up."""
    import asyncio
    from datetime import timedelta

    from takedown.report.followup import FollowUpConfig, follow_up, http_fetcher

    settings = _settings(config)
    follow_config = FollowUpConfig(recheck_after=timedelta(hours=after_hours) if after_hours is not None else None)
    with _store(settings) as store:
        fetch, close = http_fetcher(settings.network)

        async def run() -> FollowUpReport:
            try:
                return await follow_up(store, fetch=fetch, agency=settings.agency, templates=_templates(),
                                       case_id=case, config=follow_config)
            finally:
                await close()

        report = asyncio.run(run())
    console.print(
        f"checked {report.checked}: removed {len(report.removed)}, still up {len(report.still_up)}, "
        f"unreachable {len(report.unreachable)}, not yet due {len(report.not_due)}; "
        f"{len(report.reminders)} reminder draft(s) wait for approval"
    )
    for error in report.errors:
        err_console.print(f"[yellow]{escape(error)}[/]")


def _templates() -> list[NoticeTemplate]:
    from takedown.report.locale_pack import LocalePackTemplate
    from takedown.report.plain import PlainTextTemplate

    return [LocalePackTemplate(), PlainTextTemplate()]


@app.command()
def stats(
    config: ConfigOption = None,
    case: Annotated[str | None, typer.Option("--case", help="only this case")] = None,
) -> None:
    """How each recipient complies: findings notified, share removed, median time to removal."""
    from takedown.report.followup import compliance_stats

    with _store(_settings(config)) as store:
        rows = compliance_stats(store, case)
    table = Table(title="Compliance by recipient")
    for column in ("recipient", "findings", "removed", "share", "median h to removal"):
        table.add_column(column)
    for row in rows:
        median = "-" if row.median_hours_to_removal is None else f"{row.median_hours_to_removal:.1f}"
        table.add_row(escape(row.recipient), str(row.findings), str(row.removed), f"{row.share_removed:.0%}", median)
    console.print(table)


@app.command("hash")
def hash_command(
    paths: Annotated[list[Path], typer.Argument(help="media files or folders (searched recursively)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="the JSONL file of hashes to write")],
    workers: Annotated[int, typer.Option("--workers", help="files hashed at once")] = 1,
) -> None:
    """Hash media locally (SHA-256, MD5, PDQ, vPDQ frames); only hashes are written, never the media."""
    from takedown.detect.hashing import HashRecord, hash_files, write_jsonl

    files = sorted({f for p in paths for f in ([p] if p.is_file() else [q for q in p.rglob("*") if q.is_file()])})
    if not files:
        raise UsageError("no files to hash")
    failed: list[HashRecord] = []
    columns = (TextColumn("hashing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bars:
        task = bars.add_task("hash", total=len(files))

        def records() -> Iterator[HashRecord]:
            for record in hash_files(files, workers=workers,
                                     progress=lambda done, total, path: bars.update(task, completed=done)):
                if record.error:
                    failed.append(record)
                yield record

        count = write_jsonl(records(), out)
    console.print(f"Wrote {count} record(s) to {escape(str(out))}; only hashes, no media.")
    for record in failed:
        err_console.print(f"[yellow]{escape(record.file)}:[/] {escape(record.error or '')}")


banks_app = typer.Typer(help="Hash banks: named lists of hashes to match against (negative banks suppress).",
                        no_args_is_help=True)
app.add_typer(banks_app, name="banks")


@banks_app.command("list")
def banks_list(config: ConfigOption = None) -> None:
    """List the banks with their kind, threshold and size."""
    with _store(_settings(config)) as store:
        table = Table(title="Hash banks", box=box.SIMPLE_HEAD)
        for column in ("name", "kind", "max distance", "min quality", "entries", "active"):
            table.add_column(column)
        for bank in store.list_banks():
            table.add_row(bank.name, bank.kind.value, str(bank.max_distance), str(bank.min_quality),
                          str(store.count_bank_entries(bank.name)), "yes" if bank.active else "retired")
    console.print(table)


@banks_app.command("create")
def banks_create(
    name: Annotated[str, typer.Argument(help="lower_snake_case name")],
    config: ConfigOption = None,
    negative: Annotated[bool, typer.Option("--negative", help="known false positives that suppress matches")] = False,
    max_distance: Annotated[int, typer.Option("--max-distance")] = 31,
    min_quality: Annotated[int, typer.Option("--min-quality")] = 50,
    description: Annotated[str, typer.Option("--description")] = "",
) -> None:
    """Create (or update) a bank."""
    from takedown.detect.banks import BankKind, HashBank

    kind = BankKind.NEGATIVE if negative else BankKind.POSITIVE
    bank = HashBank(name=name, kind=kind, max_distance=max_distance, min_quality=min_quality, description=description)
    with _store(_settings(config)) as store:
        store.put_bank(bank)
    console.print(f"Bank {name} ({kind.value}) is ready.")


@banks_app.command("import")
def banks_import(
    name: Annotated[str, typer.Argument(help="the bank to add to")],
    path: Annotated[Path, typer.Argument(help="a hash list: pdq lines, CSV or JSONL")],
    config: ConfigOption = None,
    skip_errors: Annotated[bool, typer.Option("--skip-errors", help="keep the good lines, report the bad")] = False,
) -> None:
    """Import a hash list (StopNCII / ThreatExchange PDQ lines, CSV or JSONL) into a bank."""
    from takedown.detect.hashlists import read_hashlist

    hashes = read_hashlist(path, errors="skip" if skip_errors else "strict")
    with _store(_settings(config)) as store:
        added = store.add_bank_entries(name, hashes.to_entries(name))
    console.print(f"Added {added} new hash(es) to {name}.")
    for problem in hashes.problems:
        err_console.print(f"[yellow]skipped:[/] {escape(str(problem))}")


@banks_app.command("export")
def banks_export(
    name: Annotated[str, typer.Argument(help="the bank to export")],
    path: Annotated[Path, typer.Argument(help="where to write")],
    config: ConfigOption = None,
    format: Annotated[str, typer.Option("--format", help="pdq, csv or jsonl")] = "pdq",
) -> None:
    """Export a bank as a hash list (pdq lines hold only hash and quality: no labels leave the agency)."""
    from takedown.detect.hashlists import write_hashlist

    if format not in ("pdq", "csv", "jsonl"):
        raise UsageError(f"unknown format {format!r}; use pdq, csv or jsonl")
    with _store(_settings(config)) as store:
        count = write_hashlist(store.bank_entries(name), path, format)  # type: ignore[arg-type]
    console.print(f"Wrote {count} hash(es) to {escape(str(path))}.")


bench_app = typer.Typer(help="Benchmark detectors on labelled data: precision, recall, ROC/PR curves, latency.",
                        no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("detectors")
def bench_detectors(
    dataset: Annotated[Path, typer.Option("--dataset", help="a dataset folder, or a .jsonl / .csv manifest")],
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for report.json, report.md and the plots")],
    detector: Annotated[
        list[str] | None,
        typer.Option("--detector", "-d", help="a detector plugin name (repeat); default: every registered detector "
                     "that accepts the dataset's kinds and needs no options"),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--set", help="a field of a detector's config, DETECTOR.FIELD=VALUE (repeat), e.g. "
                     "pdq.max_distance=40 or nudenet.model_path=./model.onnx"),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="orders the items each detector sees")] = 0,
    repeat: Annotated[int, typer.Option("--repeat", help="passes over the data (for steadier timings)")] = 1,
    positive: Annotated[
        str, typer.Option("--positive", help="labels that count as a positive prediction, comma-separated")
    ] = "match,suspect",
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="write PNG plots (needs matplotlib)")] = True,
) -> None:
    """Run detectors side by side on a labelled dataset; write report.json, report.md, predictions and plots."""
    from takedown.detect.bench import BenchConfig, build_detectors, parse_detector_options, run_benchmark, write_report
    from takedown.detect.datasets import load_dataset
    from takedown.errors import MissingDependencyError
    from takedown.models import DetectionLabel
    from takedown.plugins import default_registry

    try:
        labels = tuple(DetectionLabel(label.strip()) for label in positive.split(",") if label.strip())
        config = BenchConfig(positive_labels=labels)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise UsageError(f"--positive takes labels among match, suspect, no_match: {positive!r}") from exc
    data = load_dataset(dataset)
    registry = default_registry()
    options = parse_detector_options(option or [])
    if detector:
        detectors = build_detectors(detector, options=options, registry=registry)
    else:
        detectors = []
        for name in registry.names("detector"):
            plugin = cast("type[Detector]", registry.get("detector", name))  # registered as a detector
            if not plugin.accepts & data.kinds():
                continue
            try:
                detectors += build_detectors([name], options={k: v for k, v in options.items() if k == name},
                                             registry=registry)
            except (UsageError, MissingDependencyError) as exc:
                err_console.print(f"[yellow]skipped {escape(name)}:[/] {escape(str(exc))}")
        if not detectors:
            raise UsageError("no registered detector accepts this dataset's items; name one with --detector")
    console.print(f"Benchmarking {', '.join(d.name for d in detectors)} on {escape(data.name)} "
                  f"({len(data.items)} items, {data.positives} positive)")
    columns = (TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bars:
        tasks: dict[str, TaskID] = {}

        def update(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bars.add_task(name, total=total)
            bars.update(tasks[name], completed=done)

        report = run_benchmark(detectors, data, seed=seed, repeat=repeat, config=config, progress=update)
    written = write_report(report, out, plots=plots)
    table = Table(title=f"Detectors on {data.name}", box=box.SIMPLE_HEAD)
    for column in ("detector", "items", "precision", "recall", "F1", "ROC-AUC", "PR-AUC", "errors", "p50 ms",
                   "p95 ms", "items/s"):
        table.add_column(column, justify="left" if column == "detector" else "right")
    for metrics in report.metrics:
        timing = report.timing(metrics.detector)
        cells = [metrics.precision, metrics.recall, metrics.f1, metrics.roc_auc, metrics.pr_auc]
        table.add_row(
            metrics.detector, str(metrics.items), *("-" if v is None else f"{v:.3f}" for v in cells),
            str(metrics.errors),
            *("-" if v is None else f"{v:.2f}" for v in (timing.latency_ms_p50, timing.latency_ms_p95)),
            "-" if timing.items_per_second is None else f"{timing.items_per_second:.1f}",
        )
    console.print(table)
    console.print(f"Wrote {', '.join(p.name for p in written)} to {escape(str(out))}.")


@bench_app.command("synthetic")
def bench_synthetic(
    out: Annotated[Path, typer.Argument(help="an empty folder (or an earlier synthetic dataset) to write")],
    images: Annotated[int, typer.Option("--images", help="reference images (6 copies and 6 decoys each)")] = 6,
    videos: Annotated[int, typer.Option("--videos", help="reference videos (2 copies and 2 decoys each)")] = 1,
    texts: Annotated[int, typer.Option("--texts", help="positive texts, and as many negative")] = 12,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Write a reproducible synthetic benchmark dataset (generated media, invented harmless texts)."""
    from takedown.detect.datasets import load_dataset, make_synthetic_dataset

    data = load_dataset(make_synthetic_dataset(out, images=images, videos=videos, texts=texts, seed=seed))
    console.print(f"Wrote {len(data.items)} items ({data.positives} positive) to {escape(str(out))}; "
                  f"benchmark it with: takedown bench detectors --dataset {escape(str(out))} --out REPORT_DIR")


@app.command()
def plugins(
    entry_points: Annotated[bool, typer.Option(help="also load third-party plugins (takedown.plugins)")] = True,
) -> None:
    """List the plugins that can be named in settings: built-in and installed through entry points."""
    from takedown.plugins import KINDS, default_registry

    registry = default_registry()
    failures: dict[str, BaseException] = {}
    if entry_points:
        try:
            registry.load_entry_points()
        except PluginLoadError as exc:
            failures = exc.failures
    table = Table(title="Plugins")
    table.add_column("kind")
    table.add_column("names")
    for kind in KINDS:
        table.add_row(kind, ", ".join(registry.names(kind)))  # type: ignore[arg-type]
    console.print(table)
    for name, error in sorted(failures.items()):
        err_console.print(f"[yellow]failed to load[/] {escape(name)}: {type(error).__name__}: {escape(str(error))}")
    if failures:
        raise typer.Exit(1)


@app.command()
def version() -> None:
    """Print takedown's version."""
    console.print(__version__)


@app.command()
def monitor(
    case_id: Annotated[str, typer.Argument(help="the case to watch")],
    sites: Annotated[Path, typer.Option("--sites", help="a folder of site TOML files (see docs: Sites)")],
    every: Annotated[str, typer.Option("--every", help="time between ticks: 30s, 10m, 2h, 1d")] = "10m",
    once: Annotated[bool, typer.Option("--once", help="run one tick and exit")] = False,
    var: Annotated[
        list[str] | None, typer.Option("--var", help="NAME=VALUE for {NAME} in the site files (repeatable)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Watch a case: search its sites again every interval and report only new pages (Ctrl+C stops).

    New pages are judged, evidenced and drafted like ``takedown demo`` does; drafts wait for an officer's
    approval. What was reported is remembered in the store, so a restart reports nothing twice.
    """
    import asyncio

    from takedown.detect.defaults import default_detectors
    from takedown.evidence.json_writer import JsonWriter
    from takedown.evidence.tsa import TsaClient
    from takedown.sites.declarative import load_sites
    from takedown.sites.monitor import Monitor, MonitorTick, parse_interval
    from takedown.workflow import Workflow

    interval = parse_interval(every)
    variables = _variables(var)
    settings = _settings(config)

    def show(tick: MonitorTick) -> None:
        when = tick.finished_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        console.print(f"{when} {escape(tick.case_id)}: {len(tick.new)} new")
        for finding in tick.new:
            decision = finding.decision.value if finding.decision else "-"
            console.print(f"  {decision:<7} {escape(finding.candidate.site)} {escape(finding.candidate.url)}")
        for error in tick.errors:
            err_console.print(f"  [yellow]{escape(error)}[/]")

    with _store(settings) as store:
        store.get_case(case_id)  # an unknown case is an error before any site is contacted
        adapters = load_sites(sites, network=settings.network, variables=variables, evidence=settings.evidence)
        workflow = Workflow(
            store, settings=settings, sites=adapters,
            detectors=default_detectors(),
            writers=[JsonWriter()], templates=_templates(), tsa=TsaClient(settings.tsa) if settings.tsa.url else None,
            operator="monitor",
        )
        watcher = Monitor.for_workflow(workflow, interval=interval, on_tick=show)

        async def watch() -> None:
            try:
                await watcher.run([case_id], max_ticks=1 if once else None)
            finally:
                await workflow.aclose()

        try:
            asyncio.run(watch())
        except KeyboardInterrupt:
            console.print("stopped; the next run resumes where this one left off")


sites_app = typer.Typer(help="Site files (TOML): check them, and try one against its live site.", no_args_is_help=True)
app.add_typer(sites_app, name="sites")


def _variables(var: list[str] | None) -> dict[str, str]:
    pairs = [item.split("=", 1) for item in var or []]
    if any(len(pair) != 2 or not pair[0] for pair in pairs):
        raise UsageError("--var takes NAME=VALUE")
    return {pair[0]: pair[1] for pair in pairs}


@sites_app.command("check")
def sites_check(
    files: Annotated[list[Path], typer.Argument(help="site TOML files")],
    var: Annotated[
        list[str] | None, typer.Option("--var", help="NAME=VALUE for {NAME} in the site files (repeatable)")
    ] = None,
) -> None:
    """Validate site files without fetching anything; print what each site would be searched and reported by."""
    from takedown.sites.declarative import read_spec

    variables = _variables(var)
    table = Table(title="Sites", box=box.SIMPLE_HEAD)
    for column in ("file", "site", "engine", "discovers by", "reports to"):
        table.add_column(column)
    for path in files:
        spec = read_spec(path, variables=variables)  # a ConfigError names the file and every bad key
        sources = (["search"] if spec.search else []) + [f"listing x{len(spec.listings)}"] * bool(spec.listings)
        sources += [f"feed x{len(spec.feeds)}"] * bool(spec.feeds) + [f"sitemap x{len(spec.sitemaps)}"] * bool(
            spec.sitemaps)
        report = [f"email {spec.report.email}"] * bool(spec.report.email)
        report += [f"form {spec.report.form.url}"] if spec.report.form else []
        table.add_row(escape(str(path)), escape(spec.name), spec.engine, ", ".join(sources) or "-",
                      escape(", ".join(report)) or "the pages' own contacts")
    console.print(table)


@sites_app.command("try")
def sites_try(
    file: Annotated[Path, typer.Argument(help="a site TOML file")],
    query: Annotated[str, typer.Option("--query", "-q", help="what to search for")],
    limit: Annotated[int, typer.Option("--limit", help="the most candidates to list")] = 20,
    fetch: Annotated[int, typer.Option("--fetch", help="fetch this many of them and show what was found")] = 1,
    var: Annotated[
        list[str] | None, typer.Option("--var", help="NAME=VALUE for {NAME} in the site file (repeatable)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Search a site as its file describes and fetch a few results: the way to develop a site file.

    Fetching follows the agency's network settings (the fetch guard included); nothing is stored or judged.
    """
    import asyncio

    from takedown.models import SearchQuery
    from takedown.sites.declarative import load_site

    settings = _settings(config)
    adapter = load_site(file, network=settings.network, variables=_variables(var), evidence=settings.evidence)

    async def run() -> None:
        try:
            found = [c async for c in adapter.search(SearchQuery(case_id="try", text=query, limit=limit))]
            table = Table(title=f"{len(found)} candidate(s) on {escape(adapter.site)}", box=box.SIMPLE_HEAD)
            for column in ("url", "title", "found by"):
                table.add_column(column)
            for candidate in found:
                table.add_row(escape(candidate.url), escape(candidate.title[:60]),
                              escape(candidate.metadata.get("source", candidate.query or "")))
            console.print(table)
            for candidate in found[:fetch]:
                page = await adapter.fetch(candidate)
                media = ", ".join(f"{m.kind.value} {m.content_type} {len(m.content)} B" for m in page.media)
                contacts = ", ".join(f"{c.kind} {c.value}" for c in page.contacts)
                console.print(f"{escape(candidate.url)}: HTTP {page.status}, title {escape(repr(page.title[:60]))}, "
                              f"language {page.language or '-'}\n  media: {escape(media) or '-'}\n"
                              f"  contacts: {escape(contacts) or '-'}")
        finally:
            await adapter.aclose()

    asyncio.run(run())


def main(argv: list[str] | None = None) -> None:
    """The console-script entry point: runs the app and turns takedown's errors into one line and exit 2."""
    try:
        app(args=argv)
    except TakedownError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise SystemExit(2) from None


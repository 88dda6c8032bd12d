"""Cases and findings from the command line: ``case create|list|show|close|reopen|export|import|withdraw``,
``cases``, ``findings`` and ``resolve``."""


import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from takedown.cli._common import (
    ByOption,
    ConfigOption,
    cli_context,
    confirm,
    console,
    err_console,
    officer,
    open_existing_store,
    open_or_create_store,
    resolve_id,
    settings_from,
)
from takedown.errors import UsageError
from takedown.states import CasePriority, CaseStatus, Decision, FindingState

if TYPE_CHECKING:
    from takedown.models import Case

case_app = typer.Typer(help="Cases: create one from reference media or hash lists, list, show, close, withdraw.",
                       no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(case_app, name="case")
    app.command()(cases)
    app.command()(findings)
    app.command()(resolve)


@case_app.command("create")
def case_create(
    case_id: Annotated[str, typer.Argument(help="the new case's id, e.g. case-2026-0142")],
    title: Annotated[str, typer.Option("--title", help="a short description officers see (no victim's name)")],
    by: ByOption,
    media: Annotated[
        list[Path] | None,
        typer.Option("--media", help="reference images/videos or folders of them: hashed here, never copied "
                     "(repeatable)"),
    ] = None,
    hashes: Annotated[
        list[Path] | None,
        typer.Option("--hashes", help="a hash list: takedown hash output, StopNCII/ThreatExchange PDQ lines, CSV or "
                     "JSONL (repeatable)"),
    ] = None,
    keyword: Annotated[
        list[str] | None, typer.Option("--keyword", "-k", help="a search keyword, e.g. a handle (repeatable)")
    ] = None,
    language: Annotated[
        list[str] | None, typer.Option("--language", "-l", help="a language the copies may be posted in (repeatable)")
    ] = None,
    jurisdiction: Annotated[str | None, typer.Option("--jurisdiction", help="KR, US, EU, UK, AU, JP ...")] = None,
    priority: Annotated[CasePriority, typer.Option("--priority")] = CasePriority.NORMAL,
    requester: Annotated[str | None, typer.Option("--requester", help="who asked (default: the agency)")] = None,
    notes: Annotated[str, typer.Option("--notes")] = "",
    config: ConfigOption = None,
) -> None:
    """Create a case from reference media (hashed locally; the files are never copied) and/or hash lists.

    The case holds only hashes (SHA-256, MD5, PDQ, vPDQ frames, dHash), keywords and settings. Scan it with:
    takedown scan CASE_ID.
    """
    from takedown.cases import case_hashes, create_case
    from takedown.models import Case

    who = officer(by)
    settings = settings_from(config)
    if not media and not hashes and not keyword:
        raise UsageError("a case needs something to recognise the media by: --media, --hashes or --keyword")
    references, problems = case_hashes(media or [], hashes or [])
    case = Case(
        id=case_id, title=title, references=references, keywords=list(keyword or []),
        languages=list(language or [settings.agency.language]),
        jurisdiction=jurisdiction or settings.agency.jurisdiction, requester=requester or settings.agency.name,
        notes=notes, priority=priority,
    )
    with open_or_create_store(settings) as store:
        create_case(store, case, by=who, context=cli_context())
    items = len({r.reference for r in references})
    console.print(f"Created case {escape(case.id)}: {len(references)} hash(es) of {items} reference item(s), "
                  f"{len(case.keywords)} keyword(s). No media was copied. "
                  f"Scan it with: takedown scan {escape(case.id)}")
    for problem in problems:
        err_console.print(f"[yellow]skipped:[/] {escape(problem)}")


def _case_row(case: "Case", findings: int) -> dict[str, Any]:
    return {"id": case.id, "title": case.title, "status": case.status.value, "priority": case.priority.value,
            "references": len(case.references), "keywords": case.keywords, "jurisdiction": case.jurisdiction,
            "findings": findings, "created_at": case.created_at.isoformat()}


@case_app.command("list")
def case_list(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    status: Annotated[CaseStatus | None, typer.Option("--status", help="only cases in this status")] = None,
) -> None:
    """List the cases: most urgent first, then oldest."""
    order = {p: i for i, p in enumerate(reversed(CasePriority))}
    with open_existing_store(settings_from(config)) as store:
        rows = [_case_row(c, len(store.list_findings(c.id))) for c in store.list_cases()
                if status is None or c.status is status]
    rows.sort(key=lambda r: order[CasePriority(r["priority"])])
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title=f"Cases ({len(rows)})", box=box.SIMPLE_HEAD)
    for column in ("id", "title", "status", "priority", "hashes", "findings", "created"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(escape(row["id"]), escape(row["title"]), row["status"], row["priority"],
                      str(row["references"]), str(row["findings"]), row["created_at"][:19])
    console.print(table)


def cases(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    status: Annotated[CaseStatus | None, typer.Option("--status", help="only cases in this status")] = None,
) -> None:
    """List the cases in the store (the same as: takedown case list)."""
    case_list(config=config, as_json=as_json, status=status)


@case_app.command("show")
def case_show(
    case_id: Annotated[str, typer.Argument(help="the case (an id or a unique prefix)")],
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a case: its settings, its findings by state and decision, its notices by state, and its history."""
    from collections import Counter

    with open_existing_store(settings_from(config)) as store:
        case = store.get_case(resolve_id(store, "case", case_id))
        found = store.list_findings(case.id)
        notices = store.list_notices(case.id)
        history = store.custody_log(case.id)
    states = Counter(f.state.value for f in found)
    decisions = Counter(f.decision.value if f.decision else "undecided" for f in found)
    notice_states = Counter(n.state.value for n in notices)
    data = {**_case_row(case, len(found)), "languages": case.languages, "requester": case.requester,
            "notes": case.notes, "rules": len(case.policy), "findings_by_state": dict(states),
            "findings_by_decision": dict(decisions), "notices_by_state": dict(notice_states),
            "history": [{"at": e.at.isoformat(), "action": e.action, "by": e.actor, **e.details} for e in history]}
    if as_json:
        console.print_json(json.dumps(data, ensure_ascii=False))
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for key in ("id", "title", "status", "priority", "jurisdiction", "languages", "keywords", "references",
                "requester", "notes"):
        value = data[key]
        grid.add_row(key, escape(", ".join(value) if isinstance(value, list) else str(value)))
    grid.add_row("findings", escape(", ".join(f"{k} {v}" for k, v in sorted(states.items())) or "none"))
    grid.add_row("decisions", escape(", ".join(f"{k} {v}" for k, v in sorted(decisions.items())) or "none"))
    grid.add_row("notices", escape(", ".join(f"{k} {v}" for k, v in sorted(notice_states.items())) or "none"))
    console.print(grid)
    for event in history:
        console.print(f"  {event.at.isoformat()[:19]} {escape(event.action)} by {escape(event.actor)}")


CaseArgument = Annotated[str, typer.Argument(help="the case (an id or a unique prefix)")]
ReasonOption = Annotated[str, typer.Option("--reason", help="why (recorded)")]


def _set_status(case_id: str, status: CaseStatus, by: str, reason: str, config: Path | None) -> None:
    from takedown.cases import set_case_status

    who = officer(by)
    with open_existing_store(settings_from(config)) as store:
        case = set_case_status(store, resolve_id(store, "case", case_id), status, by=who, context=cli_context(),
                               reason=reason)
    console.print(f"Case {escape(case.id)} is {case.status.value}.")


@case_app.command("close")
def case_close(case_id: CaseArgument, by: ByOption, reason: ReasonOption = "", config: ConfigOption = None) -> None:
    """Close a finished case: nothing is searched any more; its records stay (reopen it with case reopen)."""
    _set_status(case_id, CaseStatus.CLOSED, by, reason, config)


@case_app.command("reopen")
def case_reopen(case_id: CaseArgument, by: ByOption, reason: ReasonOption = "", config: ConfigOption = None) -> None:
    """Reopen a closed case (a withdrawn case cannot be reopened)."""
    _set_status(case_id, CaseStatus.OPEN, by, reason, config)


@case_app.command("withdraw")
def case_withdraw(
    case_id: Annotated[str, typer.Argument(help="the case (an id or a unique prefix)")],
    by: ByOption,
    reason: Annotated[str, typer.Option("--reason", help="why, e.g. 'the victim withdrew consent on 2026-12-07'")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    config: ConfigOption = None,
) -> None:
    """The victim withdrew consent: stop monitoring, withdraw unsent drafts, erase the reference hashes and
    keywords. What the law requires is kept (sent notices, sealed evidence, custody logs) and listed."""
    from takedown.cases import withdraw_case

    who = officer(by)
    with open_existing_store(settings_from(config)) as store:
        full_id = resolve_id(store, "case", case_id)
        if not yes:
            confirm(f"Withdraw case {full_id}? Its hashes and keywords are erased and its drafts withdrawn; "
                    "this cannot be undone.", unanswered="Pass --yes to confirm when no one can answer a prompt")
        report = withdraw_case(store, full_id, by=who, context=cli_context(), reason=reason)
    console.print(f"Case {escape(report.case_id)} is withdrawn: {report.references_erased} reference hash(es) and "
                  f"{report.keywords_erased} keyword(s) erased, {len(report.notices_withdrawn)} unsent notice(s) "
                  "withdrawn; it will not be scanned or monitored again.")
    console.print("Kept, " + escape(report.kept_why) + ":")
    for what, count in report.kept.items():
        console.print(f"  {escape(what)}: {count}")
    for notice_id in report.unconfirmed_sends:
        err_console.print(f"[yellow]notice {notice_id} may have been sent before the withdrawal: check the outbox or "
                          f"the site and settle it with: takedown confirm-sent {notice_id} --sent|--not-sent[/]")


@case_app.command("export")
def case_export(
    case_id: Annotated[str, typer.Argument(help="the case (an id or a unique prefix)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="the JSON file to write")],
    config: ConfigOption = None,
) -> None:
    """Write a case's definition (hashes, keywords, languages, rules; never media or findings) as JSON."""
    from takedown.cases import export_case

    with open_existing_store(settings_from(config)) as store:
        case = store.get_case(resolve_id(store, "case", case_id))
    try:
        out.write_text(export_case(case), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc}") from exc
    console.print(f"Wrote case {escape(case.id)} to {escape(str(out))} ({len(case.references)} hash(es), no media).")


@case_app.command("import")
def case_import(
    path: Annotated[Path, typer.Argument(help="a file written by takedown case export")],
    by: ByOption,
    case_id: Annotated[str | None, typer.Option("--id", help="store it under this id instead")] = None,
    config: ConfigOption = None,
) -> None:
    """Create a case from a file written by takedown case export (as a new, open case)."""
    from takedown.cases import import_case

    who = officer(by)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    with open_or_create_store(settings_from(config)) as store:
        case = import_case(store, text, by=who, context=cli_context(), case_id=case_id)
    console.print(f"Imported case {escape(case.id)} ({len(case.references)} hash(es)).")


def findings(
    config: ConfigOption = None,
    case: Annotated[str | None, typer.Option("--case", help="only this case (an id or a unique prefix)")] = None,
    state: Annotated[FindingState | None, typer.Option("--state", help="only this state")] = None,
    decision: Annotated[Decision | None, typer.Option("--decision", help="only this decision")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List findings with their decision and state (hashes and URLs only; no media is shown).

    A page that only repeats another finding's media (a home, archive or tag page) is shown as "also shown at"
    that finding (``also_shown_at_of`` in JSON).
    """
    settings = settings_from(config)
    with open_existing_store(settings) as store:
        case_id = resolve_id(store, "case", case) if case is not None else None
        found = store.list_findings(case_id, states=[state] if state else None, decision=decision)
    rows: list[dict[str, Any]] = [
        {"id": f.id, "case": f.case_id, "state": f.state.value, "decision": f.decision.value if f.decision else None,
         "url": f.candidate.url, "reasons": list(f.reasons), "also_shown_at_of": f.canonical_id}
        for f in found
    ]
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title=f"Findings ({len(rows)})")
    for column in ("id", "state", "decision", "url", "why"):
        table.add_column(column, overflow="fold")
    for row in rows:
        why = "; ".join(row["reasons"])[:160]
        if row["also_shown_at_of"]:
            why = f"also shown at: repeats {row['also_shown_at_of']}"
        table.add_row(row["id"], row["state"], row["decision"] or "-", escape(row["url"]), escape(why))
    console.print(table)


def resolve(
    finding_id: Annotated[str, typer.Argument(help="the finding (an id or a unique prefix)")],
    decision: Annotated[Decision, typer.Option("--as", help="match (evidence and drafts follow) or clear")],
    by: ByOption,
    reason: Annotated[str, typer.Option("--reason", help="what the officer saw (recorded)")] = "",
    draft: Annotated[
        bool, typer.Option("--draft/--no-draft", help="for a match: capture evidence and draft its requests now")
    ] = True,
    config: ConfigOption = None,
) -> None:
    """Settle a finding the policy sent to review: as a match (evidence is captured and requests drafted) or clear."""
    import asyncio

    from takedown.cases import resolve_finding

    who = officer(by)
    settings = settings_from(config)
    with open_existing_store(settings) as store:
        full_id = resolve_id(store, "finding", finding_id)
        finding = resolve_finding(store, full_id, decision, by=who, context=cli_context(), reason=reason)
        console.print(f"Finding {escape(full_id)} is resolved as {decision.value}.")
        if decision is not Decision.MATCH or not draft:
            return
        from takedown.pipeline import build_workflow

        workflow = build_workflow(settings, store, operator=who)  # site files, if set, for web-form drafts

        async def run() -> None:
            case = store.get_case(finding.case_id)
            try:
                await workflow.collect_evidence(case)
                await workflow.draft(case)
            finally:
                await workflow.aclose()

        asyncio.run(run())
        drafted = store.list_notices(finding_id=full_id)
    for error in workflow.errors:
        err_console.print(f"[yellow]not finished (run takedown scan to retry):[/] {escape(error)}")
    console.print(f"{len(drafted)} draft(s) wait for approval: takedown review --finding {escape(full_id)}")

"""An officer's day from the command line: ``review``, ``approve``, ``reject``, ``edit``, ``redraft``, ``send``,
``confirm-sent``, ``followup`` and ``stats``.

Every decision names the officer (``--by`` or ``$TAKEDOWN_OFFICER``) and is recorded with the operating-system
account that made it. Ids may be shortened to any unique prefix. A command over many notices acts on each one
by one (each recorded on its own) and never lets one that fails stop the others; it exits 1 if any failed.
"""


import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from takedown.cli._common import (
    ByOption,
    ConfigOption,
    PasswordStdinOption,
    VarOption,
    cli_context,
    confirm,
    console,
    err_console,
    officer,
    open_existing_store,
    parse_variables,
    read_password,
    resolve_id,
    settings_from,
)
from takedown.errors import TakedownError, UnknownPluginError, UsageError
from takedown.states import NoticeState

if TYPE_CHECKING:
    from takedown.models import Delivery, Finding, Notice
    from takedown.report.base import Transport
    from takedown.report.followup import FollowUpReport
    from takedown.settings import Settings
    from takedown.sites.base import SiteAdapter
    from takedown.store.base import CaseStore


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    for command in (review, approve, reject, edit, redraft, send, followup, stats):
        app.command()(command)
    app.command("confirm-sent")(confirm_sent)


# -- review ---------------------------------------------------------------------------------------------------


def _evidence_of(store: "CaseStore", settings: "Settings", finding: "Finding") -> str | None:
    """The path of the finding's evidence PDF (or other report, or its manifest), if it has a bundle."""
    from takedown.errors import NotFoundError

    try:
        bundle = store.get_bundle(finding.bundle_id)
    except NotFoundError:
        return None
    reports = [a for a in bundle.artifacts if a.role == "report"]
    chosen = next((a for a in reports if a.path.endswith(".pdf")), reports[0] if reports else None)
    if chosen is None:
        chosen = next((a for a in bundle.artifacts if a.role == "manifest"), None)
    return str(settings.storage.evidence_root / chosen.path) if chosen else None


def _notice_rows(store: "CaseStore", settings: "Settings", notices: "list[Notice]") -> list[dict[str, Any]]:
    """One row per notice, with each finding it lists (URL, evidence, the finding it repeats); each finding is read
    once, however many notices list it. ``finding``, ``url`` and ``evidence`` are the first listed finding's."""
    from takedown.report.jurisdictions import missing_fields

    findings: dict[str, dict[str, Any]] = {}
    rows = []
    for notice in notices:
        items = []
        for finding_id in notice.finding_ids:
            if finding_id not in findings:
                finding = store.get_finding(finding_id)
                findings[finding_id] = {"finding": finding_id, "url": finding.candidate.url,
                                        "evidence": _evidence_of(store, settings, finding),
                                        "also_shown_at_of": finding.canonical_id, "state": finding.state.value}
            items.append(findings[finding_id])
        lead = items[0]
        rows.append({
            "id": notice.id, "case": notice.case_id, "finding": notice.finding_id, "state": notice.state.value,
            "kind": notice.kind, "attempt": notice.attempt, "revision": notice.revision, "locale": notice.locale,
            "jurisdiction": notice.jurisdiction, "to": notice.recipient.address,
            "channel": notice.recipient.channel, "subject": notice.subject, "url": lead["url"],
            "evidence": lead["evidence"], "items": items, "missing": missing_fields(notice),
            "approved_by": notice.approved_by, "language_pack": _pack_line(notice.locale),
            "due": _due_text(store, settings, notice),
        })
    return rows


def _due_text(store: "CaseStore", settings: "Settings", notice: "Notice") -> str:
    """For a sent notice, when its legal time runs out (``[report] deadline_hours`` or the jurisdiction's), and
    whether it has; empty for others."""
    from takedown.models import utcnow
    from takedown.report.jurisdictions import deadline_for

    delivery = store.get_delivery(notice.id) if notice.state is NoticeState.SENT else None
    period = deadline_for(notice.jurisdiction, settings.report.deadlines)
    if delivery is None or period is None:
        return ""
    due = delivery.sent_at + period
    return f"{due.astimezone().strftime('%Y-%m-%d %H:%M %Z')}" + (" (overdue)" if due <= utcnow() else "")


def _pack_line(locale: str) -> str:
    """Whether the language pack a notice is written with was reviewed by a native speaker."""
    from takedown.report.locale_pack import pack_review

    review = pack_review(locale)
    return review.describe() if review is not None else f"{locale}: no shipped language pack"


def _item_lines(items: list[dict[str, Any]]) -> list[str]:
    """The locations a notice lists, numbered; a page that repeats a listed finding's media is shown under it."""
    listed = {item["finding"] for item in items}
    lines, number = [], 0
    for item in items:
        evidence = escape(item["evidence"] or "(no evidence report)")
        if item["also_shown_at_of"] in listed:
            lines.append(f"       also shown at {escape(item['url'])}  [dim]{item['finding']} · {evidence}[/]")
            continue
        number += 1
        lines.append(f"    {number}. {escape(item['url'])}  [dim]{item['finding']} · {item['state']}[/]")
        lines.append(f"       evidence: {evidence}")
    return lines


def _check_channel(channel: str | None) -> None:
    if channel not in (None, "email", "web_form"):
        raise UsageError(f"--channel is email or web_form, not {channel!r}")


def review(
    notice_id: Annotated[str | None, typer.Argument(help="show this notice in full (an id or a unique prefix)")] = None,
    config: ConfigOption = None,
    case: Annotated[str | None, typer.Option("--case", help="only this case")] = None,
    finding: Annotated[str | None, typer.Option("--finding", help="only this finding")] = None,
    locale: Annotated[str | None, typer.Option("--locale", help="only this language, e.g. ko")] = None,
    jurisdiction: Annotated[str | None, typer.Option("--jurisdiction", help="only this legal basis, e.g. KR")] = None,
    state: Annotated[NoticeState | None, typer.Option("--state", help="only this state (default: draft)")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="only email or web_form notices")] = None,
    all_states: Annotated[bool, typer.Option("--all", help="every notice, whatever its state")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON (with the URL and the evidence path)")] = False,
) -> None:
    """List the notices waiting for an officer (drafts), or show one in full.

    Each row gives the notice, its finding and URL, the recipient, the language and legal basis, the subject,
    and the evidence report to open before approving.
    """
    from takedown.report.grouping import request_key

    _check_channel(channel)
    settings = settings_from(config)
    with open_existing_store(settings) as store:
        if notice_id is not None:
            notice = store.get_notice(resolve_id(store, "notice", notice_id))
            delivery = store.get_delivery(notice.id)
            (row,) = _notice_rows(store, settings, [notice])
            if as_json:
                console.print_json(json.dumps({**row, "body_text": notice.body_text, "legal": notice.legal},
                                              ensure_ascii=False))
                return
            console.print(_notice_panel(notice, row, delivery))
            return
        case_id = resolve_id(store, "case", case) if case else None
        finding_id = resolve_id(store, "finding", finding) if finding else None
        states = None if all_states else [state or NoticeState.DRAFT]
        notices = [n for n in store.list_notices(case_id, finding_id=finding_id, states=states)
                   if (locale is None or n.locale == locale) and (channel is None or n.recipient.channel == channel)
                   and (jurisdiction is None or n.jurisdiction.upper() == jurisdiction.upper())]
        rows = _notice_rows(store, settings, notices)
        keys = [request_key(n) for n in notices]
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    what = "notices" if all_states else f"{(state or NoticeState.DRAFT).value} notices"
    requests: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # one request: its copies in each language
    for key, row in zip(keys, rows, strict=True):
        requests.setdefault(key, []).append(row)
    listed = {i["finding"] for row in rows for i in row["items"]}
    lines = [f"[bold]{len(rows)} {what}[/] in {len(requests)} request(s), listing {len(listed)} location(s)"]
    for group in requests.values():
        first = group[0]
        count = len(first["items"])
        lines += ["", f"[bold]to {escape(first['to'])}[/] ({first['channel']})  {count} location(s)  "
                      f"[dim](case {escape(first['case'])})[/]"]
        for row in group:
            state_text = row["state"] if row["kind"] == "initial" else f"{row['state']} ({row['kind']})"
            lines.append(f"  {row['id']}  {state_text}  {row['locale']}/{row['jurisdiction']}  "
                         f"{escape(row['subject'])}")
            if row["due"]:
                lines.append(f"    [{'red' if 'overdue' in row['due'] else 'dim'}]legal time runs out: "
                             f"{escape(row['due'])}[/]")
            if row["missing"]:
                lines.append(f"    [red]missing: {escape(', '.join(row['missing']))}[/]")
        lines += _item_lines(first["items"])
    unreviewed = sorted({row["locale"] for row in rows if "not reviewed" in row["language_pack"]})
    if unreviewed:
        lines += ["", f"[yellow]Not yet reviewed by a native-speaking lawyer:[/] the {', '.join(unreviewed)} "
                      "wording; read it with care before approving."]
    if rows and not all_states and (state or NoticeState.DRAFT) is NoticeState.DRAFT:
        lines += ["", "Read a notice in full with: takedown review ID; approve a case's drafts with: "
                      "takedown approve --case ID --by NAME"]
    console.print("\n".join(lines), soft_wrap=True, highlight=False)


def _notice_panel(notice: "Notice", row: dict[str, Any], delivery: "Delivery | None") -> Panel:
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold")
    fields.add_column(overflow="fold")
    rows = [("state", notice.state.value), ("to", f"{notice.recipient.address} ({notice.recipient.source})"),
            ("case", notice.case_id)]
    for number, item in enumerate(row["items"], start=1):
        also = f" (also shown at: repeats {item['also_shown_at_of']})" if item["also_shown_at_of"] else ""
        rows += [(f"location {number}", f"{item['url']}{also}"),
                 ("  finding", f"{item['finding']} ({item['state']})"), ("  evidence", item["evidence"] or "(none)")]
    rows += [("jurisdiction", notice.jurisdiction), ("locale", notice.locale), ("language pack", row["language_pack"]),
             ("subject", notice.subject)]
    if notice.approved_by:
        rows.append(("approved", f"{notice.approved_by} at {notice.approved_at}"))
    if notice.in_reply_to:
        rows.append(("in reply to", notice.in_reply_to))
    if delivery:
        rows.append(("sent", f"{delivery.sent_at} via {delivery.transport} as {delivery.message_id}"))
    if row["due"]:
        rows.append(("legal time runs out", row["due"]))
    rows += [(f"legal.{k}", v or "(empty)") for k, v in sorted(notice.legal.items())]
    if row["missing"]:
        rows.append(("missing", ", ".join(row["missing"])))
    for key, value in rows:
        fields.add_row(escape(key), escape(str(value)))
    body = Text(notice.body_text)
    return Panel(Group(fields, Rule(), body), title=f"notice {notice.id}", subtitle=f"{notice.kind} #{notice.attempt}")


# -- decisions ------------------------------------------------------------------------------------------------


def _chosen_notices(store: "CaseStore", ids: list[str] | None, findings: list[str] | None, case: str | None,
                    states: list[NoticeState]) -> list[str]:
    """The notices named directly, plus those of the findings and case named that are in ``states``."""
    chosen = [resolve_id(store, "notice", i) for i in ids or []]
    for finding in findings or []:
        chosen += [n.id for n in store.list_notices(finding_id=resolve_id(store, "finding", finding), states=states)]
    if case:
        chosen += [n.id for n in store.list_notices(resolve_id(store, "case", case), states=states)]
    return list(dict.fromkeys(chosen))


def approve(
    notice_ids: Annotated[list[str] | None, typer.Argument(help="notices to approve (ids or unique prefixes)")] = None,
    by: ByOption = "",
    finding: Annotated[
        list[str] | None, typer.Option("--finding", help="every draft of this finding, all languages (repeatable)")
    ] = None,
    case: Annotated[str | None, typer.Option("--case", help="every draft of this case")] = None,
    note: Annotated[str, typer.Option("--note", help="why, or what was checked")] = "",
    user: Annotated[
        str | None, typer.Option("--user", envvar="TAKEDOWN_USER",
                                 help="approve as this console user, signed in with their password (asked for)")
    ] = None,
    password_stdin: PasswordStdinOption = False,
    config: ConfigOption = None,
) -> None:
    """Record an officer's approval of drafts; nothing is sent without one. Each approval is recorded on its own.

    With --user the approver signs in as a console user (``takedown user add``): the approval records that
    authenticated user's display name. With --by alone it records the name given and the operating-system account.
    """
    from takedown.pipeline import notice_renderer
    from takedown.report.countersign import approve_with_rule, needs_countersign

    failed = approved = 0
    settings = settings_from(config)
    rule = settings.console.four_eyes
    with open_existing_store(settings) as store:
        if user:
            from takedown.console.accounts import authenticate, require_role, signature_of
            from takedown.models import Role

            account = authenticate(store, user, read_password(password_stdin), client="cli")
            require_role(account, Role.OFFICER, Role.SUPERVISOR)
            who, username = account.display_name, account.username
            signer = signature_of(account, settings.agency)
            context = {**cli_context(), "user": account.username, "authenticated": "password"}
        else:
            who, username = officer(by), ""
            signer = (who, settings.agency.signer_title)
            context = {**cli_context(), "authenticated": "none"}
        renderer = notice_renderer(settings)
        chosen = _chosen_notices(store, notice_ids, finding, case, [NoticeState.DRAFT])
        if not chosen:
            raise UsageError("no drafts to approve: name notices, or --finding / --case with drafts")
        for notice_id in chosen:
            try:
                if not username and needs_countersign(store.get_notice(notice_id), rule):
                    raise UsageError("two officers approve this request ([console] four_eyes): approve with --user, "
                                     "signed in")
                done = approve_with_rule(store, notice_id, rule=rule, username=username, by=who, note=note,
                                         context=context, renderer=renderer, signer=signer)
            except TakedownError as exc:
                failed += 1
                err_console.print(f"[red]not approved[/] {notice_id}: {escape(str(exc))}")
            else:
                if done.state is NoticeState.APPROVED:
                    approved += 1
                    console.print(f"Approved {notice_id} by {escape(who)}.")
                else:
                    console.print(f"First approval of {notice_id} by {escape(who)}: a second officer approves it.")
    if approved:
        target = chosen[0] if len(chosen) == 1 else f"--case {case}" if case else " ".join(chosen)
        console.print(f"Send with: takedown send {target}", soft_wrap=True)
    if failed:
        raise typer.Exit(1)


def reject(
    notice_ids: Annotated[list[str], typer.Argument(help="notices to reject (ids or unique prefixes)")],
    by: ByOption,
    reason: Annotated[str, typer.Option("--reason", help="why (recorded)")],
    config: ConfigOption = None,
) -> None:
    """Reject drafts, with the reason."""
    from takedown.report.review import reject_notice

    who = officer(by)
    failed = 0
    with open_existing_store(settings_from(config)) as store:
        for text in notice_ids:
            try:
                notice_id = resolve_id(store, "notice", text)
                reject_notice(store, notice_id, by=who, context=cli_context(), reason=reason)
            except TakedownError as exc:
                failed += 1
                err_console.print(f"[red]not rejected[/] {escape(text)}: {escape(str(exc))}")
            else:
                console.print(f"Rejected {notice_id}.")
    if failed:
        raise typer.Exit(1)


def edit(
    notice_id: Annotated[str, typer.Argument(help="the draft to edit (an id or a unique prefix)")],
    by: ByOption,
    subject: Annotated[str | None, typer.Option("--subject", help="a new subject")] = None,
    body_file: Annotated[Path | None, typer.Option("--body-file", help="a file with the new plain-text body")] = None,
    legal: Annotated[list[str] | None, typer.Option("--set", help="a legal field, KEY=VALUE (repeatable)")] = None,
    config: ConfigOption = None,
) -> None:
    """Edit a draft before approval (editing an approved notice withdraws the approval)."""
    from takedown.report.review import edit_notice

    who = officer(by)
    fields: dict[str, str] = {}
    for item in legal or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set takes KEY=VALUE, got {item!r}")
        fields[key.strip()] = value
    try:
        body = body_file.read_text(encoding="utf-8") if body_file else None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the body from {body_file}: {exc}") from exc
    from takedown.pipeline import notice_renderer

    settings = settings_from(config)
    with open_existing_store(settings) as store:
        full_id = resolve_id(store, "notice", notice_id)
        edit_notice(store, full_id, by=who, context=cli_context(), subject=subject, body_text=body,
                    legal=fields or None, renderer=notice_renderer(settings))
    console.print(f"Edited {full_id}; it is a draft again and needs approval.")


def redraft(
    findings: Annotated[list[str] | None, typer.Argument(help="findings to draft again (ids or prefixes)")] = None,
    by: ByOption = "",
    reason: Annotated[str, typer.Option("--reason", help="why, e.g. 'agency phone number changed'")] = "",
    case: Annotated[str | None, typer.Option("--case", help="every drafted finding of this case")] = None,
    config: ConfigOption = None,
) -> None:
    """Draft a finding's requests again after a change of settings, templates or site files.

    Its unsent notices (drafts, approved, rejected) are withdrawn, with the reason, and new drafts are made
    from the current settings; they need approval again. A finding with a sent notice is refused (follow-up
    drafts its reminders); a finding that is refused never stops the others, and the command then exits 1.
    """
    import asyncio

    from takedown.models import FindingState
    from takedown.pipeline import build_workflow
    from takedown.report.review import redraft_finding

    who = officer(by)
    if not reason.strip():
        raise UsageError("say why with --reason (it is recorded with the withdrawn drafts)")
    settings = settings_from(config)
    with open_existing_store(settings) as store:
        chosen = [resolve_id(store, "finding", f) for f in findings or []]
        if case:
            chosen += [f.id for f in store.list_findings(resolve_id(store, "case", case),
                                                         states=[FindingState.DRAFTED, FindingState.APPROVED])]
        if not chosen:
            raise UsageError("nothing to redraft: name findings, or --case with drafted findings")
        # Built first: a settings or site-file error stops the command before any draft is withdrawn.
        workflow = build_workflow(settings, store, operator=who)
        redrafted: list[str] = []
        failed = 0

        async def run() -> None:
            nonlocal failed
            try:
                for finding_id in dict.fromkeys(chosen):
                    try:
                        withdrawn = redraft_finding(store, finding_id, by=who, context=cli_context(), reason=reason)
                    except TakedownError as exc:
                        failed += 1
                        err_console.print(f"[red]not redrafted[/] {finding_id}: {escape(str(exc))}")
                        continue
                    redrafted.append(finding_id)
                    console.print(f"Withdrew {len(withdrawn)} notice(s) of {finding_id}.")
                for case_id in sorted({store.get_finding(f).case_id for f in redrafted}):
                    await workflow.draft(store.get_case(case_id))
            finally:
                await workflow.aclose()

        asyncio.run(run())
        drafts = {f: len(store.list_notices(finding_id=f, states=[NoticeState.DRAFT])) for f in redrafted}
    for error in workflow.errors:
        err_console.print(f"[yellow]note:[/] {escape(error)}")
    console.print(f"{sum(drafts.values())} new draft(s) wait for approval.")
    undrafted = sorted(f for f, count in drafts.items() if not count)
    if undrafted:
        err_console.print(f"[red]no new drafts for[/] {', '.join(undrafted)}: see the notes above, fix the settings or "
                          "site files, and run takedown scan to draft them")
    if undrafted or failed:
        raise typer.Exit(1)


# -- sending --------------------------------------------------------------------------------------------------


def send(
    notice_ids: Annotated[list[str] | None, typer.Argument(help="notices to send (ids or unique prefixes)")] = None,
    case: Annotated[str | None, typer.Option("--case", help="every approved notice of this case")] = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help="only email or web_form notices (with --case or no ids)")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list what would be sent; send nothing")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="no confirmation when several cases would be sent")] = False,
    transport: Annotated[str, typer.Option("--transport", help="smtp (settings [smtp]) or outbox")] = "smtp",
    outbox: Annotated[Path, typer.Option("--outbox", help="folder for --transport outbox")] = Path("outbox"),
    sites: Annotated[
        Path | None, typer.Option("--sites", help="site files for web-form notices (default: [sites] dir)")
    ] = None,
    var: VarOption = None,
    config: ConfigOption = None,
) -> None:
    """Send approved notices, each once: by email, or through the site's web form. Unapproved notices are refused.

    Without ids or --case, every approved notice is sent; when they belong to more than one case you are asked
    first (or pass --yes). A notice that cannot be sent is reported and the others still go; the command then
    exits 1.
    """
    import asyncio

    from takedown.evidence.signing import AgencySigner
    from takedown.pipeline import notice_renderer
    from takedown.report.review import send_notice, submit_notice
    from takedown.sites.base import FormReporter, submits_to

    _check_channel(channel)
    settings = settings_from(config)
    with open_existing_store(settings) as store:
        if notice_ids:
            ids = [resolve_id(store, "notice", i) for i in notice_ids]
        else:
            case_id = resolve_id(store, "case", case) if case else None
            ids = [n.id for n in store.list_notices(case_id, states=[NoticeState.APPROVED])
                   if channel is None or n.recipient.channel == channel]
        notices = [store.get_notice(i) for i in ids]
        if not notices:
            console.print("No approved notices to send.")
            return
        if dry_run:
            ready = [n for n in notices if n.state is NoticeState.APPROVED]
            _print_plan(ready, "Would send")
            for notice in notices:
                if notice.state is not NoticeState.APPROVED:
                    err_console.print(f"[yellow]would not send[/] {notice.id}: it is {notice.state.value}")
            return
        cases = sorted({n.case_id for n in notices})
        if len(cases) > 1 and not yes and not notice_ids and not case:
            confirm(f"Send {len(notices)} notice(s) of {len(cases)} cases ({', '.join(cases)})?",
                    unanswered="Nothing was sent: pass --yes, or --case CASE, when no one can answer a prompt")
        to_forms = {n.id: n.recipient.address for n in notices
                    if n.recipient.channel == "web_form" and store.get_delivery(n.id) is None}
        adapters: list[SiteAdapter] = []
        sites_problem = ""
        if to_forms and (sites is not None or settings.sites.dir is not None):
            from takedown.pipeline import build_sites

            try:
                adapters = build_sites(settings, directory=sites, variables=parse_variables(var))
            except TakedownError as exc:  # the e-mails still go; each web-form notice says why it did not
                sites_problem = f"the site files cannot be read: {exc}"
        forms = {url: a for url in set(to_forms.values()) for a in adapters
                 if isinstance(a, FormReporter) and submits_to(a, url)}
        chosen = make_transport(transport, settings, outbox)
        renderer = notice_renderer(settings)
        signer = AgencySigner.from_settings(settings.signing)
        failed = 0

        async def send_all() -> None:
            nonlocal failed
            try:
                for notice in notices:
                    try:
                        if notice.id in to_forms:
                            form = forms.get(to_forms[notice.id])
                            if form is None and sites_problem:
                                raise UsageError(f"it goes to the web form {to_forms[notice.id]}, and {sites_problem}")
                            if form is None:
                                raise UsageError(
                                    f"it goes to the web form {to_forms[notice.id]}, and no site file "
                                    f"{'in ' + str(sites or settings.sites.dir) + ' ' if adapters else ''}has that "
                                    "form: pass --sites DIR or set [sites] dir")
                            delivery = await submit_notice(store, notice.id, site=form)
                        else:
                            delivery = send_notice(store, notice.id, transport=chosen, sender=settings.smtp.sender,
                                                   sender_name=settings.agency.name,
                                                   evidence_root=settings.storage.evidence_root,
                                                   renderer=renderer, signer=signer)
                    except TakedownError as exc:
                        failed += 1
                        err_console.print(f"[red]not sent[/] {notice.id}: {escape(str(exc))}")
                        continue
                    console.print(f"Sent {notice.id} as {escape(delivery.message_id)} via {delivery.transport}")
            finally:
                for adapter in adapters:  # their connections belong to this event loop
                    await adapter.aclose()

        try:
            asyncio.run(send_all())
        finally:
            chosen.close()
    if failed:
        others = "nothing was sent" if failed == len(notices) else f"the other {len(notices) - failed} were sent"
        err_console.print(f"{failed} of {len(notices)} notice(s) could not be sent; {others}.")
        raise typer.Exit(1)


def _print_plan(notices: "list[Notice]", title: str) -> None:
    table = Table(title=f"{title} {len(notices)} notice(s)", box=box.SIMPLE_HEAD)
    for column in ("notice", "case", "via", "to", "subject"):
        table.add_column(column, overflow="fold")
    for notice in notices:
        table.add_row(notice.id, escape(notice.case_id), notice.recipient.channel, escape(notice.recipient.address),
                      escape(notice.subject))
    console.print(table)


def make_transport(name: str, settings: "Settings", outbox: Path) -> "Transport":
    """The transport ``--transport`` names: ``smtp`` (``[smtp]``) or ``outbox`` (``.eml`` files in ``outbox``)."""
    if name == "outbox":
        from takedown.report.transports import OutboxTransport

        return OutboxTransport(outbox)
    if name == "smtp":
        from takedown.report.smtp import SmtpTransport

        return SmtpTransport(settings.smtp)
    raise UnknownPluginError("transport", name, ["outbox", "smtp"])


def confirm_sent(
    notice_id: Annotated[str, typer.Argument(help="the notice whose send is unconfirmed (an id or a prefix)")],
    by: ByOption,
    sent: Annotated[
        bool, typer.Option("--sent/--not-sent", help="what the transport log, outbox or site shows")
    ] = True,
    detail: Annotated[str, typer.Option("--detail", help="what was checked, e.g. 'SMTP log line 1432'")] = "",
    config: ConfigOption = None,
) -> None:
    """Settle a send that may or may not have happened (the process stopped, or the server's answer was unclear).

    --sent records the delivery (it is never sent again); --not-sent allows takedown send to try again.
    """
    from takedown.report.review import confirm_sent as confirm

    who = officer(by)
    with open_existing_store(settings_from(config)) as store:
        full_id = resolve_id(store, "notice", notice_id)
        delivery = confirm(store, full_id, by=who, context=cli_context(), sent=sent, detail=detail)
    if delivery is None:
        console.print(f"Recorded that {full_id} was not sent; takedown send may send it now.")
    else:
        console.print(f"Recorded that {full_id} was sent as {escape(delivery.message_id)}.")


# -- after sending --------------------------------------------------------------------------------------------


def followup(
    config: ConfigOption = None,
    case: Annotated[str | None, typer.Option("--case", help="only this case")] = None,
    after_hours: Annotated[
        float | None, typer.Option("--after-hours", help="re-check after this many hours (default: the legal deadline)")
    ] = None,
    sites: Annotated[
        Path | None, typer.Option("--sites", help="site files, so escalation can move to a web form "
                                  "(default: [sites] dir)")
    ] = None,
    var: VarOption = None,
) -> None:
    """Re-check sent notices past their deadline; mark removals and draft reminders for what is still up."""
    import asyncio
    from datetime import timedelta

    from takedown.pipeline import build_sites, build_templates
    from takedown.report.followup import FollowUpConfig, follow_up, http_fetcher
    from takedown.sites.base import FormReporter

    settings = settings_from(config)
    follow_config = FollowUpConfig(recheck_after=timedelta(hours=after_hours) if after_hours is not None else None,
                                   deadline_hours=settings.report.deadlines)
    adapters: list[SiteAdapter] = []
    if sites is not None or settings.sites.dir is not None:
        adapters = build_sites(settings, directory=sites, variables=parse_variables(var))
    forms = [a for a in adapters if isinstance(a, FormReporter)]
    with open_existing_store(settings) as store:
        case_id = resolve_id(store, "case", case) if case else None
        fetch, close = http_fetcher(settings.network)

        async def run() -> "FollowUpReport":
            try:
                return await follow_up(store, fetch=fetch, agency=settings.agency, templates=build_templates(),
                                       case_id=case_id, config=follow_config, forms=forms)
            finally:
                await close()
                for adapter in adapters:
                    await adapter.aclose()

        report = asyncio.run(run())
    console.print(
        f"checked {report.checked}: removed {len(report.removed)}, still up {len(report.still_up)}, "
        f"unreachable {len(report.unreachable)}, not yet due {len(report.not_due)}; "
        f"{len(report.reminders)} reminder draft(s) wait for approval"
    )
    for error in report.errors:
        err_console.print(f"[yellow]{escape(error)}[/]")


def stats(
    config: ConfigOption = None,
    case: Annotated[str | None, typer.Option("--case", help="only this case")] = None,
) -> None:
    """How each recipient complies: findings notified, share removed, median time to removal."""
    from takedown.report.followup import compliance_stats

    settings = settings_from(config)
    with open_existing_store(settings) as store:
        rows = compliance_stats(store, resolve_id(store, "case", case) if case else None,
                                deadline_hours=settings.report.deadlines)
    table = Table(title="Compliance by recipient")
    for column in ("recipient", "findings", "removed", "share", "median h to removal", "overdue"):
        table.add_column(column)
    for row in rows:
        median = "-" if row.median_hours_to_removal is None else f"{row.median_hours_to_removal:.1f}"
        table.add_row(escape(row.recipient), str(row.findings), str(row.removed), f"{row.share_removed:.0%}", median,
                      f"[red]{row.overdue}[/]" if row.overdue else "0")
    console.print(table)

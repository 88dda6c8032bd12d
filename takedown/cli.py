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
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from takedown._version import __version__
from takedown.errors import PluginLoadError, TakedownError, UsageError
from takedown.models import Decision, FindingState
from takedown.settings import CONFIG_FILE, Settings, example_toml, load_settings
from takedown.store import open_store
from takedown.store.sqlite import SQLiteCaseStore
from takedown.workflow import ProgressEvent, WorkflowResult

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


def main(argv: list[str] | None = None) -> None:
    """The console-script entry point: runs the app and turns takedown's errors into one line and exit 2."""
    try:
        app(args=argv)
    except TakedownError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise SystemExit(2) from None


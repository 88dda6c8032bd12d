"""What every command shares: the consoles, settings and store options, id prefixes, progress bars.

Only light modules are imported here (typer, rich, the models, settings and the SQLite store): the commands
an officer runs all day (``review``, ``approve``, ``findings``, ``verify``) must start in a fraction of a second.
Commands import the heavy parts they need inside their own bodies.
"""


from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console

from takedown.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from takedown.settings import Settings
    from takedown.store.base import CaseStore
    from takedown.store.sqlite import SQLiteCaseStore
    from takedown.workflow import ProgressEvent

console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="settings file (default: ./takedown.toml if present)")
]
ByOption = Annotated[
    str, typer.Option("--by", envvar="TAKEDOWN_OFFICER",
                      help="the officer acting (recorded, with the login account); default: $TAKEDOWN_OFFICER")
]
VarOption = Annotated[
    list[str] | None, typer.Option("--var", help="NAME=VALUE for {NAME} in the site files (repeatable)")
]

IdKind = Literal["case", "finding", "bundle", "notice"]


def settings_from(config: Path | None) -> Settings:
    """The agency's settings (``--config``, ``$TAKEDOWN_CONFIG``, ``./takedown.toml``, then the environment)."""
    from takedown.settings import load_settings

    return load_settings(config)


@contextmanager
def open_existing_store(settings: Settings) -> Iterator[SQLiteCaseStore]:
    """Open the existing store; a command that only reads never creates one."""
    from takedown.store import open_store

    url = settings.storage.store_url
    path = Path(url.removeprefix("sqlite:///"))
    if url.startswith("sqlite:///") and not path.is_file():
        raise UsageError(f"no case store at {path}; set [storage] data_dir, or create a case first: "
                         "takedown case create ID --title ... --media DIR")
    store = open_store(url)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def open_or_create_store(settings: Settings) -> Iterator[SQLiteCaseStore]:
    """Open the store, creating it (and its folder) if it does not exist yet."""
    from takedown.store import open_store

    url = settings.storage.store_url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    store = open_store(url)
    try:
        yield store
    finally:
        store.close()


def resolve_id(store: CaseStore, kind: IdKind, text: str) -> str:
    """The full id of a ``kind`` record that ``text`` names: the id itself, or a unique prefix of it.

    Raises:
        NotFoundError: nothing starts with ``text``.
        UsageError: ``text`` is a prefix of several ids (they are listed).
    """
    text = text.strip()
    if not text:
        raise UsageError(f"an empty {kind} id")
    getters = {"case": store.get_case, "finding": store.get_finding, "bundle": store.get_bundle,
               "notice": store.get_notice}
    try:
        getters[kind](text)
        return text
    except NotFoundError:
        pass
    from takedown.store.sqlite import SQLiteCaseStore

    if isinstance(store, SQLiteCaseStore):
        found = store.ids_with_prefix(kind, text, limit=6)
    else:
        listed: dict[str, Callable[[], list[str]]] = {
            "case": lambda: [c.id for c in store.list_cases()],
            "finding": lambda: [f.id for f in store.list_findings()],
            "bundle": lambda: [b.id for b in store.list_bundles()],
            "notice": lambda: [n.id for n in store.list_notices()],
        }
        found = sorted(i for i in listed[kind]() if i.startswith(text))
    if not found:
        hint = " (takedown case list shows them)" if kind == "case" else ""
        raise NotFoundError(f"no {kind} {text!r}{hint}")
    if len(found) > 1:
        shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
        raise UsageError(f"{text!r} could be any of these {kind}s: {shown}; give more of the id")
    return found[0]


def officer(by: str) -> str:
    """The officer's name, refused if empty."""
    if not by.strip():
        raise UsageError("name the officer with --by (or $TAKEDOWN_OFFICER)")
    return by.strip()


def login_account() -> str:
    """The operating-system account running the command: recorded beside the officer's name."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user database entry (some containers)
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def cli_context() -> dict[str, str]:
    """How the officer acting was authenticated, for the custody log: the login account, through the CLI."""
    return {"account": login_account(), "via": "cli"}


PasswordStdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from the first line of standard input")
]


def read_password(from_stdin: bool, *, twice: bool = False) -> str:
    """A password from a hidden prompt (typed ``twice`` to set one), or the first line of standard input.

    Never from an option, which would leave it in the shell's history.

    Raises:
        UsageError: standard input holds no password, or there is no terminal to prompt at.
    """
    import sys

    if from_stdin:
        line = sys.stdin.readline(4096)
        if not line.strip():
            raise UsageError("--password-stdin: standard input holds no password")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError("no terminal to type the password at: pass it on standard input with --password-stdin")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=twice))


def confirm(question: str, *, unanswered: str) -> None:
    """Ask ``question``; a no ends the command (exit 1). With no terminal to answer, refuse with ``unanswered``."""
    import sys

    if not sys.stdin.isatty():
        raise UsageError(f"{question} {unanswered}")
    if not typer.confirm(question, default=False):
        raise typer.Exit(1)


def parse_variables(var: list[str] | None) -> dict[str, str]:
    """``--var NAME=VALUE`` options as a mapping."""
    pairs = [item.split("=", 1) for item in var or []]
    if any(len(pair) != 2 or not pair[0] for pair in pairs):
        raise UsageError("--var takes NAME=VALUE")
    return {pair[0]: pair[1] for pair in pairs}


@contextmanager
def progress_bars() -> Iterator[Callable[[ProgressEvent], None]]:
    """A progress callback that draws one rich bar per workflow stage."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

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

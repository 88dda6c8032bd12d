"""The ``takedown`` command: cases, scans, an officer's review and sending, evidence, hashes and tools.

Every command reads the agency's settings from ``--config`` (or ``takedown.toml`` / ``$TAKEDOWN_CONFIG``) and
the environment. Errors of takedown's own tree are shown as one clear line with exit status 2, never a
traceback.

Commands are grouped in modules by who uses them (``COMMANDS`` says which module holds which), and each command
imports its heavy parts in its own body. ``main`` loads only the module of the command being run, so an
officer's ``review`` or ``approve`` starts in a fraction of a second; ``app`` (all commands) is built on first use.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer

from takedown.errors import TakedownError

__all__ = ["COMMANDS", "app", "build_app", "main"]

COMMANDS: dict[str, tuple[str, ...]] = {
    "run": ("demo", "scan", "monitor", "capture", "verify"),
    "cases": ("case", "cases", "findings", "resolve"),
    "officer": ("review", "approve", "reject", "edit", "redraft", "send", "followup", "stats", "confirm-sent"),
    "hashes": ("hash", "banks"),
    "users": ("user", "token", "console"),
    "tools": ("init", "doctor", "plugins", "version", "sites", "bench"),
}
"""The command modules of ``takedown.cli`` in help order, with the commands and command groups each registers."""


def build_app(modules: tuple[str, ...] = tuple(COMMANDS)) -> typer.Typer:
    """A ``takedown`` app with the commands of ``modules`` (default: all of them)."""
    built = typer.Typer(
        name="takedown",
        help="Find, judge, evidence and request the removal of non-consensual intimate imagery.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name in modules:
        importlib.import_module(f"takedown.cli.{name}").register(built)
    return built


def __getattr__(name: str) -> Any:
    if name == "app":  # every command: for tests, documentation and embedding
        value = build_app()
        globals()["app"] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _modules_for(args: list[str]) -> tuple[str, ...]:
    """The one module that holds the command ``args`` name, or all of them (for help or an unknown command)."""
    command = next((arg for arg in args if not arg.startswith("-")), None)
    for module, names in COMMANDS.items():
        if command in names:
            return (module,)
    return tuple(COMMANDS)


def main(argv: list[str] | None = None) -> None:
    """The console-script entry point: runs the app and turns takedown's errors into one line and exit 2."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        build_app(_modules_for(args))(args=args)
    except TakedownError as exc:
        from rich.markup import escape

        from takedown.cli._common import err_console

        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise SystemExit(2) from None

"""The ``takedown`` command: cases, scans, an officer's review and sending, evidence, hashes and tools.

Every command reads the agency's settings from ``--config`` (or ``takedown.toml`` / ``$TAKEDOWN_CONFIG``) and
the environment. Errors of takedown's own tree are shown as one clear line with exit status 2, never a
traceback. Commands are grouped in modules by who uses them; each imports its heavy parts inside the command,
so ``takedown --help`` and an officer's ``review`` or ``approve`` start in a fraction of a second.
"""


import typer
from rich.markup import escape

from takedown.cli import cases, hashes, officer, run, tools
from takedown.cli._common import err_console
from takedown.errors import TakedownError

__all__ = ["app", "main"]

app = typer.Typer(
    name="takedown",
    help="Find, judge, evidence and request the removal of non-consensual intimate imagery.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for module in (run, cases, officer, hashes, tools):
    module.register(app)


def main(argv: list[str] | None = None) -> None:
    """The console-script entry point: runs the app and turns takedown's errors into one line and exit 2."""
    try:
        app(args=argv)
    except TakedownError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise SystemExit(2) from None

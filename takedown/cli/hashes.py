"""Hashes from the command line: ``hash`` (media to hash lists, locally) and ``banks`` (named hash lists)."""


from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from takedown.cli._common import (
    ConfigOption,
    console,
    err_console,
    open_existing_store,
    open_or_create_store,
    settings_from,
)
from takedown.errors import UsageError

if TYPE_CHECKING:
    from takedown.detect.hashing import HashRecord


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("hash")(hash_command)
    app.add_typer(banks_app, name="banks")


def hash_command(
    paths: Annotated[list[Path], typer.Argument(help="media files or folders (searched recursively)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="the JSONL file of hashes to write")],
    workers: Annotated[int, typer.Option("--workers", help="files hashed at once")] = 1,
) -> None:
    """Hash media locally (SHA-256, MD5, PDQ, vPDQ frames); only hashes are written, never the media."""
    from takedown.detect.hashing import hash_files, write_jsonl

    files = sorted({f for p in paths for f in ([p] if p.is_file() else [q for q in p.rglob("*") if q.is_file()])})
    if not files:
        raise UsageError("no files to hash")
    failed: list[HashRecord] = []
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("hashing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bars:
        task = bars.add_task("hash", total=len(files))

        def records() -> Iterator["HashRecord"]:
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


@banks_app.command("list")
def banks_list(config: ConfigOption = None) -> None:
    """List the banks with their kind, threshold and size."""
    with open_existing_store(settings_from(config)) as store:
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
    with open_or_create_store(settings_from(config)) as store:  # banks come before any case
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
    with open_existing_store(settings_from(config)) as store:
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
    """Export a bank as a hash list (pdq lines hold only PDQ hashes and their quality: no labels leave the agency;
    a bank's SHA-256 and MD5 hashes go only into csv or jsonl)."""
    from collections import Counter

    from takedown.detect.hashlists import write_hashlist
    from takedown.models import PDQ

    if format not in ("pdq", "csv", "jsonl"):
        raise UsageError(f"unknown format {format!r}; use pdq, csv or jsonl")
    left_out: Counter[str] = Counter()
    with open_existing_store(settings_from(config)) as store:
        entries = store.bank_entries(name)
        if format == "pdq":
            kept = []
            for entry in entries:
                if entry.hash.algorithm == PDQ:
                    kept.append(entry)
                else:
                    left_out[entry.hash.algorithm] += 1
            entries = iter(kept)
        count = write_hashlist(entries, path, format)  # type: ignore[arg-type]
    console.print(f"Wrote {count} hash(es) to {escape(str(path))}.")
    if left_out:
        what = ", ".join(f"{n} {algorithm}" for algorithm, n in sorted(left_out.items()))
        console.print(f"Left out {what}: a pdq list holds PDQ hashes only (--format csv keeps every hash).")



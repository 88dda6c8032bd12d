"""Set-up and tooling commands: ``init``, ``doctor``, ``plugins``, ``version``, ``sites check|try`` and
``bench detectors|synthetic``."""


from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from takedown._version import __version__
from takedown.cli._common import ConfigOption, console, err_console, parse_variables, settings_from
from takedown.errors import PluginLoadError, UsageError

if TYPE_CHECKING:
    from takedown.detect.base import Detector


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command()(init)
    app.command()(doctor)
    app.command()(plugins)
    app.command()(version)
    app.add_typer(sites_app, name="sites")
    app.add_typer(bench_app, name="bench")


def init(
    path: Annotated[Path, typer.Argument(help="where to write the settings file")] = Path("takedown.toml"),
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
) -> None:
    """Write a commented example settings file."""
    if path.exists() and not force:
        raise UsageError(f"{path} exists; use --force to overwrite it")
    from takedown.settings import example_toml

    path.write_text(example_toml(), encoding="utf-8")
    console.print(f"Wrote {escape(str(path))}. Edit \\[agency] before drafting real notices.")




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


def version() -> None:
    """Print takedown's version."""
    console.print(__version__)



sites_app = typer.Typer(help="Site files (TOML): check them, and try one against its live site.", no_args_is_help=True)


@sites_app.command("check")
def sites_check(
    files: Annotated[list[Path], typer.Argument(help="site TOML files")],
    var: Annotated[
        list[str] | None, typer.Option("--var", help="NAME=VALUE for {NAME} in the site files (repeatable)")
    ] = None,
) -> None:
    """Validate site files without fetching anything; print what each site would be searched and reported by."""
    from takedown.sites.declarative import read_spec

    variables = parse_variables(var)
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

    settings = settings_from(config)
    adapter = load_site(file, network=settings.network, variables=parse_variables(var), evidence=settings.evidence)

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



bench_app = typer.Typer(help="Benchmark detectors on labelled data: precision, recall, ROC/PR curves, latency.",
                        no_args_is_help=True)


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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

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




def doctor(
    config: ConfigOption = None,
    network: Annotated[
        bool, typer.Option("--network/--no-network", help="also try the SMTP server and the TSA")
    ] = True,
) -> None:
    """Check that this machine can run the pipeline: the store, site files, Chromium, fonts, extras, SMTP, TSA.

    Prints what was found and, for each problem, what to do; exits 1 if anything needed is missing.
    """
    from takedown.doctor import CheckStatus, run_checks

    settings = settings_from(config)
    checks = run_checks(settings, network=network)
    table = Table(title=f"takedown {__version__} doctor", box=box.SIMPLE_HEAD)
    for column in ("check", "status", "found", "fix"):
        table.add_column(column, overflow="fold")
    colours = {CheckStatus.OK: "green", CheckStatus.WARN: "yellow", CheckStatus.FAIL: "red"}
    for check in checks:
        table.add_row(escape(check.name), f"[{colours[check.status]}]{check.status.value}[/]", escape(check.detail),
                      escape(check.fix))
    console.print(table)
    failed = [c for c in checks if c.status is CheckStatus.FAIL]
    if failed:
        err_console.print(f"{len(failed)} problem(s) to fix: {', '.join(c.name for c in failed)}")
        raise typer.Exit(1)

"""The one composition root: an agency's whole pipeline, assembled from its settings.

``takedown demo``, ``takedown scan``, ``takedown monitor``, ``takedown capture``, the Python quickstart and the
benchmarks all build their workflow here, so every entry point judges with the same detectors and seals the same
evidence (live capture, every configured report, the time stamp) from the same settings::

    from takedown.pipeline import build_workflow
    workflow = build_workflow(settings, store)          # sites from [sites] dir, detectors from [detect], ...
    result = workflow.run_sync("case-1")

What comes from where:

- **sites**: the site files in ``[sites] dir`` (``{NAME}`` filled from ``[sites] vars``), or those passed in;
- **detectors**, in this order: the case's reference hashes (exact, PDQ, vPDQ, dHash) when ``[detect] hashes``;
  the store's active hash banks when ``[detect] banks`` and the store has any; the keyword detector when
  ``[detect] keywords``; then each plugin named in ``[detect] extra`` with its ``[detect.options.NAME]`` (the
  LLM judge, ``llm_judge``, with its backend: see ``judge_from_options``);
- **evidence**: a live ``Capturer`` (WARC, Chromium screenshot and MHTML) when ``[evidence] live``, else what the
  site adapter fetched; the writers named in ``[evidence] writers``; the TSA in ``[tsa] url``; the agency's
  signing key in ``[signing]``;
- **notices**: the locale packs with the plain-text template behind them, in ``[report] locales`` (or chosen per
  recipient), addressed over RDAP when ``[report] rdap``.

The workflow owns what is built here: ``Workflow.aclose()`` (which ``run_sync`` calls) closes the sites, the
capturer, the TSA client, the RDAP client and an LLM judge's HTTP client.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from takedown.detect.banks import BankKind
from takedown.detect.base import Detector
from takedown.detect.policy import DecisionPolicy
from takedown.errors import ConfigError, UsageError
from takedown.evidence.base import EvidenceWriter
from takedown.evidence.tsa import TsaClient
from takedown.report.base import NoticeTemplate
from takedown.settings import Settings
from takedown.sites.base import SiteAdapter
from takedown.store.base import CaseStore
from takedown.workflow import ProgressEvent, Workflow

if TYPE_CHECKING:
    from takedown.report.rerender import NoticeRenderer

__all__ = [
    "JUDGE",
    "build_detectors",
    "build_sites",
    "build_templates",
    "build_workflow",
    "build_writers",
    "judge_from_options",
    "notice_renderer",
]


def build_sites(settings: Settings, *, directory: Path | None = None,
                variables: dict[str, str] | None = None) -> list[SiteAdapter]:
    """Adapters for every site file in ``directory`` (default: ``[sites] dir``).

    ``variables`` add to (and override) ``[sites] vars``.

    Raises:
        ConfigError: no folder is configured or given, or a site file is invalid (all problems together).
    """
    from takedown.sites.declarative import load_sites

    folder = directory or settings.sites.dir
    if folder is None:
        raise ConfigError("no site files: set [sites] dir in the settings (a folder of site TOML files), "
                          "or pass --sites DIR")
    merged = {**settings.sites.vars, **(variables or {})}
    return list(load_sites(folder, network=settings.network, variables=merged, evidence=settings.evidence))


JUDGE = "llm_judge"
"""The plugin name of the multimodal LLM judge, which ``[detect] extra`` may name (see ``judge_from_options``)."""


def judge_from_options(options: Mapping[str, Any]) -> tuple[Detector, Callable[[], None]]:
    """The LLM judge ``[detect.options.llm_judge]`` describes, and how to close its backend.

    Keys: ``backend`` (``openai_compatible``, the default, or ``transformers``); the backend's own settings
    (``OpenAICompatibleConfig``: ``base_url``, ``model``, ``api_key``, ...; ``TransformersJudgeConfig``: ``model``,
    ``device``, ...); and ``judge``, a table of ``JudgeConfig`` fields (prompts, limits, the verdict mapping).

    Raises:
        UsageError: an unknown backend, or an option its config does not have.
    """
    from pydantic import ValidationError

    from takedown.detect.judge import JudgeConfig, LlmJudgeDetector

    fields = dict(options)
    backend_name = fields.pop("backend", "openai_compatible")
    judge_fields = fields.pop("judge", {})
    try:
        judge_config = JudgeConfig.model_validate(judge_fields)
        if backend_name == "openai_compatible":
            from takedown.detect.judge_openai import OpenAICompatibleBackend, OpenAICompatibleConfig

            backend = OpenAICompatibleBackend(OpenAICompatibleConfig.model_validate(fields))
            return LlmJudgeDetector(backend, judge_config), backend.close
        if backend_name == "transformers":
            from takedown.detect.judge_transformers import TransformersJudgeBackend, TransformersJudgeConfig

            local = TransformersJudgeBackend(TransformersJudgeConfig.model_validate(fields))
            return LlmJudgeDetector(local, judge_config), lambda: None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise UsageError(f"[detect.options.{JUDGE}]: {problems}") from exc
    raise UsageError(f"[detect.options.{JUDGE}] backend is openai_compatible or transformers, not {backend_name!r}")


def build_detectors(settings: Settings, store: CaseStore | None = None) -> list[Detector]:
    """The detectors ``[detect]`` asks for, in the order they run (see the module docstring).

    Hash banks are consulted whenever the store holds an active positive bank (and ``[detect] banks`` is on):
    a bank imported with ``takedown banks import`` matters without further configuration. An LLM judge built
    here holds an HTTP client: ``build_workflow`` closes it with the workflow; alone, close it with
    ``detector.backend.close()``.

    Raises:
        UnknownPluginError: an ``extra`` detector is not registered.
        UsageError: an extra detector's options are invalid.
        NotFoundError: a bank in ``bank_names`` is not in the store.
    """
    return _detectors_and_closers(settings, store)[0]


def _detectors_and_closers(
    settings: Settings, store: CaseStore | None
) -> tuple[list[Detector], list[Callable[[], None]]]:
    from takedown.detect.defaults import hash_detectors
    from takedown.detect.keywords import KeywordDetector

    config = settings.detect
    detectors: list[Detector] = []
    if config.hashes:
        detectors += hash_detectors()
    if config.banks and store is not None:
        names = list(config.bank_names) or None
        banks = [b for b in store.list_banks() if b.active and (names is None or b.name in names)]
        if names is not None:
            for name in names:
                store.get_bank(name)  # a named bank that does not exist is an error, not silence
        if any(b.kind is BankKind.POSITIVE for b in banks):
            from takedown.detect.bank_detector import HashBankDetector

            detectors.append(HashBankDetector.from_store(store, [b.name for b in banks]))
    if config.keywords:
        detectors.append(KeywordDetector())
    closers: list[Callable[[], None]] = []
    unnamed = sorted(set(config.options) - set(config.extra))
    if unnamed:
        raise UsageError(f"[detect.options] configures {', '.join(unnamed)}, which [detect] extra does not name")
    for name in config.extra:  # in the order named
        if name == JUDGE:
            judge, close = judge_from_options(config.options.get(JUDGE, {}))
            detectors.append(judge)
            closers.append(close)
        else:
            from takedown.detect.bench import build_detectors as by_name

            detectors += by_name([name], options={k: v for k, v in config.options.items() if k == name})
    return detectors, closers


def build_writers(settings: Settings) -> list[EvidenceWriter]:
    """The evidence writers ``[evidence] writers`` names, in order.

    The built-in report writers (``hwpx``, ``hwp``, ``pdf``) get the agency, the preview settings and the agency's
    signing key (the PDF is signed with it); any other registered writer is built without arguments.

    Raises:
        UnknownPluginError: a name is not a registered writer.
    """
    from takedown.evidence.json_writer import JsonWriter, RecipientManifestWriter

    writers: list[EvidenceWriter] = []
    for name in settings.evidence.writers:
        if name == "json":
            writers.append(JsonWriter())
        elif name == "recipient":
            writers.append(RecipientManifestWriter())
        elif name in ("hwpx", "hwp", "pdf"):
            from takedown.evidence.report_content import ReportWriterConfig

            config = ReportWriterConfig(agency=settings.agency, include_originals=settings.evidence.include_originals,
                                        signing=settings.signing)
            if name == "pdf":
                from takedown.evidence.pdf_writer import PdfWriter

                writers.append(PdfWriter(config))
            else:
                from takedown.evidence.hwpx_writer import HwpWriter, HwpxWriter

                writers.append(HwpxWriter(config) if name == "hwpx" else HwpWriter(config))
        else:
            from takedown.plugins import default_registry

            plugin = default_registry(entry_points=True).get("writer", name)
            writers.append(plugin())
    return writers


def notice_renderer(settings: Settings) -> NoticeRenderer:
    """What renders stored notices again at approval and sending: the notice templates and the agency's settings."""
    from takedown.report.rerender import NoticeRenderer

    return NoticeRenderer(build_templates(), settings.agency, settings.report.deadlines)


def build_templates() -> list[NoticeTemplate]:
    """The notice templates: the locale packs (seven languages), with the plain-text template behind them."""
    from takedown.report.locale_pack import LocalePackTemplate
    from takedown.report.plain import PlainTextTemplate

    return [LocalePackTemplate(), PlainTextTemplate()]


def build_workflow(
    settings: Settings,
    store: CaseStore,
    *,
    sites: Sequence[SiteAdapter] | None = None,
    sites_dir: Path | None = None,
    variables: dict[str, str] | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
    operator: str = "takedown",
    policy: DecisionPolicy | None = None,
    tsa: TsaClient | None = None,
) -> Workflow:
    """The agency's workflow over ``store``, assembled from ``settings`` (see the module docstring).

    Args:
        settings: the agency's settings.
        store: the case store.
        sites: site adapters to use instead of the site files (a library user's own adapters).
        sites_dir: a folder of site files instead of ``[sites] dir``; with neither, the workflow has no sites
            (it can still judge, evidence and draft what is in the store, or capture single pages).
        variables: values for ``{NAME}`` in the site files, over ``[sites] vars``.
        progress: called with each stage's progress.
        operator: who runs it, in the custody log.
        policy: the decision policy (default: ``DecisionPolicy()``, after each case's own rules).
        tsa: a time-stamping client to use instead of one for ``[tsa] url`` (the demo's local TSA).

    Raises:
        ConfigError: a site file or a setting is invalid.
        MissingDependencyError: a configured part needs an extra that is not installed.
    """
    # What holds no connection is built first, so an invalid setting leaves nothing open.
    detectors, closers = _detectors_and_closers(settings, store)
    writers = build_writers(settings)
    adapters: list[SiteAdapter]
    if sites is not None:
        adapters = list(sites)
    elif sites_dir is not None or settings.sites.dir is not None:
        adapters = build_sites(settings, directory=sites_dir, variables=variables)
    else:
        adapters = []
    capturer = None
    if settings.evidence.live:
        from takedown.evidence.capture import CaptureConfig, Capturer

        capturer = Capturer(CaptureConfig.from_settings(settings, operator=operator))
    from takedown.evidence.signing import AgencySigner

    signer = AgencySigner.from_settings(settings.signing)
    if tsa is None and settings.tsa.url:
        from takedown.evidence.tsa import TsaClient

        tsa = TsaClient(settings.tsa)
    rdap = None
    if settings.report.rdap:
        from takedown.report.rdap import RdapClient

        cache = Path(settings.storage.data_dir) / "cache"
        with contextlib.suppress(OSError):  # the bootstrap cache is an optimisation; without it RDAP still works
            cache.mkdir(parents=True, exist_ok=True)
        rdap = RdapClient(network=settings.network, cache_dir=cache)
    return Workflow(
        store, settings=settings, sites=adapters, detectors=detectors, writers=writers, templates=build_templates(),
        policy=policy or DecisionPolicy(),
        locales=list(settings.report.locales) or None, bilingual=settings.report.bilingual, rdap=rdap,
        capturer=capturer, tsa=tsa, signer=signer, progress=progress, operator=operator, closing=closers,
    )

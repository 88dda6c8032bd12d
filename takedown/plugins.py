"""The plugin registry: explicit registration first, then the ``takedown.plugins`` entry-point group.

A plugin is a class with a literal ``name: ClassVar[str]``. It is registered under one of the kinds below.
Third-party packages declare theirs as entry points named ``<kind>.<name>``::

    [project.entry-points."takedown.plugins"]
    "detector.my_classifier" = "my_package.detectors:MyClassifier"

``load_entry_points`` loads them all in one place and reports every failure together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import metadata
from typing import Literal, get_args

from takedown.errors import DuplicatePluginError, PluginError, PluginLoadError, UnknownPluginError, UsageError

__all__ = ["ENTRY_POINT_GROUP", "PluginKind", "PluginRegistry", "default_registry"]

ENTRY_POINT_GROUP = "takedown.plugins"
PluginKind = Literal["site", "detector", "writer", "template", "transport", "store"]
KINDS: tuple[str, ...] = get_args(PluginKind)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class PluginRegistry:
    """Plugins by kind and name. A name is unique within its kind."""

    def __init__(self) -> None:
        self._plugins: dict[str, dict[str, type]] = {kind: {} for kind in KINDS}

    def register(self, kind: PluginKind, plugin: type) -> type:
        """Register ``plugin`` (a class with a ``name`` class attribute) under ``kind``; return it.

        Raises:
            UsageError: ``kind`` is unknown or the plugin has no valid lower_snake_case ``name``.
            DuplicatePluginError: another plugin of that kind has the same name.
        """
        if kind not in self._plugins:
            raise UsageError(f"unknown plugin kind {kind!r}; kinds: {', '.join(KINDS)}")
        name = getattr(plugin, "name", None)
        if not isinstance(name, str) or not _NAME.match(name):
            raise UsageError(f"{plugin!r} needs a lower_snake_case class attribute 'name', got {name!r}")
        existing = self._plugins[kind].get(name)
        if existing is not None and existing is not plugin:
            raise DuplicatePluginError(kind, name)
        self._plugins[kind][name] = plugin
        return plugin

    def get(self, kind: PluginKind, name: str) -> type:
        """The plugin class registered as ``name``.

        Raises:
            UnknownPluginError: no such plugin; the error lists the names that exist.
        """
        try:
            return self._plugins[kind][name]
        except KeyError:
            raise UnknownPluginError(kind, name, self.names(kind)) from None

    def names(self, kind: PluginKind) -> list[str]:
        """The registered names of one kind, sorted."""
        return sorted(self._plugins.get(kind, {}))

    def load_entry_points(self, entry_points: Iterable[metadata.EntryPoint] | None = None) -> list[str]:
        """Load and register every plugin of the ``takedown.plugins`` group; return their ``kind.name`` keys.

        Every entry point is tried; those that fail are reported together at the end, and the ones that
        loaded stay registered.

        Raises:
            PluginLoadError: one or more entry points failed, each with the error it raised.
        """
        if entry_points is None:
            entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
        loaded: list[str] = []
        failures: dict[str, BaseException] = {}
        for ep in entry_points:
            kind, _, name = ep.name.partition(".")
            try:
                if kind not in KINDS or not name:
                    raise PluginError(f"entry point names are '<kind>.<name>' with a kind in {', '.join(KINDS)}")
                plugin = ep.load()
                if not isinstance(plugin, type):
                    raise PluginError(f"{ep.value} is not a class")
                if getattr(plugin, "name", None) != name:
                    raise PluginError(f"{ep.value}.name is {getattr(plugin, 'name', None)!r}, not {name!r}")
                self.register(kind, plugin)  # type: ignore[arg-type]  # kind checked against KINDS above
                loaded.append(ep.name)
            except Exception as exc:  # a broken third-party plugin must not hide the others' failures
                failures[ep.name] = exc
        if failures:
            raise PluginLoadError(failures)
        return loaded


def default_registry(*, entry_points: bool = False) -> PluginRegistry:
    """A registry holding takedown's built-in plugins (and, if asked, the installed entry points)."""
    from takedown.detect.defaults import builtin_detector_types
    from takedown.evidence.hwpx_writer import HwpWriter, HwpxWriter
    from takedown.evidence.json_writer import JsonWriter, RecipientManifestWriter
    from takedown.evidence.pdf_writer import PdfWriter
    from takedown.report.locale_pack import LocalePackTemplate
    from takedown.report.plain import PlainTextTemplate
    from takedown.report.smtp import SmtpTransport
    from takedown.report.transports import OutboxTransport
    from takedown.sites.browser import BrowserSite
    from takedown.sites.declarative import ConfiguredSite
    from takedown.sites.http import HttpSite
    from takedown.store.sqlite import SQLiteCaseStore

    registry = PluginRegistry()
    registry.register("site", HttpSite)
    registry.register("site", BrowserSite)
    registry.register("site", ConfiguredSite)
    # The detect stage lists its own (the benchmark builds detectors from it without this registry);
    # NudeNet (AGPL-3.0) is left out on purpose.
    for detector in builtin_detector_types():
        registry.register("detector", detector)
    for writer in (JsonWriter, RecipientManifestWriter, HwpxWriter, HwpWriter, PdfWriter):
        registry.register("writer", writer)
    registry.register("template", LocalePackTemplate)
    registry.register("template", PlainTextTemplate)
    registry.register("transport", OutboxTransport)
    registry.register("transport", SmtpTransport)
    registry.register("store", SQLiteCaseStore)
    if entry_points:
        registry.load_entry_points()
    return registry

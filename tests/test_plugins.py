from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path
from typing import ClassVar

import pytest

from takedown.errors import DuplicatePluginError, PluginLoadError, UnknownPluginError, UsageError
from takedown.plugins import PluginRegistry, default_registry
from takedown.testing import StaticDetector


class OtherStatic:
    name: ClassVar[str] = "static"


def test_register_get_and_list() -> None:
    registry = PluginRegistry()
    registry.register("detector", StaticDetector)
    registry.register("detector", StaticDetector)  # the same class again is harmless
    assert registry.get("detector", "static") is StaticDetector
    assert registry.names("detector") == ["static"]
    assert registry.names("site") == []


def test_duplicate_name_is_an_error() -> None:
    registry = PluginRegistry()
    registry.register("detector", StaticDetector)
    with pytest.raises(DuplicatePluginError, match="static"):
        registry.register("detector", OtherStatic)
    registry.register("writer", OtherStatic)  # names are unique per kind only


def test_unknown_name_lists_the_available_ones() -> None:
    registry = default_registry()
    with pytest.raises(UnknownPluginError) as info:
        registry.get("detector", "pdqq")
    available = info.value.available
    assert available == sorted(available)
    assert {"dhash", "exact_hash", "hash_bank", "pdq", "vpdq"} <= set(available)
    assert ", ".join(available) in str(info.value)


def test_bad_plugins_are_usage_errors() -> None:
    registry = PluginRegistry()

    class NoName:
        pass

    class BadName:
        name = "Bad Name"

    for plugin in (NoName, BadName):
        with pytest.raises(UsageError):
            registry.register("detector", plugin)
    with pytest.raises(UsageError, match="kind"):
        registry.register("gadget", StaticDetector)  # type: ignore[arg-type]


def _dist(tmp_path: Path, entries: dict[str, str]) -> None:
    """A real installed distribution (dist-info on sys.path) declaring takedown.plugins entry points."""
    pkg = tmp_path / "third_party_plugins.py"
    pkg.write_text(
        "from typing import ClassVar\n"
        "class Good:\n    name: ClassVar[str] = 'good'\n"
        "class Misnamed:\n    name: ClassVar[str] = 'other'\n"
        "not_a_class = 3\n"
    )
    info = tmp_path / "third_party_plugins-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: third-party-plugins\nVersion: 1.0\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entries.items())
    (info / "entry_points.txt").write_text(f"[takedown.plugins]\n{lines}\n")


def test_entry_points_load_and_every_failure_is_reported_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _dist(tmp_path, {
        "detector.good": "third_party_plugins:Good",
        "detector.misnamed": "third_party_plugins:Misnamed",
        "writer.missing": "third_party_plugins_gone:Nothing",
        "detector.not_a_class": "third_party_plugins:not_a_class",
        "gadget.good": "third_party_plugins:Good",
    })
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "third_party_plugins", raising=False)
    eps = [ep for ep in metadata.entry_points(group="takedown.plugins") if ep.dist and ep.dist.name ==
           "third-party-plugins"]
    assert len(eps) == 5
    registry = PluginRegistry()
    with pytest.raises(PluginLoadError) as info:
        registry.load_entry_points(eps)
    assert set(info.value.failures) == {"detector.misnamed", "writer.missing", "detector.not_a_class", "gadget.good"}
    assert "4 plugin(s) failed" in str(info.value)
    assert registry.names("detector") == ["good"], "the plugin that loaded stays registered"


def test_default_registry_has_the_builtins() -> None:
    registry = default_registry()
    assert registry.names("site") == ["browser", "configured", "http"]
    assert {"keyword", "llm_judge", "image_classifier", "audio_transcript"} <= set(registry.names("detector"))
    assert "nudenet" not in registry.names("detector"), "AGPL-3.0: opt-in only"
    assert registry.names("writer") == ["hwp", "hwpx", "json", "pdf", "recipient"]
    assert registry.names("template") == ["locale_pack", "plain_text"]
    assert registry.names("transport") == ["outbox", "smtp"]
    assert registry.names("store") == ["sqlite"]

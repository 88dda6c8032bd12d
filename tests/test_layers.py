"""The layering rule: no area of takedown imports a later one.

Data flows forward through the stages (DESIGN.md), and so do imports: the store may use the base modules, the
site adapters the store, the detectors the sites, and so on; only the composition layer (the workflow, the
pipeline, the CLI, the demo ...) sees everything. Every ``import`` and ``from ... import`` of ``takedown.*`` is
checked wherever it stands: at module level, inside a function, under ``if TYPE_CHECKING:``. A late import still
couples an earlier area to a later one; hiding it in a function only hides the cycle.

A package's ``__init__`` that Python runs on the way to a submodule is not counted: ``from takedown.models import
Case`` runs ``takedown/__init__.py``, which imports everything, but the dependency written down is on
``takedown.models``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "takedown"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Every top-level module not named below: models, errors, settings, files, legal, security_txt, _version ...
    ("base", ()),
    ("store", ("takedown.store",)),
    ("sites", ("takedown.sites",)),
    ("detect", ("takedown.detect",)),
    ("evidence", ("takedown.evidence",)),
    ("report", ("takedown.report", "takedown.locales")),
    # The package itself (``takedown/__init__.py``, the public surface) belongs here too.
    ("composition", (
        "takedown.__main__", "takedown.cases", "takedown.cli", "takedown.console", "takedown.demo", "takedown.doctor",
        "takedown.pipeline", "takedown.plugins", "takedown.testing", "takedown.workers", "takedown.workflow",
    )),
)
"""The areas in order, each with the modules (and everything under them) it holds: an area may import its own
modules and those of earlier areas, never a later one."""

KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {}
"""(file, imported module) pairs still waiting for a fix, each with why; an entry that no longer occurs fails."""


@dataclass(frozen=True)
class Import:
    """One import of a takedown module: where it stands and what it imports."""

    line: int
    target: str


@dataclass(frozen=True)
class Violation:
    """An import of a later area."""

    path: str
    line: int
    area: str
    target: str
    target_area: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} ({self.area}) imports {self.target} ({self.target_area})"


def _rank(area: str) -> int:
    return [name for name, _ in LAYERS].index(area)


def area_of(module: str) -> str:
    """The area a ``takedown`` module belongs to (the longest prefix in ``LAYERS``; else ``base``)."""
    if module == "takedown":
        return "composition"
    best, length = "base", 0
    for area, prefixes in LAYERS:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = area, len(prefix)
    return best


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def module_name(path: Path) -> str:
    """``takedown.sites.http`` for ``takedown/sites/http.py``; a package's ``__init__`` is the package."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def takedown_imports(source: str, module: str, *, is_package: bool = False) -> Iterator[Import]:
    """Every import of a ``takedown`` module in ``source`` (the text of ``module``), at any depth.

    ``from takedown.detect import banks`` imports ``takedown.detect.banks``; ``from takedown.detect import
    BankMatcher`` imports ``takedown.detect`` (the name is re-exported there). Relative imports are resolved.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                origin = ".".join([*parts, node.module] if node.module else parts)
            else:
                origin = node.module or ""
            targets = [f"{origin}.{a.name}" if _is_module(f"{origin}.{a.name}") else origin for a in node.names]
        else:
            continue
        for target in dict.fromkeys(targets):
            if target == "takedown" or target.startswith("takedown."):
                yield Import(node.lineno, target)


def violations(source: str, module: str, path: str, *, is_package: bool = False) -> list[Violation]:
    """The imports in ``source`` (the text of ``module``, at ``path``) of an area later than ``module``'s."""
    area = area_of(module)
    found = []
    for imported in takedown_imports(source, module, is_package=is_package):
        target_area = area_of(imported.target)
        if _rank(target_area) > _rank(area):
            found.append(Violation(path, imported.line, area, imported.target, target_area))
    return sorted(found, key=lambda v: (v.line, v.target))


def all_violations() -> list[Violation]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found += violations(path.read_text(encoding="utf-8"), module_name(path),
                            path.relative_to(PACKAGE.parent).as_posix(), is_package=path.name == "__init__.py")
    return found


def test_no_area_imports_a_later_one() -> None:
    found = [v for v in all_violations() if (v.path, v.target) not in KNOWN_VIOLATIONS]
    order = " < ".join(area for area, _ in LAYERS)
    assert not found, f"imports of a later area (order: {order}):\n" + "\n".join(f"  {v}" for v in found)


def test_known_violations_still_exist() -> None:
    current = {(v.path, v.target) for v in all_violations()}
    stale = sorted(set(KNOWN_VIOLATIONS) - current)
    assert not stale, f"fixed, so remove them from KNOWN_VIOLATIONS: {stale}"


def test_every_subpackage_is_placed() -> None:
    """A new sub-package must be given its place in ``LAYERS``: only plain top-level modules default to base."""
    named = {prefix for _, prefixes in LAYERS for prefix in prefixes}
    packages = {f"takedown.{p.parent.name}" for p in PACKAGE.glob("*/__init__.py")}
    assert packages - named == set(), f"add these sub-packages to LAYERS: {sorted(packages - named)}"


def test_areas() -> None:
    assert area_of("takedown") == "composition"
    assert area_of("takedown.models") == "base"
    assert area_of("takedown.security_txt") == "base"
    assert area_of("takedown.store.sqlite") == "store"
    assert area_of("takedown.report.security_txt") == "report"
    assert area_of("takedown.locales") == "report"
    assert area_of("takedown.cli.case") == "composition"
    assert area_of("takedown.workflow") == "composition"


SYNTHETIC = '''\
from __future__ import annotations

from typing import TYPE_CHECKING

from takedown.models import Case
from takedown.store.blobs import BlobStore
from takedown import errors, workflow
from takedown.detect.banks import HashBank

if TYPE_CHECKING:
    from ..report import draft


def late() -> None:
    import takedown.evidence.custody
    from . import sqlite


class Later:
    def method(self) -> None:
        from takedown.sites import http
'''


def test_the_check_flags_every_later_import_wherever_it_stands() -> None:
    found = violations(SYNTHETIC, "takedown.store.fake", "takedown/store/fake.py")
    assert [(v.line, v.target, v.target_area) for v in found] == [
        (7, "takedown.workflow", "composition"),
        (8, "takedown.detect.banks", "detect"),
        (11, "takedown.report.draft", "report"),
        (15, "takedown.evidence.custody", "evidence"),
        (21, "takedown.sites.http", "sites"),
    ]
    assert str(found[1]) == "takedown/store/fake.py:8 (store) imports takedown.detect.banks (detect)"


@pytest.mark.parametrize(
    ("source", "module", "targets"),
    [
        ("from takedown import models, Workflow\n", "takedown.files", ["takedown.models", "takedown"]),
        ("from .. import detect\n", "takedown.sites.http", ["takedown.detect"]),
        ("from ..detect.banks import HashBank\n", "takedown.sites.http", ["takedown.detect.banks"]),
        ("from .base import CaseStore\n", "takedown.store", ["takedown.store.base"]),
        ("import takedown.sites.http as h, os\n", "takedown.detect.pdq", ["takedown.sites.http"]),
        ("import numpy\nfrom pydantic import BaseModel\n", "takedown.models", []),
    ],
)
def test_imports_are_resolved(source: str, module: str, targets: list[str]) -> None:
    is_package = module == "takedown.store"
    assert [i.target for i in takedown_imports(source, module, is_package=is_package)] == targets


def test_an_earlier_area_is_allowed() -> None:
    source = "from takedown.models import Case\nfrom takedown.store.base import CaseStore\n"
    assert violations(source, "takedown.sites.fake", "takedown/sites/fake.py") == []

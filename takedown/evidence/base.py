"""The evidence writer extension point: one report file (JSON, HWPX, HWP, PDF, ...) from a sealed bundle."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

from takedown.models import Artifact, EvidenceBundle, Finding

__all__ = ["EvidenceWriter", "bundle_folder", "reference_id"]


@runtime_checkable
class EvidenceWriter(Protocol):
    """Writes one evidence report for a finding's bundle into the folder ``out``.

    The returned artifact's ``path`` is relative to ``root`` (the evidence root); the file must be written
    atomically, so a crash never leaves a half-written file that looks finished. The same input must give the
    same content.
    """

    name: ClassVar[str]
    media_type: ClassVar[str]

    def write(self, bundle: EvidenceBundle, finding: Finding, *, out: Path, root: Path) -> Artifact:
        """Write the report and return it as a sealed artifact.

        Raises:
            EvidenceError: the report could not be written.
        """
        ...


def reference_id(reference: str) -> str:
    """How reports name a reference item: a stable pseudonym, since the label (a file name, perhaps the victim's)
    must not travel with a report that is attached to deletion requests. ``manifest.json`` maps each back."""
    return "ref-" + hashlib.sha256(reference.encode("utf-8")).hexdigest()[:12]


def bundle_folder(root: Path, bundle: EvidenceBundle) -> Path:
    """The folder a bundle's files are written to, under the evidence root."""
    return root / bundle.case_id / bundle.id

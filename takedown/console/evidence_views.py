"""The console's evidence page: one sealed bundle's files with their hashes, and whether it still verifies.

Every file the bundle lists is shown with its role, size and SHA-256; only reports, manifests and seals can be
opened (``takedown.console.views.SERVED_ROLES``). ``verify_bundle`` checks the folder as ``takedown verify`` does
(files against the seal, the custody chain, the time stamp against ``[tsa]``'s certificate). Where the settings
name no trusted TSA, it can check integrity only, and the page says so.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from takedown.console.views import SERVED_ROLES
from takedown.settings import Settings
from takedown.store.base import CaseStore

__all__ = ["bundle_view"]


def bundle_view(store: CaseStore, settings: Settings, bundle_id: str) -> dict[str, Any]:
    """A bundle as an officer or auditor checks it.

    Raises:
        NotFoundError: no such bundle.
    """
    from takedown.evidence.base import bundle_folder
    from takedown.evidence.verify import verify_bundle

    bundle = store.get_bundle(bundle_id)
    folder = bundle_folder(settings.storage.evidence_root, bundle)
    anchored = settings.tsa.certificate is not None or settings.tsa.ca_file is not None
    signed = settings.signing.ca_file is not None
    # Without a trusted TSA or agency CA in the settings the page can check integrity only, and says so.
    report = verify_bundle(folder, certificate=settings.tsa.certificate, ca_file=settings.tsa.ca_file,
                           allow_unstamped=not anchored, agency_ca=settings.signing.ca_file, allow_unsigned=not signed)
    files = [{"name": PurePosixPath(a.path).name, "path": a.path, "role": a.role, "size": a.size,
              "sha256": a.sha256, "media_type": a.media_type, "served": a.role in SERVED_ROLES}
             for a in bundle.artifacts]
    return {"bundle": {"id": bundle.id, "case": bundle.case_id, "finding": bundle.finding_id,
                       "captured": bundle.captured_at.isoformat(timespec="seconds"),
                       "url": bundle.capture.get("url", ""), "final_url": bundle.capture.get("final_url", ""),
                       "server_ip": bundle.capture.get("server_ip", "")},
            "files": files, "verified": report.ok, "trusted_time": report.ok and not any(
                ("time stamp" in c.name or "time-stamp" in c.name) and not c.ok for c in report.checks),
            "trusted_signer": report.ok and not any(c.name == "agency signature" and not c.ok for c in report.checks),
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail, "level": c.level} for c in report.checks]}

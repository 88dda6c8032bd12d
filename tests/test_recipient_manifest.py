"""The copy of a bundle's manifest that deletion requests attach holds what the recipient needs and nothing internal."""

from __future__ import annotations

import json
from pathlib import Path

from takedown.evidence import JsonWriter, bundle_folder, capture_finding
from takedown.evidence.base import reference_id
from takedown.evidence.json_writer import RecipientManifestWriter
from takedown.models import DetectionLabel, MatchedReference, PageRecord, utcnow
from takedown.testing import memory_store, sample_finding, sample_media

LABEL = "kim-jiyoung-private-2023.mp4"  # a reference label that is a victim's file name


def test_the_recipient_copy_leaves_out_labels_keywords_detections_and_internal_ids(tmp_path: Path) -> None:
    with memory_store(blob_dir=tmp_path / "blobs") as store:
        picture = b"\x89PNG synthetic gradient" * 8
        html = b"<html><body><img src='/m/1.png'></body></html>"
        html_sha, _ = store.blobs.put(html), store.blobs.put(picture)
        finding = sample_finding()
        matched = MatchedReference(reference=LABEL, bank="case", algorithm="pdq", distance=12)
        detections = tuple(d.model_copy(update={"matched": matched, "label": DetectionLabel.MATCH})
                           for d in finding.detections)
        finding = finding.model_copy(update={
            "detections": detections, "media": (sample_media(picture),),
            "page": PageRecord(url=finding.candidate.url, final_url=finding.candidate.url, status=200,
                               html_sha256=html_sha, fetched_at=utcnow()),
        })
        root = tmp_path / "evidence"
        bundle = capture_finding(finding, blobs=store.blobs, root=root, writers=(), operator="Officer Kim")
        out = bundle_folder(root, bundle)
        internal = json.loads((root / JsonWriter().write(bundle, finding, out=out, root=root).path).read_text())
        artifact = RecipientManifestWriter().write(bundle, finding, out=out, root=root)
    text = (root / artifact.path).read_text(encoding="utf-8")
    shared = json.loads(text)
    assert artifact.role == "recipient_manifest" and artifact.path.endswith("/recipient.json")
    assert LABEL in json.dumps(internal), "the agency's own manifest keeps the label..."
    assert internal["reference_ids"] == {LABEL: reference_id(LABEL)}, "...and maps the reports' pseudonym to it"
    for secret in (LABEL, "sample", finding.id, finding.case_id, "Officer Kim", "detections", "decision"):
        assert secret not in text, secret
    assert shared["url"] == finding.candidate.url and shared["http_status"] in ("", "200")
    assert [m["sha256"] for m in shared["media"]] == [finding.media[0].sha256]
    names = {f["name"]: f["sha256"] for f in shared["files"]}
    assert {a.path.rsplit("/", 1)[-1] for a in bundle.artifacts if a.role in ("page_html", "media")} <= {
        n.rsplit("/", 1)[-1] for n in names}
    assert all(not n.startswith(("/", "case-")) for n in names), "paths inside the bundle only"

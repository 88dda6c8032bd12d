"""The PDF evidence report: ``report.pdf``, rendered from ``templates/report.html.j2`` and ``report.css`` by weasyprint.

The content is ``ReportContent``, the same the HWPX and HWP writers lay out. The template is rendered by jinja2
with autoescape on, because page titles, URLs and capture metadata come from hostile pages. weasyprint fetches
nothing: its URL fetcher serves only the report's own images, from the bytes ``build_report_content`` read and
checked against their SHA-256, and refuses every other URL.

The same input gives the same bytes: the PDF's creation and modification dates are the bundle's capture time,
its file identifier is derived from its content, and nothing reads the clock.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import jinja2

from takedown.errors import EvidenceError, MissingDependencyError
from takedown.evidence.report_content import ReportContent, ReportWriterConfig, content_for, write_report_file
from takedown.models import Artifact, EvidenceBundle, Finding

__all__ = ["PdfWriter", "render_pdf", "render_report_html"]

_FEATURE = "the PDF evidence report"
_IMAGE_SCHEME = "takedown-image"


def _import_weasyprint() -> Any:
    # weasyprint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES on import, which would make every later decode
    # of a truncated picture (a hash, a preview) silently succeed; put the flag back as it was.
    from PIL import ImageFile

    truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        import weasyprint
    except ImportError as exc:
        raise MissingDependencyError("weasyprint", "pdf", feature=_FEATURE) from exc
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated
    return weasyprint


def _template_text(name: str) -> str:
    return resources.files("takedown.evidence").joinpath("templates", name).read_text(encoding="utf-8")


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_text),
        autoescape=True,  # titles, URLs and metadata from hostile pages are text, never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )


def _image_uri(sha256: str) -> str:
    return f"{_IMAGE_SCHEME}:{sha256}"


def render_report_html(content: ReportContent) -> str:
    """The report as HTML (what weasyprint lays out); images are referenced as ``takedown-image:<sha256>``."""
    uris = {image.sha256: _image_uri(image.sha256) for image in content.images}
    return _environment().get_template("report.html.j2").render(content=content, image_uris=uris)


def _fetcher(weasyprint: Any, content: ReportContent) -> Any:
    """A URL fetcher that serves the report's verified images and refuses everything else."""
    served = {_image_uri(image.sha256): (image.data, image.media_type) for image in content.images}

    class ReportImages(weasyprint.urls.URLFetcher):  # type: ignore[misc]  # weasyprint is untyped
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url not in served:
                raise ValueError(f"the evidence report fetches nothing but its own images, not {url!r}")
            data, media_type = served[url]
            return weasyprint.urls.URLFetcherResponse(url, body=data, headers={"Content-Type": media_type})

    return ReportImages(allowed_protocols=[_IMAGE_SCHEME])


def render_pdf(content: ReportContent, *, plugin: str = "pdf", url: str | None = None) -> bytes:
    """The PDF bytes of the report; the same content gives the same bytes (on one installation of weasyprint).

    Raises:
        MissingDependencyError: weasyprint is not installed (``pip install 'takedown[pdf]'``).
        EvidenceError: weasyprint failed.
    """
    weasyprint = _import_weasyprint()
    html = render_report_html(content)
    try:
        document = weasyprint.HTML(string=html, base_url=f"{_IMAGE_SCHEME}:", url_fetcher=_fetcher(weasyprint, content))
        stylesheet = weasyprint.CSS(string=_template_text("report.css"))
        data: bytes = document.write_pdf(stylesheets=[stylesheet], pdf_identifier=True)
    except Exception as exc:  # weasyprint, pango and fontTools raise many types: translated at the boundary
        raise EvidenceError(f"weasyprint could not write the PDF report: {type(exc).__name__}: {exc}",
                            plugin=plugin, url=url) from exc
    return data


class PdfWriter:
    """Writes ``report.pdf``: the evidence report as an A4 PDF, the same content as the HWPX and HWP reports.

    Args:
        config: the agency, the language, whether to embed unblurred originals, the custody log's file name.

    Raises:
        MissingDependencyError: weasyprint is not installed (``pip install 'takedown[pdf]'``).
    """

    name: ClassVar[str] = "pdf"
    media_type: ClassVar[str] = "application/pdf"
    filename: ClassVar[str] = "report.pdf"

    def __init__(self, config: ReportWriterConfig) -> None:
        _import_weasyprint()
        self.config = config

    def write(self, bundle: EvidenceBundle, finding: Finding, *, out: Path, root: Path) -> Artifact:
        """Write ``out/report.pdf`` atomically and return it as an artifact of role ``report``.

        Custody events are read from ``out / config.custody_file`` if that file exists.

        Raises:
            EvidenceError: the report could not be built or written.
        """
        content = content_for(self.config, bundle, finding, out=out, root=root)
        data = render_pdf(content, plugin=self.name, url=finding.candidate.url)
        return write_report_file(data, out / self.filename, root=root, media_type=self.media_type,
                                 plugin=self.name, url=finding.candidate.url)

"""The PDF evidence report: ``report.pdf``, rendered from ``templates/report.html.j2`` and ``report.css`` by weasyprint.

The content is ``ReportContent``, the same the HWPX and HWP writers lay out. The template is rendered by jinja2
with autoescape on, because page titles, URLs and capture metadata come from hostile pages. weasyprint fetches
nothing: its URL fetcher serves only the report's own images, from the bytes ``build_report_content`` read and
checked against their SHA-256, and refuses every other URL.

The PDF is archival: PDF/A-3b (fonts embedded, an sRGB output intent, the PDF/A identification in its XMP
metadata), with the bundle's record (``evidence-bundle.json``: the capture record, every artifact's SHA-256, the
time stamps) attached as an associated file, so the machine data the pages leave out travels with them.

When the agency has a signing key (``[signing]``, passed as ``ReportWriterConfig.signing``), the PDF is signed
with it (PAdES, an incremental update by pyHanko: the PDF/A pages stay byte for byte as weasyprint wrote them).
Any PDF reader shows who signed it; ``pyhanko sign validate --trust agency-ca.pem report.pdf`` checks it.

Unsigned, the same input gives the same bytes: the PDF's creation and modification dates are the bundle's capture
time, its file identifier is derived from its content, and nothing reads the clock. A signature holds the time
of signing (and ECDSA signatures are randomised), so a signed report differs from run to run; its signed range
does not.
"""

from __future__ import annotations

import functools
import io
import sys
import warnings
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Final

import jinja2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.utils import CryptographyDeprecationWarning

from takedown._version import __version__
from takedown.errors import EvidenceError, MissingDependencyError
from takedown.evidence.report_content import ReportContent, ReportWriterConfig, content_for, write_report_file
from takedown.evidence.signing import AgencySigner
from takedown.models import Artifact, EvidenceBundle, Finding

__all__ = ["PDF_VARIANT", "RECORD_ATTACHMENT", "SIGNATURE_FIELD", "PdfWriter", "render_pdf", "render_report_html",
           "sign_pdf"]

_FEATURE = "the PDF evidence report"
_SIGNING_FEATURE = "signing the PDF evidence report"
_IMAGE_SCHEME = "takedown-image"

PDF_VARIANT: Final = "pdf/a-3b"
"""The PDF/A level of the report: PDF/A-3 (ISO 19005-3), conformance B; level 3 allows the attached record."""

RECORD_ATTACHMENT: Final = "evidence-bundle.json"
"""The name of the bundle's record attached to the PDF (an associated file, relationship ``Data``)."""

SIGNATURE_FIELD: Final = "AgencySignature"
"""The name of the signature field the agency's PAdES signature fills."""

_OUTPUT_INTENT = "takedown-srgb"  # not weasyprint's "srgb", which opens its ICC file and never closes it

_REASON = {"ko": "요청 기관의 증거 보고서 확인", "en": "The requesting agency attests this evidence report"}


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


@functools.cache
def _srgb_profile() -> bytes:
    """The sRGB ICC profile weasyprint ships (sRGB2014.icc), read and closed: the PDF/A output intent."""
    return resources.files("weasyprint.pdf").joinpath("sRGB2014.icc").read_bytes()


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
    return _environment().get_template("report.html.j2").render(content=content, image_uris=uris,
                                                               generator=f"takedown {__version__}")


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


def render_pdf(content: ReportContent, *, record: bytes | None = None, plugin: str = "pdf",
               url: str | None = None) -> bytes:
    """The PDF/A-3b bytes of the report; the same input gives the same bytes (on one installation of weasyprint).

    Args:
        content: what the report says.
        record: the bundle's record as JSON, attached as ``evidence-bundle.json`` (none when not given).
        plugin: the writer's name, for errors.
        url: the page the report is about, for errors.

    Raises:
        MissingDependencyError: weasyprint is not installed (``pip install 'takedown[pdf]'``).
        EvidenceError: weasyprint failed.
    """
    weasyprint = _import_weasyprint()
    html = render_report_html(content)
    try:
        attachments = [] if record is None else [weasyprint.Attachment(
            string=record, name=RECORD_ATTACHMENT, relationship="Data",
            description=f"takedown evidence bundle {content.bundle_id} (JSON)",
            created=content.captured_at, modified=content.captured_at,
        )]
        # The output intent's profile is handed over already read: given the name "srgb" weasyprint would open
        # its own copy of the file and leave it open (a ResourceWarning, an error under pytest).
        profiles = {_OUTPUT_INTENT: weasyprint.css.ColorProfile(io.BytesIO(_srgb_profile()), "sRGB2014.icc",
                                                                "relative-colorimetric", (["r"], ["g"], ["b"]))}
        document = weasyprint.HTML(string=html, base_url=f"{_IMAGE_SCHEME}:", url_fetcher=_fetcher(weasyprint, content))
        stylesheet = weasyprint.CSS(string=_template_text("report.css"))
        data: bytes = document.write_pdf(stylesheets=[stylesheet], pdf_identifier=True, pdf_variant=PDF_VARIANT,
                                         output_intent=_OUTPUT_INTENT, color_profiles=profiles,
                                         attachments=attachments)
    except Exception as exc:  # weasyprint, pango and fontTools raise many types: translated at the boundary
        raise EvidenceError(f"weasyprint could not write the PDF report: {type(exc).__name__}: {exc}",
                            plugin=plugin, url=url) from exc
    return data


def _import_pyhanko() -> None:
    if sys.modules.get("pyhanko.sign.validation") is not None:
        return  # imported already: no warning filters touched again, from the threads that write reports
    # pyHanko imports cryptography's DSA types, which cryptography now deprecates: a warning about pyHanko's imports
    # (never about a key takedown uses), and an error where warnings are errors. Imported once, here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        try:
            import pyhanko.sign.validation  # noqa: F401  # what signing imports, and what checking a report needs
        except ImportError as exc:
            raise MissingDependencyError("pyhanko", "pdf", feature=_SIGNING_FEATURE) from exc


def sign_pdf(data: bytes, signer: AgencySigner, *, reason: str | None = None, plugin: str = "pdf",
             url: str | None = None) -> bytes:
    """``data`` signed by the agency: a PAdES signature (``ETSI.CAdES.detached``) in an incremental update.

    The signature holds the signing certificate and its intermediates; the signing time is the clock's.

    Raises:
        MissingDependencyError: pyHanko is not installed (``pip install 'takedown[pdf]'``).
        EvidenceError: pyHanko could not sign the PDF.
    """
    _import_pyhanko()
    from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    try:
        key = load_private_key_from_pemder_data(signer.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), None)
        chain = list(load_certs_from_pemder_data(signer.chain_pem()))
        simple = signers.SimpleSigner(signing_cert=chain[0], signing_key=key,
                                      cert_registry=SimpleCertificateStore.from_certs(chain))  # type: ignore[no-untyped-call]
        metadata = signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD, name=signer.name, reason=reason, subfilter=fields.SigSeedSubFilter.PADES,
            # Ed25519 signs with SHA-512 in CMS (RFC 8419); ECDSA and RSA with SHA-256
            md_algorithm="sha512" if isinstance(signer.key, ed25519.Ed25519PrivateKey) else "sha256",
        )
        writer = IncrementalPdfFileWriter(io.BytesIO(data))
        # pyHanko names itself the producer in the XMP metadata, and PDF/A wants the info dictionary to say the same:
        # the signed revision's info starts without weasyprint's producer (the first revision keeps it).
        info = writer.trailer["/Info"]
        writer.set_info(generic.DictionaryObject({k: v for k, v in info.items() if k != "/Producer"}))  # type: ignore[no-untyped-call]
        signed = signers.sign_pdf(writer, metadata, signer=simple)
    except Exception as exc:  # pyHanko, asn1crypto and cryptography raise many types: translated at the boundary
        raise EvidenceError(f"pyHanko could not sign the PDF report: {type(exc).__name__}: {exc}", plugin=plugin,
                            url=url) from exc
    result: bytes = signed.getvalue()
    return result


class PdfWriter:
    """Writes ``report.pdf``: the evidence report as an A4 PDF, the same content as the HWPX and HWP reports.

    The PDF is PDF/A-3b with the bundle's record attached, and signed by the agency (PAdES) when
    ``config.signing`` names a key.

    Args:
        config: the agency, the language, whether to embed unblurred originals, the custody log's file name, and
            the agency's signing key and certificate.

    Raises:
        MissingDependencyError: weasyprint is not installed, or a key is set and pyHanko is not
            (``pip install 'takedown[pdf]'``).
        ConfigError: the signing key or certificate cannot be loaded.
    """

    name: ClassVar[str] = "pdf"
    media_type: ClassVar[str] = "application/pdf"
    filename: ClassVar[str] = "report.pdf"

    def __init__(self, config: ReportWriterConfig) -> None:
        _import_weasyprint()
        self.config = config
        self.signer = AgencySigner.from_settings(config.signing) if config.signing is not None else None
        if self.signer is not None:
            _import_pyhanko()

    def write(self, bundle: EvidenceBundle, finding: Finding, *, out: Path, root: Path) -> Artifact:
        """Write ``out/report.pdf`` atomically and return it as an artifact of role ``report``.

        Custody events are read from ``out / config.custody_file`` if that file exists.

        Raises:
            EvidenceError: the report could not be built or written.
        """
        content = content_for(self.config, bundle, finding, out=out, root=root)
        url = finding.candidate.url
        data = render_pdf(content, record=bundle.model_dump_json(indent=2).encode("utf-8"), plugin=self.name, url=url)
        if self.signer is not None:
            data = sign_pdf(data, self.signer, reason=_REASON.get(content.language, _REASON["en"]), plugin=self.name,
                            url=url)
        return write_report_file(data, out / self.filename, root=root, media_type=self.media_type,
                                 plugin=self.name, url=finding.candidate.url)

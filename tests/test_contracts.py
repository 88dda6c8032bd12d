"""Every fake and every built-in plugin passes the contract a third-party plugin author would subclass."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from takedown.demo.site import DemoSite
from takedown.detect.base import Detector
from takedown.detect.dhash import DHashDetector
from takedown.detect.exact import ExactHashDetector
from takedown.evidence.base import EvidenceWriter
from takedown.evidence.json_writer import JsonWriter, RecipientManifestWriter
from takedown.models import Page, SearchQuery
from takedown.report.base import NoticeTemplate, Transport
from takedown.report.plain import PlainTextTemplate
from takedown.report.transports import OutboxTransport
from takedown.settings import NetworkSettings
from takedown.sites.base import SiteAdapter
from takedown.sites.http import HttpSite, HttpSiteConfig
from takedown.testing import (
    CapturingTransport,
    DetectorContract,
    EvidenceWriterContract,
    MockSite,
    NoticeTemplateContract,
    RecordingWriter,
    SiteAdapterContract,
    StaticDetector,
    StaticTemplate,
    TransportContract,
)


class TestStaticDetector(DetectorContract):
    def make_detector(self) -> Detector:
        return StaticDetector()


class TestExactHashDetector(DetectorContract):
    def make_detector(self) -> Detector:
        return ExactHashDetector()


class TestDHashDetector(DetectorContract):
    def make_detector(self) -> Detector:
        return DHashDetector()


class TestRecordingWriter(EvidenceWriterContract):
    def make_writer(self) -> EvidenceWriter:
        return RecordingWriter()


class TestJsonWriter(EvidenceWriterContract):
    def make_writer(self) -> EvidenceWriter:
        return JsonWriter()


class TestRecipientManifestWriter(EvidenceWriterContract):
    def make_writer(self) -> EvidenceWriter:
        return RecipientManifestWriter()


class TestStaticTemplate(NoticeTemplateContract):
    def make_template(self) -> NoticeTemplate:
        return StaticTemplate(locales=["en", "ko"])


class TestPlainTextTemplate(NoticeTemplateContract):
    def make_template(self) -> NoticeTemplate:
        return PlainTextTemplate()


class TestCapturingTransport(TransportContract):
    def make_transport(self) -> Transport:
        return CapturingTransport()

    def delivered(self, transport: Transport) -> list[str] | None:
        assert isinstance(transport, CapturingTransport)
        return [m.message_id for m in transport.messages]


class TestOutboxTransport(TransportContract):
    def make_transport(self) -> Transport:
        return OutboxTransport(Path(tempfile.mkdtemp(prefix="outbox-")))

    def delivered(self, transport: Transport) -> list[str] | None:
        assert isinstance(transport, OutboxTransport)
        return [line.split(":", 1)[1].strip() for f in transport.folder.glob("*.eml")
                for line in f.read_text().splitlines() if line.startswith("Message-ID:")]


class TestMockSite(SiteAdapterContract):
    def make_site(self) -> SiteAdapter:
        page = Page(url="https://mock.example/post/1", final_url="https://mock.example/post/1", status=200,
                    title="sample post", text="sample text")
        return MockSite({page.url: page})

    def make_query(self) -> SearchQuery:
        return SearchQuery(case_id="case-sample", text="sample")


class TestHttpSiteOnTheDemoSite(SiteAdapterContract):
    @pytest.fixture(autouse=True)
    def _site(self, demo_site: DemoSite) -> None:
        self.demo = demo_site

    def make_site(self) -> SiteAdapter:
        return HttpSite(HttpSiteConfig(site="demo-sns.example", base_url=self.demo.base_url),
                        network=NetworkSettings(allow_loopback=True))

    def make_query(self) -> SearchQuery:
        return SearchQuery(case_id="case-demo", text="minji_cam", limit=4)

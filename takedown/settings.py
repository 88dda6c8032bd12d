"""Agency settings: who is asking, where data lives, and which SMTP and TSA endpoints to use.

One frozen model, read from ``takedown.toml`` and ``TAKEDOWN_<SECTION>__<FIELD>`` environment variables, and
passed to what needs it. There is no global configuration.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from takedown.allowed_hosts import AllowedHost
from takedown.errors import ConfigError

__all__ = [
    "AgencySettings",
    "ConsoleSettings",
    "DetectSettings",
    "EvidenceSettings",
    "NetworkSettings",
    "ReportSettings",
    "Settings",
    "SigningSettings",
    "SitesSettings",
    "SmtpSettings",
    "StorageSettings",
    "TsaSettings",
    "example_toml",
    "load_settings",
]

_Frozen = ConfigDict(frozen=True, extra="forbid", defer_build=True)
ENV_PREFIX = "TAKEDOWN_"
CONFIG_FILE = "takedown.toml"


def _split_list(value: object) -> object:
    """Environment variables hold strings: accept a JSON list or comma-separated values for list settings."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError as exc:
                raise ValueError(f"not a JSON list: {exc}") from exc
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def _json_table(value: object) -> object:
    """Environment variables hold strings: accept a JSON object for table settings."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ValueError(f"not a JSON object: {exc}") from exc
    return value


class AgencySettings(BaseModel):
    """Who is asking for the removal: it appears in every notice and evidence report."""

    model_config = _Frozen

    name: str = "Example Digital Sex Crime Victim Support Center"
    registration_number: str = Field(default="", description="the agency's designation or registration number")
    email: str = "takedown@agency.example"
    phone: str = ""
    address: str = ""
    signer: str = Field(default="Duty Officer", description="who signs notices")
    signer_title: str = "Deletion Support Officer"
    time_zone: str = "Asia/Seoul"
    jurisdiction: str = "KR"
    language: str = "ko"

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class StorageSettings(BaseModel):
    """Where the case store and the evidence files live."""

    model_config = _Frozen

    data_dir: Path = Path(".takedown")
    store: str | None = Field(default=None, description="a store URL (sqlite:///path); default: data_dir")
    evidence_dir: Path | None = Field(default=None, description="default: data_dir/evidence")

    @property
    def store_url(self) -> str:
        """The store URL, defaulting to a SQLite file in ``data_dir``."""
        return self.store or f"sqlite:///{self.data_dir / 'takedown.sqlite'}"

    @property
    def evidence_root(self) -> Path:
        """The folder evidence is written under."""
        return self.evidence_dir or self.data_dir / "evidence"


class SmtpSettings(BaseModel):
    """The SMTP server notices are sent through."""

    model_config = _Frozen

    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "takedown@agency.example"
    timeout_s: float = Field(default=30.0, gt=0)


class TsaSettings(BaseModel):
    """The RFC 3161 time-stamping authority evidence manifests are stamped by."""

    model_config = _Frozen

    url: str | None = None
    timeout_s: float = Field(default=30.0, gt=0)
    certificate: Path | None = Field(default=None, description="the TSA's certificate (PEM), to verify tokens")
    ca_file: Path | None = Field(default=None, description="CA certificates (PEM) the TSA certificate chains to")
    stamp_capture: bool = Field(
        default=True,
        description="also stamp the raw capture before the reports are written, so they cite a stamp (two stamps "
        "per bundle; false: one, over the final seal, for a TSA that charges per stamp)",
    )


class SigningSettings(BaseModel):
    """The agency's own signature: over each bundle's seal, its PDF reports and its web archive (WACZ).

    A time stamp proves *when* a bundle existed; this signature proves *who* sealed it, so re-sealing altered
    evidence needs the agency's private key. ``key`` and ``certificate`` sign; ``ca_file`` is what ``takedown
    verify`` trusts (the agency's CA, or its self-signed certificate): a bundle signed by any other key fails.
    """

    model_config = _Frozen

    key: Path | None = Field(default=None, description="the agency's private key (PEM; ECDSA, RSA or Ed25519)")
    certificate: Path | None = Field(
        default=None, description="the key's certificate (PEM), followed by any intermediate CA certificates"
    )
    ca_file: Path | None = Field(default=None, description="CA certificates (PEM) trusted to verify bundle signatures")
    passphrase_env: str | None = Field(
        default=None, description="the environment variable holding the key's passphrase, if it is encrypted"
    )


class EvidenceSettings(BaseModel):
    """How evidence is captured and shown to people."""

    model_config = _Frozen

    screenshot: bool = Field(default=True, description="capture a full-page screenshot and MHTML with Chromium")
    chromium: Path = Path("/usr/bin/chromium")
    chromedriver: Path = Path("/usr/bin/chromedriver")
    page_load_timeout_s: float = Field(default=30.0, gt=0)
    max_capture_bytes: int = Field(default=256 * 1024 * 1024, gt=0, description="the most one capture may store")
    include_originals: bool = Field(
        default=False, description="put unblurred media in human-facing reports (a court's request; recorded)"
    )
    preview_style: Literal["pixelate", "blur"] = "pixelate"
    live: bool = Field(
        default=True,
        description="capture each match live (raw HTTP in a WARC, Chromium screenshot and MHTML); false: seal what "
        "the site adapter fetched",
    )
    writers: tuple[str, ...] = Field(
        default=("json", "recipient", "hwpx", "hwp", "pdf"),
        description="evidence writers run for every bundle, by plugin name, in order ('takedown plugins' lists them)",
    )

    _lists = field_validator("writers", mode="before")(_split_list)


_PAGE_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "application/xml",
    "text/xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/json",
    "application/ld+json",
    "application/feed+json",
    "text/plain",
)


class NetworkSettings(BaseModel):
    """How takedown fetches pages: the guard, the limits, politeness towards each site, and retries.

    Every site adapter and the RDAP client read these. Lists can be given in the environment comma-separated
    (``TAKEDOWN_NETWORK__ALLOW_HOSTS=127.0.0.1:8080,10.0.0.0/8``) and tables as JSON
    (``TAKEDOWN_NETWORK__HEADERS='{"X-Agency": "KR-0001"}'``).
    """

    model_config = _Frozen

    user_agent: str = "takedown/0.1 (+https://github.com/takedown)"
    timeout_s: float = Field(
        default=20.0, gt=0, description="the most one request may take, body included (cuts off slow-drip servers)"
    )
    connect_timeout_s: float = Field(default=10.0, gt=0, description="the longest wait for a connection")
    read_timeout_s: float = Field(default=15.0, gt=0, description="the longest wait for the next bytes of a response")
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, gt=0, description="the most a page, feed or sitemap may hold, counted decoded"
    )
    max_media_bytes: int = Field(default=64 * 1024 * 1024, gt=0, description="the most one media item may hold")
    max_redirects: int = Field(default=10, ge=0, description="redirects followed per request")
    retries: int = Field(default=3, ge=0, description="retries after HTTP 429, 502, 503, 504 or a failed connect")
    backoff_s: float = Field(default=0.5, ge=0, description="first retry waits up to this; doubles each time")
    max_backoff_s: float = Field(default=30.0, ge=0, description="the longest backoff between two tries")
    max_retry_after_s: float = Field(
        default=60.0, ge=0, description="a server's Retry-After is honoured up to this many seconds"
    )
    per_host_concurrency: int = Field(default=2, ge=1, description="requests in flight at once to one host")
    per_host_rate: float = Field(
        default=4.0, ge=0, description="requests per second to one host; 0: no limit (loopback is never limited)"
    )
    per_host_burst: int = Field(default=8, ge=1, description="requests an idle host may get at once, then the rate")
    page_content_types: tuple[str, ...] = Field(
        default=_PAGE_TYPES, description="media types a page may have; 'type/*' matches a whole type"
    )
    allowed_schemes: tuple[str, ...] = Field(default=("http", "https"), description="URL schemes that may be fetched")
    allow_loopback: bool = Field(default=False, description="fetch 127.0.0.0/8 and ::1 (tests, the demo)")
    allow_private: bool = Field(default=False, description="fetch private and link-local addresses")
    allow_hosts: tuple[str, ...] = Field(
        default=(),
        description="hosts fetched whatever they resolve to: a name, an address or network (CIDR), with an optional"
        " :port, e.g. 'intranet.agency.example', '10.20.0.0/16', '127.0.0.1:8080'",
    )
    proxy: str | None = Field(default=None, description="one proxy URL all requests go through (http, https, socks5)")
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers sent to every site")
    cookies: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="cookies per host: {host: {name: value}}, sent to that exact host only"
    )

    _lists = field_validator("page_content_types", "allowed_schemes", "allow_hosts", mode="before")(_split_list)
    _tables = field_validator("headers", "cookies", mode="before")(_json_table)

    @field_validator("page_content_types", "allowed_schemes")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().lower() for v in value)

    @field_validator("allow_hosts")
    @classmethod
    def _valid_hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if value:
            for entry in value:
                AllowedHost.parse(entry)
        return value

    def __hash__(self) -> int:  # the tables are dicts; hash what they hold so Settings stays hashable
        return hash(self.model_dump_json())


class SitesSettings(BaseModel):
    """Where the agency's site files are: every command that scans or sends through web forms reads them."""

    model_config = _Frozen

    dir: Path | None = Field(default=None, description="a folder of site TOML files (see docs: Sites)")
    vars: dict[str, str] = Field(default_factory=dict, description="values for {NAME} in the site files")

    _tables = field_validator("vars", mode="before")(_json_table)

    def __hash__(self) -> int:
        return hash(self.model_dump_json())


class DetectSettings(BaseModel):
    """Which detectors judge every page (see docs: Detectors). The order is the order they run in."""

    model_config = _Frozen

    hashes: bool = Field(default=True, description="match the case's reference hashes: exact, PDQ, vPDQ, dHash")
    banks: bool = Field(default=True, description="match the store's active hash banks (when it has any)")
    bank_names: tuple[str, ...] = Field(default=(), description="only these banks (empty: every active bank)")
    keywords: bool = Field(default=True, description="the case's keywords, however disguised, in titles and text")
    extra: tuple[str, ...] = Field(
        default=(), description="more detector plugins by name, e.g. 'image_classifier' or 'llm_judge' (see docs)"
    )
    options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="the config of each extra detector: {name: {field: value}}"
    )

    _lists = field_validator("bank_names", "extra", mode="before")(_split_list)
    _tables = field_validator("options", mode="before")(_json_table)

    def __hash__(self) -> int:
        return hash(self.model_dump_json())


class ReportSettings(BaseModel):
    """How deletion requests are drafted."""

    model_config = _Frozen

    locales: tuple[str, ...] = Field(
        default=(), description="draft every notice in these languages; empty: the recipient's or the page's"
    )
    bilingual: bool = Field(default=True, description="with automatic languages, an English copy beside a local one")
    rdap: bool = Field(
        default=True, description="find site operators', hosts' and registrars' abuse contacts over RDAP"
    )
    group: bool = Field(
        default=True,
        description="one notice per recipient, language and material type listing every location of a case; "
                    "false: one notice per finding",
    )
    per_url: tuple[str, ...] = Field(
        default=(),
        description="recipients that get one notice per finding all the same: jurisdiction codes (JP), "
                    "addresses (abuse@host.example) or domains (host.example)",
    )

    deadline_hours: tuple[tuple[str, float], ...] = Field(
        default=(),
        description="hours after sending when a request's locations are checked again and a reminder is due, by "
                    "jurisdiction code, where the law says 'without delay' (KR) or 'timely' (EU) or the agency "
                    "wants another clock; a code not named keeps the registry's",
    )

    _lists = field_validator("locales", "per_url", mode="before")(_split_list)

    @field_validator("deadline_hours", mode="before")
    @classmethod
    def _hours_by_code(cls, value: object) -> object:
        """A table (``{ KR = 24 }``, or JSON in the environment) becomes sorted (CODE, hours) pairs: settings stay
        frozen and hashable."""
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        if isinstance(value, Mapping):
            pairs = [(str(code).strip().upper(), hours) for code, hours in value.items()]
            bad = [code for code, hours in pairs if not isinstance(hours, int | float) or not hours > 0]
            if bad:
                raise ValueError(f"deadline hours must be more than 0 (not for {', '.join(bad)})")
            return tuple(sorted(pairs))
        return value

    @property
    def deadlines(self) -> dict[str, float]:
        """``deadline_hours`` as a mapping from jurisdiction code to hours."""
        return dict(self.deadline_hours)


class ConsoleSettings(BaseModel):
    """The officer console's wellness and approval rules: the organisation's defaults (each officer may choose
    stricter ones for themselves on their account page)."""

    model_config = _Frozen

    unblur: bool = Field(
        default=False,
        description="officers may unblur a finding's picture for a few seconds (each time logged); off: only masked "
                    "previews are ever shown",
    )
    unblur_seconds: int = Field(default=10, ge=1, le=120, description="how long an unblurred picture stays shown")
    greyscale: bool = Field(default=True, description="unblurred pictures are shown in greyscale")
    daily_unblurs: int = Field(default=20, ge=0, description="unblurs per officer per day before a soft stop")
    daily_seconds: int = Field(default=300, ge=0, description="seconds of unblurred media per officer per day "
                                                              "before a soft stop")
    four_eyes: tuple[str, ...] = Field(
        default=(),
        description="requests that need a second, different officer's approval before sending: jurisdiction codes "
                    "(KR) or notice kinds (initial, reminder); '*' for every request",
    )

    _lists = field_validator("four_eyes", mode="before")(_split_list)


class Settings(BaseModel):
    """All of an agency's settings, frozen. Build with ``load_settings`` or directly."""

    model_config = _Frozen

    agency: AgencySettings = Field(default_factory=AgencySettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    tsa: TsaSettings = Field(default_factory=TsaSettings)
    signing: SigningSettings = Field(default_factory=SigningSettings)
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)
    sites: SitesSettings = Field(default_factory=SitesSettings)
    detect: DetectSettings = Field(default_factory=DetectSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)


def _env_overrides(env: Mapping[str, str]) -> dict[tuple[str, str], tuple[str, str]]:
    """``(section, field) -> (variable name, value)`` for every ``TAKEDOWN_<SECTION>__<FIELD>`` variable."""
    sections = set(Settings.model_fields)
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for key, value in env.items():
        if not key.startswith(ENV_PREFIX) or "__" not in key:
            continue
        section, _, field = key[len(ENV_PREFIX) :].lower().partition("__")
        if section not in sections:
            raise ConfigError(f"{key}: unknown settings section {section!r}; known: {', '.join(sorted(sections))}")
        out[(section, field)] = (key, value)
    return out


_FILE_PATHS = (("storage", "data_dir"), ("storage", "evidence_dir"), ("tsa", "certificate"), ("tsa", "ca_file"),
               ("signing", "key"), ("signing", "certificate"), ("signing", "ca_file"),
               ("sites", "dir"), ("evidence", "chromium"), ("evidence", "chromedriver"))
"""Settings that name a file or folder: a relative one in a settings file is read from that file's folder."""


def _anchor_paths(data: dict[str, Any], folder: Path) -> None:
    """Make the relative paths of a settings file's ``data`` relative to ``folder`` (in place)."""
    for section, field in _FILE_PATHS:
        table = data.get(section)
        value = table.get(field) if isinstance(table, dict) else None
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            table[field] = str(folder / value)  # type: ignore[index]  # a dict, checked above
    storage = data.get("storage")
    store = storage.get("store") if isinstance(storage, dict) else None
    if isinstance(store, str) and store.startswith("sqlite:///") and not store.startswith("sqlite:////"):
        storage["store"] = f"sqlite:///{folder / store.removeprefix('sqlite:///')}"  # type: ignore[index]


def load_settings(path: Path | str | None = None, *, env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from a TOML file and the environment (the environment wins).

    A relative path in the file (``[storage] data_dir``, ``[sites] dir``, ``[tsa] certificate`` ...) is read from
    the file's own folder, so a command finds the same store wherever it is run; one in the environment is read
    from the working folder.

    Args:
        path: the TOML file; default: ``$TAKEDOWN_CONFIG``, else ``./takedown.toml`` if it exists, else none.
        env: the environment to read (default: ``os.environ``).

    Raises:
        ConfigError: the file cannot be read or parsed, or a setting is invalid; the message names it.
    """
    env = os.environ if env is None else env
    if path is None:
        path = env.get(f"{ENV_PREFIX}CONFIG") or (CONFIG_FILE if Path(CONFIG_FILE).is_file() else None)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read settings file {path}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
        _anchor_paths(data, Path(path).resolve().parent)
    overrides = _env_overrides(env)
    for (section, field), (_, value) in overrides.items():
        current = data.setdefault(section, {})
        if not isinstance(current, dict):
            raise ConfigError(f"[{section}] in {path} must be a table")
        current[field] = value

    def where(loc: tuple[int | str, ...]) -> str:
        key = (str(loc[0]), str(loc[1])) if len(loc) >= 2 else None
        name = ".".join(str(p) for p in loc)
        if key in overrides:
            return f"{name} (from ${overrides[key][0]})"
        return f"{name} (in {path})" if path else name

    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{where(err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False))
        raise ConfigError(f"invalid settings: {problems}") from exc


def example_toml() -> str:
    """A commented ``takedown.toml`` with every setting at its default."""
    return '''\
# takedown settings. Every value here can also be set in the environment as
# TAKEDOWN_<SECTION>__<FIELD>, e.g. TAKEDOWN_SMTP__PASSWORD; the environment wins.

[agency]
# Who is asking for the removal: this appears in every notice and evidence report.
name = "Example Digital Sex Crime Victim Support Center"
registration_number = ""          # designation / registration number (required for KR notices)
email = "takedown@agency.example"
phone = ""
address = ""
signer = "Duty Officer"           # who signs notices
signer_title = "Deletion Support Officer"
time_zone = "Asia/Seoul"          # for dates in reports and notices (IANA name)
jurisdiction = "KR"               # the requester's default legal basis
language = "ko"                   # the agency's own language

[storage]
data_dir = ".takedown"            # the SQLite store and evidence; relative paths here are read from this file's folder
# store = "sqlite:///.takedown/takedown.sqlite"
# evidence_dir = ".takedown/evidence"

[smtp]
host = "localhost"
port = 587
security = "starttls"             # starttls, ssl or none
# username = ""
# password = ""                   # better: TAKEDOWN_SMTP__PASSWORD in the environment
sender = "takedown@agency.example"
timeout_s = 30

[tsa]
# url = "https://tsa.example/tsr"  # an RFC 3161 time-stamping authority
timeout_s = 30
# certificate = "tsa.pem"          # the TSA's certificate, to verify its tokens
# ca_file = "tsa-ca.pem"
stamp_capture = true              # two stamps per bundle: the raw capture (cited by the reports) and the final seal

[signing]
# The agency's signature over every sealed bundle, its PDF reports and its web archive; verify trusts ca_file.
# key = "agency.key"               # PEM private key (keep it readable by takedown only)
# certificate = "agency.pem"       # its certificate, then any intermediates
# ca_file = "agency-ca.pem"        # the CA that verify trusts for bundle signatures
# passphrase_env = "TAKEDOWN_SIGNING_PASSPHRASE"

[evidence]
screenshot = true                 # full-page screenshot and MHTML with headless Chromium
chromium = "/usr/bin/chromium"
chromedriver = "/usr/bin/chromedriver"
page_load_timeout_s = 30
max_capture_bytes = 268435456
include_originals = false         # unblurred media in reports only when a court asks; the choice is logged
preview_style = "pixelate"        # or "blur"
live = true                       # capture each match live (WARC, screenshot); false: seal what was fetched
writers = ["json", "recipient", "hwpx", "hwp", "pdf"]  # evidence reports written for every bundle, in order

[sites]
# dir = "sites"                   # a folder of site TOML files: what scan, monitor and send --sites read
# vars = { base_url = "https://forum.example" }   # values for {NAME} in the site files

[detect]
hashes = true                     # the case's reference hashes (exact, PDQ, vPDQ, dHash)
banks = true                      # the store's active hash banks (takedown banks ...)
bank_names = []                   # only these banks; empty: every active one
keywords = true                   # the case's keywords, however disguised
extra = []                        # more detectors by plugin name, e.g. ["image_classifier", "llm_judge"]
# [detect.options.image_classifier]   # each extra detector's config
# model = "/models/nsfw-vit"          # a local model folder (loaded offline)
# [detect.options.llm_judge]          # the multimodal LLM judge: its backend, then [...llm_judge.judge] options
# backend = "openai_compatible"       # or "transformers" (a local model folder)
# base_url = "http://127.0.0.1:8000/v1"
# model = "Qwen/Qwen2.5-VL-7B-Instruct"

[report]
locales = []                      # empty: the recipient's country or the page's language, English beside it
bilingual = true
rdap = true                       # abuse contacts of the site's operator, host and registrar over RDAP
# deadline_hours = { KR = 24, EU = 72 }   # when a request is re-checked where the law says "without delay"/"timely"

[console]
# The officer console: the organisation's defaults; each officer may choose stricter ones on their account page.
unblur = false                    # officers may unblur a finding's picture for a few seconds (each time logged)
unblur_seconds = 10               # how long an unblurred picture stays shown
greyscale = true                  # unblurred pictures in greyscale
daily_unblurs = 20                # per officer per day, then a soft stop (a supervisor sees the team's exposure)
daily_seconds = 300
four_eyes = []                    # a second officer approves too: jurisdictions ("KR"), kinds ("reminder") or "*"

[network]
user_agent = "takedown/0.1 (+https://github.com/takedown)"
timeout_s = 20                    # the most one request may take, body included
connect_timeout_s = 10
read_timeout_s = 15               # the longest wait for the next bytes
max_body_bytes = 10485760         # pages, feeds and sitemaps, counted after decompression
max_media_bytes = 67108864        # one image or video
max_redirects = 10
retries = 3                       # after HTTP 429/502/503/504 or a failed connect, with jittered backoff
backoff_s = 0.5
max_backoff_s = 30
max_retry_after_s = 60            # a server's Retry-After is honoured up to this
per_host_concurrency = 2          # politeness towards each site
per_host_rate = 4                 # requests per second per host (0: no limit; loopback never is)
per_host_burst = 8
page_content_types = ["text/html", "application/xhtml+xml", "application/xml", "text/xml", "application/rss+xml",
    "application/atom+xml", "application/json", "application/ld+json", "application/feed+json", "text/plain"]
allowed_schemes = ["http", "https"]
allow_loopback = false            # only tests and the demo fetch 127.0.0.1
allow_private = false
allow_hosts = []                  # e.g. ["intranet.agency.example", "10.20.0.0/16", "127.0.0.1:8080"]
# proxy = "http://proxy.agency.example:3128"
# headers = { "X-Agency" = "KR-0001" }

# [network.cookies."forum.example"]   # cookies sent to that host only (e.g. a logged-in session)
# session = "..."
'''

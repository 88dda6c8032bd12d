"""Every error takedown raises, in one tree.

```
TakedownError
├── UsageError                 the caller asked for something that cannot be done as asked
│   ├── UnknownPluginError     a plugin name that is not registered (lists the names that are)
│   ├── ConfigError            takedown.toml or the environment holds an invalid setting
│   └── DatasetError           a benchmark dataset or its manifest is invalid (.path, .line)
├── MissingDependencyError     an optional extra is not installed (also an ImportError)
├── InvalidAddressError        an email address takedown will not draft to (also a ValueError)
├── PluginError                a plugin could not be registered or loaded
│   ├── DuplicatePluginError   two plugins of one kind share a name
│   └── PluginLoadError        entry points that failed to load, all of them together
├── InvalidTransitionError     a finding or notice was asked to move to a state it cannot reach
├── AuthenticationError        a login or session that does not hold (one message, whatever the reason)
├── PermissionDeniedError      an authenticated user without the role an action needs
├── StoreError                 the case store cannot be used
│   ├── StoreVersionError      the store was written by a newer takedown
│   ├── StoreCorruptError      the store file is not a takedown store (or is damaged)
│   └── NotFoundError          no record with that id
├── SiteError                  a site adapter could not search or fetch (.url, .plugin)
│   ├── FetchBlockedError      the fetch guard refused an address or scheme
│   └── MalformedContentError  a feed, sitemap or streaming manifest could not be parsed (.url)
├── DetectionError             a detector could not judge an item (.plugin)
├── EvidenceError              evidence could not be captured or written (.plugin)
├── ReportError                a notice could not be drafted (.plugin)
│   └── IncompleteNoticeError  a notice lacks fields its jurisdiction requires (.missing); it cannot be approved
└── DeliveryError              a notice could not be sent (.plugin)
    ├── NotApprovedError       a notice without a recorded human approval was asked to be sent
    └── DeliveryStateUnknownError  the connection failed after the message was handed over: it may have left
```

Errors from third-party libraries (httpx, Pillow, PyAV, sqlite3, ...) are translated into these at the
boundary with ``raise ... from exc``, so callers catch one family and keep the original as ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "DatasetError",
    "DeliveryError",
    "DeliveryStateUnknownError",
    "DetectionError",
    "DuplicatePluginError",
    "EvidenceError",
    "FetchBlockedError",
    "IncompleteNoticeError",
    "InvalidAddressError",
    "InvalidTransitionError",
    "MalformedContentError",
    "MissingDependencyError",
    "NotApprovedError",
    "NotFoundError",
    "PermissionDeniedError",
    "PluginError",
    "PluginLoadError",
    "ReportError",
    "SiteError",
    "StoreCorruptError",
    "StoreError",
    "StoreVersionError",
    "TakedownError",
    "UnknownPluginError",
    "UsageError",
]


class TakedownError(Exception):
    """The root of every error takedown raises on purpose."""


class UsageError(TakedownError):
    """The caller asked for something that cannot be done as asked."""


class UnknownPluginError(UsageError):
    """A plugin name that is not registered for its kind."""

    def __init__(self, kind: str, name: str, available: Sequence[str]) -> None:
        self.kind = kind
        self.name = name
        self.available = sorted(available)
        names = ", ".join(self.available) or "(none)"
        super().__init__(f"no {kind} plugin named {name!r}; available: {names}")


class ConfigError(UsageError):
    """A setting in takedown.toml or the environment is invalid."""


class DatasetError(UsageError):
    """A benchmark dataset is invalid: a bad manifest row, a missing file, an unknown label.

    ``path`` is the file at fault (the manifest, or the folder) and ``line`` its 1-based line, where there is one.
    """

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path} line {line}" if path and line else path or ""
        super().__init__(f"{where}: {message}" if where else message)


class MissingDependencyError(TakedownError, ImportError):
    """An optional dependency is missing; the message names the extra that installs it."""

    def __init__(self, package: str, extra: str, *, feature: str = "") -> None:
        self.package = package
        self.extra = extra
        what = f"{feature} needs " if feature else ""
        super().__init__(
            f"{what}the optional package {package!r}, which is not installed; "
            f"install it with: pip install 'takedown[{extra}]'"
        )


class InvalidAddressError(TakedownError, ValueError):
    """An email address that ``takedown.addresses.check_email`` refuses; the message says why.

    A ``ValueError`` too, so a pydantic validator that raises it reports the field it was checking.
    """


class PluginError(TakedownError):
    """A plugin could not be registered or loaded."""


class DuplicatePluginError(PluginError):
    """Two plugins of one kind were registered under one name."""

    def __init__(self, kind: str, name: str) -> None:
        self.kind = kind
        self.name = name
        super().__init__(f"a {kind} plugin named {name!r} is already registered")


class PluginLoadError(PluginError):
    """One or more entry points failed to load; ``failures`` maps entry point to the error it raised."""

    def __init__(self, failures: dict[str, BaseException]) -> None:
        self.failures = dict(failures)
        lines = [f"  {name}: {type(err).__name__}: {err}" for name, err in sorted(self.failures.items())]
        super().__init__(f"{len(self.failures)} plugin(s) failed to load:\n" + "\n".join(lines))


class InvalidTransitionError(TakedownError):
    """A state machine was asked to make a move it does not allow."""

    def __init__(self, what: str, current: str, target: str, allowed: Sequence[str]) -> None:
        self.current = current
        self.target = target
        self.allowed = list(allowed)
        options = ", ".join(self.allowed) or "nothing (final state)"
        super().__init__(f"{what} cannot go from {current!r} to {target!r}; from {current!r} it may go to {options}")


class AuthenticationError(TakedownError):
    """A login or a session that does not hold: a wrong name or password, a locked or disabled account, an
    unknown, expired or ended session. The message is the same whatever the reason, so it tells an attacker
    nothing; the account's record and the audit log say which."""


class PermissionDeniedError(TakedownError):
    """An authenticated user asked for an action their roles do not allow."""


class StoreError(TakedownError):
    """The case store cannot be used."""


class StoreVersionError(StoreError):
    """The store's schema is newer than this version of takedown understands."""


class StoreCorruptError(StoreError):
    """The store file is damaged or is not a takedown store; it is left untouched."""


class NotFoundError(StoreError, KeyError):
    """No record with the requested id exists."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable.
        return str(self.args[0]) if self.args else ""


class _PluginContextError(TakedownError):
    def __init__(self, message: str, *, plugin: str | None = None, url: str | None = None) -> None:
        self.plugin = plugin
        self.url = url
        context = ", ".join(f"{k}={v}" for k, v in (("plugin", plugin), ("url", url)) if v)
        super().__init__(f"{message} ({context})" if context else message)


class SiteError(_PluginContextError):
    """A site adapter could not search or fetch."""


class FetchBlockedError(SiteError):
    """The fetch guard refused an address or a scheme."""


class MalformedContentError(SiteError):
    """A feed, sitemap or streaming manifest (HLS, DASH) is not what it claims to be and could not be parsed."""


class DetectionError(_PluginContextError):
    """A detector could not judge an item."""


class EvidenceError(_PluginContextError):
    """Evidence could not be captured, sealed or written."""


class ReportError(_PluginContextError):
    """A notice could not be drafted."""


class IncompleteNoticeError(ReportError):
    """A notice lacks fields its jurisdiction requires; it cannot be approved until they are filled in."""

    def __init__(self, notice_id: str, jurisdiction: str, missing: Sequence[str]) -> None:
        self.notice_id = notice_id
        self.missing = list(missing)
        super().__init__(
            f"notice {notice_id} cannot be approved: {jurisdiction} requires {', '.join(self.missing)}, "
            "which the notice does not give"
        )


class DeliveryError(_PluginContextError):
    """A notice could not be sent."""


class DeliveryStateUnknownError(DeliveryError):
    """The connection failed after the message data was handed over and before the server answered.

    The server may or may not have queued the message; sending it again could deliver it twice. Nothing is
    retried: the send intent stays recorded and an officer checks the server's log (``confirm_sent``).
    """

    unknown: ClassVar[bool] = True


class NotApprovedError(DeliveryError):
    """A notice was asked to be sent without a recorded human approval."""

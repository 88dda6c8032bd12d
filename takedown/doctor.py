"""``takedown doctor``: is this machine ready to run the agency's pipeline, and if not, what to do about it.

Each check returns a ``Check`` with a status (``ok``, ``warn`` or ``fail``), what was found, and the fix. Checks
never change anything and never send anything: the SMTP check opens a connection and says EHLO, the TSA check
asks for nothing to be stamped.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from takedown.errors import TakedownError
from takedown.settings import Settings

__all__ = ["Check", "CheckStatus", "run_checks"]


class CheckStatus(StrEnum):
    """How a check went."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


class Check(BaseModel):
    """One check: what, how it went, what was found, and how to fix it."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str
    status: CheckStatus
    detail: str
    fix: str = ""


def _version_of(binary: Path) -> str | None:
    try:
        done = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _chromium(settings: Settings) -> list[Check]:
    needed = settings.evidence.live and settings.evidence.screenshot
    missing = CheckStatus.FAIL if needed else CheckStatus.WARN
    fix = "apt-get install chromium chromium-driver (or set [evidence] chromium / chromedriver to their paths)"
    checks = []
    for name, path in (("chromium", settings.evidence.chromium), ("chromedriver", settings.evidence.chromedriver)):
        found = _version_of(path) if path.is_file() else None
        if found:
            checks.append(Check(name=name, status=CheckStatus.OK, detail=f"{path}: {found}"))
        else:
            checks.append(Check(name=name, status=missing, detail=f"{path} is missing or does not run", fix=fix))
    if importlib.util.find_spec("selenium") is None:
        checks.append(Check(name="selenium", status=missing, detail="the browser extra is not installed",
                            fix="pip install 'takedown[browser]'"))
    return checks


def _fonts() -> Check:
    fix = "apt-get install fonts-noto-cjk (Korean, Japanese and Chinese text in screenshots and PDF reports)"
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return Check(name="CJK fonts", status=CheckStatus.WARN, detail="fc-list not found; fonts not checked",
                     fix="apt-get install fontconfig " + "fonts-noto-cjk")
    try:
        done = subprocess.run([fc_list, ":lang=ko", "family"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(name="CJK fonts", status=CheckStatus.WARN, detail=f"fc-list failed: {exc}", fix=fix)
    families = sorted({line.split(",")[0].strip() for line in done.stdout.splitlines() if line.strip()})
    if not families:
        return Check(name="CJK fonts", status=CheckStatus.FAIL, detail="no font covers Korean", fix=fix)
    return Check(name="CJK fonts", status=CheckStatus.OK, detail=", ".join(families[:3]))


def _extras(settings: Settings) -> list[Check]:
    wanted = {"hwpx": ("hwpx", "hwp"), "hwp": ("hwpx", "hwp"), "pdf": ("weasyprint", "pdf")}
    checks = []
    for writer in settings.evidence.writers:
        if writer in wanted:
            module, extra = wanted[writer]
            ok = importlib.util.find_spec(module) is not None
            checks.append(Check(
                name=f"{writer} writer", status=CheckStatus.OK if ok else CheckStatus.FAIL,
                detail="installed" if ok else f"[evidence] writers names {writer}, and {module} is not installed",
                fix="" if ok else f"pip install 'takedown[{extra}]', or remove {writer!r} from [evidence] writers",
            ))
    if settings.evidence.live:
        ok = importlib.util.find_spec("warcio") is not None
        checks.append(Check(name="WARC capture", status=CheckStatus.OK if ok else CheckStatus.FAIL,
                            detail="installed" if ok else "live capture writes WARC files; warcio is not installed",
                            fix="" if ok else "pip install 'takedown[warc]'"))
    for module, extra, what in (("av", "video", "video hashing (vPDQ)"),):
        ok = importlib.util.find_spec(module) is not None
        checks.append(Check(name=what, status=CheckStatus.OK if ok else CheckStatus.WARN,
                            detail="installed" if ok else f"{module} is not installed: videos are not hashed",
                            fix="" if ok else f"pip install 'takedown[{extra}]'"))
    return checks


def _store(settings: Settings) -> Check:
    from takedown.store import open_store

    url = settings.storage.store_url
    path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
    if path is not None and not path.is_file():
        return Check(name="case store", status=CheckStatus.WARN, detail=f"no store yet at {path}",
                     fix="takedown case create ... creates it (or set [storage] data_dir)")
    try:
        store = open_store(url)
    except TakedownError as exc:
        return Check(name="case store", status=CheckStatus.FAIL, detail=str(exc),
                     fix="check [storage] store / data_dir; a newer store needs a newer takedown")
    try:
        cases = len(store.list_cases())
    finally:
        store.close()
    return Check(name="case store", status=CheckStatus.OK, detail=f"{url}: {cases} case(s)")


def _connect(host: str, port: int, timeout: float) -> str | None:
    """``None`` when a TCP connection opens, else why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


def _smtp(settings: Settings, timeout: float) -> Check:
    import smtplib

    smtp = settings.smtp
    where = f"{smtp.host}:{smtp.port}"
    fix = "check [smtp] host, port and security, and that this machine may reach the server"
    try:
        client: smtplib.SMTP
        if smtp.security == "ssl":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with client:
            code, _ = client.ehlo()
            tls = client.has_extn("starttls")
    except (OSError, smtplib.SMTPException) as exc:
        return Check(name="SMTP", status=CheckStatus.FAIL, detail=f"{where}: {type(exc).__name__}: {exc}", fix=fix)
    if smtp.security == "starttls" and not tls:
        return Check(name="SMTP", status=CheckStatus.FAIL, detail=f"{where} does not offer STARTTLS",
                     fix="set [smtp] security = \"ssl\" or \"none\" as the server requires")
    return Check(name="SMTP", status=CheckStatus.OK, detail=f"{where} answered EHLO ({code})")


def _tsa(settings: Settings, timeout: float) -> Check:
    url = settings.tsa.url
    if not url:
        return Check(name="TSA", status=CheckStatus.WARN, detail="no [tsa] url: bundles are sealed without a trusted "
                     "time stamp", fix="set [tsa] url to an RFC 3161 time-stamping authority")
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    problem = _connect(parts.hostname or "", port, timeout)
    if problem:
        return Check(name="TSA", status=CheckStatus.FAIL, detail=f"{url}: {problem}",
                     fix="check [tsa] url and that this machine may reach it")
    trust = "" if settings.tsa.certificate else "; no [tsa] certificate, so verify cannot check its tokens"
    return Check(name="TSA", status=CheckStatus.OK if not trust else CheckStatus.WARN,
                 detail=f"{url} is reachable{trust}",
                 fix="" if not trust else "set [tsa] certificate (and ca_file) to the TSA's PEM files")


def _sites(settings: Settings) -> Check:
    folder = settings.sites.dir
    if folder is None:
        return Check(name="site files", status=CheckStatus.WARN, detail="no [sites] dir: scan and monitor need --sites",
                     fix="set [sites] dir to a folder of site TOML files (see docs: Sites)")
    from takedown.sites.declarative import read_spec

    files = sorted(Path(folder).glob("*.toml")) if Path(folder).is_dir() else []
    if not files:
        return Check(name="site files", status=CheckStatus.FAIL, detail=f"{folder} holds no site files",
                     fix="put site TOML files there, or fix [sites] dir")
    problems = []
    for path in files:
        try:
            read_spec(path, variables=settings.sites.vars)
        except TakedownError as exc:
            problems.append(str(exc))
    if problems:
        return Check(name="site files", status=CheckStatus.FAIL, detail="; ".join(problems),
                     fix="takedown sites check FILE shows each problem")
    return Check(name="site files", status=CheckStatus.OK, detail=f"{len(files)} file(s) in {folder}")


def run_checks(settings: Settings, *, network: bool = True, timeout: float = 5.0) -> list[Check]:
    """Every check, in the order an agency sets things up.

    Args:
        settings: the agency's settings.
        network: also try the SMTP server and the TSA (off: only what is on this machine).
        timeout: seconds each network check may take.
    """
    steps: list[Callable[[], Check | list[Check]]] = [
        lambda: _store(settings), lambda: _sites(settings), lambda: _chromium(settings), _fonts,
        lambda: _extras(settings),
    ]
    if network:
        steps += [lambda: _smtp(settings, timeout), lambda: _tsa(settings, timeout)]
    checks: list[Check] = []
    for step in steps:
        found = step()
        checks += found if isinstance(found, list) else [found]
    return checks

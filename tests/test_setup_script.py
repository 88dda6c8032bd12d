"""scripts/setup.sh installs what `scripts/demo.sh` needs on a fresh machine (README's first command)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _extras(names: str, table: dict[str, list[str]]) -> set[str]:
    """The requirement names that installing ``takedown[names]`` brings in, nested extras expanded."""
    out: set[str] = set()
    for name in names.split(","):
        for requirement in table[name.strip()]:
            nested = re.fullmatch(r"takedown\[([^\]]+)\]", requirement)
            if nested:
                out |= _extras(nested.group(1), table)
            else:
                out.add(re.split(r"[<>=!~\[;\s]", requirement, maxsplit=1)[0].lower())
    return out


def test_the_demo_setup_installs_every_extra_the_demo_imports() -> None:
    script = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    demo_extras = re.search(r'^extras="([^"]+)"$', script, flags=re.MULTILINE)
    assert demo_extras, "setup.sh sets the demo's extras on a line of its own"
    table = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    installed = _extras(demo_extras.group(1), table)
    # The demo renders the JS feed and screenshots in Chromium, decodes video, and writes HWPX, HWP, PDF and WARC.
    assert {"selenium", "av", "python-hwpx", "weasyprint", "warcio"} <= installed
    assert "nudenet" not in installed, "AGPL-3.0: never part of the default install"


def test_the_dev_setup_installs_torch_before_transformers() -> None:
    script = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert script.index("torch==2.13.0") < script.index('pip install -q -e ".[$extras]"')

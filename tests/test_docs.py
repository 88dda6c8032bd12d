"""The documentation runs: every ```python block of README.md and docs/*.md, and the strict site build.

Each page's blocks run in order in one fresh module namespace, with the working directory set to a temporary
folder, so a page is a script a reader can follow top to bottom. A block whose first line is ``# skip-test``
is not run (for the rare example that needs something a test cannot have, such as a real SMTP server).
Failures point at the page and the line: blocks are compiled under the page's own path and line numbers.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(p for p in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")] if p.is_file())
SKIP_MARKER = "# skip-test"

# An opening fence of three or more backticks tagged python (optionally indented, e.g. inside an admonition),
# up to a closing fence of the same indentation and length.
_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<ticks>`{3,})[ \t]*python\b[^\n]*\n(?P<code>.*?)^(?P=indent)(?P=ticks)[ \t]*$",
    re.DOTALL | re.MULTILINE,
)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """The ```python blocks of a Markdown text: (line number of the block's first code line, dedented code)."""
    blocks = []
    for match in _FENCE.finditer(text):
        indent = match["indent"]
        lines = match["code"].splitlines()
        code = "\n".join(line.removeprefix(indent) for line in lines)
        first_line = text.count("\n", 0, match.start("code")) + 1
        blocks.append((first_line, code))
    return blocks


def _page_id(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def test_block_extraction() -> None:
    text = "intro\n\n```python\nx = 1\n```\n\n!!! note\n    ```python\n    # skip-test\n    y = 2\n    ```\n"
    assert python_blocks(text) == [(4, "x = 1"), (9, "# skip-test\ny = 2")]


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("TAKEDOWN_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    # A real module, so classes defined on the page (pydantic models, contract subclasses) resolve their names.
    module = types.ModuleType("docs_example_" + re.sub(r"\W", "_", page.stem))
    monkeypatch.setitem(sys.modules, module.__name__, module)
    text = page.read_text(encoding="utf-8")
    for first_line, code in python_blocks(text):
        if code.lstrip().startswith(SKIP_MARKER):
            continue
        # Leading newlines keep the page's line numbers, so a traceback shows the Markdown line that failed.
        compiled = compile("\n" * (first_line - 1) + code, str(page), "exec")
        exec(compiled, module.__dict__)


@pytest.mark.slow
def test_site_builds_strictly(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    completed = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml", "-d", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (tmp_path / "site" / "index.html").is_file()

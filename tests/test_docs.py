"""The documentation runs: every ```python block of README.md and docs/*.md, and the strict site build.

Each page's blocks run in order in one fresh module namespace, with the working directory set to a temporary
folder, so a page is a script a reader can follow top to bottom. A block whose first line is ``# skip-test``
is not run (for the rare example that needs something a test cannot have, such as a real SMTP server).
Failures point at the page and the line: blocks are compiled under the page's own path and line numbers.

The ```bash blocks are not run (they need a real agency's set-up), but every ``takedown ...`` line in them is
checked against the command line itself: it names a real command, and every option it gives is one that command
has. A renamed or removed option fails here, at the page and line that still shows it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperGroup

from takedown.cli import app

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


# An opening fence tagged bash, sh, shell or console, up to its closing fence (as _FENCE, for shell blocks).
_SHELL_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<ticks>`{3,})[ \t]*(?:bash|sh|shell|console)\b[^\n]*\n(?P<code>.*?)"
    r"^(?P=indent)(?P=ticks)[ \t]*$",
    re.DOTALL | re.MULTILINE,
)
_ENV_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.DOTALL)
_SHELL_OPERATORS = frozenset({"|", "||", "&", "&&", ";", ">", ">>", "<", "2>", "2>&1"})


def command_lines(text: str) -> list[tuple[int, str]]:
    """The ``takedown ...`` lines of a Markdown text's shell blocks: (line number, the line as one logical line).

    A line ending in a backslash continues on the next; a ``$`` prompt and leading ``NAME=VALUE`` assignments
    are allowed before ``takedown`` (``TAKEDOWN_OFFICER="Officer Kim" takedown approve ...``).
    """
    found = []
    for match in _SHELL_FENCE.finditer(text):
        first = text.count("\n", 0, match.start("code")) + 1
        lines = [line.removeprefix(match["indent"]) for line in match["code"].splitlines()]
        index = 0
        while index < len(lines):
            start, logical = index, lines[index]
            while logical.rstrip().endswith("\\") and index + 1 < len(lines):
                index += 1
                logical = logical.rstrip()[:-1] + " " + lines[index].strip()
            index += 1
            logical = logical.strip().removeprefix("$ ")
            try:
                words = _words(logical)
            except ValueError:  # unbalanced quotes: a takedown line among them is reported by command_problem
                words = logical.split()
            if words and words[0] == "takedown":
                found.append((first + start, logical))
    return found


def _words(line: str) -> list[str]:
    """A shell line's words as the shell splits them: quotes group, '#' starts a comment, operators stand alone;
    leading ``NAME=VALUE`` assignments are dropped. Raises ``ValueError`` for unbalanced quotes."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;<>")
    lexer.whitespace_split = True
    words = list(lexer)
    while words and _ENV_ASSIGNMENT.fullmatch(words[0]):
        words.pop(0)
    return words


def _option_names(command: Any) -> set[str]:
    """Every spelling of a click command's options (``--json``, ``-c``, ``--no-draft``), and ``--help``."""
    names = {"--help"}
    for param in command.params:
        if param.param_type_name == "option":
            names.update(param.opts, param.secondary_opts)
    return names


def command_problem(line: str) -> str | None:
    """Why ``line`` (a ``takedown ...`` command line) is not one the installed CLI takes, or ``None`` if it is.

    It must name a command (descending into the sub-command groups such as ``case`` and ``banks``), and each
    ``--option`` and ``-o`` it gives must be one of that command's. Values and arguments are not checked.
    """
    try:
        words = _words(line)[1:]  # after "takedown"
    except ValueError as exc:
        return f"cannot be split into words ({exc})"
    for position, word in enumerate(words):
        if word in _SHELL_OPERATORS:
            words = words[:position]
            break
    command = typer.main.get_command(app)
    path = ["takedown"]
    while isinstance(command, TyperGroup):
        if not words:
            return None  # a group alone prints its help
        word = words.pop(0)
        if word.startswith("-"):
            if word in _option_names(command):
                continue
            where = " (--config and the like are options of each command: put them after its name)"
            return f"{' '.join(path)} has no option {word}{where if len(path) == 1 else ''}"
        sub = command.commands.get(word)
        if sub is None:
            return f"{' '.join(path)} has no command {word!r}; it has: {', '.join(sorted(command.commands))}"
        command, path = sub, [*path, word]
    names = _option_names(command)
    for word in words:
        if word == "--":
            break
        option = word.split("=", 1)[0] if word.startswith("--") else word
        if (option.startswith("--") or re.fullmatch(r"-[A-Za-z]", option)) and option not in names:
            return f"{' '.join(path)} has no option {option}; it has: {', '.join(sorted(names))}"
    return None


def test_command_line_checker() -> None:
    text = (
        "```bash\n"
        "takedown send --case c --dry-run   # a comment --nope\n"
        "takedown bench detectors --dataset d \\\n"
        "    --out r --nope\n"
        "echo takedown --nope\n"
        "TAKEDOWN_OFFICER=\"Officer Kim\" takedown approve --case c | tee log\n"
        "```\n"
    )
    assert command_lines(text) == [
        (2, "takedown send --case c --dry-run   # a comment --nope"),
        (3, "takedown bench detectors --dataset d  --out r --nope"),
        (6, 'TAKEDOWN_OFFICER="Officer Kim" takedown approve --case c | tee log'),
    ]
    good = ["takedown send --case c --dry-run  # --nope is in a comment", "takedown case", "takedown --help",
            'takedown approve --finding f -c x.toml --by "A #1"', "takedown case create c --title t -k w --by a",
            "takedown review --config=demo-out/takedown.toml", "takedown banks import b l.pdq --skip-errors"]
    assert [command_problem(line) for line in good] == [None] * len(good)
    bad = {
        "takedown send --nope": "takedown send has no option --nope",
        "takedown nosuch": "takedown has no command 'nosuch'",
        "takedown case nosuch c": "takedown case has no command 'nosuch'",
        "takedown case create c --title t --media m --nope": "takedown case create has no option --nope",
        "takedown --config x.toml review": "takedown has no option --config",
        "takedown hash f -x h.jsonl": "takedown hash has no option -x",
        "takedown bench detectors --dataset d --out r --nope": "takedown bench detectors has no option --nope",
    }
    for line, expected in bad.items():
        problem = command_problem(line)
        assert problem is not None and problem.startswith(expected), (line, problem)


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_page_command_lines_are_real(page: Path) -> None:
    problems = [
        f"{_page_id(page)}:{line}: {text}\n    {problem}"
        for line, text in command_lines(page.read_text(encoding="utf-8"))
        if (problem := command_problem(text)) is not None
    ]
    assert not problems, "command lines the CLI does not take:\n" + "\n".join(problems)


@pytest.mark.slow
def test_site_builds_strictly(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    completed = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml", "-d", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (tmp_path / "site" / "index.html").is_file()

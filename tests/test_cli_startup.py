"""The command line starts light: each command's module is loaded alone, and help needs no pydantic model.

Start-up time itself is measured in benchmarks/cli.py; these tests keep the structure that makes it fast.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer.main

from takedown.cli import COMMANDS, _modules_for, build_app


def _names(app: typer.Typer) -> set[str]:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.main.TyperGroup)
    return set(group.commands)


@pytest.mark.parametrize("module", list(COMMANDS))
def test_each_module_registers_exactly_the_commands_it_is_listed_with(module: str) -> None:
    assert _names(build_app((module,))) == set(COMMANDS[module])


def test_the_full_app_has_every_command_once() -> None:
    listed = [name for names in COMMANDS.values() for name in names]
    assert len(listed) == len(set(listed)) and _names(build_app()) == set(listed)


def test_a_command_loads_only_its_module() -> None:
    assert _modules_for(["approve", "ntc-1", "--by", "x"]) == ("officer",)
    assert _modules_for(["case", "create", "c"]) == ("cases",)
    assert _modules_for(["--help"]) == tuple(COMMANDS)
    assert _modules_for(["nosuch"]) == tuple(COMMANDS), "an unknown command gets the full list in its error"


def test_help_imports_no_model_and_no_heavy_part() -> None:
    code = (
        "import sys\n"
        "from takedown.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "loaded = [m for m in ('pydantic', 'takedown.models', 'takedown.workflow', 'httpx', 'lxml', 'PIL') "
        "if m in sys.modules]\n"
        "print('LOADED', ','.join(loaded))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "LOADED", out.stdout[-500:]

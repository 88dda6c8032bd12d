"""The examples run as written: the walkthrough notebook (executed with nbclient) and the quickstart script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "demo_walkthrough.ipynb"
QUICKSTART = ROOT / "examples" / "quickstart.py"
KERNEL = "python3"

# Names jupyter_client replaces with sys.executable when it launches a kernel.
_BARE_PYTHONS = {"python", f"python{sys.version_info[0]}", f"python{sys.version_info[0]}.{sys.version_info[1]}"}


def _kernel_runs_this_python() -> bool:
    """Whether the ``python3`` kernelspec found now starts this interpreter (the venv's, with takedown)."""
    try:
        argv = KernelSpecManager().get_kernel_spec(KERNEL).argv
    except NoSuchKernel:
        return False
    if not argv:
        return False
    # Compare the paths as written: a venv's python is a symlink to the base interpreter, which lacks takedown.
    return argv[0] in _BARE_PYTHONS or os.path.abspath(argv[0]) == os.path.abspath(sys.executable)


@pytest.fixture
def venv_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The kernel name to run notebooks with, making sure it starts ``sys.executable``; installs nothing."""
    if not _kernel_runs_this_python():
        spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
        spec_dir.mkdir(parents=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (takedown tests)",
            "language": "python",
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))  # searched before every other kernel dir
        assert _kernel_runs_this_python()
    return KERNEL


def _read_notebook() -> nbformat.NotebookNode:
    nb: nbformat.NotebookNode = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]  # untyped
    return nb


def _outputs(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [output for cell in nb.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]


def test_notebook_is_committed_without_outputs() -> None:
    nb = _read_notebook()
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == KERNEL
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, "the walkthrough has code cells"
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code), "clear the outputs"


@pytest.mark.slow
def test_walkthrough_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, venv_kernel: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("TMPDIR", str(work))  # the kernel inherits it: the notebook's temp folder lands in tmp_path
    nb = _read_notebook()

    NotebookClient(nb, kernel_name=venv_kernel, timeout=300, resources={"metadata": {"path": str(work)}}).execute()

    outputs = _outputs(nb)
    errors = [f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error"]
    assert errors == []
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "precision=1.00 recall=1.00" in text
    assert "refused, as it should be: NotApprovedError" in text
    assert "verify_chain: the chain holds" in text
    assert "approved by Officer Demo" in text
    assert "Subject: 불법촬영물 삭제·접속차단 요청" in text  # the Korean notice was drafted, printed and sent
    assert "sending again returns the same delivery: True" in text
    assert "\nerrors:" not in text, "a stage reported an error"
    assert "'matches': 8" in text
    assert "'errors': []" in text
    # Human-facing output shows hashes and ids, never the media.
    shown = {mime for o in outputs for mime in o.get("data", {})}
    assert not {m for m in shown if m.startswith(("image/", "video/"))}
    assert len(list(work.glob("takedown-walkthrough-*/outbox/*.eml"))) == 1


@pytest.mark.slow
def test_quickstart_script_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(QUICKSTART), str(out)],
        cwd=tmp_path, capture_output=True, text=True, encoding="utf-8", timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout[proc.stdout.index("{") : proc.stdout.rindex("}") + 1])
    assert summary["matches"] == 8
    assert summary["bundles"] == 8
    assert summary["notices"] == 3, "8 matches in one request: Korean and English emails, and the site's form"
    assert summary["locales"] == ["en", "ko"]
    assert summary["errors"] == []
    assert "sent 1 approved notice to" in proc.stdout
    assert len(list((out / "outbox").glob("*.eml"))) == 1
    assert (out / "takedown.sqlite").is_file()
    reports = {p.name for p in (out / "evidence").rglob("report.*")}
    assert reports == {"report.hwpx", "report.hwp", "report.pdf"}, "the pipeline's full sealed bundles"


BENCH_NOTEBOOK = ROOT / "examples" / "benchmark_detectors.ipynb"


def test_benchmark_notebook_is_committed_without_outputs() -> None:
    nb: nbformat.NotebookNode = nbformat.read(BENCH_NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == KERNEL
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code), "clear the outputs"


@pytest.mark.slow
def test_benchmark_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, venv_kernel: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("TMPDIR", str(work))  # the notebook's temporary folder lands in tmp_path
    nb: nbformat.NotebookNode = nbformat.read(BENCH_NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]

    NotebookClient(nb, kernel_name=venv_kernel, timeout=300, resources={"metadata": {"path": str(work)}}).execute()

    outputs = _outputs(nb)
    assert [f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error"] == []
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "pdq: precision=1.00 recall=1.00" in text
    assert "exact_hash: precision=1.00 recall=0.17" in text, "exact hashing finds only the byte-identical copies"
    assert "keyword: precision=1.00 recall=1.00" in text, "the keyword detector sees through every evasion"
    assert "substring: precision=1.00 recall=0.27" in text, "a plain search finds 3 of the 11 spellings"
    assert any("image/png" in o.get("data", {}) for o in outputs), "the ROC plot is shown"
    assert len(list(work.glob("takedown-bench-*/report/report.json"))) == 1


@pytest.mark.slow
def test_add_a_site_script_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "add_a_site.py"), str(out)],
        cwd=tmp_path, capture_output=True, text=True, encoding="utf-8", timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "found 14 pages on demo-sns.example: 11 by search, 3 by listing" in proc.stdout
    assert "HTTP 200, title 'minji_cam" in proc.stdout
    assert "image image/" in proc.stdout, "the fetched page's media are listed"
    assert "report to: email abuse@demo-sns.example" in proc.stdout
    assert (out / "sites" / "demo-sns.toml").is_file()

from __future__ import annotations

import subprocess
import sys

import takedown


def test_all_is_sorted_and_importable() -> None:
    assert list(takedown.__all__) == sorted(takedown.__all__)
    for name in takedown.__all__:
        assert hasattr(takedown, name), name


def test_import_takedown_imports_no_heavy_dependency() -> None:
    code = (
        "import sys, takedown, takedown.testing, takedown.cli\n"
        "heavy = [m for m in ('av', 'torch', 'transformers', 'selenium', 'weasyprint', 'hwpx', 'warcio', "
        "'nudenet', 'onnxruntime', 'cv2') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_package_is_typed() -> None:
    from importlib.resources import files

    assert files("takedown").joinpath("py.typed").is_file()

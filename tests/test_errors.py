from __future__ import annotations

import pytest

import takedown.errors as errors
from takedown.errors import MissingDependencyError, SiteError, TakedownError, UnknownPluginError, UsageError


def test_every_public_error_is_in_the_tree() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), TakedownError)


def test_unknown_plugin_lists_what_is_available() -> None:
    err = UnknownPluginError("detector", "pdqq", ["pdq", "exact_hash"])
    assert isinstance(err, UsageError)
    assert "pdqq" in str(err) and "exact_hash, pdq" in str(err)


def test_missing_dependency_is_an_import_error_naming_the_extra() -> None:
    err = MissingDependencyError("av", "video", feature="hashing video")
    assert isinstance(err, ImportError)
    assert "pip install 'takedown[video]'" in str(err)
    with pytest.raises(ImportError):
        raise err


def test_plugin_errors_carry_context() -> None:
    err = SiteError("timed out", plugin="http", url="https://x.example/1")
    assert err.plugin == "http" and err.url == "https://x.example/1"
    assert "https://x.example/1" in str(err)

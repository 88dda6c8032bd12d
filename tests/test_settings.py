from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from takedown.errors import ConfigError
from takedown.settings import Settings, StorageSettings, example_toml, load_settings


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(env={}) == Settings()


def test_the_example_file_is_valid_and_equals_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "takedown.toml"
    path.write_text(example_toml(), encoding="utf-8")
    assert tomllib.loads(example_toml())  # parses
    expected = Settings(storage=StorageSettings(data_dir=tmp_path / ".takedown"))  # the file's folder, see below
    assert load_settings(path, env={}) == expected


def test_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "takedown.toml"
    path.write_text('[agency]\nname = "Seoul Center"\nregistration_number = "A-1"\n[smtp]\nport = 2525\n')
    settings = load_settings(path, env={"TAKEDOWN_SMTP__PORT": "465", "TAKEDOWN_SMTP__PASSWORD": "s3cret",
                                        "UNRELATED": "x"})
    assert settings.agency.name == "Seoul Center"
    assert settings.smtp.port == 465
    assert settings.smtp.password is not None and settings.smtp.password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_config_file_from_environment(tmp_path: Path) -> None:
    path = tmp_path / "custom.toml"
    path.write_text('[agency]\nlanguage = "en"\n')
    assert load_settings(env={"TAKEDOWN_CONFIG": str(path)}).agency.language == "en"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[smtp]\nport = 70000\n", {}, "smtp.port"),
        ('[agency]\ntime_zone = "Mars/Base"\n', {}, "unknown time zone"),
        ("[agency\n", {}, "not valid TOML"),
        ("", {"TAKEDOWN_NOPE__X": "1"}, "unknown settings section"),
        ("[agency]\nnickname = 1\n", {}, "agency.nickname"),
    ],
)
def test_invalid_settings_are_config_errors(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    path = tmp_path / "takedown.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(path, env=env)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "absent.toml", env={})


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.agency.name = "changed"  # type: ignore[misc]
    assert settings.storage.store_url.endswith(".takedown/takedown.sqlite")


def test_an_invalid_environment_value_names_its_variable(tmp_path: Path) -> None:
    path = tmp_path / "takedown.toml"
    path.write_text("[smtp]\nport = 70000\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={"TAKEDOWN_AGENCY__TIME_ZONE": "Mars/Base"})
    message = str(info.value)
    assert "agency.time_zone (from $TAKEDOWN_AGENCY__TIME_ZONE)" in message
    assert f"smtp.port (in {path})" in message


def test_relative_paths_in_a_settings_file_are_read_from_its_folder(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    agency = tmp_path / "agency"
    agency.mkdir()
    (agency / "takedown.toml").write_text(
        '[storage]\ndata_dir = "data"\nstore = "sqlite:///data/cases.sqlite"\n'
        '[sites]\ndir = "sites"\n[tsa]\ncertificate = "/etc/tsa.pem"\n', encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(agency / "takedown.toml", env={})
    assert settings.storage.data_dir == agency / "data" and settings.sites.dir == agency / "sites"
    assert settings.storage.store_url == f"sqlite:///{agency / 'data' / 'cases.sqlite'}"
    assert settings.tsa.certificate == Path("/etc/tsa.pem"), "an absolute path stays as it is"
    from_env = load_settings(agency / "takedown.toml", env={"TAKEDOWN_SITES__DIR": "mine"})
    assert from_env.sites.dir == Path("mine"), "the environment's paths are the working folder's"

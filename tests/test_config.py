"""Configuration: one TOML file, validated, with clear messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sociaalwerk_publisher import ConfigError, adapters
from sociaalwerk_publisher.config import STARTER_CONFIG, load_config, secret_from_env


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sociaalwerk-publisher.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_database_defaults_to_sqlite_beside_the_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'sociaalwerk-publisher.db'}"


def test_the_starter_config_is_valid_and_uses_the_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, STARTER_CONFIG))
    assert config.fetch.concurrency == 16 and config.fetch.max_bytes == 10 * 1024 * 1024


def test_the_config_is_found_through_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[fetch]\nconcurrency = 3\n")
    monkeypatch.setenv("SOCIAALWERK_PUBLISHER_CONFIG", str(path))
    assert load_config().fetch.concurrency == 3


@pytest.mark.parametrize(
    "text, message",
    [
        ("[fetch]\nconcurrency = 'veel'\n", "fetch.concurrency: must be an integer, not a string"),
        ("[fetch]\nconcurency = 4\n", "fetch.concurency: unknown key"),
        ("[fetch]\nconcurrency = 0\n", "fetch.concurrency: must be greater than 0"),
        ("[fetch]\ndeadline = -1\n", "fetch.deadline: must not be negative"),
        ("[fetch]\ndeadline = true\n", "fetch.deadline: must be a number, not a boolean"),
        ("[feeds]\nx = 1\n", "feeds: unknown section"),
        ("fetch = 3\n", "fetch: must be a table"),
        ("[fetch\n", "is not valid TOML"),
    ],
)
def test_an_invalid_config_names_the_key_and_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as raised:
        load_config(write(tmp_path, text))
    assert raised.value.exit_code == 2


def test_a_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_secrets_come_from_the_named_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWP_TEST_SECRET", "geheim")
    assert secret_from_env("SWP_TEST_SECRET", "email.password_env") == "geheim"
    monkeypatch.delenv("SWP_TEST_SECRET")
    with pytest.raises(ConfigError, match="SWP_TEST_SECRET is not set") as raised:
        secret_from_env("SWP_TEST_SECRET", "email.password_env")
    assert "geheim" not in str(raised.value)


# --------------------------------------------------------------------------- destination settings, by adapter


class NeedsAnApiKey:
    """A plugged-in adapter that states its own needs."""

    @classmethod
    def check_settings(cls, destination: Any) -> list[tuple[str, str]]:
        return [] if destination.username else [("username", "the API key's owner is required")]


@pytest.mark.parametrize("destination, message", [
    ('adapter = "wxr"', r"destinations\[0\]\.path: is required for the wxr adapter"),
    ('adapter = "wordpress-rest"\nusername = "u"\npassword_env = "P"',
     r"destinations\[0\]\.url: is required for the wordpress-rest adapter"),
    ('adapter = "wordpress-xmlrpc"\nurl = "ftp://x.nl"\nusername = "u"\npassword_env = "P"',
     r"destinations\[0\]\.url: must start with https://"),
    ('adapter = "drupal"', r"destinations\[0\]\.username: the API key's owner is required"),
])
def test_each_adapter_states_what_its_destination_settings_need(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, destination: str, message: str) -> None:
    monkeypatch.setitem(adapters.BUILTIN, "drupal", (__name__, "NeedsAnApiKey"))
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, f'[[destinations]]\nname = "d"\n{destination}\n'))
    load_config(write(tmp_path, '[[destinations]]\nname = "d"\nadapter = "drupal"\nusername = "u"\n'))

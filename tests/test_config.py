"""Configuration: one TOML file, validated, with clear messages."""

from __future__ import annotations

import dataclasses
import re
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sociaalwerk_publisher import ConfigError
from sociaalwerk_publisher.config import STARTER_CONFIG, Config, config_from_dict, load_config, secret_from_env

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sociaalwerk-publisher.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_database_defaults_to_sqlite_beside_the_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'sociaalwerk-publisher.db'}"


def test_the_starter_config_is_valid_and_changes_no_default(tmp_path: Path) -> None:
    path = write(tmp_path, STARTER_CONFIG)
    assert load_config(path) == dataclasses.replace(Config(), path=path.resolve())


def _settings(cls: Any, prefix: str = "") -> Iterator[str]:
    """Every key the configuration knows, as a dotted path (destinations as ``destinations.x``)."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name == "path" and cls is Config:
            continue
        inner = typing.get_args(hints[f.name])
        kind = inner[0] if typing.get_origin(hints[f.name]) is tuple and inner else hints[f.name]
        if dataclasses.is_dataclass(kind):
            yield from _settings(kind, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}"


def _keys(data: Any, prefix: str = "") -> Iterator[str]:
    tables = data if isinstance(data, list) else [data]
    for table in tables:
        for key, value in table.items():
            yield f"{prefix}{key}"
            if (isinstance(value, dict) and key not in ("organisations", "themes")) or \
                    (isinstance(value, list) and value and isinstance(value[0], dict)):
                yield from _keys(value, f"{prefix}{key}.")


def test_the_starter_config_names_every_setting_with_a_valid_example(tmp_path: Path) -> None:
    # "# key = value" and "# [section]" lines are examples: with the "# " removed, they
    # must make a valid config that sets every key there is
    uncommented = re.sub(r"(?m)^# (?=\[|[a-z_]+ *=)", "", STARTER_CONFIG)
    data = tomllib.loads(uncommented)
    config = config_from_dict(data)
    assert {d.adapter for d in config.destinations} == {"wordpress-rest", "wordpress-xmlrpc", "wxr"}
    missing = set(_settings(Config)) - set(_keys(data))
    assert not missing, f"not in the starter config: {sorted(missing)}"


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


def test_without_any_config_file_nothing_runs_on_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOCIAALWERK_PUBLISHER_CONFIG", raising=False)
    with pytest.raises(ConfigError) as raised:
        load_config()
    assert str(raised.value) == (
        "no config file: looked for --config, $SOCIAALWERK_PUBLISHER_CONFIG and"
        f" {tmp_path / 'sociaalwerk-publisher.toml'}; write one with `sociaalwerk-publisher init`")
    assert raised.value.exit_code == 2


def test_secrets_come_from_the_named_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWP_TEST_SECRET", "geheim")
    assert secret_from_env("SWP_TEST_SECRET", "email.password_env") == "geheim"
    monkeypatch.delenv("SWP_TEST_SECRET")
    with pytest.raises(ConfigError, match="SWP_TEST_SECRET is not set") as raised:
        secret_from_env("SWP_TEST_SECRET", "email.password_env")
    assert "geheim" not in str(raised.value)

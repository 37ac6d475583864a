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

from sociaalwerk_publisher import ConfigError, adapters
from sociaalwerk_publisher.config import (
    STARTER_CONFIG,
    Config,
    DestinationConfig,
    FetchConfig,
    config_from_dict,
    load_config,
    secret_from_env,
)

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
        ("[fetch]\nconcurrency = 0\n", "fetch.concurrency: must be from 1 to 256"),
        ("[fetch]\ndeadline = -1\n", "fetch.deadline: must be more than 0 and at most 3600"),
        ("[fetch]\ndeadline = true\n", "fetch.deadline: must be a number, not a boolean"),
        ("[feeds]\nx = 1\n", "feeds: unknown section"),
        ("fetch = 3\n", "fetch: must be a table"),
        ("[fetch\n", "is not valid TOML"),
        ("[[destinations]]\nname = 'f'\nadapter = 'wxr'\npath = 'f.xml'\non_local_edit = 'ja'\n",
         "destinations\\[0\\].on_local_edit: must be keep or overwrite"),
        ("[[destinations]]\nname = 'f'\nadapter = 'wxr'\npath = 'f.xml'\nunlink_term = 'niet, nooit'\n",
         "destinations\\[0\\].unlink_term: must be one category or tag name"),
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


# -- every number has a sane range ---------------------------------------------------------

def _numbers(cls: type, prefix: str) -> list[tuple[str, type]]:
    """(key, int or float) of every number in a config table and the tables inside it."""
    found = []
    for name, hint in typing.get_type_hints(cls).items():
        if hint in (int, float):
            found.append((f"{prefix}.{name}", hint))
        elif dataclasses.is_dataclass(hint):
            found += _numbers(hint, f"{prefix}.{name}")
    return found


_EVERY_NUMBER = [key_type for section, hint in typing.get_type_hints(Config).items() if dataclasses.is_dataclass(hint)
                 for key_type in _numbers(hint, section)] + _numbers(DestinationConfig, "destinations[0]")


def _toml_setting(key: str, value: str) -> str:
    if key.startswith("destinations[0]."):
        return f"[[destinations]]\nname = 'x'\nadapter = 'wxr'\npath = 'x.xml'\n{key.split('.', 1)[1]} = {value}\n"
    section, name = key.split(".")
    return f"[{section}]\n{name} = {value}\n"


@pytest.mark.parametrize("key, kind", _EVERY_NUMBER, ids=[key for key, _ in _EVERY_NUMBER])
def test_every_number_refuses_values_far_outside_its_range_naming_the_key(tmp_path: Path, key: str, kind: type) -> None:
    for value in (["nan", "inf", "-inf", "1e300", "-1e300"] if kind is float else ["100000000000", "-100000000000"]):
        with pytest.raises(ConfigError, match=rf"^{re.escape(key)}: must be ") as raised:
            load_config(write(tmp_path, _toml_setting(key, value)))
        assert raised.value.exit_code == 2


@pytest.mark.parametrize(
    "text, message",
    [
        ("[fetch]\ndeadline = nan\n", "fetch.deadline: must be a finite number, not nan"),
        ("[fetch]\ndeadline = inf\n", "fetch.deadline: must be a finite number, not inf"),
        ("[fetch]\nread_timeout = nan\n", "fetch.read_timeout: must be a finite number, not nan"),
        ("[fetch]\nconnect_timeout = 0\n", "fetch.connect_timeout: must be more than 0 and at most 600"),
        ("[email]\ntimeout = nan\n", "email.timeout: must be a finite number, not nan"),
        ("[email]\nport = 70000\n", "email.port: must be from 1 to 65535"),
        ("[fetch]\nconcurrency = 100000000000\n", "fetch.concurrency: must be from 1 to 256"),
        ("[fetch]\nbackoff_min_minutes = 120\nbackoff_max_minutes = 60\n",
         "fetch.backoff_min_minutes: must not exceed backoff_max_minutes (60)"),
        ("[daemon]\nreport_hour = 24\n", "daemon.report_hour: must be from 0 to 23"),
        ("[coverage]\ncluster_threshold = 0\n", "coverage.cluster_threshold: must be more than 0 and at most 1"),
        ("[[destinations]]\nname = 'x'\nadapter = 'wordpress-rest'\nurl = 'https://[::1'\nusername = 'u'\n"
         "password_env = 'P'\n", "destinations[0].url: is not a valid URL (host or port)"),
        ("[[destinations]]\nname = 'x'\nadapter = 'wordpress-xmlrpc'\nurl = 'https://site.example.nl:99999'\n"
         "username = 'u'\npassword_env = 'P'\n", "destinations[0].url: is not a valid URL (host or port)"),
    ],
)
def test_a_number_outside_its_range_is_refused_with_the_range(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        load_config(write(tmp_path, text))


def test_the_largest_and_smallest_sane_values_are_accepted(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[fetch]\nconcurrency = 256\ndeadline = 0.5\nbackoff_min_minutes = 60\n"
                                         "backoff_max_minutes = 60\n[email]\nport = 65535\n"))
    assert (config.fetch.concurrency, config.fetch.deadline, config.email.port) == (256, 0.5, 65535)


def test_a_config_built_in_code_is_checked_the_same_way(tmp_path: Path) -> None:
    from sociaalwerk_publisher import make_publisher

    with pytest.raises(ConfigError, match=r"^fetch.deadline: must be a finite number, not nan$"):
        make_publisher(Config(fetch=FetchConfig(deadline=float("nan"))))
    with pytest.raises(ConfigError, match=r"^destinations\[0\].timeout: must be more than 0"):
        make_publisher(Config(destinations=(DestinationConfig(name="x", adapter="wxr", path="x.xml", timeout=0),)))


# -- the database --------------------------------------------------------------------------

@pytest.mark.parametrize("url, problem", [
    ("mysql://publisher:geheim@db.example.nl/publisher",
     "mysql is not supported: only SQLite and PostgreSQL are supported"),
    ("oracle+cx_oracle://publisher:geheim@db/x", "oracle is not supported"),
    ("not a url", "not a database URL: only SQLite and PostgreSQL are supported"),
    ("postgresql://publisher:geheim@[::1:5432/x", "not a database URL"),
    ("postgresql+psycopg://publisher:geheim@db.example.nl:99999999/x", "the port must be from 1 to 65535"),
    ("postgresql+nosuch://publisher:geheim@db.example.nl/x", "unknown driver 'postgresql[+]nosuch'"),
])
def test_only_sqlite_and_postgresql_urls_are_accepted(tmp_path: Path, url: str, problem: str) -> None:
    from click.testing import CliRunner

    from sociaalwerk_publisher.cli import cli

    path = write(tmp_path, f'[database]\nurl = "{url}"\n')
    with pytest.raises(ConfigError, match=f"^database.url: {problem}"):
        load_config(path)
    result = CliRunner().invoke(cli, ["--config", str(path), "sources", "list"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "geheim" not in result.output


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


_EMAIL = '[email]\nhost = "127.0.0.1"\nsender = "a@b.nl"\nrecipients = ["a@b.nl"]\n'


@pytest.mark.parametrize("entry, key", [
    ('[[destinations]]\nname = "{}"\nadapter = "wxr"\npath = "x.xml"\n', "destinations[1].name"),
    ('[[webhooks]]\nname = "{}"\nurl = "https://hook.example/"\nsecret_env = "S"\n', "webhooks[1].name"),
    ('[[alerts.rules]]\nname = "{}"\nrecipients = ["a@b.nl"]\nterms = ["x"]\n', "alerts.rules[1].name"),
    ('[[report.members]]\norganisation = "{}"\nrecipients = ["a@b.nl"]\n', "report.members[1].organisation"),
], ids=["destinations", "webhooks", "alerts.rules", "report.members"])
def test_each_entry_of_a_named_list_has_a_name_of_its_own(tmp_path: Path, entry: str, key: str) -> None:
    # the name is how logs, mails, the outbox and the CLI tell the entries apart
    with pytest.raises(ConfigError, match=re.escape(f"{key}: 'Noord' is used twice")):
        load_config(write(tmp_path, _EMAIL + entry.format("Noord") + entry.format("Noord")))
    with pytest.raises(ConfigError, match=re.escape(key.replace("[1]", "[0]"))):
        load_config(write(tmp_path, _EMAIL + entry.format(" ")))
    load_config(write(tmp_path, _EMAIL + entry.format("Noord") + entry.format("Zuid")))


class TestCampaign:
    def test_gouden_gemeenten_are_cbs_codes_or_names_of_the_bundled_list(self, tmp_path: Path) -> None:
        config = load_config(write(tmp_path, '[campaign]\ngouden_gemeenten = ["GM0479", "Súdwest-Fryslân", "den haag"]\n'
                                             'gouden = ["Buurthuis De Kroon"]\n'))
        from sociaalwerk_publisher.coverage.figures import gouden_codes

        assert gouden_codes(config) == ("GM0479", "GM1900", "GM0518")
        assert config.campaign.gouden == ("Buurthuis De Kroon",)

    def test_unknown_gouden_gemeenten_are_one_clear_error_naming_the_key(self, tmp_path: Path) -> None:
        from click.testing import CliRunner

        from sociaalwerk_publisher.cli import cli

        path = write(tmp_path, '[campaign]\ngouden_gemeenten = ["Zaanstad", "Zaanstd", "GM9999"]\n')
        with pytest.raises(ConfigError) as raised:
            load_config(path)
        assert raised.value.key == "campaign.gouden_gemeenten"
        assert "'Zaanstd', 'GM9999'" in str(raised.value) and "Zaanstad'" not in str(raised.value)
        result = CliRunner().invoke(cli, ["--config", str(path), "status"])
        assert result.exit_code == 2
        (line,) = result.output.strip().splitlines()
        assert "campaign.gouden_gemeenten" in line and "Zaanstd" in line

    def test_the_old_top_n_setting_is_gone(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="coverage.golden_municipalities: unknown key"):
            load_config(write(tmp_path, "[coverage]\ngolden_municipalities = 5\n"))

"""Configuration: one TOML file, validated, with clear messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from sociaalwerk_publisher import ConfigError
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

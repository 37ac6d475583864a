"""Settings that loosen a protection are explicit, and refused where they would be unsafe."""

from __future__ import annotations

from pathlib import Path

import pytest

from sociaalwerk_publisher import ConfigError
from sociaalwerk_publisher.config import Config, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sociaalwerk-publisher.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_private_networks_are_off_limits_unless_the_config_says_otherwise(tmp_path: Path) -> None:
    assert Config().security.allow_private_networks is False
    assert load_config(write(tmp_path, "")).security.allow_private_networks is False
    allowed = load_config(write(tmp_path, "[security]\nallow_private_networks = true\n"))
    assert allowed.security.allow_private_networks is True


def test_unencrypted_smtp_is_refused_for_a_server_that_is_not_on_this_machine(tmp_path: Path) -> None:
    text = ('[email]\nhost = "{host}"\nsecurity = "none"\nsender = "a@b.nl"\nrecipients = ["c@d.nl"]\n')
    with pytest.raises(ConfigError, match="email.security: none .* only allowed for a server on 127.0.0.1"):
        load_config(write(tmp_path, text.format(host="smtp.example.nl")))
    assert load_config(write(tmp_path, text.format(host="127.0.0.1"))).email.security == "none"

"""The documentation works as written: every command line in README.md's code blocks and in
examples/ runs (on a copy of the bundled demo), so the docs cannot drift from the command line."""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from sociaalwerk_publisher.cli import cli
from sociaalwerk_publisher.config import ENV_CONFIG, config_from_dict

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
PROGRAM = "sociaalwerk-publisher"
DEMO_CONFIG = "examples/demo/sociaalwerk-publisher.toml"

#: Paths the docs name on a real server, and what stands in for them in the sandbox.
PLACES = {
    "/etc/sociaalwerk-publisher/config.toml": DEMO_CONFIG,
    "/var/log/sociaalwerk-publisher/run.log": "run.log",
    "oud.toml": DEMO_CONFIG,  # the move to PostgreSQL: from the demo ...
    "nieuw.toml": "nieuw.toml",  # ... into a new, empty store
}

#: Commands the demo cannot carry out; their lines are parsed in full (options, values,
#: files) and reach the command, which then does nothing.
NOT_RUN = {
    ("sources", "add"): "reaches the network to find the feed",
    ("review",): "needs a person at a terminal",
    ("stories", "approve"): "the ids are examples; the demo's blog stories are approved already",
    ("report", "send"): "needs a mail server",
}


@dataclass(frozen=True)
class Line:
    where: str  #: file and line, for the test id
    args: tuple[str, ...]  #: after the program name
    env: dict[str, str] = field(default_factory=dict)

    @property
    def command(self) -> tuple[str, ...]:
        """The subcommand path, e.g. ("stories", "approve")."""
        group: click.Command = cli
        path: list[str] = []
        for arg in self.args:
            if isinstance(group, click.Group) and arg in group.commands:
                path.append(arg)
                group = group.commands[arg]
        return tuple(path)


def _joined(text: str) -> Iterator[tuple[int, str]]:
    """Lines with backslash continuations joined, numbered from 0."""
    pending, start = "", 0
    for number, line in enumerate(text.splitlines()):
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield start, pending + line
        pending = ""


def _program_args(words: list[str]) -> tuple[str, ...] | None:
    for i, word in enumerate(words):
        if word.rsplit("/", 1)[-1] == PROGRAM:
            return tuple(words[i + 1:])
    return None


def _commands(text: str, where: str, first_line: int, env: dict[str, str]) -> Iterator[Line]:
    for number, line in _joined(text):
        segment: list[str] = []
        for word in [*shlex.split(line, comments=True), "&&"]:
            if word != "&&":
                segment.append(word)
                continue
            args = _program_args(segment)
            if args is not None:
                yield Line(f"{where}:{first_line + number + 1}", args, dict(env))
            segment = []


def readme_blocks(info: str | None = None) -> Iterator[tuple[int, str, str]]:
    """(first line, info, content) of README.md's code blocks (fenced and indented)."""
    for token in MarkdownIt("commonmark").parse((REPO / "README.md").read_text(encoding="utf-8")):
        if token.type in ("fence", "code_block") and token.map and (info is None or token.info == info):
            yield token.map[0] + (1 if token.type == "fence" else 0), token.info, token.content


def documented_lines() -> list[Line]:
    lines: list[Line] = []
    for first, info, content in readme_blocks():
        if info in ("", "sh", "cron"):
            lines += _commands(content, "README.md", first, {})
    crontab = REPO / "examples" / "cron" / "sociaalwerk-publisher.crontab"
    env: dict[str, str] = {}
    for number, line in enumerate(crontab.read_text(encoding="utf-8").splitlines()):
        if re.match(r"^[A-Z_]+=", line):
            key, _, value = line.partition("=")
            env[key] = value
        elif line.strip() and not line.startswith("#"):
            lines += _commands(line, "examples/cron/sociaalwerk-publisher.crontab", number, env)
    for unit in sorted((REPO / "examples" / "systemd").glob("*.service")):
        env = {}
        for number, line in enumerate(unit.read_text(encoding="utf-8").splitlines()):
            if line.startswith("Environment="):
                key, _, value = line.removeprefix("Environment=").partition("=")
                env[key] = value
            elif line.startswith("ExecStart="):
                lines += _commands(line.removeprefix("ExecStart="), f"examples/systemd/{unit.name}", number, env)
    return lines


LINES = documented_lines()


def test_the_docs_have_command_lines_to_check() -> None:
    # what the parsing must find, so a change to it cannot quietly check nothing
    wheres = {line.where.split(":")[0] for line in LINES}
    assert wheres == {"README.md", "examples/cron/sociaalwerk-publisher.crontab",
                      "examples/systemd/sociaalwerk-publisher.service"}
    assert ("--config", "/etc/sociaalwerk-publisher/config.toml", "run", "--quiet") in [l.args for l in LINES]
    assert len([line for line in LINES if line.where.startswith("README.md")]) >= 15


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder holding a fresh copy of the demo, as a new clone has it, and the files the
    docs name (feeds.opml, feeds/lokaal.xml, media.csv)."""
    root = tmp_path_factory.mktemp("docs")
    shutil.copytree(REPO / "examples" / "demo", root / "examples" / "demo",
                    ignore=shutil.ignore_patterns("*.db*", "*.lock", "uitvoer"))
    opml = (root / "examples" / "demo" / "sources.opml").read_text(encoding="utf-8")
    (root / "feeds.opml").write_text(opml.replace('xmlUrl="feeds/', 'xmlUrl="examples/demo/feeds/'),
                                     encoding="utf-8")
    (root / "feeds").mkdir()
    shutil.copy(root / "examples" / "demo" / "feeds" / "zwolle-atom.xml", root / "feeds" / "lokaal.xml")
    (root / "media.csv").write_text("domein;naam;soort;gemeente\nstadskrant.example.nl;De Stadskrant;"
                                    "huis-aan-huisblad;Zwolle\n", encoding="utf-8")
    (root / "nieuw.toml").write_text("# the store beside this file\n[database]\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        yield root


def _placed(value: str) -> str:
    if value in PLACES:
        return PLACES[value]
    assert not value.startswith("/") or value.startswith("/usr/"), \
        f"{value}: a path on a real server; add what stands in for it to PLACES"
    return value


@pytest.mark.parametrize("line", LINES, ids=lambda line: f"{line.where} {' '.join(line.args)}")
def test_every_documented_command_line_works(line: Line, sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reached: list[str] = []
    if line.command in NOT_RUN:
        leaf: click.Command = cli
        for name in line.command:
            leaf = leaf.commands[name]  # type: ignore[attr-defined]
        monkeypatch.setattr(leaf, "callback", lambda **kwargs: reached.append(NOT_RUN[line.command]))
    env = {key: _placed(value) for key, value in line.env.items()}
    env.setdefault(ENV_CONFIG, DEMO_CONFIG)  # the "Using it" lines assume a config in place
    result = CliRunner(env=env).invoke(cli, [_placed(arg) for arg in line.args])
    assert result.exit_code == 0, f"{line.where}: exit {result.exit_code}: {result.output}"
    if line.command in NOT_RUN:
        assert reached, "the command was not reached"
    if "--quiet" in line.args:
        assert result.output == ""


def test_the_readme_config_example_is_a_valid_config() -> None:
    (example,) = [content for _, _, content in readme_blocks("toml")]
    config = config_from_dict(tomllib.loads(example))
    assert [d.name for d in config.destinations] == ["landelijk", "amsterdam"]


def test_the_readme_library_example_uses_only_what_the_package_offers() -> None:
    import sociaalwerk_publisher

    # the one that uses the package (the other checks a webhook's signature)
    (example,) = [content for _, _, content in readme_blocks("python") if "sociaalwerk_publisher" in content]
    compile(example, "README.md", "exec")
    imported = re.search(r"from sociaalwerk_publisher import (.+)", example).group(1)  # type: ignore[union-attr]
    assert all(name.strip() in sociaalwerk_publisher.__all__ for name in imported.split(","))
    methods = set(re.findall(r"publisher\.(\w+)\(", example))
    assert methods and all(hasattr(sociaalwerk_publisher.Publisher, m) for m in methods)

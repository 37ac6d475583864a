"""The command line: parse options, call the :class:`Publisher`, format the result.

Exit codes: 0 all good; 1 some items failed (sources, destinations, mail);
2 usage or configuration error; 75 another run in progress; 130 interrupted.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from ._logging import is_in_result
from ._wording import count
from .bounds import MAX_INTEGER, is_whole_number, parse_date
from .config import DEFAULT_FILENAME, STARTER_CONFIG, Config, find_config_path, load_config
from .daemon import run_daemon
from .core import Publisher, make_publisher, upgrade_database
from .health import canonical_note
from .health import doctor as doctor_checks
from .coverage.model import OutletType
from .coverage.periods import start_of_day
from .exceptions import AlreadyRunningError, PublisherError, UsageError
from .types import (
    Decision,
    FetchOutcome,
    FetchResult,
    Source,
    SourceKind,
    SourceUpdate,
    Story,
    StoryFilter,
    StoryStatus,
    Syndication,
    SyndicationAction,
    SyndicationResult,
    SyndicationState,
)

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_BUSY, EXIT_INTERRUPTED = 0, 1, 2, 75, 130
T = TypeVar("T")


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(standalone_mode=False)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("Interrupted.", err=True)
        sys.exit(EXIT_INTERRUPTED)


class _ErrorLine(click.ClickException):
    """Our error as one line on standard error, with its documented exit code."""

    def __init__(self, error: PublisherError) -> None:
        super().__init__(str(error))
        self.error = error

    @property  # click reads the exit code from the exception; ours is per error class
    def exit_code(self) -> int:  # type: ignore[override]
        return self.error.exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PublisherError as e:
            raise _ErrorLine(e) from e


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="seconds"),
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time, so a progress bar that routes the
    terminal's output above itself (and a test runner capturing it) gets the log too."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(verbose: int, log_file: str | None, log_format: str, *,
                      results_shown: bool = True) -> None:
    """Only the CLI configures logging; the library just logs.

    ``results_shown``: the command prints a line per result, so on the terminal the log
    leaves out what those lines say already (a log file keeps everything).
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    try:
        handler: logging.Handler = logging.FileHandler(log_file, encoding="utf-8") if log_file else _Stderr()
    except OSError as e:
        raise click.UsageError(f"cannot write the log file {log_file}: {e.strerror}") from None
    if results_shown and not log_file:
        handler.addFilter(lambda record: not is_in_result(record))
    handler.setLevel(level)  # also for libraries that set their own loggers' level (werkzeug: INFO)
    handler.setFormatter(_JsonLines() if log_format == "json"
                         else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.set_name("sociaalwerk-publisher")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "sociaalwerk-publisher"]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)


class _Context:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._config: Config | None = None
        self._publisher: Publisher | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def publisher(self) -> Publisher:
        if self._publisher is None:
            self._publisher = make_publisher(self.config)
        return self._publisher

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.close()


pass_ctx = click.make_pass_decorator(_Context)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False),
              help=f"Config file [default: $SOCIAALWERK_PUBLISHER_CONFIG or ./{DEFAULT_FILENAME}]")
@click.option("--verbose", "-v", count=True, help="More log output (-vv for debug).")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Write the log here instead of standard error.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one object per line, for log shippers.")
@click.version_option(package_name="sociaalwerk-publisher")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int, log_file: str | None,
        log_format: str) -> None:
    """Aggregate, review and syndicate local social-work stories."""
    # the daemon prints no results: there the log is the only place a failure shows
    configure_logging(verbose, log_file, log_format, results_shown=ctx.invoked_subcommand != "daemon")
    state = _Context(config_path)
    ctx.obj = state
    ctx.call_on_close(state.close)


@cli.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: str | None, force: bool) -> None:
    """Write a commented starter config file."""
    target = Path(path or find_config_path() or DEFAULT_FILENAME)
    if target.exists() and not force:
        raise click.UsageError(f"{target} exists already (use --force to overwrite)")
    target.write_text(STARTER_CONFIG, encoding="utf-8")
    target.chmod(0o600)
    click.echo(f"wrote {target}")


# -- output helpers ------------------------------------------------------------------

def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, BaseException):
        return str(value)
    return value


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(_jsonable(value), ensure_ascii=False, indent=2))


def _when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else "-"


Echo = Callable[[str, bool], None]


def _echo(line: str, err: bool) -> None:
    click.echo(line, err=err)


@contextmanager
def _progress_bar(label: str, total: int | None = None) -> Iterator[tuple[Callable[[int, int], None], Echo] | None]:
    """On a terminal: a progress bar on standard error, set by calling it with (done, total),
    and how to print a line (``err``: to standard error) while it shows; the bar is drawn below
    the lines printed so far and gone at the end. None when output goes to a file or to cron.
    """
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    # rich draws every line on the terminal itself, above the bar: anything else written
    # to the terminal meanwhile (the log included) is routed through it too
    stdout_on_terminal = sys.stdout.isatty()
    with Progress(console=Console(stderr=True), transient=True, redirect_stdout=stdout_on_terminal) as progress:
        task = progress.add_task(label, total=total)

        def show(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        def echo(line: str, err: bool) -> None:
            if err or stdout_on_terminal:
                progress.console.print(line, markup=False, highlight=False, emoji=False, soft_wrap=True)
            else:  # standard output goes to a file: the lines go there, the bar stays on the terminal
                click.echo(line)

        yield show, echo


@contextmanager
def _progress(items: Iterable[T], total: int, label: str) -> Iterator[tuple[Iterable[T], Echo]]:
    """The items, and how to print a line (``err``: to standard error) while they come, with
    a :func:`_progress_bar` over them on a terminal."""
    with _progress_bar(label, total) as bar:
        if bar is None or total < 2:
            yield items, _echo
            return
        show, echo = bar

        def advance() -> Iterator[T]:
            for done, item in enumerate(items, start=1):
                show(done, total)
                yield item

        yield advance(), echo


# click.ParamType is generic for type checkers only from click 8.2 on; setup.cfg allows 8.1
class _Date(click.ParamType):  # type: ignore[type-arg]
    """A day as YYYY-MM-DD, within the dates the program handles."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return parse_date(value)
        except UsageError as e:
            self.fail(str(e), param, ctx)


#: Every id and count on the command line, bound to what the store's integers hold.
ID = click.IntRange(1, MAX_INTEGER)
COUNT = click.IntRange(0, MAX_INTEGER)
DATE = _Date()

json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
municipality_option = click.option("--municipality", help="CBS code (GM0363) or name (Amsterdam).")
limit_option = click.option("--limit", type=COUNT, default=50, show_default=True,
                            help="At most this many items; 0 for all.")


# -- sources ---------------------------------------------------------------------------

@cli.group()
def sources() -> None:
    """Feeds to poll: member blogs, outlet feeds, Google Alerts."""


kind_choice = click.Choice([k.value for k in SourceKind])


@sources.command("add")
@click.argument("url")
@click.option("--kind", type=kind_choice, default="blog", show_default=True)
@click.option("--title")
@click.option("--organisation")
@municipality_option
@click.option("--ambassador", help="The lokale ambassadeur who writes the blog.")
@click.option("--trusted", is_flag=True, help="Stories may be approved automatically.")
@click.option("--no-discover", is_flag=True, help="Take URL as the feed; do not look for a feed link.")
@json_option
@pass_ctx
def sources_add(ctx: _Context, url: str, kind: str, title: str | None, organisation: str | None,
                municipality: str | None, ambassador: str | None, trusted: bool,
                no_discover: bool, as_json: bool) -> None:
    """Add a feed (or an HTML page that links to one)."""
    source = ctx.publisher.add_source(
        url, kind, title=title, organisation=organisation, municipality=municipality,
        ambassador=ambassador, trusted=trusted, discover=not no_discover,
    )
    _echo_json(source) if as_json else click.echo(f"added source {source.id}: {source.url}")


def _health(source: Source) -> str:
    if not source.active:
        return f"inactive: {source.deactivated_reason or 'switched off'}"
    if source.consecutive_failures:
        return f"failing x{source.consecutive_failures}: {source.last_error}"
    if source.last_success_at is None:
        return "never polled"
    return "ok" + (f" (feed defect: {source.last_problem})" if source.last_problem else "")


@sources.command("list")
@json_option
@pass_ctx
def sources_list(ctx: _Context, as_json: bool) -> None:
    """Sources with their health: last success, last error, failures, next poll."""
    items = ctx.publisher.list_sources()
    if as_json:
        _echo_json(items)
        return
    for s in items:
        click.echo(
            f"{s.id:>4}  {s.kind.value:<5}  {s.title or '-'}  <{s.url}>\n"
            f"      {s.organisation or '-'} | {s.municipality or '-'} | last ok {_when(s.last_success_at)}"
            f" | next {_when(s.next_poll_at)} | {_health(s)}"
        )
    if not items:
        click.echo("no sources yet: add one with `sources add URL` or `sources import FILE.opml`")


@sources.command("update")
@click.argument("source_id", type=ID)
@click.option("--url")
@click.option("--kind", type=kind_choice)
@click.option("--title")
@click.option("--organisation")
@municipality_option
@click.option("--ambassador")
@click.option("--trusted/--untrusted", default=None)
@click.option("--active/--inactive", default=None)
@pass_ctx
def sources_update(ctx: _Context, source_id: int, url: str | None, kind: str | None,
                   title: str | None, organisation: str | None, municipality: str | None,
                   ambassador: str | None, trusted: bool | None, active: bool | None) -> None:
    """Change a source's fields; --active also clears its failures."""
    changes = SourceUpdate(url=url, kind=SourceKind(kind) if kind else None, title=title,
                           organisation=organisation, municipality=municipality,
                           ambassador=ambassador, trusted=trusted, active=active)
    source = ctx.publisher.update_source(source_id, changes)
    click.echo(f"updated source {source.id}: {source.url}")


@sources.command("remove")
@click.argument("source_id", type=ID)
@pass_ctx
def sources_remove(ctx: _Context, source_id: int) -> None:
    """Remove a source (its stories stay)."""
    ctx.publisher.remove_source(source_id)
    click.echo(f"removed source {source_id}")


@sources.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@pass_ctx
def sources_import(ctx: _Context, path: str) -> None:
    """Add the feeds an OPML file lists (category blog|media|alert sets the kind)."""
    result = ctx.publisher.import_opml(path)
    click.echo(f"imported {path}: {len(result.added)} added, {len(result.updated)} updated")


@sources.command("export")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@pass_ctx
def sources_export(ctx: _Context, path: str | None) -> None:
    """Write all sources as OPML (to PATH or standard output)."""
    data = ctx.publisher.export_opml()
    if path:
        try:
            Path(path).write_bytes(data)
        except OSError as e:
            raise click.UsageError(f"cannot write {path}: {e.strerror}") from None
        click.echo(f"wrote {path}")
    else:
        click.echo(data.decode("utf-8"), nl=False)


# -- fetching --------------------------------------------------------------------------

def _fetch_line(result: FetchResult) -> str:
    name = result.source.title or result.source.url
    if result.outcome is FetchOutcome.FAILED:
        return f"FAILED  {result.source.id:>4} {name}: {result.error}"
    if result.outcome is FetchOutcome.NOT_MODIFIED:
        return f"same    {result.source.id:>4} {name}"
    if result.outcome is FetchOutcome.SKIPPED:
        return (f"skipped {result.source.id:>4} {name}: backing off until {_when(result.source.next_poll_at)}"
                f" after {result.source.last_error} (--force polls it now)")
    line = f"ok      {result.source.id:>4} {name}: {result.new} new, {result.updated} updated"
    if result.problem:
        line += f" (feed defect: {result.problem})"
    if result.moved_to:
        line += f" (moved to {result.moved_to})"
    return line


def _summarise(results: list[FetchResult]) -> str:
    skipped = [r.source.next_poll_at for r in results if r.outcome is FetchOutcome.SKIPPED]
    results = [r for r in results if r.outcome is not FetchOutcome.SKIPPED]
    failed = sum(not r.ok for r in results)
    return (
        f"fetched {count(len(results), 'source')}: {sum(r.new for r in results)} new, "
        f"{sum(r.updated for r in results)} updated, "
        f"{sum(r.unchanged for r in results) + sum(r.outcome is FetchOutcome.NOT_MODIFIED for r in results)}"
        f" unchanged, {failed} failed"
        # until the last of them may be polled again
        + (f"; {len(skipped)} skipped (backing off, until {_when(max(d for d in skipped if d))})" if skipped else "")
    )


def _run_fetch(publisher: Publisher, source_ids: list[int] | None, due_only: bool,
               quiet_lines: bool, force: bool = False) -> list[FetchResult]:
    total = len(source_ids) if source_ids else publisher.count_sources_to_fetch(due_only=due_only)
    results = []
    with _progress(publisher.fetch_sources(source_ids, due_only=due_only, force=force), total,
                   "fetching") as (items, echo):
        for result in items:
            results.append(result)
            if not quiet_lines or not result.ok:
                echo(_fetch_line(result), not result.ok)
    return results


@cli.command()
@click.option("--source", "source_ids", type=ID, multiple=True,
              help="Only this source (repeatable), even while it is backing off.")
@click.option("--due", is_flag=True, help="Only sources whose next poll time has come.")
@click.option("--force", is_flag=True,
              help="Also poll sources backing off after failures or a server's Retry-After.")
@click.option("--quiet", "-q", is_flag=True, help="Only the sources that failed, and the summary.")
@json_option
@pass_ctx
def fetch(ctx: _Context, source_ids: tuple[int, ...], due: bool, force: bool, quiet: bool, as_json: bool) -> None:
    """Poll sources and store new and changed stories: a line per source and a summary.
    Exit 1 if any source failed.

    Sources backing off (after failures, or as their server asked) are skipped
    unless named with --source or --force is given.
    """
    if as_json:
        results = list(ctx.publisher.fetch_sources(list(source_ids) or None, due_only=due, force=force))
        _echo_json(results)
    else:
        results = _run_fetch(ctx.publisher, list(source_ids) or None, due, quiet_lines=quiet, force=force)
        click.echo(_summarise(results))
    if any(not r.ok for r in results):
        sys.exit(EXIT_PARTIAL)


# -- stories ---------------------------------------------------------------------------

@cli.group()
def stories() -> None:
    """Stored stories and press items."""


def _status(s: Story, reviewable: frozenset[SourceKind]) -> str:
    """``press`` for a press item that waits for nobody: it only counts as coverage."""
    return "press" if s.status is StoryStatus.NEW and s.kind not in reviewable else s.status.value


def _story_line(s: Story, reviewable: frozenset[SourceKind]) -> str:
    return (f"{s.id:>5}  {_when(s.published_at)}  {_status(s, reviewable):<8} {s.kind.value:<5} "
            f"{s.title}  [{s.source_title or '-'}]")


@stories.command("list")
@click.option("--kind", type=kind_choice)
@click.option("--source", "source_id", type=ID)
@click.option("--organisation")
@municipality_option
@click.option("--status", type=click.Choice([s.value for s in StoryStatus]))
@click.option("--since", type=DATE, help="Published on or after this day (YYYY-MM-DD).")
@click.option("--search", "text", help="Words in the title or text.")
@limit_option
@json_option
@pass_ctx
def stories_list(ctx: _Context, kind: str | None, source_id: int | None, organisation: str | None,
                 municipality: str | None, status: str | None, since: date | None,
                 text: str | None, limit: int, as_json: bool) -> None:
    """Stories, newest first."""
    criteria = StoryFilter(
        kind=SourceKind(kind) if kind else None, source_id=source_id, organisation=organisation,
        municipality=municipality,
        status=StoryStatus(status) if status else None,
        since=start_of_day(since) if since else None, text=text, limit=limit,
    )
    items = ctx.publisher.list_stories(criteria)
    if as_json:
        _echo_json(items)
        return
    for story in items:
        click.echo(_story_line(story, ctx.publisher.reviewable_kinds()))
    if not items:
        click.echo("no stories match")


@stories.command("show")
@click.argument("story_id", type=ID)
@json_option
@pass_ctx
def stories_show(ctx: _Context, story_id: int, as_json: bool) -> None:
    """One story in full."""
    s = ctx.publisher.get_story(story_id)
    if as_json:
        _echo_json(s)
        return
    click.echo(f"{s.title}\n{'=' * min(len(s.title), 78)}")
    for label, value in (
        ("id", s.id), ("status", _status(s, ctx.publisher.reviewable_kinds())), ("kind", s.kind.value), ("url", s.url),
        ("source", f"{s.source_title or '-'} ({s.source_id})"), ("organisation", s.organisation),
        ("municipality", s.municipality), ("author", s.author),
        ("published", _when(s.published_at)), ("first seen", _when(s.first_seen_at)),
        ("image", s.image_url), ("sightings", s.sightings), ("words", s.word_count),
    ):
        click.echo(f"{label:>12}: {value if value is not None else '-'}")
    click.echo(f"\n{s.text}")


by_option = click.option("--by", help="Who decides [default: the OS user].")


def _decision_line(d: Decision) -> str:
    note = f": {d.note}" if d.note else ""
    return f"story {d.story_id}: {d.from_status.value} -> {d.to_status.value} by {d.decided_by}{note}"


@stories.command("approve")
@click.argument("story_ids", type=ID, nargs=-1, required=True)
@click.option("--note")
@by_option
@pass_ctx
def stories_approve(ctx: _Context, story_ids: tuple[int, ...], note: str | None, by: str | None) -> None:
    """Approve stories for syndication."""
    for decision in ctx.publisher.approve_story(*story_ids, by=by, note=note):
        click.echo(_decision_line(decision))


@stories.command("reject")
@click.argument("story_ids", type=ID, nargs=-1, required=True)
@click.option("--reason", required=True, help="Why; kept in the story's history.")
@by_option
@pass_ctx
def stories_reject(ctx: _Context, story_ids: tuple[int, ...], reason: str, by: str | None) -> None:
    """Reject stories (they can still be approved later)."""
    for decision in ctx.publisher.reject_story(*story_ids, reason=reason, by=by):
        click.echo(_decision_line(decision))


@stories.command("retract")
@click.argument("story_id", type=ID)
@click.option("--note")
@click.option("--include-unlinked", is_flag=True,
              help="Remove copies members unlinked too (also for a story retracted before).")
@by_option
@pass_ctx
def stories_retract(ctx: _Context, story_id: int, note: str | None, include_unlinked: bool, by: str | None) -> None:
    """Retract an approved story and remove it from every destination.

    A copy a member unlinked ("ontkoppeld") stays, and is listed, unless --include-unlinked.
    """
    results = ctx.publisher.retract_story(story_id, by=by, note=note, include_unlinked=include_unlinked)
    click.echo(f"story {story_id} retracted" + ("" if results else "; no destination holds a copy"))
    _report_syndication(results)


@stories.command("unlink")
@click.argument("story_id", type=ID)
@click.option("--destination", "destinations", multiple=True, required=True,
              help="The destination whose copy is left alone from now on (repeatable).")
@by_option
@pass_ctx
def stories_unlink(ctx: _Context, story_id: int, destinations: tuple[str, ...], by: str | None) -> None:
    """Leave a story's copy on a destination as it is: no further updates, no retraction
    without --include-unlinked; `forget` still removes it. Recorded with who and when."""
    for name in destinations:
        record = ctx.publisher.unlink_copy(story_id, name, by=by)
        click.echo(f"story {story_id} on {name}: {_unlinked_line(record)}")


def _unlinked_line(record: Syndication) -> str:
    return (f"{_state_label('unlinked')} {_when(record.unlinked_at)} by {record.unlinked_by}"
            f" ({record.unlinked_how})")


@stories.command("history")
@click.argument("story_id", type=ID)
@json_option
@pass_ctx
def stories_history(ctx: _Context, story_id: int, as_json: bool) -> None:
    """Every decision on a story (who, when, why) and where it was published."""
    decisions = ctx.publisher.story_history(story_id)
    records = ctx.publisher.syndications(story_id)
    if as_json:
        _echo_json({"decisions": decisions, "syndications": records})
        return
    for d in decisions:
        click.echo(f"{_when(d.decided_at)}  {_decision_line(d)}")
    if not decisions:
        click.echo("no decisions yet")
    for r in records:
        where = r.remote_url or r.remote_id or "-"
        error = f" (last error: {r.last_error})" if r.last_error else ""
        click.echo(f"{_when(r.updated_at)}  {r.destination}: {_state_label(r.state.value)} {where}{error}")
        if r.unlinked_at is not None:
            click.echo(f"{_when(r.unlinked_at)}  {r.destination}: {_unlinked_line(r)}")


REVIEW_KEYS = "[a]pprove  [r]eject  [s]kip  [o]pen  [q]uit"


@cli.command()
@by_option
@pass_ctx
def review(ctx: _Context, by: str | None) -> None:
    """Go through new stories one by one, the longest waiting first: [a]pprove, [r]eject,
    [s]kip, [o]pen, [q]uit."""
    publisher = ctx.publisher  # a missing config is said first
    if not sys.stdin.isatty():
        raise click.UsageError("review needs a terminal; use `stories approve` or `stories reject`")
    queue = publisher.review_queue()
    if not queue:
        click.echo("nothing to review")
        return
    done = {"goedgekeurd": 0, "afgewezen": 0, "overgeslagen": 0}
    for number, story in enumerate(queue, 1):
        click.secho(f"\n[{number}/{len(queue)}] {story.title}", bold=True)
        click.echo(f"{story.source_title or '-'} | {story.organisation or '-'} | "
                   f"{_municipality_name(story.municipality)} | {_when(story.published_at)} | "
                   f"{story.word_count} woorden\n{story.url or ''}\n\n{story.excerpt}\n")
        outcome = _review_one(publisher, story, by)
        if outcome is None:
            break
        done[outcome] += 1
    summary = ", ".join(f"{n} {word}" for word, n in done.items())
    click.echo(summary + ("; next: syndicate" if done["goedgekeurd"] else ""))


def _review_one(publisher: Publisher, story: Story, by: str | None) -> str | None:
    """Ask until a decision is taken; what happened (a key of the summary), or None to quit."""
    while True:
        click.echo(f"{REVIEW_KEYS} > ", nl=False)
        key = click.getchar().lower()
        click.echo(key)
        try:
            if key == "a":
                publisher.approve_story(story.id, by=by)
                click.echo(f"story {story.id} approved")
                return "goedgekeurd"
            if key == "r":
                publisher.reject_story(story.id, reason=click.prompt("reason"), by=by)
                click.echo(f"story {story.id} rejected")
                return "afgewezen"
        except PublisherError as e:  # decided elsewhere meanwhile: say so and go on
            click.echo(f"error: {e}", err=True)
            return "overgeslagen"
        if key == "s":
            click.echo(f"story {story.id} skipped")
            return "overgeslagen"
        if key == "q":
            return None
        if key == "o":
            click.launch(story.url) if story.url else click.echo("this story has no address to open")
        else:
            click.echo(f"{key!r} is not a choice: press a, r, s, o or q")


def _municipality_name(code: str | None) -> str:
    from .municipalities import municipalities

    found = municipalities().get(code or "")
    return found.name if found else "-"


# -- syndication -------------------------------------------------------------------------

#: how copies a member changed or unlinked are called wherever they are shown (the member's words)
STATE_LABELS = {SyndicationState.EDITED.value: "bewerkt door lid", SyndicationState.UNLINKED.value: "ontkoppeld"}


def _state_label(state: str) -> str:
    return STATE_LABELS.get(state, state)


def _syndication_line(r: SyndicationResult) -> str:
    verb = ("would " if r.dry_run else "") + r.action.value
    if r.ok and r.kept_local_edit:
        return (f"kept    {r.destination}: story {r.story_id} {r.title}: {_state_label('edited')}, not updated"
                f" (--overwrite-edited {r.story_id} updates it)")
    if r.ok and r.kept_unlinked:
        what = (f"not retracted (stories retract {r.story_id} --include-unlinked removes it)"
                if r.action is SyndicationAction.RETRACT else "not updated")
        return f"kept    {r.destination}: story {r.story_id} {r.title}: {_state_label('unlinked')}, {what}"
    if r.ok:
        where = f" -> {r.remote_url or r.remote_id}" if (r.remote_url or r.remote_id) else ""
        extra = "".join(f" (note: {w})" for w in r.warnings)
        extra += f" (the copy was {_state_label('unlinked')}: removed all the same)" if r.removed_unlinked else ""
        return f"ok      {r.destination}: {verb} story {r.story_id} {r.title}{where}{extra}"
    return f"FAILED  {r.destination}: {verb} story {r.story_id} {r.title}: {r.error}"


def _report_syndication(results: Iterable[SyndicationResult]) -> list[SyndicationResult]:
    done = []
    for result in results:
        done.append(result)
        click.echo(_syndication_line(result), err=not result.ok)
    return done


@cli.command()
@click.option("--destination", "destinations", multiple=True, help="Only this destination (repeatable).")
@click.option("--dry-run", is_flag=True, help="Show what would be sent where; send nothing.")
@click.option("--overwrite-edited", "overwrite_edited", multiple=True, type=ID, metavar="STORY",
              help="Update this story's copies even where a member's editor changed them (repeatable).")
@json_option
@pass_ctx
def syndicate(ctx: _Context, destinations: tuple[str, ...], dry_run: bool, overwrite_edited: tuple[int, ...],
              as_json: bool) -> None:
    """Publish approved stories, update changed ones, retract retracted ones. Exit 1 on any failure.

    A copy a member's editor changed is left alone ("bewerkt door lid") unless the destination
    has on_local_edit = "overwrite" or the story is named with --overwrite-edited.
    """
    results = ctx.publisher.syndicate(list(destinations) or None, dry_run=dry_run,
                                      overwrite_edited=overwrite_edited)
    if as_json:
        done = list(results)
        _echo_json(done)
    else:
        done = _report_syndication(results)
        failed = sum(not r.ok for r in done)
        if not done:
            click.echo("syndication: nothing to do")
        elif dry_run:
            planned = [(a, sum(r.action is a for r in done)) for a in SyndicationAction]
            click.echo("syndication: would " + ", ".join(f"{a.value} {n}" for a, n in planned if n))
        else:
            click.echo(f"syndication: {len(done) - failed} done, {failed} failed")
    if any(not r.ok for r in done):
        sys.exit(EXIT_PARTIAL)


@cli.group()
def destinations() -> None:
    """Sites and files that receive approved stories (configured in the TOML file)."""


@destinations.command("list")
@json_option
@pass_ctx
def destinations_list(ctx: _Context, as_json: bool) -> None:
    """The configured destinations."""
    items = ctx.publisher.config.destinations
    if as_json:
        _echo_json(items)
        return
    for d in items:
        click.echo(f"{d.name:<16} {d.adapter:<17} {d.url or d.path}  status={d.status}")
    if not items:
        click.echo("no destinations configured: add [[destinations]] to the config file")


@destinations.command("check")
@click.argument("names", nargs=-1)
@json_option
@pass_ctx
def destinations_check(ctx: _Context, names: tuple[str, ...], as_json: bool) -> None:
    """Verify credentials and rights of each destination without posting. Exit 1 on a problem."""
    results = ctx.publisher.check_destinations(list(names) or None)
    if as_json:
        _echo_json(results)
    for r in results if not as_json else []:
        click.echo(f"{'ok' if r.ok else 'PROBLEM':<8} {r.destination}" + (f" (user {r.user})" if r.user else ""))
        for line in r.problems:
            click.echo(f"         - {line}")
        note = canonical_note(r)
        for line in r.details + ((note,) if note else ()):
            click.echo(f"           {line}")
    if any(not r.ok for r in results):
        sys.exit(EXIT_PARTIAL)


# -- coverage and reports ------------------------------------------------------------------

@cli.group()
def coverage() -> None:
    """Press mentions of social work and our members."""


@coverage.command("list")
@click.option("--organisation", help="Only mentions of this member organisation.")
@municipality_option
@click.option("--outlet", help="Only this outlet (domain or name).")
@click.option("--theme", help="Only mentions in this theme (zorg, wonen, ...).")
@click.option("--since", type=DATE, help="Published on or after this day (YYYY-MM-DD).")
@click.option("--until", type=DATE, help="Published on or before this day (YYYY-MM-DD).")
@click.option("--not-counted", is_flag=True, help="The items that matched nothing or are excluded.")
@limit_option
@json_option
@pass_ctx
def coverage_list(ctx: _Context, organisation: str | None, municipality: str | None, outlet: str | None,
                  theme: str | None, since: date | None, until: date | None, not_counted: bool, limit: int,
                  as_json: bool) -> None:
    """Mentions, newest first."""
    rows = ctx.publisher.list_mentions(
        since=start_of_day(since) if since else None,
        until=start_of_day(until + timedelta(days=1)) if until else None,
        counted=not not_counted, limit=limit, organisation=organisation, municipality=municipality,
        outlet=outlet, theme=theme)
    if as_json:
        _echo_json(rows)
        return
    for m in rows:
        extra = ", ".join(m.organisations + m.terms)
        click.echo(f"{_when(m.published_at)}  {m.outlet} [{m.outlet_type.value}] {m.municipality or '-'}: "
                   f"{m.title}  <{m.url}>  ({extra or '-'})")
    if not rows:
        click.echo("no mentions match" if organisation or municipality or outlet or theme or since or until
                   else "no mentions")


@coverage.command("match")
@click.option("--all", "rematch", is_flag=True,
              help="Match every kept item again after a watchlist or settings change; started again after an"
                   " interruption, it continues where it stopped.")
@pass_ctx
def coverage_match(ctx: _Context, rematch: bool) -> None:
    """Match media and alert items to the watchlist, outlets and municipalities."""
    with _progress_bar("matching") as bar:
        try:
            s = ctx.publisher.match_coverage(rematch=rematch, progress=bar[0] if bar else None)
        except KeyboardInterrupt:
            if rematch:
                click.echo("the items matched so far are kept: `coverage match --all` continues", err=True)
            raise
    click.echo(f"matched {count(s.items, 'item')}: {s.counted} counted, {count(s.own_channel, 'own channel')},"
               f" {count(s.new_outlets, 'new outlet')}")


@cli.group()
def outlets() -> None:
    """Media outlets by domain: name, type, municipality."""


@outlets.command("list")
@click.option("--unclassified", is_flag=True, help="Only outlets an editor still has to classify.")
@json_option
@pass_ctx
def outlets_list(ctx: _Context, unclassified: bool, as_json: bool) -> None:
    """Known outlets."""
    items = ctx.publisher.list_outlets(unclassified_only=unclassified)
    if as_json:
        _echo_json(items)
        return
    for o in items:
        click.echo(f"{o.domain:<32} {o.type.value:<18} {_municipality_name(o.municipality):<20} {o.name}")
    if not items:
        click.echo("no outlets" + (" to classify" if unclassified else ""))


@outlets.command("set")
@click.argument("domain")
@click.option("--name")
@click.option("--type", "outlet_type", type=click.Choice([t.value for t in OutletType]))
@municipality_option
@click.option("--province")
@click.option("--reach", type=COUNT)
@pass_ctx
def outlets_set(ctx: _Context, domain: str, name: str | None, outlet_type: str | None,
                municipality: str | None, province: str | None, reach: int | None) -> None:
    """Classify an outlet (created if unknown)."""
    o = ctx.publisher.set_outlet(domain, name=name, type=outlet_type, municipality=municipality,
                                 province=province, reach=reach)
    click.echo(f"{o.domain}: {o.name}, {o.type.value}, {_municipality_name(o.municipality)}")


@outlets.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@pass_ctx
def outlets_import(ctx: _Context, path: str) -> None:
    """Create or update outlets from a CSV (domain,name,type,municipality,province,reach)."""
    click.echo(f"imported {count(ctx.publisher.import_outlets(path), 'outlet')} from {path}")


@cli.group()
def report() -> None:
    """The coverage report: build, send, and the outbox."""


period_options = [
    click.option("--period", type=click.Choice(["week", "month", "quarter"]),
                 help="The last complete week, month (the default) or quarter (Europe/Amsterdam)."),
    click.option("--from", "start", type=DATE, help="First day (YYYY-MM-DD), with --to."),
    click.option("--to", "end", type=DATE, help="Last day (YYYY-MM-DD), included."),
]


organisation_option = click.option(
    "--organisation", metavar="NAME",
    help="The report of this member organisation (its [[report.members]] language and recipients).")


def _with_period(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(period_options):
        command = option(command)
    return command


@report.command("build")
@_with_period
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="Write the HTML report to this file, and every mention to a CSV file beside it.")
@click.option("--language", type=click.Choice(["nl", "en"]))
@organisation_option
@pass_ctx
def report_build(ctx: _Context, period: str | None, start: date | None, end: date | None,
                 output: str | None, language: str | None, organisation: str | None) -> None:
    """Build the report; print the text version, or write the HTML and CSV with --output.
    Nothing is sent."""
    chosen = ctx.publisher.report_period(period, start, end)
    if output:
        csv_file, subject = ctx.publisher.write_report(chosen, Path(output), language=language,
                                                       organisation=organisation)
        click.echo(f"wrote {output} and {csv_file}: {subject}")
    else:
        data = ctx.publisher.build_report(chosen, language=language, organisation=organisation)
        click.echo(ctx.publisher.render_report(data).text)


@report.command("send")
@_with_period
@organisation_option
@pass_ctx
def report_send(ctx: _Context, period: str | None, start: date | None, end: date | None,
                organisation: str | None) -> None:
    """Build the report, store it in the outbox and e-mail it. Exit 1 if it is not sent yet."""
    chosen = ctx.publisher.report_period(period, start, end)
    deliveries = ctx.publisher.send_report(chosen, organisation=organisation)
    for d in deliveries:
        click.echo(f"sent {d.key}" if d.ok else f"NOT SENT {d.key}: {d.error} (kept in the outbox)",
                   err=not d.ok)
    if not deliveries:
        click.echo("already sent or being sent by another run (see `report outbox`)")
    if any(not d.ok for d in deliveries):
        sys.exit(EXIT_PARTIAL)


@report.command("outbox")
@click.option("--retry", is_flag=True, help="Send every pending message now.")
@json_option
@pass_ctx
def report_outbox(ctx: _Context, retry: bool, as_json: bool) -> None:
    """Stored messages: sent, pending, failed."""
    if retry:
        for d in ctx.publisher.deliver_outbox(force=True):
            click.echo(f"sent {d.key}" if d.ok else f"NOT SENT {d.key}: {d.error}", err=not d.ok)
    items = ctx.publisher.outbox()
    if as_json:
        _echo_json(items)
        return
    for item in items:
        when = _when(item.sent_at) if item.sent_at else f"{item.attempts} attempts"
        error = f": {item.last_error}" if item.last_error and item.state != "sent" else ""
        click.echo(f"{item.state:<8} {when:<16} {item.subject}{error}")
    if not items:
        click.echo("the outbox is empty")


@cli.group()
def webhooks() -> None:
    """Webhook events: how they stand, and delivering them."""


@webhooks.command("list")
@json_option
@pass_ctx
def webhooks_list(ctx: _Context, as_json: bool) -> None:
    """Events per webhook: pending (not tried yet), failed (retried later) and delivered."""
    counts = ctx.publisher.webhook_counts()
    if as_json:
        _echo_json(counts)
        return
    for c in counts:
        click.echo(f"{c.webhook}: {c.pending} pending, {c.failed} failed, {c.delivered} delivered")
    if not counts:
        click.echo("no webhooks configured")


@webhooks.command("deliver")
@click.option("--retry", is_flag=True, help="Also send events that are waiting after a failure.")
@pass_ctx
def webhooks_deliver(ctx: _Context, retry: bool) -> None:
    """Send the events that are due. Exit 1 if one could not be delivered."""
    deliveries = ctx.publisher.deliver_webhooks(force=retry)
    for d in deliveries:
        click.echo(f"delivered {d.type} {d.event_id} to {d.webhook}" if d.ok
                   else f"NOT DELIVERED {d.type} {d.event_id} to {d.webhook}: {d.error} (retried later)",
                   err=not d.ok)
    if not deliveries:
        click.echo("nothing to deliver")
    if any(not d.ok for d in deliveries):
        sys.exit(EXIT_PARTIAL)


# -- the main job ------------------------------------------------------------------------

@cli.command()
@click.option("--quiet", "-q", is_flag=True, help="Print nothing unless something failed (for cron).")
@pass_ctx
def run(ctx: _Context, quiet: bool) -> None:
    """One cycle for cron: fetch, auto-approve, syndicate, match coverage, reports, outbox, webhooks.

    Exit 0 all good, 1 some items failed, 2 configuration error, 75 another run in progress.
    """
    def show(item: Any) -> None:
        if isinstance(item, FetchResult) and (not item.ok or not quiet) and item.outcome is not FetchOutcome.NOT_MODIFIED:
            click.echo(_fetch_line(item), err=not item.ok)
        elif isinstance(item, SyndicationResult) and (not item.ok or not quiet):
            click.echo(_syndication_line(item), err=not item.ok)

    try:
        result = ctx.publisher.run_cycle(on_item=show)
    except AlreadyRunningError:
        if quiet:  # not an error (see the exit codes): cron must not mail about it
            sys.exit(EXIT_BUSY)
        raise
    for error in result.errors:
        click.echo(f"error: {error}", err=True)
    for html_file, csv_file in result.written if not quiet else ():
        click.echo(f"wrote the report {html_file} and {csv_file}")
    if not quiet or not result.ok:
        click.echo(result.summary(), err=not result.ok and quiet)
    if not result.ok:
        sys.exit(EXIT_PARTIAL)


@cli.command()
@json_option
@pass_ctx
def status(ctx: _Context, as_json: bool) -> None:
    """Health at a glance: failing sources, destinations, outbox, database, last run."""
    st = ctx.publisher.status()
    if as_json:
        _echo_json(st)
        return
    run_line = "never" if st.last_run is None else (
        f"{_when(st.last_run.finished_at)} on {st.last_run.host}: {'ok' if st.last_run.ok else 'PROBLEMS'}"
        f" - {st.last_run.summary}")
    size = f"{st.database_bytes / 1e6:.1f} MB" if st.database_bytes is not None else "size unknown"
    click.echo(f"last run:     {run_line}")
    for error in st.last_run.errors if st.last_run else ():
        click.echo(f"              {error}")
    click.echo(f"database:     {st.database} ({size}, schema version {st.schema_version})")
    click.echo(f"sources:      {st.sources}, failing: {len(st.failing_sources)}")
    for f in st.failing_sources:
        state = "switched off" if not f.active else f"failing x{f.consecutive_failures}"
        click.echo(f"  {f.id:>4} {f.title}: {state} since {_when(f.last_success_at)}: {f.error}")
    for d in st.destinations:
        counts = ", ".join(f"{n} {_state_label(state)}" for state, n in sorted(d.states.items())) \
            or "nothing sent yet"
        error = f"; last error: {d.last_error}" if d.last_error else ""
        click.echo(f"destination:  {d.name} ({d.adapter}): last success {_when(d.last_success)}; {counts}{error}")
    outbox = ", ".join(f"{n} {state}" for state, n in sorted(st.outbox.items())) or "empty"
    click.echo(f"outbox:       {outbox}")
    for conflict in st.review_conflicts:
        click.echo(f"conflict:     {conflict}")


@cli.command()
@pass_ctx
def doctor(ctx: _Context) -> None:
    """Check config, database, destinations, SMTP and file rights; say what to fix. Exit 1 on a problem."""
    findings = doctor_checks(ctx.config)  # without a publisher: the database may be what is broken
    for f in findings:
        click.echo(f"{'ok' if f.ok else 'FIX':<4} {f.check}: {f.message}")
    if any(not f.ok for f in findings):
        sys.exit(EXIT_PARTIAL)


def _months(value: str | None) -> int | None:
    if value is None:
        return None
    number, unit = value[:-1], value[-1:].lower()
    if not is_whole_number(number) or unit not in ("m", "y"):
        raise click.BadParameter(f"{value!r}: use months or years, e.g. 24m or 2y")
    return int(number) * (12 if unit == "y" else 1)


@cli.command()
@click.option("--older-than", help="Age, e.g. 24m or 2y [default: retention.prune_after_months].")
@pass_ctx
def prune(ctx: _Context, older_than: str | None) -> None:
    """Remove stored text and HTML of old items (AVG); the counts reports need stay."""
    click.echo(f"pruned the text of {count(ctx.publisher.prune(_months(older_than)), 'item')}")


@cli.command()
@click.argument("story")
@click.option("--reason", help="Why (kept with the suppression, without the content).")
@by_option
@pass_ctx
def forget(ctx: _Context, story: str, reason: str | None, by: str | None) -> None:
    """Erase a story (ID or URL) here and on every destination, and never import it again."""
    result = ctx.publisher.forget(story, by=by, reason=reason)
    _report_syndication(result.results)
    never = f"{result.url}: it will never be imported" if result.url else "it will not be imported again"
    if result.story_id is None:
        click.echo(f"suppressed {never}")
    elif result.ok:
        click.echo(f"erased story {result.story_id} here and on every destination; {never}")
    else:
        click.echo(f"suppressed {never}; some destinations could not delete their copy of story"
                   f" {result.story_id}: run `forget` again later", err=True)
        sys.exit(EXIT_PARTIAL)


@cli.command()
@pass_ctx
def daemon(ctx: _Context) -> None:
    """Run the jobs on the timetable from the config until SIGTERM or Ctrl-C."""
    stop = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        logging.getLogger(__name__).info("stopping (signal %d)", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    publisher = ctx.publisher
    click.echo(f"daemon started (pid {os.getpid()}); stop with SIGTERM or Ctrl-C", err=True)
    run_daemon(publisher, stop)
    click.echo("daemon stopped", err=True)


@cli.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
@pass_ctx
def db_upgrade(ctx: _Context) -> None:
    """Bring the database schema to this version (needed for PostgreSQL)."""
    click.echo(f"database schema at version {upgrade_database(ctx.config)}")


@db.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@pass_ctx
def db_export(ctx: _Context, path: str) -> None:
    """Write the whole database to PATH (JSON Lines; gzipped when PATH ends in .gz)."""
    counts = ctx.publisher.export_store(path)
    click.echo(f"wrote {path}: {_rows(counts)}")


@db.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@pass_ctx
def db_import(ctx: _Context, path: str) -> None:
    """Load an export into this new, empty database (for PostgreSQL: `db upgrade` first)."""
    counts = ctx.publisher.import_store(path)
    click.echo(f"imported {path}: {_rows(counts)}")


def _rows(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {table}" for table, n in counts.items() if n) or "no rows"

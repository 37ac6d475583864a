"""The TOML configuration: loaded, validated, with secrets read from the environment.

Secrets are never written in the file: a setting ending in ``_env`` names the
environment variable that holds the secret.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .bounds import MAX_MONTHS
from .exceptions import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger(__name__)

ENV_CONFIG = "SOCIAALWERK_PUBLISHER_CONFIG"
DEFAULT_FILENAME = "sociaalwerk-publisher.toml"
DEFAULT_CONTACT = "https://www.sociaalwerknederland.nl"


@dataclass(frozen=True)
class DatabaseConfig:
    #: SQLAlchemy URL; default: a SQLite file beside the config file.
    url: str = ""


@dataclass(frozen=True)
class FetchConfig:
    concurrency: int = 16
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    #: wall-clock limit for one whole download, from connecting (TLS included) to the last byte
    #: of the last redirect, so a trickling server cannot hang a run
    deadline: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    poll_interval_minutes: int = 30
    backoff_min_minutes: int = 60
    backoff_max_minutes: int = 24 * 60
    #: processes that parse feeds in parallel; 0 means one per CPU core
    parse_processes: int = 0
    contact_url: str = DEFAULT_CONTACT


@dataclass(frozen=True)
class SourcesConfig:
    #: an OPML file whose feeds are added (or updated) at the start of each run
    opml: str = ""


@dataclass(frozen=True)
class ReviewConfig:
    auto_approve_trusted: bool = False
    #: cli: editors approve with `stories approve` / `review`; wordpress: the hub's
    #: "Pending Review" queue is the approval queue
    mode: str = "cli"
    #: the destination whose WordPress is the approval queue (mode = "wordpress")
    hub: str = ""
    #: who receives the daily digest of waiting stories [default: email.recipients]
    digest_recipients: tuple[str, ...] = ()


TERM_TARGETS = ("category", "tag", "none")
POST_STATUSES = ("publish", "draft", "pending")

#: The campaign's domains, with Dutch keywords that place a story in them: a keyword matches a
#: whole word, one ending in "*" every word it begins (see :mod:`.themes`, and the README).
DEFAULT_THEMES: dict[str, tuple[str, ...]] = {
    "zorg": ("zorg", "zorgverlener*", "mantelzorg*", "thuiszorg", "ouderenzorg", "ggz", "huisarts*",
             "wijkverpleeg*", "verpleeg*", "dementie", "dement", "gezondheid*", "ziekenhuis*", "wmo",
             "psychisch*", "zorgkosten", "zorgboerderij*", "ouderenwerk*", "jeugdzorg"),
    "onderwijs": ("onderwijs*", "school", "scholen", "basisschool*", "basisscholen", "schoolplein*",
                  "leerling*", "leraar", "leraren", "docent*", "huiswerk*", "schoolmaatschappelijk*",
                  "mbo", "hbo", "student", "studenten", "schoolverlat*", "laaggeletterd*", "klaslokaal"),
    "wonen": ("wonen", "woning*", "huur", "huren", "huurder*", "huurprijs*", "huurachterstand*", "dakloos*",
              "daklozen*", "thuisloos*", "huisvesting*", "woningcorporatie*", "uithuiszetting*",
              "zwerfjongeren", "nachtopvang", "woonwijk*", "woonruimte", "woonvoorziening*", "verhuurder*"),
    "welzijn": ("ontmoeting*", "buurthuis", "buurthuizen", "buurtkamer*", "huiskamer*", "wijkcentrum*",
                "vrijwilliger*", "eenzaam*", "eenzame", "buurtmaaltijd*", "koffieochtend*", "welzijn op recept",
                "samenkomen", "activiteitencentrum*", "dagbesteding", "maatje", "maatjes*", "beweeg*"),
    "werk": ("werkloos*", "werkzoekend*", "baan", "banen", "re-integratie*", "werkgever*", "bijstand*",
             "uitkering*", "participatiewet", "arbeidsmarkt*", "sollicit*", "vacature*", "werkervaring*",
             "stageplek*", "betaald werk", "werkloosheid", "jobcoach*"),
    "armoede en schulden": ("armoede*", "schuld", "schulden*", "schuldhulp*", "schuldsanering", "geldzorgen",
                            "voedselbank*", "minima", "energiearmoede", "toeslag*", "betalingsachterstand*",
                            "rondkomen", "kledingbank*", "geldproblemen", "financiele problemen"),
    "jeugd": ("jeugd*", "jongeren*", "jongere", "kinderen", "kind", "tieners", "tiener*", "pubers", "puber",
              "kinderopvang", "zwerfjongeren"),
    "veiligheid": ("veiligheid*", "onveilig*", "overlast*", "criminaliteit", "crimineel", "criminele",
                   "huiselijk geweld", "geweld*", "radicalisering*", "ondermijning", "drugs*", "politie*",
                   "wijkagent*", "straatintimidatie", "steekpartij*", "inbraak*", "inbraken", "vandalisme"),
}


@dataclass(frozen=True)
class DestinationFilter:
    """Which stories a destination receives; every non-empty list must match."""

    kinds: tuple[str, ...] = ("blog",)
    organisations: tuple[str, ...] = ()
    municipalities: tuple[str, ...] = ()  #: CBS codes
    themes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TermMapping:
    """How a story's facts become WordPress terms; missing terms are created."""

    categories: tuple[str, ...] = ()  #: added to every post
    tags: tuple[str, ...] = ()  #: added to every post
    organisation: str = "category"  #: category | tag | none
    municipality: str = "category"
    theme: str = "tag"
    source: str = "tag"  #: the source's title


@dataclass(frozen=True)
class DestinationConfig:
    """A site (or file) that receives approved stories."""

    name: str
    adapter: str  #: wordpress-rest | wordpress-xmlrpc | wxr | a plugged-in name
    url: str = ""  #: the site's address (WordPress adapters)
    username: str = ""
    password_env: str = ""  #: environment variable holding the application password
    path: str = ""  #: the file to write (wxr), relative to the config file
    status: str = "publish"  #: publish | draft | pending
    post_date: str = "original"  #: original | now
    template: str = "post.html.j2"
    update_on_change: bool = True
    delete_on_retract: bool = False  #: delete for good instead of moving to the trash
    #: a copy a member's editor changed: "keep" leaves it alone, "overwrite" updates it anyway
    on_local_edit: str = "keep"
    #: a copy the member put in a category or tag of this name (or slug) is unlinked: it gets
    #: no further updates; "" switches unlinking by term off
    unlink_term: str = "niet-bijwerken"
    timeout: float = 30.0  #: seconds for each whole request to the site, connect to last byte
    filter: DestinationFilter = field(default_factory=DestinationFilter)
    terms: TermMapping = field(default_factory=TermMapping)


@dataclass(frozen=True)
class CoverageConfig:
    """What counts as press coverage of social work and our members."""

    #: watch terms; default: the campaign's list (sociaal werk, welzijnswerk, jongerenwerk, ...)
    terms: tuple[str, ...] = ()
    #: a text containing one of these is not counted
    exclusions: tuple[str, ...] = ()
    #: member organisations and their aliases; source organisations are added automatically
    organisations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: ambassadors' names; those on sources are added automatically
    ambassadors: tuple[str, ...] = ()
    #: candidates without a match are kept this long, so a changed watchlist can re-match them
    keep_unmatched_days: int = 90
    #: pickups: texts at least this similar are one story (applies to new items; after
    #: lowering it, `coverage match --all` groups the earlier ones again)
    cluster_threshold: float = 0.6
    #: fetch the article page when a feed item carries fewer words than ``fulltext_below_words``
    #: and match its text too (needs the extra `fulltext`: pip install 'sociaalwerk-publisher[fulltext]')
    fulltext: bool = False
    fulltext_below_words: int = 60


@dataclass(frozen=True)
class CampaignConfig:
    """What the national office's campaign names: its "gouden gemeenten" and "gouden" names."""

    #: municipalities (CBS codes or names) the report shows apart, each with its figure
    gouden_gemeenten: tuple[str, ...] = ()
    #: persons and institutions matched as watch terms and shown apart in the report
    gouden: tuple[str, ...] = ()


@dataclass(frozen=True)
class MemberReportConfig:
    """A member organisation that gets its own report, on the national report's schedule."""

    organisation: str  #: as named on sources or in ``[coverage] organisations``
    recipients: tuple[str, ...]
    language: str = ""  #: nl | en; empty: ``[report] language``


@dataclass(frozen=True)
class ReportConfig:
    language: str = "nl"  #: nl | en
    #: the reports `run` makes once their period is complete: each week (on Monday),
    #: month (on the 1st) or quarter, in Europe/Amsterdam time; "2026-11" or "2026-Q4" is
    #: that month or quarter, made once
    schedule: tuple[str, ...] = ("week", "month")
    #: also write each report as an HTML file, with its CSV, into this folder (relative to the config)
    output_folder: str = ""
    #: the e-mail lists the newest this many mentions; the CSV attachment has every one
    listed_mentions: int = 200
    #: ``[[report.members]]``: a report of its own for each of these member organisations
    members: tuple[MemberReportConfig, ...] = ()


@dataclass(frozen=True)
class AlertRuleConfig:
    """An alert rule: new mentions it matches are mailed to its recipients, once a cycle."""

    name: str
    recipients: tuple[str, ...]
    #: mentions of these member organisations (a name or one of its ``[coverage]`` aliases)
    organisations: tuple[str, ...] = ()
    #: mentions naming one of the campaign's ``gouden`` persons and institutions
    gouden: bool = False
    #: mentions placed in one of the campaign's ``gouden_gemeenten``
    gouden_gemeenten: bool = False
    #: mentions whose text has one of these words (as theme keywords: whole words, ``*`` a prefix)
    terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertsConfig:
    rules: tuple[AlertRuleConfig, ...] = ()
    #: "22:00-07:00": no alert mail in this time (Europe/Amsterdam); what comes in is sent after
    quiet_hours: str = ""
    #: a spike: mentions of the last 24 hours above the previous 7 days' daily mean plus
    #: ``spike_k`` standard deviations, and at least ``spike_minimum``; mailed to these
    spike_recipients: tuple[str, ...] = ()
    spike_k: float = 3.0
    spike_minimum: int = 10


#: What a webhook may want: a story approved, published on a destination (with the copy's
#: address), its copy updated, the story retracted, a new press mention, a report e-mailed.
WEBHOOK_EVENTS = ("story.approved", "story.published", "story.updated", "story.retracted", "mention.new",
                  "report.sent")


@dataclass(frozen=True)
class WebhookConfig:
    """An address that receives events as signed JSON POSTs (see :mod:`.webhooks`)."""

    name: str
    url: str
    #: the environment variable holding the secret the signature is made with
    secret_env: str
    events: tuple[str, ...] = WEBHOOK_EVENTS
    timeout: float = 10.0  #: seconds for each whole request, connect to last byte


@dataclass(frozen=True)
class EmailConfig:
    host: str = ""
    port: int = 587
    security: str = "starttls"  #: starttls | ssl | none (only for 127.0.0.1)
    username_env: str = ""
    password_env: str = ""
    sender: str = ""
    recipients: tuple[str, ...] = ()
    timeout: float = 60.0  #: seconds for each SMTP step as a whole (connecting and logging in, each message)


@dataclass(frozen=True)
class DaemonConfig:
    """The `daemon` timetable (minutes between runs of each job)."""

    fetch_minutes: int = 15
    syndicate_minutes: int = 15
    coverage_minutes: int = 60
    outbox_minutes: int = 15
    #: reports whose period is complete are made from this hour on (Europe/Amsterdam)
    report_hour: int = 7


@dataclass(frozen=True)
class RetentionConfig:
    #: `prune` without --older-than removes the text and HTML of items older than this
    prune_after_months: int = 24


@dataclass(frozen=True)
class SecurityConfig:
    #: let URLs from feed content (images, article pages) reach private and loopback
    #: addresses; for intranets and tests only, and said in the log at start-up
    allow_private_networks: bool = False


@dataclass(frozen=True)
class TemplatesConfig:
    #: a folder whose templates override the bundled ones (same file names)
    folder: str = ""


@dataclass(frozen=True)
class Config:
    """The whole configuration. ``path`` is the file it came from, if any."""

    path: Path | None = None
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    sources: SourcesConfig = field(default_factory=SourcesConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)
    templates: TemplatesConfig = field(default_factory=TemplatesConfig)
    coverage: CoverageConfig = field(default_factory=CoverageConfig)
    campaign: CampaignConfig = field(default_factory=CampaignConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    email: EmailConfig = field(default_factory=EmailConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    themes: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_THEMES))
    destinations: tuple[DestinationConfig, ...] = ()
    webhooks: tuple[WebhookConfig, ...] = ()

    def destination(self, name: str) -> DestinationConfig:
        """Raises: ConfigError when no destination has that name."""
        for destination in self.destinations:
            if destination.name == name:
                return destination
        known = ", ".join(d.name for d in self.destinations) or "none configured"
        raise ConfigError(f"no destination named {name!r} (known: {known})")

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    @property
    def lock_path(self) -> Path:
        """The run lock: beside a SQLite database, else beside the config file."""
        url = self.database_url
        if url.startswith("sqlite:///") and not url.endswith(":memory:"):
            return Path(url.removeprefix("sqlite:///") + ".lock")
        return self.base_dir / "sociaalwerk-publisher.lock"

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{self.base_dir / 'sociaalwerk-publisher.db'}"

    def resolve(self, relative: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        return (self.base_dir / os.path.expanduser(relative)).resolve()


_SECTIONS = {k: v for k, v in typing.get_type_hints(Config).items() if k != "path"}


def find_config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """Where the config lives: ``--config``, then the environment, then ./sociaalwerk-publisher.toml."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG])
    local = Path(DEFAULT_FILENAME)
    return local if local.exists() else None


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load and validate the configuration.

    Args:
        path: the TOML file; when ``None`` it is looked up as :func:`find_config_path`
            does. Without a file there is no configuration: a program started in the
            wrong folder must not quietly run on the defaults (and a new, empty
            database). Pass ``Config()`` where the defaults are meant.

    Raises:
        ConfigError: no file is found, or it is unreadable, not TOML, or a key is invalid.
    """
    found = find_config_path(path)
    if found is None:
        raise ConfigError(
            f"no config file: looked for --config, ${ENV_CONFIG} and {Path.cwd() / DEFAULT_FILENAME};"
            " write one with `sociaalwerk-publisher init`")
    try:
        data = tomllib.loads(found.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        origin = f" (named by ${ENV_CONFIG})" if not path and os.environ.get(ENV_CONFIG) else ""
        raise ConfigError(f"config file not found: {found}{origin};"
                          " write one with `sociaalwerk-publisher init`") from e
    except OSError as e:
        raise ConfigError(f"cannot read config file {found}: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"cannot read config file {found}: not UTF-8 text ({e.reason})") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{found} is not valid TOML: {e}") from e
    config = config_from_dict(data, path=found.resolve())
    _warn_if_readable(found, config)
    return config


def _warn_if_readable(path: Path, config: Config) -> None:
    references = [d.password_env for d in config.destinations if d.password_env]
    references += [v for v in (config.email.username_env, config.email.password_env) if v]
    references += [w.secret_env for w in config.webhooks]
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if references and mode & 0o077:
        log.warning("%s names secret variables and can be read by other users (mode %o): chmod 600 %s",
                    path, mode & 0o777, path)


def config_from_dict(data: dict[str, Any], path: Path | None = None) -> Config:
    """Build a validated :class:`Config` from parsed TOML.

    Raises:
        ConfigError: naming the first invalid key.
    """
    sections: dict[str, Any] = {}
    for name, value in data.items():
        if name not in _SECTIONS:
            raise ConfigError(f"unknown section (known: {', '.join(sorted(_SECTIONS))})", name)
        sections[name] = _check(_SECTIONS[name], value, name)
    config = Config(path=path, **sections)
    check_config(config)
    return config


def check_config(config: Config) -> None:
    """Validate a whole configuration, read from a file or built in code.

    Raises:
        ConfigError: naming the first invalid key.
    """
    _check_ranges(config, "")
    _check_database(config.database.url)
    _check_destinations(config)
    _check_email(config.email)
    _check_review(config)
    _check_campaign(config.campaign)
    if config.report.language not in ("nl", "en"):
        raise ConfigError("must be nl or en", "report.language")
    _check_members(config.report.members)
    _check_alerts(config)
    _check_webhooks(config.webhooks)
    from .coverage.periods import named

    for kind in config.report.schedule:
        if kind not in ("week", "month", "quarter") and named(kind) is None:
            raise ConfigError(f"may hold week, month, quarter and named months or quarters such as 2026-11 or"
                              f" 2026-Q4, not {kind!r}", "report.schedule")


def quiet_hours(value: str) -> tuple[int, int] | None:
    """``"22:00-07:00"`` as its first and last minute of the day (the end not included);
    ``None`` for no quiet hours.

    Raises:
        ConfigError: not two times HH:MM apart.
    """
    if not value.strip():
        return None
    minutes: list[int] = []
    for part in value.split("-"):
        hours, colon, mins = part.strip().partition(":")
        if not (colon and hours.isdigit() and mins.isdigit() and len(mins) == 2
                and int(hours) < 24 and int(mins) < 60):
            minutes = []
            break
        minutes.append(int(hours) * 60 + int(mins))
    if len(minutes) != 2 or minutes[0] == minutes[1]:
        raise ConfigError(f"must be two different times such as \"22:00-07:00\", not {value!r}",
                          "alerts.quiet_hours")
    return minutes[0], minutes[1]


def _check_alerts(config: Config) -> None:
    alerts = config.alerts
    quiet_hours(alerts.quiet_hours)
    _check_names([r.name for r in alerts.rules], "alerts.rules[{}].name",
                 "names the rule (it heads its part of the mail)")
    for i, rule in enumerate(alerts.rules):
        key = f"alerts.rules[{i}]"
        _check_recipients(rule.recipients, f"{key}.recipients")
        if not (rule.organisations or rule.gouden or rule.gouden_gemeenten or rule.terms):
            raise ConfigError("says what it matches: organisations, gouden, gouden_gemeenten or terms", key)
        if rule.gouden and not config.campaign.gouden:
            raise ConfigError("needs [campaign] gouden names", f"{key}.gouden")
        if rule.gouden_gemeenten and not config.campaign.gouden_gemeenten:
            raise ConfigError("needs [campaign] gouden_gemeenten", f"{key}.gouden_gemeenten")
        for term in rule.terms:
            if not any(c.isalnum() for c in term):
                raise ConfigError(f"{term!r} has no letters or digits", f"{key}.terms")
    for recipient in alerts.spike_recipients:
        _check_address(recipient, "alerts.spike_recipients")
    if (alerts.rules or alerts.spike_recipients) and not config.email.host:
        raise ConfigError("alerts are e-mailed: set [email] host (and sender)", "email.host")


def _check_names(names: list[str], key: str, missing: str) -> None:
    """Each entry of a list is named (``key`` with ``{}`` for its index), and no name twice:
    the name is how logs, mails, the outbox and the CLI tell the entries apart."""
    seen: set[str] = set()
    for i, name in enumerate(names):
        if not name.strip():
            raise ConfigError(missing, key.format(i))
        if name in seen:
            raise ConfigError(f"{name!r} is used twice", key.format(i))
        seen.add(name)


def _check_webhooks(webhooks: tuple[WebhookConfig, ...]) -> None:
    _check_names([w.name for w in webhooks], "webhooks[{}].name", "names the webhook")
    for i, webhook in enumerate(webhooks):
        key = f"webhooks[{i}]"
        parts = urlsplit(webhook.url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
            raise ConfigError(f"must be an http(s) address without credentials, not {webhook.url!r}", f"{key}.url")
        if not webhook.secret_env.strip():
            raise ConfigError("names the environment variable that holds the signing secret", f"{key}.secret_env")
        if not webhook.events:
            raise ConfigError(f"name at least one event ({', '.join(WEBHOOK_EVENTS)})", f"{key}.events")
        for event in webhook.events:
            if event not in WEBHOOK_EVENTS:
                raise ConfigError(f"unknown event {event!r} (known: {', '.join(WEBHOOK_EVENTS)})", f"{key}.events")


def _check_database(url: str) -> None:
    if not url:
        return  # the SQLite file beside the config
    from ._storage.urls import url_problem

    problem = url_problem(url)
    if problem:
        raise ConfigError(problem, "database.url")


def _check_review(config: Config) -> None:
    review = config.review
    if review.mode not in ("cli", "wordpress"):
        raise ConfigError("must be cli or wordpress", "review.mode")
    if review.mode == "wordpress":
        if not review.hub:
            raise ConfigError("names the destination whose WordPress is the approval queue", "review.hub")
        hub = config.destination(review.hub)
        if hub.adapter != "wordpress-rest":
            # reading an editor's decision back needs the REST API (revisions name the editor)
            raise ConfigError(f"destination {hub.name!r} uses {hub.adapter}; the hub must be a"
                              " wordpress-rest destination", "review.hub")
    for address in review.digest_recipients:
        if "@" not in address or "\r" in address or "\n" in address:
            raise ConfigError(f"{address!r} is not an e-mail address", "review.digest_recipients")


def _check_campaign(campaign: CampaignConfig) -> None:
    from .municipalities import lookup

    unknown = [name for name in campaign.gouden_gemeenten if lookup(name) is None]
    if unknown:
        raise ConfigError(f"unknown {'municipality' if len(unknown) == 1 else 'municipalities'} "
                          f"{', '.join(repr(n) for n in unknown)} (use CBS codes such as GM0479 or the"
                          " names of the CBS list, e.g. Zaanstad)", "campaign.gouden_gemeenten")
    for name in campaign.gouden:
        if not any(c.isalnum() for c in name):
            raise ConfigError(f"{name!r} has no letters or digits", "campaign.gouden")


def _check_email(email: EmailConfig) -> None:
    if not email.host:
        return
    if email.security not in ("starttls", "ssl", "none"):
        raise ConfigError("must be starttls, ssl or none", "email.security")
    if email.security == "none" and email.host not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError("none (no encryption) is only allowed for a server on 127.0.0.1", "email.security")
    if not email.sender:
        raise ConfigError("is required when email.host is set", "email.sender")
    _check_address(email.sender, "email.sender")
    _check_recipients(email.recipients, "email.recipients")
    if bool(email.username_env) != bool(email.password_env):
        raise ConfigError("give both username_env and password_env, or neither", "email")


def _check_recipients(recipients: tuple[str, ...], key: str) -> None:
    if not recipients:
        raise ConfigError("name at least one address", key)
    for recipient in recipients:
        _check_address(recipient, key)


def _check_address(value: str, key: str) -> None:
    if "\r" in value or "\n" in value or "@" not in value:
        raise ConfigError(f"{value!r} is not an e-mail address", key)


def _check_members(members: tuple[MemberReportConfig, ...]) -> None:
    """The shape of ``[[report.members]]``; whether each organisation is known needs the
    store's sources, so :meth:`Publisher.member_reports` checks that."""
    _check_names([m.organisation for m in members], "report.members[{}].organisation",
                 "names the member organisation")
    for i, member in enumerate(members):
        key = f"report.members[{i}]"
        _check_recipients(member.recipients, f"{key}.recipients")
        if member.language not in ("", "nl", "en"):
            raise ConfigError("must be nl or en", f"{key}.language")


def _check_destinations(config: Config) -> None:
    from .adapters import adapter_names, settings_problems
    from .municipalities import lookup

    _check_names([d.name for d in config.destinations], "destinations[{}].name", "names the destination")
    for i, d in enumerate(config.destinations):
        key = f"destinations[{i}]"
        if d.adapter not in adapter_names():
            raise ConfigError(f"unknown adapter {d.adapter!r} (known: {', '.join(adapter_names())})",
                              f"{key}.adapter")
        problems = settings_problems(d)  # each adapter states what its settings need
        if problems:
            raise ConfigError(problems[0][1], f"{key}.{problems[0][0]}")
        if d.status not in POST_STATUSES:
            raise ConfigError(f"must be one of {', '.join(POST_STATUSES)}", f"{key}.status")
        if d.post_date not in ("original", "now"):
            raise ConfigError("must be original or now", f"{key}.post_date")
        if d.on_local_edit not in ("keep", "overwrite"):
            raise ConfigError("must be keep or overwrite", f"{key}.on_local_edit")
        if d.unlink_term != d.unlink_term.strip() or any(c in d.unlink_term for c in ",\r\n"):
            raise ConfigError("must be one category or tag name (no commas or surrounding spaces)",
                              f"{key}.unlink_term")
        for kind in d.filter.kinds:
            if kind not in ("blog", "media", "alert"):
                raise ConfigError("must be blog, media or alert", f"{key}.filter.kinds")
        for code in d.filter.municipalities:
            if lookup(code) is None or lookup(code).code != code:  # type: ignore[union-attr]
                raise ConfigError(f"{code!r} is not a CBS municipality code (e.g. GM0363)",
                                  f"{key}.filter.municipalities")
        for theme in d.filter.themes:
            if theme not in config.themes:
                raise ConfigError(f"unknown theme {theme!r} (known: {', '.join(config.themes)})",
                                  f"{key}.filter.themes")
        for fact in ("organisation", "municipality", "theme", "source"):
            if getattr(d.terms, fact) not in TERM_TARGETS:
                raise ConfigError("must be category, tag or none", f"{key}.terms.{fact}")


def _build(cls: Any, value: Any, key: str) -> Any:
    if not isinstance(value, dict):
        raise ConfigError("must be a table", key)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for name, item in value.items():
        full = f"{key}.{name}"
        if name not in fields:
            raise ConfigError(f"unknown key (known: {', '.join(sorted(fields))})", full)
        kwargs[name] = _check(hints[name], item, full)
    for name, f in fields.items():
        if name not in kwargs and f.default is dataclasses.MISSING \
                and f.default_factory is dataclasses.MISSING:
            raise ConfigError("is required", f"{key}.{name}")
    return cls(**kwargs)


def _check(expected: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(expected)
        for option in options:
            try:
                return _check(option, value, key)
            except ConfigError:
                continue
        raise ConfigError(f"has the wrong type ({type(value).__name__})", key)
    if expected is type(None):
        raise ConfigError("may not be empty", key)
    if origin is dict:
        _, inner = typing.get_args(expected)
        if not isinstance(value, dict):
            raise ConfigError(f"must be a table, not {_toml_type(value)}", key)
        return {name: _check(inner, v, f"{key}.{name}") for name, v in value.items()}
    if origin in (list, tuple):
        (inner, *_) = typing.get_args(expected)
        if not isinstance(value, list):
            raise ConfigError(f"must be a list, not {_toml_type(value)}", key)
        return tuple(_check(inner, v, f"{key}[{i}]") for i, v in enumerate(value))
    if dataclasses.is_dataclass(expected):
        return _build(expected, value, key)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected in (int, float) and isinstance(value, bool):
        raise ConfigError(f"must be a number, not {_toml_type(value)}", key)
    if not isinstance(value, expected):
        raise ConfigError(f"must be {_toml_name(expected)}, not {_toml_type(value)}", key)
    return value


@dataclass(frozen=True)
class _Range:
    """What a number in the config may be: from ``low`` to ``high``; with ``above``, any
    value greater than ``low`` (a time of 0 would mean no limit at all)."""

    low: float
    high: float
    above: bool = False

    def check(self, value: float, key: str) -> None:
        if not math.isfinite(value):
            raise ConfigError(f"must be a finite number, not {value}", key)
        if self.above and not self.low < value <= self.high:
            raise ConfigError(f"must be more than {self.low:g} and at most {self.high:g}", key)
        if not self.above and not self.low <= value <= self.high:
            raise ConfigError(f"must be from {self.low:g} to {self.high:g}", key)


def _seconds(most: float) -> _Range:
    return _Range(0, most, above=True)


_MINUTES = _Range(1, 30 * 24 * 60)  # up to a month

#: The range of every number in the config, by section and key; NaN and infinity never pass.
_RANGES: dict[type, dict[str, _Range]] = {
    FetchConfig: {
        "concurrency": _Range(1, 256),  # urllib3 fills a pool of this size before the first download
        "connect_timeout": _seconds(600), "read_timeout": _seconds(3600), "deadline": _seconds(3600),
        "max_bytes": _Range(1, 2**30),
        "poll_interval_minutes": _MINUTES, "backoff_min_minutes": _MINUTES, "backoff_max_minutes": _MINUTES,
        "parse_processes": _Range(0, 256),
    },
    CoverageConfig: {
        "keep_unmatched_days": _Range(0, 3650), "cluster_threshold": _Range(0, 1, above=True),
        "fulltext_below_words": _Range(0, 100_000),
    },
    ReportConfig: {"listed_mentions": _Range(0, 100_000)},
    AlertsConfig: {"spike_k": _Range(0, 100), "spike_minimum": _Range(1, 1_000_000)},
    EmailConfig: {"port": _Range(1, 65535), "timeout": _seconds(600)},
    DaemonConfig: {
        "fetch_minutes": _MINUTES, "syndicate_minutes": _MINUTES, "coverage_minutes": _MINUTES,
        "outbox_minutes": _MINUTES, "report_hour": _Range(0, 23),
    },
    RetentionConfig: {"prune_after_months": _Range(0, MAX_MONTHS)},
    DestinationConfig: {"timeout": _seconds(600)},
    WebhookConfig: {"timeout": _seconds(600)},
}


def _check_ranges(section: Any, key: str) -> None:
    """Every number in ``section`` and the config tables inside it within its declared range."""
    for f in dataclasses.fields(section):
        value = getattr(section, f.name)
        full = f"{key}.{f.name}" if key else f.name
        if dataclasses.is_dataclass(value):
            _check_ranges(value, full)
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if dataclasses.is_dataclass(item):
                    _check_ranges(item, f"{full}[{i}]")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            _RANGES[type(section)][f.name].check(value, full)
    if isinstance(section, FetchConfig) and section.backoff_min_minutes > section.backoff_max_minutes:
        raise ConfigError(f"must not exceed backoff_max_minutes ({section.backoff_max_minutes})",
                          f"{key}.backoff_min_minutes")


def _toml_name(t: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        t, getattr(t, "__name__", str(t))
    )


def _toml_type(value: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def secret_from_env(variable: str, key: str) -> str:
    """Read a secret from the environment variable named in the config.

    Raises:
        ConfigError: the variable is not set (the message names it, never a value).
    """
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(f"environment variable {variable} is not set", key)
    return value


STARTER_CONFIG = """\
# sociaalwerk-publisher configuration (TOML), written by `sociaalwerk-publisher init`.
#
# As written, every setting has its default: the tool fetches and matches coverage, but
# publishes nowhere and sends no mail until you fill in [[destinations]] and [email].
# A line "# key = value" shows the default or an example; remove the "# " to use it.
# Secrets are never written here: settings ending in _env name the environment
# variable that holds the secret. Keep this file private (chmod 600).

[database]
# SQLAlchemy URL. Default: a SQLite file beside this config file.
# url = "postgresql+psycopg://publisher@db.example.nl/publisher"

[sources]
# An OPML file of feeds, added or updated at the start of every run.
# opml = "feeds.opml"

[fetch]
# concurrency = 16              # feeds downloaded at the same time
# connect_timeout = 10          # seconds
# read_timeout = 30             # seconds between two bytes
# deadline = 60                 # seconds for one whole download
# max_bytes = 10485760          # after decompression
# poll_interval_minutes = 30
# backoff_min_minutes = 60      # first wait after a failure, doubling ...
# backoff_max_minutes = 1440    # ... up to this
# parse_processes = 0           # 0: one per CPU core
# contact_url = "https://www.sociaalwerknederland.nl"   # sent in the User-Agent

[review]
# auto_approve_trusted = false  # approve stories of sources marked trusted without an editor
# mode = "cli"                  # or "wordpress": the hub's Pending Review queue is the approval queue
# hub = "landelijk"             # with mode = "wordpress": a wordpress-rest destination
# digest_recipients = ["redactie@sociaalwerknederland.nl"]   # default: email.recipients

# Sites and files that receive approved stories, each exactly once. Secrets come from
# the environment variable named by password_env (a WordPress application password).

# [[destinations]]
# name = "landelijk"            # sociaalwerkers.nl, through the REST API
# adapter = "wordpress-rest"
# url = "https://www.sociaalwerkers.nl"
# username = "syndicatie"
# password_env = "SWP_LANDELIJK_APP_PASSWORD"
# status = "publish"            # publish | draft | pending
# post_date = "original"        # or "now"
# template = "post.html.j2"     # the post body with the Dutch attribution
# update_on_change = true       # update the copy when the original changes
# delete_on_retract = false     # true: delete for good instead of moving to the trash
# on_local_edit = "keep"        # a copy the site's editors changed is not updated; or "overwrite"
# unlink_term = "niet-bijwerken"  # a copy the site puts in this category or tag gets no updates
# timeout = 30                  # seconds per request
# [destinations.terms]
# categories = ["Lokale verhalen"]   # on every post
# tags = []
# organisation = "category"     # each fact becomes a category, a tag or nothing (none)
# municipality = "category"
# theme = "tag"
# source = "tag"                # the source's name

# [[destinations]]
# name = "amsterdam"            # a member's site, through XML-RPC
# adapter = "wordpress-xmlrpc"
# url = "https://www.welzijnnoord.nl"
# username = "syndicatie"
# password_env = "SWP_NOORD_APP_PASSWORD"
# [destinations.filter]         # only these stories; every non-empty list must match
# kinds = ["blog"]              # blog, media, alert
# organisations = ["Welzijn Noord"]
# municipalities = ["GM0363"]   # CBS codes
# themes = ["zorg"]

# [[destinations]]
# name = "bestand"              # a WordPress export file (Tools -> Import -> WordPress)
# adapter = "wxr"
# path = "uitvoer/sociaalwerkers.wxr.xml"   # relative to this file

[coverage]
# terms = ["sociaal werk", "welzijnswerk", "jongerenwerk"]   # default: the campaign's list
# exclusions = ["sociale werkplaats"]    # a text with one of these is not counted
# organisations = { "Welzijn Noord" = ["WN Amsterdam"] }   # plus every source's organisation
# ambassadors = ["Samira el Idrissi"]    # plus the ambassadors named on sources
# keep_unmatched_days = 90      # unmatched items are kept this long for a re-match
# cluster_threshold = 0.6       # how alike two texts must be to count as one story
# fulltext = false              # true: also match the article page when a feed has a snippet
#                               # (pip install 'sociaalwerk-publisher[fulltext]')
# fulltext_below_words = 60

# [themes]                      # the campaign's domains and their keywords; default: 8 themes
# zorg = ["zorg", "mantelzorg", "ouderen"]
# wonen = ["wonen", "woning*", "huur"]   # whole words; "woning*" also finds woningnood

[campaign]
# gouden_gemeenten = ["GM0479", "Súdwest-Fryslân"]   # CBS codes or names; the report shows each
# gouden = ["Buurthuis De Kroon"]   # persons or institutions, matched as watch terms

[report]
# language = "nl"               # or "en"
# schedule = ["week", "month"]  # and "quarter", or "2026-11" / "2026-Q4" once: made once the period
#                               # is complete (Europe/Amsterdam)
# output_folder = "uitvoer"     # also write each report (HTML and CSV) into this folder
# listed_mentions = 200         # the e-mail lists the newest 200; the CSV attachment has all

# Each member organisation below gets its own report on the same schedule: its mentions,
# municipalities, syndicated stories and share of the national total (needs [email]).
# [[report.members]]
# organisation = "Welzijn Noord"   # as named on its sources or in [coverage] organisations
# recipients = ["communicatie@welzijnnoord.nl"]
# language = "nl"               # default: report.language

[email]
# Without a host, reports are not e-mailed (write them to files with report.output_folder).
# host = "smtp.example.nl"
# port = 587
# security = "starttls"         # or "ssl", or "none" (only for a server on 127.0.0.1)
# username_env = "SWP_SMTP_USER"
# password_env = "SWP_SMTP_PASSWORD"
# sender = "Sociaal Werk Nederland <publisher@example.nl>"
# recipients = ["communicatie@example.nl"]
# timeout = 60                  # seconds

[alerts]
# Mail about new mentions as they come in (needs [email]): each rule's new matches go to its
# recipients as one mail per recipient per run, never one per mention.
# quiet_hours = "22:00-07:00"   # Europe/Amsterdam; what comes in is sent when they end
# spike_recipients = ["communicatie@example.nl"]   # a spike: mailed once when it starts
# spike_k = 3                   # more than the 7 days' daily mean plus 3 standard deviations ...
# spike_minimum = 10            # ... and at least this many mentions in 24 hours

# [[alerts.rules]]
# name = "Welzijn Noord"        # heads its part of the mail
# recipients = ["communicatie@welzijnnoord.nl"]
# organisations = ["Welzijn Noord"]   # member organisations (a name or an alias)
# gouden = true                 # mentions naming a [campaign] gouden name
# gouden_gemeenten = true       # mentions in a [campaign] gouden gemeente
# terms = ["dakloos*", "armoede"]   # words in the text, as theme keywords

# Addresses that receive events as they happen: a JSON POST signed with HMAC-SHA256 (header
# X-SWP-Signature over "timestamp.body"; see the README for checking it). Delivered from an
# outbox: retried with a growing wait until the receiver answers 2xx, in order per story.
# [[webhooks]]
# name = "intranet"
# url = "https://intranet.example.nl/hooks/publisher"   # redirects are not followed
# secret_env = "SWP_WEBHOOK_SECRET"   # the variable that holds the signing secret
# events = ["story.approved", "story.published", "story.updated", "story.retracted", "mention.new", "report.sent"]
# timeout = 10                  # seconds per request

[templates]
# folder = "sjablonen"          # templates here replace the bundled ones of the same name

[security]
# allow_private_networks = false   # true lets URLs from feeds reach intranet addresses

[retention]
# prune_after_months = 24       # `prune` removes the text of older items (AVG)

[daemon]
# Minutes between the jobs of `sociaalwerk-publisher daemon`.
# fetch_minutes = 15
# syndicate_minutes = 15
# coverage_minutes = 60
# outbox_minutes = 15
# report_hour = 7               # reports are made from this hour on (Europe/Amsterdam)
"""

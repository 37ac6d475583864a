"""Coverage end to end: feeds in, mentions matched, figures worked out by hand, report e-mailed.

The fixture (see ``build``) and its expected figures, for 1 to 30 November 2026:

====  ==========================  =========================================  =====================
item  outlet                      what                                       counts?
====  ==========================  =========================================  =====================
1     destentor.nl (Zwolle)       "sociaal werkers", Travers Welzijn         yes, Zwolle
2     destentor.nl                "sociaal werk" but "sociale werkplaats"    no: excluded
3     destentor.nl                voetbal                                    no: no match
4     destentor.nl                press release P ("welzijnswerk")           yes, Zwolle, cluster
5     rtvoost (Google Alert)      P rewritten                                yes, Zwolle (text), cluster
6     nieuwsbladzwolle (Alert)    P rewritten                                yes, Zwolle (text), cluster
7     omroepbergen (Alert)        "jongerenwerk in Bergen"                   yes, no municipality
8     welzijnnoord (Alert)        own blog picked up by an alert             no: eigen kanalen
9     nos (Alert, 15 October)     "sociaal werk"                             previous period
====  ==========================  =========================================  =====================

Current: 5 mentions, 3 distinct stories, 4 outlets, 1 municipality; 2 own blog stories.
Previous (2 to 31 October): 1 mention, 1 story, 1 outlet, 0 municipalities.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from sociaalwerk_publisher import Publisher, SourceKind, make_publisher
from sociaalwerk_publisher.cli import cli

from .smtp import SmtpServer
from .stories import seed

PRESS_RELEASE = (
    "De provincie Overijssel trekt komend jaar twee miljoen euro extra uit voor welzijnswerk in de wijken."
    " Het geld gaat naar huiskamers voor ouderen, maatjesprojecten tegen eenzaamheid en extra uren voor"
    " mantelzorgondersteuning. Gedeputeerde Jansen noemt de investering noodzakelijk omdat de vraag naar"
    " hulp sterk stijgt. In Zwolle starten de eerste projecten al in januari, samen met bewoners en"
    " vrijwilligers uit de buurt."
)


def google(url: str) -> str:
    return f"https://www.google.com/url?rct=j&sa=t&url={url}&ct=ga&cd=CAIyGg&usg=AOvVaw"


def build(publisher: Publisher, folder: Path) -> None:
    nov = "Tue, 10 Nov 2026 09:00:00 +0100"
    seed(publisher, folder, [
        {"guid": "1", "title": "Sociaal werkers Zwolle luiden de noodklok", "date": nov,
         "link": "https://www.destentor.nl/zwolle/noodklok", "html": "<p>Travers Welzijn ziet de wachtlijsten groeien.</p>"},
        {"guid": "2", "title": "Nieuwe sociale werkplaats opent", "date": nov,
         "link": "https://www.destentor.nl/zwolle/werkplaats", "html": "<p>De sociale werkplaats biedt sociaal werk aan.</p>"},
        {"guid": "3", "title": "PEC Zwolle wint opnieuw", "date": nov,
         "link": "https://www.destentor.nl/sport/pec", "html": "<p>Voetbal.</p>"},
        {"guid": "4", "title": "Extra geld voor welzijnswerk", "date": "Wed, 11 Nov 2026 08:00:00 +0100",
         "link": "https://www.destentor.nl/zwolle/welzijnswerk", "html": f"<p>{PRESS_RELEASE}</p>"},
    ], kind=SourceKind.MEDIA, title="De Stentor")
    seed(publisher, folder, [
        {"guid": "5", "title": "Provincie steunt welzijnswerk", "date": "Wed, 11 Nov 2026 12:00:00 +0100",
         "link": google("https://www.rtvoost.example.nl/nieuws/123"), "html": f"<p>Dat meldt RTV Oost. {PRESS_RELEASE}</p>"},
        {"guid": "6", "title": "Miljoenen voor welzijnswerk", "date": "Thu, 12 Nov 2026 07:00:00 +0100",
         "link": google("https://nieuwsbladzwolle.example.nl/a/77"), "html": f"<p>{PRESS_RELEASE} Lees meer op onze site.</p>"},
        {"guid": "7", "title": "Jongerenwerk in Bergen breidt uit", "date": "Fri, 20 Nov 2026 10:00:00 +0100",
         "link": google("https://omroepbergen.example.nl/jongeren"), "html": "<p>Het jongerenwerk in Bergen krijgt er een plek bij.</p>"},
        {"guid": "8", "title": "Sociaal werk in Noord", "date": "Fri, 20 Nov 2026 11:00:00 +0100",
         "link": google("https://www.welzijnnoord.example.nl/blog/noord"), "html": "<p>Sociaal werk in Amsterdam-Noord.</p>"},
        {"guid": "9", "title": "Sociaal werk onder druk", "date": "Thu, 15 Oct 2026 10:00:00 +0200",
         "link": google("https://nos.example.nl/artikel/1"), "html": "<p>Sociaal werk staat onder druk, zegt de minister.</p>"},
    ], kind=SourceKind.ALERT, title="Google Alert - sociaal werk")
    seed(publisher, folder, [
        {"guid": "b1", "title": "Een ochtend in Noord", "date": nov, "link": "https://www.welzijnnoord.example.nl/blog/ochtend",
         "html": "<p>Blog.</p>"},
        {"guid": "b2", "title": "Schulden", "date": nov, "link": "https://www.welzijnnoord.example.nl/blog/schulden",
         "html": "<p>Blog.</p>"},
    ], title="Blog Welzijn Noord", organisation="Welzijn Noord", municipality="GM0363")
    publisher.set_outlet("destentor.nl", name="De Stentor", type="regionaal dagblad", municipality="GM0193")


@pytest.fixture
def config(tmp_path: Path, smtp: SmtpServer, database_url: str) -> Path:
    path = tmp_path / "sociaalwerk-publisher.toml"
    path.write_text(f"""
[database]
url = "{database_url}"

[fetch]
parse_processes = 1

[coverage]
organisations = {{ "Travers Welzijn" = ["Travers"] }}

[email]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
sender = "Sociaal Werk Nederland <publisher@sociaalwerk.example>"
recipients = ["communicatie@sociaalwerk.example"]
""", encoding="utf-8")
    return path


@pytest.fixture
def publisher(config: Path, tmp_path: Path) -> Iterator[Publisher]:
    with make_publisher(config) as p:
        build(p, tmp_path)
        p.match_coverage()
        yield p


def figures(publisher: Publisher):
    from datetime import date

    period = publisher.report_period(start=date(2026, 11, 1), end=date(2026, 11, 30))
    return publisher.build_report(period)


def test_the_headline_figures_match_the_hand_count(publisher: Publisher) -> None:
    data = figures(publisher)
    assert {c.key: (c.current, c.previous) for c in data.headline} == {
        "mentions": (5, 1), "stories": (3, 1), "outlets": (4, 1), "municipalities": (1, 0),
        "own_stories": (2, 0), "syndicated": (0, 0)}


def test_breakdowns_match_the_hand_count(publisher: Publisher) -> None:
    data = figures(publisher)
    assert {c.key: (c.current, c.previous) for c in data.by_outlet_type} == {
        "regionaal dagblad": (2, 0), "unclassified": (3, 1)}
    assert [(c.label, c.current) for c in data.by_municipality] == [("Zwolle", 4)]
    assert [(c.label, c.current) for c in data.golden_municipalities] == [("Zwolle", 4)]
    assert [(c.key, c.current) for c in data.by_organisation] == [("Travers Welzijn", 1)]
    assert len(data.trend) == 30 and data.trend_unit == "day"
    assert {day.day: n for day, n in data.trend if n} == {10: 1, 11: 2, 12: 1, 20: 1}
    (top,) = data.top_stories
    assert top.pickups == 3 and set(top.outlets) == {"De Stentor", "rtvoost.example.nl", "nieuwsbladzwolle.example.nl"}
    assert len(data.mentions) == 5
    assert {c.key: c.current for c in data.own_channels}["own_mentions"] == 1


def test_the_trend_counts_each_mention_on_its_day_in_amsterdam_across_daylight_saving() -> None:
    from datetime import date, datetime, timezone

    from sociaalwerk_publisher.coverage.figures import _trend
    from sociaalwerk_publisher.coverage.periods import custom

    utc = timezone.utc
    hours = [(datetime(2026, 10, 24, 21, tzinfo=utc), 1),  # 23:00 summer time: the 24th
             (datetime(2026, 10, 24, 22, tzinfo=utc), 2),  # 00:00 summer time: the 25th
             (datetime(2026, 10, 25, 22, tzinfo=utc), 4),  # 23:00 winter time: still the 25th
             (datetime(2026, 10, 25, 23, tzinfo=utc), 8)]  # 00:00 winter time: the 26th
    trend, unit = _trend(hours, custom(date(2026, 10, 24), date(2026, 10, 26)))
    assert unit == "day" and [n for _, n in trend] == [1, 6, 8]


def test_a_long_month_lists_its_newest_mentions_and_attaches_every_one(publisher: Publisher) -> None:
    from dataclasses import replace
    from datetime import date

    short = Publisher(replace(publisher.config, report=replace(publisher.config.report, listed_mentions=2)),
                      publisher._storage)
    data = short.build_report(short.report_period(start=date(2026, 11, 1), end=date(2026, 11, 30)))
    assert [m.title for m in data.mentions] == ["Jongerenwerk in Bergen breidt uit", "Miljoenen voor welzijnswerk"]
    assert data.mentions_total == 5
    rendered = short.render_report(data)
    rows = list(csv.reader(io.StringIO(rendered.csv.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 1 + 5 and rows[1][1] == "Jongerenwerk in Bergen breidt uit"
    assert "De nieuwste 2 van 5 vermeldingen" in rendered.html


def test_mentions_that_do_not_count_are_kept_with_the_reason(publisher: Publisher) -> None:
    kept = {m.title for m in publisher.list_mentions(counted=False, limit=0)}
    assert kept == {"Nieuwe sociale werkplaats opent", "PEC Zwolle wint opnieuw", "Sociaal werk in Noord"}


def test_unknown_outlets_wait_for_an_editor(publisher: Publisher) -> None:
    unclassified = {o.domain for o in publisher.list_outlets(unclassified_only=True)}
    assert {"rtvoost.example.nl", "nieuwsbladzwolle.example.nl", "omroepbergen.example.nl"} <= unclassified
    assert "destentor.nl" not in unclassified


def test_the_report_arrives_by_mail_with_all_its_parts(config: Path, publisher: Publisher, smtp: SmtpServer) -> None:
    result = CliRunner().invoke(cli, ["--config", str(config), "report", "send", "--from", "2026-11-01",
                                      "--to", "2026-11-30"])
    assert result.exit_code == 0, result.output
    (received,) = smtp.received
    message = received.message
    assert "5 vermeldingen" in message["Subject"] and message["Message-ID"]
    assert received.recipients == ["communicatie@sociaalwerk.example"]
    parts = {part.get_content_type(): part for part in message.walk()}
    html = parts["text/html"].get_content()
    image = parts["image/png"]
    assert f'cid:{image["Content-ID"].strip("<>")}' in html
    assert image.get_content().startswith(b"\x89PNG")
    assert "https://www.rtvoost.example.nl/nieuws/123" in html
    assert "https://www.rtvoost.example.nl/nieuws/123" in parts["text/plain"].get_content()
    rows = list(csv.reader(io.StringIO(parts["text/csv"].get_content().lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == 1 + 5
    again = CliRunner().invoke(cli, ["--config", str(config), "report", "send", "--from", "2026-11-01",
                                     "--to", "2026-11-30"])
    assert again.exit_code == 0 and len(smtp.received) == 1  # stored once, sent once
    outbox = CliRunner().invoke(cli, ["--config", str(config), "report", "outbox"])
    assert outbox.output.startswith("sent")


def test_a_report_is_kept_while_the_mail_server_is_down_and_sent_once_later(
        config: Path, publisher: Publisher, smtp: SmtpServer) -> None:
    smtp.stop()
    down = CliRunner().invoke(cli, ["--config", str(config), "report", "send", "--period", "month"])
    assert down.exit_code == 1 and "kept in the outbox" in down.output
    smtp.start()
    retry = CliRunner().invoke(cli, ["--config", str(config), "report", "outbox", "--retry"])
    assert retry.exit_code == 0 and retry.output.startswith("sent")
    CliRunner().invoke(cli, ["--config", str(config), "report", "outbox", "--retry"])
    assert len(smtp.received) == 1


def test_report_build_writes_a_self_contained_html_file(config: Path, publisher: Publisher, tmp_path: Path) -> None:
    target = tmp_path / "rapport.html"
    result = CliRunner().invoke(cli, ["--config", str(config), "report", "build", "--from", "2026-11-01",
                                      "--to", "2026-11-30", "--output", str(target)])
    assert result.exit_code == 0, result.output
    html = target.read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and "cid:" not in html
    rows = list(csv.reader(io.StringIO((tmp_path / "rapport.csv").read_text(encoding="utf-8-sig")), delimiter=";"))
    assert len(rows) == 1 + 5


def test_a_report_file_that_cannot_be_written_is_one_clear_line(config: Path, publisher: Publisher,
                                                                tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(config), "report", "build", "--period", "month",
                                      "--output", str(tmp_path / "geen-map" / "rapport.html")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: cannot write the report to {tmp_path / 'geen-map' / 'rapport.csv'}: No such file or directory"]


def test_changing_the_watchlist_and_matching_again_recounts(config: Path, publisher: Publisher) -> None:
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[coverage]", '[coverage]\nterms = ["voetbal"]'), encoding="utf-8")
    with make_publisher(config) as changed:
        changed.match_coverage(rematch=True)
        counted = {m.title for m in changed.list_mentions(limit=0)}
    assert "PEC Zwolle wint opnieuw" in counted and "Jongerenwerk in Bergen breidt uit" not in counted


def test_a_snippet_is_matched_on_its_article_page_with_fulltext(tmp_path: Path, httpserver) -> None:
    from dataclasses import replace

    from sociaalwerk_publisher.config import CoverageConfig, SecurityConfig

    from .conftest import make_config

    article = ("<html><head><title>Buurthuis</title></head><body><nav>Home | Nieuws</nav><article>"
               "<h1>Buurthuis Holtenbroek weer open</h1><p>Het buurthuis in Holtenbroek is weer open. "
               "Sociaal werkers van Travers Welzijn zetten elke ochtend koffie en helpen bewoners met "
               "formulieren, toeslagen en vragen over de wijk.</p></article></body></html>")
    httpserver.expect_request("/nieuws/buurthuis").respond_with_data(article, content_type="text/html")
    httpserver.expect_request("/nieuws/kapot").respond_with_data("weg", status=404)
    items = [{"guid": "a", "title": "Buurthuis weer open", "link": httpserver.url_for("/nieuws/buurthuis"),
              "html": "<p>Het buurthuis in Holtenbroek is weer open.</p>"},
             {"guid": "b", "title": "Ook weer open", "link": httpserver.url_for("/nieuws/kapot"),
              "html": "<p>Het buurthuis is weer open.</p>"}]
    base = replace(make_config(tmp_path), security=SecurityConfig(allow_private_networks=True))
    counted = {}
    for fulltext in (False, True):
        config = replace(base, coverage=CoverageConfig(fulltext=fulltext),
                         database=replace(base.database, url=f"sqlite:///{tmp_path / f'{fulltext}.db'}"))
        with make_publisher(config) as p:
            seed(p, tmp_path, items, kind=SourceKind.MEDIA, title="Lokaal Nieuws")
            p.match_coverage()
            counted[fulltext] = {m.title for m in p.list_mentions(limit=0)}
    assert counted == {False: set(), True: {"Buurthuis weer open"}}  # the missing page: feed text only

"""Coverage end to end: feeds in, mentions matched, figures worked out by hand, report e-mailed.

The fixture (see ``build``) and its expected figures, for November 2026 against October 2026:

====  ==========================  =========================================  =====================
item  outlet                      what                                       counts?
====  ==========================  =========================================  =====================
1     destentor.nl (Zwolle)       "sociaal werkers", Travers Welzijn         yes, Zwolle
2     destentor.nl                "sociaal werk" but "sociale werkplaats"    no: excluded
3     destentor.nl                voetbal                                    no: no match
4     destentor.nl                press release P ("welzijnswerk")           yes, Zwolle, cluster
10    destentor.nl                P again, 13 November                       yes, Zwolle, cluster
5     rtvoost (Google Alert)      P rewritten                                yes, Zwolle (text), cluster
6     nieuwsbladzwolle (Alert)    P rewritten                                yes, Zwolle (text), cluster
7     omroepbergen (Alert)        "jongerenwerk in Bergen"                   yes, no municipality
8     welzijnnoord (Alert)        own blog picked up by an alert             no: eigen kanalen
9     nos (Alert, 15 October)     "sociaal werk"                             previous period
11    kampercourant (Alert,       "buurtwerk in Kampen"                      previous period, Kampen
      1 October)
====  ==========================  =========================================  =====================

November: 6 mentions, 3 distinct stories (P picked up 4 times by 3 outlets, 1, 7), 4 outlets,
1 municipality (Zwolle: 5); 2 own blog stories. Gouden gemeenten Zwolle 5 and Amsterdam 0;
the gouden name "Gedeputeerde Jansen" (in P) 4. Members: Travers Welzijn 1, Welzijn Noord 0.
Top outlets: De Stentor 3 (reach 450,000), then one each; geschat bereik 450,000 + 120,000
(rtvoost). Unclassified outlets with November mentions: nieuwsbladzwolle, omroepbergen, rtvoost.
October (the calendar month, 1 October included): 2 mentions, 2 stories, 2 outlets, 1
municipality (Kampen). Nothing is matched before the report is asked for: the report does it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from sociaalwerk_publisher import Publisher, SourceKind, SourceUpdate, make_publisher
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
        {"guid": "10", "title": "Twee miljoen voor welzijnswerk in Overijssel", "date": "Fri, 13 Nov 2026 06:00:00 +0100",
         "link": "https://www.destentor.nl/regio/welzijnswerk-overijssel", "html": f"<p>{PRESS_RELEASE} Reageer hieronder.</p>"},
    ], kind=SourceKind.MEDIA, title="De Stentor")
    alerts = seed(publisher, folder, [
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
        {"guid": "11", "title": "Buurtwerk in Kampen groeit", "date": "Thu, 01 Oct 2026 09:00:00 +0200",
         "link": google("https://kampercourant.example.nl/buurtwerk"), "html": "<p>Het buurtwerk in Kampen groeit.</p>"},
    ], kind=SourceKind.ALERT, title="Google Alert - sociaal werk")
    # as a Google Alert's feed is addressed (the fixture's file was fetched already)
    publisher.update_source(alerts.id, SourceUpdate(url="https://www.google.com/alerts/feeds/1234567890/987654321"))
    seed(publisher, folder, [
        {"guid": "b1", "title": "Een ochtend in Noord", "date": nov, "link": "https://www.welzijnnoord.example.nl/blog/ochtend",
         "html": "<p>Blog.</p>"},
        {"guid": "b2", "title": "Schulden", "date": nov, "link": "https://www.welzijnnoord.example.nl/blog/schulden",
         "html": "<p>Blog.</p>"},
    ], title="Blog Welzijn Noord", organisation="Welzijn Noord", municipality="GM0363")
    publisher.set_outlet("destentor.nl", name="De Stentor", type="regionaal dagblad", municipality="GM0193",
                         reach=450_000)
    publisher.set_outlet("rtvoost.example.nl", reach=120_000)  # known reach, not classified yet


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

[campaign]
gouden_gemeenten = ["Zwolle", "GM0363"]
gouden = ["Gedeputeerde Jansen"]

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
        build(p, tmp_path)  # fetched, not matched: the report must see the mentions all the same
        yield p


def figures(publisher: Publisher):
    from datetime import date

    return publisher.build_report(publisher.report_period("month", today=date(2026, 12, 3)))


def test_the_headline_figures_match_the_hand_count(publisher: Publisher) -> None:
    data = figures(publisher)
    assert {c.key: (c.current, c.previous) for c in data.headline} == {
        "mentions": (6, 2), "stories": (3, 2), "outlets": (4, 2), "municipalities": (1, 1),
        "own_stories": (2, 0), "syndicated": (0, 0)}


def test_a_month_is_compared_with_the_whole_calendar_month_before(publisher: Publisher) -> None:
    from datetime import date

    data = publisher.build_report(publisher.report_period("month", today=date(2026, 12, 3)))
    assert (data.period.label, data.previous.label) == ("november 2026", "oktober 2026")
    assert (data.previous.start, data.previous.end) == (date(2026, 10, 1), date(2026, 10, 31))
    assert {c.key: c.previous for c in data.headline}["mentions"] == 2  # 1 October is in it
    assert "vergeleken met oktober 2026" in publisher.render_report(data).text


def test_a_range_is_compared_with_as_many_days_just_before_it(publisher: Publisher) -> None:
    from datetime import date

    data = publisher.build_report(publisher.report_period(start=date(2026, 11, 1), end=date(2026, 11, 30)))
    assert (data.previous.start, data.previous.end) == (date(2026, 10, 2), date(2026, 10, 31))
    assert {c.key: c.previous for c in data.headline}["mentions"] == 1  # 1 October is not in it
    assert "vergeleken met 2 t/m 31 oktober 2026" in publisher.render_report(data).text


def test_breakdowns_match_the_hand_count(publisher: Publisher) -> None:
    data = figures(publisher)
    assert {c.key: (c.current, c.previous) for c in data.by_outlet_type} == {
        "regionaal dagblad": (3, 0), "unclassified": (3, 2)}
    assert [(c.label, c.current, c.previous) for c in data.by_municipality] == [("Zwolle", 5, 0), ("Kampen", 0, 1)]
    assert [(c.key, c.current) for c in data.by_organisation] == [("Travers Welzijn", 1), ("Welzijn Noord", 0)]
    assert {c.key: c.current for c in data.by_theme} == {"welzijn": 4, "zorg": 4, "jeugd": 1}
    assert len(data.trend) == 30 and data.trend_unit == "day"
    assert {day.day: n for day, n in data.trend if n} == {10: 1, 11: 2, 12: 1, 13: 1, 20: 1}
    assert len(data.mentions) == 6
    assert {c.key: c.current for c in data.own_channels}["own_mentions"] == 1


def test_a_picked_up_story_counts_its_outlets_and_its_mentions(publisher: Publisher) -> None:
    (top,) = figures(publisher).top_stories
    assert (top.title, top.mentions) == ("Extra geld voor welzijnswerk", 4)
    assert top.outlets == ("De Stentor", "rtvoost.example.nl", "nieuwsbladzwolle.example.nl")
    text = publisher.render_report(figures(publisher)).text
    assert "opgepikt door 3 media (4 vermeldingen): De Stentor, rtvoost.example.nl, nieuwsbladzwolle.example.nl" in text


def test_alle_vermeldingen_lists_a_picked_up_story_once_with_its_outlets(publisher: Publisher) -> None:
    data = figures(publisher)
    assert [(e.headline, e.outlets, len(e.mentions)) for e in data.entries] == [
        ("Jongerenwerk in Bergen breidt uit", ("omroepbergen.example.nl",), 1),
        ("Extra geld voor welzijnswerk", ("De Stentor", "rtvoost.example.nl", "nieuwsbladzwolle.example.nl"), 4),
        ("Sociaal werkers Zwolle luiden de noodklok", ("De Stentor",), 1)]
    text = publisher.render_report(data).text
    listed = text[text.index("ALLE VERMELDINGEN"):]
    assert listed.count("Extra geld voor welzijnswerk") == 1 and listed.count("www.destentor.nl/") == 3
    assert "3 verhalen in 6 vermeldingen" in listed


def test_the_configured_gouden_gemeenten_and_names_are_shown_also_without_mentions(publisher: Publisher) -> None:
    data = figures(publisher)
    assert [(c.label, c.current, c.previous) for c in data.golden_municipalities] == [
        ("Zwolle", 5, 0), ("Amsterdam", 0, 0)]
    assert data.golden_codes == ("GM0193", "GM0363")
    (jansen,) = data.golden_names
    assert (jansen.count.key, jansen.count.current) == ("Gedeputeerde Jansen", 4)
    assert [(h.title, h.mentions, len(h.outlets)) for h in jansen.headlines] == [("Extra geld voor welzijnswerk", 4, 3)]


def test_without_gouden_gemeenten_configured_the_report_has_no_such_section(config: Path, publisher: Publisher) -> None:
    config.write_text(config.read_text(encoding="utf-8").replace(
        'gouden_gemeenten = ["Zwolle", "GM0363"]\n', ""), encoding="utf-8")
    with make_publisher(config) as plain:
        data = figures(plain)
        rendered = plain.render_report(data)
    assert data.golden_municipalities == ()
    assert "Gouden gemeenten" not in rendered.html and "GOUDEN GEMEENTEN" not in rendered.text


def test_every_member_is_listed_with_its_top_headlines(publisher: Publisher) -> None:
    members = {s.count.key: s for s in figures(publisher).members}
    assert set(members) == {"Travers Welzijn", "Welzijn Noord"}  # configured, and named on a source
    assert [h.title for h in members["Travers Welzijn"].headlines] == ["Sociaal werkers Zwolle luiden de noodklok"]
    assert (members["Welzijn Noord"].count.current, members["Welzijn Noord"].headlines) == (0, ())


def test_the_top_outlets_with_type_municipality_change_and_summed_reach(publisher: Publisher) -> None:
    data = figures(publisher)
    assert [(o.count.label, o.outlet_type.value, o.municipality, o.count.current, o.count.previous, o.reach)
            for o in data.top_outlets] == [
        ("De Stentor", "regionaal dagblad", "Zwolle", 3, 0, 450_000),
        ("nieuwsbladzwolle.example.nl", "unclassified", None, 1, 0, None),
        ("omroepbergen.example.nl", "unclassified", None, 1, 0, None),
        ("rtvoost.example.nl", "unclassified", None, 1, 0, 120_000)]
    assert data.reach is not None
    assert (data.reach.count.current, data.reach.count.previous, data.reach.known, data.reach.outlets) == (
        570_000, 0, 2, 4)
    assert "Van 2 van de 4 media is het bereik bekend" in " ".join(publisher.render_report(data).text.split())


def test_new_outlets_are_the_unclassified_ones_with_mentions_whenever_first_seen(publisher: Publisher) -> None:
    data = figures(publisher)  # the outlets were first seen in December, when matching ran
    assert [(o.domain, o.mentions) for o in data.new_outlets] == [
        ("nieuwsbladzwolle.example.nl", 1), ("omroepbergen.example.nl", 1), ("rtvoost.example.nl", 1)]


def test_the_provinces_and_the_map_show_where(publisher: Publisher) -> None:
    data = figures(publisher)
    overijssel = next(p for p in data.provinces if p.count.key == "Overijssel")
    assert (overijssel.count.current, overijssel.count.previous, overijssel.reached, overijssel.municipalities) == (
        5, 1, 1, 25)
    assert len(data.provinces) == 12 and sum(p.count.current for p in data.provinces) == 5
    assert data.municipality_counts == (("GM0193", 5),)
    assert publisher.render_report(data).map_png.startswith(b"\x89PNG")


def test_the_csv_has_one_row_per_mention_with_its_story_place_outlet_and_source(publisher: Publisher) -> None:
    rendered = publisher.render_report(figures(publisher))
    header, *rows = list(csv.reader(io.StringIO(rendered.csv.decode("utf-8-sig")), delimiter=";"))
    by_title = {r[1]: dict(zip(header, r)) for r in rows}
    assert len(rows) == 6
    rewritten = by_title["Provincie steunt welzijnswerk"]
    assert (rewritten["verhaal"], rewritten["CBS-code"], rewritten["provincie"], rewritten["bereik"],
            rewritten["bron"]) == ("Extra geld voor welzijnswerk", "GM0193", "Overijssel", "120000", "Google Alerts")
    stentor = by_title["Twee miljoen voor welzijnswerk in Overijssel"]
    assert (stentor["verhaal"], stentor["type medium"], stentor["bereik"], stentor["bron"]) == (
        "Extra geld voor welzijnswerk", "regionaal dagblad", "450000", "feed")
    alone = by_title["Jongerenwerk in Bergen breidt uit"]
    assert (alone["verhaal"], alone["CBS-code"], alone["provincie"]) == ("Jongerenwerk in Bergen breidt uit", "", "")


def test_every_command_path_gives_the_same_figures(config: Path, tmp_path: Path) -> None:
    from .stories import write_feed

    feed = tmp_path / "stentor.xml"
    write_feed(feed, [{"guid": "a", "title": "Sociaal werkers Zwolle luiden de noodklok", "date":
                       "Tue, 10 Nov 2026 09:00:00 +0100", "link": "https://www.destentor.nl/zwolle/noodklok",
                       "html": "<p>Travers Welzijn ziet de wachtlijsten groeien.</p>"}], "De Stentor")
    runner = CliRunner()
    base = ["--config", str(config)]
    assert runner.invoke(cli, [*base, "sources", "add", feed.as_uri(), "--kind", "media"]).exit_code == 0
    assert runner.invoke(cli, [*base, "fetch"]).exit_code == 0  # fetched, not matched
    built = runner.invoke(cli, [*base, "report", "build", "--from", "2026-11-01", "--to", "2026-11-30"])
    assert built.exit_code == 0, built.output
    assert "  vermeldingen                            1   ▲ nieuw (vorige periode: 0)" in built.output.splitlines()

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
    assert [m.title for m in data.mentions] == ["Jongerenwerk in Bergen breidt uit",
                                                "Twee miljoen voor welzijnswerk in Overijssel"]
    assert data.mentions_total == 6
    rendered = short.render_report(data)
    rows = list(csv.reader(io.StringIO(rendered.csv.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 1 + 6 and rows[1][1] == "Jongerenwerk in Bergen breidt uit"
    assert "De nieuwste 2 van 6 vermeldingen" in rendered.html


def test_mentions_that_do_not_count_are_kept_with_the_reason(publisher: Publisher) -> None:
    publisher.match_coverage()
    kept = {m.title for m in publisher.list_mentions(counted=False, limit=0)}
    assert kept == {"Nieuwe sociale werkplaats opent", "PEC Zwolle wint opnieuw", "Sociaal werk in Noord"}


def test_unknown_outlets_wait_for_an_editor(publisher: Publisher) -> None:
    publisher.match_coverage()
    unclassified = {o.domain for o in publisher.list_outlets(unclassified_only=True)}
    assert {"rtvoost.example.nl", "nieuwsbladzwolle.example.nl", "omroepbergen.example.nl"} <= unclassified
    assert "destentor.nl" not in unclassified


def test_the_report_arrives_by_mail_with_all_its_parts(config: Path, publisher: Publisher, smtp: SmtpServer) -> None:
    result = CliRunner().invoke(cli, ["--config", str(config), "report", "send", "--from", "2026-11-01",
                                      "--to", "2026-11-30"])
    assert result.exit_code == 0, result.output
    (received,) = smtp.received
    message = received.message
    assert "6 vermeldingen" in message["Subject"] and message["Message-ID"]
    assert received.recipients == ["communicatie@sociaalwerk.example"]
    parts = {part.get_content_type(): part for part in message.walk()}
    html = parts["text/html"].get_content()
    images = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 2  # the trend and the map, each shown inline by its Content-ID
    for image in images:
        assert f'cid:{image["Content-ID"].strip("<>")}' in html
        assert image.get_content().startswith(b"\x89PNG") and image["Content-Disposition"].startswith("inline")
    assert "Bron: CBS, Kadaster" in html
    assert "https://www.rtvoost.example.nl/nieuws/123" in html
    assert "https://www.rtvoost.example.nl/nieuws/123" in parts["text/plain"].get_content()
    rows = list(csv.reader(io.StringIO(parts["text/csv"].get_content().lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == 1 + 6
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
    assert html.count("data:image/png;base64,") == 2 and "cid:" not in html  # the chart and the map
    rows = list(csv.reader(io.StringIO((tmp_path / "rapport.csv").read_text(encoding="utf-8-sig")), delimiter=";"))
    assert len(rows) == 1 + 6


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
    publisher.match_coverage()
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


def test_failing_sources_are_named_once_with_a_dutch_reason_and_since_when(tmp_path: Path, httpserver) -> None:
    import time
    from dataclasses import replace
    from datetime import date

    from sociaalwerk_publisher.config import SecurityConfig

    from .conftest import make_config

    def slow(request):  # type: ignore[no-untyped-def]
        time.sleep(2.5)
        from werkzeug import Response
        return Response("<rss/>", content_type="application/rss+xml")

    httpserver.expect_request("/weg.xml").respond_with_data("weg", status=410)
    httpserver.expect_request("/druk.xml").respond_with_data("druk", status=429, headers={"Retry-After": "7200"})
    httpserver.expect_request("/pagina.xml").respond_with_data("<html><body>Hallo</body></html>",
                                                               content_type="text/html")
    httpserver.expect_request("/traag.xml").respond_with_handler(slow)
    config = replace(make_config(tmp_path, read_timeout=1.0), security=SecurityConfig(allow_private_networks=True))
    with make_publisher(config) as publisher:
        for name, title in (("weg", "Omroep Weg"), ("druk", None), ("pagina", "Stadskrant"), ("traag", "Traag FM")):
            publisher.add_source(httpserver.url_for(f"/{name}.xml"), SourceKind.MEDIA, discover=False, title=title,
                                 organisation="Welzijn Druk" if name == "druk" else None)
        list(publisher.fetch_sources())
        data = publisher.build_report(publisher.report_period(start=date(2026, 11, 1), end=date(2026, 11, 30)))
        failing = {s.name: s for s in data.failing_sources}
        english = publisher.build_report(data.period, language="en").failing_sources
        text = publisher.render_report(data).text
    assert failing["Omroep Weg"].reason == "bestaat niet meer (410)"
    assert failing["Welzijn Druk"].reason.startswith("te veel verzoeken, wacht tot ")  # the organisation, no title
    assert failing["Stadskrant"].reason == "geen geldige RSS/Atom"
    assert failing["Traag FM"].reason == "reageert niet binnen 1 seconde"
    assert all(s.failing_since is not None for s in failing.values())  # never worked: since it was added
    assert {s.reason for s in english} >= {"no longer exists (410)", "not a valid RSS/Atom feed",
                                           "does not answer within 1 second"}
    section = text[text.index("BRONNEN DIE NIET WERKEN"):]
    assert section.count("Omroep Weg") == 1 and "HTTP" not in section and "Error" not in section


@pytest.mark.parametrize("message, reason", [
    ("HTTP 410 Gone: the feed is gone", "bestaat niet meer (410)"),
    ("HTTP 404 Not Found", "niet gevonden (404)"),
    ("HTTP 403 Forbidden", "geen toegang (403)"),
    ("HTTP 502 Bad Gateway", "fout bij de server (502)"),
    ("took longer than 60 s", "reageert niet binnen 60 seconden"),
    ("timed out: HTTPSConnectionPool(host='x.nl', port=443): Max retries exceeded (connect timeout=10)",
     "reageert niet binnen 10 seconden"),
    ("cannot connect: HTTPSConnectionPool(host='x.nl'): Failed to resolve 'x.nl' ([Errno -2] Name or service not known)",
     "het domein bestaat niet (meer)"),
    ("cannot connect: [Errno 111] Connection refused", "is niet bereikbaar"),
    ("not an RSS or Atom feed: syntax error", "geen geldige RSS/Atom"),
    ("larger than the limit of 10485760 bytes (decompressed)", "is te groot"),
    ("unexpected error: KeyError: 'x'", "werkt niet (onbekende fout)"),
    (None, "werkt niet (onbekende fout)"),
])
def test_a_stored_failure_reads_as_a_reason_never_as_a_librarys_text(message: str | None, reason: str) -> None:
    from sociaalwerk_publisher.config import Config
    from sociaalwerk_publisher.coverage.figures import failure_reason

    assert failure_reason(message, Config()) == reason


def test_a_failure_kind_wins_over_the_message_and_a_wait_says_until_when() -> None:
    from datetime import datetime, timezone

    from sociaalwerk_publisher.config import Config
    from sociaalwerk_publisher.coverage.figures import failure_reason

    until = datetime(2026, 11, 18, 13, 30, tzinfo=timezone.utc)
    assert failure_reason("HTTP 429 Too Many Requests", Config(), next_poll_at=until) == \
        "te veel verzoeken, wacht tot 18 november om 14:30"
    assert failure_reason("something", Config(), kind="not-a-feed") == "geen geldige RSS/Atom"
    assert failure_reason("no answer from x.example.nl within 8 s", Config(), kind="timeout") == \
        "reageert niet binnen 8 seconden"
    assert failure_reason("cannot reach x.example.nl: name not found (DNS)", Config(), kind="dns") == \
        "het domein bestaat niet (meer)"
    assert failure_reason("x.example.nl broke off the connection", Config(), kind="reset") == "is niet bereikbaar"


@pytest.mark.parametrize("url, kind", [
    ("https://www.google.com/alerts/feeds/1234567890/987654321", "Google Alerts"),
    ("https://www.google.nl/alerts/feeds/1/2", "Google Alerts"),
    ("https://news.google.com/rss/search?q=sociaal+werk&hl=nl", "Google News"),
    ("https://www.destentor.nl/zwolle/rss.xml", "feed"),
    ("file:///tmp/feed.xml", "feed"),
    (None, "feed"),
])
def test_a_mention_knows_whether_it_came_from_a_feed_google_alerts_or_google_news(url: str | None, kind: str) -> None:
    from sociaalwerk_publisher.coverage.figures import mention_source

    assert mention_source(url).value == kind


def test_report_build_without_a_period_builds_last_months(config: Path, publisher: Publisher) -> None:
    from sociaalwerk_publisher.coverage.periods import last_complete, today_in_amsterdam

    result = CliRunner().invoke(cli, ["--config", str(config), "report", "build"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1].startswith(last_complete("month", today_in_amsterdam()).label + ", vergeleken met")


def test_the_same_report_over_one_members_or_some_municipalities_mentions(publisher: Publisher) -> None:
    from datetime import date

    from sociaalwerk_publisher.coverage.model import MentionScope

    period = publisher.report_period("month", today=date(2026, 12, 3))
    member = publisher.build_report(period, scope=MentionScope(organisation="Travers Welzijn"))
    assert {c.key: c.current for c in member.headline}["mentions"] == 1
    assert [s.count.key for s in member.members] == ["Travers Welzijn"]
    assert [e.headline for e in member.entries] == ["Sociaal werkers Zwolle luiden de noodklok"]
    zwolle = publisher.build_report(period, scope=MentionScope(municipalities=("GM0193",)))
    assert {c.key: (c.current, c.previous) for c in zwolle.headline}["mentions"] == (5, 0)
    assert zwolle.top_stories[0].mentions == 4
    rendered = publisher.render_report(zwolle)
    assert len(rendered.csv.decode("utf-8-sig").splitlines()) == 1 + 5
    assert rendered.map_png != publisher.render_report(figures(publisher)).map_png  # Zwolle alone is drawn


def test_a_members_report_names_it_and_tells_its_share_of_the_national_total(publisher: Publisher) -> None:
    from datetime import date

    from sociaalwerk_publisher.coverage.model import MentionScope

    period = publisher.report_period("month", today=date(2026, 12, 3))
    member = publisher.build_report(period, scope=MentionScope(organisation="Travers Welzijn"))
    assert member.national is not None and (member.national.current, member.national.previous) == (6, 2)
    assert member.own_municipalities == ("GM0193",)  # Zwolle, where its one mention is
    # item 8, an own channel of Welzijn Noord's that names no member, is not Travers Welzijn's
    assert {c.key: c.current for c in member.own_channels} == {"own_stories": 0, "syndicated": 0, "own_mentions": 0}
    rendered = publisher.render_report(member)
    assert rendered.subject.startswith("Persaandacht Travers Welzijn — ")
    assert "1 van de 6 vermeldingen landelijk (16,7 %); vorige periode: 0 van 2." in rendered.text
    assert "Persaandacht sociaal werk" not in rendered.html


# -- a report per member organisation ------------------------------------------------------
# The fixture by member, November 2026 against October: Travers Welzijn 1 mention (item 1, De
# Stentor, Zwolle), 0 before; Welzijn Noord 0 mentions (item 8 is its own channel), 2 own blog
# stories (b1, b2); nationally 6 against 2.

MEMBERS = """
[report]
schedule = ["2026-11"]

[[report.members]]
organisation = "Travers Welzijn"
recipients = ["pers@travers.example"]

[[report.members]]
organisation = "welzijn noord"
recipients = ["communicatie@welzijnnoord.example", "directie@welzijnnoord.example"]
language = "en"
"""


@pytest.fixture
def members(config: Path, publisher: Publisher) -> Iterator[Publisher]:
    config.write_text(config.read_text(encoding="utf-8") + MEMBERS, encoding="utf-8")
    with make_publisher(config) as p:
        yield p


def _mailed_to(smtp: SmtpServer) -> dict[str, list]:
    by_recipient: dict[str, list] = {}
    for received in smtp.received:
        by_recipient.setdefault(received.recipients[0], []).append(received.message)
    return by_recipient


def _csv_rows(message) -> list[list[str]]:
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/csv"]
    return list(csv.reader(io.StringIO(part.get_content().lstrip("\ufeff")), delimiter=";"))


def test_the_cycle_mails_each_member_its_own_report_once_with_its_mentions_attached(
        members: Publisher, smtp: SmtpServer) -> None:
    result = members.run_cycle(("reports", "outbox"))
    assert result.errors == [] and result.unsent == []
    assert len(result.reports) == 3  # the national report and one per member
    members.run_cycle(("reports", "outbox"))  # the next cycle finds all three made
    mailed = _mailed_to(smtp)
    assert sorted((r, len(m)) for r, m in mailed.items()) == [
        ("communicatie@sociaalwerk.example", 1), ("communicatie@welzijnnoord.example", 1),
        ("pers@travers.example", 1)]
    (travers,) = mailed["pers@travers.example"]
    assert travers["Subject"] == "Persaandacht Travers Welzijn — november 2026: 1 vermelding"
    text = next(p for p in travers.walk() if p.get_content_type() == "text/plain").get_content()
    assert "vergeleken met oktober 2026" in text
    assert "1 van de 6 vermeldingen landelijk (16,7 %); vorige periode: 0 van 2." in text
    rows = _csv_rows(travers)
    assert [r[1] for r in rows[1:]] == ["Sociaal werkers Zwolle luiden de noodklok"]  # its one mention
    assert [p.get_filename() for p in travers.walk() if p.get_content_type() == "text/csv"] == [
        "vermeldingen-travers-welzijn-2026-11-01-2026-11-30.csv"]
    (noord,) = mailed["communicatie@welzijnnoord.example"]
    assert smtp.received[[r.message for r in smtp.received].index(noord)].recipients == [
        "communicatie@welzijnnoord.example", "directie@welzijnnoord.example"]
    assert noord["Subject"] == "Press coverage of Welzijn Noord — November 2026: 0 mentions"  # its language
    text = next(p for p in noord.walk() if p.get_content_type() == "text/plain").get_content()
    assert "0 of the 6 mentions nationally (0.0 %); previous period: 0 of 2." in text
    assert len(_csv_rows(noord)) == 1  # the header: its own blog picked up by an alert is no press
    national = mailed["communicatie@sociaalwerk.example"][0]
    assert len(_csv_rows(national)) == 1 + 6


def test_a_members_report_waits_out_a_mail_server_outage_and_is_sent_once(
        members: Publisher, smtp: SmtpServer) -> None:
    smtp.stop()
    down = members.run_cycle(("reports", "outbox"))
    assert len(down.unsent) == 3 and smtp.received == []
    smtp.start()
    members.run_cycle(("reports", "outbox"))  # backing off: the cycle builds nothing again
    assert [d.ok for d in members.deliver_outbox(force=True)] == [True, True, True]
    members.run_cycle(("reports", "outbox"))
    assert len(members.deliver_outbox(force=True)) == 0
    assert sorted(len(m) for m in _mailed_to(smtp).values()) == [1, 1, 1]


def test_a_members_report_queued_by_a_run_that_crashed_is_sent_by_the_next_once(
        config: Path, members: Publisher, smtp: SmtpServer) -> None:
    from datetime import date

    period = members.report_period("month", today=date(2026, 12, 3))
    key, added = members.queue_report(period, organisation="Travers Welzijn")
    assert added and key == "member-report:2026-11-01:2026-11-30:Travers Welzijn"
    members.close()  # the run dies before its outbox step
    with make_publisher(config) as next_run:
        assert next_run.queue_report(period, organisation="TRAVERS WELZIJN") == (key, False)  # one per member
        next_run.run_cycle(("reports", "outbox"))
    assert len(_mailed_to(smtp)["pers@travers.example"]) == 1


def test_report_build_organisation_shows_a_members_report_without_sending(
        config: Path, members: Publisher, smtp: SmtpServer) -> None:
    result = CliRunner().invoke(cli, ["--config", str(config), "report", "build", "--from", "2026-11-01",
                                      "--to", "2026-11-30", "--organisation", "Travers Welzijn"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("PERSAANDACHT TRAVERS WELZIJN\n1 t/m 30 november 2026, vergeleken met")
    assert "1 van de 6 vermeldingen landelijk (16,7 %)" in result.output
    noord = CliRunner().invoke(cli, ["--config", str(config), "report", "build", "--period", "month",
                                     "--organisation", "Welzijn Noord"])
    assert noord.exit_code == 0 and "mentions nationally" in noord.output  # the member's language
    unknown = CliRunner().invoke(cli, ["--config", str(config), "report", "build", "--organisation", "Welzijn Zuid"])
    assert unknown.exit_code == 2
    assert "'Welzijn Zuid' is not a member organisation (known: Travers Welzijn, Welzijn Noord)" in unknown.output
    assert smtp.received == [] and members.outbox() == []

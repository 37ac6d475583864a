"""The coverage report as a reader gets it: an HTML e-mail, its text alternative, a CSV of every
mention and a trend chart, in Dutch or English, safe with whatever the feeds put in titles."""

from __future__ import annotations

import base64
import csv
import dataclasses
import html
import io
import re
import struct
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import pytest

from sociaalwerk_publisher.coverage.model import Count, MentionRow, OutletType, ReportData, mention_record
from sociaalwerk_publisher.exceptions import TemplateError
from sociaalwerk_publisher.types import RenderedReport
from sociaalwerk_publisher.reports import OUTLET_TYPES, chart_png, mentions_csv, render_report

from .fixtures.report_data import (
    FAILING,
    FORMULA_TITLE,
    HEADLINE,
    JAVASCRIPT_URL,
    MENTIONS,
    PLUS_TITLE,
    REPORT,
    SCRIPT_TITLE,
    SUBJECT_EN,
    SUBJECT_NL,
    TOP_STORIES,
    make_report,
)

DUTCH_HEADER = ["datum", "titel", "url", "medium", "type medium", "gemeente", "CBS-code", "provincie",
                "organisaties", "thema's", "zoektermen", "verhaal", "bereik", "bron"]
ARROWS = {"+": "\u25b2", "\u2212": "\u25bc", "n": "\u25b2", "g": "="}  # by the change's first character


_BLOCKS = {"p", "div", "td", "tr", "table", "h1", "h2", "br", "li"}


class _Page(HTMLParser):
    """What a reader sees of an HTML page, and where its links and resources point."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.links: list[tuple[str, str]] = []  # (href, link text)
        self.sources: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._skip = 0
        self._link: list[str] | None = None
        self._href = ""
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in _BLOCKS:
            self.texts.append(" ")
        self.tags.append((tag, attributes))
        if tag in ("style", "title"):
            self._skip += 1
        if tag == "a":
            self._href, self._link = attributes.get("href") or "", []
        for name in ("src", "background", "srcset"):
            if attributes.get(name):
                self.sources.append(attributes[name] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.texts.append(" ")
        if tag in ("style", "title"):
            self._skip -= 1
        if tag == "a" and self._link is not None:
            self.links.append((self._href, " ".join("".join(self._link).split())))
            self._link = None

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.texts.append(data)
            if self._link is not None:
                self._link.append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.texts).replace("\xa0", " ").split())


@pytest.fixture(scope="module")
def report() -> RenderedReport:
    return render_report(REPORT)


@pytest.fixture(scope="module")
def page(report: RenderedReport) -> _Page:
    return _Page(report.html)


def _mention(title: str = "Buurtwerk in Zwolle", url: str = "https://www.destentor.nl/a",
             **changes: object) -> MentionRow:
    return dataclasses.replace(MENTIONS[0], title=title, url=url, **changes)  # type: ignore[arg-type]


# -- the HTML e-mail ----------------------------------------------------------------------


def test_subject_names_the_period_the_mentions_and_their_change() -> None:
    assert render_report(REPORT).subject == SUBJECT_NL
    assert render_report(make_report("en")).subject == SUBJECT_EN


def test_subject_has_no_percentage_when_there_was_nothing_before() -> None:
    data = dataclasses.replace(REPORT, headline=(Count("mentions", "vermeldingen", 1, 0),))
    assert render_report(data).subject == "Persaandacht sociaal werk — november 2026: 1 vermelding"


def test_html_shows_every_headline_figure_with_its_change_against_the_previous_period(page: _Page) -> None:
    assert "Persaandacht sociaal werk november 2026 vergeleken met oktober 2026 " in page.text
    for label, _, current, previous, change in HEADLINE.values():
        assert f"{current} {label} {ARROWS[change[0]]} {change} vorige periode: {previous}" in page.text


def test_every_mention_is_a_link_to_its_url(page: _Page) -> None:
    for m in MENTIONS:
        if m.url.startswith("https://"):
            # a story alone links its title; a picked-up story its headline and each outlet
            assert (m.url, m.title) in page.links or (m.url, m.outlet) in page.links


def test_a_picked_up_story_is_one_entry_with_its_outlets(page: _Page) -> None:
    text = page.text
    entry = text[text.index("Alle vermeldingen"):]
    assert entry.count(TOP_STORIES[0].title) == 1
    assert ("Jongerenwerkers openen huiskamer voor tieners in Zwolle-Zuid opgepikt door 4 media (5 vermeldingen): "
            "De Stentor · regionaal dagblad · Zwolle · 3 nov Omroep Zwolle · lokale omroep · Zwolle · 3 nov "
            "Zwolle Nu · nieuwssite · Zwolle · 3 nov Trouw · landelijk dagblad · Zwolle · 4 nov "
            "De Stentor · regionaal dagblad · Zwolle · 24 nov") in entry
    assert "17 verhalen in 25 vermeldingen" in entry
    assert HEADLINE["stories"][2] == len({m.story or m.url for m in MENTIONS})


def test_every_mention_shows_outlet_type_municipality_and_day(page: _Page) -> None:
    assert "Kampen (kampen/leerlingen" not in page.text
    assert "Leerlingen en ouderen koken samen in Kampen De Stentor · regionaal dagblad · Kampen · 25 nov" in page.text
    assert "Leeuwarder Courant · regionaal dagblad · Súdwest-Fryslân · 12 nov" in page.text
    assert "Zorg+Welzijn · vakmedia · 29 nov" in page.text  # no municipality: left out, not "None"
    assert "Alle vermeldingen (25)" in page.text


def test_titles_from_feeds_are_shown_as_text_never_run(report: RenderedReport, page: _Page) -> None:
    assert "<script" not in report.html.lower()
    assert html.escape(SCRIPT_TITLE, quote=False).replace('"', "&#34;") in report.html
    assert SCRIPT_TITLE in page.text  # what the reader sees is the title as written


def test_only_http_urls_become_links(report: RenderedReport, page: _Page) -> None:
    assert all(href.startswith(("https://", "http://")) for href, _ in page.links)
    assert "javascript:" not in " ".join(href for href, _ in page.links)
    assert f"Wijkteams Utrecht krijgen extra geld voor jongeren ({JAVASCRIPT_URL})" in page.text


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<b>x</b>",
                                 "vbscript:msgbox", "file:///etc/passwd", "//evil.example/x", "https://", ""])
def test_a_url_that_is_not_http_is_not_linked(url: str) -> None:
    data = dataclasses.replace(REPORT, mentions=(_mention("Een titel", url),), top_stories=(), members=(),
                               golden_names=())
    assert [href for href, _ in _Page(render_report(data).html).links] == []


def test_the_email_loads_nothing_from_outside(report: RenderedReport, page: _Page) -> None:
    assert page.sources == [f"cid:{report.chart_cid}", f"cid:{report.map_cid}"]
    assert not [a for tag, a in page.tags if tag == "link"]
    assert not re.search(r"@import|url\(|@font-face", report.html, re.IGNORECASE)


def test_a_report_for_a_file_carries_the_chart_inside(report: RenderedReport) -> None:
    rendered = render_report(REPORT, for_file=True)
    chart, map_image = _Page(rendered.html).sources
    assert chart.startswith("data:image/png;base64,") and map_image.startswith("data:image/png;base64,")
    assert base64.b64decode(chart.split(",", 1)[1]) == rendered.chart_png == report.chart_png
    assert base64.b64decode(map_image.split(",", 1)[1]) == rendered.map_png == report.map_png
    assert "cid:" not in rendered.html


def test_the_chart_has_an_alternative_text_for_blocked_images(page: _Page) -> None:
    chart, map_image = [a for tag, a in page.tags if tag == "img"]
    assert chart["alt"] == "Vermeldingen per dag: hoogste aantal 3 op 3 nov"
    assert map_image["alt"] == "Kaart van Nederland: vermeldingen per gemeente en per 100.000 inwoners"


def test_own_channels_are_shown_apart_and_not_counted_as_press(page: _Page) -> None:
    text = page.text
    press, own = text.index("In de pers"), text.index("Eigen kanalen")
    assert press < text.index("25 vermeldingen", press) < own
    assert own < text.index("Dit is géén persaandacht") < text.index("18 eigen verhalen gepubliceerd")
    assert own < text.index("vermeldingen op eigen kanalen 7 ▲ +40%")
    # the store repeats the headline's own figures among own_channels: each is shown once
    assert text.count("eigen verhalen gepubliceerd") == 1


def test_failing_sources_are_announced_at_the_top_and_listed(page: _Page) -> None:
    text = page.text
    assert text.index("Let op: 1 bron werkt niet") < text.index("In de pers")
    assert f"{FAILING.name}: bestaat niet meer (410), sinds 18 november 2026 {FAILING.url}" in text
    assert text.count(FAILING.name) == 1


def test_top_stories_golden_municipalities_and_rankings_are_shown(page: _Page) -> None:
    text = page.text
    for i, story in enumerate(TOP_STORIES, 1):
        assert (f"{i} {story.title} opgepikt door {len(story.outlets)} media ({story.mentions} vermeldingen): "
                f"{', '.join(story.outlets)}") in text
    assert "1 Jongerenwerkers openen huiskamer voor tieners in Zwolle-Zuid opgepikt door 4 media (5 vermeldingen)" in text
    assert "Súdwest-Fryslân 3 ▲ nieuw" in text
    assert "regionaal dagblad 8 ▼ −11%" in text
    assert "mantelzorg 1 = gelijk" in text
    assert "Haarlem105 haarlem105.nl · 2 vermeldingen" in text
    assert "Sinds 10 november zijn 'buurtteam' en 'opbouwwerk' zoektermen." in text


def test_every_configured_gouden_gemeente_is_shown_also_without_mentions(page: _Page) -> None:
    text = page.text
    golden = text[text.index("Gouden gemeenten"):text.index("Gouden namen")]
    assert ("uitlicht, elk met het aantal vermeldingen. ★ Zwolle 7 vermeldingen ▲ +40% ★ Súdwest-Fryslân 3 "
            "vermeldingen ▲ nieuw ★ Almere 0 vermeldingen ▼ −100% ■") in golden
    assert "★ Samira el Idrissi Opbouwwerkers Utrecht: 'Luister naar de wijk' · DUIC 1 vermelding ▲ nieuw" in text


def test_without_gouden_gemeenten_configured_the_section_is_absent() -> None:
    text = _Page(render_report(dataclasses.replace(REPORT, golden_municipalities=(), golden_names=())).html).text
    assert "Gouden gemeenten" not in text and "Gouden namen" not in text


def test_every_member_organisation_is_listed_with_its_top_headlines(page: _Page) -> None:
    text = page.text
    members = text[text.index("Per lidorganisatie"):text.index("Gemeenten met de meeste")]
    assert "Travers Welzijn Jongerenwerkers openen huiskamer voor tieners in Zwolle-Zuid · De Stentor, Omroep Zwolle, " \
           "Zwolle Nu, Trouw Omroep Zwolle praat met jongerenwerker Samira · Omroep Zwolle 6 ▲ +50%" in members
    assert "Humanitas DMH 0 = gelijk" in members  # a member without mentions is there too
    assert members.index("Travers Welzijn") < members.index("DOCK") < members.index("Humanitas DMH")


def test_the_top_outlets_are_named_with_type_municipality_mentions_change_and_reach(page: _Page) -> None:
    text = page.text
    outlets = text[text.index("Welke media"):text.index("Per lidorganisatie")]
    assert outlets.startswith("Welke media De Stentor regionaal dagblad · Zwolle · bereik 450.000 5 ▼ −17% "
                              "DUIC nieuwssite · Utrecht · bereik 60.000 3 = gelijk")
    assert "Van 4 van de 13 media is het bereik bekend" in outlets
    assert "1.190.000 geschat bereik ▲ +43% vorige periode: 830.000" in text


def test_the_map_and_a_table_per_province_show_where(page: _Page) -> None:
    text = page.text
    where = text[text.index("Waar"):text.index("Gouden gemeenten")]
    assert "Overijssel 9 3 / 25 0,8 ▲ nieuw" in where  # Zwolle 7, Deventer 2, Kampen 1 ... in 25
    assert where.count(" / ") == 12
    assert "Bron: CBS, Kadaster" in text


def test_no_advertising_value_is_claimed(report: RenderedReport) -> None:
    for part in (report.html, report.text):
        assert not re.search(r"advertentiewaarde|advertising value|\bAVE\b|€", part, re.IGNORECASE)


def test_a_quiet_period_still_renders() -> None:
    quiet = dataclasses.replace(
        REPORT, headline=tuple(dataclasses.replace(c, current=0) for c in REPORT.headline),
        by_outlet_type=(), by_municipality=(), golden_municipalities=(), by_organisation=(), by_theme=(),
        trend=tuple((d, 0) for d, _ in REPORT.trend), top_stories=(), mentions=(), own_channels=(),
        new_outlets=(), failing_sources=(), notes=(), members=(), golden_names=(), top_outlets=(), reach=None,
        municipality_counts=(), entries=(),
    )
    rendered = render_report(quiet)
    assert "Geen vermeldingen in deze periode." in _Page(rendered.html).text
    assert "Geen vermeldingen in deze periode." in rendered.text
    assert rendered.subject == "Persaandacht sociaal werk — november 2026: 0 vermeldingen (\u2212100%)"
    assert mentions_csv(quiet).decode("utf-8-sig").splitlines() == [";".join(DUTCH_HEADER)]


def test_large_figures_get_a_thousands_separator() -> None:
    data = dataclasses.replace(REPORT, headline=(Count("mentions", "vermeldingen", 12345, 10000),))
    assert render_report(data).subject.endswith(": 12.345 vermeldingen (+23%)")
    english = dataclasses.replace(data, language="en")
    assert render_report(english).subject.endswith(": 12,345 mentions (+23%)")


# -- the text alternative -----------------------------------------------------------------


def test_text_alternative_carries_the_same_figures_and_every_url(report: RenderedReport) -> None:
    lines = report.text.splitlines()
    for label, _, current, previous, change in HEADLINE.values():
        figure = rf"  {label} +{current}   {ARROWS[change[0]]} {re.escape(change)} \(vorige periode: {previous}\)"
        assert [line for line in lines if re.fullmatch(figure, line)], figure
    for m in MENTIONS:
        assert f"  {m.url}" in lines or f"    {m.url}" in lines
    for story in TOP_STORIES:
        assert f"   {story.url}" in lines
    assert "Let op: 1 bron werkt niet" in report.text and FAILING.url in report.text
    assert "EIGEN KANALEN" in report.text and "géén persaandacht" in report.text


def test_text_alternative_shows_feed_text_as_written_on_one_line() -> None:
    title = "Sociaal werk\n\x1b[31mrood\x1b[0m \u202egnipaak\u202c in\r\nZwolle"
    data = dataclasses.replace(REPORT, mentions=(_mention(title),))
    text = render_report(data).text
    assert "  Sociaal werk [31mrood [0m gnipaak in Zwolle\n" in text
    assert "\x1b" not in text and "\u202e" not in text and "\r" not in text


# -- the CSV --------------------------------------------------------------------------------


def _rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline=""), delimiter=";"))


def test_a_long_list_shows_the_newest_mentions_and_points_to_the_csv_for_all() -> None:
    rendered = render_report(dataclasses.replace(REPORT, members=(), golden_names=()), listed=10)
    page = _Page(rendered.html)
    top = {(t.url, t.title) for t in REPORT.top_stories}
    listed = {(m.url, m.title) for m in MENTIONS} & set(page.links) - top
    assert listed == {(m.url, m.title) for m in MENTIONS[:10]} - top
    assert "Nieuwste vermeldingen (10)" in page.text
    assert "De nieuwste 10 van 25 vermeldingen; de overige 15 staan in de bijlage (CSV)." in page.text
    assert MENTIONS[0].url in rendered.text and MENTIONS[10].url not in rendered.text
    assert "de overige 15 staan in de bijlage" in " ".join(rendered.text.split())
    assert len(_rows(rendered.csv)) == len(MENTIONS) + 1  # header + every mention


def test_a_report_file_points_to_the_csv_file_beside_it() -> None:
    page = _Page(render_report(REPORT, listed=10, for_file=True).html)
    assert "De nieuwste 10 van 25 vermeldingen; alle staan in het CSV-bestand ernaast." in page.text


def test_csv_has_one_row_per_mention_under_a_dutch_header() -> None:
    header, *rows = _rows(mentions_csv(REPORT))
    assert header == DUTCH_HEADER
    assert len(rows) == len(MENTIONS)
    assert [r[2] for r in rows] == [m.url for m in MENTIONS]
    friesland = rows[[m.title for m in MENTIONS].index("Sosjale wurkers yn Snits sykje iensume âlderein op")]
    assert friesland == ["2026-11-13 08:05", "Sosjale wurkers yn Snits sykje iensume âlderein op",
                         "https://www.omropfryslan.nl/nl/nieuws/1234567/sosjale-wurkers-snits", "Omrop Fryslân",
                         "lokale omroep", "Súdwest-Fryslân", "GM1900", "Fryslân", "Amaryllis", "eenzaamheid",
                         "sociaal werker", "Sociaal werkers in Sneek zoeken eenzame ouderen thuis op", "", "feed"]
    haarlem = rows[[m.title for m in MENTIONS].index("Jongerenwerk Haarlem-Oost start podcast met tieners")]
    assert haarlem[5:8] == ["Haarlem", "GM0392", "Noord-Holland"] and haarlem[13] == "Google Alerts"
    stentor = rows[[m.title for m in MENTIONS].index(PLUS_TITLE)]
    assert stentor[11:13] == ["'" + PLUS_TITLE, "450000"]  # its own headline, and De Stentor's reach


def test_csv_lines_end_in_crlf_for_excel() -> None:
    assert mentions_csv(REPORT).count(b"\r\n") == len(MENTIONS) + 1


def test_csv_cells_from_feeds_cannot_run_as_formulas() -> None:
    _, *rows = _rows(mentions_csv(REPORT))
    titles = [r[1] for r in rows]
    assert "'" + FORMULA_TITLE in titles
    assert "'" + PLUS_TITLE in titles


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t=", "\r="])
def test_every_formula_start_is_neutralised(start: str) -> None:
    mention = _mention(f"{start}1+1", outlet=f"{start}cmd", municipality=f"{start}A1")
    _, row = _rows(mentions_csv(dataclasses.replace(REPORT, mentions=(mention,))))
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)
    assert row[1].startswith("'") and row[3].startswith("'") and row[5].startswith("'")


def test_csv_header_follows_the_report_language() -> None:
    header, *_ = _rows(mentions_csv(make_report("en")))
    assert header == ["date", "title", "url", "outlet", "outlet type", "municipality", "CBS code", "province",
                      "organisations", "themes", "terms", "story", "reach", "source"]



def test_csv_cells_with_a_separator_or_a_quote_are_quoted_as_excel_reads_them() -> None:
    moment = datetime(2026, 11, 20, 8, 30, tzinfo=timezone.utc)
    semicolon = _mention("Wijkteam; nu ook op zaterdag", outlet='Dagblad "Het Oosten"', published_at=moment,
                         headline="")
    plain = _mention("Buurtwerk in Zwolle", outlet="De Stentor", published_at=moment, headline="")
    data = mentions_csv(dataclasses.replace(REPORT, mentions=(semicolon, plain)))
    assert data[3:].decode("utf-8").split("\r\n")[1:] == [
        '2026-11-20 09:30;"Wijkteam; nu ook op zaterdag";https://www.destentor.nl/a;"Dagblad ""Het Oosten""";'
        'vakmedia;;;;;;sociaal werk;"Wijkteam; nu ook op zaterdag";;feed',
        "2026-11-20 09:30;Buurtwerk in Zwolle;https://www.destentor.nl/a;De Stentor;"
        "vakmedia;;;;;;sociaal werk;Buurtwerk in Zwolle;;feed",
        ""]



def test_a_mention_record_holds_the_rows_fields_in_their_order() -> None:
    assert all(MentionRow(*mention_record(m)) == m for m in MENTIONS)


@pytest.mark.parametrize(("published_at", "written"), [
    (datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc), "2026-10-25 02:30"),  # summer time, the first 02:30
    (datetime(2026, 10, 25, 1, 30, tzinfo=timezone.utc), "2026-10-25 02:30"),  # winter time, the second
    (datetime(2026, 3, 29, 0, 59, 59, tzinfo=timezone.utc), "2026-03-29 01:59"),
    (datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc), "2026-03-29 03:00"),
    (datetime(2026, 11, 12, 14, 15, tzinfo=timezone(timedelta(hours=5, minutes=30))), "2026-11-12 09:45"),
    (datetime(1937, 6, 1, 12, 0, tzinfo=timezone.utc), "1937-06-01 13:19"),  # Amsterdam time, +0:19:32
    (datetime(2026, 11, 12, 8, 5), "2026-11-12 08:05"),  # no zone: as written
])
def test_csv_dates_are_amsterdam_time_to_the_minute(published_at: datetime, written: str) -> None:
    _, row = _rows(mentions_csv(dataclasses.replace(REPORT, mentions=(_mention(published_at=published_at),))))
    assert row[0] == written


# -- the chart ------------------------------------------------------------------------------


def _png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_chart_is_a_png_twice_as_sharp_as_an_email_is_wide(report: RenderedReport) -> None:
    width, height = _png_size(report.chart_png)
    assert width == 1200 and 400 <= height <= 700
    assert report.chart_cid.endswith("@sociaalwerk-publisher")


def test_the_same_figures_give_the_same_chart() -> None:
    assert chart_png(REPORT) == chart_png(make_report())


QUARTER_BY_WEEK = tuple((date(2026, 7, 6) + timedelta(weeks=i), n)
                        for i, n in enumerate([4, 9, 0, 12, 7, 30, 11, 5, 8, 6, 2, 14, 3]))


@pytest.mark.parametrize("trend, unit", [
    (QUARTER_BY_WEEK, "week"),
    ((), "day"),
    (((date(2026, 11, 1), 0), (date(2026, 11, 2), 0)), "day"),
    (((date(2026, 11, 1), 1),), "day"),
])
def test_chart_draws_weeks_single_days_and_empty_periods(trend: tuple[tuple[date, int], ...], unit: str) -> None:
    # warnings are errors in this suite: any matplotlib warning fails here
    assert _png_size(chart_png(dataclasses.replace(REPORT, trend=trend, trend_unit=unit)))[0] == 1200


def test_chart_leaves_matplotlib_settings_alone() -> None:
    backend, settings = matplotlib.get_backend(), dict(matplotlib.rcParams)
    chart_png(REPORT)
    assert matplotlib.get_backend() == backend
    assert dict(matplotlib.rcParams) == settings


# -- English ----------------------------------------------------------------------------------


def test_english_report_uses_english_labels() -> None:
    rendered = render_report(make_report("en"))
    text = _Page(rendered.html).text
    assert "Press coverage of social work November 2026 compared with October 2026 " in text
    assert "25 mentions ▲ +25% previous period: 20" in text
    assert "7 municipalities reached = no change previous period: 7" in text
    assert "12 syndicated copies ▲ new previous period: 0" in text
    for words in ("Own channels", "All mentions (25)", "Golden municipalities", "By type of outlet",
                  "regional daily 8", "Zwolle Nu · news site · Zwolle · 3 Nov", "since 18 November 2026",
                  "picked up by 4 outlets (5 mentions)", "Which outlets", "1,190,000 estimated reach",
                  "By province", "Every member organisation", "Golden names", "17 stories in 25 mentions",
                  "Haarlem105 haarlem105.nl · 2 mentions", "per 100,000 inh."):
        assert words in text, words
    for dutch in ("vorige periode", "Alle vermeldingen", "Eigen kanalen", "regionaal dagblad", "werkt niet",
                  "vergeleken", "opgepikt", "bereik bekend", "provincie", "lidorganisatie", "Gouden"):
        assert dutch not in text, dutch
        assert dutch not in rendered.text, dutch
    assert '<html lang="en">' in rendered.html
    assert "ALL MENTIONS (25)" in rendered.text


def test_every_outlet_type_is_named_in_both_languages() -> None:
    for language in ("nl", "en"):
        assert set(OUTLET_TYPES[language]) == set(OutletType)


# -- templates ------------------------------------------------------------------------------


def test_a_template_in_the_users_folder_wins_over_the_bundled_one(tmp_path: Path) -> None:
    (tmp_path / "report.html.j2").write_text(
        "<p>Ons eigen verslag: {{ data.period.label }}, {{ fmt.number(lead.current) }} {{ subject }}"
        " <img src=\"{{ chart_src }}\"> {{ data.mentions[0].title }}</p>\n", encoding="utf-8")
    rendered = render_report(REPORT, template_folder=str(tmp_path))
    assert rendered.html == (f"<p>Ons eigen verslag: november 2026, 25 {SUBJECT_NL}"
                             f" <img src=\"cid:{rendered.chart_cid}\"> {MENTIONS[0].title}</p>\n")
    assert rendered.text == render_report(REPORT).text  # the other template is still the bundled one


def test_a_broken_user_template_is_a_template_error(tmp_path: Path) -> None:
    (tmp_path / "report.txt.j2").write_text("{{ data.no_such_figure }}", encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        render_report(REPORT, template_folder=str(tmp_path))
    assert caught.value.template == "report.txt.j2"


def test_the_fixture_is_what_it_claims() -> None:
    assert isinstance(REPORT, ReportData) and len(MENTIONS) == 25
    assert len({m.outlet for m in MENTIONS}) == HEADLINE["outlets"][2]
    assert len({m.story or m.url for m in MENTIONS}) == HEADLINE["stories"][2]
    assert len({m.municipality for m in MENTIONS if m.municipality}) == HEADLINE["municipalities"][2]
    assert sum(n for _, n in REPORT.trend) == len(MENTIONS)
    assert all(m.published_at.tzinfo is timezone.utc for m in MENTIONS)
    assert tuple(sorted(MENTIONS, key=lambda m: m.published_at, reverse=True)) == MENTIONS
    assert REPORT.generated_at == datetime(2026, 12, 1, 6, 0, tzinfo=timezone.utc)

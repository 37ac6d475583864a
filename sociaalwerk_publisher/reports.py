"""Coverage reports as an e-mail: HTML, plain text, a CSV of every mention and a trend chart.

Rendering is pure: :class:`~.coverage.model.ReportData` in, a :class:`RenderedReport` out;
storing and sending it is :mod:`.mail`'s job. The words come from the bundled templates
``report.html.j2`` and ``report.txt.j2`` (a user's templates folder may override them) and
from :data:`LABELS`, one small dictionary per language (``nl``, the default, and ``en``).

Everything that came from a feed (titles, outlet names, URLs) is made one line of printable
text first, then HTML-escaped by the template; only ``http(s)`` URLs become links.

The CSV is what Excel with Dutch regional settings opens correctly on a double click:
UTF-8 with a byte order mark (without it Excel reads ANSI and garbles "Súdwest-Fryslân"),
``;`` between cells (the Dutch list separator, as the decimal separator is a comma; a
``sep=;`` line would make Excel ignore the BOM) and CRLF line ends. Cells that a spreadsheet
would run as a formula get a leading apostrophe.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import enum
import hashlib
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .coverage.model import Count, MentionRecord, OutletType, Period, ReportData, group_entries, mention_record
from .coverage.periods import AMSTERDAM, MONTHS
from .exceptions import ReportError
from .feeds.sanitise import WEB_SCHEMES, safe_url
from .maps import map_png
from .rendering import render
from .types import RenderedReport

__all__ = ["LABELS", "OWN_CHANNEL_KEYS", "chart_png", "mentions_csv", "render_report"]

#: Headline keys that count our own channels, not the press: shown apart, never added up.
OWN_CHANNEL_KEYS = frozenset({"own_stories", "syndicated"})
#: The headline key the subject line and the big number are about.
LEAD_KEY = "mentions"

ACCENT = "#E8542F"  #: Sociaal Werk Nederland's warm orange-red
INK = "#1B2A4A"  #: dark blue
MUTED = "#6B7280"
HAIRLINE = "#E7E2DA"
#: 5 inches at 240 dpi: 1200 px, shown at 600 px or less, so twice as sharp
DPI = 240

LABELS: dict[str, dict[str, Any]] = {
    "nl": {
        "brand": "Sociaal Werk Nederland",
        "title": "Persaandacht sociaal werk",
        "member_title": "Persaandacht {organisation}",
        "share": "Aandeel in het landelijke totaal",
        "share_text": "{own} van de {total} vermeldingen landelijk ({percent}); {previous_period}: {own_before} van {total_before}.",
        "syndicated_stories": "Eigen verhalen doorgeplaatst",
        "syndicated_intro": "Waar elk eigen verhaal van deze periode nu te lezen is.",
        "compared_with": "vergeleken met {previous}",
        "previous_period": "vorige periode",
        "key_figures": "Kerncijfers",
        "press_figures": "In de pers",
        "own_channels": "Eigen kanalen",
        "own_channels_note": "Onze eigen blogs en doorgeplaatste verhalen. Dit is géén persaandacht "
                             "en telt niet mee in de cijfers hierboven.",
        "trend_day": "Vermeldingen per dag",
        "trend_week": "Vermeldingen per week",
        "top_stories": "Meest overgenomen verhalen",
        "picked_up_by": "opgepikt door",
        "outlet_one": "medium",
        "outlet_many": "media",
        "golden": "Gouden gemeenten",
        "golden_intro": "De gemeenten die de campagne uitlicht, elk met het aantal vermeldingen.",
        "golden_names": "Gouden namen",
        "golden_names_intro": "Personen en instellingen die de campagne uitlicht.",
        "municipalities": "Gemeenten met de meeste vermeldingen",
        "outlet_types": "Per soort medium",
        "organisations": "Per lidorganisatie",
        "organisations_intro": "Elke lidorganisatie, ook zonder vermeldingen, met haar meest opgepikte verhalen.",
        "themes": "Per thema",
        "where": "Waar",
        "map_alt": "Kaart van Nederland: vermeldingen per gemeente en per 100.000 inwoners",
        "provinces": "Per provincie",
        "province": "provincie",
        "reached": "gemeenten bereikt",
        "per_100k": "per 100.000 inw.",
        "outlets": "Welke media",
        "outlet_reach": "bereik",
        "reach_note": "Geschat bereik: de som van het bereik van de media met minstens één vermelding, elk "
                      "medium één keer geteld, ook als het vaker over ons schreef. Van {known} van de {outlets} "
                      "media is het bereik bekend; de andere tellen niet mee. Het is een bovengrens van het "
                      "aantal mensen dat een bericht kon zien, geen aantal lezers.",
        "mentions": "Alle vermeldingen",
        "latest_mentions": "Nieuwste vermeldingen",
        "stories_count": "{stories} verhalen in {mentions} vermeldingen",
        "mentions_shown": "De nieuwste {shown} van {total} vermeldingen; de overige {rest} staan in de bijlage (CSV).",
        "mentions_shown_file": "De nieuwste {shown} van {total} vermeldingen; alle staan in het CSV-bestand ernaast.",
        "no_mentions": "Geen vermeldingen in deze periode.",
        "new_outlets": "Nieuwe media gezien",
        "new_outlets_intro": "Media met vermeldingen in deze periode die nog niet zijn ingedeeld; een redacteur "
                             "deelt ze in met „sociaalwerk-publisher outlets set DOMEIN --type ...”.",
        "failing": "Bronnen die niet werken",
        "failing_alert_one": "Let op: 1 bron werkt niet, dus er kunnen vermeldingen ontbreken.",
        "failing_alert_many": "Let op: {n} bronnen werken niet, dus er kunnen vermeldingen ontbreken.",
        "failing_since": "sinds",
        "see_below": "Zie onderaan.",
        "notes": "Opmerkingen",
        "change_new": "nieuw",
        "change_same": "gelijk",
        "mention_one": "vermelding",
        "mention_many": "vermeldingen",
        "footer_made": "Gemaakt door sociaalwerk-publisher op {moment}.",
        "footer_how": "Vermeldingen zijn berichten in nieuwsfeeds en alerts die een van de zoektermen "
                      "noemen. Een verhaal dat door meerdere media is overgenomen, telt als één "
                      "verhaal met meerdere vermeldingen. Eigen kanalen tellen niet mee.",
        "footer_csv": "Alle vermeldingen staan ook in de bijlage (CSV, opent in Excel).",
        "footer_map": "Kaart: Bron: CBS, Kadaster (PDOK, CBS Gebiedsindelingen), vereenvoudigd door cartomap/nl; "
                      "inwoners: Bron: CBS (1 januari 2024).",
        "subject": "{title} — {period}: {count} {noun}{change}",
        "chart_alt": "{title}: hoogste aantal {top} op {day}",
        "chart_empty": "Geen vermeldingen in deze periode",
        "at": "om",
        "months_short": ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt",
                         "nov", "dec"),
        "csv_header": ("datum", "titel", "url", "medium", "type medium", "gemeente", "CBS-code", "provincie",
                       "organisaties", "thema's", "zoektermen", "verhaal", "bereik", "bron"),
        "thousands": ".",
    },
    "en": {
        "brand": "Sociaal Werk Nederland",
        "title": "Press coverage of social work",
        "member_title": "Press coverage of {organisation}",
        "share": "Share of the national total",
        "share_text": "{own} of the {total} mentions nationally ({percent}); {previous_period}: {own_before} of {total_before}.",
        "syndicated_stories": "Own stories republished",
        "syndicated_intro": "Where each own story of this period can be read now.",
        "compared_with": "compared with {previous}",
        "previous_period": "previous period",
        "key_figures": "Key figures",
        "press_figures": "In the press",
        "own_channels": "Own channels",
        "own_channels_note": "Our own blogs and republished stories. This is not press coverage "
                             "and is not counted in the figures above.",
        "trend_day": "Mentions per day",
        "trend_week": "Mentions per week",
        "top_stories": "Most picked-up stories",
        "picked_up_by": "picked up by",
        "outlet_one": "outlet",
        "outlet_many": "outlets",
        "golden": "Golden municipalities",
        "golden_intro": "The municipalities the campaign singles out, each with its mentions.",
        "golden_names": "Golden names",
        "golden_names_intro": "People and institutions the campaign singles out.",
        "municipalities": "Municipalities with the most mentions",
        "outlet_types": "By type of outlet",
        "organisations": "By member organisation",
        "organisations_intro": "Every member organisation, also without mentions, with its most picked-up stories.",
        "themes": "By theme",
        "where": "Where",
        "map_alt": "Map of the Netherlands: mentions per municipality and per 100,000 inhabitants",
        "provinces": "By province",
        "province": "province",
        "reached": "municipalities reached",
        "per_100k": "per 100,000 inh.",
        "outlets": "Which outlets",
        "outlet_reach": "reach",
        "reach_note": "Estimated reach: the sum of the reach of the outlets with at least one mention, each "
                      "outlet counted once, however often it wrote about us. The reach of {known} of the {outlets} "
                      "outlets is known; the others are not counted. It is an upper bound of the people who "
                      "could see an item, not a number of readers.",
        "mentions": "All mentions",
        "latest_mentions": "Latest mentions",
        "stories_count": "{stories} stories in {mentions} mentions",
        "mentions_shown": "The latest {shown} of {total} mentions; the other {rest} are in the attachment (CSV).",
        "mentions_shown_file": "The latest {shown} of {total} mentions; all are in the CSV file beside this one.",
        "no_mentions": "No mentions in this period.",
        "new_outlets": "New outlets seen",
        "new_outlets_intro": "Outlets with mentions in this period that are not classified yet; an editor "
                             "classifies them with “sociaalwerk-publisher outlets set DOMAIN --type ...”.",
        "failing": "Sources that are failing",
        "failing_alert_one": "Note: 1 source is failing, so mentions may be missing.",
        "failing_alert_many": "Note: {n} sources are failing, so mentions may be missing.",
        "failing_since": "since",
        "see_below": "See the end of this report.",
        "notes": "Notes",
        "change_new": "new",
        "change_same": "no change",
        "mention_one": "mention",
        "mention_many": "mentions",
        "footer_made": "Made by sociaalwerk-publisher on {moment}.",
        "footer_how": "Mentions are items in news feeds and alerts that name one of the watch terms. "
                      "A story picked up by several outlets counts as one story with several "
                      "mentions. Own channels are not counted.",
        "footer_csv": "Every mention is also in the attachment (CSV, opens in Excel).",
        "footer_map": "Map: Bron: CBS, Kadaster (PDOK, CBS Gebiedsindelingen), simplified by cartomap/nl; "
                      "inhabitants: Bron: CBS (1 January 2024).",
        "subject": "{title} — {period}: {count} {noun}{change}",
        "chart_alt": "{title}: highest {top} on {day}",
        "chart_empty": "No mentions in this period",
        "at": "at",
        "months_short": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                         "Nov", "Dec"),
        "csv_header": ("date", "title", "url", "outlet", "outlet type", "municipality", "CBS code", "province",
                       "organisations", "themes", "terms", "story", "reach", "source"),
        "thousands": ",",
    },
}

OUTLET_TYPES: dict[str, dict[OutletType, str]] = {
    "nl": {
        OutletType.LANDELIJK_DAGBLAD: "landelijk dagblad",
        OutletType.REGIONAAL_DAGBLAD: "regionaal dagblad",
        OutletType.HUIS_AAN_HUISBLAD: "huis-aan-huisblad",
        OutletType.LOKALE_OMROEP: "lokale omroep",
        OutletType.KABELKRANT: "kabelkrant",
        OutletType.NIEUWSSITE: "nieuwssite",
        OutletType.BLOG: "blog",
        OutletType.VAKMEDIA: "vakmedia",
        OutletType.OVERIG: "overig",
        OutletType.UNCLASSIFIED: "nog niet ingedeeld",
    },
    "en": {
        OutletType.LANDELIJK_DAGBLAD: "national daily",
        OutletType.REGIONAAL_DAGBLAD: "regional daily",
        OutletType.HUIS_AAN_HUISBLAD: "free local weekly",
        OutletType.LOKALE_OMROEP: "local broadcaster",
        OutletType.KABELKRANT: "cable text channel",
        OutletType.NIEUWSSITE: "news site",
        OutletType.BLOG: "blog",
        OutletType.VAKMEDIA: "trade press",
        OutletType.OVERIG: "other",
        OutletType.UNCLASSIFIED: "not yet classified",
    },
}

_UNSAFE_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")  # could make a title read backwards
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def report_file_name(period: Period) -> str:
    """The HTML file a scheduled report for ``period`` is written to; its existence marks the report made."""
    return f"persaandacht-{period.kind}-{period.start}-{period.end}.html"


def render_report(data: ReportData, *, template_folder: str | None = None,
                  for_file: bool = False, listed: int = 200,
                  every_mention: Iterable[MentionRecord] | None = None) -> RenderedReport:
    """Render the coverage report of one period in ``data.language``.

    Args:
        data: the figures of the period.
        template_folder: a folder whose ``report.html.j2`` / ``report.txt.j2`` win over the
            bundled templates.
        for_file: embed the chart in the HTML as a ``data:`` URI, for a stand-alone file.
        listed: list the newest this many mentions in the HTML and text (a month at national
            scale has tens of thousands: unreadable, and megabytes of mail); the CSV has all.
        every_mention: the mentions for the CSV when ``data.mentions`` holds only the newest
            (see ``ReportData.mentions_total``), as plain tuples, e.g. streamed from the store
            (``coverage.figures.mention_records``).

    Raises:
        TemplateError: a template is missing, broken or uses an undefined name.
        ReportError: the chart cannot be drawn (matplotlib is not installed).
    """
    fmt = _Format(_language(data))
    csv = mentions_csv(data, every_mention)
    total = len(data.mentions) if data.mentions_total is None else data.mentions_total
    listed_rows = data.mentions[:max(listed, 0)]
    # figures made elsewhere (a test, a script) may leave the stories to be grouped here
    stories = data.entries or group_entries(listed_rows)
    data = _translated(_cleaned(dataclasses.replace(data, mentions=listed_rows, entries=stories)), fmt)
    png = chart_png(data)
    cid, chart_src = _image("trend", png, for_file)
    scope = (data.scope.municipalities or data.own_municipalities or None) if data.scope is not None else None
    map_image = map_png(dict(data.municipality_counts), golden=data.golden_codes, only=scope,
                        language=fmt.language)
    map_cid, map_src = _image("map", map_image, for_file)
    lead = next((c for c in data.headline if c.key == LEAD_KEY), data.headline[0] if data.headline else None)
    subject = _subject(data, lead, fmt)
    own = tuple(c for c in data.headline if c.key in OWN_CHANNEL_KEYS)
    context = dict(
        data=data, t={**fmt.labels, "title": _title(data, fmt)}, fmt=fmt, subject=subject, lead=lead,
        share=_share(data, fmt),
        press=tuple(c for c in data.headline if c is not lead and c.key not in OWN_CHANNEL_KEYS),
        own=own,
        # the store repeats the headline's own figures here; show each figure once
        own_more=tuple(c for c in data.own_channels if c.key not in {o.key for o in own}),
        chart_src=chart_src, chart_title=_chart_title(data, fmt), chart_alt=_chart_alt(data, fmt),
        attachment=not for_file, mentions_total=total, map_src=map_src,
        compared_with=fmt.labels["compared_with"].format(previous=data.previous.spoken or data.previous.label),
        stories_total=next((c.current for c in data.headline if c.key == "stories"), len(data.entries)),
    )
    return RenderedReport(
        subject=subject,
        html=render("report.html.j2", template_folder, **context),
        text=render("report.txt.j2", template_folder, **context),
        csv=csv,
        chart_png=png,
        chart_cid=cid,
        map_png=map_image,
        map_cid=map_cid,
    )


def _image(name: str, png: bytes, for_file: bool) -> tuple[str, str]:
    """The Content-ID of an inline image, and the ``src`` that shows it (``data:`` in a file)."""
    cid = f"{name}-{hashlib.sha256(png).hexdigest()[:16]}@sociaalwerk-publisher"
    return cid, f"data:image/png;base64,{base64.b64encode(png).decode('ascii')}" if for_file else f"cid:{cid}"


def mentions_csv(data: ReportData, every_mention: Iterable[MentionRecord] | None = None) -> bytes:
    """Every mention of the period (``every_mention``, else ``data.mentions``), one row each,
    headed in the report's language.

    UTF-8 with BOM, ``;``-separated, CRLF: see the module docstring for why.
    """
    fmt = _Format(_language(data))
    header = fmt.labels["csv_header"]
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    write, separators = buffer.write, len(header) - 1
    records = every_mention if every_mention is not None else (mention_record(m) for m in data.mentions)
    for cells in _csv_rows(records, fmt):
        line = ";".join(cells)
        # a row with no ';', quote or line break inside a cell is written by the writer as
        # its cells joined: joined here, a month's rows take a quarter of the time
        if line.count(";") == separators and '"' not in line and "\r" not in line and "\n" not in line:
            write(line + "\r\n")
        else:
            writer.writerow(cells)
    return buffer.getvalue().encode("utf-8")


def _csv_rows(records: Iterable[MentionRecord], fmt: _Format) -> Iterator[tuple[str, ...]]:
    """The cells of each mention: every text made a safe cell, what is ours alone (a date, a
    type, a CBS code, a number) not looked at again. A month has a million cells, so what
    repeats from row to row (an outlet, a place, a list of themes) is made a cell once."""
    types = {t: fmt.outlet_type(t) for t in OutletType}
    repeated = lru_cache(maxsize=4096)(_cell)
    listed = lru_cache(maxsize=4096)(lambda values: _cell(", ".join(values)))
    written = _minutes()
    for (published_at, title, url, outlet, outlet_type, municipality, organisations, themes, terms, _, headline,
         code, province, reach, source_kind, _) in records:
        title_cell = _cell(title)
        yield (written(published_at), title_cell, _cell(url), repeated(outlet), types[outlet_type],
               repeated(municipality or ""), code or "", repeated(province or ""), listed(organisations),
               listed(themes), listed(terms), title_cell if headline == title or not headline else _cell(headline),
               "" if reach is None else str(reach), source_kind.value)


_CLOCK_MINUTES = tuple(f":{m:02d}" for m in range(60))


def _minutes() -> Callable[[datetime], str]:
    """A function that writes a moment as ``2026-11-12 08:15`` in Amsterdam time.

    Looking the zone up costs more than the rest of a CSV row, so it is done once per UTC
    hour; the minutes are the UTC ones, which is exact for an hour whose offset is whole
    hours (every hour since 1940); any other moment is converted on its own.
    """
    hours: dict[tuple[int, int, int, int], str] = {}

    def written(value: datetime) -> str:
        if value.tzinfo is not timezone.utc:
            return _local(value).strftime("%Y-%m-%d %H:%M")
        key = (value.year, value.month, value.day, value.hour)
        hour = hours.get(key)
        if hour is None:
            local = value.astimezone(AMSTERDAM)
            offset = local.utcoffset()
            whole = offset is not None and offset % timedelta(hours=1) == timedelta(0)
            hour = hours[key] = local.strftime("%Y-%m-%d %H") if whole else ""
        return hour + _CLOCK_MINUTES[value.minute] if hour else _local(value).strftime("%Y-%m-%d %H:%M")

    return written


def chart_png(data: ReportData) -> bytes:
    """The trend of mentions per day or week as a PNG, 1200 px wide to show sharply at 600 px.

    Drawn on a figure of its own with the Agg canvas, so matplotlib's global backend and
    pyplot's figure list are left alone.

    Raises:
        ReportError: matplotlib is not installed.
    """
    # imported here: matplotlib takes a while to load, and only reports need it
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as e:
        raise ReportError("matplotlib is needed to draw the report's chart: pip install matplotlib") from e

    fmt = _Format(_language(data))
    days = [d for d, _ in data.trend]
    values = [n for _, n in data.trend]
    figure = Figure(figsize=(5.0, 2.2), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    figure.subplots_adjust(left=0.06, right=0.965, top=0.86, bottom=0.14)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.spines["bottom"].set_color(HAIRLINE)
    axes.tick_params(colors=MUTED, labelsize=9.5, length=0, pad=5)
    if any(values):
        positions = range(len(values))
        axes.bar(positions, values, width=0.7 if data.trend_unit == "day" else 0.6, color=ACCENT,
                 zorder=2, linewidth=0)
        top = max(values)
        peak = values.index(top)
        axes.annotate(fmt.number(top), (peak, top), xytext=(0, 3), textcoords="offset points",
                      ha="center", va="bottom", fontsize=9.5, fontweight="bold", color=INK)
        axes.set_ylim(0, top * 1.18)
        axes.set_xlim(-0.6, len(values) - 0.4)
        axes.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True, min_n_ticks=2))
        axes.yaxis.grid(True, color="#EEEAE4", linewidth=0.8, zorder=0)
        axes.set_axisbelow(True)
        step = max(1, math.ceil(len(values) / 7))
        ticks = list(range(0, len(values), step))
        axes.set_xticks(ticks, [fmt.day(days[i]) for i in ticks])
        # the y axis label, level above the axis: easier to read than turned on its side
        axes.set_title(fmt.labels[f"trend_{_unit(data)}"].lower(), loc="left", fontsize=9.5, color=MUTED,
                       pad=10, x=-0.04)
    else:
        axes.set_xticks([])
        axes.set_yticks([])
        axes.text(0.5, 0.5, fmt.labels["chart_empty"], transform=axes.transAxes, ha="center",
                  va="center", fontsize=9, color=MUTED)
    buffer = io.BytesIO()
    # no Software chunk: the same figures give the same bytes, and so the same Content-ID
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return buffer.getvalue()


# -- formatting ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Change:
    arrow: str  #: ▲ ▼ or =
    text: str  #: "+12%", "−7%", "nieuw", "gelijk"
    tone: str  #: up, down or same


class _Format:
    """Numbers, dates, changes and links as a reader of ``language`` expects them."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.labels = LABELS[language]

    def number(self, n: int) -> str:
        return f"{n:,}".replace(",", self.labels["thousands"])

    def percent(self, c: Count) -> str:
        """The change as a signed percentage; empty when there was nothing to compare with."""
        if c.previous == 0:
            return ""
        share = round(100 * c.change / c.previous)
        return f"+{self.number(share)}%" if c.change >= 0 else f"\u2212{self.number(-share)}%"

    def change(self, c: Count) -> _Change:
        if c.change == 0:
            return _Change("=", self.labels["change_same"], "same")
        tone = "up" if c.change > 0 else "down"
        arrow = "\u25b2" if c.change > 0 else "\u25bc"
        return _Change(arrow, self.percent(c) or self.labels["change_new"], tone)

    def plural(self, n: int, one: str, many: str) -> str:
        return f"{self.number(n)} {self.labels[one] if n == 1 else self.labels[many]}"

    def day(self, value: date) -> str:
        """``12 nov``: a day within the period."""
        value = _local(value) if isinstance(value, datetime) else value
        return f"{value.day} {self.labels['months_short'][value.month - 1]}"

    def full_day(self, value: date) -> str:
        """``12 november 2026``."""
        value = _local(value) if isinstance(value, datetime) else value
        return f"{value.day} {MONTHS[self.language][value.month - 1]} {value.year}"

    def moment(self, value: datetime) -> str:
        """``1 december 2026 om 07:00``, Amsterdam time."""
        local = _local(value)
        return f"{self.full_day(local)} {self.labels['at']} {local:%H:%M}"

    def outlet_type(self, value: OutletType) -> str:
        return OUTLET_TYPES[self.language].get(value, str(value.value))

    def decimal(self, value: float) -> str:
        """``12,5`` (or ``12.5``): one decimal, with the reader's separators."""
        whole, _, tenth = f"{value:.1f}".partition(".")
        return f"{self.number(int(whole))}{',' if self.language == 'nl' else '.'}{tenth}"

    def share(self, c: Count, counts: tuple[Count, ...]) -> int:
        """``c`` as a percentage of the largest of ``counts``, for a bar; at least 2 when not 0."""
        top = max((x.current for x in counts), default=0)
        return 0 if top <= 0 or c.current <= 0 else max(2, round(100 * c.current / top))

    @staticmethod
    def href(url: str) -> str | None:
        """``url`` when it is safe to link to (http or https, as a browser reads it, with a host),
        else ``None``."""
        link = safe_url(url, schemes=WEB_SCHEMES)
        try:
            return link if link and urlsplit(link).hostname else None
        except ValueError:
            return None


def _language(data: ReportData) -> str:
    return data.language if data.language in LABELS else "nl"


def _unit(data: ReportData) -> str:
    return "week" if data.trend_unit == "week" else "day"


def _local(value: datetime) -> datetime:
    return value.astimezone(AMSTERDAM) if value.tzinfo else value


def _title(data: ReportData, fmt: _Format) -> str:
    """The national report's title, or the member organisation's for its own report."""
    member = data.scope.organisation if data.scope is not None else None
    return str(fmt.labels["title"] if member is None else fmt.labels["member_title"].format(organisation=member))


def _share(data: ReportData, fmt: _Format) -> str | None:
    """A member's mentions as a part of the national total, now and in the period before."""
    lead = next((c for c in data.headline if c.key == LEAD_KEY), None)
    if data.national is None or lead is None:
        return None
    percent = 100 * lead.current / data.national.current if data.national.current else 0.0
    return str(fmt.labels["share_text"].format(
        own=fmt.number(lead.current), total=fmt.number(data.national.current),
        percent=f"{fmt.decimal(percent)} %", previous_period=fmt.labels["previous_period"],
        own_before=fmt.number(lead.previous), total_before=fmt.number(data.national.previous)))


def _subject(data: ReportData, lead: Count | None, fmt: _Format) -> str:
    if lead is None:
        return f"{_title(data, fmt)} — {data.period.label}"
    percent = fmt.percent(lead)
    return str(fmt.labels["subject"]).format(
        title=_title(data, fmt), period=data.period.label, count=fmt.number(lead.current),
        noun=fmt.labels["mention_one" if lead.current == 1 else "mention_many"],
        change=f" ({percent})" if percent else "",
    )


def _chart_title(data: ReportData, fmt: _Format) -> str:
    return str(fmt.labels[f"trend_{_unit(data)}"])


def _chart_alt(data: ReportData, fmt: _Format) -> str:
    if not any(n for _, n in data.trend):
        return str(fmt.labels["chart_empty"])
    day, top = max(data.trend, key=lambda point: point[1])
    return str(fmt.labels["chart_alt"].format(title=_chart_title(data, fmt), top=fmt.number(top),
                                              day=fmt.day(day)))


def _translated(data: ReportData, fmt: _Format) -> ReportData:
    """``data`` with outlet types named in the report's language (the store names them in Dutch)."""
    known = {t.value: t for t in OutletType}
    return dataclasses.replace(data, by_outlet_type=tuple(
        dataclasses.replace(c, label=fmt.outlet_type(known[c.key])) if c.key in known else c
        for c in data.by_outlet_type
    ))


def _plain(text: str) -> str:
    """``text`` as one line of printable characters."""
    # nearly every value already is (no control, bidi or separator character but the ASCII
    # space, and single spaces inside): a month's CSV has a million cells
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return " ".join(_UNSAFE_CHARACTERS.sub(" ", _BIDI_CONTROLS.sub("", text)).split())


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    value = _plain(value)
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


_T = TypeVar("_T")


def _cleaned(value: _T) -> _T:
    """``value`` with every string in it (in dataclasses, tuples) made :func:`_plain`."""
    if isinstance(value, enum.Enum):
        return value
    if isinstance(value, str):
        return _plain(value)  # type: ignore[return-value]
    if isinstance(value, tuple):
        return tuple(_cleaned(v) for v in value)  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _cleaned(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    return value

#!/usr/bin/env python3
"""Coverage benchmark: watchlist matching and the month report on a year of mentions.

Set-up (timed apart, not part of any figure): a SQLite store made with ``open_storage``, filled
with SQLAlchemy Core ``insert(table)`` executemany in batches of 20,000 rows: a few sources,
2,000 outlets over the 342 CBS municipalities and every outlet type, 1,000,000 media/alert
stories with as many mentions over the past year (about 80% counted, pickup clusters, own
channels, excluded ones), about 2 mention_facts per mention, 3,000 blog stories with
syndications, and 10,000 new candidate items (stories without a mention) from the last 3 days.
Then the counted mentions of the last 60 days go into the pickup index (``pickups.rebuild``,
the "pickup index" set-up step), as a store that has been matching all year has them.
Everything is seeded: every run sees the same data.

Then, each in a fresh subprocess (so peak memory, VmHWM, is its own, not the set-up's), and
only through the package's public functions:

  match   ``match_mentions(storage, config, now=now)`` end to end on the 10,000 new items with
          a 500-term watchlist (+ 40 organisations, 10 ambassadors), then the pure
          ``Matcher(Watchlist(...)).match`` throughput on the same 10,000 texts (best of
          --repeat, at least 3). The new items' mentions are removed again at the end.
  report  interleaved rounds (best of --repeat, at least 2): the floor (the bare SQL aggregate
          queries the report needs, plain ``conn.execute(text(...))``), the floor plus the bare
          mention list, and ``Publisher.build_report(period)`` for the last complete month; then
          ``render_report`` once in the same process, as ``report send`` does: the worker's
          VmHWM after build + render is the report's peak memory.

Targets: matching >= 5,000 items/s; build <= 2x the floor and under 5 s; peak memory
<= 300 MB. A benchmark, not a test: it prints a table (or --json) and exits 0.

    python bench/coverage.py                       # 1,000,000 mentions (set-up about 2-3 min)
    python bench/coverage.py --mentions 100000     # quick check
    python bench/coverage.py --keep /tmp/cov       # keep the database; --reuse /tmp/cov skips set-up
"""

from __future__ import annotations

import argparse
import bisect
import json
import multiprocessing
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from collections.abc import Callable

TARGET_MATCH = 5000  # items/s, Matcher.match alone
TARGET_NEW_ITEMS = 2000  # items/s, match_mentions end to end on the new items of a cycle
TARGET_REMATCH_S = 600  # coverage match --all over the whole store
TARGET_RATIO = 2.0  # build / floor
TARGET_BUILD_S = 5.0
TARGET_MB = 300  # peak memory (VmHWM) of a worker

UTC = timezone.utc
BATCH = 20_000


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def hwm_mb() -> float:
    """Peak RSS of this process image (VmHWM): unlike ru_maxrss, not carried over from the
    parent across fork + exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


# ---------------------------------------------------------------------------------------------
# Synthetic Dutch data
# ---------------------------------------------------------------------------------------------

_ROOTS = (
    "buurt", "wijk", "jongeren", "ouderen", "welzijns", "zorg", "schuld", "armoede", "mantelzorg",
    "vrijwilligers", "gezins", "opvoed", "dorps", "straat", "school", "thuis", "huiskamer",
    "inloop", "taal", "sport", "cultuur", "migranten", "statushouders", "eenzaamheids",
    "participatie", "kinder", "tiener", "meiden", "jongens", "wijkteam", "mantelzorgers",
    "ontmoetings", "budget", "administratie", "formulieren", "opvang",
)
_ENDS = (
    "werk", "werker", "coach", "consulent", "team", "steunpunt", "centrum", "project",
    "netwerk", "loket", "hulp", "begeleiding", "ondersteuning", "aanpak", "maatje", "spreekuur",
)
_FIRST = ("Anne", "Fatima", "Jeroen", "Mohamed", "Sanne", "Pieter", "Noor", "Daan", "Lieke", "Yusuf",
          "Ingrid", "Kees", "Samira", "Bram", "Esther", "Hakan", "Marloes", "Ruud", "Wendy", "Joost")
_LAST = ("de Vries", "Jansen", "El Amrani", "van Dijk", "Bakker", "Yilmaz", "Visser", "Smit", "de Boer",
         "Mulder", "de Graaf", "Bos", "Hendriks", "Dekker", "van Leeuwen", "Brouwer", "Kaya")
_WHO = (
    "de gemeente {place}", "wethouder {person}", "het college van {place}", "de gemeenteraad",
    "een groep bewoners", "de bibliotheek", "de voedselbank", "het buurthuis", "een vrijwilliger",
    "de provincie", "de woningcorporatie", "ondernemers uit {place}", "de huisarts", "ouders",
    "de politie", "de school", "{org}", "een woordvoerder van {org}", "{person}", "het wijkteam",
    "de GGD", "de raad van {place}", "buurtbewoners", "de kerk", "de scouting", "de sportclub",
    "de werkgever", "een zorgaanbieder", "de ouderenbond", "jongeren uit {place}",
)
_DO = (
    "trekt extra geld uit voor", "maakt zich zorgen over", "start een proef met", "begint met",
    "vraagt geld voor", "organiseert", "stopt met", "zoekt vrijwilligers voor", "opent",
    "praat over", "krijgt subsidie voor", "evalueert", "is blij met", "waarschuwt voor",
    "breidt uit met", "houdt een enquête over", "steunt", "presenteert", "kreeg een prijs voor",
    "schrapt", "verlengt", "onderzoekt", "denkt na over", "investeert in", "wil meer doen aan",
    "bezuinigt op", "viert", "lanceert", "verhuist", "sluit", "heropent", "neemt afscheid van",
    "pleit voor", "protesteert tegen", "stemt in met", "zet vraagtekens bij", "betaalt mee aan",
    "kijkt kritisch naar", "werkt samen aan", "geeft uitleg over", "komt met", "bouwt aan",
    "rondt af", "verbetert", "vernieuwt", "test", "bespreekt", "sponsort", "tekent voor",
    "is ontevreden over", "reageert op", "doet onderzoek naar", "trekt zich terug uit",
    "krijgt kritiek op", "zet in op", "wacht op", "houdt vast aan", "overweegt", "deelt zorgen over",
    "kondigt aan", "verdubbelt", "halveert", "zoekt een oplossing voor", "maakt haast met",
)
_ADJ = ("nieuwe", "extra", "gratis", "tijdelijke", "vaste", "kleine", "grote", "lokale", "eerste",
        "jaarlijkse", "wekelijkse", "digitale", "betaalbare", "bijzondere", "populaire", "laatste",
        "omstreden", "vernieuwde", "duurzame", "groene", "drukbezochte", "oude", "uitgebreide",
        "regionale", "gezamenlijke", "aangepaste", "verplichte", "vrijwillige", "maandelijkse", "feestelijke",
        "", "", "", "", "", "", "", "")
_WHAT = (
    "inloopspreekuur", "dorpshuis", "repaircafé", "taalcursus", "zwembad", "speeltuin",
    "woningen", "wachtlijst", "energietoeslag", "buurtmaaltijd", "spreekuur", "subsidieregeling",
    "huiskamer", "bibliotheek", "markt", "festival", "onderzoek", "voorlichting", "cursus",
    "informatieavond", "moestuin", "fietsroute", "parkeerplaatsen", "sporthal", "zorgboerderij",
    "wijkagenda", "bewonersavond", "inzamelingsactie", "kledingbank", "computerles", "jongerencentrum",
    "skatebaan", "huurtoeslag", "schoolplein", "voetpad", "kinderopvang", "wijkcentrum", "begroting",
    "bouwplannen", "speelweek", "kerstmarkt", "buurtbus", "dagbesteding", "woonvoorziening", "ijsbaan",
    "kunstroute", "gezondheidscentrum", "seniorenwoningen", "tiny houses", "warmtenet", "zonnepanelen",
    "jeugdzorg", "wijkvisie", "ontmoetingsplek", "koffieochtend", "beweegtuin", "kringloopwinkel",
    "fietsenstalling", "voedseltuin", "rouwcafé", "buurtfeest", "sportdag", "watertappunt",
    "verkeersplan", "jongerenraad", "muziekschool", "opvanglocatie", "wijkbudget", "hondenuitlaatplek",
)
_FOR = ("voor ouderen", "voor jongeren", "voor nieuwkomers", "voor mantelzorgers", "voor gezinnen",
        "voor mensen met schulden", "in de wijk", "in het centrum", "bij de kerk", "op het plein",
        "in {place}", "aan de rand van {place}", "voor statushouders", "voor eenzame ouderen",
        "voor kinderen", "in de {street}", "aan de {street}", "bij {org}", "voor {count} huishoudens",
        "in {place}-{compass}", "voor inwoners van {place}", "bij basisschool De {tree}",
        "", "", "", "", "", "")
_WHEN = ("", "", "", "", "", "volgende week", "op {day} {date} {month}", "sinds {year}", "vanaf {month}",
         "na de zomer", "deze maand", "in het voorjaar", "vorig jaar", "tot eind {year}", "vanaf {day}",
         "op {date} {month}", "in {month} {year}", "binnen {count} dagen", "voor {date} {month}")
_TAIL = ("", "", "", "", "", "", "", "", "", "", ", zegt {person}", ", meldt {org}",
         ", met {count} deelnemers", ", voor {count} euro", ", aldus de {who}", ", laat {person} weten",
         ", schrijft {org}", ", volgens {person}", ", tot ongenoegen van {org}", ", na {count} klachten",
         ", zo blijkt uit een rapport")
_STREETS = ("Dorpsstraat", "Kerkstraat", "Stationsweg", "Molenweg", "Schoolstraat", "Beatrixlaan",
            "Julianastraat", "Wilhelminaweg", "Industrieweg", "Markt", "Nieuwstraat", "Hoofdstraat",
            "Eikenlaan", "Parallelweg", "Sportlaan", "Burgemeester de Vlugtlaan", "Kastanjelaan")
_TREES = ("Eik", "Linde", "Wilg", "Berk", "Esdoorn", "Kastanje", "Populier", "Beuk")
_TOPICAL = ("een sociaal werker uit {place}", "het {term} van {place}", "een {term}", "{member}",
            "het {term} in {place}", "{ambassador}, ambassadeur van het sociaal werk,",
            "medewerkers van {member}", "de {term}")
_DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december")
_OTHER_ORGS = ("Dorpsbelangen", "Woonstichting", "Voetbalclub", "Rabobank", "Humanitas", "Zonnebloem")
_EXCLUSIONS = ("sociale werkplaats", "sociale werkvoorziening")

THEME_WEIGHTS = {"zorg": 30, "onderwijs": 12, "wonen": 18, "welzijn": 35, "werk": 15,
                 "armoede en schulden": 14, "jeugd": 22, "veiligheid": 8}

# outlet type -> (share of outlets, relative mentions per outlet, local to one municipality?)
OUTLET_MIX = {
    "huis-aan-huisblad": (0.33, 1.0, True), "lokale omroep": (0.20, 1.2, True),
    "kabelkrant": (0.04, 0.4, True), "nieuwssite": (0.15, 2.0, True),
    "regionaal dagblad": (0.05, 8.0, False), "landelijk dagblad": (0.01, 25.0, False),
    "blog": (0.08, 0.3, False), "vakmedia": (0.04, 3.0, False), "overig": (0.05, 0.6, False),
    "unclassified": (0.05, 0.5, False),
}
_OUTLET_NAMES = {
    "huis-aan-huisblad": ("Weekblad {place}", "{place} Huis aan Huis", "De {place}se Courant", "Stadskrant {place}"),
    "lokale omroep": ("RTV {place}", "Omroep {place}", "{place} FM", "Lokale Omroep {place}"),
    "kabelkrant": ("Kabelkrant {place}", "Infokanaal {place}"),
    "nieuwssite": ("{place}Nieuws", "Hart van {place}", "{place} Actueel", "Dichtbij {place}"),
    "regionaal dagblad": ("Dagblad van {province}", "{province}s Dagblad", "De {province}er Courant"),
    "landelijk dagblad": ("Het Nederlands Dagblad {n}", "Dagblad Nederland {n}", "De Landelijke Krant {n}"),
    "blog": ("Blog van {person}", "{person} schrijft", "Wijkblog {place}"),
    "vakmedia": ("Vakblad Sociaal {n}", "Zorg en Welzijn Vak {n}", "Sociaal Domein Magazine {n}"),
    "overig": ("Nieuwsbrief {place}", "Podcast {person}", "Kerkblad {place}"),
    "unclassified": ("{place} Online", "Nieuws uit {place}", "{place} Vandaag"),
}


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    return _SLUG.sub("-", text[:60].lower()).strip("-")


def make_watchlist(seed: int) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]], tuple[str, ...]]:
    """500 watch terms, 40 member organisations with an alias each, 10 ambassadors."""
    from sociaalwerk_publisher.coverage.matching import DEFAULT_TERMS
    from sociaalwerk_publisher.municipalities import municipalities

    rng = random.Random(seed)
    terms = list(DEFAULT_TERMS)
    compounds = [root + end for root in _ROOTS for end in _ENDS]
    rng.shuffle(compounds)
    for word in compounds:
        if len(terms) == 500:
            break
        term = f"sociaal {word}" if len(terms) % 5 == 0 else word
        if term not in terms:
            terms.append(term)
    places = sorted(m.name for m in municipalities().values())
    organisations = {f"Welzijn {p}": (f"SW {p}",) for p in rng.sample(places, 40)}
    ambassadors = tuple(dict.fromkeys(f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(30)))[:10]
    return tuple(terms), organisations, ambassadors


class TextMaker:
    """Titles and snippets of Dutch local news, fast enough for a million of them.

    Sentences are put together from slot pools (who, does, what, for whom, when, tail) whose
    place, person and organisation fills are done once, up front: every text is a fresh
    combination, and as in real news unrelated items share words and the odd stock phrase but
    rarely four words in a row.
    """

    def __init__(self, rng: random.Random, terms: tuple[str, ...], organisations: list[str],
                 ambassadors: tuple[str, ...], places: list[str]) -> None:
        self.rng = rng
        self.random = rng.random
        # the campaign's own terms are the common ones in real coverage
        self.terms = list(terms)
        self.term_cum = list(_cumulative([12 if i < 41 else 1 for i in range(len(terms))]))
        self.members = organisations
        self.ambassadors = ambassadors
        self.places = places
        self.people = [f"{a} {b}" for a in _FIRST for b in _LAST]
        self.orgs = [f"{kind} {p}" for kind in _OTHER_ORGS for p in places[::3]]
        c = rng.choice

        def fill(template: str) -> str:
            return template.format(
                place=c(places), person=c(self.people), org=c(self.orgs), day=c(_DAYS), date=rng.randint(1, 28),
                month=c(_MONTHS), year=rng.randint(2019, 2027), count=rng.randint(12, 4000),
                who=c(("wethouder", "raad", "directeur", "woordvoerder")), street=c(_STREETS), tree=c(_TREES),
                compass=c(("Noord", "Zuid", "Oost", "West", "Centrum")))

        def spaced(pool: tuple[str, ...], n: int) -> list[str]:
            return [(" " + x) if x else "" for x in (fill(c(pool)) for _ in range(n))]

        self.who = [_capital(fill(c(_WHO))) for _ in range(6000)]
        self.do = spaced(_DO, len(_DO) * 3)
        self.adj = spaced(_ADJ, len(_ADJ) * 3)
        self.what = spaced(_WHAT, len(_WHAT) * 3)
        self.for_ = spaced(_FOR, 6000)
        self.when = spaced(_WHEN, 6000)
        self.tail = [fill(c(_TAIL)) for _ in range(8000)]

    def term(self) -> str:
        return self.terms[bisect.bisect(self.term_cum, self.random() * self.term_cum[-1])]

    def sentence(self, who: str | None = None) -> str:
        r = self.random
        if who is None:
            who = self.who[int(r() * len(self.who))]
        return (who + self.do[int(r() * len(self.do))] + self.adj[int(r() * len(self.adj))]
                + self.what[int(r() * len(self.what))] + self.for_[int(r() * len(self.for_))]
                + self.when[int(r() * len(self.when))] + self.tail[int(r() * len(self.tail))] + ".")

    def story(self, *, topical: bool, excluded: bool) -> tuple[str, str, dict[str, Any]]:
        """(title, body, what it mentions: term, member, ambassador)."""
        rng, r = self.rng, self.random
        sentence = self.sentence
        found: dict[str, Any] = {}
        sentences = [sentence(), sentence(), sentence(), sentence()]
        title = sentence()[:-1]
        if topical:
            term = self.term()
            member = self.members[int(r() * len(self.members))]
            ambassador = self.ambassadors[int(r() * len(self.ambassadors))]
            who = _TOPICAL[int(r() * len(_TOPICAL))]
            place = self.places[int(r() * len(self.places))]
            if "{term}" in who:
                found["term"] = term
            elif "sociaal werker" in who:
                found["term"] = "sociaal werker"
            if "{member}" in who:
                found["member"] = member
            if "{ambassador}" in who:
                found["ambassador"] = ambassador
                found["term"] = "sociaal werk"
            topical_sentence = sentence(_capital(who.format(place=place, term=term, member=member,
                                                            ambassador=ambassador)))
            if r() < 0.5:
                title = topical_sentence[:-1]
            else:
                sentences[int(r() * 4)] = topical_sentence
        if excluded:
            sentences[int(r() * 4)] = f"Het gaat om de {rng.choice(_EXCLUSIONS)} in {rng.choice(self.places)}."
        return title, " ".join(sentences), found


def _capital(text: str) -> str:
    return text[0].upper() + text[1:]


def _cumulative(weights: list[float]):
    total = 0.0
    for w in weights:
        total += w
        yield total


def sqlts(dt: datetime) -> str:
    """A datetime as SQLAlchemy stores it in SQLite (naive UTC, microseconds)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# ---------------------------------------------------------------------------------------------
# Set-up
# ---------------------------------------------------------------------------------------------

def setup(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import insert, text

    from sociaalwerk_publisher._storage import open_storage
    from sociaalwerk_publisher._storage._schema import (
        mention_facts, mentions, outlets, sources, stories, syndications,
    )
    from sociaalwerk_publisher.coverage.examining import text_digest as digest
    from sociaalwerk_publisher.municipalities import municipalities

    rng = random.Random(args.seed)
    url = f"sqlite:///{folder / 'coverage.db'}"
    timings: dict[str, float] = {}
    started = time.perf_counter()
    storage = open_storage(url)
    engine = storage.engine
    # one connection for the whole set-up, tuned for bulk loading (the measured runs open their
    # own with the package's settings): a big page cache, no fsync, no WAL copy, and the
    # secondary indexes of the big tables dropped now and built once at the end
    setup_conn = engine.connect()
    setup_conn.exec_driver_sql("PRAGMA journal_mode=MEMORY")
    setup_conn.exec_driver_sql("PRAGMA synchronous=OFF")
    setup_conn.exec_driver_sql("PRAGMA cache_size=-262144")
    big_indexes = [ix for table in (stories, mentions, mention_facts) for ix in sorted(table.indexes, key=lambda i: i.name)]
    for ix in big_indexes:
        ix.drop(setup_conn)
    setup_conn.commit()

    @contextmanager
    def committing():
        yield setup_conn
        setup_conn.commit()

    rnd = rng.random
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    year_ago = now - timedelta(days=365)

    terms, organisations, ambassadors = make_watchlist(args.seed)
    munis = sorted(municipalities().values(), key=lambda m: m.code)
    places = [m.name for m in munis]
    texts = TextMaker(rng, terms, list(organisations), ambassadors, places)

    # -- sources -----------------------------------------------------------------------------
    member_sites = [slug(name) + ".nl" for name in list(organisations)[:3]]
    source_rows = []
    kinds = (["media"] * 6) + (["alert"] * 4) + (["blog"] * 3)
    for i, kind in enumerate(kinds, start=1):
        muni = munis[(i * 37) % len(munis)].code if kind == "alert" and i % 2 else None
        blog = kind == "blog"
        source_rows.append({
            "id": i, "url": (f"https://{member_sites[i - 11]}/feed/" if blog else
                             f"https://www.google.com/alerts/feeds/{i}/{1000 + i}" if kind == "alert" else
                             f"https://media{i}.example.nl/rss"),
            "kind": kind, "title": f"{kind} bron {i}",
            "organisation": list(organisations)[i - 11] if blog else None,
            "municipality": muni, "ambassador": None, "trusted": False, "active": True,
            "created_at": year_ago, "etag": None, "last_modified": None, "last_polled_at": now,
            "last_success_at": now - (timedelta(days=9) if i == 5 else timedelta(0)),
            "last_error": "HTTP 404" if i == 5 else None, "last_problem": None,
            "consecutive_failures": 14 if i == 5 else 0, "next_poll_at": now, "deactivated_reason": None,
        })
    media_sources = [r["id"] for r in source_rows if r["kind"] == "media"]
    alert_sources = [r["id"] for r in source_rows if r["kind"] == "alert"]
    blog_sources = [r["id"] for r in source_rows if r["kind"] == "blog"]
    source_muni = {r["id"]: r["municipality"] for r in source_rows}
    with committing() as conn:
        conn.execute(insert(sources), source_rows)

    # -- outlets -----------------------------------------------------------------------------
    outlet_rows = []
    used_domains: set[str] = set()
    types = list(OUTLET_MIX)
    counts = {t: max(1, round(OUTLET_MIX[t][0] * args.outlets)) for t in types}
    counts["huis-aan-huisblad"] += args.outlets - sum(counts.values())
    local_cycle = 0
    provinces = sorted({m.province for m in munis})
    for t in types:
        for n in range(counts[t]):
            muni = None
            province = None
            if OUTLET_MIX[t][2]:
                muni = munis[local_cycle % len(munis)]
                local_cycle += 1
                province = muni.province
            elif t == "regionaal dagblad":
                province = provinces[n % len(provinces)]
            place = muni.name if muni else rng.choice(places)
            name = rng.choice(_OUTLET_NAMES[t]).format(place=place, province=province or "Nederland",
                                                       person=rng.choice(texts.people), n=n + 1)
            domain = slug(name).replace("-", "") + ".nl"
            k = 2
            while domain in used_domains:
                domain = f"{slug(name).replace('-', '')}{k}.nl"
                k += 1
            used_domains.add(domain)
            weight = OUTLET_MIX[t][1] * rng.lognormvariate(0, 0.8)
            outlet_rows.append({
                "domain": domain, "name": name, "type": t, "municipality": muni.code if muni else None,
                "province": province, "reach": rng.randint(2000, 400000) if rng.random() < 0.3 else None,
                # a few outlets were first seen during the last two months
                "created_at": (now - timedelta(days=rng.uniform(1, 60)) if rng.random() < 0.02
                               else year_ago - timedelta(days=rng.uniform(0, 700))),
                "_weight": weight,
            })
    for site in member_sites:  # members' own blogs: own channels, never counted
        outlet_rows.append({"domain": site, "name": site, "type": "blog", "municipality": None, "province": None,
                            "reach": None, "created_at": year_ago, "_weight": 0.0})
    for i, row in enumerate(outlet_rows, start=1):
        row["id"] = i
    outlet_cum = list(_cumulative([r["_weight"] for r in outlet_rows]))
    outlet_total = outlet_cum[-1]
    own_outlets = outlet_rows[-len(member_sites):]
    with committing() as conn:
        conn.execute(insert(outlets), [{k: v for k, v in r.items() if k != "_weight"} for r in outlet_rows])
    muni_cum = list(_cumulative([rng.paretovariate(1.2) for _ in munis]))
    theme_names, theme_cum = list(THEME_WEIGHTS), list(_cumulative(list(THEME_WEIGHTS.values())))
    timings["sources+outlets"] = time.perf_counter() - started

    # -- blog stories (own channels) and syndications ---------------------------------------------
    t0 = time.perf_counter()
    story_id = 0
    blog_rows, synd_rows = [], []
    for i in range(args.blog_stories):
        story_id += 1
        src = blog_sources[i % len(blog_sources)]
        published = year_ago + timedelta(seconds=rng.uniform(0, 365 * 86400))
        title, body, _ = texts.story(topical=True, excluded=False)
        blog_rows.append(_story_row(story_id, f"https://{member_sites[src - blog_sources[0]]}/blog/{story_id}-{slug(title)[:50]}",
                                    title, body, "blog", src, published, None, None, rng))
        if rng.random() < 0.6:
            for dest in ("wordpress-landelijk", "wxr-archief")[: rng.randint(1, 2)]:
                synd_rows.append({"story_id": story_id, "destination": dest, "state": "published",
                                  "remote_id": str(story_id), "remote_url": None, "content_hash": None,
                                  "attempts": 1, "last_error": None, "next_attempt_at": None,
                                  "created_at": published + timedelta(hours=2),
                                  "updated_at": published + timedelta(hours=2),
                                  "claimed_by": None, "claim_expires_at": None})
    with committing() as conn:
        conn.execute(insert(stories), blog_rows)
        if synd_rows:
            conn.execute(insert(syndications), synd_rows)
    timings["blog stories"] = time.perf_counter() - t0

    # -- a year of mentions ----------------------------------------------------------------------
    t0 = time.perf_counter()
    n = args.mentions
    # arrival order is time order (a feed reader stores what it sees), weekdays busier
    day_w = [1.0 if (year_ago + timedelta(days=d)).weekday() < 5 else 0.45 for d in range(365)]
    days = rng.choices(range(365), cum_weights=list(_cumulative(day_w)), k=n)
    stamps = sorted(d * 86400 + rng.uniform(5 * 3600, 23 * 3600) for d in days)
    del days
    # the big tables go in through the driver's executemany with values already in the form
    # SQLAlchemy stores them (naive UTC text with microseconds, booleans as 0/1): the same rows,
    # without SQLAlchemy's per-row parameter processing, which would double the set-up time
    story_sql = _insert_sql(stories, STORY_COLS)
    mention_sql = _insert_sql(mentions, MENTION_COLS)
    fact_sql = _insert_sql(mention_facts, ("mention_id", "kind", "value"))
    first_story_id = story_id

    def produce(put: Callable[[Any], None]) -> None:
        """Generate the rows, batch by batch (run in a forked child, so that generating
        and inserting overlap on two cores)."""
        story_id = first_story_id
        releases: dict[int, list[tuple[int, str, str, dict[str, Any]]]] = defaultdict(list)
        gen_s = 0.0
        story_rows: list[tuple[Any, ...]] = []
        mention_rows: list[tuple[Any, ...]] = []
        fact_rows: list[tuple[Any, ...]] = []
        stats = Counter()
        base = year_ago.replace(tzinfo=None)
        prune_before = (now - timedelta(days=90)).replace(tzinfo=None)
        detail_from = (now - timedelta(days=75)).replace(tzinfo=None)
        body_pool = [texts.story(topical=k % 5 != 0, excluded=False)[1] for k in range(min(n, 20_000))]
        minute = timedelta(minutes=1)
        last_seen = (now - timedelta(seconds=60)).replace(tzinfo=None)
        for i in range(n):
            g0 = time.perf_counter()
            story_id += 1
            mention_id = i + 1
            published = base + timedelta(seconds=stamps[i])
            outlet = outlet_rows[bisect.bisect(outlet_cum, rnd() * outlet_total)]
            own = False
            cluster_id = None
            pending = releases.pop(i, None)
            if pending:
                # a pickup of a press release: the same text, a dateline and a line of its own
                cluster_id, title, body, found = pending.pop()
                if pending:
                    releases[i + 1].extend(pending)
                body = f"{places[int(rnd() * len(places))].upper()} - {body} Lees meer op {outlet['name']}."
                counted, excluded = True, False
            else:
                r = rnd()
                counted = r < 0.80
                excluded = 0.80 <= r < 0.83
                own = r >= 0.995
                if published < detail_from:
                    # older than the clustering window and the report month: only sizes and counts
                    # matter there, so the body comes from a pool (the title is still fresh)
                    title, body, found = texts.sentence()[:-1], body_pool[int(rnd() * len(body_pool))], {}
                else:
                    title, body, found = texts.story(topical=counted or excluded or own, excluded=excluded)
                if counted and rnd() < 0.035:
                    cluster_id = mention_id
                    for _ in range(min(12, 1 + int(rng.expovariate(1 / 3.0)))):
                        releases[i + rng.randint(1, 4000)].append((mention_id, title, body, found))
            if own:
                outlet = own_outlets[int(rnd() * len(own_outlets))]
                counted = False
            if not counted and not own and not excluded and published < prune_before:
                body = ""  # prune_unmatched empties the text of old unmatched candidates
            alert = rnd() < 0.35
            src = alert_sources[int(rnd() * len(alert_sources))] if alert else media_sources[int(rnd() * len(media_sources))]
            domain = outlet["domain"]
            canonical = f"https://{domain}/nieuws/{story_id}-{slug(title)}"
            pub_s = published.isoformat(" ", "microseconds")
            # seen (and matched) before the bench's "now", like anything a real store holds: an
            # item changed after the clock's now would be matched again by every pass
            seen = min(published + minute * int(5 + rnd() * 175), last_seen)
            seen_s = seen.isoformat(" ", "microseconds")
            story_rows.append((
                story_id, canonical, title, f"<p>{body}</p>" if body else "", body, body[:200],
                "alert" if alert else "media", src, "new", seen_s, pub_s, None, seen_s, None, None,
                f"{story_id:064x}", outlet["name"] if alert else None, f"https://{domain}/" if alert else None,
            ))
            muni = outlet["municipality"] or source_muni.get(src)
            if muni is None and rnd() < 0.5:
                muni = munis[bisect.bisect(muni_cum, rnd() * muni_cum[-1])].code
            mention_rows.append((
                mention_id, story_id, outlet["id"], canonical, pub_s, muni,
                _EXCLUSIONS[int(rnd() * 2)] if excluded else None, int(counted), int(own), cluster_id,
                min(seen + 40 * minute, last_seen).isoformat(" ", "microseconds"), None, digest(f"{title}\n{body}"),
            ))
            facts = set()
            if counted or excluded or own:
                facts.add(("term", found.get("term") or texts.term()))
                if rnd() < 0.1:
                    facts.add(("term", texts.term()))
                if found.get("member") or rnd() < 0.2:
                    facts.add(("organisation", found.get("member") or texts.members[int(rnd() * len(texts.members))]))
                if found.get("ambassador"):
                    facts.add(("ambassador", found["ambassador"]))
            for _ in range(1 if rnd() < 0.75 else 2):
                facts.add(("theme", theme_names[bisect.bisect(theme_cum, rnd() * theme_cum[-1])]))
            fact_rows.extend((mention_id, k, v) for k, v in facts)
            stats["counted"] += counted
            stats["facts"] += len(facts)
            gen_s += time.perf_counter() - g0
            if len(story_rows) == BATCH or i == n - 1:
                put((story_rows, mention_rows, fact_rows))
                story_rows, mention_rows, fact_rows = [], [], []
        put(("done", stats["counted"], stats["facts"], gen_s))

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue(maxsize=3)
    child = ctx.Process(target=produce, args=(queue.put,), daemon=True)
    child.start()
    ins_s, inserted = 0.0, 0
    while True:
        item = queue.get()
        if item[0] == "done":
            _, counted_total, facts_total, gen_s = item
            break
        story_rows, mention_rows, fact_rows = item
        i0 = time.perf_counter()
        with committing() as conn:
            conn.exec_driver_sql(story_sql, story_rows)
            conn.exec_driver_sql(mention_sql, mention_rows)
            conn.exec_driver_sql(fact_sql, fact_rows)
        ins_s += time.perf_counter() - i0
        inserted += len(story_rows)
        if inserted % 200_000 == 0 or inserted == n:
            log(f"set-up: {inserted:,} mentions inserted ({ins_s:.0f} s inserting)")
    child.join()
    story_id = first_story_id + n
    stamps.clear()  # free them (the forked child is done with its copy)
    with committing() as conn:
        # a press release whose pickups fell after the end is no cluster
        conn.execute(text("UPDATE mentions SET cluster_id = NULL WHERE cluster_id IS NOT NULL AND cluster_id IN "
                          "(SELECT cluster_id FROM mentions WHERE cluster_id IS NOT NULL "
                          "GROUP BY cluster_id HAVING count(*) = 1)"))
    timings["mentions: generate (child)"] = gen_s
    timings["mentions: insert"] = ins_s
    timings["mentions: total"] = time.perf_counter() - t0

    # -- new candidates: stories without a mention, the last 3 days ------------------------------------
    t0 = time.perf_counter()
    first_new = story_id + 1
    new_rows = []
    recent: list[tuple[str, str]] = []
    for j in range(args.new_items):
        story_id += 1
        published = now - timedelta(seconds=rng.uniform(600, 3 * 86400))
        if recent and rng.random() < 0.1:
            title, body = rng.choice(recent)
            body = f"{rng.choice(places).upper()} - {body} Lees meer."
        else:
            r = rng.random()
            title, body, _ = texts.story(topical=r < 0.83, excluded=0.80 <= r < 0.83)
            if r < 0.05:
                recent.append((title, body))
        if rng.random() < 0.01:
            domain, name = f"nieuwemedia{j}.nl", f"Nieuw Medium {j}"
        else:
            o = outlet_rows[rng.choices(range(len(outlet_rows) - len(own_outlets)), cum_weights=outlet_cum[:-len(own_outlets)])[0]]
            domain, name = o["domain"], o["name"]
        kind = "alert" if rng.random() < 0.35 else "media"
        src = rng.choice(alert_sources if kind == "alert" else media_sources)
        row = _story_row(story_id, f"https://{domain}/nieuws/{story_id}-{slug(title)[:60]}", title, body, kind,
                         src, published, name if kind == "alert" else None,
                         f"https://{domain}/" if kind == "alert" else None, rng)
        row["first_seen_at"] = row["changed_at"] = min(row["first_seen_at"], now - timedelta(seconds=60))
        new_rows.append(row)
    with committing() as conn:
        for k in range(0, len(new_rows), BATCH):
            conn.execute(insert(stories), new_rows[k:k + BATCH])
    timings["new candidates"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for ix in big_indexes:
        ix.create(setup_conn)
    setup_conn.commit()
    timings["indexes"] = time.perf_counter() - t0
    setup_conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    setup_conn.close()
    t0 = time.perf_counter()
    rebuild_pickups(storage, make_config({"url": url, "seed": args.seed}), now)
    timings["pickup index"] = time.perf_counter() - t0
    size = storage.size_bytes() or 0
    storage.close()
    timings["total"] = time.perf_counter() - started
    return {
        "url": url, "now": now.isoformat(), "seed": args.seed, "new_story_ids": [first_new, story_id],
        "mentions": n, "counted": counted_total, "facts": facts_total, "outlets": len(outlet_rows),
        "stories": story_id, "blog_stories": args.blog_stories, "syndications": len(synd_rows),
        "db_mb": round(size / 2**20), "setup_s": {k: round(v, 1) for k, v in timings.items()},
    }


STORY_COLS = ("id", "canonical_url", "title", "content_html", "text", "excerpt", "kind", "source_id", "status",
              "first_seen_at", "published_at", "updated_at", "changed_at", "author", "image_url", "content_hash",
              "publisher", "publisher_url")
MENTION_COLS = ("id", "story_id", "outlet_id", "url", "published_at", "municipality", "excluded_by", "counted",
                "own_channel", "cluster_id", "matched_at", "generation", "text_digest")


def _insert_sql(table: Any, columns: tuple[str, ...]) -> str:
    assert set(columns) == {c.name for c in table.columns}, table.name
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _story_row(story_id: int, url: str, title: str, body: str, kind: str, source_id: int,
               published: datetime, publisher: str | None, publisher_url: str | None,
               rng: random.Random) -> dict[str, Any]:
    seen = published + timedelta(minutes=rng.uniform(5, 180))
    return {
        "id": story_id, "canonical_url": url, "title": title,
        "content_html": f"<p>{body}</p>" if body else "", "text": body, "excerpt": body[:200],
        "kind": kind, "source_id": source_id, "status": "new", "first_seen_at": seen,
        "published_at": published, "updated_at": None, "changed_at": seen, "author": None,
        "image_url": None, "content_hash": f"{story_id:064x}", "publisher": publisher,
        "publisher_url": publisher_url,
    }


# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Helpers for the workers
# ---------------------------------------------------------------------------------------------

def make_config(meta: dict[str, Any]):
    from sociaalwerk_publisher.config import Config, CoverageConfig, DatabaseConfig

    terms, organisations, ambassadors = make_watchlist(meta["seed"])
    return Config(database=DatabaseConfig(url=meta["url"]),
                  coverage=CoverageConfig(terms=terms, organisations=organisations, ambassadors=ambassadors))


def rebuild_pickups(storage, config, now: datetime) -> None:  # type: ignore[no-untyped-def]
    from sociaalwerk_publisher.coverage import pickups

    pickups.rebuild(storage, config.coverage.cluster_threshold, now)


def reset_new(storage, meta: dict[str, Any], *, outlets: bool = True) -> None:
    """Forget what a previous match run made of the new items, so a run starts from set-up
    (``outlets``: also the outlets it created), with the watermark a normal pass that began
    just before the first of them came would have left."""
    from sqlalchemy import text

    from sociaalwerk_publisher.coverage.engine import WATERMARK_MARGIN

    lo, hi = meta["new_story_ids"]
    with storage.connect() as conn:
        first = conn.execute(text("SELECT min(changed_at) FROM stories WHERE id BETWEEN :lo AND :hi"),
                             {"lo": lo, "hi": hi}).scalar()
    storage.coverage.set_match_watermark(
        datetime.fromisoformat(first).replace(tzinfo=timezone.utc) - timedelta(seconds=1) - WATERMARK_MARGIN)
    with storage.engine.begin() as conn:
        conn.execute(text("DELETE FROM mention_facts WHERE mention_id IN "
                          "(SELECT id FROM mentions WHERE story_id BETWEEN :lo AND :hi)"), {"lo": lo, "hi": hi})
        conn.execute(text("DELETE FROM mentions WHERE story_id BETWEEN :lo AND :hi"), {"lo": lo, "hi": hi})
        if outlets:
            conn.execute(text("DELETE FROM outlets WHERE created_at >= :now"),
                         {"now": sqlts(datetime.fromisoformat(meta["now"]))})


def floor_queries(start: datetime, end: datetime, prev_start: datetime, prev_end: datetime,
                  offset_minutes: int) -> list[tuple[str, str, dict[str, Any]]]:
    """The bare SQL aggregates the report needs, both periods: (label, sql, params)."""
    cur = {"s": sqlts(start), "e": sqlts(end)}
    prev = {"s": sqlts(prev_start), "e": sqlts(prev_end)}
    counted = "m.counted = 1 AND m.published_at >= :s AND m.published_at < :e"
    queries = []
    for tag, p in (("", cur), (" (prev)", prev)):
        queries += [
            ("headline" + tag, "SELECT count(*), count(DISTINCT coalesce(m.cluster_id, -m.id)), "
             "count(DISTINCT m.outlet_id), count(DISTINCT m.municipality) FROM mentions m WHERE " + counted, p),
            ("own stories" + tag, "SELECT count(*) FROM stories WHERE kind = 'blog' "
             "AND published_at >= :s AND published_at < :e", p),
            ("syndicated" + tag, "SELECT count(*) FROM syndications WHERE state = 'published' "
             "AND created_at >= :s AND created_at < :e", p),
            ("own mentions" + tag, "SELECT count(*) FROM mentions m WHERE m.own_channel = 1 "
             "AND m.published_at >= :s AND m.published_at < :e", p),
            ("per outlet type" + tag, "SELECT o.type, count(*) FROM mentions m JOIN outlets o ON o.id = m.outlet_id "
             "WHERE " + counted + " GROUP BY o.type", p),
            ("per municipality" + tag, "SELECT m.municipality, count(*) FROM mentions m WHERE " + counted +
             " AND m.municipality IS NOT NULL GROUP BY m.municipality", p),
            ("per organisation" + tag, "SELECT f.value, count(*) FROM mentions m CROSS JOIN mention_facts f "
             "ON f.mention_id = m.id WHERE f.kind = 'organisation' AND " + counted + " GROUP BY f.value", p),
            ("per theme" + tag, "SELECT f.value, count(*) FROM mentions m CROSS JOIN mention_facts f "
             "ON f.mention_id = m.id WHERE f.kind = 'theme' AND " + counted + " GROUP BY f.value", p),
        ]
    queries += [
        ("trend per day", f"SELECT date(m.published_at, '{offset_minutes:+d} minutes') AS d, count(*) "
         "FROM mentions m WHERE " + counted + " GROUP BY d", cur),
        ("top clusters", "SELECT m.cluster_id, count(*) AS n FROM mentions m WHERE " + counted +
         " AND m.cluster_id IS NOT NULL GROUP BY m.cluster_id HAVING count(*) > 1 "
         "ORDER BY n DESC, m.cluster_id LIMIT 10", cur),
        ("new outlets", "SELECT domain, name, type FROM outlets WHERE created_at >= :s AND created_at < :e", cur),
    ]
    return queries


CLUSTER_MEMBERS = ("SELECT m.cluster_id, m.published_at, s.title, s.canonical_url, o.name FROM mentions m "
                   "JOIN stories s ON s.id = m.story_id JOIN outlets o ON o.id = m.outlet_id "
                   "WHERE m.cluster_id IN ({ids}) AND m.counted = 1 AND m.published_at >= :s "
                   "AND m.published_at < :e ORDER BY m.published_at")
MENTION_LIST = ("SELECT m.id, m.published_at, m.municipality, m.cluster_id, m.url, s.title, s.canonical_url, "
                "o.name, o.type, (SELECT group_concat(f.kind || ':' || f.value, char(9)) FROM mention_facts f "
                "WHERE f.mention_id = m.id) FROM mentions m JOIN stories s ON s.id = m.story_id "
                "JOIN outlets o ON o.id = m.outlet_id WHERE m.counted = 1 AND m.published_at >= :s "
                "AND m.published_at < :e ORDER BY m.published_at DESC, m.id DESC")


def run_floor(engine, queries, times: dict[str, float] | None = None, *, with_list: bool = False) -> int:
    """Every floor query, rows fetched; returns the rows of the mention list (0 without it)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        for label, sql, params in queries:
            started = time.perf_counter()
            rows = conn.execute(text(sql), params).fetchall()
            if label == "top clusters":
                ids = ",".join(str(int(r[0])) for r in rows) or "NULL"
                conn.execute(text(CLUSTER_MEMBERS.format(ids=ids)), params).fetchall()
            if times is not None:
                times[label] = times.get(label, 0.0) + time.perf_counter() - started
        listed = 0
        if with_list:
            params = queries[0][2]
            started = time.perf_counter()
            listed = len(conn.execute(text(MENTION_LIST), params).fetchall())
            if times is not None:
                times["mention list"] = time.perf_counter() - started
    return listed


def period_bounds(publisher, meta: dict[str, Any]):
    from sociaalwerk_publisher.coverage.periods import previous, utc_bounds

    today = datetime.fromisoformat(meta["now"]).date()
    period = publisher.report_period("month", today=today)
    (start, end), (ps, pe) = utc_bounds(period), utc_bounds(previous(period))
    return period, start, end, ps, pe


# ---------------------------------------------------------------------------------------------
# Workers, each in a fresh subprocess
# ---------------------------------------------------------------------------------------------

def worker_restore(meta: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Back to the state set-up made: the new items unmatched, and a pickup index (a database
    made before the package had one, or by an older schema, gets it here)."""
    from sociaalwerk_publisher._storage import open_storage

    storage = open_storage(meta["url"])
    reset_new(storage, meta)
    took = None
    if not storage.coverage.has_pickups():
        started = time.perf_counter()
        rebuild_pickups(storage, make_config(meta), datetime.fromisoformat(meta["now"]))
        took = time.perf_counter() - started
    storage.close()
    return {"reindex_s": took}


def worker_match(meta: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import text

    from sociaalwerk_publisher._storage import open_storage
    from sociaalwerk_publisher.coverage.engine import match_mentions
    from sociaalwerk_publisher.coverage.matching import Matcher, Watchlist

    config = make_config(meta)
    now = datetime.fromisoformat(meta["now"])
    storage = open_storage(meta["url"])
    reset_new(storage, meta)
    hwm_ready = hwm_mb()
    started = time.perf_counter()
    summary = match_mentions(storage, config, now=now)
    total = time.perf_counter() - started
    hwm_e2e = hwm_mb()
    # the pass's second process (examining batches ahead), waited for when the pass ended
    second_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    log(f"match: match_mentions {summary.items:,} items in {total:.2f} s, {summary.counted:,} counted")

    # the pure matcher on the same texts, as match_mentions builds them
    lo, hi = meta["new_story_ids"]
    with storage.connect() as conn:
        texts = [f"{t}\n{b or ''}" for t, b in conn.execute(
            text("SELECT title, text FROM stories WHERE id BETWEEN :lo AND :hi ORDER BY id"), {"lo": lo, "hi": hi})]
    watchlist = Watchlist(terms=config.coverage.terms, organisations=config.coverage.organisations,
                          ambassadors=config.coverage.ambassadors)
    started = time.perf_counter()
    matcher = Matcher(watchlist)
    compile_s = time.perf_counter() - started
    runs = []
    for _ in range(max(3, args.repeat)):
        started = time.perf_counter()
        found = [matcher.match(t) for t in texts]
        runs.append(time.perf_counter() - started)
    best = min(runs)
    log(f"match: Matcher.match {len(texts) / best:,.0f} items/s")
    hwm_end = hwm_mb()
    reset_new(storage, meta)
    storage.close()
    return {
        "items": summary.items, "counted": summary.counted, "own_channel": summary.own_channel,
        "new_outlets": summary.new_outlets, "second_mb": second_mb, "total_s": total, "items_per_s": summary.items / total if total else 0.0,
        "pure_items": len(texts), "pure_s": runs, "pure_items_per_s": len(texts) / best,
        "pure_counted": sum(m.counts for m in found), "compile_s": compile_s,
        "entries": len(watchlist.terms) + len(watchlist.organisations) + len(watchlist.ambassadors),
        "mean_words": sum(len(t.split()) for t in texts) / max(1, len(texts)),
        "hwm_ready_mb": hwm_ready, "hwm_after_match_mentions_mb": hwm_e2e, "hwm_mb": hwm_end,
    }


def worker_report(meta: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    from sociaalwerk_publisher._storage import open_storage
    from sociaalwerk_publisher.core import Publisher
    from sociaalwerk_publisher.coverage.periods import AMSTERDAM

    config = make_config(meta)
    storage = open_storage(meta["url"])
    publisher = Publisher(config, storage)
    # the store as a `run` leaves it: the new items matched (build_report would match those of
    # its period first, which is the match part's figure, not the report's)
    started = time.perf_counter()
    publisher.match_coverage()
    matched_s = time.perf_counter() - started
    period, start, end, ps, pe = period_bounds(publisher, meta)
    offset = int(start.astimezone(AMSTERDAM).utcoffset().total_seconds() // 60)
    queries = floor_queries(start, end, ps, pe, offset)
    hwm_ready = hwm_mb()

    builds, floors, floors_list = [], [], []
    per_query: dict[str, float] = {}
    listed = 0
    data = None
    for _ in range(max(2, args.repeat)):
        started = time.perf_counter()
        run_floor(storage.engine, queries)
        floors.append(time.perf_counter() - started)
        times: dict[str, float] = {}
        started = time.perf_counter()
        listed = run_floor(storage.engine, queries, times, with_list=True)
        floors_list.append(time.perf_counter() - started)
        if floors_list[-1] == min(floors_list):
            per_query = times
        data = None  # one report in memory at a time
        started = time.perf_counter()
        data = publisher.build_report(period)
        builds.append(time.perf_counter() - started)
    hwm_build = hwm_mb()
    log(f"report: build {min(builds):.2f} s, floor {min(floors):.3f} s, floor + list {min(floors_list):.2f} s")

    # rendered once in the same process, as `report send` builds and renders
    started = time.perf_counter()
    rendered = publisher.render_report(data)
    render_s = time.perf_counter() - started
    sizes = {"html": len(rendered.html.encode()), "text": len(rendered.text.encode()),
             "csv": len(rendered.csv), "png": len(rendered.chart_png), "map": len(rendered.map_png)}
    hwm_render = hwm_mb()
    log(f"report: render {render_s:.2f} s, HTML {sizes['html'] / 2**20:.1f} MB")
    result = {
        "period": period.label, "period_start": str(period.start), "period_end": str(period.end),
        "mentions_listed": len(data.mentions), "floor_list_rows": listed,
        "headline": {c.key: [c.current, c.previous] for c in data.headline},
        "build_s": builds, "floor_s": floors, "floor_list_s": floors_list, "floor_per_query_s": per_query,
        "render_s": render_s, "sizes": sizes, "untimed_match_s": matched_s,
        "hwm_ready_mb": hwm_ready, "hwm_after_build_mb": hwm_build, "hwm_mb": hwm_render,
    }
    storage.close()
    return result


# ---------------------------------------------------------------------------------------------
# Rematch: `coverage match --all` after a watchlist change, through the CLI, on copies
# ---------------------------------------------------------------------------------------------

#: the term a communication officer adds (it occurs in the texts, no watch term contains it)
ADDED_TERM = "buurtmaaltijd"


def write_cli_config(meta: dict[str, Any], path: Path, db: Path) -> None:
    """A config file with the benchmark's watchlist plus :data:`ADDED_TERM`, on database ``db``."""
    terms, organisations, ambassadors = make_watchlist(meta["seed"])
    q = json.dumps  # a JSON string is a TOML basic string
    orgs = ", ".join(f"{q(name)} = [{', '.join(map(q, aliases))}]" for name, aliases in organisations.items())
    path.write_text(f"""[database]
url = {q(f"sqlite:///{db}")}

[coverage]
terms = [{", ".join(map(q, (*terms, ADDED_TERM)))}]
organisations = {{ {orgs} }}
ambassadors = [{", ".join(map(q, ambassadors))}]
""", encoding="utf-8")


def copy_store(meta: dict[str, Any], target: Path) -> None:
    """A copy of the benchmark's database (it is closed: no WAL to carry over)."""
    import shutil

    source = Path(meta["url"].removeprefix("sqlite:///"))
    for leftover in target.parent.glob(target.name + "*"):
        leftover.unlink()
    shutil.copyfile(source, target)


def run_cli(config: Path, *args: str, stop_after: float | None = None,
            stop_signal: int = signal.SIGINT) -> dict[str, Any]:
    """The CLI as a user starts it (a fresh interpreter: start-up and imports count), with wall
    time and peak RSS (``ru_maxrss`` from ``wait4``); ``stop_after`` seconds: then ``stop_signal``."""
    command = [sys.executable, "-m", "sociaalwerk_publisher", "--config", str(config), *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    timer = None
    if stop_after is not None:
        import threading

        timer = threading.Timer(stop_after, proc.send_signal, (stop_signal,))
        timer.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    if timer is not None:
        timer.cancel()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the largest child so far: see the caller
    matched = re.search(r"matched ([\d,]+) items?", out)
    return {"wall_s": wall, "returncode": proc.returncode, "stdout": out.strip(), "stderr": err.strip()[-500:],
            "items": int(matched.group(1).replace(",", "")) if matched else None,
            "children_maxrss_mb": usage.ru_maxrss / 1024,
            "cpu_s": usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime}


def peak_rss_mb(config: Path, *args: str) -> dict[str, Any]:
    """:func:`run_cli` in a subprocess of its own, so that ``RUSAGE_CHILDREN`` is this run alone."""
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import coverage as bench; "
            "print(json.dumps(bench.run_cli(*sys.argv[2:])))")
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(config), *args],
                         check=True, stdout=subprocess.PIPE, text=True)
    result = json.loads(out.stdout)
    result["peak_mb"] = result.pop("children_maxrss_mb")
    return result


def same_results(a: Path, b: Path, since: datetime) -> dict[str, int]:
    """Differences between the mentions of two stores: values, facts, and the pickup clusters of
    the window (each mention named by the smallest story id of its cluster)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{a}?mode=ro", uri=True)
    conn.execute("ATTACH DATABASE ? AS b", (f"file:{b}?mode=ro",))
    values = ("outlet_id, url, published_at, municipality, excluded_by, counted, own_channel")
    facts = "SELECT m.story_id, f.kind, f.value FROM {s}.mention_facts f JOIN {s}.mentions m ON m.id = f.mention_id"
    named = ("SELECT m.story_id, coalesce((SELECT min(z.story_id) FROM {s}.mentions z WHERE z.cluster_id = m.cluster_id),"
             " m.story_id) FROM {s}.mentions m WHERE m.counted = 1 AND m.published_at >= :since")
    differences = {}
    for label, query in (("mentions", f"SELECT story_id, {values} FROM {{s}}.mentions"), ("facts", facts),
                         ("clusters", named)):
        one, other = query.format(s="main"), query.format(s="b")
        differences[label] = sum(conn.execute(f"SELECT count(*) FROM ({x} EXCEPT {y})", {"since": sqlts(since)})
                                 .fetchone()[0] for x, y in ((one, other), (other, one)))
    conn.close()
    return differences


def rematch_part(meta: dict[str, Any], folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """`coverage match --all` with one added term on a copy of the store; then on a second copy
    the same, stopped by Ctrl-C (SIGINT) and later by SIGKILL, and started again until done,
    and the two copies compared."""
    whole, stopped = folder / "rematch-whole.db", folder / "rematch-stopped.db"
    result: dict[str, Any] = {}
    log("rematch: copying the store ...")
    copy_store(meta, whole)
    write_cli_config(meta, folder / "rematch-whole.toml", whole)
    log("rematch: coverage match --all, uninterrupted ...")
    result["whole"] = peak_rss_mb(folder / "rematch-whole.toml", "coverage", "match", "--all")
    log(f"rematch: {result['whole']['stdout']} in {result['whole']['wall_s']:.0f} s")
    if args.no_resume:
        return result
    copy_store(meta, stopped)
    config = folder / "rematch-stopped.toml"
    write_cli_config(meta, config, stopped)
    runs = []
    for fraction, stop in ((0.3, signal.SIGINT), (0.3, signal.SIGKILL)):
        log(f"rematch: coverage match --all, stopped by {stop.name} after {fraction:.0%} of the whole run's time ...")
        runs.append(run_cli(config, "coverage", "match", "--all", stop_after=fraction * result["whole"]["wall_s"],
                            stop_signal=stop))
    log("rematch: coverage match --all, started again until done ...")
    runs.append(run_cli(config, "coverage", "match", "--all"))
    result["stopped"] = runs
    log(f"rematch: the last run {runs[-1]['stdout']}; comparing the two copies ...")
    result["differences"] = same_results(whole, stopped, datetime.fromisoformat(meta["now"]) - timedelta(days=60))
    for path in (whole, stopped):
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
    return result


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------

def run_worker(kind: str, meta_path: Path, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", kind, "--meta", str(meta_path), "--repeat", str(args.repeat),
               "--mentions", str(args.mentions), "--outlets", str(args.outlets), "--new-items", str(args.new_items),
               "--blog-stories", str(args.blog_stories), "--seed", str(args.seed)]
    started = time.perf_counter()
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - started
    return result


def fmt_s(seconds: float) -> str:
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def summarise(match: dict[str, Any], report: dict[str, Any],
              rematch: dict[str, Any] | None) -> tuple[list[tuple[str, str, str]], dict[str, Any]]:
    pure, e2e = match["pure_items_per_s"], match["items_per_s"]
    build, floor, floor_list = min(report["build_s"]), min(report["floor_s"]), min(report["floor_list_s"])
    sizes = report["sizes"]

    def runs(values: list[float], digits: int = 2) -> str:
        return ", ".join(f"{v:.{digits}f}" for v in values)

    rows = [
        ("matching: Matcher.match alone", f"{pure:,.0f} items/s ({match['pure_items']:,} items of "
         f"{match['mean_words']:.0f} words, {match['entries']} entries; runs {runs(match['pure_s'], 3)} s)",
         f"{verdict(pure >= TARGET_MATCH)} >= {TARGET_MATCH:,}/s"),
        ("matching: match_mentions end to end", f"{e2e:,.0f} items/s ({fmt_s(match['total_s'])} for "
         f"{match['items']:,} items, {match['counted']:,} counted, {match['new_outlets']} new outlets)",
         f"{verdict(e2e >= TARGET_NEW_ITEMS)} >= {TARGET_NEW_ITEMS:,}/s ({e2e / TARGET_NEW_ITEMS:.2f}x)"),
        ("matching: peak memory (match worker VmHWM + its second process)",
         f"{match['hwm_mb'] + match['second_mb']:,.0f} MB (worker {match['hwm_mb']:,.0f} MB: after match_mentions "
         f"{match['hwm_after_match_mentions_mb']:,.0f} MB, after imports {match['hwm_ready_mb']:.0f} MB; second "
         f"process {match['second_mb']:,.0f} MB)",
         f"{verdict(match['hwm_mb'] + match['second_mb'] <= TARGET_MB)} <= {TARGET_MB} MB"),
        (f"report: build_report ({report['period']})", f"{fmt_s(build)} (runs {runs(report['build_s'])} s; "
         f"{report['mentions_listed']:,} mentions listed)", f"{verdict(build < TARGET_BUILD_S)} < {TARGET_BUILD_S:.0f} s"),
        ("floor: bare SQL aggregates", f"{fmt_s(floor)} (runs {runs(report['floor_s'], 3)} s)", ""),
        (f"floor + bare mention list ({report['floor_list_rows']:,} rows)",
         f"{fmt_s(floor_list)} (runs {runs(report['floor_list_s'])} s)", ""),
        ("build / floor (aggregates)", f"{build / floor:.1f}x", f"{verdict(build / floor <= TARGET_RATIO)} "
         f"<= {TARGET_RATIO:.0f}x"),
        ("render_report once (streams every mention into the CSV)",
         f"{fmt_s(report['render_s'])} (HTML {sizes['html'] / 2**20:.1f} MB, text "
         f"{sizes['text'] / 2**20:.1f} MB, CSV {sizes['csv'] / 2**20:.1f} MB, chart {sizes['png'] / 1024:.0f} KB,"
         f" map {sizes['map'] / 1024:.0f} KB)", ""),
        ("build + render (the map included)", fmt_s(build + report["render_s"]),
         f"{verdict(build + report['render_s'] < TARGET_BUILD_S)} < {TARGET_BUILD_S:.0f} s"),
        ("build + render / (floor + list): what `report send` does", f"{(build + report['render_s']) / floor_list:.2f}x",
         "(shown; the whole e-mail against the bare queries it needs)"),
        ("report: peak memory, build + render (VmHWM)", f"{report['hwm_mb']:.0f} MB (after build "
         f"{report['hwm_after_build_mb']:.0f} MB, after imports {report['hwm_ready_mb']:.0f} MB)",
         f"{verdict(report['hwm_mb'] <= TARGET_MB)} <= {TARGET_MB} MB"),
    ]
    figures = {
        "matching_pure_items_per_s": round(pure), "matching_end_to_end_items_per_s": round(e2e),
        "build_s": round(build, 3), "floor_s": round(floor, 4), "floor_with_list_s": round(floor_list, 3),
        "build_over_floor": round(build / floor, 2),
        "build_render_over_floor_with_list": round((build + report["render_s"]) / floor_list, 2),
        "render_s": round(report["render_s"], 2), "peak_mb_match": round(match["hwm_mb"] + match["second_mb"]),
        "peak_mb_build_render": round(report["hwm_mb"]),
    }
    if rematch is not None:
        whole = rematch["whole"]
        floor_s = whole["items"] / pure  # Matcher.match alone on as many texts
        rows += [
            ("rematch: `coverage match --all` (+1 term), CLI", f"{fmt_s(whole['wall_s'])} for {whole['items']:,} "
             f"items ({whole['items'] / whole['wall_s']:,.0f} items/s; CPU {fmt_s(whole['cpu_s'])})",
             f"{verdict(whole['wall_s'] <= TARGET_REMATCH_S)} <= {TARGET_REMATCH_S / 60:.0f} min "
             f"({whole['wall_s'] / TARGET_REMATCH_S:.2f}x)"),
            ("rematch / Matcher.match alone on as many items", f"{whole['wall_s'] / floor_s:.1f}x "
             f"({fmt_s(floor_s)})", "(shown)"),
            ("rematch: peak memory (CLI ru_maxrss; a rematch runs in one process)", f"{whole['peak_mb']:.0f} MB",
             f"{verdict(whole['peak_mb'] <= TARGET_MB)} <= {TARGET_MB} MB"),
        ]
        figures.update(rematch_s=round(whole["wall_s"], 1), rematch_cpu_s=round(whole["cpu_s"], 1), rematch_items=whole["items"],
                       rematch_over_target=round(whole["wall_s"] / TARGET_REMATCH_S, 2),
                       rematch_over_matcher_floor=round(whole["wall_s"] / floor_s, 2),
                       peak_mb_rematch=round(whole["peak_mb"]))
        if "stopped" in rematch:
            stopped, differences = rematch["stopped"], rematch["differences"]
            last = stopped[-1]
            ok = ([r["returncode"] for r in stopped] == [130, -signal.SIGKILL, 0]
                  and last["items"] < whole["items"] and not any(differences.values()))
            rows.append(("rematch: stopped by SIGINT, then SIGKILL, started again",
                         f"exits {', '.join(str(r['returncode']) for r in stopped)}; the last run matched "
                         f"{last['items']:,} of {whole['items']:,} items in {fmt_s(last['wall_s'])}; total "
                         f"{sum(r['wall_s'] for r in stopped) / whole['wall_s']:.2f}x the whole run; differences "
                         + ", ".join(f"{k} {v}" for k, v in differences.items()),
                         "resumes, same result" if ok else "FAILS: must resume and end with the same result"))
            figures.update(resumed_last_run_items=last["items"], resumed_differences=differences,
                           resumed_total_over_whole=round(sum(r["wall_s"] for r in stopped) / whole["wall_s"], 2))
    return rows, figures


def print_table(rows: list[tuple[str, str, str]], out: Any = sys.stdout) -> None:
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"| {'what'.ljust(w0)} | {'measured'.ljust(w1)} | target / note", file=out)
    print(f"|-{'-' * w0}-|-{'-' * w1}-|-{'-' * 14}", file=out)
    for a, b, c in rows:
        print(f"| {a.ljust(w0)} | {b.ljust(w1)} | {c}", file=out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--outlets", type=int, default=2000)
    parser.add_argument("--new-items", type=int, default=10_000)
    parser.add_argument("--blog-stories", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for the timed parts (matcher >= 3, report >= 2)")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--json", action="store_true", help="print the results as JSON (the table goes to stderr)")
    parser.add_argument("--keep", metavar="DIR", help="build the database in DIR and keep it")
    parser.add_argument("--reuse", metavar="DIR", help="reuse the database a --keep run left in DIR")
    parser.add_argument("--no-rematch", action="store_true", help="skip `coverage match --all` (about 10 min)")
    parser.add_argument("--no-resume", action="store_true",
                        help="rematch once only, without the interrupted and resumed runs on a second copy")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--meta", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker == "setup":
        # in a subprocess of its own, so that the driver stays small
        meta_path = Path(args.meta)
        meta = setup(meta_path.parent, args)
        meta_path.write_text(json.dumps(meta))
        print(json.dumps({"ok": True}))
        return
    if args.worker:
        meta = json.loads(Path(args.meta).read_text())
        fn = {"match": worker_match, "report": worker_report, "restore": worker_restore}[args.worker]
        print(json.dumps(fn(meta, args), default=str))
        return

    load = os.getloadavg()
    wall = time.perf_counter()
    tmp = None
    if args.reuse:
        folder = Path(args.reuse)
        meta = json.loads((folder / "meta.json").read_text())
        log(f"reusing {folder} ({meta['mentions']:,} mentions)")
    else:
        if args.keep:
            folder = Path(args.keep)
            folder.mkdir(parents=True, exist_ok=True)
            for leftover in folder.glob("coverage.db*"):
                leftover.unlink()
        else:
            tmp = tempfile.TemporaryDirectory(prefix="bench-coverage-")
            folder = Path(tmp.name)
        log(f"set-up: {args.mentions:,} mentions, {args.outlets:,} outlets in {folder}")
        setup_wall = run_worker("setup", folder / "meta.json", args)["wall_s"]
        meta = json.loads((folder / "meta.json").read_text())
        meta["setup_wall_s"] = round(setup_wall, 1)
        log(f"set-up done in {meta['setup_s']['total']:.0f} s, database {meta['db_mb']} MB")
    meta_path = folder / "meta.json"
    restores: list[float] = []
    try:
        if args.reuse is not None:
            # a database left by an interrupted run, or made before the pickup index, is first
            # brought to the state set-up makes (an untimed subprocess of its own)
            log("restore: reset the new items (and build the pickup index if it is empty) ...")
            took = run_worker("restore", meta_path, args)["reindex_s"]
            restores += [took] if took is not None else []
        log("match worker ...")
        match = run_worker("match", meta_path, args)
        log("report worker ...")
        report = run_worker("report", meta_path, args)
        if args.reuse is not None or args.keep:
            # the report part matched the new items: back to the state set-up made
            run_worker("restore", meta_path, args)
        rematch = None if args.no_rematch else rematch_part(meta, folder, args)
    finally:
        if tmp is not None:
            tmp.cleanup()
    rows, figures = summarise(match, report, rematch)
    load_after = os.getloadavg()
    out = sys.stderr if args.json else sys.stdout
    print(f"coverage benchmark: {meta['mentions']:,} mentions ({meta['counted']:,} counted, {meta['facts']:,} facts), "
          f"{meta['outlets']:,} outlets, {meta['stories']:,} stories, database {meta['db_mb']} MB; whole run "
          f"{(time.perf_counter() - wall) / 60:.1f} min", file=out)
    print(f"load average (1, 5, 15 min): before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after "
          f"{load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} ({os.cpu_count()} CPUs)", file=out)
    print("set-up (not timed in any figure): " + ", ".join(f"{k} {v} s" for k, v in meta["setup_s"].items()),
          file=out)
    if restores:
        print("pickup index built outside the timed parts: "
              + ", ".join(f"{s:.1f} s" for s in restores), file=out)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"wall time per subprocess: match {match['wall_s']:.0f} s, report {report['wall_s']:.0f} s; "
          f"CPU time of all subprocesses {(children.ru_utime + children.ru_stime) / 60:.1f} min", file=out)
    print(file=out)
    print_table(rows, out)
    if args.json:
        print(json.dumps({"setup": meta, "figures": figures, "match": match, "report": report, "rematch": rematch,
                          "pickup_restore_s": restores, "loadavg": [list(load), list(load_after)]},
                         indent=2, default=str))


if __name__ == "__main__":
    main()

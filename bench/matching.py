#!/usr/bin/env python3
"""Coverage matching benchmark: watchlist matches per second, plus places and clustering.

Generates (seeded, so every run sees the same data) a watchlist of 500 watch terms (plus 60
organisations with an alias each and 20 ambassadors) and 10,000 Dutch news items of about
80 words (title + snippet), a fifth of them about social work, then times:

  matching    Matcher.match on every item (the target: >= 5,000 items/s on 2 cores)
  places      find_municipalities on every item
  clustering  cluster() on all items, 1 in 10 of them a rewritten pickup of another

Single thread, best of ``--repeat`` rounds, wall clock and CPU time (which shows the cost on
a busy machine). It is a benchmark, not a test: it prints the figures and always exits 0
(``--json`` prints them as JSON).

    python bench/matching.py
    python bench/matching.py --items 20000 --repeat 5 --json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections.abc import Callable

from sociaalwerk_publisher.coverage.clustering import cluster
from sociaalwerk_publisher.coverage.matching import DEFAULT_TERMS, Matcher, Watchlist
from sociaalwerk_publisher.coverage.places import find_municipalities
from sociaalwerk_publisher.municipalities import municipalities

TARGET = 5000  # items per second

_ROOTS = (
    "buurt", "wijk", "jongeren", "ouderen", "welzijns", "zorg", "schuld", "armoede", "mantelzorg",
    "vrijwilligers", "gezins", "opvoed", "dorps", "straat", "school", "thuis", "huiskamer",
    "inloop", "taal", "sport", "cultuur", "migranten", "statushouders", "eenzaamheids",
    "participatie", "re-integratie", "kinder", "tiener", "meiden", "jongens",
)
_ENDS = (
    "werk", "werker", "coach", "consulent", "team", "steunpunt", "centrum", "project",
    "netwerk", "loket", "hulp", "begeleiding", "ondersteuning", "aanpak",
)
_FIRST = (
    "Anne", "Fatima", "Jeroen", "Mohamed", "Sanne", "Pieter", "Noor", "Daan", "Lieke", "Yusuf",
    "Emma", "Bram", "Aylin", "Kees", "Marieke", "Stefan", "Samira", "Joost", "Ilse", "Ahmed",
)
_LAST = (
    "de Vries", "Jansen", "El Amrani", "van Dijk", "Bakker", "Yilmaz", "Visser", "Smit", "de Boer",
    "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Kaya",
    "Brouwer", "de Wit",
)

# Sentences are built word group by word group from pools, so that, as in real news, two
# unrelated items share words and the odd stock phrase but rarely four words in a row.
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
    "bezuinigt op", "viert", "lanceert", "verhuist", "sluit",
)
_ADJ = (
    "nieuwe", "extra", "gratis", "tijdelijke", "vaste", "kleine", "grote", "lokale", "eerste",
    "jaarlijkse", "wekelijkse", "digitale", "betaalbare", "bijzondere", "populaire", "laatste",
    "", "", "", "",
)
_WHAT = (
    "inloopspreekuur", "dorpshuis", "repaircafé", "taalcursus", "zwembad", "speeltuin",
    "woningen", "wachtlijst", "energietoeslag", "buurtmaaltijd", "spreekuur", "subsidieregeling",
    "huiskamer", "bibliotheek", "markt", "festival", "onderzoek", "voorlichting", "cursus",
    "informatieavond", "moestuin", "fietsroute", "parkeerplaatsen", "sporthal", "zorgboerderij",
    "wijkagenda", "bewonersavond", "inzamelingsactie", "kledingbank", "computerles",
)
_FOR = (
    "voor ouderen", "voor jongeren", "voor nieuwkomers", "voor mantelzorgers", "voor gezinnen",
    "voor mensen met schulden", "in de wijk", "in het centrum", "bij de kerk", "op het plein",
    "in {place}", "aan de rand van {place}", "voor statushouders", "voor eenzame ouderen",
    "voor kinderen", "", "", "",
)
_WHEN = (
    "", "", "", "volgende week", "op {day} {date} {month}", "sinds {year}", "vanaf {month}",
    "na de zomer", "deze maand", "in het voorjaar", "vorig jaar", "tot eind {year}",
)
_TAIL = (
    "", "", "", "", ", zegt {person}", ", meldt {org}", ", zo blijkt uit een rapport",
    ", met {count} deelnemers", ", voor {count} euro", ", aldus de {who}",
)
_DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december")
_WHO_TOPICAL = (
    "een sociaal werker uit {place}", "het {term} van {place}", "een {term}", "{org}",
    "sociaal-werkers van {org}", "{person}, ambassadeur van het sociaal werk,",
)


def _sentence(rng: random.Random, fill: dict[str, str], who: tuple[str, ...] = _WHO) -> str:
    parts = [rng.choice(who), rng.choice(_DO), rng.choice(_ADJ), rng.choice(_WHAT), rng.choice(_FOR),
             rng.choice(_WHEN)]
    text = " ".join(part for part in parts if part) + rng.choice(_TAIL) + "."
    text = text.format(
        day=rng.choice(_DAYS), date=rng.randint(1, 28), month=rng.choice(_MONTHS),
        year=rng.randint(2019, 2027), count=rng.randint(12, 4000), who=rng.choice(("wethouder", "raad")),
        **fill,
    )
    return text[0].upper() + text[1:]


def make_watchlist(rng: random.Random) -> Watchlist:
    compounds = [root + end for root in _ROOTS for end in _ENDS]
    rng.shuffle(compounds)
    # single words and, to exercise the multi-word path, every fourth also as "sociaal X"
    candidates = list(DEFAULT_TERMS)
    for i, word in enumerate(compounds):
        candidates += [word, f"sociaal {word}"] if i % 4 == 0 else [word]
    terms = list(dict.fromkeys(candidates))[:500]
    places = [m.name for m in municipalities().values()]
    organisations = {
        f"Welzijn {place}": (f"SW {place}",) for place in rng.sample(places, 60)
    }
    ambassadors = tuple(dict.fromkeys(f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(40)))[:20]
    return Watchlist(terms=tuple(terms), organisations=organisations, ambassadors=ambassadors)


def make_items(rng: random.Random, watchlist: Watchlist, count: int) -> list[tuple[int, str]]:
    places = [m.name for m in municipalities().values()]
    # mostly organisations and people that are not on the watchlist
    organisations = list(watchlist.organisations) + [
        f"{kind} {place}" for kind in ("Dorpsbelangen", "Woonstichting", "Voetbalclub", "Rabobank")
        for place in rng.sample(places, 60)
    ]
    people = list(watchlist.ambassadors) + list(dict.fromkeys(
        f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(200)))
    items: list[tuple[int, str]] = []
    for item_id in range(1, count + 1):
        if items and rng.random() < 0.1:
            # a pickup: an earlier item with its first sentence rewritten
            _, earlier = rng.choice(items)
            title, _, body = earlier.partition("\n")
            sentences = body.split(". ")
            sentences[0] = f"Dat meldt {rng.choice(organisations)} in een persbericht"
            items.append((item_id, f"{title}\n" + ". ".join(sentences)))
            continue
        fill = {
            "place": rng.choice(places), "person": rng.choice(people), "org": rng.choice(organisations),
            "term": rng.choice(watchlist.terms),
        }
        sentences = [_sentence(rng, fill) for _ in range(6)]
        if rng.random() < 0.2:
            # a fifth of the items are about social work
            sentences[rng.randrange(6)] = _sentence(rng, fill, _WHO_TOPICAL)
        title = _sentence(rng, fill).rstrip(".")
        body = " ".join(sentences)
        items.append((item_id, f"{title}\n{body}"))
    return items


def best_of(repeat: int, run: Callable[[], object]) -> tuple[float, float]:
    """The shortest wall-clock time of ``repeat`` runs, and the CPU time of that run.

    On a busy machine the CPU time shows what the code costs without the wait for a core.
    """
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261116)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    watchlist = make_watchlist(rng)
    items = make_items(rng, watchlist, args.items)
    texts = [text for _, text in items]
    entries = len(watchlist.terms)
    mean_words = sum(len(t.split()) for t in texts) / len(texts)

    started = time.perf_counter()
    matcher = Matcher(watchlist)
    compile_s = time.perf_counter() - started
    matching_s, matching_cpu = best_of(args.repeat, lambda: [matcher.match(t) for t in texts])
    counted = sum(matcher.match(t).counts for t in texts)
    find_municipalities("warm-up")  # the municipality table is built once per process
    places_s, places_cpu = best_of(args.repeat, lambda: [find_municipalities(t) for t in texts])
    clustering_s, clustering_cpu = best_of(args.repeat, lambda: cluster(items))
    stories = len(set(cluster(items).values()))

    result = {
        "watch_terms": entries,
        "organisations": len(watchlist.organisations),
        "ambassadors": len(watchlist.ambassadors),
        "items": len(texts),
        "mean_words": round(mean_words, 1),
        "compile_ms": round(compile_s * 1000, 1),
        "matching_items_per_s": round(len(texts) / matching_s),
        "matching_items_per_cpu_s": round(len(texts) / matching_cpu),
        "counted": counted,
        "places_items_per_s": round(len(texts) / places_s),
        "places_items_per_cpu_s": round(len(texts) / places_cpu),
        "clustering_s": round(clustering_s, 2),
        "clustering_cpu_s": round(clustering_cpu, 2),
        "clusters": stories,
        "target_items_per_s": TARGET,
        "load_average": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"watchlist: {entries} terms, {len(watchlist.organisations)} organisations, "
          f"{len(watchlist.ambassadors)} ambassadors; compiled in {result['compile_ms']} ms")
    print(f"items:     {len(texts):,}, {mean_words:.0f} words on average "
          f"(load average {result['load_average']:.1f} on {os.cpu_count()} cores)")
    verdict = "meets" if result["matching_items_per_s"] >= TARGET else "MISSES"
    print(f"matching:  {result['matching_items_per_s']:,} items/s, {result['matching_items_per_cpu_s']:,} per CPU "
          f"second ({counted:,} counted; {verdict} the target of {TARGET:,}/s)")
    print(f"places:    {result['places_items_per_s']:,} items/s, {result['places_items_per_cpu_s']:,} per CPU second")
    print(f"clusters:  {stories:,} from {len(texts):,} items in {clustering_s:.2f} s ({clustering_cpu:.2f} CPU s)")

if __name__ == "__main__":
    main()

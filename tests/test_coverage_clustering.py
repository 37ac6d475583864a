"""Pickup clustering: one press release at several outlets is one story."""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sociaalwerk_publisher.coverage.clustering import MIN_WORDS, cluster, similarity
from sociaalwerk_publisher.exceptions import ConfigError

RELEASE = """Sociaal werkers in Zwolle openen eerste buurtkamer voor eenzame ouderen
ZWOLLE - Sociaal werkers van Travers Welzijn openen op maandag 3 november de eerste buurtkamer \
voor eenzame ouderen in de wijk Holtenbroek. In de buurtkamer kunnen ouderen elke werkdag tussen \
tien en vier uur binnenlopen voor een kop koffie, een praatje of hulp bij formulieren. Volgens \
Travers Welzijn voelt bijna de helft van de 75-plussers in de wijk zich regelmatig eenzaam. "Veel \
ouderen komen de deur niet meer uit en weten niet waar ze terechtkunnen", zegt sociaal werker \
Fatima El Amrani. De buurtkamer wordt gerund door twee sociaal werkers en een groep van vijftien \
vrijwilligers uit de wijk. De gemeente Zwolle betaalt de huur van het pand aan de Pilotenstraat \
voor de komende drie jaar. Wethouder Klaas Jansen noemt de buurtkamer een belangrijke stap in de \
aanpak van eenzaamheid. Als de proef slaagt, volgen volgend jaar buurtkamers in Stadshagen en \
Zwolle-Zuid."""

# Pickups as outlets publish them: with their own headline, and the release cut or edited.
CUT = """Eerste buurtkamer voor eenzame ouderen in Holtenbroek
Sociaal werkers van Travers Welzijn openen op maandag 3 november de eerste buurtkamer voor eenzame \
ouderen in de wijk Holtenbroek. In de buurtkamer kunnen ouderen elke werkdag tussen tien en vier \
uur binnenlopen voor een kop koffie, een praatje of hulp bij formulieren. Volgens Travers Welzijn \
voelt bijna de helft van de 75-plussers in de wijk zich regelmatig eenzaam. "Veel ouderen komen de \
deur niet meer uit en weten niet waar ze terechtkunnen", zegt sociaal werker Fatima El Amrani. De \
buurtkamer wordt gerund door twee sociaal werkers en een groep van vijftien vrijwilligers uit de \
wijk. De gemeente Zwolle betaalt de huur van het pand aan de Pilotenstraat voor de komende drie jaar."""
NEW_INTRO = """Buurtkamer moet eenzaamheid onder Zwolse ouderen tegengaan
In Holtenbroek gaat maandag 3 november de eerste buurtkamer voor eenzame ouderen open. In de \
buurtkamer kunnen ouderen elke werkdag tussen tien en vier uur binnenlopen voor een kop koffie, een \
praatje of hulp bij formulieren. Volgens Travers Welzijn voelt bijna de helft van de 75-plussers in \
de wijk zich regelmatig eenzaam. "Veel ouderen komen de deur niet meer uit en weten niet waar ze \
terechtkunnen", zegt sociaal werker Fatima El Amrani. De buurtkamer wordt gerund door twee sociaal \
werkers en een groep van vijftien vrijwilligers uit de wijk. De gemeente betaalt de huur van het \
pand aan de Pilotenstraat voor de komende drie jaar. Wethouder Klaas Jansen noemt de buurtkamer een \
belangrijke stap in de aanpak van eenzaamheid. Als de proef slaagt, volgen volgend jaar buurtkamers \
in Stadshagen en Zwolle-Zuid."""
EDITED = """Zwolle: sociaal werkers openen buurtkamer voor eenzame ouderen
ZWOLLE – Sociaal werkers van Travers Welzijn openen maandag 3 november de eerste buurtkamer voor \
eenzame ouderen in de wijk Holtenbroek. In de buurtkamer kunnen ouderen elke werkdag tussen tien en \
vier uur binnenlopen voor een kop koffie, een praatje of hulp bij formulieren. Volgens Travers \
Welzijn voelt bijna de helft van de 75-plussers in de wijk zich geregeld eenzaam. 'Veel ouderen \
komen de deur niet meer uit en weten niet waar ze terecht kunnen,' zegt sociaal werker Fatima El \
Amrani. De buurtkamer wordt gerund door twee sociaal werkers en een groep van vijftien vrijwilligers \
uit de wijk. De gemeente Zwolle betaalt de huur van het pand aan de Pilotenstraat voor de komende \
drie jaar. Wethouder Klaas Jansen noemt de buurtkamer "een belangrijke stap" in de aanpak van \
eenzaamheid."""
# Same town, same organisation, same alderman, same week: another story.
UNRELATED = """Jongerenwerkers in Zwolle zoeken meer ruimte voor tieners
ZWOLLE - Jongerenwerkers van Travers Welzijn willen dat de gemeente Zwolle meer plekken opent waar \
tieners na school terechtkunnen. In de wijk Holtenbroek is het jongerencentrum al maanden te klein, \
zegt jongerenwerker Daan Visser. "Op woensdagmiddag staan er soms veertig jongeren voor de deur." \
De gemeente onderzoekt of een leegstaand schoolgebouw aan de Pilotenstraat kan worden gebruikt. \
Wethouder Klaas Jansen wil volgend jaar een besluit nemen over de huur van het pand. Tot die tijd \
organiseren de jongerenwerkers activiteiten in de sporthal van Stadshagen."""

#: (item id, text, expected cluster id)
PICKUPS = [
    (41, EDITED, 12),
    (12, RELEASE, 12),
    (57, UNRELATED, 57),
    (30, CUT, 12),
    (88, NEW_INTRO, 12),
]


class TestPickups:
    def test_rewrites_of_one_press_release_are_one_story_and_another_article_is_not(self) -> None:
        expected = {item_id: cluster_id for item_id, _, cluster_id in PICKUPS}
        assert cluster([(item_id, text) for item_id, text, _ in PICKUPS]) == expected

    @pytest.mark.parametrize("text, low, high", [
        (CUT, 0.70, 0.77),
        (NEW_INTRO, 0.70, 0.77),
        (EDITED, 0.69, 0.75),
        (UNRELATED, 0.0, 0.03),
    ])
    def test_similarity_to_the_release(self, text: str, low: float, high: float) -> None:
        assert low <= similarity(RELEASE, text) <= high

    def test_rewrites_that_differ_more_from_each_other_are_joined_through_the_release(self) -> None:
        assert similarity(CUT, NEW_INTRO) < 0.6
        assert similarity(NEW_INTRO, EDITED) < 0.6
        items = [(30, CUT), (88, NEW_INTRO), (41, EDITED)]
        assert cluster(items) == {30: 30, 88: 88, 41: 30}  # CUT and EDITED are alike (0.66)
        assert cluster([*items, (12, RELEASE)]) == {30: 12, 88: 12, 41: 12, 12: 12}

    def test_the_threshold_decides(self) -> None:
        items = [(1, RELEASE), (2, EDITED)]
        assert cluster(items, threshold=0.7) == {1: 1, 2: 1}
        assert cluster(items, threshold=0.75) == {1: 1, 2: 2}

    def test_identical_copies_are_one_story(self) -> None:
        items = [(item_id, CUT) for item_id in (9, 4, 7)]
        assert cluster(items) == {9: 4, 4: 4, 7: 4}

    def test_case_and_punctuation_do_not_make_a_text_different(self) -> None:
        assert similarity(RELEASE, RELEASE.upper().replace(",", "").replace("-", " ")) == 1.0


class TestShortTexts:
    def test_short_and_empty_texts_are_stories_of_their_own(self) -> None:
        title = "Sociaal werkers slaan alarm over de werkdruk in de wijk"
        assert len(title.split()) < MIN_WORDS
        items = [(1, title), (2, title), (3, ""), (4, ""), (5, "   "), (6, RELEASE), (7, RELEASE[:40])]
        assert cluster(items) == {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7}

    def test_no_items(self) -> None:
        assert cluster([]) == {}

    @pytest.mark.parametrize("a, b, expected", [
        ("", "", 0.0),
        ("", RELEASE, 0.0),
        ("sociaal werk", "Sociaal-werk!", 1.0),  # shorter than a shingle: the text is one shingle
        ("een twee drie vier vijf", "een twee drie vier zes", 1 / 3),
    ])
    def test_similarity_of_short_texts(self, a: str, b: str, expected: float) -> None:
        assert similarity(a, b) == pytest.approx(expected)


class TestDeterminism:
    def test_the_same_on_every_run_whatever_the_string_hash_seed(self) -> None:
        items = _corpus(random.Random(3), 300)
        script = (
            "import json, sys\n"
            "from sociaalwerk_publisher.coverage.clustering import cluster\n"
            "items = [tuple(item) for item in json.load(sys.stdin)]\n"
            "print(json.dumps(sorted(cluster(items).items())))\n"
        )
        results = set()
        for seed in ("1", "12345"):
            run = subprocess.run(
                [sys.executable, "-c", script], input=json.dumps(items), capture_output=True, text=True,
                check=True, env={**os.environ, "PYTHONHASHSEED": seed},
            )
            results.add(run.stdout)
        assert len(results) == 1
        assert json.loads(results.pop()) == [list(pair) for pair in sorted(cluster(items).items())]

    @settings(max_examples=25, deadline=None)
    @given(st.randoms(use_true_random=False))
    def test_the_order_of_the_items_does_not_matter(self, rng: random.Random) -> None:
        items = _corpus(random.Random(5), 120)
        shuffled = list(items)
        rng.shuffle(shuffled)
        assert cluster(shuffled) == cluster(items)


@pytest.fixture(scope="module")
def every_pair() -> tuple[list[tuple[int, str]], list[tuple[int, int, float]]]:
    """A corpus with many half-alike texts, and the similarity of every pair of long texts."""
    items = _corpus(random.Random(11), 250, vocabulary=80)
    long_enough = [(i, text) for i, text in items if len(text.split()) >= MIN_WORDS]
    pairs = [(a, b, similarity(x, y)) for (a, x), (b, y) in itertools.combinations(long_enough, 2)]
    return items, pairs


class TestExactness:
    @pytest.mark.parametrize("threshold", [0.3, 0.5, 0.6, 0.8, 1.0])
    def test_clusters_are_the_connected_groups_of_similar_texts(
        self, every_pair: tuple[list[tuple[int, str]], list[tuple[int, int, float]]], threshold: float,
    ) -> None:
        items, pairs = every_pair
        assert cluster(items, threshold) == _brute_force(items, pairs, threshold)

    @pytest.mark.parametrize("threshold", [0, -0.1, 1.01])
    def test_a_threshold_outside_0_to_1_is_a_config_error(self, threshold: float) -> None:
        with pytest.raises(ConfigError):
            cluster([(1, RELEASE)], threshold)


def test_ten_thousand_items_with_planted_pickups() -> None:
    items, expected = _planted(random.Random(2026), 10_000)
    started = time.perf_counter()
    result = cluster(items)
    elapsed = time.perf_counter() - started
    assert result == expected  # every pickup found its original, and nothing else was joined
    assert elapsed < 60  # a few seconds on 2 cores; this only catches a quadratic blow-up


def _corpus(rng: random.Random, count: int, *, vocabulary: int = 20_000) -> list[tuple[int, str]]:
    """Random texts of all lengths (ids 1, 2, ...), a third of them edits of an earlier one."""
    words = [f"w{n}" for n in range(vocabulary)]
    items: list[tuple[int, str]] = []
    for item_id in range(1, count + 1):
        if items and rng.random() < 0.3:
            _, origin = rng.choice(items)
            edited = [w if rng.random() > 0.03 else rng.choice(words) for w in origin.split()]
            items.append((item_id, " ".join(edited)))
        else:
            length = rng.choice((0, 5, 11, 12, 30, 80, 120))
            items.append((item_id, " ".join(rng.choice(words) for _ in range(length))))
    return items


def _planted(rng: random.Random, count: int) -> tuple[list[tuple[int, str]], dict[int, int]]:
    """Random texts of 80 to 120 words, a tenth of them pickups of an earlier original with two
    words changed (similarity at least 0.8), and the clusters they must form."""
    words = [f"w{n}" for n in range(20_000)]
    items: list[tuple[int, str]] = []
    originals: list[tuple[int, list[str]]] = []
    expected: dict[int, int] = {}
    for item_id in range(1, count + 1):
        if originals and rng.random() < 0.1:
            origin_id, origin = rng.choice(originals)
            edited = list(origin)
            for position in rng.sample(range(len(edited)), 2):
                edited[position] = rng.choice(words)
            items.append((item_id, " ".join(edited)))
            expected[item_id] = origin_id
        else:
            text = [rng.choice(words) for _ in range(rng.randint(80, 120))]
            originals.append((item_id, text))
            items.append((item_id, " ".join(text)))
            expected[item_id] = item_id
    return items, expected


def _brute_force(items: list[tuple[int, str]], pairs: list[tuple[int, int, float]],
                 threshold: float) -> dict[int, int]:
    """Cluster from the similarity of every pair: the specification ``cluster`` must meet."""
    group = {item_id: {item_id} for item_id, _ in items}
    for a, b, alike in pairs:
        if alike >= threshold - 1e-9 and group[a] is not group[b]:
            merged = group[a] | group[b]
            for member in merged:
                group[member] = merged
    return {item_id: min(group[item_id]) for item_id, _ in items}

"""Themes: what a text is about, not which words the campaign itself uses.

The same themes are a mention's facts in the report and the WordPress tags of a syndicated
story, so both are checked here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from sociaalwerk_publisher.config import DEFAULT_THEMES, CampaignConfig, Config, CoverageConfig
from sociaalwerk_publisher.themes import ThemeMatcher, themes_for

from .fixtures.themes_labelled import ITEMS

CONFIG = Config(coverage=CoverageConfig(organisations={"Travers Welzijn": ("Travers",), "Welzijn Noord": ()}))


def _scores(theme: str) -> tuple[float, float]:
    found = [(theme in themes_for(f"{headline}\n{snippet}", CONFIG), theme in wanted)
             for headline, snippet, wanted in ITEMS]
    hits = sum(got and want for got, want in found)
    return hits / max(1, sum(got for got, _ in found)), hits / max(1, sum(want for _, want in found))


def test_the_labelled_set_is_large_enough_and_covers_every_theme() -> None:
    assert len(ITEMS) >= 40
    for theme in DEFAULT_THEMES:
        assert sum(theme in wanted for _, _, wanted in ITEMS) >= 4, theme


@pytest.mark.parametrize("theme", list(DEFAULT_THEMES))
def test_each_theme_is_found_with_precision_and_recall_of_at_least_80_percent(theme: str) -> None:
    precision, recall = _scores(theme)
    assert precision >= 0.8 and recall >= 0.8, (theme, precision, recall)


def test_no_theme_is_on_most_of_a_month_of_ordinary_press() -> None:
    for theme in DEFAULT_THEMES:
        share = sum(theme in themes_for(f"{h}\n{s}", CONFIG) for h, s, _ in ITEMS) / len(ITEMS)
        assert share <= 0.6, (theme, share)


@pytest.mark.parametrize("text", [
    "Sociaal werkers luiden de noodklok over de wachtlijsten",
    "Het sociaal werk staat onder druk, zegt de minister",
    "Travers Welzijn en Welzijn Noord werken samen",
    "De welzijnsorganisatie zoekt een nieuwe directeur",
    "Maatschappelijk werkers van Travers krijgen een nieuw kantoor",
])
def test_the_campaigns_own_words_and_members_are_no_theme(text: str) -> None:
    assert themes_for(text, CONFIG) == ()


def test_gouden_names_and_ambassadors_are_no_theme_either() -> None:
    config = replace(CONFIG, campaign=CampaignConfig(gouden=("Stichting Jeugd en Welzijn",)),
                     coverage=replace(CONFIG.coverage, ambassadors=("Marieke Baan",)))
    assert themes_for("Stichting Jeugd en Welzijn opent een inloop met Marieke Baan", config) == ()
    assert themes_for("Jeugd zoekt een baan", config) == ("werk", "jeugd")


def test_a_watch_term_a_theme_keyword_begins_keeps_its_theme() -> None:
    assert themes_for("Het jongerenwerk breidt uit", CONFIG) == ("jeugd",)  # jongeren*
    assert themes_for("Schuldhulpverlening krijgt meer aanmeldingen", CONFIG) == ("armoede en schulden",)
    assert themes_for("Schoolmaatschappelijk werk op elke school", CONFIG) == ("onderwijs",)


@pytest.mark.parametrize("text, expected", [
    ("Werkloze jongeren vinden een baan", ("werk", "jeugd")),
    ("Een baanbrekend plan voor de wijk", ()),  # a whole word, not the start of one
    ("Hulp bij re-integratie", ("werk",)),
    ("Hulp bij reïntegratie", ("werk",)),
    ("Hulp bij re integratie", ("werk",)),
    ("Meer meldingen van huiselijk geweld", ("veiligheid",)),
    ("WONINGNOOD IN DE STAD", ("wonen",)),
])
def test_keywords_match_whole_words_or_what_a_star_begins_in_any_spelling(text: str, expected: tuple[str, ...]) -> None:
    assert themes_for(text, CONFIG) == expected


def test_a_users_lists_replace_the_defaults() -> None:
    matcher = ThemeMatcher({"sport": ("voetbal", "sport*"), "cultuur": ("muziek*",)}, ignore=("buurtsportcoach",))
    assert matcher.match("De buurtsportcoach organiseert sportdagen en muziekles") == ("sport", "cultuur")
    assert matcher.match("De buurtsportcoach is er") == ()


def test_themes_become_the_wordpress_tags_of_a_syndicated_story(tmp_path: Path) -> None:
    from sociaalwerk_publisher import Publisher
    from sociaalwerk_publisher._storage import open_storage
    from sociaalwerk_publisher.config import DestinationConfig

    from .conftest import make_config
    from .stories import seed
    from .test_syndication import Sites

    sites = Sites()
    config = replace(make_config(tmp_path), destinations=(DestinationConfig(name="landelijk", adapter="wxr", path="x.xml"),))
    with Publisher(config, open_storage(config.database_url), adapter_for=sites) as publisher:
        seed(publisher, tmp_path, [{"guid": "a", "title": "Welzijn Noord helpt werkloze jongeren",
                                    "html": "<p>Sociaal werkers van Welzijn Noord helpen jongeren aan een baan.</p>"}],
             title="Blog Noord", organisation="Welzijn Noord")
        (story,) = publisher.list_stories()
        publisher.approve_story(story.id)
        list(publisher.syndicate())
    (copy,) = sites["landelijk"].posts.values()
    assert set(copy.post.tags) == {"werk", "jeugd", "Blog Noord"}  # not welzijn, not werk for "sociaal werk"

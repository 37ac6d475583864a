"""Watchlist matching: Dutch spelling variants, word boundaries, exclusions, names."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sociaalwerk_publisher.coverage.matching import (
    DEFAULT_EXCLUSIONS,
    DEFAULT_TERMS,
    Match,
    Matcher,
    Watchlist,
    fold,
    words,
)
from sociaalwerk_publisher.exceptions import ConfigError

WATCHLIST = Watchlist(
    terms=("sociaal werk", "sociaal werker", "jongerenwerk", "buurtwerk", "welzijnswerk",
           "maatschappelijk werk", "schuldhulpverlening", "coöperatie", "werk", "Ede"),
    organisations={
        "Welzijn Noord": ("WN Amsterdam",),
        "Súdwest Wolkom": ("Sudwest Welzijn", "SWW"),
        "Stichting Buurtwerk Noord": (),
    },
    ambassadors=("Anne de Vries", "Mohamed El Amrani"),
    exclusions=("sociaal werkplaats", "werkplaats"),
)
MATCHER = Matcher(WATCHLIST)


def terms(text: str) -> tuple[str, ...]:
    return MATCHER.match(text).terms


class TestSpellingVariants:
    @pytest.mark.parametrize("text", [
        "Een sociaal werker vertelt",
        "Een sociaal-werker vertelt",
        "Een sociaalwerker vertelt",
        "Sociaal werkers slaan alarm",
        "Sociaal-werkers slaan alarm",
        "Sociaalwerkers slaan alarm",
        "De sociaal werker's tas",
        "De sociaal werker’s tas",  # curly apostrophe
        "SOCIAAL WERKERS IN ACTIE",
    ])
    def test_compound_written_with_space_hyphen_or_nothing_and_its_plural_match(self, text: str) -> None:
        assert terms(text) == ("sociaal werker",)

    @pytest.mark.parametrize("text, expected", [
        ("de buurtwerken in de stad", ("buurtwerk",)),  # -en
        ("twee coöperaties", ("coöperatie",)),  # -s
        ("jongerenwerkes", ("jongerenwerk",)),  # -es (rare, but a listed ending)
        ("de buurtwerker komt langs", ()),  # -er is another word, not an inflection
        ("de buurtwerkster komt langs", ()),
        ("maatschappelijk werkers", ()),  # "maatschappelijk werker" is not on this list
    ])
    def test_only_plural_and_genitive_endings_are_inflections(self, text: str, expected: tuple[str, ...]) -> None:
        assert terms(text) == expected

    @pytest.mark.parametrize("text", [
        "Coöperatie opgericht", "Cooperatie opgericht", "COÖPERATIE opgericht", "coöperatie opgericht",
        "Coo\u0308peratie opgericht",  # decomposed diaeresis (NFD)
    ])
    def test_diacritics_and_case_do_not_matter(self, text: str) -> None:
        assert terms(text) == ("coöperatie",)

    def test_diacritics_in_the_watchlist_do_not_matter_either(self) -> None:
        assert MATCHER.match("SUDWEST WOLKOM en Sudwest Welzijn").organisations == ("Súdwest Wolkom",)


class TestWordBoundaries:
    @pytest.mark.parametrize("text, expected", [
        ("De werkgever zoekt personeel", ()),
        ("Het werkt goed", ()),
        ("Nieuw werk gezocht", ("werk",)),
        ("Open dag in de jongerenwerkplaats", ()),  # not jongerenwerk inside a longer word
        ("het oud-jongerenwerk", ("jongerenwerk",)),  # a hyphen separates words
        ("Welzijnswerkgroep opgericht", ()),
        ("Festival in Edam", ()),
        ("Eden en Ede", ("Ede",)),
    ])
    def test_terms_match_whole_words_only(self, text: str, expected: tuple[str, ...]) -> None:
        assert terms(text) == expected

    @pytest.mark.parametrize("text", [
        "Het is sociaal. Werk is er genoeg",
        "Het is sociaal, werk is er genoeg",
        "Meer geld voor sociaal\nWerk aan de winkel",  # title and body are joined by a line break
        "Het noemt zich sociaal (werk volgt later)",
    ])
    def test_a_term_does_not_run_across_sentence_punctuation(self, text: str) -> None:
        assert "sociaal werk" not in terms(text)

    def test_a_longer_term_and_a_term_inside_it_both_match(self) -> None:
        # "sociaal werk" contains the listed word "werk": both are really in the text
        assert terms("Sociaal werk in de wijk") == ("sociaal werk", "werk")


class TestExclusions:
    @pytest.mark.parametrize("text, excluded_by", [
        ("Sociaal werker start in de sociaal werkplaats", ("sociaal werkplaats", "werkplaats")),
        ("Sociaal werkers bezoeken twee werkplaatsen", ("werkplaats",)),
        ("Sociaal werkers bij de jongerenwerkplaats", ()),  # an exclusion is a whole word too
    ])
    def test_a_text_with_an_exclusion_is_not_counted(self, text: str, excluded_by: tuple[str, ...]) -> None:
        found = MATCHER.match(text)
        assert found.terms == ("sociaal werker",)
        assert found.excluded_by == excluded_by
        assert found.counts is (not excluded_by)

    def test_an_exclusion_alone_is_not_a_mention(self) -> None:
        found = MATCHER.match("Open dag in de werkplaats")
        assert found == Match(excluded_by=("werkplaats",))
        assert not found.counts


class TestOrganisationsAndAmbassadors:
    @pytest.mark.parametrize("text, expected", [
        ("Welzijn Noord opent een inloop", ("Welzijn Noord",)),
        ("WN Amsterdam opent een inloop", ("Welzijn Noord",)),
        ("wn-amsterdam opent een inloop", ("Welzijn Noord",)),
        ("Welzijn Noord, ook bekend als WN Amsterdam", ("Welzijn Noord",)),  # once
        ("SWW en WN Amsterdam werken samen", ("Welzijn Noord", "Súdwest Wolkom")),  # watchlist order
        ("Welzijn Noordwijk opent een inloop", ()),
        ("De SWWB opent een inloop", ()),
    ])
    def test_aliases_match_as_the_canonical_name(self, text: str, expected: tuple[str, ...]) -> None:
        assert MATCHER.match(text).organisations == expected

    def test_an_organisation_named_after_a_term_is_both(self) -> None:
        found = MATCHER.match("Stichting Buurtwerk Noord zoekt vrijwilligers")
        assert found.organisations == ("Stichting Buurtwerk Noord",)
        assert found.terms == ("buurtwerk",)

    @pytest.mark.parametrize("text, expected", [
        ("Ambassadeur Anne de Vries bezocht het buurthuis", ("Anne de Vries",)),
        ("ANNE DE VRIES bezocht het buurthuis", ("Anne de Vries",)),
        ("Anne de Vries' bezoek", ("Anne de Vries",)),
        ("Mohamed El Amrani en Anne de Vries", ("Anne de Vries", "Mohamed El Amrani")),
        ("Anne de Vriesema bezocht het buurthuis", ()),
        ("Joanne de Vries bezocht het buurthuis", ()),
        ("Anne Vries bezocht het buurthuis", ()),
    ])
    def test_ambassadors_match_as_whole_names(self, text: str, expected: tuple[str, ...]) -> None:
        assert MATCHER.match(text).ambassadors == expected

    def test_a_person_alone_is_a_mention(self) -> None:
        assert MATCHER.match("Anne de Vries opent de bibliotheek").counts


class TestResults:
    def test_terms_are_reported_as_written_once_each_in_watchlist_order(self) -> None:
        text = "Schuldhulpverlening en jongerenwerk. Ook sociaal-werkers en nog meer jongerenwerk."
        assert terms(text) == ("sociaal werker", "jongerenwerk", "schuldhulpverlening")

    def test_nothing_matched_is_not_a_mention(self) -> None:
        assert MATCHER.match("De markt is zaterdag verplaatst") == Match()
        assert not Match().counts
        assert MATCHER.match("") == Match()

    def test_a_word_on_the_list_beats_another_entrys_plural(self) -> None:
        matcher = Matcher(Watchlist(terms=("wijkteam", "wijkteams"), exclusions=()))
        assert matcher.match("Twee wijkteams").terms == ("wijkteams",)
        assert matcher.match("Het wijkteam").terms == ("wijkteam",)

    def test_the_same_term_written_twice_is_reported_once(self) -> None:
        matcher = Matcher(Watchlist(terms=("sociaal werker", "sociaal-werker"), exclusions=()))
        assert matcher.match("sociaalwerkers").terms == ("sociaal werker", "sociaal-werker")
        assert Matcher(Watchlist(terms=("buurtwerk", "buurtwerk"))).match("buurtwerk").terms == ("buurtwerk",)

    @pytest.mark.parametrize("watchlist, key", [
        (Watchlist(terms=("sociaal werk", " -- ")), "watchlist.terms"),
        (Watchlist(organisations={"Welzijn": ("?",)}), "watchlist.organisations"),
        (Watchlist(ambassadors=("",)), "watchlist.ambassadors"),
    ])
    def test_an_entry_without_letters_is_a_config_error(self, watchlist: Watchlist, key: str) -> None:
        with pytest.raises(ConfigError) as raised:
            Matcher(watchlist)
        assert raised.value.key == key


class TestDefaults:
    @pytest.mark.parametrize("text, expected", [
        ("Sociaal werkers in Zwolle slaan alarm over de werkdruk", ("sociaal werker",)),
        ("Jongerenwerkers organiseren een voetbaltoernooi", ("jongerenwerker",)),
        ("Meer geld voor schuldhulpverlening en maatschappelijk werk",
         ("maatschappelijk werk", "schuldhulpverlening")),
        ("Gemeente stopt met welzijn op recept", ("welzijn op recept",)),
        ("Cliëntondersteuners helpen inwoners", ("cliëntondersteuner",)),
        ("De werkgever zoekt een heftruckchauffeur", ()),
    ])
    def test_the_default_terms_find_social_work(self, text: str, expected: tuple[str, ...]) -> None:
        assert Matcher(Watchlist()).match(text).terms == expected

    def test_the_default_exclusions_leave_out_sheltered_employment(self) -> None:
        found = Matcher(Watchlist()).match("Sociaal werker begeleidt mensen in de sociale werkplaats")
        assert found.excluded_by == ("sociale werkplaats",)
        assert not found.counts

    def test_every_default_entry_can_match_itself(self) -> None:
        matcher = Matcher(Watchlist())
        assert all(term in matcher.match(term).terms for term in DEFAULT_TERMS)
        assert all(phrase in matcher.match(phrase).excluded_by for phrase in DEFAULT_EXCLUSIONS)


class TestFolding:
    @pytest.mark.parametrize("text, expected", [
        ("Súdwest-Fryslân", "sudwest-fryslan"),
        ("’s-Gravenhage", "'s-gravenhage"),
        ("Coöperatie", "cooperatie"),
        ("IJsselstein", "ijsselstein"),
        ("\u0133sselstein", "ijsselstein"),  # the ij ligature
    ])
    def test_fold(self, text: str, expected: str) -> None:
        assert fold(text) == expected

    def test_words_split_on_hyphens_apostrophes_and_punctuation(self) -> None:
        assert words("Sociaal-werker’s (Den Haag), a/d IJssel!") == [
            "sociaal", "werker", "s", "den", "haag", "a", "d", "ijssel"]


_TEXT = st.text(alphabet=st.sampled_from("sociaalwerkbutjngdöé -'.,\n"), max_size=60)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_case_does_not_change_a_match(text: str) -> None:
    assert MATCHER.match(text.upper()) == MATCHER.match(text)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_hyphens_and_spaces_are_interchangeable(text: str) -> None:
    assert MATCHER.match(text.replace("-", " ")) == MATCHER.match(text.replace(" ", "-"))

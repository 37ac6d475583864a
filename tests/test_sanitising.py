"""HTML from feeds is made safe before it is stored or shown (invariant 5)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sociaalwerk_publisher.feeds.sanitise import excerpt, plain_text, sanitise_html, text_and_first_image

BASE = "https://blog.example.nl/2026/11/verhaal/"


@pytest.mark.parametrize(
    "payload, forbidden",
    [
        ('<p onclick="alert(1)">x</p>', "onclick"),
        ('<p style="color:red">x</p>', "style"),
        ("<script>alert(1)</script>", "alert"),
        ('<a href="javascript:alert(1)">x</a>', "javascript"),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', "alert"),
        ('<a href="java&#x09;script:alert(1)">x</a>', "alert"),
        ('<a href="data:text/html,<script>alert(1)</script>">x</a>', "data:"),
        ('<a href="vbscript:msgbox">x</a>', "vbscript"),
        ('<img src="javascript:alert(1)">', "javascript"),
        ('<img src="x.png" onerror="alert(1)">', "onerror"),
        ('<svg onload="alert(1)"><circle/></svg>', "svg"),
        ("<math><mi>x</mi></math>", "math"),
        ('<iframe src="https://evil.example/"></iframe>', "iframe"),
        ('<form action="https://evil.example/"><input name="pw"></form>', "input"),
        ("<style>body{display:none}</style>", "display"),
        ('<object data="x.swf"></object><embed src="x.swf">', "swf"),
        ('<div><!-- <script>alert(1)</script> --></div>', "alert"),
    ],
)
def test_dangerous_markup_is_removed(payload: str, forbidden: str) -> None:
    assert forbidden not in sanitise_html(payload, BASE).lower()


def test_ordinary_markup_survives() -> None:
    html = '<p>Een <strong>sterk</strong> <em>verhaal</em></p><ul><li>één</li></ul><blockquote>citaat</blockquote>'
    assert sanitise_html(html, BASE) == html


def test_relative_urls_become_absolute_against_the_entry_link() -> None:
    html = sanitise_html('<a href="../over-ons/">team</a><img src="/img/foto.jpg" alt="">', BASE)
    assert 'href="https://blog.example.nl/2026/11/over-ons/"' in html
    assert 'src="https://blog.example.nl/img/foto.jpg"' in html


def test_links_get_rel_noopener_and_lose_target() -> None:
    assert sanitise_html('<a href="https://x.nl/" target="_blank">x</a>', BASE) == (
        '<a href="https://x.nl/" rel="noopener">x</a>'
    )


def test_mailto_links_are_kept() -> None:
    assert 'href="mailto:info@welzijn.nl"' in sanitise_html('<a href="mailto:info@welzijn.nl">mail</a>', BASE)


@pytest.mark.parametrize(
    "footer",
    [
        '<p>The post <a href="https://x.nl/a">Titel</a> appeared first on <a href="https://x.nl">Welzijn X</a>.</p>',
        '<p>Het bericht <a href="https://x.nl/a">Titel</a> verscheen eerst op <a href="https://x.nl">Welzijn X</a>.</p>',
    ],
)
def test_wordpress_appeared_first_on_footers_are_removed(footer: str) -> None:
    assert sanitise_html("<p>Het echte verhaal.</p>" + footer, BASE) == "<p>Het echte verhaal.</p>"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=list('<>/="\' apimgscrtyledhf:javx&#;1-!'), max_size=200) | st.text(max_size=200))
def test_sanitising_twice_gives_the_same_result(fragment: str) -> None:
    once = sanitise_html(fragment, BASE)
    assert sanitise_html(once, BASE) == once


def test_text_is_derived_without_markup_and_words_do_not_run_together() -> None:
    text, image = text_and_first_image('<p>Eerste alinea.</p><p>Tweede <a href="https://x.nl/">link</a>.</p><img src="https://x.nl/a.jpg">')
    assert text == "Eerste alinea. Tweede link."
    assert image == "https://x.nl/a.jpg"


def test_plain_text_strips_tags_entities_and_terminal_escapes() -> None:
    assert plain_text("Gemeente <b>Utrecht</b> &amp; \x1b[31mrood\x07") == "Gemeente Utrecht & [31mrood"


def test_excerpt_cuts_at_a_word_boundary() -> None:
    text = "woord " * 100
    cut = excerpt(text.strip(), 50)
    assert cut.endswith("…") and len(cut) <= 51 and "woor…" not in cut

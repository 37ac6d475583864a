"""Normalising: canonical URLs, identities and dates."""

from __future__ import annotations

import pytest

from sociaalwerk_publisher.feeds.normalise import canonical_url, unwrap_redirect


@pytest.mark.parametrize(
    "url, expected",
    [
        ("HTTPS://WWW.Example.NL/Pad?b=2#top", "https://www.example.nl/Pad?b=2"),
        ("https://example.nl:443/a", "https://example.nl/a"),
        ("http://example.nl:8080/a", "http://example.nl:8080/a"),
        ("https://example.nl", "https://example.nl/"),
        ("https://example.nl/a?utm_source=rss&utm_medium=feed&id=7", "https://example.nl/a?id=7"),
        ("https://example.nl/a?fbclid=x&gclid=y&mc_cid=z&mc_eid=w&p=1", "https://example.nl/a?p=1"),
        ("https://www.google.com/url?rct=j&sa=t&url=https://www.rtv.nl/nieuws/1%3Futm_source%3Dx&ct=ga",
         "https://www.rtv.nl/nieuws/1"),
        ("https://www.google.nl/url?q=https://krant.nl/a&sa=U", "https://krant.nl/a"),
        ("javascript:alert(1)", None),
        ("ftp://example.nl/a", None),
        ("https://example.nl:99999/a", None),
    ],
)
def test_canonical_url(url: str, expected: str | None) -> None:
    assert canonical_url(url) == expected


def test_google_redirect_to_a_non_http_target_is_not_unwrapped() -> None:
    url = "https://www.google.com/url?url=javascript:alert(1)"
    assert unwrap_redirect(url) == url

"""The WordPress REST adapter against real WordPress sites (hub: plain permalinks)."""

from __future__ import annotations

import html
import json
import uuid
from datetime import datetime, timezone
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sociaalwerk_publisher.adapters.base import Image, Post
from sociaalwerk_publisher.adapters.wordpress_rest import WordPressRestAdapter
from sociaalwerk_publisher.config import DestinationConfig
from sociaalwerk_publisher.exceptions import AuthenticationError, TransportError

from .images import png
from .wordpress import WordPressSite

pytestmark = pytest.mark.integration


def adapter(site: WordPressSite, password: str | None = None, user: str | None = None) -> WordPressRestAdapter:
    config = DestinationConfig(name=site.name, adapter="wordpress-rest", url=site.url,
                               username=user or site.user, password_env="SWP_TEST_PASSWORD", timeout=30)
    return WordPressRestAdapter(config, password if password is not None else site.app_password)


def post(marker: str, **changes: object) -> Post:
    values: dict[str, object] = dict(
        title="Súdwest-Fryslân: “samen” & <sterk> 👍", content_html=f"<p>Tekst &amp; meer.</p>\n<!-- {marker} -->",
        excerpt="Tekst & meer.", slug=f"samen-sterk-{marker[4:12]}", marker=marker, status="publish",
        date=datetime(2026, 11, 24, 7, 30, tzinfo=timezone.utc), categories=("Welzijn Noord", "Amsterdam"),
        tags=("zorg", "Blog Noord"),
    )
    values.update(changes)
    return Post(**values)  # type: ignore[arg-type]


@pytest.fixture(params=["hub", "member"])
def site(request: pytest.FixtureRequest, wp_sites: dict[str, WordPressSite]) -> WordPressSite:
    return wp_sites[request.param]


def test_publish_sets_title_content_terms_date_and_featured_image(site: WordPressSite) -> None:
    rest = adapter(site)
    image = Image("https://img.example.nl/buurtloket.png", "buurtloket.png", "image/png", png())
    remote = rest.publish(post("swp-r1rest0000000000001", image=image))
    assert remote.warnings == () and remote.image_id
    (stored,) = [p for p in site.posts() if str(p["id"]) == remote.id]
    assert html.unescape(stored["title"]["raw"]) == "Súdwest-Fryslân: “samen” & <sterk> 👍"
    assert "<sterk>" not in stored["title"]["rendered"]  # the title is text, not markup
    assert "swp-r1rest0000000000001" in stored["content"]["raw"]
    assert stored["status"] == "publish" and stored["date_gmt"] == "2026-11-24T07:30:00"
    assert str(stored["featured_media"]) == remote.image_id
    session = site.admin_session()
    names = {html.unescape(session.get(site.rest(f"wp/v2/categories/{i}"), timeout=30).json()["name"])
             for i in stored["categories"]}
    assert names == {"Welzijn Noord", "Amsterdam"}
    tags = {html.unescape(session.get(site.rest(f"wp/v2/tags/{i}"), timeout=30).json()["name"]) for i in stored["tags"]}
    assert tags == {"zorg", "Blog Noord"}
    rest.close()


def test_existing_terms_and_uploaded_media_are_reused(site: WordPressSite) -> None:
    rest = adapter(site)
    first = rest.publish(post("swp-r2rest0000000000002", image=Image("u", "a.png", "image/png", png())))
    second = rest.publish(post("swp-r3rest0000000000003", image_id=first.image_id, slug="ander"))
    stored = {str(p["id"]): p for p in site.posts()}
    assert stored[first.id]["categories"] == stored[second.id]["categories"]
    assert stored[second.id]["featured_media"] == stored[first.id]["featured_media"]
    rest.close()


def test_update_changes_the_post_in_place(site: WordPressSite) -> None:
    rest = adapter(site)
    remote = rest.publish(post("swp-r4rest0000000000004"))
    updated = rest.update(remote.id, post("swp-r4rest0000000000004", title="Nieuwe titel", tags=("wonen",)))
    assert updated.id == remote.id
    (stored,) = [p for p in site.posts() if str(p["id"]) == remote.id]
    assert stored["title"]["raw"] == "Nieuwe titel"
    rest.close()


def test_find_existing_finds_an_earlier_attempt_but_not_a_trashed_one(site: WordPressSite) -> None:
    rest = adapter(site)
    draft = post("swp-r5rest0000000000005", status="draft")
    assert rest.find_existing(draft) is None
    remote = rest.publish(draft)
    found = rest.find_existing(draft)
    assert found is not None and found.id == remote.id
    rest.retract(remote.id)
    assert rest.find_existing(draft) is None
    rest.close()


def test_find_existing_finds_a_marker_that_search_misses_among_the_latest_posts(httpserver: HTTPServer) -> None:
    # a site whose search a plugin replaced (one that does not index HTML comments)
    httpserver.expect_request("/", method="HEAD").respond_with_data(
        "", headers={"Link": f'<{httpserver.url_for("/wp-json/")}>; rel="https://api.w.org/"'})
    ours = {"id": 12, "link": "http://site/?p=12", "status": "draft",
            "content": {"raw": "<p>Tekst.</p>\n<!-- swp-zoek -->"}}
    theirs = {"id": 13, "link": "http://site/?p=13", "status": "publish", "content": {"raw": "<p>Anders.</p>"}}

    def posts(request: Request) -> Response:
        found = [] if "search" in request.args else [theirs, ours]
        return Response(json.dumps(found), content_type="application/json")

    httpserver.expect_request("/wp-json/wp/v2/posts", method="GET").respond_with_handler(posts)
    config = DestinationConfig(name="zoek", adapter="wordpress-rest", url=httpserver.url_for("/"),
                               username="u", password_env="X", timeout=5)
    found = WordPressRestAdapter(config, "x").find_existing(post("swp-zoek"))
    assert found is not None and (found.id, found.status) == ("12", "draft")
    listed = [r.args for r, _ in httpserver.log if r.path == "/wp-json/wp/v2/posts"][-1]
    assert (listed["orderby"], listed["order"]) == ("id", "desc")  # the latest created, whatever their date


def foreign_post(site: WordPressSite, slug: str, status: str) -> dict[str, Any]:
    """A post someone else made on the site, with ``slug``, as WordPress stored it."""
    session = site.admin_session()
    response = session.post(site.rest("wp/v2/posts"), timeout=30, json={
        "title": "Van iemand anders", "content": "<p>Niet van ons.</p>", "slug": slug,
        "status": "publish" if status == "trash" else status})
    response.raise_for_status()
    if status == "trash":
        session.delete(site.rest(f"wp/v2/posts/{response.json()['id']}"), timeout=30).raise_for_status()
    (stored,) = site.posts(include=response.json()["id"])
    return stored


@pytest.mark.parametrize("foreign_status, expected", [
    (None, "plain"), ("publish", "fallback"), ("draft", "fallback"), ("pending", "fallback"),
    ("trash", "plain"),  # WordPress sets a trashed post's slug aside (<slug>__trashed)
])
def test_a_new_post_takes_the_plain_slug_unless_another_post_has_it(
        site: WordPressSite, foreign_status: str | None, expected: str) -> None:
    token = uuid.uuid4().hex[:8]
    plain, fallback = f"samen-sterk-{token}", f"samen-sterk-{token}-abcd1234"
    foreign = foreign_post(site, plain, foreign_status) if foreign_status else None
    rest = adapter(site)
    ours = post(f"swp-{token}slug00000001", slug=plain, fallback_slug=fallback)
    assert rest.find_existing(ours) is None  # an earlier attempt is found by its marker only
    remote = rest.publish(ours)
    (stored,) = site.posts(include=remote.id)
    assert stored["slug"] == (plain if expected == "plain" else fallback)
    if foreign is not None:  # neither adopted nor changed
        assert site.posts(include=foreign["id"]) == [foreign]
    updated = rest.update(remote.id, post(ours.marker, slug=f"ander-{token}", title="Nieuwe titel"))
    (stored,) = site.posts(include=updated.id)
    assert stored["slug"] == (plain if expected == "plain" else fallback)  # an update keeps the address
    rest.close()


def test_a_slug_wordpress_reserves_gets_the_fallback_too(wp_sites: dict[str, WordPressSite]) -> None:
    rest = adapter(wp_sites["member"])
    token = uuid.uuid4().hex[:8]
    # no post has "feed", but WordPress will not give it to a post (it would shadow the feeds)
    remote = rest.publish(post(f"swp-{token}feed00000001", slug="feed", fallback_slug=f"feed-{token}"))
    (stored,) = wp_sites["member"].posts(include=remote.id)
    assert stored["slug"] == f"feed-{token}"
    assert remote.url == stored["link"] and remote.url.endswith(f"/feed-{token}/")
    rest.close()


def test_retract_trashes_delete_removes_and_gone_posts_are_fine(site: WordPressSite) -> None:
    rest = adapter(site)
    remote = rest.publish(post("swp-r6rest0000000000006"))
    rest.retract(remote.id)
    assert [p["status"] for p in site.posts() if str(p["id"]) == remote.id] == ["trash"]
    rest.retract(remote.id)  # already in the trash
    rest.retract(remote.id, delete=True)
    assert [p for p in site.posts() if str(p["id"]) == remote.id] == []
    rest.retract(remote.id, delete=True)  # already gone
    rest.close()


def test_a_wrong_password_is_an_authentication_error_that_names_the_variable(site: WordPressSite) -> None:
    rest = adapter(site, password="fout fout fout fout")
    with pytest.raises(AuthenticationError) as raised:
        rest.publish(post("swp-r7rest0000000000007"))
    message = str(raised.value)
    assert "SWP_TEST_PASSWORD" in message and "fout" not in message and site.name in message
    rest.close()


def test_an_unreachable_site_is_a_transport_error() -> None:
    config = DestinationConfig(name="weg", adapter="wordpress-rest", url="http://127.0.0.1:9",
                               username="u", password_env="X", timeout=5)
    with pytest.raises(TransportError, match="HEAD http://127.0.0.1:9/: cannot reach 127.0.0.1: connection refused"):
        WordPressRestAdapter(config, "x").publish(post("swp-r8rest0000000000008"))


def test_check_accepts_an_administrator_or_an_editor_and_reports_bad_credentials(site: WordPressSite) -> None:
    assert adapter(site).check().ok
    assert adapter(site, password=site.editor_app_password, user=site.editor_user).check().ok
    wrong = adapter(site, password="nee nee nee nee").check()
    assert not wrong.ok and "SWP_TEST_PASSWORD" in wrong.problems[0] and "Authorization header" in wrong.problems[0]


def test_the_rest_root_is_discovered_even_with_plain_permalinks(wp_sites: dict[str, WordPressSite]) -> None:
    rest = adapter(wp_sites["hub"])
    rest.check()
    assert "rest_route=" in (rest._root or "")


def test_the_original_url_is_sent_as_meta_only_to_a_site_with_the_companion_plugin(
        wp_sites: dict[str, WordPressSite]) -> None:
    original = "https://welzijn.example.nl/verhaal/origineel"
    for name, plugin in (("member", True), ("hub", False)):
        site = wp_sites[name]
        rest = adapter(site)
        assert rest.canonical_links() is plugin and rest.check().canonical_links is plugin
        marker = f"swp-r9rest{name:0>12}"
        remote = rest.publish(post(marker, source_url=original))
        # sending the unchanged value again (an update, a retry after a kill) is fine too
        rest.update(remote.id, post(marker, source_url=original, title="Bijgewerkt"))
        (stored,) = [p for p in site.posts() if str(p["id"]) == remote.id]
        assert stored["title"]["raw"] == "Bijgewerkt"
        assert stored["meta"] == ({"swp_original_url": original} if plugin else [])
        rest.close()

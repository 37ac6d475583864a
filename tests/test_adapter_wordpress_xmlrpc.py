"""The WordPress XML-RPC adapter, against the real "member" test site and a few fake servers.

Tests that talk to WordPress are marked ``integration`` and take ``wp_sites``;
the ones that only need a misbehaving server (refused port, silence, HTTP 405,
redirects) run against sockets on 127.0.0.1 and need no WordPress.
"""

from __future__ import annotations

import collections
import html
import socket
import struct
import uuid
import xmlrpc.client
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from wordpress_xmlrpc import WordPressPost, WordPressTerm

from sociaalwerk_publisher.adapters import Adapter, adapter_factory
from sociaalwerk_publisher.adapters.base import Image, Post, RemotePost
from sociaalwerk_publisher.adapters.wordpress_xmlrpc import WordPressXmlRpcAdapter, _search_word
from sociaalwerk_publisher.adapters.wordpress_xmlrpc_compat import GetPosts, GetTerms
from sociaalwerk_publisher.config import DestinationConfig
from sociaalwerk_publisher.exceptions import (
    AdapterError,
    AuthenticationError,
    RemoteRejectedError,
    TransportError,
)

from .wordpress import WordPressSite

PASSWORD_ENV = "SWP_MEMBER_XMLRPC_PASSWORD"
CET = timezone(timedelta(hours=1))


# --------------------------------------------------------------------------- helpers


def png(width: int = 4, height: int = 4) -> bytes:
    """A small, valid, red PNG."""
    rows = b"".join(b"\x00" + b"\xcc\x00\x00" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def destination(url: str, user: str = "syndicatie", **settings: Any) -> DestinationConfig:
    return DestinationConfig(name="member-xmlrpc", adapter="wordpress-xmlrpc", url=url, username=user,
                             password_env=PASSWORD_ENV, **settings)


def make_post(token: str, **changes: Any) -> Post:
    post = Post(
        title=f"Buurtzorg in de wijk {token}",
        content_html=f"<p>Een verhaal &amp; meer.</p>\n<!-- swp-{token} -->\n",
        excerpt="Een verhaal.",
        slug=f"buurtzorg-in-de-wijk-{token}",
        marker=f"swp-{token}",  # as the syndication engine makes them
        status="publish",
        date=datetime(2024, 3, 5, 14, 30, tzinfo=CET),
    )
    return replace(post, **changes)


def xmlrpc_post(site: WordPressSite, post_id: str) -> dict[str, Any]:
    """A post as WordPress's own XML-RPC answers it, custom fields included."""
    with xmlrpc.client.ServerProxy(site.xmlrpc_url) as proxy:
        return proxy.wp.getPost(0, site.user, site.app_password, int(post_id))  # type: ignore[no-any-return]


def rest_post(site: WordPressSite, post_id: str) -> dict[str, Any] | None:
    found = site.posts(include=post_id)
    return found[0] if found else None


def term_names(site: WordPressSite, taxonomy: str, ids: list[int]) -> list[str]:
    if not ids:
        return []
    response = site.admin_session().get(site.rest(f"wp/v2/{taxonomy}"),
                                        params={"include": ",".join(map(str, ids)), "per_page": 100}, timeout=30)
    response.raise_for_status()
    return sorted(t["name"] for t in response.json())


def terms_named(site: WordPressSite, taxonomy: str, text: str) -> list[dict[str, Any]]:
    response = site.admin_session().get(site.rest(f"wp/v2/{taxonomy}"),
                                        params={"search": text, "per_page": 100, "hide_empty": "false"}, timeout=30)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


class Cleanup:
    """Removes what a test created on the site: posts, media, terms and users."""

    def __init__(self, site: WordPressSite) -> None:
        self.site = site
        self.token = uuid.uuid4().hex[:10]
        self.posts: list[str] = []
        self.media: set[str] = set()
        self.users: list[int] = []

    def track(self, remote: RemotePost) -> RemotePost:
        self.posts.append(remote.id)
        if remote.image_id:
            self.media.add(remote.image_id)
        return remote

    def run(self) -> None:
        session = self.site.admin_session()
        routes = [f"wp/v2/posts/{i}" for i in self.posts] + [f"wp/v2/media/{i}" for i in self.media]
        for taxonomy in ("categories", "tags"):
            routes += [f"wp/v2/{taxonomy}/{t['id']}" for t in terms_named(self.site, taxonomy, self.token)]
        for route in routes:
            session.delete(self.site.rest(route), params={"force": "true"}, timeout=30)
        if self.users:
            me = session.get(self.site.rest("wp/v2/users/me"), timeout=30).json()["id"]
            for user_id in self.users:
                session.delete(self.site.rest(f"wp/v2/users/{user_id}"),
                               params={"force": "true", "reassign": me}, timeout=30)

    def user(self, role: str) -> tuple[str, str]:
        """A new user with ``role`` and an application password: (login, password)."""
        session = self.site.admin_session()
        login = f"swp-{role}-{self.token}"
        response = session.post(self.site.rest("wp/v2/users"), timeout=30, json={
            "username": login, "email": f"{login}@example.org", "password": uuid.uuid4().hex, "roles": [role]})
        response.raise_for_status()
        user_id = response.json()["id"]
        self.users.append(user_id)
        response = session.post(self.site.rest(f"wp/v2/users/{user_id}/application-passwords"),
                                json={"name": "swp-test"}, timeout=30)
        response.raise_for_status()
        return login, response.json()["password"]


@pytest.fixture
def site(wp_sites: dict[str, WordPressSite]) -> WordPressSite:
    return wp_sites["member"]


@pytest.fixture
def cleanup(site: WordPressSite) -> Iterator[Cleanup]:
    c = Cleanup(site)
    yield c
    c.run()


@pytest.fixture
def adapter(site: WordPressSite) -> Iterator[WordPressXmlRpcAdapter]:
    with WordPressXmlRpcAdapter(destination(site.url, site.user), site.app_password, Path(".")) as a:
        yield a


def fresh(site: WordPressSite) -> WordPressXmlRpcAdapter:
    """A second adapter, as a later run would have: nothing cached."""
    return WordPressXmlRpcAdapter(destination(site.url, site.user), site.app_password, Path("."))


# --------------------------------------------------------------------------- publishing


@pytest.mark.integration
def test_publish_creates_the_post_with_terms_featured_image_date_and_marker_fields(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup) -> None:
    t = cleanup.token
    post = make_post(t, categories=(f"Zorg {t}", f"Armoede & schulden {t}"), tags=(f"mantelzorg-{t}",),
                     image=Image(f"https://example.org/{t}.png", "foto.png", "image/png", png()),
                     source_url=f"https://welzijn.example.nl/{t}")
    remote = cleanup.track(adapter.publish(post))

    assert remote.warnings == ()
    assert remote.status == "publish"
    assert remote.url == f"{site.url}/{post.slug}/"
    stored = rest_post(site, remote.id)
    assert stored is not None
    assert stored["title"]["raw"] == post.title
    # WordPress's XML-RPC parser trims every string; the HTML is otherwise as given
    assert stored["content"]["raw"] == post.content_html.strip()
    assert stored["excerpt"]["raw"] == post.excerpt
    assert (stored["status"], stored["slug"]) == ("publish", post.slug)
    assert stored["date_gmt"] == "2024-03-05T13:30:00"  # 14:30 at UTC+1
    assert term_names(site, "categories", stored["categories"]) == sorted(
        [f"Armoede &amp; schulden {t}", f"Zorg {t}"])  # the REST API shows names HTML-escaped
    assert term_names(site, "tags", stored["tags"]) == [f"mantelzorg-{t}"]
    assert remote.image_id and stored["featured_media"] == int(remote.image_id)
    fields = {f["key"]: f["value"] for f in xmlrpc_post(site, remote.id)["custom_fields"]}
    assert fields["swp_marker"] == post.marker
    assert fields["swp_original_url"] == post.source_url


@pytest.mark.integration
def test_terms_are_matched_by_name_so_later_posts_reuse_them_instead_of_duplicating(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup) -> None:
    t = cleanup.token
    first = cleanup.track(adapter.publish(make_post(t, categories=(f"Armoede & schulden {t}",),
                                                    tags=(f"jeugd {t}",))))
    with fresh(site) as later:  # another run: nothing cached; other case and spacing
        second = cleanup.track(later.publish(make_post(f"{t}-2", categories=(f"armoede  &  Schulden {t}",),
                                                       tags=(f"Jeugd {t}",))))

    assert second.warnings == ()
    assert len(terms_named(site, "categories", t)) == 1
    assert len(terms_named(site, "tags", t)) == 1
    assert rest_post(site, first.id)["categories"] == rest_post(site, second.id)["categories"]  # type: ignore[index]


@pytest.mark.integration
def test_an_image_is_uploaded_once_per_adapter_and_shared_by_posts_that_use_it(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup) -> None:
    t = cleanup.token
    image = Image(f"https://example.org/{t}.png", "foto.png", "image/png", png())
    first = cleanup.track(adapter.publish(make_post(t, image=image)))
    second = cleanup.track(adapter.publish(make_post(f"{t}-2", image=image)))

    assert first.image_id is not None and first.image_id == second.image_id
    assert rest_post(site, second.id)["featured_media"] == int(first.image_id)  # type: ignore[index]


@pytest.mark.integration
def test_an_image_wordpress_refuses_becomes_a_warning_and_the_post_is_still_published(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup) -> None:
    t = cleanup.token
    refused = Image(f"https://example.org/{t}.exe", "setup.exe", "application/x-msdownload", b"MZ\x90\x00")
    remote = cleanup.track(adapter.publish(make_post(t, image=refused)))

    assert remote.image_id is None
    assert any("featured image" in w and refused.url in w for w in remote.warnings)
    assert rest_post(site, remote.id)["status"] == "publish"  # type: ignore[index]


@pytest.mark.integration
def test_plain_text_titles_round_trip_unicode_and_markup_characters_exactly_and_html_as_given(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup) -> None:
    t = cleanup.token
    title = f"Súdwest-Fryslân “quote” 👍 & <Zorg> 'enkel' \"dubbel\" a\\b &amp; {t}"
    content = f'<p title="a &quot;b&quot;">Fryslân &amp; co &lt;3 👍 “x”</p><!-- swp-{t} -->'
    post = make_post(t, title=title, content_html=content, excerpt="Ljouwert & <Snits> 👍")
    remote = cleanup.track(adapter.publish(post))

    stored = rest_post(site, remote.id)
    assert stored is not None
    # WordPress treats titles as HTML: the plain text is stored escaped, so it shows as typed
    assert stored["title"]["raw"] == html.escape(title, quote=False)
    assert html.unescape(stored["title"]["raw"]) == title
    assert "<Zorg>" not in stored["title"]["rendered"]
    assert html.unescape(stored["excerpt"]["raw"]) == post.excerpt
    assert stored["content"]["raw"] == content
    assert html.unescape(xmlrpc_post(site, remote.id)["post_title"]) == title


@pytest.mark.integration
def test_characters_xml_cannot_carry_are_dropped_instead_of_failing_the_post(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup) -> None:
    t = cleanup.token
    remote = cleanup.track(adapter.publish(make_post(t, title=f"Zorg\x0b en\x00 welzijn {t}")))
    assert rest_post(site, remote.id)["title"]["raw"] == f"Zorg en welzijn {t}"  # type: ignore[index]


@pytest.mark.integration
def test_an_image_uploaded_earlier_is_reused_by_its_media_id(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup) -> None:
    t = cleanup.token
    first = cleanup.track(adapter.publish(make_post(t, image=Image(f"https://example.org/{t}.png", "foto.png",
                                                                   "image/png", png()))))
    with fresh(site) as later:  # a later run remembers the media id instead of the bytes
        second = cleanup.track(later.publish(make_post(f"{t}-2", image_id=first.image_id)))
    assert (second.image_id, second.warnings) == (first.image_id, ())
    assert rest_post(site, second.id)["featured_media"] == int(first.image_id)  # type: ignore[arg-type,index]


@pytest.mark.integration
def test_a_reused_media_id_that_is_gone_leaves_the_image_out_with_a_warning(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup) -> None:
    t = cleanup.token
    remote = cleanup.track(adapter.publish(make_post(t, image_id="999999")))
    assert remote.image_id is None
    assert [w for w in remote.warnings if "media 999999" in w]
    stored = rest_post(site, remote.id)
    assert (stored["status"], stored["featured_media"]) == ("publish", 0)  # type: ignore[index]
    updated = adapter.update(remote.id, make_post(t, image_id="999999"))
    assert updated.image_id is None and [w for w in updated.warnings if "media 999999" in w]


@pytest.mark.integration
def test_a_draft_is_published_as_a_draft_with_its_slug(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup) -> None:
    remote = cleanup.track(adapter.publish(make_post(cleanup.token, status="draft")))
    stored = rest_post(site, remote.id)
    assert remote.status == "draft"
    assert (stored["status"], stored["slug"]) == ("draft", make_post(cleanup.token).slug)  # type: ignore[index]


@pytest.mark.integration
@pytest.mark.parametrize("foreign_status", ["publish", "draft"])
def test_a_new_post_gets_the_fallback_slug_when_another_post_has_the_plain_one(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup, foreign_status: str) -> None:
    t = cleanup.token
    plain = f"buurtzorg-in-de-wijk-{t}"
    response = site.admin_session().post(site.rest("wp/v2/posts"), timeout=30, json={
        "title": "Van iemand anders", "content": "<p>Niet van ons.</p>", "slug": plain, "status": foreign_status})
    response.raise_for_status()
    foreign = response.json()
    cleanup.posts.append(str(foreign["id"]))

    post = make_post(t, fallback_slug=f"{plain}-abcd1234")
    remote = cleanup.track(adapter.publish(post))

    stored = rest_post(site, remote.id)
    assert stored is not None and stored["slug"] == f"{plain}-abcd1234"
    assert remote.url == f"{site.url}/{plain}-abcd1234/"
    untouched = rest_post(site, str(foreign["id"]))
    assert untouched is not None
    assert (untouched["slug"], untouched["status"], untouched["content"]["raw"], untouched["modified_gmt"]) == (
        plain, foreign_status, "<p>Niet van ons.</p>", foreign["modified_gmt"])


# --------------------------------------------------------------------------- updating


@pytest.mark.integration
def test_update_keeps_the_slug_the_post_has(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup) -> None:
    t = cleanup.token
    remote = cleanup.track(adapter.publish(make_post(t)))
    adapter.update(remote.id, make_post(t, title=f"Nieuwe titel {t}", slug=f"nieuwe-titel-{t}"))
    stored = rest_post(site, remote.id)
    assert stored is not None and (stored["title"]["raw"], stored["slug"]) == (
        f"Nieuwe titel {t}", f"buurtzorg-in-de-wijk-{t}")


@pytest.mark.integration
def test_update_replaces_title_content_terms_and_image_and_keeps_one_marker_field(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup) -> None:
    t = cleanup.token
    original = make_post(t, tags=(f"oud {t}",), source_url="https://example.org/bron",
                         image=Image(f"https://example.org/{t}.png", "foto.png", "image/png", png()))
    remote = cleanup.track(adapter.publish(original))
    changed = replace(original, title=f"Nieuwe titel {t}", content_html=f"<p>Nieuw.</p><!-- swp-{t} -->",
                      tags=(f"nieuw {t}",), image=None, source_url=None)

    with fresh(site) as later:
        updated = later.update(remote.id, changed)

    assert (updated.id, updated.warnings, updated.image_id) == (remote.id, (), None)
    stored = rest_post(site, remote.id)
    assert stored is not None
    assert (stored["title"]["raw"], stored["content"]["raw"]) == (changed.title, changed.content_html)
    assert term_names(site, "tags", stored["tags"]) == [f"nieuw {t}"]
    assert stored["featured_media"] == 0
    fields = [(f["key"], f["value"]) for f in xmlrpc_post(site, remote.id)["custom_fields"]]
    assert [f for f in fields if f[0].startswith("swp_")] == [("swp_marker", original.marker)]


@pytest.mark.integration
def test_update_of_a_post_that_no_longer_exists_is_rejected(adapter: WordPressXmlRpcAdapter) -> None:
    with pytest.raises(RemoteRejectedError) as raised:
        adapter.update("999999", make_post("gone"))
    assert raised.value.status == 404
    assert raised.value.destination == "member-xmlrpc"


# --------------------------------------------------------------------------- retracting


@pytest.mark.integration
def test_retract_moves_the_post_to_the_trash_and_retracting_again_leaves_it_there(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup) -> None:
    remote = cleanup.track(adapter.publish(make_post(cleanup.token)))
    adapter.retract(remote.id)
    assert rest_post(site, remote.id)["status"] == "trash"  # type: ignore[index]
    adapter.retract(remote.id)  # wp.deletePost on a trashed post would delete it for good
    assert rest_post(site, remote.id)["status"] == "trash"  # type: ignore[index]


@pytest.mark.integration
@pytest.mark.parametrize("trashed_first", [False, True])
def test_retract_with_delete_removes_the_post_for_good(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup, trashed_first: bool) -> None:
    remote = cleanup.track(adapter.publish(make_post(cleanup.token)))
    if trashed_first:
        adapter.retract(remote.id)
    adapter.retract(remote.id, delete=True)
    assert rest_post(site, remote.id) is None


@pytest.mark.integration
def test_retracting_a_post_that_is_already_gone_is_not_an_error(adapter: WordPressXmlRpcAdapter) -> None:
    adapter.retract("999999")
    adapter.retract("999999", delete=True)


# --------------------------------------------------------------------------- finding earlier attempts


@pytest.mark.integration
def test_find_existing_finds_an_earlier_attempt_by_its_marker(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup) -> None:
    t = cleanup.token
    post = make_post(t, status="draft")
    remote = cleanup.track(adapter.publish(post))
    cleanup.track(adapter.publish(make_post(f"{t}-other")))

    with fresh(site) as later:
        found = later.find_existing(post)
        missing = later.find_existing(make_post(f"{t}-never"))

    assert found is not None
    assert (found.id, found.status, found.url) == (remote.id, "draft", remote.url)
    assert missing is None


@pytest.mark.integration
def test_find_existing_never_adopts_a_post_by_its_slug_alone(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup) -> None:
    t = cleanup.token
    cleanup.track(adapter.publish(make_post(t)))
    # the same plain slug, another marker: another story's post, or someone else's
    assert adapter.find_existing(make_post(t, marker=f"swp-{t}-v2")) is None


@pytest.mark.integration
def test_find_existing_ignores_trashed_posts(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup) -> None:
    post = make_post(cleanup.token)
    remote = cleanup.track(adapter.publish(post))
    adapter.retract(remote.id)
    assert adapter.find_existing(post) is None


# --------------------------------------------------------------------------- python-wordpress-xmlrpc on Python >= 3.10


def test_list_results_are_converted_without_collections_iterable() -> None:
    # python-wordpress-xmlrpc 2.3 checks `collections.Iterable`, gone since Python 3.10
    result = GetPosts().process_result([{"post_id": "1", "post_title": "Een"}, {"post_id": "2"}])
    assert [(type(p), p.id) for p in result] == [(WordPressPost, "1"), (WordPressPost, "2")]
    assert GetPosts().process_result([]) == []


def test_a_marker_in_an_html_comment_is_searched_for_by_its_word_not_the_comment_dashes() -> None:
    # WordPress search reads a word starting with "-" as "without": "-->" would exclude the post
    assert _search_word("<!-- swp:12ab -->") == "swp:12ab"
    assert _search_word("swp-0123456789abcdef0123") == "swp-0123456789abcdef0123"


def test_the_adapter_does_not_patch_the_collections_module() -> None:
    assert not hasattr(collections, "Iterable")


@pytest.mark.integration
def test_calls_returning_lists_work_against_wordpress_on_this_python(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup) -> None:
    remote = cleanup.track(adapter.publish(make_post(cleanup.token, categories=(f"Wonen {cleanup.token}",))))
    client = adapter._client
    found = client.call(GetPosts({"post_type": "post", "number": 100}))
    terms = client.call(GetTerms("category"))
    assert remote.id in [p.id for p in found] and all(isinstance(p, WordPressPost) for p in found)
    assert f"Wonen {cleanup.token}" in [t.name for t in terms]
    assert all(isinstance(t, WordPressTerm) for t in terms)


# --------------------------------------------------------------------------- rights and errors


@pytest.mark.integration
def test_the_adapter_is_registered_and_satisfies_the_protocol(site: WordPressSite) -> None:
    factory = adapter_factory("wordpress-xmlrpc")
    with factory(destination(site.url), site.app_password, Path(".")) as made:
        assert isinstance(made, Adapter)
        assert made.name == "member-xmlrpc"


@pytest.mark.integration
@pytest.mark.parametrize("who", ["administrator", "editor"])
def test_check_finds_no_problems_for_an_administrator_or_editor(site: WordPressSite, who: str) -> None:
    user, password = (site.user, site.app_password) if who == "administrator" else \
        (site.editor_user, site.editor_app_password)
    with WordPressXmlRpcAdapter(destination(site.url, user), password, Path(".")) as checker:
        result = checker.check()
    assert result.ok, result.problems
    assert result.user == user
    assert any(who in d for d in result.details)


@pytest.mark.integration
def test_check_reports_that_an_author_cannot_create_terms(site: WordPressSite, cleanup: Cleanup) -> None:
    user, password = cleanup.user("author")
    with WordPressXmlRpcAdapter(destination(site.url, user), password, Path(".")) as checker:
        result = checker.check()
    assert not result.ok
    assert [p for p in result.problems if "categories or tags" in p]
    assert not [p for p in result.problems if "publish" in p or "upload" in p]


@pytest.mark.integration
def test_check_reports_that_a_contributor_cannot_publish_or_upload(site: WordPressSite, cleanup: Cleanup) -> None:
    user, password = cleanup.user("contributor")
    with WordPressXmlRpcAdapter(destination(site.url, user), password, Path(".")) as checker:
        result = checker.check()
    assert [p for p in result.problems if "may not publish" in p]
    assert [p for p in result.problems if "may not upload" in p]
    with WordPressXmlRpcAdapter(destination(site.url, user, status="pending"), password, Path(".")) as checker:
        pending = checker.check()
    assert not [p for p in pending.problems if "publish" in p]  # submitting for review is all it needs


@pytest.mark.integration
def test_check_reports_refused_credentials_as_a_problem(site: WordPressSite) -> None:
    with WordPressXmlRpcAdapter(destination(site.url), "wrong-password-1234", Path(".")) as checker:
        result = checker.check()
    assert result.user is None
    assert len(result.problems) == 1 and PASSWORD_ENV in result.problems[0]
    assert "wrong-password-1234" not in repr(result)


@pytest.mark.integration
def test_a_wrong_application_password_raises_authentication_error_naming_user_and_variable_only(
        site: WordPressSite) -> None:
    secret = "abcd EFGH ijkl MNOP qrst UVWX"
    with WordPressXmlRpcAdapter(destination(site.url), secret, Path(".")) as wrong:
        with pytest.raises(AuthenticationError) as raised:
            wrong.publish(make_post("never"))
    message = str(raised.value)
    assert "syndicatie" in message and PASSWORD_ENV in message and "application password" in message
    assert secret not in message and secret not in str(raised.value.__cause__)
    assert raised.value.destination == "member-xmlrpc"


@pytest.mark.integration
def test_an_author_publishing_a_new_category_gets_the_post_with_a_warning(
        site: WordPressSite, cleanup: Cleanup) -> None:
    user, password = cleanup.user("author")
    t = cleanup.token
    with WordPressXmlRpcAdapter(destination(site.url, user), password, Path(".")) as author:
        remote = cleanup.track(author.publish(make_post(t, categories=(f"Nieuw {t}",))))
    assert [w for w in remote.warnings if f"Nieuw {t}" in w]
    assert rest_post(site, remote.id)["status"] == "publish"  # type: ignore[index]


def test_a_missing_application_password_is_reported_without_a_network_call() -> None:
    with WordPressXmlRpcAdapter(destination("http://127.0.0.1:9"), None, Path(".")) as adapter:
        with pytest.raises(AuthenticationError, match=PASSWORD_ENV):
            adapter.publish(make_post("x"))


def test_building_the_adapter_makes_no_network_call_and_an_unreachable_site_is_a_transport_error() -> None:
    with WordPressXmlRpcAdapter(destination("http://127.0.0.1:9"), "secret", Path(".")) as adapter:
        for call in (lambda: adapter.publish(make_post("x")), lambda: adapter.update("1", make_post("x")),
                     lambda: adapter.find_existing(make_post("x")), lambda: adapter.retract("1")):
            with pytest.raises(TransportError) as raised:
                call()
            assert raised.value.destination == "member-xmlrpc"
        result = adapter.check()  # reported, so checking the other destinations goes on
    assert not result.ok and result.problems[0] == "could not log in: cannot reach 127.0.0.1: connection refused"


def test_a_site_that_does_not_answer_in_time_is_a_transport_error() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with WordPressXmlRpcAdapter(destination(url, timeout=0.5), "secret", Path(".")) as adapter:
            with pytest.raises(TransportError, match="answer from 127.0.0.1 within 0.5 s"):
                adapter.publish(make_post("x"))


def fault(code: int, message: str) -> str:
    return xmlrpc.client.dumps(xmlrpc.client.Fault(code, message), methodresponse=True)


def test_http_405_says_xmlrpc_is_disabled_and_what_to_do(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/xmlrpc.php").respond_with_data("Method Not Allowed", status=405)
    url = httpserver.url_for("/").rstrip("/")
    with WordPressXmlRpcAdapter(destination(url), "secret", Path(".")) as adapter:
        with pytest.raises(AdapterError) as raised:
            adapter.publish(make_post("x"))
    assert f"XML-RPC is disabled on {url}: enable it or use the wordpress-rest adapter" in str(raised.value)


def test_fault_405_says_xmlrpc_is_disabled_and_what_to_do(httpserver: HTTPServer) -> None:
    # what WordPress answers (with HTTP 200) when the xmlrpc_enabled filter is false
    httpserver.expect_request("/xmlrpc.php").respond_with_data(
        fault(405, "XML-RPC services are disabled on this site."), content_type="text/xml")
    url = httpserver.url_for("/").rstrip("/")
    with WordPressXmlRpcAdapter(destination(url), "secret", Path(".")) as adapter:
        with pytest.raises(AuthenticationError) as raised:
            adapter.find_existing(make_post("x"))
        result = adapter.check()
    message = f"XML-RPC is disabled on {url}: enable it or use the wordpress-rest adapter"
    assert message in str(raised.value)
    assert not result.ok and message in result.problems[0]


def test_a_fault_for_missing_rights_is_an_authentication_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/xmlrpc.php").respond_with_data(
        fault(401, "Sorry, you are not allowed to publish posts in this post type."), content_type="text/xml")
    with WordPressXmlRpcAdapter(destination(httpserver.url_for("/")), "secret", Path(".")) as adapter:
        with pytest.raises(AuthenticationError, match="not allowed to publish"):
            adapter.publish(make_post("x"))


def test_a_redirect_is_not_followed_and_the_error_names_the_new_location(httpserver: HTTPServer) -> None:
    moved = "https://nieuw.example.org/xmlrpc.php"
    httpserver.expect_request("/xmlrpc.php").respond_with_data("", status=301, headers={"Location": moved})
    with WordPressXmlRpcAdapter(destination(httpserver.url_for("/")), "secret", Path(".")) as adapter:
        with pytest.raises(TransportError) as raised:
            adapter.publish(make_post("x"))
    assert moved in str(raised.value) and "301" in str(raised.value)
    assert {request.path for request, _ in httpserver.log} == {"/xmlrpc.php"}
    assert "secret" not in str(raised.value)


@pytest.mark.parametrize("status, body", [(500, "Internal Server Error"), (503, "busy"),
                                          (200, "<html><body>Welkom</body></html>")])
def test_server_errors_and_answers_that_are_not_xmlrpc_are_transport_errors(
        httpserver: HTTPServer, status: int, body: str) -> None:
    httpserver.expect_request("/xmlrpc.php").respond_with_data(body, status=status)
    with WordPressXmlRpcAdapter(destination(httpserver.url_for("/")), "secret", Path(".")) as adapter:
        with pytest.raises(TransportError):
            adapter.publish(make_post("x"))
        assert not adapter.check().ok


def test_other_faults_reject_the_post_with_the_fault_code(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/xmlrpc.php").respond_with_data(fault(500, "Database error"), content_type="text/xml")
    with WordPressXmlRpcAdapter(destination(httpserver.url_for("/")), "secret", Path(".")) as adapter:
        with pytest.raises(RemoteRejectedError) as raised:
            adapter.publish(make_post("x"))
    assert raised.value.status == 500 and "Database error" in str(raised.value)


@pytest.mark.integration
def test_check_says_whether_the_companion_plugin_is_installed(wp_sites: dict[str, WordPressSite]) -> None:
    found = {}
    for name, site in wp_sites.items():
        with WordPressXmlRpcAdapter(destination(site.url, site.user), site.app_password, Path(".")) as checker:
            found[name] = checker.check().canonical_links
    assert found == {"hub": False, "member": True}  # the harness installs it on the member site only


@pytest.mark.integration
def test_a_retry_after_a_kill_rewrites_the_same_original_url_without_duplicating_the_field(
        site: WordPressSite, adapter: WordPressXmlRpcAdapter, cleanup: Cleanup) -> None:
    t = cleanup.token
    post = make_post(t, source_url=f"https://welzijn.example.nl/{t}")
    remote = cleanup.track(adapter.publish(post))
    with fresh(site) as later:  # a later run knows no field ids: it reads them from the post
        later.update(remote.id, post)
        later.update(remote.id, post)
    fields = [(f["key"], f["value"]) for f in xmlrpc_post(site, remote.id)["custom_fields"]]
    assert [f for f in fields if f[0] == "swp_original_url"] == [("swp_original_url", post.source_url)]
    stored = rest_post(site, remote.id)
    assert stored is not None and stored["meta"] == {"swp_original_url": post.source_url}

"""Managing sources: add with autodiscovery, list, update, remove, OPML in and out."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from sociaalwerk_publisher import Publisher, SourceError, SourceKind, SourceNotFoundError, SourceUpdate, UsageError

from .conftest import FIXTURES, feed_bytes

RSS = {"Content-Type": "application/rss+xml"}


def test_adding_an_html_page_adds_the_feed_it_links_to(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(feed_bytes("homepage.html"), content_type="text/html")
    source = publisher.add_source(httpserver.url_for("/"), organisation="Welzijn Oost")
    assert source.url == httpserver.url_for("/feed/")  # the site feed, not the comments feed
    assert source.organisation == "Welzijn Oost"


def test_a_feed_link_urllib_cannot_parse_is_passed_over(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(
        '<html><head><link rel="alternate" type="application/rss+xml" href="http://[::1/feed">'
        '<link rel="alternate" type="application/rss+xml" href="/feed/"></head></html>', content_type="text/html")
    assert publisher.add_source(httpserver.url_for("/")).url == httpserver.url_for("/feed/")


def test_adding_a_page_without_a_feed_link_says_so(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("<html><head></head><body>hoi</body></html>", content_type="text/html")
    with pytest.raises(SourceError, match="no feed found"):
        publisher.add_source(httpserver.url_for("/"))
    assert publisher.list_sources() == []


def test_adding_a_feed_url_keeps_it(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(feed_bytes("rss20.xml"), headers=RSS)
    assert publisher.add_source(httpserver.url_for("/feed")).url == httpserver.url_for("/feed")


def test_a_source_cannot_be_added_twice(publisher: Publisher) -> None:
    publisher.add_source("https://a.example.nl/feed", discover=False)
    with pytest.raises(UsageError, match="already has this URL"):
        publisher.add_source("https://a.example.nl/feed", discover=False)


def test_municipality_is_stored_as_cbs_code_from_code_or_name(publisher: Publisher) -> None:
    a = publisher.add_source("https://a.example.nl/feed", municipality="Den Haag", discover=False)
    b = publisher.add_source("https://b.example.nl/feed", municipality="gm0363", discover=False)
    assert (a.municipality, b.municipality) == ("GM0518", "GM0363")
    with pytest.raises(UsageError, match="unknown municipality"):
        publisher.add_source("https://c.example.nl/feed", municipality="Atlantis", discover=False)


def test_unknown_kind_is_refused(publisher: Publisher) -> None:
    with pytest.raises(UsageError, match="unknown kind"):
        publisher.add_source("https://a.example.nl/feed", "podcast", discover=False)


def test_update_changes_only_the_given_fields_and_reactivation_clears_failures(publisher: Publisher) -> None:
    source = publisher.add_source("https://a.example.nl/feed", title="A", organisation="Org", discover=False)
    updated = publisher.update_source(source.id, SourceUpdate(kind=SourceKind.MEDIA, trusted=True))
    assert (updated.kind, updated.trusted, updated.title, updated.organisation) == (SourceKind.MEDIA, True, "A", "Org")
    publisher.update_source(source.id, SourceUpdate(active=False))
    assert not publisher.get_source(source.id).active
    assert publisher.update_source(source.id, SourceUpdate(active=True)).active


def test_remove_and_missing_ids(publisher: Publisher) -> None:
    source = publisher.add_source("https://a.example.nl/feed", discover=False)
    publisher.remove_source(source.id)
    with pytest.raises(SourceNotFoundError) as missing:
        publisher.get_source(source.id)
    assert missing.value.source_id == source.id
    with pytest.raises(SourceNotFoundError, match=f"no source with id {source.id}$"):
        publisher.remove_source(source.id)


def test_opml_import_sets_kind_and_fields_and_is_repeatable(publisher: Publisher, tmp_path: Path) -> None:
    opml = tmp_path / "bronnen.opml"
    opml.write_text("""<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>
      <outline text="Blogs"><outline type="rss" text="Blog A" xmlUrl="https://a.example.nl/feed" category="blog"
        organisation="Welzijn A" municipality="GM0363" ambassador="An" trusted="true"/></outline>
      <outline type="rss" text="Krant" xmlUrl="https://krant.example.nl/rss" category="media"/>
      <outline type="rss" text="Alert" xmlUrl="https://www.google.com/alerts/feeds/1/2" category="/Media/alert"/>
      <outline type="rss" text="Lokaal" xmlUrl="feeds/lokaal.xml"/>
    </body></opml>""", encoding="utf-8")
    result = publisher.import_opml(opml)
    assert len(result.added) == 4
    by_title = {s.title: s for s in publisher.list_sources()}
    blog = by_title["Blog A"]
    assert (blog.kind, blog.organisation, blog.municipality, blog.ambassador, blog.trusted) == (
        SourceKind.BLOG, "Welzijn A", "GM0363", "An", True)
    assert by_title["Krant"].kind is SourceKind.MEDIA
    assert by_title["Alert"].kind is SourceKind.ALERT
    assert by_title["Lokaal"].url == (tmp_path / "feeds" / "lokaal.xml").as_uri()
    again = publisher.import_opml(opml)
    assert (again.added, again.updated) == ((), ())


def test_opml_export_round_trips(publisher: Publisher, tmp_path: Path) -> None:
    publisher.add_source("https://a.example.nl/feed", SourceKind.ALERT, title="A & B", organisation="Org",
                         municipality="GM0193", ambassador="Joris", trusted=True, discover=False)
    exported = tmp_path / "export.opml"
    exported.write_bytes(publisher.export_opml())
    publisher.remove_source(publisher.list_sources()[0].id)
    publisher.import_opml(exported)
    (source,) = publisher.list_sources()
    assert (source.url, source.kind, source.title, source.organisation, source.municipality,
            source.ambassador, source.trusted) == (
        "https://a.example.nl/feed", SourceKind.ALERT, "A & B", "Org", "GM0193", "Joris", True)


def test_an_inactive_source_stays_inactive_through_an_opml_round_trip(publisher: Publisher, tmp_path: Path) -> None:
    off = publisher.add_source("https://uit.example.nl/feed", discover=False)
    on = publisher.add_source("https://aan.example.nl/feed", discover=False)
    publisher.update_source(off.id, SourceUpdate(active=False))
    exported = tmp_path / "export.opml"
    exported.write_bytes(publisher.export_opml())
    for source in (off, on):
        publisher.remove_source(source.id)
    publisher.import_opml(exported)
    assert {s.url: s.active for s in publisher.list_sources()} == {off.url: False, on.url: True}
    (imported,) = [s for s in publisher.list_sources() if s.url == off.url]
    publisher.update_source(imported.id, SourceUpdate(active=True))
    again = publisher.import_opml(exported)  # the file still says inactive: switched off again
    assert [s.url for s in again.updated] == [off.url] and publisher.get_source(imported.id).active is False
    silent = tmp_path / "bronnen.opml"  # as a run imports [sources] opml: every time, saying nothing
    silent.write_text(f"""<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>
      <outline type="rss" text="Uit" xmlUrl="{off.url}"/></body></opml>""", encoding="utf-8")
    publisher.import_opml(silent)
    assert publisher.get_source(imported.id).active is False


def test_not_opml_is_refused_as_a_usage_error_naming_the_file(publisher: Publisher) -> None:
    with pytest.raises(UsageError) as refused:
        publisher.import_opml(FIXTURES / "feeds" / "homepage.html")
    assert str(refused.value) == f"{FIXTURES / 'feeds' / 'homepage.html'}: not an OPML file"

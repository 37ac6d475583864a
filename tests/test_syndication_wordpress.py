"""End to end against the real WordPress sites: review, syndicate, update, retract, crash."""

from __future__ import annotations

import html
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from lxml import html as lxml_html
from pytest_httpserver import HTTPServer

from sociaalwerk_publisher import Publisher, make_publisher
from sociaalwerk_publisher.composition import marker_for
from sociaalwerk_publisher.types import Source, Story, SyndicationAction

from .images import png
from .stories import refetch, seed
from .wordpress import WordPressSite

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parent.parent


def write_config(tmp_path: Path, hub: WordPressSite, member: WordPressSite, member_adapter: str = "wordpress-rest") -> Path:
    config = tmp_path / "sociaalwerk-publisher.toml"
    config.write_text(f"""
[fetch]
parse_processes = 1

[security]
allow_private_networks = true   # the test images are served on 127.0.0.1

[[destinations]]
name = "landelijk"
adapter = "wordpress-rest"
url = "{hub.url}"
username = "{hub.user}"
password_env = "SWP_TEST_HUB_PASSWORD"
status = "publish"
[destinations.terms]
categories = ["Lokale verhalen"]

[[destinations]]
name = "amsterdam"
adapter = "{member_adapter}"
url = "{member.url}"
username = "{member.user}"
password_env = "SWP_TEST_MEMBER_PASSWORD"
status = "publish"
[destinations.filter]
municipalities = ["GM0363"]
""", encoding="utf-8")
    return config


@pytest.fixture
def sites(wp_sites: dict[str, WordPressSite], monkeypatch: pytest.MonkeyPatch) -> dict[str, WordPressSite]:
    for site in wp_sites.values():
        site.delete_all_posts()
    monkeypatch.setenv("SWP_TEST_HUB_PASSWORD", wp_sites["hub"].app_password)
    monkeypatch.setenv("SWP_TEST_MEMBER_PASSWORD", wp_sites["member"].app_password)
    return wp_sites


@pytest.fixture(params=["wordpress-rest", "wordpress-xmlrpc"])
def config(request: pytest.FixtureRequest, tmp_path: Path, sites: dict[str, WordPressSite]) -> Path:
    """The hub over REST; the member site over REST or XML-RPC."""
    return write_config(tmp_path, sites["hub"], sites["member"], member_adapter=request.param)


@pytest.fixture
def publisher(config: Path) -> Iterator[Publisher]:
    with make_publisher(config) as p:
        yield p


def items(httpserver: HTTPServer, suffix: str = "") -> list[dict[str, str]]:
    httpserver.expect_request("/buurtloket.png").respond_with_data(png(), content_type="image/png")
    return [{"guid": "a", "title": f"Buurtloket & “hulp”{suffix}", "image": httpserver.url_for("/buurtloket.png"),
             "html": f"<p>Schuldhulp in Noord{suffix}.</p><script>alert(1)</script>"}]


OURS = ("Buurtloket & “hulp”", "Jongerenwerk Zwolle", "Nog niet goedgekeurd")


def syndicated(publisher: Publisher, tmp_path: Path, httpserver: HTTPServer) -> tuple[Story, Source]:
    """The story of items() approved and sent to every site that wants it, and its source."""
    source = seed(publisher, tmp_path, items(httpserver), municipality="GM0363")
    (story,) = publisher.list_stories()
    publisher.approve_story(story.id)
    assert all(r.ok for r in publisher.syndicate())
    return story, source


def cli_run(config: Path, *args: str, exit_code: int = 0) -> str:
    from click.testing import CliRunner

    from sociaalwerk_publisher.cli import cli

    done = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert done.exit_code == exit_code, done.output
    return done.output


def live(site: WordPressSite) -> list[dict]:
    """This module's posts that are not in the trash (benchmarks may share the sites)."""
    return [p for p in site.posts() if p["status"] != "trash"
            and html.unescape(p["title"]["raw"]).startswith(OURS)]


def test_approved_stories_reach_the_right_sites_once_with_attribution(
        publisher: Publisher, sites: dict[str, WordPressSite], tmp_path: Path, httpserver: HTTPServer) -> None:
    seed(publisher, tmp_path, items(httpserver), title="Blog Welzijn Noord", organisation="Welzijn Noord",
         municipality="GM0363", ambassador="Samira")
    seed(publisher, tmp_path, [{"guid": "z", "title": "Jongerenwerk Zwolle", "html": "<p>Voetbal.</p>"}],
         title="Blog Zwolle", organisation="Travers", municipality="GM0193")
    unapproved = seed(publisher, tmp_path, [{"guid": "n", "title": "Nog niet goedgekeurd", "html": "<p>x</p>"}],
                      municipality="GM0363")
    stories = {s.title: s.id for s in publisher.list_stories()}
    publisher.approve_story(stories["Buurtloket & “hulp”"], stories["Jongerenwerk Zwolle"])

    results = list(publisher.syndicate())
    assert all(r.ok for r in results), results
    hub, member = live(sites["hub"]), live(sites["member"])
    assert sorted(html.unescape(p["title"]["raw"]) for p in hub) == ["Buurtloket & “hulp”", "Jongerenwerk Zwolle"]
    (amsterdam,) = member
    assert html.unescape(amsterdam["title"]["raw"]) == "Buurtloket & “hulp”"
    content = amsterdam["content"]["raw"]
    assert "Dit verhaal verscheen eerder op" in content and "https://welzijn.example.nl/verhaal/a" in content
    assert "<script" not in content and "Welzijn Noord" in content
    assert amsterdam["featured_media"] > 0
    assert all("Nog niet" not in p["title"]["raw"] for p in hub + member)
    assert unapproved.id

    assert list(publisher.syndicate()) == []  # exactly once
    assert len(live(sites["hub"])) == 2 and len(live(sites["member"])) == 1


def test_a_changed_original_is_updated_and_a_retraction_removes_it_everywhere(
        publisher: Publisher, sites: dict[str, WordPressSite], tmp_path: Path, httpserver: HTTPServer) -> None:
    source = seed(publisher, tmp_path, items(httpserver), municipality="GM0363")
    (story,) = publisher.list_stories()
    publisher.approve_story(story.id)
    list(publisher.syndicate())
    refetch(publisher, source, items(httpserver, suffix=" (bijgewerkt)"))
    results = list(publisher.syndicate())
    assert {(r.destination, r.action) for r in results} == {
        ("landelijk", SyndicationAction.UPDATE), ("amsterdam", SyndicationAction.UPDATE)}
    for site in sites.values():
        (post,) = live(site)
        assert post["title"]["raw"].endswith("(bijgewerkt)")
    media = [p["featured_media"] for p in live(sites["hub"])]
    assert media[0] > 0  # the image was uploaded once and kept

    retracted = publisher.retract_story(story.id, note="op verzoek")
    assert all(r.ok for r in retracted) and len(retracted) == 2
    assert live(sites["hub"]) == [] and live(sites["member"]) == []


def slugs(site: WordPressSite) -> list[str]:
    return sorted(p["slug"] for p in live(site))


def test_a_first_copy_has_a_plain_address_and_a_second_story_of_that_title_a_hashed_one(
        publisher: Publisher, sites: dict[str, WordPressSite], tmp_path: Path, httpserver: HTTPServer) -> None:
    source = seed(publisher, tmp_path, items(httpserver), municipality="GM0363")
    (first,) = publisher.list_stories()
    publisher.approve_story(first.id)
    results = {r.destination: r for r in publisher.syndicate()}
    assert all(r.ok for r in results.values()), results
    assert slugs(sites["hub"]) == slugs(sites["member"]) == ["buurtloket-hulp"]
    assert results["amsterdam"].remote_url == f"{sites['member'].url}/buurtloket-hulp/"  # no hash in it

    seed(publisher, tmp_path, [{"guid": "b", "title": "Buurtloket & “hulp”", "html": "<p>Elders.</p>"}],
         municipality="GM0363")
    (second,) = [s for s in publisher.list_stories() if s.id != first.id]
    publisher.approve_story(second.id)
    assert all(r.ok for r in publisher.syndicate())
    for site, destination in ((sites["hub"], "landelijk"), (sites["member"], "amsterdam")):
        assert slugs(site) == ["buurtloket-hulp", f"buurtloket-hulp-{marker_for(second, destination)[4:12]}"]

    refetch(publisher, source, items(httpserver, suffix=" (bijgewerkt)"))
    assert {r.action for r in publisher.syndicate()} == {SyndicationAction.UPDATE}
    for site in sites.values():  # a new title, the same address
        assert "buurtloket-hulp" in slugs(site)


def test_a_foreign_post_with_the_plain_slug_is_neither_adopted_nor_overwritten_by_a_retry(
        config: Path, sites: dict[str, WordPressSite], tmp_path: Path, httpserver: HTTPServer) -> None:
    foreign = {}
    for site, status in ((sites["hub"], "draft"), (sites["member"], "publish")):
        answer = site.admin_session().post(site.rest("wp/v2/posts"), timeout=30, json={
            "title": "Buurtloket & “hulp”", "content": "<p>Van iemand anders.</p>", "slug": "buurtloket-hulp",
            "status": status})
        answer.raise_for_status()
        (foreign[site.name],) = site.posts(include=answer.json()["id"])
    with make_publisher(config) as publisher:
        seed(publisher, tmp_path, items(httpserver), municipality="GM0363")
        (story,) = publisher.list_stories()
        publisher.approve_story(story.id)
    # killed before publishing: the next run is a retry, which asks the sites for an earlier attempt
    killed = subprocess.run([sys.executable, "-m", "tests.crash_syndicate", str(config), "before-publish"],
                            cwd=REPO, timeout=120, capture_output=True, text=True)
    assert killed.returncode == 137, killed.stderr
    with make_publisher(config) as publisher:
        results = list(publisher.syndicate())
    assert len(results) == 2 and all(r.ok for r in results), results
    for site, destination in ((sites["hub"], "landelijk"), (sites["member"], "amsterdam")):
        assert site.posts(include=foreign[site.name]["id"]) == [foreign[site.name]]  # untouched
        ours = [p for p in live(site) if p["id"] != foreign[site.name]["id"]]
        assert [p["slug"] for p in ours] == [f"buurtloket-hulp-{marker_for(story, destination)[4:12]}"]


def canonical_links(url: str) -> list[str]:
    """Every ``<link rel="canonical">`` address in the public page at ``url``."""
    page = requests.get(url, timeout=30)
    page.raise_for_status()
    return [str(link.get("href")) for link in lxml_html.fromstring(page.content).iter("link")
            if "canonical" in (link.get("rel") or "").lower().split()]


def test_a_copy_on_a_site_with_the_companion_plugin_names_its_original_to_search_engines(
        publisher: Publisher, sites: dict[str, WordPressSite], tmp_path: Path, httpserver: HTTPServer) -> None:
    source = seed(publisher, tmp_path, items(httpserver), municipality="GM0363")
    (story,) = publisher.list_stories()
    publisher.approve_story(story.id)
    copies = {r.destination: r for r in publisher.syndicate()}
    assert all(r.ok and r.remote_url for r in copies.values()), copies
    original = "https://welzijn.example.nl/verhaal/a"
    assert story.url == original
    assert canonical_links(str(copies["amsterdam"].remote_url)) == [original]
    # the hub has no plugin: it publishes all the same, its page naming itself as WordPress does
    assert canonical_links(str(copies["landelijk"].remote_url)) == [copies["landelijk"].remote_url]

    refetch(publisher, source, items(httpserver, suffix=" (bijgewerkt)"))
    assert all(r.ok for r in publisher.syndicate())
    assert canonical_links(str(copies["amsterdam"].remote_url)) == [original]


@pytest.mark.parametrize("step", ["before-publish", "after-publish", "before-find", "after-find", "after-update"])
def test_a_kill_at_any_step_followed_by_a_new_run_leaves_exactly_one_post(
        config: Path, sites: dict[str, WordPressSite], tmp_path: Path, httpserver: HTTPServer, step: str) -> None:
    with make_publisher(config) as publisher:
        seed(publisher, tmp_path, items(httpserver), municipality="GM0363")
        publisher.approve_story(*(s.id for s in publisher.list_stories()))
    if step in ("before-find", "after-find", "after-update"):
        # a retry: an earlier attempt already made the post and died before recording it
        subprocess.run([sys.executable, "-m", "tests.crash_syndicate", str(config), "after-publish"],
                       cwd=REPO, timeout=120, capture_output=True)
    killed = subprocess.run([sys.executable, "-m", "tests.crash_syndicate", str(config), step],
                            cwd=REPO, timeout=120, capture_output=True, text=True)
    assert killed.returncode == 137, killed.stderr
    with make_publisher(config) as publisher:
        results = list(publisher.syndicate())
        assert results and all(r.ok for r in results), results
        assert list(publisher.syndicate()) == []
    for site in sites.values():
        assert len(live(site)) == 1, site.name


def test_cli_check_and_dry_run_against_the_real_sites(config: Path, tmp_path: Path, httpserver: HTTPServer) -> None:
    from click.testing import CliRunner

    from sociaalwerk_publisher.cli import cli

    runner = CliRunner()
    check = runner.invoke(cli, ["--config", str(config), "destinations", "check"])
    assert check.exit_code == 0, check.output
    assert "ok       landelijk" in check.output and "ok       amsterdam" in check.output
    hub, member = check.output.split("ok       amsterdam")
    assert "canonical links to the original: no (install the companion plugin" in hub
    assert "canonical links to the original: yes" in member
    with make_publisher(config) as publisher:
        seed(publisher, tmp_path, items(httpserver), municipality="GM0363")
        publisher.approve_story(*(s.id for s in publisher.list_stories()))
    dry = runner.invoke(cli, ["--config", str(config), "syndicate", "--dry-run"])
    assert dry.exit_code == 0 and dry.output.count(": would publish story") == 2
    assert dry.output.splitlines()[-1] == "syndication: would publish 2"
    done = runner.invoke(cli, ["--config", str(config), "syndicate", "--destination", "amsterdam"])
    assert done.exit_code == 0 and "syndication: 1 done, 0 failed" in done.output


MEMBER_TITLE = "Buurtloket & “hulp”: onze eigen kop"


def edited_by_member(publisher: Publisher, site: WordPressSite, tmp_path: Path, httpserver: HTTPServer) -> Story:
    """A story syndicated everywhere, whose copy on ``site`` the member's editor retitled in
    the site's own editor (as the ``redacteur`` user), and whose original then changed."""
    story, source = syndicated(publisher, tmp_path, httpserver)
    (copy,) = live(site)
    site.editor_session().post(site.rest(f"wp/v2/posts/{copy['id']}"), json={"title": MEMBER_TITLE},
                               timeout=30).raise_for_status()
    refetch(publisher, source, items(httpserver, suffix=" (bijgewerkt)"))
    return story


def test_a_member_editors_edit_survives_an_update_of_the_original_until_the_office_overwrites_it(
        config: Path, sites: dict[str, WordPressSite], tmp_path: Path, httpserver: HTTPServer) -> None:
    with make_publisher(config) as publisher:
        story = edited_by_member(publisher, sites["member"], tmp_path, httpserver)

    output = cli_run(config, "syndicate")
    assert f"kept    amsterdam: story {story.id} Buurtloket & “hulp” (bijgewerkt): bewerkt door lid" in output
    assert f"ok      landelijk: update story {story.id}" in output
    (kept,) = live(sites["member"])
    assert html.unescape(kept["title"]["raw"]) == MEMBER_TITLE
    (hub,) = live(sites["hub"])
    assert hub["title"]["raw"].endswith("(bijgewerkt)")  # a copy nobody edited is updated
    assert "amsterdam: bewerkt door lid" in cli_run(config, "stories", "history", str(story.id))
    assert "1 bewerkt door lid" in cli_run(config, "status")
    assert cli_run(config, "syndicate").splitlines()[-1] == "syndication: nothing to do"  # left alone until the office chooses

    output = cli_run(config, "syndicate", "--overwrite-edited", str(story.id))
    assert f"ok      amsterdam: update story {story.id}" in output
    (overwritten,) = live(sites["member"])
    assert overwritten["title"]["raw"].endswith("(bijgewerkt)")
    assert "amsterdam: published" in cli_run(config, "stories", "history", str(story.id))


def test_a_retraction_still_removes_a_copy_a_member_edited(
        config: Path, sites: dict[str, WordPressSite], tmp_path: Path, httpserver: HTTPServer) -> None:
    with make_publisher(config) as publisher:
        story = edited_by_member(publisher, sites["member"], tmp_path, httpserver)
        kept = {r.destination: r.kept_local_edit for r in publisher.syndicate()}
        assert kept == {"amsterdam": True, "landelijk": False}

        retracted = publisher.retract_story(story.id, note="toestemming ingetrokken")
        assert all(r.ok for r in retracted) and len(retracted) == 2
    assert live(sites["hub"]) == [] and live(sites["member"]) == []


def test_forget_erases_a_copy_a_member_edited_for_good(
        config: Path, sites: dict[str, WordPressSite], tmp_path: Path, httpserver: HTTPServer) -> None:
    with make_publisher(config) as publisher:
        story = edited_by_member(publisher, sites["member"], tmp_path, httpserver)
        assert [r.kept_local_edit for r in publisher.syndicate() if r.destination == "amsterdam"] == [True]
        erased = publisher.forget(story.url, by="privacy")
        assert erased.ok and {r.destination for r in erased.results} == {"amsterdam", "landelijk"}
    for site in sites.values():  # deleted, not in the trash: an erasure leaves nothing to restore
        assert [p for p in site.posts() if html.unescape(p["title"]["raw"]).startswith(OURS)] == []

def test_a_destination_set_to_overwrite_local_edits_is_always_updated(
        config: Path, sites: dict[str, WordPressSite], tmp_path: Path, httpserver: HTTPServer) -> None:
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('status = "publish"\n[destinations.filter]',
                                   'status = "publish"\non_local_edit = "overwrite"\n[destinations.filter]'),
                      encoding="utf-8")
    with make_publisher(config) as publisher:
        assert publisher.config.destinations[1].on_local_edit == "overwrite"
        edited_by_member(publisher, sites["member"], tmp_path, httpserver)
        results = {r.destination: r for r in publisher.syndicate()}
    assert results["amsterdam"].ok and not results["amsterdam"].kept_local_edit
    (overwritten,) = live(sites["member"])
    assert overwritten["title"]["raw"].endswith("(bijgewerkt)")


# -- unlinking: a copy the member (or the office) unlinked is left alone ----------------------

def put_in_term(site: WordPressSite, post_id: int, taxonomy: str, name: str) -> None:
    """What a member's editor does in the site's own editor: put the copy in a category or tag
    of that name (made if the site has none yet)."""
    session = site.editor_session()
    found = [t for t in session.get(site.rest(f"wp/v2/{taxonomy}"), params={"search": name}, timeout=30).json()
             if html.unescape(t["name"]) == name]
    term = found[0] if found else session.post(site.rest(f"wp/v2/{taxonomy}"), json={"name": name}, timeout=30).json()
    post = session.get(site.rest(f"wp/v2/posts/{post_id}"), params={"context": "edit"}, timeout=30).json()
    session.post(site.rest(f"wp/v2/posts/{post_id}"), json={taxonomy: [*post[taxonomy], term["id"]]},
                 timeout=30).raise_for_status()


def test_a_copy_the_member_tags_niet_bijwerken_gets_no_further_updates(
        config: Path, sites: dict[str, WordPressSite], tmp_path: Path, httpserver: HTTPServer) -> None:
    with make_publisher(config) as publisher:
        story, source = syndicated(publisher, tmp_path, httpserver)
        (copy,) = live(sites["member"])
        put_in_term(sites["member"], copy["id"], "tags", "niet-bijwerken")
        refetch(publisher, source, items(httpserver, suffix=" (bijgewerkt)"))

    output = cli_run(config, "syndicate")
    assert f"kept    amsterdam: story {story.id} Buurtloket & “hulp” (bijgewerkt): ontkoppeld, not updated" in output
    assert f"ok      landelijk: update story {story.id}" in output
    (kept,) = live(sites["member"])
    assert html.unescape(kept["title"]["raw"]) == "Buurtloket & “hulp”"
    history = cli_run(config, "stories", "history", str(story.id))
    assert "amsterdam: ontkoppeld" in history
    assert "by wordpress:amsterdam (tag niet-bijwerken)" in history
    assert "1 ontkoppeld" in cli_run(config, "status")
    assert cli_run(config, "syndicate").splitlines()[-1] == "syndication: nothing to do"
    # overwriting a member's edits does not undo an unlinking
    assert cli_run(config, "syndicate", "--overwrite-edited", str(story.id)).splitlines()[-1] \
        == "syndication: nothing to do"
    assert live(sites["member"])[0]["title"]["raw"] == kept["title"]["raw"]


def test_a_retraction_leaves_an_unlinked_copy_until_the_office_includes_it(
        config: Path, sites: dict[str, WordPressSite], tmp_path: Path, httpserver: HTTPServer) -> None:
    with make_publisher(config) as publisher:
        story, _ = syndicated(publisher, tmp_path, httpserver)
    output = cli_run(config, "stories", "unlink", str(story.id), "--destination", "amsterdam", "--by", "anne")
    assert f"story {story.id} on amsterdam: ontkoppeld " in output and "by anne (stories unlink)" in output
    again = cli_run(config, "stories", "unlink", str(story.id), "--destination", "amsterdam", "--by", "bert")
    assert "by anne" in again  # the first unlinking stays on record

    output = cli_run(config, "stories", "retract", str(story.id), "--note", "toestemming ingetrokken")
    assert f"ok      landelijk: retract story {story.id}" in output
    assert (f"kept    amsterdam: story {story.id} Buurtloket & “hulp”: ontkoppeld, not retracted"
            f" (stories retract {story.id} --include-unlinked removes it)") in output
    assert live(sites["hub"]) == [] and len(live(sites["member"])) == 1
    assert cli_run(config, "syndicate").splitlines()[-1] == "syndication: nothing to do"  # said once, not every run

    output = cli_run(config, "stories", "retract", str(story.id), "--include-unlinked")
    assert f"ok      amsterdam: retract story {story.id}" in output and "removed all the same" in output
    assert "landelijk" not in output  # already gone there
    assert live(sites["member"]) == []
    assert "no destination holds a copy" in cli_run(config, "stories", "retract", str(story.id), "--include-unlinked")
    history = cli_run(config, "stories", "history", str(story.id))
    assert "amsterdam: retracted" in history and "by anne (stories unlink)" in history


def test_a_retraction_sees_an_unlinking_the_member_made_since_the_last_update(
        config: Path, sites: dict[str, WordPressSite], tmp_path: Path, httpserver: HTTPServer) -> None:
    with make_publisher(config) as publisher:
        story, _ = syndicated(publisher, tmp_path, httpserver)
        (copy,) = live(sites["member"])
        put_in_term(sites["member"], copy["id"], "categories", "Niet bijwerken")  # its slug is niet-bijwerken
        results = {r.destination: r for r in publisher.retract_story(story.id)}
        assert results["amsterdam"].ok and results["amsterdam"].kept_unlinked
        assert results["landelijk"].ok and not results["landelijk"].kept_unlinked
        (record,) = [r for r in publisher.syndications(story.id) if r.destination == "amsterdam"]
        assert (record.state.value, record.unlinked_how) == ("unlinked", "categorie Niet bijwerken")
    assert len(live(sites["member"])) == 1


def test_forget_removes_an_unlinked_copy_all_the_same_and_says_so(
        config: Path, sites: dict[str, WordPressSite], tmp_path: Path, httpserver: HTTPServer) -> None:
    with make_publisher(config) as publisher:
        story, _ = syndicated(publisher, tmp_path, httpserver)
    cli_run(config, "stories", "unlink", str(story.id), "--destination", "amsterdam")
    output = cli_run(config, "forget", str(story.id), "--by", "privacy")
    assert f"ok      amsterdam: retract story {story.id}" in output
    assert "(the copy was ontkoppeld: removed all the same)" in output
    assert f"erased story {story.id} here and on every destination" in output
    for site in sites.values():
        assert [p for p in site.posts() if html.unescape(p["title"]["raw"]).startswith(OURS)] == []


def test_only_a_published_copy_on_a_known_destination_can_be_unlinked(
        config: Path, sites: dict[str, WordPressSite], tmp_path: Path, httpserver: HTTPServer) -> None:
    with make_publisher(config) as publisher:
        seed(publisher, tmp_path, items(httpserver), municipality="GM0363")
        (story,) = publisher.list_stories()
    output = cli_run(config, "stories", "unlink", str(story.id), "--destination", "amsterdam", exit_code=2)
    assert output.strip().splitlines()[-1] == f"error: story {story.id} has no copy on amsterdam"
    output = cli_run(config, "stories", "unlink", str(story.id), "--destination", "elders", exit_code=2)
    assert "no destination named 'elders'" in output

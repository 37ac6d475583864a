"""Review where the editors work: the hub's Pending Review queue is the approval queue.

Against the real WordPress sites: the hub (REST, plain permalinks) is the queue, the
member site receives only what an editor published there, in the editor's version.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from sociaalwerk_publisher import Publisher, StoryStatus, make_publisher
from sociaalwerk_publisher.cli import cli

from .htmlcheck import unsafe_parts
from .smtp import SmtpServer
from .stories import refetch, seed
from .wordpress import WordPressSite

pytestmark = pytest.mark.integration


@pytest.fixture
def sites(wp_sites: dict[str, WordPressSite], monkeypatch: pytest.MonkeyPatch) -> dict[str, WordPressSite]:
    for site in wp_sites.values():
        site.delete_all_posts()
    monkeypatch.setenv("SWP_TEST_HUB_PASSWORD", wp_sites["hub"].app_password)
    monkeypatch.setenv("SWP_TEST_MEMBER_PASSWORD", wp_sites["member"].app_password)
    return wp_sites


@pytest.fixture
def config(tmp_path: Path, sites: dict[str, WordPressSite], smtp: SmtpServer) -> Path:
    hub, member = sites["hub"], sites["member"]
    path = tmp_path / "sociaalwerk-publisher.toml"
    path.write_text(f"""
[fetch]
parse_processes = 1

[review]
mode = "wordpress"
hub = "landelijk"
digest_recipients = ["redactie@sociaalwerk.example"]

[email]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
sender = "Sociaal Werk Nederland <publisher@sociaalwerk.example>"
recipients = ["communicatie@sociaalwerk.example"]

[[destinations]]
name = "landelijk"
adapter = "wordpress-rest"
url = "{hub.url}"
username = "{hub.user}"
password_env = "SWP_TEST_HUB_PASSWORD"

[[destinations]]
name = "lid"
adapter = "wordpress-rest"
url = "{member.url}"
username = "{member.user}"
password_env = "SWP_TEST_MEMBER_PASSWORD"
""", encoding="utf-8")
    path.chmod(0o600)
    return path


ITEMS = [
    {"guid": "a", "title": "Buurtloket Noord", "html": "<p>Het buurtloket helpt.</p>"},
    {"guid": "b", "title": "Jongerenwerk Zuid", "html": "<p>Voetbal als ingang.</p>"},
]


def hub_post(site: WordPressSite, title: str) -> dict:
    (post,) = [p for p in ours(site) if html.unescape(p["title"]["raw"]) == title]
    return post


def cycle(config: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(config), "run"])
    assert result.exit_code == 0, result.output


OURS = ("Buurtloket Noord", "Jongerenwerk Zuid", "Derde")


def ours(site: WordPressSite) -> list[dict]:
    """This test's posts (benchmarks may post to the same sites meanwhile)."""
    return [p for p in site.posts() if html.unescape(p["title"]["raw"]).startswith(OURS)]


def live(site: WordPressSite) -> list[str]:
    return sorted(html.unescape(p["title"]["raw"]) for p in ours(site) if p["status"] != "trash")


@pytest.fixture
def queued(config: Path, tmp_path: Path) -> Iterator[tuple[Publisher, object]]:
    with make_publisher(config) as publisher:
        source = seed(publisher, tmp_path, ITEMS, organisation="Welzijn Noord", municipality="GM0363")
        yield publisher, source


def test_new_stories_wait_on_the_hub_and_nowhere_else(config: Path, queued, sites) -> None:
    cycle(config)
    assert {p["status"] for p in ours(sites["hub"])} == {"pending"}
    assert live(sites["hub"]) == ["Buurtloket Noord", "Jongerenwerk Zuid"]
    assert ours(sites["member"]) == []
    cycle(config)  # nothing doubles on a second run
    assert len(ours(sites["hub"])) == 2


def test_published_by_an_editor_reaches_members_in_the_edited_version(config: Path, queued, sites) -> None:
    publisher, _ = queued
    cycle(config)
    post = hub_post(sites["hub"], "Buurtloket Noord")
    answer = sites["hub"].editor_session().post(sites["hub"].rest(f"wp/v2/posts/{post['id']}"), timeout=30, json={
        "status": "publish", "title": "Buurtloket Noord: hulp zonder drempel",
        "content": post["content"]["raw"].replace("Het buurtloket helpt.", "Het buurtloket helpt, elke dag."),
    })
    assert answer.status_code == 200, answer.text
    cycle(config)
    (member_post,) = [p for p in ours(sites["member"]) if p["status"] == "publish"]
    assert html.unescape(member_post["title"]["raw"]) == "Buurtloket Noord: hulp zonder drempel"
    assert "elke dag" in member_post["content"]["raw"]
    assert member_post["content"]["raw"].count("Dit verhaal verscheen eerder op") == 1
    story = next(s for s in publisher.list_stories() if s.title == "Buurtloket Noord")
    decision = publisher.story_history(story.id)[-1]
    assert decision.to_status is StoryStatus.APPROVED and decision.decided_by == f"wordpress:{sites['hub'].editor_user}"
    # a later edit on the hub is carried to the member site on the next run
    sites["hub"].editor_session().post(sites["hub"].rest(f"wp/v2/posts/{post['id']}"), timeout=30,
                              json={"title": "Buurtloket Noord: nieuwe kop"}).raise_for_status()
    cycle(config)
    assert live(sites["member"]) == ["Buurtloket Noord: nieuwe kop"]


def test_html_an_editor_adds_on_the_hub_is_sanitised_before_it_reaches_members(config: Path, queued, sites) -> None:
    cycle(config)
    post = hub_post(sites["hub"], "Buurtloket Noord")
    hostile = ('<p><a href="javascript:alert(1)">een</a> <a href="\u2028javascript:alert(2)">twee</a>'
               ' <a href="java&#x200b;script:alert(3)">drie</a><img src="x" onerror="alert(4)"></p>'
               '<script>alert(5)</script><iframe src="https://evil.example/"></iframe>')
    answer = sites["hub"].editor_session().post(sites["hub"].rest(f"wp/v2/posts/{post['id']}"), timeout=30, json={
        "status": "publish", "content": post["content"]["raw"] + hostile})
    assert answer.status_code == 200, answer.text
    assert "javascript:alert(1)" in answer.json()["content"]["raw"]  # WordPress lets an editor's HTML be
    cycle(config)
    (member_post,) = [p for p in ours(sites["member"]) if p["status"] == "publish"]
    raw = member_post["content"]["raw"]
    assert unsafe_parts(raw) == []
    assert "een" in raw and "drie" in raw  # the words stay, the links and scripts go
    assert raw.count("Dit verhaal verscheen eerder op") == 1 and '<aside class="swp-attributie">' in raw


def test_trashed_by_an_editor_is_rejected_and_never_comes_back(config: Path, queued, sites) -> None:
    publisher, source = queued
    cycle(config)
    post = hub_post(sites["hub"], "Jongerenwerk Zuid")
    sites["hub"].editor_session().delete(sites["hub"].rest(f"wp/v2/posts/{post['id']}"), timeout=30).raise_for_status()
    cycle(config)
    story = next(s for s in publisher.list_stories() if s.title == "Jongerenwerk Zuid")
    assert publisher.get_story(story.id).status is StoryStatus.REJECTED
    refetch(publisher, source, ITEMS + [{"guid": "c", "title": "Derde", "html": "<p>x</p>"}])
    cycle(config)
    assert live(sites["hub"]) == ["Buurtloket Noord", "Derde"]  # not queued again
    assert ours(sites["member"]) == []


def test_a_changed_original_updates_the_pending_post_unless_an_editor_edited_it(config: Path, queued, sites) -> None:
    publisher, source = queued
    cycle(config)
    edited = hub_post(sites["hub"], "Jongerenwerk Zuid")
    sites["hub"].editor_session().post(sites["hub"].rest(f"wp/v2/posts/{edited['id']}"), timeout=30,
                              json={"title": "Jongerenwerk Zuid (redactie)"}).raise_for_status()
    changed = [{**item, "html": item["html"].replace("</p>", " Bijgewerkt.</p>")} for item in ITEMS]
    refetch(publisher, source, changed)
    cycle(config)
    assert "Bijgewerkt." in hub_post(sites["hub"], "Buurtloket Noord")["content"]["raw"]
    kept = hub_post(sites["hub"], "Jongerenwerk Zuid (redactie)")
    assert "Bijgewerkt." not in kept["content"]["raw"] and kept["status"] == "pending"
    status = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert "conflict:" in status.output and "redacteur" in status.output


def test_cli_decisions_act_on_the_hub_post(config: Path, queued, sites) -> None:
    publisher, _ = queued
    cycle(config)
    ids = {s.title: s.id for s in publisher.list_stories()}
    publisher.approve_story(ids["Buurtloket Noord"], by="marieke")
    publisher.reject_story(ids["Jongerenwerk Zuid"], reason="dubbel", by="marieke")
    statuses = {html.unescape(p["title"]["raw"]): p["status"] for p in ours(sites["hub"])}
    assert statuses == {"Buurtloket Noord": "publish", "Jongerenwerk Zuid": "trash"}
    cycle(config)
    assert live(sites["member"]) == ["Buurtloket Noord"]


def test_the_digest_arrives_once_with_edit_links(config: Path, queued, sites, smtp: SmtpServer) -> None:
    cycle(config)
    cycle(config)
    digests = [r for r in smtp.received if "beoordeling" in r.message["Subject"]]
    assert len(digests) == 1
    (digest,) = digests
    assert digest.recipients == ["redactie@sociaalwerk.example"]
    text = digest.message.get_body(preferencelist=("plain",)).get_content()
    assert unsafe_parts(digest.message.get_body(preferencelist=("html",)).get_content(), document=True) == []
    for title in ("Buurtloket Noord", "Jongerenwerk Zuid"):
        post = hub_post(sites["hub"], title)
        assert f"{sites['hub'].url}/wp-admin/post.php?post={post['id']}&action=edit" in text
        assert title in text


def test_the_next_digest_lists_the_copies_members_changed_or_unlinked(
        config: Path, queued, sites, smtp: SmtpServer) -> None:
    from datetime import timedelta

    from sociaalwerk_publisher.coverage.periods import today_in_amsterdam

    publisher, _ = queued
    cycle(config)  # both wait on the hub: today's digest
    for title in ("Buurtloket Noord", "Jongerenwerk Zuid"):
        sites["hub"].editor_session().post(sites["hub"].rest(f"wp/v2/posts/{hub_post(sites['hub'], title)['id']}"),
                                  json={"status": "publish"}, timeout=30).raise_for_status()
    cycle(config)  # approved on the hub, so sent to the member
    copies = {html.unescape(p["title"]["raw"]): p["id"] for p in ours(sites["member"])}
    sites["member"].editor_session().post(sites["member"].rest(f"wp/v2/posts/{copies['Buurtloket Noord']}"),
                                 json={"title": "Buurtloket Noord, bij ons"}, timeout=30).raise_for_status()
    ids = {s.title: s.id for s in publisher.list_stories()}
    publisher.unlink_copy(ids["Jongerenwerk Zuid"], "lid", by="marieke")
    hub = hub_post(sites["hub"], "Buurtloket Noord")  # the hub's editor changes the published story
    sites["hub"].editor_session().post(sites["hub"].rest(f"wp/v2/posts/{hub['id']}"), timeout=30,
                              json={"title": "Buurtloket Noord: nieuwe kop"}).raise_for_status()
    cycle(config)
    assert live(sites["member"]) == ["Buurtloket Noord, bij ons", "Jongerenwerk Zuid"]  # both kept

    tomorrow = today_in_amsterdam() + timedelta(days=1)
    assert [d.ok for d in publisher.send_digest(today=tomorrow)] == [True]
    digest = smtp.received[-1].message
    assert digest["Subject"] == "2 kopieën bewerkt of ontkoppeld door leden"
    text = digest.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert f"- Buurtloket Noord (verhaal {ids['Buurtloket Noord']}) op lid: bewerkt door lid" in text
    assert f"- Jongerenwerk Zuid (verhaal {ids['Jongerenwerk Zuid']}) op lid: ontkoppeld (stories unlink)" in text
    assert "op beoordeling" not in text  # nothing waits
    assert unsafe_parts(digest.get_body(preferencelist=("html",)).get_content(), document=True) == []
    assert publisher.send_digest(today=tomorrow + timedelta(days=1)) == []  # nothing new since


def test_nothing_unapproved_reaches_a_member_whatever_the_order(config: Path, queued, sites) -> None:
    publisher, source = queued
    steps = [
        lambda: cycle(config),
        lambda: refetch(publisher, source, ITEMS + [{"guid": "c", "title": "Derde", "html": "<p>x</p>"}]),
        lambda: sites["hub"].editor_session().post(sites["hub"].rest(
            f"wp/v2/posts/{hub_post(sites['hub'], 'Buurtloket Noord')['id']}"), json={"status": "publish"},
            timeout=30).raise_for_status(),
        lambda: cycle(config),
        lambda: sites["hub"].editor_session().delete(sites["hub"].rest(
            f"wp/v2/posts/{hub_post(sites['hub'], 'Derde')['id']}"), timeout=30).raise_for_status(),
        lambda: cycle(config),
    ]
    for step in steps:
        step()
        approved = {s.title for s in publisher.list_stories() if s.status is StoryStatus.APPROVED}
        assert set(live(sites["member"])) <= approved
    assert live(sites["member"]) == ["Buurtloket Noord"]

"""The syndication engine against recording fakes: exactly once, updated, retracted, isolated."""

from __future__ import annotations

import re

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sociaalwerk_publisher import Publisher, StoryStatus
from sociaalwerk_publisher._storage import open_storage
from sociaalwerk_publisher.config import DestinationConfig, DestinationFilter
from sociaalwerk_publisher.exceptions import AuthenticationError, InvalidTransitionError
from sociaalwerk_publisher.types import SyndicationAction, SyndicationState

from .conftest import make_config
from .fakes import RecordingAdapter, transport_error
from .stories import refetch, seed

ITEMS = [
    {"guid": "a", "title": "Amsterdam: buurtloket", "html": "<p>Het buurtloket helpt met schulden.</p>"},
    {"guid": "b", "title": "Zwolle: jongerenwerk", "html": "<p>Voetbal met jongeren.</p>"},
]


class Sites:
    def __init__(self) -> None:
        self.adapters: dict[str, RecordingAdapter] = {}

    def __call__(self, destination: DestinationConfig) -> RecordingAdapter:
        return self.adapters.setdefault(destination.name, RecordingAdapter(destination.name))

    def __getitem__(self, name: str) -> RecordingAdapter:
        return self.adapters.setdefault(name, RecordingAdapter(name))


@pytest.fixture
def sites() -> Sites:
    return Sites()


def make(tmp_path: Path, sites: Sites, *destinations: DestinationConfig, database_url: str | None = None) -> Publisher:
    config = replace(make_config(tmp_path, database_url), destinations=destinations or (
        DestinationConfig(name="landelijk", adapter="wxr", path="x.xml"),
        DestinationConfig(name="amsterdam", adapter="wxr", path="y.xml",
                          filter=DestinationFilter(municipalities=("GM0363",))),
    ))
    return Publisher(config, open_storage(config.database_url), adapter_for=sites)


@pytest.fixture
def publisher(tmp_path: Path, sites: Sites, database_url: str) -> Iterator[Publisher]:
    with make(tmp_path, sites, database_url=database_url) as p:
        yield p


def story_ids(publisher: Publisher) -> dict[str, int]:
    return {s.title.split(":")[0]: s.id for s in publisher.list_stories()}


def seed_two(publisher: Publisher, tmp_path: Path) -> dict[str, int]:
    seed(publisher, tmp_path, ITEMS[:1], title="Blog Noord", organisation="Welzijn Noord", municipality="GM0363",
         ambassador="Samira")
    seed(publisher, tmp_path, ITEMS[1:], title="Blog Zwolle", organisation="Travers", municipality="GM0193")
    return story_ids(publisher)


def test_only_approved_stories_are_published_and_each_once(publisher: Publisher, sites: Sites, tmp_path: Path) -> None:
    ids = seed_two(publisher, tmp_path)
    assert list(publisher.syndicate()) == []
    publisher.approve_story(ids["Amsterdam"], ids["Zwolle"])
    results = list(publisher.syndicate())
    assert sorted((r.destination, r.story_id, r.action.value, r.ok) for r in results) == sorted([
        ("landelijk", ids["Amsterdam"], "publish", True), ("landelijk", ids["Zwolle"], "publish", True),
        ("amsterdam", ids["Amsterdam"], "publish", True),  # the filter keeps Zwolle off the Amsterdam site
    ])
    assert list(publisher.syndicate()) == []
    assert len(sites["landelijk"].posts) == 2 and len(sites["amsterdam"].posts) == 1


def test_the_post_carries_attribution_terms_and_a_marker(publisher: Publisher, sites: Sites, tmp_path: Path) -> None:
    ids = seed_two(publisher, tmp_path)
    publisher.approve_story(ids["Amsterdam"])
    list(publisher.syndicate(["landelijk"]))
    (copy,) = sites["landelijk"].posts.values()
    post = copy.post
    assert post.title == "Amsterdam: buurtloket"
    assert "Dit verhaal verscheen eerder op" in post.content_html
    assert 'href="https://welzijn.example.nl/verhaal/a"' in post.content_html
    assert "Welzijn Noord" in post.content_html and "lokale ambassadeur Samira" in post.content_html
    assert f"<!-- {post.marker} -->" in post.content_html
    assert post.categories == ("Welzijn Noord", "Amsterdam")
    assert "armoede en schulden" in post.tags and "Blog Noord" in post.tags
    # the public slug is plain; the marker's hash is kept for when that slug is taken
    assert (post.slug, post.fallback_slug) == ("amsterdam-buurtloket", f"amsterdam-buurtloket-{post.marker[4:12]}")


def test_a_changed_original_updates_the_remote_post(publisher: Publisher, sites: Sites, tmp_path: Path) -> None:
    source = seed(publisher, tmp_path, ITEMS[:1], municipality="GM0363")
    publisher.approve_story(*story_ids(publisher).values())
    list(publisher.syndicate())
    refetch(publisher, source, [{**ITEMS[0], "html": "<p>Bijgewerkt verhaal.</p>"}])
    results = list(publisher.syndicate())
    assert {r.action for r in results} == {SyndicationAction.UPDATE} and all(r.ok for r in results)
    (copy,) = sites["landelijk"].posts.values()
    assert "Bijgewerkt verhaal." in copy.post.content_html and copy.history == ["publish", "update"]
    assert list(publisher.syndicate()) == []


def test_updates_can_be_switched_off_per_destination(tmp_path: Path, sites: Sites, database_url: str) -> None:
    with make(tmp_path, sites, DestinationConfig(name="vast", adapter="wxr", path="x", update_on_change=False),
              database_url=database_url) as publisher:
        source = seed(publisher, tmp_path, ITEMS[:1])
        publisher.approve_story(*story_ids(publisher).values())
        list(publisher.syndicate())
        refetch(publisher, source, [{**ITEMS[0], "html": "<p>Anders.</p>"}])
        assert list(publisher.syndicate()) == []


def test_retracting_removes_the_story_everywhere(publisher: Publisher, sites: Sites, tmp_path: Path) -> None:
    ids = seed_two(publisher, tmp_path)
    publisher.approve_story(ids["Amsterdam"])
    list(publisher.syndicate())
    results = publisher.retract_story(ids["Amsterdam"], note="op verzoek van de cliënt")
    assert sorted(r.destination for r in results if r.ok and r.action is SyndicationAction.RETRACT) == [
        "amsterdam", "landelijk"]
    assert sites["landelijk"].live() == [] and sites["amsterdam"].live() == []
    states = {s.destination: s.state for s in publisher.syndications(ids["Amsterdam"])}
    assert states == {"landelijk": SyndicationState.RETRACTED, "amsterdam": SyndicationState.RETRACTED}
    assert list(publisher.syndicate()) == []


def test_a_copy_the_office_unlinked_gets_no_update_and_a_retraction_only_when_included(
        publisher: Publisher, sites: Sites, tmp_path: Path) -> None:
    source = seed(publisher, tmp_path, ITEMS[:1], municipality="GM0363")
    (story_id,) = story_ids(publisher).values()
    publisher.approve_story(story_id)
    list(publisher.syndicate())
    record = publisher.unlink_copy(story_id, "amsterdam", by="anne")
    assert (record.state, record.unlinked_by, record.unlinked_how) == (
        SyndicationState.UNLINKED, "anne", "stories unlink")
    refetch(publisher, source, [{**ITEMS[0], "html": "<p>Bijgewerkt verhaal.</p>"}])
    assert [(r.destination, r.action) for r in publisher.syndicate()] == [("landelijk", SyndicationAction.UPDATE)]
    assert sites["amsterdam"].calls == ["publish"]  # never touched again

    results = {r.destination: r for r in publisher.retract_story(story_id)}
    assert results["amsterdam"].kept_unlinked and not results["landelijk"].kept_unlinked
    assert sites["amsterdam"].calls == ["publish"] and sites["landelijk"].live() == []
    assert list(publisher.syndicate()) == []  # said when retracting, not on every run
    (again,) = publisher.retract_story(story_id, include_unlinked=True)
    assert (again.destination, again.ok, again.removed_unlinked) == ("amsterdam", True, True)
    assert sites["amsterdam"].live() == []
    with pytest.raises(InvalidTransitionError, match=f"story {story_id} has no copy on amsterdam"):
        publisher.unlink_copy(story_id, "amsterdam")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the simulated crash
def test_a_crash_after_the_remote_post_was_made_does_not_make_a_second(publisher: Publisher, sites: Sites,
                                                                        tmp_path: Path) -> None:
    ids = seed_two(publisher, tmp_path)
    publisher.approve_story(ids["Zwolle"])
    landelijk = sites["landelijk"]
    real_publish = landelijk.publish

    def publish_then_die(post):  # the post is made, then the process dies before recording it
        real_publish(post)
        raise SystemExit("killed")

    landelijk.publish = publish_then_die  # type: ignore[method-assign]
    list(publisher.syndicate())
    (record,) = publisher.syndications(ids["Zwolle"])
    assert record.state is SyndicationState.PENDING and record.remote_id is None
    landelijk.publish = real_publish  # type: ignore[method-assign]
    expire_claims(publisher)
    (result,) = list(publisher.syndicate())
    assert result.ok and len(landelijk.posts) == 1
    assert landelijk.calls[-2:] == ["find_existing", "update"]


def expire_claims(publisher: Publisher) -> None:
    from sqlalchemy import update

    from sociaalwerk_publisher._storage._schema import syndications

    with publisher._storage.begin() as conn:
        conn.execute(update(syndications).values(claim_expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))


def test_transient_failures_are_retried_on_a_later_run(publisher: Publisher, sites: Sites, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ids = seed_two(publisher, tmp_path)
    publisher.approve_story(ids["Zwolle"])
    sites["landelijk"].fail_next = [transport_error()]
    (result,) = list(publisher.syndicate())
    assert not result.ok and "503" in (result.error or "")
    (record,) = publisher.syndications(ids["Zwolle"])
    assert record.state is SyndicationState.FAILED and record.attempts == 1
    assert list(publisher.syndicate()) == []  # backing off
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    monkeypatch.setattr("sociaalwerk_publisher.syndication.utcnow", lambda: later)
    (retried,) = list(publisher.syndicate())
    assert retried.ok and len(sites["landelijk"].posts) == 1


def test_an_authentication_failure_stops_that_destination_only(publisher: Publisher, sites: Sites, tmp_path: Path) -> None:
    ids = seed_two(publisher, tmp_path)
    publisher.approve_story(ids["Amsterdam"], ids["Zwolle"])
    sites["landelijk"].fail_next = [AuthenticationError("wrong application password", "landelijk")]
    results = list(publisher.syndicate())
    landelijk = [r for r in results if r.destination == "landelijk"]
    assert all(not r.ok for r in landelijk) and len(landelijk) == 2
    assert any("skipped: " in (r.error or "") for r in landelijk)
    assert len(sites["landelijk"].calls) == 1  # it stopped after the first refusal
    assert [r.ok for r in results if r.destination == "amsterdam"] == [True]


def test_a_missing_password_variable_fails_that_destination_with_a_clear_message(tmp_path: Path) -> None:
    config = replace(make_config(tmp_path), destinations=(DestinationConfig(
        name="landelijk", adapter="wordpress-rest", url="http://127.0.0.1:9", username="u",
        password_env="SWP_TEST_NOT_SET"),))
    with Publisher(config, open_storage(config.database_url)) as publisher:
        seed(publisher, tmp_path, ITEMS[:1])
        publisher.approve_story(*story_ids(publisher).values())
        (result,) = list(publisher.syndicate())
    assert not result.ok and "SWP_TEST_NOT_SET is not set" in (result.error or "")


def test_dry_run_sends_nothing(publisher: Publisher, sites: Sites, tmp_path: Path) -> None:
    ids = seed_two(publisher, tmp_path)
    publisher.approve_story(ids["Amsterdam"])
    planned = list(publisher.syndicate(dry_run=True))
    assert sorted(r.destination for r in planned) == ["amsterdam", "landelijk"] and all(r.dry_run for r in planned)
    assert sites.adapters == {}
    assert publisher.syndications(ids["Amsterdam"]) == []


COMMANDS = st.lists(st.tuples(st.sampled_from(["approve", "reject", "retract", "syndicate", "fail"]),
                              st.integers(0, 2)), max_size=20)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commands=COMMANDS)
def test_whatever_the_sequence_nothing_unapproved_is_ever_published(tmp_path_factory: pytest.TempPathFactory,
                                                                   make_database_url: Callable[[], str],
                                                                   commands: list[tuple[str, int]]) -> None:
    tmp_path = tmp_path_factory.mktemp("property")
    sites = Sites()
    with make(tmp_path, sites, database_url=make_database_url()) as publisher:
        seed(publisher, tmp_path, [{"guid": str(i), "title": f"Verhaal {i}", "html": "<p>x</p>"} for i in range(3)],
             municipality="GM0363")
        by_title = {s.title: s.id for s in publisher.list_stories()}
        ids = sorted(by_title.values())
        ever_approved: set[int] = set()

        def live_owners() -> list[int]:
            owners = [by_title[c.post.title] for a in sites.adapters.values() for c in a.live()]
            for adapter in sites.adapters.values():  # at most one live post per story and site
                titles = [c.post.title for c in adapter.live()]
                assert len(titles) == len(set(titles)), titles
            return owners

        for command, index in commands:
            story_id = ids[index]
            try:
                if command == "approve":
                    publisher.approve_story(story_id)
                    ever_approved.add(story_id)
                elif command == "reject":
                    publisher.reject_story(story_id, reason="x")
                elif command == "retract":
                    publisher.retract_story(story_id)
                elif command == "fail":
                    sites["landelijk"].fail_next.append(transport_error())
                else:
                    list(publisher.syndicate())
            except InvalidTransitionError:
                pass
            assert set(live_owners()) <= ever_approved
        # once the failures are over and retries are due, only approved stories are online
        sites["landelijk"].fail_next.clear()
        later = datetime.now(timezone.utc) + timedelta(days=1)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sociaalwerk_publisher.syndication.utcnow", lambda: later)
            list(publisher.syndicate())
        approved = {s.id for s in publisher.list_stories() if s.status is StoryStatus.APPROVED}
        assert set(live_owners()) <= approved


@pytest.mark.parametrize("source, organisation, municipality, said", [
    ("Blog Welzijn Noord (Amsterdam)", "Welzijn Noord", "Amsterdam", "op Blog Welzijn Noord (Amsterdam)."),
    ("Blog Noord", "Welzijn Noord", "Amsterdam", "op Blog Noord van Welzijn Noord (Amsterdam)."),
    ("Sociaal werkers Zwolle", "Travers Welzijn", "Zwolle", "op Sociaal werkers Zwolle van Travers Welzijn."),
    ("Welzijn Amsterdam", "Welzijn Amsterdam", "Amsterdam", "op Welzijn Amsterdam."),
    ("Buurtblog", None, None, "op Buurtblog."),
])
def test_the_attribution_says_each_fact_once(source: str, organisation: str | None, municipality: str | None,
                                             said: str) -> None:
    from types import SimpleNamespace

    from sociaalwerk_publisher.rendering import render

    body = render("post.html.j2", None, story=SimpleNamespace(content_html="<p>x</p>", url="https://x.nl/a"),
                  source_title=source, organisation=organisation, ambassador=None, municipality=municipality)
    text = re.sub(r"<[^>]+>", "", body.split('class="swp-attributie"', 1)[1]).split("\n", 1)[1].strip()
    assert text == f"Dit verhaal verscheen eerder {said}"

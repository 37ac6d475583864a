"""Review: every decision follows the transition table and is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataclasses import replace

from sociaalwerk_publisher import Publisher, SourceKind, StoryFilter, StoryStatus
from sociaalwerk_publisher.config import Config, DestinationConfig, DestinationFilter, ReviewConfig
from sociaalwerk_publisher.exceptions import InvalidTransitionError, StoryNotFoundError
from sociaalwerk_publisher.review import TRANSITIONS

from .stories import seed

ITEMS = [{"guid": "1", "title": "Eerste", "html": "<p>een</p>"},
         {"guid": "2", "title": "Tweede", "html": "<p>twee</p>"}]


def ids(publisher: Publisher) -> list[int]:
    return sorted(s.id for s in publisher.list_stories())


def test_approving_records_who_when_and_why(publisher: Publisher, tmp_path: Path) -> None:
    seed(publisher, tmp_path, ITEMS)
    first, second = ids(publisher)
    publisher.approve_story(first, second, by="marieke", note="mooi verhaal")
    assert {s.status for s in publisher.list_stories()} == {StoryStatus.APPROVED}
    (decision,) = publisher.story_history(first)
    assert (decision.decided_by, decision.note, decision.from_status, decision.to_status) == (
        "marieke", "mooi verhaal", StoryStatus.NEW, StoryStatus.APPROVED)
    assert decision.decided_at.tzinfo is not None


def test_without_by_the_os_user_is_recorded(publisher: Publisher, tmp_path: Path) -> None:
    import getpass

    seed(publisher, tmp_path, ITEMS[:1])
    (story_id,) = ids(publisher)
    publisher.reject_story(story_id, reason="te persoonlijk")
    (decision,) = publisher.story_history(story_id)
    assert decision.decided_by == getpass.getuser() and decision.note == "te persoonlijk"


def test_a_rejected_story_can_be_reconsidered_but_a_retracted_one_is_final(publisher: Publisher, tmp_path: Path) -> None:
    seed(publisher, tmp_path, ITEMS[:1])
    (story_id,) = ids(publisher)
    publisher.reject_story(story_id, reason="nee")
    publisher.approve_story(story_id, note="toch wel")
    publisher.retract_story(story_id, note="op verzoek")
    with pytest.raises(InvalidTransitionError, match="retracted; it cannot become approved"):
        publisher.approve_story(story_id)
    assert [d.to_status for d in publisher.story_history(story_id)] == [
        StoryStatus.REJECTED, StoryStatus.APPROVED, StoryStatus.RETRACTED]


@pytest.mark.parametrize("start, target", [
    (start, target) for start in StoryStatus for target in StoryStatus
    if target not in TRANSITIONS[start] and target is not StoryStatus.NEW
])
def test_decisions_outside_the_transition_table_are_refused(publisher: Publisher, tmp_path: Path,
                                                           start: StoryStatus, target: StoryStatus) -> None:
    seed(publisher, tmp_path, ITEMS[:1])
    (story_id,) = ids(publisher)
    path = {StoryStatus.NEW: [], StoryStatus.APPROVED: ["approve"], StoryStatus.REJECTED: ["reject"],
            StoryStatus.RETRACTED: ["approve", "retract"]}[start]
    act = {"approve": lambda: publisher.approve_story(story_id),
           "reject": lambda: publisher.reject_story(story_id, reason="x"),
           "retract": lambda: publisher.retract_story(story_id)}
    for step in path:
        act[step]()
    verb = {StoryStatus.APPROVED: "approve", StoryStatus.REJECTED: "reject", StoryStatus.RETRACTED: "retract"}[target]
    with pytest.raises(InvalidTransitionError):
        act[verb]()
    assert publisher.get_story(story_id).status is start


def test_unknown_story_ids_are_reported(publisher: Publisher) -> None:
    with pytest.raises(StoryNotFoundError):
        publisher.approve_story(12345)


def test_trusted_sources_are_auto_approved_only_when_switched_on(tmp_path: Path, database_url: str) -> None:
    from sociaalwerk_publisher import make_publisher

    from .conftest import make_config

    base = make_config(tmp_path, database_url)
    with make_publisher(base) as off:
        seed(off, tmp_path, ITEMS[:1], trusted=True)
        assert off.auto_approve() == []
    on = Config(database=base.database, fetch=base.fetch, review=ReviewConfig(auto_approve_trusted=True))
    with make_publisher(on) as publisher:
        seed(publisher, tmp_path, ITEMS[1:], title="Niet vertrouwd")
        decided = publisher.auto_approve()
        assert len(decided) == 1 and decided[0].decided_by == "auto"
        statuses = {s.title: s.status for s in publisher.list_stories()}
        assert statuses == {"Eerste": StoryStatus.APPROVED, "Tweede": StoryStatus.NEW}


def test_a_press_item_is_no_story_to_approve_or_reject(publisher: Publisher, tmp_path: Path) -> None:
    seed(publisher, tmp_path, ITEMS[:1], kind=SourceKind.ALERT)
    (alert,) = ids(publisher)
    for decide in (lambda: publisher.approve_story(alert), lambda: publisher.reject_story(alert, reason="x")):
        with pytest.raises(InvalidTransitionError) as refused:
            decide()
        assert str(refused.value) == (
            f"story {alert} is a press item (alert): it counts as press coverage and is not reviewed,"
            " since no destination publishes alert items (destinations.filter.kinds)")
    assert publisher.get_story(alert).status is StoryStatus.NEW and publisher.story_history(alert) == []
    assert publisher.review_queue() == []


def test_a_press_item_is_reviewed_where_a_destination_publishes_its_kind(tmp_path: Path, database_url: str) -> None:
    from sociaalwerk_publisher import make_publisher

    from .conftest import make_config

    press_page = DestinationConfig(name="in-de-pers", adapter="wxr", path="pers.xml",
                                   filter=DestinationFilter(kinds=("media",)))
    with make_publisher(replace(make_config(tmp_path, database_url), destinations=(press_page,))) as publisher:
        seed(publisher, tmp_path, ITEMS[:1], kind=SourceKind.MEDIA)
        (item,) = ids(publisher)
        assert [s.id for s in publisher.review_queue()] == [item]
        publisher.approve_story(item)
        assert publisher.get_story(item).status is StoryStatus.APPROVED


def test_the_review_queue_has_the_longest_waiting_first(publisher: Publisher, tmp_path: Path) -> None:
    seed(publisher, tmp_path, [{"guid": "n", "title": "Nieuwste", "html": "<p>c</p>", "date": "Wed, 25 Nov 2026 10:00:00 +0100"},
                               {"guid": "o", "title": "Oudste", "html": "<p>a</p>", "date": "Mon, 23 Nov 2026 10:00:00 +0100"}])
    seed(publisher, tmp_path, [{"guid": "l", "title": "Later gevonden", "html": "<p>b</p>",
                                "date": "Sun, 01 Nov 2026 10:00:00 +0100"}])
    assert [s.title for s in publisher.review_queue()] == ["Oudste", "Nieuwste", "Later gevonden"]
    assert [s.title for s in publisher.list_stories(StoryFilter())][0] == "Nieuwste"  # lists stay newest first

"""Alerts: new mentions the rules match, one mail per recipient per cycle; spikes, one mail each.

The fixture (``build``), media items fetched now, and who gets what:

====  ==============================================  ==============================================
item  what                                            rules (recipients)
====  ==============================================  ==============================================
1     sociaal werk of "Travers" (an alias) with       Travers Welzijn (pers@travers, landelijk@swn),
      "dakloosheid"                                   Dakloosheid (beleid@swn)
2     Gedeputeerde Jansen (a gouden name)             Gouden namen (landelijk@swn)
3     welzijnswerk in Zwolle (a gouden gemeente)      Gouden gemeenten (regio@swn)
4     "Travers" and "sociale werkplaats"              none: excluded, does not count
====  ==============================================  ==============================================

So the first cycle mails 4 messages: pers@travers (1 mention), landelijk@swn (2 mentions, a part
for each of its rules), beleid@swn (1 mention) and regio@swn (1); the next cycle none.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from sociaalwerk_publisher import Publisher, SourceKind, make_publisher
from sociaalwerk_publisher.alerts import in_quiet_hours, spike_threshold
from sociaalwerk_publisher.cli import cli
from sociaalwerk_publisher.clock import utcnow
from sociaalwerk_publisher.coverage.periods import AMSTERDAM
from sociaalwerk_publisher.mail import Outbox

from .smtp import SmtpServer
from .stories import refetch, seed

ITEMS = [
    {"guid": "1", "title": "Travers helpt bij dakloosheid", "link": "https://www.destentor.nl/zwolle/dakloos",
     "html": "<p>Het sociaal werk van Travers ziet de dakloosheid in de stad groeien.</p>"},
    {"guid": "2", "title": "Gedeputeerde Jansen bezoekt buurthuis", "link": "https://www.destentor.nl/regio/jansen",
     "html": "<p>Gedeputeerde Jansen sprak met het sociaal werk in de wijk.</p>"},
    {"guid": "3", "title": "Welzijnswerk in Zwolle groeit", "link": "https://www.destentor.nl/zwolle/groei",
     "html": "<p>Het welzijnswerk in Zwolle krijgt er een plek bij.</p>"},
    {"guid": "4", "title": "Travers en de sociale werkplaats", "link": "https://www.destentor.nl/zwolle/werkplaats",
     "html": "<p>Travers opent een sociale werkplaats.</p>"},
]
NEW_ITEM = {"guid": "5", "title": "Travers opent inloophuis", "link": "https://www.destentor.nl/zwolle/inloop",
            "html": "<p>Sociaal werkers van Travers openen een inloophuis.</p>"}

RULES = """
[alerts]
quiet_hours = "22:00-07:00"

[[alerts.rules]]
name = "Travers Welzijn"
recipients = ["pers@travers.example", "landelijk@swn.example"]
organisations = ["travers"]

[[alerts.rules]]
name = "Gouden namen"
recipients = ["landelijk@swn.example"]
gouden = true

[[alerts.rules]]
name = "Dakloosheid"
recipients = ["beleid@swn.example"]
terms = ["dakloos*"]

[[alerts.rules]]
name = "Gouden gemeenten"
recipients = ["regio@swn.example"]
gouden_gemeenten = true
"""


def write_config(path: Path, database_url: str, smtp: SmtpServer, alerts: str) -> Path:
    path.write_text(f"""
[database]
url = "{database_url}"

[fetch]
parse_processes = 1

[coverage]
organisations = {{ "Travers Welzijn" = ["Travers"] }}

[campaign]
gouden = ["Gedeputeerde Jansen"]
gouden_gemeenten = ["Zwolle"]

[email]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
sender = "Sociaal Werk Nederland <publisher@sociaalwerk.example>"
recipients = ["communicatie@sociaalwerk.example"]
{alerts}""", encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path: Path, smtp: SmtpServer, database_url: str) -> Path:
    return write_config(tmp_path / "sociaalwerk-publisher.toml", database_url, smtp, RULES)


@pytest.fixture
def publisher(config: Path) -> Iterator[Publisher]:
    with make_publisher(config) as p:
        yield p


def day_time(hour: int, minute: int = 0, days: int = 0) -> datetime:
    """Today (or ``days`` later) at this time in Amsterdam: the items are fetched today."""
    today = utcnow().astimezone(AMSTERDAM).date()
    return datetime.combine(today + timedelta(days=days), time(hour, minute), AMSTERDAM)


NOON = day_time(12)


def mailed(smtp: SmtpServer) -> dict[str, list]:
    by_recipient: dict[str, list] = {}
    for received in smtp.received:
        for recipient in received.recipients:
            by_recipient.setdefault(recipient, []).append(received.message)
    return by_recipient


def plain(message) -> str:
    return next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content().replace("\r\n", "\n")


def cycle(publisher: Publisher, now: datetime) -> list[str]:
    publisher.match_coverage()
    return list(publisher.send_alerts(now=now).queued)


# -- rules --------------------------------------------------------------------------------


def test_a_cycle_mails_each_recipient_once_with_a_part_per_rule(
        publisher: Publisher, smtp: SmtpServer, tmp_path: Path) -> None:
    seed(publisher, tmp_path, ITEMS, kind=SourceKind.MEDIA, title="De Stentor")
    assert len(cycle(publisher, NOON)) == 4
    got = mailed(smtp)
    assert sorted((r, len(m)) for r, m in got.items()) == [
        ("beleid@swn.example", 1), ("landelijk@swn.example", 1), ("pers@travers.example", 1),
        ("regio@swn.example", 1)]
    (national,) = got["landelijk@swn.example"]
    assert national["Subject"] == "Nieuwe vermeldingen: 2 vermeldingen (Travers Welzijn, Gouden namen)"
    body = plain(national)
    assert "Travers Welzijn: 1 vermelding" in body and "Gouden namen: 1 vermelding" in body
    assert body.index("Travers helpt bij dakloosheid") < body.index("Gedeputeerde Jansen bezoekt buurthuis")
    assert "https://www.destentor.nl/regio/jansen" in body
    assert "Welzijnswerk in Zwolle" not in body and "sociale werkplaats" not in body
    (travers,) = got["pers@travers.example"]
    assert travers["Subject"] == "Nieuwe vermeldingen: 1 vermelding (Travers Welzijn)"
    assert smtp.received[[r.message for r in smtp.received].index(travers)].recipients == ["pers@travers.example"]
    (policy,) = got["beleid@swn.example"]
    assert "Dakloosheid: 1 vermelding" in plain(policy) and "Travers helpt bij dakloosheid" in plain(policy)
    html = next(p for p in policy.walk() if p.get_content_type() == "text/html").get_content()
    assert '<a href="https://www.destentor.nl/zwolle/dakloos"' in html
    (region,) = got["regio@swn.example"]
    assert "Gouden gemeenten: 1 vermelding" in plain(region) and "Welzijnswerk in Zwolle groeit" in plain(region)
    assert "· Zwolle" in plain(region)

    assert cycle(publisher, NOON + timedelta(minutes=15)) == []  # nothing new: no mail
    assert len(smtp.received) == 4


def test_a_mention_fetched_later_alerts_in_the_next_cycle_once(
        publisher: Publisher, smtp: SmtpServer, tmp_path: Path) -> None:
    source = seed(publisher, tmp_path, ITEMS, kind=SourceKind.MEDIA, title="De Stentor")
    cycle(publisher, NOON)
    refetch(publisher, source, [*ITEMS, NEW_ITEM], title="De Stentor")
    assert len(cycle(publisher, NOON + timedelta(minutes=15))) == 2  # the Travers rule's two recipients
    second = mailed(smtp)["pers@travers.example"][1]
    assert "Travers opent inloophuis" in plain(second) and "Travers helpt" not in plain(second)
    assert sorted(len(m) for m in mailed(smtp).values()) == [1, 1, 2, 2]


def test_the_run_cycle_alerts_after_matching_and_says_so(config: Path, publisher: Publisher, smtp: SmtpServer,
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(publisher, tmp_path, ITEMS, kind=SourceKind.MEDIA, title="De Stentor")
    monkeypatch.setattr("sociaalwerk_publisher.core.utcnow", lambda: NOON)  # outside the quiet hours
    result = publisher.run_cycle(("coverage", "alerts"))
    assert len(result.alerts) == 4 and result.errors == []
    assert "; alerts 4;" in result.summary()
    assert len(smtp.received) == 4


def test_a_part_lists_the_newest_hundred_and_says_how_many_more(
        publisher: Publisher, smtp: SmtpServer, tmp_path: Path) -> None:
    items = [{"guid": f"d{i}", "title": f"Dakloosheid in wijk {i}", "link": f"https://www.destentor.nl/d/{i}",
              "date": (NOON - timedelta(hours=1, minutes=i)).strftime("%a, %d %b %Y %H:%M:%S %z"),
              "html": f"<p>Sociaal werk tegen dakloosheid, deel {i} van een lange reeks nummer {i * 7919}.</p>"}
             for i in range(103)]
    seed(publisher, tmp_path, items, kind=SourceKind.MEDIA, title="De Stentor")
    cycle(publisher, NOON)
    (policy,) = mailed(smtp)["beleid@swn.example"]
    body = plain(policy)
    assert "Dakloosheid: 103 vermeldingen" in body and "en 3 meer" in body
    assert "wijk 0\n" in body and "wijk 99\n" in body and "wijk 100\n" not in body  # the newest first


def test_alerts_are_in_the_reports_language(tmp_path: Path, smtp: SmtpServer, database_url: str) -> None:
    english = write_config(tmp_path / "en.toml", database_url, smtp, '[report]\nlanguage = "en"\n' + RULES)
    with make_publisher(english) as publisher:
        seed(publisher, tmp_path, ITEMS, kind=SourceKind.MEDIA, title="De Stentor")
        cycle(publisher, NOON)
    (travers,) = mailed(smtp)["pers@travers.example"]
    assert travers["Subject"] == "New mentions: 1 mention (Travers Welzijn)"
    assert "Travers Welzijn: 1 mention" in plain(travers)


# -- quiet hours ----------------------------------------------------------------------------


def test_quiet_hours_hold_alerts_over_midnight_and_then_send_one_mail_with_everything(
        publisher: Publisher, smtp: SmtpServer, tmp_path: Path) -> None:
    source = seed(publisher, tmp_path, ITEMS, kind=SourceKind.MEDIA, title="De Stentor")
    assert cycle(publisher, day_time(23, 30)) == []
    refetch(publisher, source, [*ITEMS, NEW_ITEM], title="De Stentor")
    assert cycle(publisher, day_time(3, 0, days=1)) == []
    assert cycle(publisher, day_time(6, 59, days=1)) == []
    assert smtp.received == []
    assert len(cycle(publisher, day_time(7, 0, days=1))) == 4
    (travers,) = mailed(smtp)["pers@travers.example"]
    assert "Travers Welzijn: 2 vermeldingen" in plain(travers)


@pytest.mark.parametrize(("moment", "quiet"), [
    ((21, 59), False), ((22, 0), True), ((0, 30), True), ((6, 59), True), ((7, 0), False), ((12, 0), False)])
def test_quiet_hours_are_amsterdam_time_and_may_cross_midnight(moment: tuple[int, int], quiet: bool) -> None:
    local = datetime.combine(date(2026, 7, 1), time(*moment), AMSTERDAM)  # summer time: UTC+2
    assert in_quiet_hours(local.astimezone(timezone.utc), "22:00-07:00") is quiet
    assert in_quiet_hours(local, "09:00-17:00") is (9 <= moment[0] < 17)
    assert in_quiet_hours(local, "") is False


# -- nothing lost, nothing twice -----------------------------------------------------------


def test_an_alert_waits_out_a_mail_server_outage_and_is_sent_once(
        publisher: Publisher, smtp: SmtpServer, tmp_path: Path) -> None:
    seed(publisher, tmp_path, ITEMS, kind=SourceKind.MEDIA, title="De Stentor")
    smtp.stop()
    assert len(cycle(publisher, NOON)) == 4
    assert [i.state for i in publisher.outbox()] == ["pending"] * 4
    smtp.start()
    assert cycle(publisher, NOON + timedelta(minutes=15)) == []  # seen: not queued again
    assert [d.ok for d in publisher.deliver_outbox(force=True)] == [True] * 4
    assert publisher.deliver_outbox(force=True) == []
    assert sorted(len(m) for m in mailed(smtp).values()) == [1, 1, 1, 1]


def test_a_run_killed_between_queueing_and_sending_sends_each_alert_once_later(
        config: Path, publisher: Publisher, smtp: SmtpServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    seed(publisher, tmp_path, ITEMS, kind=SourceKind.MEDIA, title="De Stentor")
    publisher.match_coverage()

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(Outbox, "deliver", killed)
        with pytest.raises(KeyboardInterrupt):
            publisher.send_alerts(now=NOON)
    publisher.close()
    with make_publisher(config) as next_run:
        assert next_run.send_alerts(now=NOON + timedelta(minutes=15)).queued == ()
        next_run.run_cycle(("outbox",))
        next_run.run_cycle(("outbox",))
    assert sorted(len(m) for m in mailed(smtp).values()) == [1, 1, 1, 1]


def test_two_workers_at_the_same_moment_send_each_alert_once(
        config: Path, publisher: Publisher, smtp: SmtpServer, tmp_path: Path) -> None:
    seed(publisher, tmp_path, ITEMS, kind=SourceKind.MEDIA, title="De Stentor")
    publisher.match_coverage()
    workers = [make_publisher(config) for _ in range(2)]
    start = threading.Barrier(2)
    queued: list[tuple[str, ...]] = []

    def work(worker: Publisher) -> None:
        start.wait()
        queued.append(worker.send_alerts(now=NOON).queued)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in workers:
        worker.close()
    assert sorted(len(q) for q in queued) == [0, 4]
    assert sorted(len(m) for m in mailed(smtp).values()) == [1, 1, 1, 1]


def test_only_mentions_fetched_in_the_last_seven_days_alert(
        publisher: Publisher, smtp: SmtpServer, tmp_path: Path) -> None:
    seed(publisher, tmp_path, ITEMS, kind=SourceKind.MEDIA, title="De Stentor")
    assert cycle(publisher, NOON + timedelta(days=8)) == []  # a big import of old items mails nothing
    assert smtp.received == []


def test_alerts_switched_on_later_start_from_then(
        tmp_path: Path, smtp: SmtpServer, database_url: str) -> None:
    without = write_config(tmp_path / "zonder.toml", database_url, smtp, "")
    with make_publisher(without) as publisher:
        seed(publisher, tmp_path, ITEMS, kind=SourceKind.MEDIA, title="De Stentor")
        publisher.run_cycle(("coverage", "alerts"))
    with make_publisher(write_config(tmp_path / "met.toml", database_url, smtp, RULES)) as publisher:
        assert publisher.send_alerts(now=NOON).queued == ()
    assert smtp.received == []


def test_an_upgraded_store_marks_the_recent_mentions_seen(
        config: Path, publisher: Publisher, smtp: SmtpServer, tmp_path: Path) -> None:
    from sociaalwerk_publisher._storage._schema import MIGRATIONS, _to_version_7

    seed(publisher, tmp_path, ITEMS, kind=SourceKind.MEDIA, title="De Stentor")
    publisher.match_coverage()
    with publisher._storage.begin() as conn:  # as a store of the version before alerts
        conn.execute(text("DROP TABLE alerted_mentions"))
        conn.execute(text("DROP TABLE alert_spikes"))
        conn.execute(text("UPDATE schema_version SET version = :v"), {"v": MIGRATIONS.index(_to_version_7)})
    publisher.close()
    from sociaalwerk_publisher.config import load_config
    from sociaalwerk_publisher.core import upgrade_database

    upgrade_database(load_config(config))
    with make_publisher(config) as upgraded:
        assert upgraded.send_alerts(now=NOON).queued == ()  # the history is not mailed
    assert smtp.received == []


# -- configuration --------------------------------------------------------------------------


def test_alerts_without_a_mail_server_are_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "sociaalwerk-publisher.toml"
    path.write_text('[alerts]\nspike_recipients = ["pers@swn.example"]\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "status"])
    assert result.exit_code == 2
    assert "email.host" in result.output and "alerts are e-mailed" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(("rules", "key"), [
    ('[[alerts.rules]]\nname = "x"\nrecipients = ["a@b.nl"]\n', "alerts.rules[0]"),
    ('[[alerts.rules]]\nname = "x"\nrecipients = []\nterms = ["a"]\n', "alerts.rules[0].recipients"),
    ('quiet_hours = "22-07"\n', "alerts.quiet_hours"),
    ('spike_k = -1\n', "alerts.spike_k"),
    ('spike_minimum = 0\n', "alerts.spike_minimum"),
])
def test_a_wrong_alert_setting_names_its_key(tmp_path: Path, smtp: SmtpServer, rules: str, key: str) -> None:
    path = write_config(tmp_path / "c.toml", f"sqlite:///{tmp_path / 'db.sqlite'}", smtp, "[alerts]\n" + rules)
    result = CliRunner().invoke(cli, ["--config", str(path), "status"])
    assert result.exit_code == 2 and key in result.output


def test_a_rule_on_an_unknown_organisation_fails_the_step_with_its_name(
        tmp_path: Path, smtp: SmtpServer, database_url: str) -> None:
    rules = '[alerts]\n[[alerts.rules]]\nname = "Zuid"\nrecipients = ["a@zuid.nl"]\norganisations = ["Welzijn Zuid"]\n'
    with make_publisher(write_config(tmp_path / "c.toml", database_url, smtp, rules)) as publisher:
        result = publisher.run_cycle(("alerts",))
    assert result.errors == ["alerts: alerts.rules[0].organisations: 'Welzijn Zuid' is not a member organisation"
                             " (known: Travers Welzijn)"]


# -- spikes ---------------------------------------------------------------------------------
# A month: two mentions a day (10:00 and 15:00), and twelve more on 21 November and on 29
# November between 09:00 and 10:00. Checked every 6 hours: on the 21st at 12:00 the last 24
# hours hold 14 against 2 every day before (threshold 2 + 3 x 0 = 2): a spike. It lasts a day;
# on the 22nd at 12:00 the day before is the 14 itself and the count 2: re-armed. On the 29th
# the week before is 2 a day again: the second spike. Tiny counts (1 against 0 on 1 November)
# stay under the minimum of 10.

SPIKES = '[alerts]\nspike_recipients = ["pers@swn.example"]\nspike_k = 3\nspike_minimum = 10\n'


def _month() -> list[dict[str, str]]:
    items = []
    for day in range(1, 31):
        moments = [(10, 0), (15, 0)] + ([(9, 5 * i) for i in range(12)] if day in (21, 29) else [])
        for hour, minute in moments:
            when = datetime(2026, 11, day, hour, minute, tzinfo=AMSTERDAM)
            n = len(items)
            items.append({"guid": f"m{n}", "title": f"Sociaal werk bericht {n}", "link": f"https://www.destentor.nl/m/{n}",
                          "date": when.strftime("%a, %d %b %Y %H:%M:%S %z"),
                          "html": f"<p>Sociaal werk in de wijk, bericht {n}: {' '.join(str(n * p) for p in range(2, 30))}.</p>"})
    return items


def test_a_spike_alerts_once_while_it_lasts_and_again_when_it_comes_back(
        tmp_path: Path, smtp: SmtpServer, database_url: str) -> None:
    with make_publisher(write_config(tmp_path / "c.toml", database_url, smtp, SPIKES)) as publisher:
        seed(publisher, tmp_path, _month(), kind=SourceKind.MEDIA, title="De Stentor")
        publisher.match_coverage()
        moment, spikes = datetime(2026, 11, 1, 0, 0, tzinfo=AMSTERDAM), []
        while moment < datetime(2026, 12, 1, tzinfo=AMSTERDAM):
            if publisher.send_alerts(now=moment).spike:
                spikes.append(moment)
            moment += timedelta(hours=6)
    assert spikes == [datetime(2026, 11, 21, 12, 0, tzinfo=AMSTERDAM), datetime(2026, 11, 29, 12, 0, tzinfo=AMSTERDAM)]
    got = mailed(smtp)["pers@swn.example"]
    assert [m["Subject"] for m in got] == ["Piek in de persaandacht: 14 vermeldingen in 24 uur"] * 2
    assert ("14 vermeldingen in de afgelopen 24 uur, tegen gemiddeld 2,0 per dag in de 7 dagen ervoor"
            " (een piek is meer dan 2,0 en minstens 10)") in " ".join(plain(got[0]).split())
    assert "Een piek wordt één keer gemeld, niet opnieuw zolang hij duurt" in " ".join(plain(got[0]).split())


def test_the_spike_threshold_is_the_mean_plus_k_standard_deviations() -> None:
    assert spike_threshold([2] * 7, 3) == 2
    assert spike_threshold([14, 2, 2, 2, 2, 2, 2], 3) == pytest.approx(26 / 7 + 3 * (6048 / 343) ** 0.5)

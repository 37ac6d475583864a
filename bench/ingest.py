#!/usr/bin/env python3
"""Ingest benchmark: this project vs. the floor (requests + feedparser) vs. lemon24's reader.

One run serves F feeds x E entries from a local threaded HTTP server on 127.0.0.1
(RSS 2.0, content:encoded with ~1.5 KB of Dutch HTML per entry, ETag / 304 support,
optional per-request latency) and times, each contender in its own fresh process:

  floor   plain requests (one Session) + feedparser.parse(bytes), serial, no storage;
          then a conditional re-poll (If-None-Match and If-Modified-Since -> 304), on that
          Session and again on a new one (its own connection, as a new process has)
  reader  reader 3.x in bench/.venv-reader: make_reader(db), add_feed, update_feeds x2
  ours    sociaalwerk_publisher: make_publisher, add_source, fetch_sources x2; then, each in a
          fresh process on that store, the CLI's `fetch --quiet` and the `run` cycle's fetch step
  scale   ours, 1,000 unchanged feeds with 100 ms latency each, second poll timed

This file imports only the standard library at the top, so the reader venv's
python can run it as a worker (``--worker reader``). See bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV = HERE / ".venv-reader"
VENV_PYTHON = VENV / "bin" / "python"
READER_REQUIREMENTS = ["reader>=3,<4", "sgmllib3k"]

TARGETS = {
    "ours_first/floor_first": ("<=", 0.8),
    "ours_first/reader_first": ("<", 1.0),
    "ours_second/floor_conditional": ("<=", 1.5),
    "ours_cli_fetch/floor_fresh": ("<=", 1.2),
    "ours_run_fetch/floor_fresh": ("<=", 1.2),
    "scale_second_poll_s": ("<=", 10.0),
    "ours_peak_rss_mb": ("<=", 200.0),
}

# --------------------------------------------------------------------------------------------
# Content: deterministic, realistic Dutch sociaal-werk blog posts
# --------------------------------------------------------------------------------------------

ORGANISATIONS = [
    "Wijkteam Noord", "Stichting Welzijn Oost", "Jongerenwerk De Brug", "Buurtwerk Zuid",
    "Sociaal Team Centrum", "Schuldhulp Samen", "MEE en de Wering", "Welzijn Lokaal",
    "Kwartier Sociaal Werk", "Dock Buurtwerk", "Combiwel", "Wij Eindhoven",
]
TOPICS = ["wijkteams", "jongerenwerk", "schuldhulp", "mantelzorg", "buurtwerk", "armoede",
          "eenzaamheid", "opvoedondersteuning", "participatie", "welzijn op recept"]
TITLE_PARTS = [
    ("Hoe het wijkteam", "samen met bewoners", "een nieuwe start maakte"),
    ("Jongerenwerkers", "in de avonduren", "bouwen aan vertrouwen"),
    ("Schuldhulp dichtbij:", "vroeg signaleren", "voorkomt grote problemen"),
    ("Buurthuis weer open", "dankzij vrijwilligers", "en een sterk netwerk"),
    ("Mantelzorgers vertellen", "over hun week", "en wat hen helpt"),
    ("Sociaal werkers", "op de markt", "in gesprek met de wijk"),
    ("Van zorgen naar perspectief:", "een jaar", "met de budgetcoach"),
    ("Samen koken,", "samen praten", "in de huiskamer van de buurt"),
]
SENTENCES = [
    "In de wijk {wijk} gaan sociaal werkers elke week langs bij bewoners die het lastig hebben.",
    "Het wijkteam werkt nauw samen met de huisarts, de woningcorporatie en de school.",
    "Jongeren vinden bij het jongerenwerk een plek waar ze gehoord worden en kunnen meedoen.",
    "Schulden ontstaan vaak ongemerkt; wie vroeg hulp vraagt, voorkomt veel stress.",
    "Een budgetcoach helpt om overzicht te krijgen in rekeningen, toeslagen en afspraken.",
    "Vrijwilligers zijn onmisbaar: zij openen de deuren van het buurthuis en zetten de koffie.",
    "Volgens de gemeente {gemeente} is preventief sociaal werk goedkoper dan dure zorg achteraf.",
    "Tijdens het spreekuur kunnen bewoners zonder afspraak binnenlopen met hun vragen.",
    "Mantelzorgers krijgen een luisterend oor en praktische tips om het vol te houden.",
    "De sociaal werker kent de buurt, de sleutelfiguren en de korte lijntjes naar hulp.",
    "Ouders konden in de opvoedcursus ervaringen delen en van elkaar leren.",
    "Met de inzet van ervaringsdeskundigen bereiken we mensen die anders buiten beeld blijven.",
    "Het project loopt tot het einde van het jaar en wordt daarna geëvalueerd met de wijkraad.",
    "‘Ik voelde me eindelijk serieus genomen,’ vertelt een bewoner na het eerste gesprek.",
    "Eenzaamheid onder ouderen vraagt om aandacht, en om kleine ontmoetingen in de straat.",
    "De straatcoaches en jongerenwerkers trekken samen op tijdens de zomermaanden.",
]
WIJKEN = ["Kanaleneiland", "Overvecht", "Schilderswijk", "Bijlmer", "Tarwewijk", "Woensel",
          "Presikhaaf", "De Kolenkit", "Malburgen", "Hoogvliet", "Selwerd", "Zuidwijk"]
GEMEENTEN = ["Utrecht", "Den Haag", "Amsterdam", "Rotterdam", "Eindhoven", "Arnhem",
             "Groningen", "Zwolle", "Tilburg", "Nijmegen", "Almere", "Leeuwarden"]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def entry_html(rng: random.Random, site: str, org: str, post_url: str, title: str) -> str:
    """~1.5 KB of HTML: paragraphs, links (absolute and relative), an <img>, <strong>."""
    wijk, gemeente, topic = rng.choice(WIJKEN), rng.choice(GEMEENTEN), rng.choice(TOPICS)

    def sentences(n: int) -> str:
        return " ".join(rng.choice(SENTENCES).format(wijk=wijk, gemeente=gemeente) for _ in range(n))

    image = f"{site}/wp-content/uploads/2024/{rng.randint(1, 12):02d}/{_slug(wijk)}-{rng.randint(100, 999)}.jpg"
    parts = [
        f"<p><strong>{sentences(1)}</strong></p>",
        f'<p><img src="{image}" alt="Bewoners en sociaal werkers in {wijk}" width="800" height="533" '
        f'class="wp-image-{rng.randint(1000, 9999)}" /></p>',
        f"<p>{sentences(2)} Lees meer over <a href=\"{site}/thema/{_slug(topic)}/\">{topic}</a> "
        f"bij {org}.</p>",
        f"<p>{sentences(2)} <strong>{rng.choice(SENTENCES).format(wijk=wijk, gemeente=gemeente)}</strong></p>",
        f'<p>{sentences(1)} Zie ook <a href="/contact/">ons spreekuur</a> en de '
        f'<a href="https://www.sociaalwerknederland.nl/{_slug(topic)}">landelijke informatie</a>.</p>',
        f"<p>Het bericht <a href=\"{post_url}\">{title}</a> verscheen eerst op "
        f"<a href=\"{site}\">{org}</a>.</p>",
    ]
    return "\n".join(parts)


def make_feed(index: int, entries: int, base_url: str) -> bytes:
    """One RSS 2.0 feed (WordPress-like) with ``entries`` items; deterministic per index."""
    rng = random.Random(f"feed-{index}-{entries}")
    org = f"{ORGANISATIONS[index % len(ORGANISATIONS)]} {index}"
    site = f"https://www.{_slug(org)}.example.nl"
    start = datetime(2024, 6, 1, 9, 0, tzinfo=timezone.utc)
    items = []
    for j in range(entries):
        a, b, c = rng.choice(TITLE_PARTS)
        title = f"{a} {b} {c} ({rng.choice(WIJKEN)}, deel {j + 1})"
        published = start - timedelta(hours=7 * j + index % 5)
        post_url = f"{site}/{published:%Y/%m}/{_slug(title)}/"
        html = entry_html(rng, site, org, post_url, title)
        summary = re.sub(r"<[^>]+>", "", html.split("\n", 1)[0])[:200] + " [&#8230;]"
        items.append(f"""    <item>
      <title>{title}</title>
      <link>{post_url}</link>
      <dc:creator><![CDATA[{rng.choice(['Fatima', 'Jeroen', 'Sanne', 'Mohamed', 'Ineke'])} {rng.choice(['de Vries', 'Bakker', 'El Idrissi', 'Jansen'])}]]></dc:creator>
      <pubDate>{format_datetime(published, usegmt=True)}</pubDate>
      <category><![CDATA[{rng.choice(TOPICS)}]]></category>
      <category><![CDATA[{rng.choice(WIJKEN)}]]></category>
      <guid isPermaLink="false">{site}/?p={index * 100000 + j}</guid>
      <description><![CDATA[{summary}]]></description>
      <content:encoded><![CDATA[{html}]]></content:encoded>
    </item>""")
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>{org}</title>
    <atom:link href="{base_url}" rel="self" type="application/rss+xml" />
    <link>{site}</link>
    <description>Verhalen uit het sociaal werk van {org}</description>
    <language>nl-NL</language>
    <lastBuildDate>{format_datetime(start, usegmt=True)}</lastBuildDate>
{chr(10).join(items)}
  </channel>
</rss>
"""
    return body.encode("utf-8")


# --------------------------------------------------------------------------------------------
# Server: /l{latency_ms}/e{entries}/f{index}.xml, ETag + 304, optional latency
# --------------------------------------------------------------------------------------------

_PATH = re.compile(r"^/l(\d+)/e(\d+)/f(\d+)\.xml$")
#: every feed's Last-Modified: a 304 answers a matching If-None-Match or, without one, this date
LAST_MODIFIED = "Sat, 01 Jun 2024 09:00:00 GMT"


class FeedServer:
    def __init__(self) -> None:
        self._cache: dict[tuple[int, int], tuple[bytes, str]] = {}
        self._lock = threading.Lock()
        self.requests = {"200": 0, "304": 0, "other": 0}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                match = _PATH.match(self.path)
                if not match:
                    self._send(404, b"not found", {})
                    return
                latency, entries, index = map(int, match.groups())
                if latency:
                    time.sleep(latency / 1000)
                body, etag = outer.feed(index, entries, latency)
                validators = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
                if_none_match = self.headers.get("If-None-Match")
                if if_none_match == etag or (
                        if_none_match is None and self.headers.get("If-Modified-Since") == LAST_MODIFIED):
                    outer.count("304")
                    self._send(304, b"", validators)
                    return
                outer.count("200")
                self._send(200, body, {**validators, "Content-Type": "application/rss+xml; charset=UTF-8"})

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def count(self, key: str) -> None:
        with self._lock:
            self.requests[key] += 1

    def url(self, index: int, entries: int, latency_ms: int) -> str:
        return f"http://127.0.0.1:{self.port}/l{latency_ms}/e{entries}/f{index}.xml"

    def feed(self, index: int, entries: int, latency_ms: int = 0) -> tuple[bytes, str]:
        key = (index, entries)
        cached = self._cache.get(key)
        if cached is None:
            body = make_feed(index, entries, self.url(index, entries, latency_ms))
            cached = (body, '"' + hashlib.sha1(body).hexdigest() + '"')
            with self._lock:
                self._cache.setdefault(key, cached)
        return cached

    def urls(self, feeds: int, entries: int, latency_ms: int) -> list[str]:
        """The URLs, with every feed generated up front so no contender pays for it."""
        for i in range(feeds):
            self.feed(i, entries, latency_ms)
        return [self.url(i, entries, latency_ms) for i in range(feeds)]

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------------------------
# Workers: each runs in a fresh process and prints one JSON object on its last stdout line
# --------------------------------------------------------------------------------------------


def _peak_rss() -> dict[str, float]:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"rss_self_mb": round(own.ru_maxrss / 1024, 1),  # ru_maxrss is KiB on Linux
            "rss_children_mb": round(kids.ru_maxrss / 1024, 1),
            "peak_rss_mb": round((own.ru_maxrss + kids.ru_maxrss) / 1024, 1),
            "cpu_self_s": round(own.ru_utime + own.ru_stime, 2),
            "cpu_children_s": round(kids.ru_utime + kids.ru_stime, 2)}


def worker_floor(spec: dict) -> dict:
    import feedparser
    import requests

    urls = spec["urls"]
    session = requests.Session()
    validators: dict[str, dict[str, str]] = {}
    entries = 0
    t0 = time.perf_counter()
    for url in urls:
        response = session.get(url, timeout=60)
        response.raise_for_status()
        entries += len(feedparser.parse(response.content).entries)
        validators[url] = {"If-None-Match": response.headers["ETag"],
                           "If-Modified-Since": response.headers["Last-Modified"]}

    def conditional(session: requests.Session) -> int:
        return sum(session.get(url, headers=validators[url], timeout=60).status_code == 304
                   for url in urls)

    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    not_modified = conditional(session)
    second = time.perf_counter() - t0
    # as a re-poll in a new process starts: a new Session, so a new connection
    t0 = time.perf_counter()
    fresh_not_modified = conditional(requests.Session())
    fresh = time.perf_counter() - t0
    return {"first_s": first, "second_s": second, "fresh_s": fresh, "entries": entries,
            "not_modified": min(not_modified, fresh_not_modified), **_peak_rss()}


def worker_reader(spec: dict) -> dict:
    import reader as reader_module
    from reader import make_reader

    reader = make_reader(os.path.join(spec["tmp"], "reader.sqlite"))
    for url in spec["urls"]:
        reader.add_feed(url)
    workers = spec.get("reader_workers", 1)

    def update() -> tuple[float, dict[str, int]]:
        # update_feeds() is update_feeds_iter() drained; the iter form lets us check outcomes.
        # scheduled=False: reader 3.26 defaults to scheduled=True, which would skip the
        # second poll entirely (feeds not due yet) and measure nothing.
        outcome = {"ok": 0, "not_modified": 0, "error": 0}
        t0 = time.perf_counter()
        for result in reader.update_feeds_iter(scheduled=False, workers=workers):
            if isinstance(result.value, Exception):
                outcome["error"] += 1
            elif result.value is None:
                outcome["not_modified"] += 1
            else:
                outcome["ok"] += 1
        return time.perf_counter() - t0, outcome

    first, first_outcome = update()
    second, second_outcome = update()
    counts = reader.get_entry_counts()
    reader.close()
    return {"first_s": first, "second_s": second, "entries": counts.total,
            "first_outcome": first_outcome, "second_outcome": second_outcome,
            "not_modified": second_outcome["not_modified"],
            "version": reader_module.__version__, **_peak_rss()}


def worker_ours(spec: dict) -> dict:
    import multiprocessing.forkserver

    from sociaalwerk_publisher import FetchOutcome, make_publisher
    from sociaalwerk_publisher.config import Config, DatabaseConfig, FetchConfig

    fetch = FetchConfig()
    if spec.get("parse_processes") is not None:
        fetch = FetchConfig(parse_processes=spec["parse_processes"])
    config = Config(database=DatabaseConfig(url=f"sqlite:///{spec['tmp']}/bench.db"), fetch=fetch)
    publisher = make_publisher(config)
    for url in spec["urls"]:
        publisher.add_source(url, "blog", discover=False)

    profiler = None
    if spec.get("profile"):
        import cProfile

        profiler = cProfile.Profile()

    def poll() -> tuple[float, dict[str, int], int]:
        outcome = {o.value: 0 for o in FetchOutcome}
        new = 0
        if profiler:
            profiler.enable()
        t0 = time.perf_counter()
        results = list(publisher.fetch_sources())
        elapsed = time.perf_counter() - t0
        if profiler:
            profiler.disable()
        for result in results:
            outcome[result.outcome.value] += 1
            new += result.new
        return elapsed, outcome, new

    first, first_outcome, new = poll()
    second, second_outcome, _ = poll()
    publisher.close()
    if profiler:
        profiler.dump_stats(spec["profile"])
    # The parse workers are children of the forkserver, which reaps them; stopping (and so
    # reaping) the forkserver folds their peak RSS into our RUSAGE_CHILDREN.
    server = multiprocessing.forkserver._forkserver  # type: ignore[attr-defined]
    if getattr(server, "_forkserver_pid", None):
        server._stop()
    result = {"first_s": first, "second_s": second, "entries": new,
              "first_outcome": first_outcome, "second_outcome": second_outcome,
              "not_modified": second_outcome.get(FetchOutcome.NOT_MODIFIED.value, 0), **_peak_rss()}
    if spec.get("repoll"):
        # the same store re-polled as a user's cron does it: a new process each time
        config_file = Path(spec["tmp"]) / "bench.toml"
        config_file.write_text(f'[database]\nurl = "sqlite:///{spec["tmp"]}/bench.db"\n'
                               + (f"[fetch]\nparse_processes = {fetch.parse_processes}\n"
                                  if spec.get("parse_processes") is not None else ""))
        for command in ("fetch", "run"):
            path = Path(spec["tmp"]) / f"repoll-{command}.json"
            path.write_text(json.dumps({"config": str(config_file), "command": command}))
            done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", "repoll",
                                   str(path)], capture_output=True, text=True, cwd=spec["tmp"])
            if done.returncode != 0:
                raise RuntimeError(f"repoll {command} failed ({done.returncode}):\n{done.stderr[-4000:]}")
            result[f"repoll_{command}"] = json.loads(done.stdout.splitlines()[-1])
    return result


def worker_repoll(spec: dict) -> dict:
    """One re-poll of every source in a fresh process, imports untimed (as the floor's are):
    ``fetch``: the CLI's ``fetch --quiet``, from parsing its arguments to its exit;
    ``run``: every source due again, then ``make_publisher`` + ``run_cycle(("fetch",))``
    (the run lock, the fetch of the due sources, the run recorded for ``status``)."""
    from sociaalwerk_publisher import make_publisher
    from sociaalwerk_publisher.cli import cli

    t0 = time.perf_counter()
    if spec["command"] == "fetch":
        try:
            cli.main(["--config", spec["config"], "fetch", "--quiet"], standalone_mode=False)
        except SystemExit as e:
            if e.code:
                raise
        return {"s": time.perf_counter() - t0}
    from sqlalchemy import update

    from sociaalwerk_publisher._storage._schema import sources

    with make_publisher(spec["config"]) as publisher:
        with publisher._storage.begin() as conn:  # untimed: due an hour ago
            conn.execute(update(sources).values(next_poll_at=datetime.now(timezone.utc) - timedelta(hours=1)))
    t0 = time.perf_counter()
    with make_publisher(spec["config"]) as publisher:
        result = publisher.run_cycle(("fetch",))
    elapsed = time.perf_counter() - t0
    outcomes = [r.outcome.value for r in result.fetched]
    return {"s": elapsed, "not_modified": outcomes.count("not-modified"), "polled": len(outcomes)}


WORKERS = {"floor": worker_floor, "reader": worker_reader, "ours": worker_ours, "repoll": worker_repoll}


def run_worker(kind: str, spec: dict, python: str = sys.executable, timeout: float = 1800) -> dict:
    """Run one contender in a fresh process; returns its JSON result."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as tmp:
        spec = {**spec, "tmp": tmp}
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        if kind == "reader":
            env.pop("PYTHONPATH", None)
        proc = subprocess.Popen([python, str(Path(__file__).resolve()), "--worker", kind, str(spec_path)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp, env=env)
        sampler = TreeRssSampler(proc.pid)
        sampler.start()
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        finally:
            sampler.stop()
            if proc.poll() is None:
                proc.kill()
        if proc.returncode != 0:
            raise RuntimeError(f"{kind} worker failed ({proc.returncode}):\n{stderr[-4000:]}")
        proc = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if not lines:
            raise RuntimeError(f"{kind} worker printed no result:\n{proc.stderr[-4000:]}")
        return {**json.loads(lines[-1]), "tree_rss_peak_mb": round(sampler.peak_kib / 1024, 1)}


class TreeRssSampler(threading.Thread):
    """Samples the summed RSS of a process and all its descendants (every 0.2 s, from /proc).

    Runs in the benchmark process, not the contender's, so it costs the contender nothing.
    Unlike ru_maxrss of RUSAGE_CHILDREN (the largest single child), it adds up workers that
    run at the same time; like it, it counts shared pages once per process.
    """

    def __init__(self, root: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.root, self.interval, self.peak_kib = root, interval, 0
        self._stop_event = threading.Event()
        self._page_kib = os.sysconf("SC_PAGE_SIZE") // 1024

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.peak_kib = max(self.peak_kib, self._sample())

    def _sample(self) -> int:
        total = 0
        for pid in self._tree():
            try:
                with open(f"/proc/{pid}/statm", "rb") as f:
                    total += int(f.read().split()[1]) * self._page_kib
            except (OSError, ValueError, IndexError):
                pass
        return total

    def _tree(self) -> set[int]:
        """The root's pid and those of all its descendants alive now."""
        parents: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    with open(f"/proc/{entry.name}/stat", "rb") as f:
                        parents[int(entry.name)] = int(f.read().rsplit(b")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    pass
        tree, frontier = {self.root}, [self.root]
        while frontier:
            parent = frontier.pop()
            for pid, ppid in parents.items():
                if ppid == parent and pid not in tree:
                    tree.add(pid)
                    frontier.append(pid)
        return tree


# --------------------------------------------------------------------------------------------
# The reader venv
# --------------------------------------------------------------------------------------------


def ensure_reader_venv(log) -> str:
    if VENV_PYTHON.exists():
        ok = subprocess.run([str(VENV_PYTHON), "-c", "import reader, sgmllib"], capture_output=True)
        if ok.returncode == 0:
            return str(VENV_PYTHON)
    log(f"creating {VENV.relative_to(REPO)} and installing {' '.join(READER_REQUIREMENTS)} ...")
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV_PYTHON), "-m", "pip", "install", "-q", *READER_REQUIREMENTS],
                   check=True, stdout=subprocess.DEVNULL)
    return str(VENV_PYTHON)


# --------------------------------------------------------------------------------------------
# Orchestration and report
# --------------------------------------------------------------------------------------------


def _machine_busy_s() -> float:
    """CPU seconds all processes on this machine have used since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    """CPU seconds of this process and every contender it has waited for."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def best_of(runs: list[dict]) -> dict:
    """Fastest time and least CPU over the runs (noise only ever adds), largest memory."""
    best = dict(runs[0])
    for key in ("first_s", "second_s", "fresh_s", "cpu_self_s", "cpu_children_s"):
        if key in best:
            best[key] = min(r[key] for r in runs)
    for key in ("repoll_fetch", "repoll_run"):
        if key in best:
            best[key] = min((r[key] for r in runs), key=lambda repoll: repoll["s"])
    for key in ("rss_self_mb", "rss_children_mb", "peak_rss_mb", "tree_rss_peak_mb"):
        best[key] = max(r[key] for r in runs)
    best["runs"] = [{k: r[k] for k in ("first_s", "second_s", "peak_rss_mb")} for r in runs]
    return best


def _met(name: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    op, limit = TARGETS[name]
    ok = value <= limit if op == "<=" else value < limit
    return "MET" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=0, help="server latency per request")
    parser.add_argument("--no-scale", dest="scale", action="store_false",
                        help="skip the 1,000 x 100 ms unchanged re-poll scenario")
    parser.add_argument("--scale-feeds", type=int, default=1000)
    parser.add_argument("--scale-latency-ms", type=int, default=100)
    parser.add_argument("--scale-entries", type=int, default=2,
                        help="entries per feed in the scale scenario (only its first poll parses them)")
    parser.add_argument("--no-reader", dest="reader", action="store_false", help="skip reader")
    parser.add_argument("--reader-workers", type=int, default=1,
                        help="reader's update_feeds(workers=N); 1 is reader's default")
    parser.add_argument("--parse-processes", type=int, default=None,
                        help="override FetchConfig.parse_processes for ours (default: config default)")
    parser.add_argument("--profile", metavar="FILE", help="cProfile ours' main process to FILE")
    parser.add_argument("--repeat", type=int, default=2,
                        help="rounds of floor/reader/ours, interleaved; the best time of each is kept")
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("spec", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        if args.worker in ("ours", "repoll"):  # this checkout, whatever is installed
            sys.path.insert(0, str(REPO))
        spec = json.loads(Path(args.spec).read_text())
        print(json.dumps(WORKERS[args.worker](spec)))
        return 0

    def log(message: str) -> None:
        print(message, file=sys.stderr if args.json else sys.stdout, flush=True)

    reader_python = ensure_reader_venv(log) if args.reader else None
    load_before = os.getloadavg()[0]
    busy_before, own_before = _machine_busy_s(), _own_cpu_s()
    results: dict[str, dict] = {}
    started = time.perf_counter()
    with FeedServer() as server:
        urls = server.urls(args.feeds, args.entries, args.latency_ms)
        size = sum(len(server.feed(i, args.entries)[0]) for i in range(args.feeds))
        log(f"serving {args.feeds} feeds x {args.entries} entries ({size / 1e6:.1f} MB, "
            f"{size / args.feeds / args.entries / 1024:.2f} KiB/entry incl. RSS) on "
            f"127.0.0.1:{server.port}, latency {args.latency_ms} ms")
        spec = {"urls": urls}
        ours_spec = {**spec, "parse_processes": args.parse_processes, "repoll": True,
                     "profile": os.path.abspath(args.profile) if args.profile else None}
        runs: dict[str, list[dict]] = {"floor": [], "reader": [], "ours": []}
        for round_ in range(1, args.repeat + 1):  # interleaved, so drift hits every contender
            log(f"round {round_}/{args.repeat}: floor (requests + feedparser, serial) ...")
            runs["floor"].append(run_worker("floor", spec))
            if reader_python:
                log(f"round {round_}/{args.repeat}: reader update_feeds(workers={args.reader_workers}) x 2 ...")
                runs["reader"].append(run_worker(
                    "reader", {**spec, "reader_workers": args.reader_workers}, python=reader_python))
            log(f"round {round_}/{args.repeat}: ours fetch_sources() x 2 ...")
            runs["ours"].append(run_worker("ours", ours_spec))
        for name, rs in runs.items():
            if rs:
                results[name] = best_of(rs)
        if args.scale:
            scale_urls = server.urls(args.scale_feeds, args.scale_entries, args.scale_latency_ms)
            log(f"scale: ours, {args.scale_feeds} feeds x {args.scale_entries} entries, "
                f"{args.scale_latency_ms} ms latency ...")
            results["scale"] = run_worker("ours", {"urls": scale_urls,
                                                   "parse_processes": args.parse_processes})
        requests_served = dict(server.requests)
    load_after = os.getloadavg()[0]
    elapsed = time.perf_counter() - started
    foreign_s = max(0.0, (_machine_busy_s() - busy_before) - (_own_cpu_s() - own_before))
    foreign_share = foreign_s / (elapsed * (os.cpu_count() or 1))

    expected = args.feeds * args.entries
    problems = []
    for name in ("floor", "reader", "ours"):
        r = results.get(name)
        if r and r["entries"] != expected:
            problems.append(f"{name}: {r['entries']} entries, expected {expected}")
        if r and r["not_modified"] != args.feeds:
            problems.append(f"{name}: second poll {r['not_modified']} x 304, expected {args.feeds}")
    if "scale" in results and results["scale"]["not_modified"] != args.scale_feeds:
        problems.append(f"scale: second poll {results['scale']['not_modified']} x 304")
    for run in runs["ours"]:
        if (run["repoll_run"]["polled"], run["repoll_run"]["not_modified"]) != (args.feeds, args.feeds):
            problems.append(f"ours run: {run['repoll_run']['not_modified']} x 304 of "
                            f"{run['repoll_run']['polled']} polled, expected {args.feeds}")
    # only first polls download a body: every re-poll (the CLI's fetch among them) got a 304,
    # which this server gives only to a request carrying a matching validator
    first_polls = args.feeds * sum(len(rs) for rs in runs.values()) + (args.scale_feeds if args.scale else 0)
    if requests_served["200"] != first_polls or requests_served["other"]:
        problems.append(f"server: {requests_served['200']} x 200 and {requests_served['other']} other,"
                        f" expected {first_polls} x 200 (the first polls) and none other")

    floor, reader, ours = results["floor"], results.get("reader"), results["ours"]
    ratios = {
        "ours_first/floor_first": ours["first_s"] / floor["first_s"],
        "ours_first/reader_first": ours["first_s"] / reader["first_s"] if reader else None,
        "ours_second/floor_conditional": ours["second_s"] / floor["second_s"],
        "ours_cli_fetch/floor_fresh": ours["repoll_fetch"]["s"] / floor["fresh_s"],
        "ours_run_fetch/floor_fresh": ours["repoll_run"]["s"] / floor["fresh_s"],
        "scale_second_poll_s": results["scale"]["second_s"] if "scale" in results else None,
        "ours_peak_rss_mb": ours["peak_rss_mb"],
    }
    report = {
        "params": {"feeds": args.feeds, "entries": args.entries, "latency_ms": args.latency_ms,
                   "scale_feeds": args.scale_feeds if args.scale else None,
                   "scale_latency_ms": args.scale_latency_ms, "cpus": os.cpu_count(),
                   "python": sys.version.split()[0], "reader_workers": args.reader_workers,
                   "repeat": args.repeat, "loadavg_1min_before": load_before,
                   "loadavg_1min_after": load_after,
                   "foreign_cpu_s": round(foreign_s, 1), "foreign_cpu_share": round(foreign_share, 3)},
        "results": results,
        "ratios": ratios,
        "targets": {k: {"target": f"{op} {limit:g}", "met": _met(k, ratios[k])}
                    for k, (op, limit) in TARGETS.items()},
        "server_requests": requests_served,
        "problems": problems,
        "total_s": time.perf_counter() - started,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 1 if problems else 0

    print()
    print(f"{args.feeds} feeds x {args.entries} entries, latency {args.latency_ms} ms, "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, best of {args.repeat}, "
          f"load average {load_before:.2f} before, {load_after:.2f} after")
    print(f"{'contender':<34}{'1st poll s':>11}{'2nd poll s':>11}{'peak RSS MB':>13}{'CPU s':>8}"
          f"{'tree RSS MB':>13}  (peak RSS = self + largest child)")
    rows = [("floor (requests+feedparser)", floor)]
    if reader:
        rows.append((f"reader {reader.get('version', '')} (workers={args.reader_workers})", reader))
    rows.append(("ours (fetch_sources)", ours))
    if "scale" in results:
        rows.append((f"ours scale {args.scale_feeds}x{args.scale_latency_ms}ms", results["scale"]))
    for label, r in rows:
        cpu = r["cpu_self_s"] + r["cpu_children_s"]
        print(f"{label:<34}{r['first_s']:>11.2f}{r['second_s']:>11.2f}{r['peak_rss_mb']:>13.1f}{cpu:>8.1f}"
              f"{r['tree_rss_peak_mb']:>13.1f}  ({r['rss_self_mb']:.0f} + {r['rss_children_mb']:.0f})")
    print(f"re-poll in a fresh process (imports untimed): floor, new Session {floor['fresh_s']:.3f} s;"
          f" ours `fetch --quiet` {ours['repoll_fetch']['s']:.3f} s, run_cycle(fetch) {ours['repoll_run']['s']:.3f} s")
    print()
    print(f"{'ratio / measure':<34}{'value':>9}  {'target':<9}result")
    for name, (op, limit) in TARGETS.items():
        value = ratios[name]
        shown = f"{value:9.2f}" if value is not None else f"{'n/a':>9}"
        print(f"{name:<34}{shown}  {op + ' ' + format(limit, 'g'):<9}{_met(name, value)}")
    print(f"\nserver: {requests_served}; total {report['total_s']:.0f} s")
    foreign = report["params"]["foreign_cpu_share"]
    print(f"other processes used {foreign:.0%} of this machine's CPU during the run"
          + (": the times above are inflated, compare CPU s or rerun when quiet" if foreign > 0.1 else ""))
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

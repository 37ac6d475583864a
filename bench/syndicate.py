#!/usr/bin/env python3
"""Syndication benchmark: our engine vs. bare REST POSTs, on the two real WordPress test sites.

One run, each part in its own fresh process (so peak RSS is its own):

  floor         one requests.Session per site, Basic auth with the application password,
                POST /wp/v2/posts (title + content of our size, status publish):
                  seq    hub, then member, posts sequential          (N + N posts)
                  par    hub and member in two threads               (N + N posts)
                  upd    POST /wp/v2/posts/<id> for each par post, two threads
  ours          sociaalwerk_publisher driven as users do: an RSS file of N items (~1.5 KB of Dutch
                HTML each), add_source(path.as_uri(), "blog", discover=False), fetch_sources(),
                approve_story(*all); timed: syndicate() (2 destinations, run in parallel by the
                engine -> 2N posts), syndicate() again (nothing to do), and an update round
                (every item changed, refetched, syndicate() -> 2N updates)
  paired        the noise-robust comparison: R rounds of N/R stories; in each round a parallel
                floor block, a "fields" floor block (bare POSTs of exactly the JSON our adapter
                sends: excerpt, slug, date, term ids, so WordPress's own work on them is in the
                floor too), an ours block (approve the next N/R, syndicate()) and the experiment's
                block, in rotated order, so all three see the same load (this machine is shared:
                the same floor has measured 21 s and 49 s ten minutes apart)
  experiment    a Publisher/Syndicator subclass in this file (the package is untouched). If the
                package calls find_existing() for every new post, the subclass skips it when the
                claim has just created the record (attempts == 1, no remote id: no earlier attempt
                can have made a post); if the package already skips it (Syndicator._send has
                first_attempt), the subclass forces the old always-find_existing behaviour instead,
                so the run shows what the skip saves either way
  ours-image    syndicate() of --image-posts stories sharing one featured image served by a local
                http.server: it must be uploaded once per destination. It runs under cProfile (one
                profiler per destination thread plus the main thread, merged); its ratio includes
                the profiler's overhead and is not the target's.

Requests are counted in-process from urllib3's per-request debug record (exact, by class) and
cross-checked in Apache's per-site access logs (by User-Agent, in the timed window; requests
of other clients in that window are reported as "foreign": noise).

Other engineers' test sessions delete every post on these sites, and may reset the sites (new
application passwords), at any time. Each part uses its own title token
("swpbench-<run>-<part><attempt>"); posts are counted by token after the timed work, and a part
whose results failed or whose posts vanished is re-run once (after re-running the harness
script), which the report says. Every post and media item of the run is deleted (force=true).

    python bench/syndicate.py                 # 200 stories; see bench/README.md for the time it takes
    python bench/syndicate.py --json          # the same, JSON on stdout (progress on stderr)
    python bench/syndicate.py --posts 50 --rounds 2 --no-image --no-experiment
"""

from __future__ import annotations

import argparse
import cProfile
import html
import io
import json
import logging
import os
import pstats
import random
import re
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for folder in (REPO, HERE):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
from ingest import SENTENCES  # noqa: E402 - the Dutch sentences the ingest benchmark's feeds use

TARGET_RATIO = 1.3
ACCESS_LOGS = {"hub": Path("/var/log/apache2/swp-wp-hub-access.log"),
               "member": Path("/var/log/apache2/swp-wp-member-access.log")}
ENGINE_UA = "sociaalwerk-publisher (WordPress REST adapter)"
FLOOR_UA = "swp-bench-floor"
DESTINATIONS = {"landelijk": "hub", "amsterdam": "member"}  # destination name -> site


def progress(message: str) -> None:
    print(f"[syndicate.py {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- content

TITLES = ["Hoe het wijkteam samen met bewoners een nieuwe start maakte",
          "Jongerenwerkers bouwen in de avonduren aan vertrouwen",
          "Schuldhulp dichtbij: vroeg signaleren voorkomt grote problemen",
          "Buurthuis weer open dankzij vrijwilligers",
          "Mantelzorgers vertellen over hun week en wat hen helpt",
          "Van zorgen naar perspectief: een jaar met de budgetcoach"]
WIJKEN = ["Kanaleneiland", "Overvecht", "Schilderswijk", "Bijlmer", "Tarwewijk", "Woensel"]
GEMEENTEN = ["Utrecht", "Den Haag", "Amsterdam", "Rotterdam", "Eindhoven", "Arnhem"]
TOPICS = ["wijkteams", "jongerenwerk", "schuldhulp", "mantelzorg", "buurtwerk", "armoede"]
SITE = "https://welzijn-bench.example.nl"


def make_items(token: str, n: int, revision: int = 0) -> list[dict[str, str]]:
    """``n`` stories: unique title (with ``token``) and link, ~1.5 KB of Dutch HTML, no images."""
    items = []
    start = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
    for i in range(n):
        rng = random.Random(i)
        wijk, gemeente, topic = rng.choice(WIJKEN), rng.choice(GEMEENTEN), rng.choice(TOPICS)

        def say(k: int, rng: random.Random = rng, wijk: str = wijk, gemeente: str = gemeente) -> str:
            return " ".join(rng.choice(SENTENCES).format(wijk=wijk, gemeente=gemeente) for _ in range(k))

        title = f"{token} {i:03d} {rng.choice(TITLES)}"
        link = f"{SITE}/{token}/verhaal-{i:03d}/"
        body = "\n".join([
            f"<p><strong>{say(1)}</strong></p>",
            f'<p>{say(2)} Lees meer over <a href="{SITE}/thema/{topic}/">{topic}</a> bij ons.</p>',
            f"<p>{say(2)} <strong>{say(1)}</strong></p>",
            f'<p>{say(1)} Zie ook <a href="{SITE}/contact/">ons spreekuur</a> en de '
            f'<a href="https://www.sociaalwerknederland.nl/{topic}">landelijke informatie</a>.</p>',
            f"<p>{say(2)}</p>",
        ])
        if revision:
            body += f"\n<p><em>Bijgewerkt (versie {revision}): {say(1)}</em></p>"
        items.append({"title": title, "link": link, "guid": link, "html": body,
                      "summary": say(1), "date": format_datetime(start - timedelta(hours=i))})
    return items


def write_feed(path: Path, items: list[dict[str, str]], image_url: str | None = None) -> None:
    """An RSS 2.0 file shaped like WordPress's (content:encoded), optional enclosure per item."""
    esc = html.escape
    parts = []
    for item in items:
        enclosure = f'<enclosure url="{esc(image_url)}" type="image/png" length="1"/>' if image_url else ""
        parts.append(
            f"<item><title>{esc(item['title'])}</title><link>{esc(item['link'])}</link>"
            f"<guid isPermaLink=\"true\">{esc(item['guid'])}</guid><pubDate>{item['date']}</pubDate>"
            f"<dc:creator><![CDATA[Redactie]]></dc:creator>{enclosure}"
            f"<description>{esc(item['summary'])}</description>"
            f"<content:encoded><![CDATA[{item['html']}]]></content:encoded></item>")
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>Welzijn Bench</title><link>{SITE}/</link><description>bench</description>"
        f"{''.join(parts)}</channel></rss>", encoding="utf-8")


def floor_content(item: dict[str, str], token: str, i: int) -> str:
    """The floor's content: the same HTML plus an attribution block and marker of our size."""
    return (f"{item['html']}\n\n<aside class=\"swp-attributie\">\n<p><em>Dit verhaal verscheen eerder op "
            f"<a href=\"{item['link']}\" rel=\"noopener\">Welzijn Bench</a>.</em></p>\n</aside>\n"
            f"<!-- swp-{token}-{i:03d}-floor -->\n")


def png(width: int = 640, height: int = 360) -> bytes:
    """A real (noisy, so not tiny) PNG for the featured image."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rng = random.Random(7)
    rows = b"".join(b"\x00" + bytes(rng.randrange(256) if (x // 8 + y // 8) % 5 == 0 else (x + y) % 256
                                    for x in range(width * 3)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))


class ImageServer:
    """Serves one PNG at /<name>.png on 127.0.0.1 and counts GETs."""

    def __init__(self, name: str) -> None:
        self.body = png()
        self.gets = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                outer.gets += 1
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/{name}.png"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- request classes

def classify(method: str, url: str) -> str:
    """A request's class, from its method and URL (absolute, or path?query as in access logs)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    route = unquote(query["rest_route"][0]) if "rest_route" in query else parts.path
    route = route.replace("/wp-json", "", 1) if route.startswith("/wp-json") else route
    if route.endswith(".png"):
        return f"{method} image (origin server)"
    if method == "HEAD":
        return "HEAD / (REST root discovery)"
    m = re.match(r"^/wp/v2/(posts|tags|categories|media)(/\d+)?/?$", route)
    if not m:
        return f"{method} {route or '/'}"
    kind, one = m.group(1), m.group(2)
    if kind == "posts":
        if method == "GET" and "search" in query:
            return "GET posts?search=marker (find_existing)"
        if method == "GET" and "slug" in query:
            return "GET posts?slug= (is the plain slug taken)"
        if method == "GET" and query.get("orderby") == ["id"]:
            return "GET posts?orderby=id (find_existing)"
        if method == "POST":
            return "POST posts/<id> (update)" if one else "POST posts (create)"
        return f"{method} posts" + ("/<id>" if one else "")
    if kind in ("tags", "categories"):
        return f"{method} {kind} (term lookup/create)"
    return f"{method} {kind}"


class RequestCounter(logging.Handler):
    """Counts this process's HTTP requests from urllib3's per-request debug record."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.counts: Counter[str] = Counter()
        self.by_port: Counter[int] = Counter()
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if not isinstance(args, tuple) or len(args) != 8 or not str(record.msg).startswith("%s://%s:%s"):
            return
        _scheme, _host, port, method, url, _version, _status, _length = args
        with self._lock2:
            self.counts[classify(str(method), str(url))] += 1
            self.by_port[int(str(port or 0))] += 1

    def take(self) -> dict[str, int]:
        with self._lock2:
            counts = dict(self.counts)
            self.counts.clear()
            self.by_port.clear()
        return counts

    @classmethod
    def install(cls) -> RequestCounter:
        handler = cls()
        logger = logging.getLogger("urllib3.connectionpool")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.addHandler(handler)
        return handler


LOG_LINE = re.compile(r'^\S+ \S+ \S+ \[[^\]]+\] "(\S+) (\S+)[^"]*" (\d{3}) \S+ "[^"]*" "([^"]*)"')


def log_mark() -> dict[str, int]:
    marks = {}
    for site, path in ACCESS_LOGS.items():
        try:
            marks[site] = path.stat().st_size
        except OSError:
            marks[site] = -1
    return marks


def log_since(mark: dict[str, int], own_agents: tuple[str, ...]) -> dict[str, Any] | None:
    """Requests the access logs saw since ``mark``: ours by class, and everyone else's total."""
    if any(v < 0 for v in mark.values()):
        return None
    time.sleep(0.3)  # Apache writes the line after the response: let the last ones land
    ours: Counter[str] = Counter()
    foreign = 0
    for site, path in ACCESS_LOGS.items():
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(mark[site] if size >= mark[site] else 0)  # rotated: read it all
            for line in f.read().decode("utf-8", "replace").splitlines():
                m = LOG_LINE.match(line)
                if not m:
                    continue
                method, url, _status, agent = m.groups()
                if any(agent.startswith(a) for a in own_agents):
                    ours[classify(method, url)] += 1
                else:
                    foreign += 1
    return {"ours": dict(ours), "total": sum(ours.values()), "foreign": foreign}


# --------------------------------------------------------------------------- sites

def sites() -> dict[str, Any]:
    from tests.wordpress import load_sites

    loaded = load_sites()
    if isinstance(loaded, str):
        raise SystemExit(loaded)
    return loaded


STATUSES = "publish,future,draft,pending,private,trash"


def count_posts(site: Any, needle: str) -> int:
    """Posts (any state, trash included) whose title/content contains ``needle``."""
    r = site.admin_session().get(site.rest("wp/v2/posts"), timeout=60, params={
        "search": needle, "status": STATUSES, "per_page": 1, "_fields": "id", "context": "edit"})
    r.raise_for_status()
    return int(r.headers.get("X-WP-Total", "0"))


def find_ids(site: Any, route: str, needle: str, statuses: str | None = STATUSES) -> list[int]:
    session, page = site.admin_session(), 1
    ids: list[int] = []
    while True:
        params: dict[str, Any] = {"search": needle, "per_page": 100, "page": page, "_fields": "id",
                                  "context": "edit"}
        if statuses:
            params["status"] = statuses
        r = session.get(site.rest(route), params=params, timeout=60)
        if r.status_code == 400 and page > 1:
            return ids
        r.raise_for_status()
        ids += [p["id"] for p in r.json()]
        if page >= int(r.headers.get("X-WP-TotalPages", "1")):
            return ids
        page += 1


def delete_ids(site: Any, route: str, ids: list[int]) -> int:
    """Delete for good: posts 25 per request through /batch/v1, media (no batch support) one by one."""
    session, deleted, single = site.admin_session(), 0, []
    for start in range(0, len(ids) if route == "posts" else 0, 25):
        chunk = ids[start:start + 25]
        body = {"requests": [{"method": "DELETE", "path": f"/wp/v2/{route}/{i}?force=true"} for i in chunk]}
        r = session.post(site.rest("batch/v1"), json=body, timeout=120)
        responses = r.json().get("responses", []) if r.ok else []
        if len(responses) != len(chunk):
            single += chunk
            continue
        for i, resp in zip(chunk, responses):
            if resp.get("status") == 200:
                deleted += 1
            elif resp.get("status") not in (404, 410):  # already gone: someone else deleted it
                single.append(i)
    for i in single if route == "posts" else ids:
        if session.delete(site.rest(f"wp/v2/{route}/{i}"), params={"force": "true"}, timeout=60).ok:
            deleted += 1
    return deleted


def clean_up(all_sites: dict[str, Any], token: str, known: dict[str, dict[str, list[int]]] | None = None) -> dict:
    """Delete this phase's posts and media: the ids a worker reported, then a sweep by token."""
    done: dict[str, int] = {}
    for name, site in all_sites.items():
        ids = set((known or {}).get(name, {}).get("posts", []))
        try:
            ids |= set(find_ids(site, "wp/v2/posts", token))
        except Exception as e:  # noqa: BLE001 - a sweep must not stop the benchmark
            progress(f"sweep of {name} failed: {e}")
        media = set((known or {}).get(name, {}).get("media", []))
        try:
            media |= set(find_ids(site, "wp/v2/media", token, statuses=None))
        except Exception as e:  # noqa: BLE001
            progress(f"media sweep of {name} failed: {e}")
        done[name] = delete_ids(site, "posts", sorted(ids)) + (delete_ids(site, "media", sorted(media)) if media else 0)
    return done


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# --------------------------------------------------------------------------- floor worker

def worker_floor(spec: dict) -> dict:
    import requests

    all_sites, n, token = sites(), spec["posts"], spec["token"]
    counter = RequestCounter.install()
    items = make_items(token, n)
    out: dict[str, Any] = {"kind": "floor", "interference": [], "phases": {}, "ids": {}}

    def session(site: Any) -> requests.Session:
        s = requests.Session()
        s.auth = (site.user, site.app_password)
        s.headers["User-Agent"] = f"{FLOOR_UA}/{token}"
        return s

    def create(site: Any, tag: str, ids: list[int]) -> None:
        s, url = session(site), site.rest("wp/v2/posts")
        for i, item in enumerate(items):
            r = s.post(url, json={"title": f"{tag} {item['title']}", "content": floor_content(item, token, i),
                                  "status": "publish"}, timeout=60)
            r.raise_for_status()
            ids.append(r.json()["id"])
        s.close()

    def update(site: Any, tag: str, ids: list[int]) -> None:
        s = session(site)
        for i, (item, post_id) in enumerate(zip(items, ids)):
            r = s.post(site.rest(f"wp/v2/posts/{post_id}"), timeout=60, json={
                "title": f"{tag} {item['title']}", "content": floor_content(item, token, i) + "<p>Bijgewerkt.</p>"})
            r.raise_for_status()
        s.close()

    def timed(name: str, tag: str, jobs: list[tuple[Any, Any, list[int]]], parallel: bool, posts: int) -> None:
        counter.take()
        mark = log_mark()
        errors: list[str] = []

        def run(fn: Any, site: Any, ids: list[int]) -> None:
            try:
                fn(site, tag, ids)
            except Exception as e:  # noqa: BLE001 - reported, and counts as interference
                errors.append(f"{site.name}: {type(e).__name__}: {e}"[:300])

        t0 = time.perf_counter()
        if parallel:
            threads = [threading.Thread(target=run, args=job) for job in jobs]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        else:
            for job in jobs:
                run(*job)
        wall = time.perf_counter() - t0
        out["phases"][name] = {"wall_s": round(wall, 3), "posts": posts, "requests": counter.take(),
                               "access_log": log_since(mark, (f"{FLOOR_UA}/{token}",))}
        if errors:
            out["interference"].append(f"floor {name}: {'; '.join(errors)}")

    def check(tag: str, expected: int) -> None:
        for name, site in all_sites.items():
            try:
                found = count_posts(site, tag)
            except Exception as e:  # noqa: BLE001 - e.g. the sites were reset meanwhile (new passwords)
                out["interference"].append(f"floor {tag}: counting on {name} failed: {e}"[:300])
                continue
            if found != expected:
                out["interference"].append(f"floor {tag}: {found} of {expected} posts on {name}")

    hub, member = all_sites["hub"], all_sites["member"]
    # sequential, one site after the other: per-site times from two separate timings
    for site in (hub, member):
        tag, ids = f"{token}-seq", list[int]()
        timed(f"seq-{site.name}", tag, [(create, site, ids)], parallel=False, posts=n)
        out["ids"].setdefault(site.name, {"posts": []})["posts"] += ids
    check(f"{token}-seq", n)
    for name, site in all_sites.items():  # untimed: the parallel floor starts from the same state
        delete_ids(site, "posts", out["ids"][name]["posts"])
        out["ids"][name]["posts"] = []
    progress("floor: sequential done")

    par_ids: dict[str, list[int]] = {"hub": [], "member": []}
    timed("par", f"{token}-par", [(create, hub, par_ids["hub"]), (create, member, par_ids["member"])],
          parallel=True, posts=2 * n)
    check(f"{token}-par", n)
    for name in par_ids:
        out["ids"].setdefault(name, {"posts": []})["posts"] = par_ids[name]
    timed("par-update", f"{token}-par", [(update, hub, par_ids["hub"]), (update, member, par_ids["member"])],
          parallel=True, posts=2 * n)
    check(f"{token}-par", n)
    out["content_bytes"] = len(floor_content(items[0], token, 0).encode())
    out["peak_rss_mb"] = peak_rss_mb()
    return out


# --------------------------------------------------------------------------- ours worker

def write_config(folder: Path, all_sites: dict[str, Any]) -> Path:
    hub, member = all_sites["hub"], all_sites["member"]
    config = folder / "sociaalwerk-publisher.toml"
    config.write_text(f"""
[fetch]
parse_processes = 1

[security]
allow_private_networks = true   # the featured image comes from a local http.server

[[destinations]]
name = "landelijk"
adapter = "wordpress-rest"
url = "{hub.url}"
username = "{hub.user}"
password_env = "SWP_BENCH_HUB_PASSWORD"
status = "publish"
[destinations.terms]
categories = ["Lokale verhalen"]

[[destinations]]
name = "amsterdam"
adapter = "wordpress-rest"
url = "{member.url}"
username = "{member.user}"
password_env = "SWP_BENCH_MEMBER_PASSWORD"
status = "publish"
""", encoding="utf-8")
    os.environ["SWP_BENCH_HUB_PASSWORD"] = hub.app_password
    os.environ["SWP_BENCH_MEMBER_PASSWORD"] = member.app_password
    return config


def package_skips_find_existing() -> bool:
    """Whether this version of the package already skips find_existing on a first attempt."""
    import inspect

    from sociaalwerk_publisher.syndication import Syndicator

    return "first_attempt" in inspect.signature(Syndicator._send).parameters


def publisher_class(mode: str, profile: bool) -> tuple[type, list]:
    """The Publisher to drive: the real one, or a subclass for the experiment / the profile.

    mode "fresh": skip find_existing when the claim just created the record (for package versions
    that do not do so themselves); mode "legacy": always call find_existing (for versions that do
    skip it, to measure what skipping saves).
    """
    from sociaalwerk_publisher import Publisher
    from sociaalwerk_publisher.syndication import Syndicator

    profiles: list[cProfile.Profile] = []
    base: type = Syndicator
    if mode == "legacy":
        class AlwaysFindSyndicator(Syndicator):
            def _send(self, adapter: Any, remote_id: Any, post: Any, **kwargs: Any) -> Any:
                return super()._send(adapter, remote_id, post, **{**kwargs, "first_attempt": False})

        base = AlwaysFindSyndicator
    elif mode == "fresh":
        local = threading.local()

        class RecordingSyndications:
            """Delegates to the real store; remembers the row each claim returned (per thread)."""

            def __init__(self, real: Any) -> None:
                self._real = real

            def __getattr__(self, name: str) -> Any:
                return getattr(self._real, name)

            def claim(self, *args: Any, **kwargs: Any) -> Any:
                local.row = self._real.claim(*args, **kwargs)
                return local.row

        class StorageView:
            def __init__(self, real: Any) -> None:
                self._real = real
                self.syndications = RecordingSyndications(real.syndications)

            def __getattr__(self, name: str) -> Any:
                return getattr(self._real, name)

        class FreshSkipSyndicator(Syndicator):
            """find_existing only for records an earlier attempt claimed (attempts > 1)."""

            def __init__(self, storage: Any, *args: Any, **kwargs: Any) -> None:
                super().__init__(StorageView(storage), *args, **kwargs)  # type: ignore[arg-type]

            def _send(self, adapter: Any, remote_id: Any, post: Any, **kwargs: Any) -> Any:
                row = getattr(local, "row", None)
                if not remote_id and row is not None and row.attempts == 1 and not row.remote_id:
                    return adapter.publish(post)
                return super()._send(adapter, remote_id, post, **kwargs)

        base = FreshSkipSyndicator
    syndicator = base
    if profile:
        class ProfilingSyndicator(base):  # type: ignore[valid-type, misc]
            def _run_destination(self, destination: Any, work: Any, results: Any) -> None:
                profiler = cProfile.Profile()
                profiler.enable()
                try:
                    super()._run_destination(destination, work, results)
                finally:
                    profiler.disable()
                    profiles.append(profiler)

        syndicator = ProfilingSyndicator
    if syndicator is Syndicator:
        return Publisher, profiles

    class BenchPublisher(Publisher):
        def _syndicator(self) -> Any:
            return syndicator(self._storage, self.config, self._retrievers, self._adapter_for)

    return BenchPublisher, profiles


def worker_ours(spec: dict) -> dict:
    from sociaalwerk_publisher.config import load_config
    from sociaalwerk_publisher.core import open_storage
    from sociaalwerk_publisher.types import StoryFilter, SyndicationAction

    all_sites, n, token, mode = sites(), spec["posts"], spec["token"], spec["mode"]
    folder = Path(spec["tmp"])
    counter = RequestCounter.install()
    out: dict[str, Any] = {"kind": f"ours-{mode}", "posts": n, "interference": [], "phases": {}, "ids": {},
                           "skips_find_existing": package_skips_find_existing()}
    image = ImageServer(f"{token}-uitgelicht") if mode == "image" else None
    profile = bool(spec.get("profile"))
    cls, profiles = publisher_class(mode, profile)
    config = load_config(write_config(folder, all_sites))
    feed = folder / "verhalen.xml"
    write_feed(feed, make_items(token, n), image.url if image else None)

    publisher = cls(config, open_storage(config.database_url))
    try:
        source = publisher.add_source(feed.as_uri(), "blog", discover=False)
        list(publisher.fetch_sources())
        stories = publisher.list_stories(StoryFilter(limit=0))
        publisher.approve_story(*(s.id for s in stories))
        if len(stories) != n:
            raise RuntimeError(f"{len(stories)} stories from the feed, expected {n}")
        progress(f"ours-{mode}: {n} stories approved; syndicating")

        def timed(name: str, expect: int, action: SyndicationAction | None) -> list:
            counter.take()
            mark = log_mark()
            main_profile = cProfile.Profile() if profile and action is SyndicationAction.PUBLISH else None
            cpu0 = time.process_time()
            t0 = time.perf_counter()
            if main_profile:
                main_profile.enable()
            results = list(publisher.syndicate())
            if main_profile:
                main_profile.disable()
                profiles.append(main_profile)
            wall = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
            failed = [f"{r.destination}: {r.error}" for r in results if not r.ok]
            out["phases"][name] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 2), "posts": expect,
                                   "results": len(results),
                                   "failed": len(failed), "requests": counter.take(),
                                   "access_log": log_since(mark, (ENGINE_UA,))}
            if failed or len(results) != expect or any(r.action is not action for r in results):
                out["interference"].append(
                    f"ours-{mode} {name}: {len(results)} results (expected {expect}), {len(failed)} failed"
                    + (f", e.g. {failed[0][:200]}" if failed else ""))
            return results

        def check(expected: int) -> None:
            for name, site in all_sites.items():
                try:
                    found = count_posts(site, token)
                except Exception as e:  # noqa: BLE001 - e.g. the sites were reset meanwhile
                    out["interference"].append(f"ours-{mode}: counting on {name} failed: {e}"[:300])
                    continue
                if found != expected:
                    out["interference"].append(f"ours-{mode}: {found} of {expected} posts on {name}")

        results = timed("publish", 2 * n, SyndicationAction.PUBLISH)
        for r in results:
            if r.remote_id:
                out["ids"].setdefault(DESTINATIONS[r.destination], {"posts": [], "media": []})["posts"].append(
                    int(r.remote_id))
        check(n)
        for r in results[:5]:  # the size of what we sent: one post read back
            site = all_sites[DESTINATIONS[r.destination]]
            sample = site.admin_session().get(site.rest(f"wp/v2/posts/{r.remote_id}"),
                                              params={"context": "edit"}, timeout=30)
            if sample.ok:
                out["content_bytes"] = len(sample.json()["content"]["raw"].encode())
                break
        if image:
            out["image_gets"] = image.gets
            for name, site in all_sites.items():
                media = {p["featured_media"] for p in site.posts(search=token, _fields="featured_media")}
                out["ids"].setdefault(name, {"posts": [], "media": []})["media"] = sorted(m for m in media if m)
            out["media_per_site"] = {k: len(v.get("media", [])) for k, v in out["ids"].items()}
        if mode == "plain" and not spec.get("no_update"):
            timed("again", 0, None)
            write_feed(feed, make_items(token, n, revision=1))
            st = feed.stat()
            os.utime(feed, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a new mtime is a new ETag
            list(publisher.fetch_sources([source.id]))
            timed("update", 2 * n, SyndicationAction.UPDATE)
            check(n)
        if profile:
            deadline = time.time() + 10
            while len(profiles) < 3 and time.time() < deadline:  # the threads append after their last result
                time.sleep(0.05)
            stats = pstats.Stats(profiles[0], stream=io.StringIO())
            for p in profiles[1:]:
                stats.add(p)
            stream = io.StringIO()
            stats.stream = stream  # type: ignore[attr-defined]
            stats.sort_stats("cumulative").print_stats(spec.get("top", 15))
            out["profile_text"] = stream.getvalue()
            out["profile_focus"] = focus(stats)
    finally:
        publisher.close()
        if image:
            image.close()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def worker_paired(spec: dict) -> dict:
    """Noise-robust comparison: rounds of (floor par, ours, experiment) blocks, order rotated.

    Each round posts ``posts / rounds`` stories per site with each contender, so the three are
    measured within the same minute; the machine is shared and its load swings by 2-3x.
    Ours and the experiment each have their own store and feed of ``posts`` items; each round
    approves the next block and calls syndicate() once (as the daemon would, every 15 minutes).
    """
    import requests

    from sociaalwerk_publisher.config import load_config
    from sociaalwerk_publisher.core import open_storage

    all_sites, n, token, rounds = sites(), spec["posts"], spec["token"], spec["rounds"]
    experiment = "legacy" if package_skips_find_existing() else "fresh"
    variants = ["floor", "fields", "ours"] + ([experiment] if spec.get("experiment") else [])
    block = -(-n // rounds)
    counter = RequestCounter.install()
    out: dict[str, Any] = {"kind": "paired", "experiment": experiment, "interference": [], "rounds": [], "ids": {},
                           "requests": {v: {} for v in variants}, "cpu_s": {v: 0.0 for v in variants}}

    def add_ids(site_name: str, post_id: int) -> None:
        out["ids"].setdefault(site_name, {"posts": [], "media": []})["posts"].append(post_id)

    floor_items = make_items(f"{token}-floor", n)
    publishers, story_ids = {}, {}
    for variant in variants[1:]:
        folder = Path(spec["tmp"]) / variant
        folder.mkdir()
        cls, _ = publisher_class(variant if variant not in ("ours", "fields") else "plain", False)
        config = load_config(write_config(folder, all_sites))
        feed = folder / "verhalen.xml"
        write_feed(feed, make_items(f"{token}-{variant}", n))
        publisher = cls(config, open_storage(config.database_url))
        publisher.add_source(feed.as_uri(), "blog", discover=False)
        list(publisher.fetch_sources())
        from sociaalwerk_publisher.types import StoryFilter
        story_ids[variant] = [s.id for s in sorted(publisher.list_stories(StoryFilter(limit=0)),
                                                   key=lambda s: s.title)]
        publishers[variant] = publisher

    # the "fields" floor: bare POSTs of exactly the JSON our adapter sends (rendered content with
    # attribution, excerpt, slug, date, category and tag ids), made up front, untimed: what
    # WordPress does with terms and slugs is then in the floor too, and the ratio is our overhead
    from sociaalwerk_publisher.composition import PostComposer
    from sociaalwerk_publisher.syndication import make_adapter
    fields_payloads: dict[str, list[dict[str, Any]]] = {}
    fields_publisher = publishers.pop("fields")
    composer = PostComposer(fields_publisher._storage, fields_publisher.config, fields_publisher._retrievers)
    stories = {s.id: s for s in fields_publisher.list_stories(StoryFilter(limit=0))}
    for destination in fields_publisher.config.destinations:
        adapter = make_adapter(fields_publisher.config, destination)
        fields_payloads[DESTINATIONS[destination.name]] = [
            adapter._fields(composer.compose(stories[i], destination, datetime.now(timezone.utc))[0])
            for i in story_ids["fields"]]
        adapter.close()
    fields_publisher.close()

    # the minimal floor: title, content and status only
    floor_payloads = [{"title": item["title"], "content": floor_content(item, token, i), "status": "publish"}
                      for i, item in enumerate(floor_items)]

    def bare_block(label: str, payloads: dict[str, list[dict[str, Any]]], lo: int, hi: int) -> None:
        """POST payloads[site][lo:hi] to each site with plain requests, both sites at once."""
        errors: list[str] = []

        def run(site: Any) -> None:
            s = requests.Session()
            s.auth = (site.user, site.app_password)
            s.headers["User-Agent"] = f"{FLOOR_UA}/{token}"
            try:
                for payload in payloads[site.name][lo:hi]:
                    r = s.post(site.rest("wp/v2/posts"), timeout=60, json=payload)
                    r.raise_for_status()
                    add_ids(site.name, r.json()["id"])
            except Exception as e:  # noqa: BLE001
                errors.append(f"{site.name}: {e}"[:200])
            finally:
                s.close()

        threads = [threading.Thread(target=run, args=(site,)) for site in all_sites.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            out["interference"].append(f"paired {label}: {'; '.join(errors)}")

    def ours_block(variant: str, ids: list[int]) -> None:
        publisher = publishers[variant]
        publisher.approve_story(*ids)
        results = list(publisher.syndicate())
        failed = [r for r in results if not r.ok]
        for r in results:
            if r.remote_id:
                add_ids(DESTINATIONS[r.destination], int(r.remote_id))
        if failed or len(results) != 2 * len(ids):
            out["interference"].append(f"paired {variant}: {len(results)} results (expected {2 * len(ids)}),"
                                       f" {len(failed)} failed" + (f", e.g. {failed[0].error}"[:200] if failed else ""))

    try:
        for r in range(rounds):
            lo, hi = r * block, min(n, (r + 1) * block)
            if lo >= hi:
                break
            order = variants[r % len(variants):] + variants[:r % len(variants)]
            timings: dict[str, float] = {}
            for variant in order:
                counter.take()
                cpu0 = time.process_time()
                t0 = time.perf_counter()
                if variant == "floor":
                    bare_block("floor", {name: floor_payloads for name in all_sites}, lo, hi)
                elif variant == "fields":
                    bare_block("fields floor", fields_payloads, lo, hi)
                else:
                    ours_block(variant, story_ids[variant][lo:hi])
                timings[variant] = round(time.perf_counter() - t0, 3)
                out["cpu_s"][variant] += time.process_time() - cpu0
                for k, v in counter.take().items():
                    out["requests"][variant][k] = out["requests"][variant].get(k, 0) + v
            out["rounds"].append({"stories": hi - lo, "order": order, "wall_s": timings})
            progress(f"paired round {r + 1}/{rounds}: {timings}")
    finally:
        for publisher in publishers.values():
            publisher.close()
    for variant in variants:
        for name, site in all_sites.items():
            try:
                found = count_posts(site, f"{token}-{variant}")
            except Exception as e:  # noqa: BLE001
                out["interference"].append(f"paired {variant}: counting on {name} failed: {e}"[:300])
                continue
            if found != n:
                out["interference"].append(f"paired {variant}: {found} of {n} posts on {name}")
    out["cpu_s"] = {k: round(v, 2) for k, v in out["cpu_s"].items()}
    out["peak_rss_mb"] = peak_rss_mb()
    return out


FOCUS = [  # (label, file fragment, function): the parts of one post, cumulative thread-seconds
    ("Syndicator._do (all work per post)", "syndication.py", "_do"),
    ("  storage claim (SQLite, commit)", "syndications.py", "claim"),
    ("  PostComposer.compose (render, terms)", "composition.py", "compose"),
    ("  adapter.find_existing (2 GETs)", "wordpress_rest.py", "find_existing"),
    ("  adapter.publish (POST)", "wordpress_rest.py", "publish"),
    ("    term lookups (_term_ids)", "wordpress_rest.py", "_term_ids"),
    ("    image upload (_upload)", "wordpress_rest.py", "_upload"),
    ("  image download (download_image)", "images.py", "download_image"),
    ("  storage finish (SQLite, commit)", "syndications.py", "finish"),
    ("requests Session.request (all HTTP)", "sessions.py", "request"),
    ("Syndicator._plan (main thread)", "syndication.py", "_plan"),
]


def focus(stats: pstats.Stats) -> list[dict[str, Any]]:
    rows = []
    raw = stats.stats  # type: ignore[attr-defined]
    for label, file_part, function in FOCUS:
        calls, cum = 0, 0.0
        for (filename, _line, name), (_cc, nc, _tt, ct, _callers) in raw.items():
            if name == function and filename.endswith(file_part):
                calls += nc
                cum += ct
        rows.append({"what": label, "calls": calls, "cum_s": round(cum, 3)})
    return rows


# --------------------------------------------------------------------------- orchestration

def run_worker(kind: str, spec: dict, timeout: float = 1200) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"swpbench-{kind}-") as tmp:
        spec = {**spec, "tmp": tmp}
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", kind, str(spec_path)],
                              capture_output=True, text=True, cwd=REPO, timeout=timeout,
                              env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        sys.stderr.write(proc.stderr if proc.returncode == 0 else "")
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            return {"kind": kind, "error": f"worker failed ({proc.returncode}): {proc.stderr[-1500:]}",
                    "interference": ["worker failed"], "phases": {}, "ids": {}}
        return json.loads(lines[-1])


def ensure_sites() -> None:
    """Start the sites if needed and (re)write tests/harness/wordpress.json (idempotent)."""
    proc = subprocess.run(["bash", str(REPO / "tests/harness/wordpress.sh")], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"tests/harness/wordpress.sh failed:\n{proc.stderr[-2000:]}")


def run_phase(kind: str, mode: str | None, run_id: str, n: int, notes: list[str],
              keep: bool, top: int = 15, ensure: bool = True, **extra: Any) -> dict:
    """Run a worker; clean up after it; re-run once if it saw interference."""
    result: dict = {}
    for attempt in (1, 2):
        if attempt == 2 and ensure:  # another checkout may have reset the sites (new app passwords)
            ensure_sites()
        sites()  # fails early, with the reason, when the sites are not there
        token = f"swpbench-{run_id}-{mode or kind}{attempt}" + ("p" if extra.get("profile") else "")
        spec = {"posts": n, "token": token, "mode": mode, "top": top, **extra}
        progress(f"{kind}{'-' + mode if mode else ''}: run {attempt} (token {token})")
        result = run_worker(kind, spec)
        result["token"] = token
        if not keep:
            result["deleted"] = clean_up(sites(), token, result.get("ids"))
        if not result.get("interference"):
            break
        what = "; ".join(result["interference"])[:400]
        notes.append(f"{result.get('kind', kind)} run {attempt}: interference/failure: {what}"
                     + (" -> re-ran" if attempt == 1 else " -> kept as is"))
        progress(notes[-1])
        result["rerun"] = attempt
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=200, help="stories (posts per site); default 200")
    parser.add_argument("--json", action="store_true", help="JSON on stdout instead of the table")
    parser.add_argument("--no-image", action="store_true", help="skip the featured-image variant")
    parser.add_argument("--image-posts", type=int, default=100,
                        help="stories in the featured-image variant (it also carries the profile); default 100")
    parser.add_argument("--no-experiment", action="store_true", help="skip the find_existing experiment (see the module docstring)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="rounds of the interleaved floor/ours/experiment comparison; 0 skips it; default 4")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    parser.add_argument("--top", type=int, default=15, help="profile entries to print; default 15")
    parser.add_argument("--no-ensure", action="store_true", help="do not run tests/harness/wordpress.sh first")
    parser.add_argument("--keep", action="store_true", help="leave the posts on the sites")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        kind, spec_path = args.worker
        spec = json.loads(Path(spec_path).read_text())
        result = {"floor": worker_floor, "paired": worker_paired}.get(kind, worker_ours)(spec)
        print(json.dumps(result))
        return 0

    started = time.perf_counter()
    if not args.no_ensure:
        progress("ensuring the WordPress sites run (tests/harness/wordpress.sh)")
        ensure_sites()
    all_sites = sites()
    run_id = secrets.token_hex(3)
    notes: list[str] = []
    load_before = os.getloadavg()
    posts_before = {name: count_posts(site, "") for name, site in all_sites.items()}

    plan: list[tuple[str, str, str | None, dict]] = [("floor", "floor", None, {}), ("plain", "ours", "plain", {})]
    if args.rounds:
        plan.append(("paired", "paired", "paired", {"rounds": args.rounds, "experiment": not args.no_experiment}))
    if not args.no_image:  # the profile rides on the image run (its ratio is not the target)
        plan.append(("image", "ours", "image", {"profile": not args.no_profile, "posts": args.image_posts}))
    elif not args.no_profile:
        plan.append(("profile", "ours", "plain", {"profile": True, "no_update": True}))
    results = {}
    for key, kind, mode, extra in plan:
        results[key] = run_phase(kind, mode, run_id, args.posts, notes, args.keep, args.top,
                                 not args.no_ensure, **extra)

    report = build_report(results, args.posts, notes, load_before, posts_before,
                          time.perf_counter() - started)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


def build_report(results: dict, n: int, notes: list[str], load_before: tuple, posts_before: dict,
                 elapsed: float) -> dict:
    floor = results.get("floor", {}).get("phases", {})
    plain = results.get("plain", {})
    p = plain.get("phases", {})
    image = results.get("image", results.get("profile", {}))
    paired = results.get("paired", {})
    par = floor.get("par", {}).get("wall_s")
    par_upd = floor.get("par-update", {}).get("wall_s")
    rows: list[dict] = []

    def row(name: str, phase: dict | None, posts: int, versus: float | None, rss: float | None,
            versus_name: str = "floor par", group: str = "single") -> None:
        if not phase or "wall_s" not in phase:
            rows.append({"measure": name, "group": group, "missing": True})
            return
        wall = phase["wall_s"]
        log = phase.get("access_log") or {}
        rows.append({
            "measure": name, "group": group, "wall_s": wall, "posts": posts, "cpu_s": phase.get("cpu_s"),
            "ms_per_post": round(1000 * wall / posts, 1) if posts else None,
            "requests": sum(phase.get("requests", {}).values()),
            "access_log": log.get("total"), "foreign": log.get("foreign"),
            # per post, so a row with fewer posts (the image variant) compares fairly
            "ratio": round((wall / posts) / (versus / (2 * n)), 2) if versus and posts else None,
            "versus": versus_name,
            "range": phase.get("range"), "peak_rss_mb": rss,
        })

    frss = results.get("floor", {}).get("peak_rss_mb")
    row("floor seq: hub", floor.get("seq-hub"), n, None, frss)
    row("floor seq: member", floor.get("seq-member"), n, None, frss)
    seq = None
    if floor.get("seq-hub") and floor.get("seq-member"):
        seq = {"wall_s": round(floor["seq-hub"]["wall_s"] + floor["seq-member"]["wall_s"], 3),
               "requests": Counter(floor["seq-hub"]["requests"]) + Counter(floor["seq-member"]["requests"])}
    row("floor seq: sum of both", seq, 2 * n, None, frss)
    row("floor par: 2 threads", floor.get("par"), 2 * n, None, frss)
    row("floor par: update", floor.get("par-update"), 2 * n, None, frss)
    row("ours syndicate (new)", p.get("publish"), 2 * n, par, plain.get("peak_rss_mb"))
    row("  same, vs floor seq", p.get("publish"), 2 * n, seq["wall_s"] if seq else None,
        plain.get("peak_rss_mb"), "floor seq")
    row("ours syndicate again", p.get("again"), 0, None, plain.get("peak_rss_mb"))
    row("ours update round", p.get("update"), 2 * n, par_upd, plain.get("peak_rss_mb"), "floor par update")
    if image:
        label = "ours + image" if "image" in results else "ours (profiled run)"
        row(f"{label}{' (cProfile)' if image.get('profile_text') else ''}", image.get("phases", {}).get("publish"),
            2 * image.get("posts", n), par, image.get("peak_rss_mb"))

    paired_summary = {}
    if paired.get("rounds"):
        rounds = paired["rounds"]
        variants = list(rounds[0]["wall_s"])
        sums = {v: round(sum(r["wall_s"].get(v, 0) for r in rounds), 3) for v in variants}
        posts = 2 * sum(r["stories"] for r in rounds)
        for v in variants:
            ratios = [r["wall_s"][v] / r["wall_s"]["floor"] for r in rounds if r["wall_s"].get("floor")]
            phase = {"wall_s": sums[v], "requests": paired["requests"].get(v, {}), "cpu_s": paired["cpu_s"].get(v),
                     "range": [round(min(ratios), 2), round(max(ratios), 2)] if v != "floor" and ratios else None}
            label = {"floor": "floor par (bare POSTs)", "ours": "ours syndicate()",
                     "fields": "floor par, our fields (bare POSTs)",
                     "fresh": "exp: skip find_existing", "legacy": "exp: always find_existing"}[v]
            row(label, phase, posts, sums["floor"] * 2 * n / posts if v != "floor" else None,
                paired.get("peak_rss_mb"), "paired floor", group="paired")
        paired_summary = {"rounds": rounds, "sums": sums}
        if sums.get("fields"):
            per_round = [r["wall_s"]["ours"] / r["wall_s"]["fields"] for r in rounds if r["wall_s"].get("fields")]
            paired_summary["ours_over_fields"] = round(sums["ours"] / sums["fields"], 3)
            paired_summary["ours_over_fields_range"] = [round(min(per_round), 2), round(max(per_round), 2)]

    return {
        "posts_per_site": n, "target_ratio": TARGET_RATIO, "rows": rows, "paired": paired_summary,
        "package_skips_find_existing_on_first_attempt": plain.get("skips_find_existing"),
        "requests": {
            "floor par": floor.get("par", {}).get("requests"),
            "ours new": p.get("publish", {}).get("requests"),
            "ours again": p.get("again", {}).get("requests"),
            "ours update": p.get("update", {}).get("requests"),
            "ours image": image.get("phases", {}).get("publish", {}).get("requests") if image else None,
            "paired ours": paired.get("requests", {}).get("ours"),
            "paired exp": paired.get("requests", {}).get(paired.get("experiment", "fresh")),
        },
        "content_bytes": {"floor": results.get("floor", {}).get("content_bytes"),
                          "ours": plain.get("content_bytes")},
        "image": {"origin_gets": image.get("image_gets"), "media_per_site": image.get("media_per_site")}
        if image else {"origin_gets": None},
        "profile_of": image.get("kind") if image else None,
        "profile_text": image.get("profile_text") if image else None,
        "profile_focus": image.get("profile_focus") if image else None,
        "notes": notes + [f"{k}: {v['error']}" for k, v in results.items() if v.get("error")],
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
        "posts_on_sites_before": posts_before, "elapsed_s": round(elapsed, 1),
    }


def print_report(report: dict) -> None:
    n, target = report["posts_per_site"], report["target_ratio"]
    print(f"\nSyndication: {n} stories -> 2 WordPress sites ({2 * n} posts); load average before "
          f"{report['load_before']}, after {report['load_after']}; posts on the sites before "
          f"{report['posts_on_sites_before']}; content bytes per post: floor {report['content_bytes']['floor']},"
          f" ours {report['content_bytes']['ours']}; the package skips find_existing on a first attempt:"
          f" {report.get('package_skips_find_existing_on_first_attempt')}\n")
    head = (f"| {'measure':<26} | {'wall s':>7} | {'ms/post':>7} | {'CPU s':>5} | {'requests':>8} | {'in log':>6} | "
            f"{'foreign':>7} | {'ratio':>22} | {'RSS MB':>6} |")
    rule = "|" + "|".join("-" * len(c) for c in head.split("|")[1:-1]) + "|"
    group = None
    for r in report["rows"]:
        if r["group"] != group:
            group = r["group"]
            if group == "paired":
                rounds = report["paired"]["rounds"]
                print(f"\ninterleaved: {len(rounds)} rounds x {rounds[0]['stories']} stories, order rotated;"
                      " each contender's walls summed; ratio vs the paired floor [min-max of the rounds]")
            print(head + "\n" + rule)
        if r.get("missing"):
            print(f"| {r['measure']:<26} | {'(missing: see notes)':>40} |")
            continue
        ratio = ""
        if r["ratio"] is not None:
            if r["versus"] in ("floor par", "paired floor"):
                ratio = f"{r['ratio']:.2f}x " + ("ok" if r["ratio"] <= target else "MISS")
                if r.get("range"):
                    ratio += f" [{r['range'][0]:.2f}-{r['range'][1]:.2f}]"
            else:
                ratio = f"{r['ratio']:.2f}x vs {r['versus'].replace('floor ', '')}"
        mspp = f"{r['ms_per_post']:.1f}" if r["ms_per_post"] is not None else "-"
        dash = "-"
        print(f"| {r['measure']:<26} | {r['wall_s']:>7.2f} | {mspp:>7} | {r['cpu_s'] if r['cpu_s'] is not None else dash:>5} | "
              f"{r['requests']:>8} | {r['access_log'] if r['access_log'] is not None else dash:>6} | "
              f"{r['foreign'] if r['foreign'] is not None else dash:>7} | {ratio:>22} | {r['peak_rss_mb'] or dash:>6} |")
    paired = report.get("paired") or {}
    if paired.get("ours_over_fields"):
        low, high = paired["ours_over_fields_range"]
        print(f"\npaired: ours / floor with our fields = {paired['ours_over_fields']:.2f}x "
              f"({'ok' if paired['ours_over_fields'] <= target else 'MISS'} <= {target}x) [rounds {low:.2f}-{high:.2f}]:"
              " the same JSON posted bare, so WordPress's work on terms, slug and date is in both")
    print(f"\nratio = wall / floor wall for the same posts; target <= {target}x (destinations in parallel)."
          " ms/post = wall / posts made on both sites. CPU s = this process's CPU in the timed part."
          " 'in log' = our requests in Apache's access logs (more than 'requests' = another engine client"
          " ran meanwhile); 'foreign' = other clients' requests in the same window (noise).")
    print("\nrequests by class (in-process, from urllib3's log):")
    for name, counts in report["requests"].items():
        if counts is not None:
            print(f"  {name:<12} " + (", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
                                      or "none"))
    img = report["image"]
    if img.get("origin_gets") is not None:
        print(f"\nfeatured image: {img['origin_gets']} download(s) from the origin, distinct media ids on the"
              f" posts per site {img['media_per_site']}")
    if report.get("profile_focus"):
        print(f"\nwhere the time goes (cProfile of {report['profile_of']}'s syndicate(); cumulative"
              " thread-seconds, summed over both destination threads):")
        for f in report["profile_focus"]:
            print(f"  {f['what']:<40} {f['calls']:>6} calls {f['cum_s']:>8.2f} s")
    if report.get("profile_text"):
        text = report["profile_text"]
        start = text.find("   ncalls")
        print("\ncProfile, top entries by cumulative time:\n" + (text[start:] if start >= 0 else text).rstrip())
    for note in report["notes"]:
        print(f"NOTE: {note}")
    print(f"\ntotal benchmark time {report['elapsed_s']} s")


if __name__ == "__main__":
    sys.exit(main())

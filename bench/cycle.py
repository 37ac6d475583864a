#!/usr/bin/env python3
"""Cycle benchmark: one `sociaalwerk-publisher run` with nothing new, at 2,000 sources.

The target (from the issue): with 2,000 sources (latency 100 ms each) and 10,000 stored
stories, one `run` cycle with nothing new finishes in <= 20 s on 2 cores and uses
<= 250 MB; the same cycle on PostgreSQL with 2 workers finishes in <= 0.6x the
single-worker time.

The feed server (bench/ingest.py's FeedServer, in this process, 127.0.0.1 only) serves
S feeds x E entries with ETag/304 and a per-request latency. Setup (not timed): an OPML
file of the sources (mostly blogs, some media and alert feeds, a few trusted blogs)
imported with `sources import`, and a first `run` that stores every story, matches the
coverage, syndicates the trusted blogs' stories to a WXR file and writes the reports.
Then, before each timed run, one SQL UPDATE sets every source's `next_poll_at` to the
past (the poll interval has passed), and `sociaalwerk-publisher --config FILE run` is
timed as a subprocess, wall time. Scenarios, interleaved over --repeat rounds (best of):

  sqlite    SQLite (the default database beside the config), 1 worker
  pg1       PostgreSQL (a fresh database bench_cycle), 1 worker
  pg2       PostgreSQL, 2 workers started at the same moment, each with its own config
            folder (the run lock sits beside the config: two folders = two hosts), same
            database URL; timed until both finished

Every timed run is checked: each feed requested exactly once (across both workers),
every request conditional and answered 304, no story stored, exit status 0.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import quoteattr

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from ingest import ORGANISATIONS, FeedServer, TreeRssSampler, _machine_busy_s, _own_cpu_s  # noqa: E402

TARGET_SECONDS = 20.0
TARGET_MB = 250.0
TARGET_RATIO = 0.6
PG_DATABASE = "bench_cycle"
POSTGRES_ENV = REPO / "tests" / "harness" / "postgres.env"
#: CBS codes of the municipalities ingest.py's content names (GEMEENTEN, same order)
MUNICIPALITIES = ["GM0344", "GM0518", "GM0363", "GM0599", "GM0772", "GM0202",
                  "GM0014", "GM0193", "GM0855", "GM0268", "GM0034", "GM0080"]
SCENARIOS = {
    "sqlite": "SQLite, 1 worker",
    "pg1": "PostgreSQL, 1 worker",
    "pg2": "PostgreSQL, 2 workers",
}


def cli_command() -> list[str]:
    """The console script beside this interpreter (not a pyenv shim, which adds a bash hop)."""
    beside = Path(sys.executable).parent / "sociaalwerk-publisher"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("sociaalwerk-publisher")
    if not found:
        raise SystemExit("sociaalwerk-publisher is not on PATH: pip install -e '.[test]'")
    return [found]


def source_kind(index: int) -> str:
    """80 % blog, 15 % media, 5 % alert, spread evenly over the list."""
    slot = index % 20
    return "media" if slot in (1, 8, 15) else "alert" if slot == 12 else "blog"


# --------------------------------------------------------------------------------------------
# The feed server: ingest.py's, plus a count of every request by path and conditional-ness
# --------------------------------------------------------------------------------------------


class CountingFeedServer(FeedServer):
    """FeedServer that also counts requests per path and those carrying If-None-Match."""

    def __init__(self) -> None:
        super().__init__()
        outer = self
        self.paths: Counter[str] = Counter()
        self.conditional = 0
        base = self.httpd.RequestHandlerClass

        class Counting(base):  # type: ignore[misc, valid-type]
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                outer.record(self.path, self.headers.get("If-None-Match") is not None)
                super().do_GET()

        self.httpd.RequestHandlerClass = Counting

    def record(self, path: str, conditional: bool) -> None:
        with self._lock:
            self.paths[path] += 1
            self.conditional += conditional

    def reset(self) -> None:
        with self._lock:
            self.paths.clear()
            self.conditional = 0
            for key in self.requests:
                self.requests[key] = 0

    def snapshot(self) -> dict:
        with self._lock:
            return {"paths": Counter(self.paths), "conditional": self.conditional, **self.requests}


# --------------------------------------------------------------------------------------------
# Runner: a dedicated subprocess per `run`, so its rusage is the run's own
# --------------------------------------------------------------------------------------------


def runner_main(spec_path: str) -> int:
    """Start the CLI on "go" (stdin), reap it and every orphan it leaves, print JSON.

    This process is a child subreaper: the forkserver (and its parse workers) that the
    CLI leaves behind are re-parented here, so they are reaped here too and their
    ru_maxrss is seen. Prints "ready", then "pid N" once started, then the result.
    """
    spec = json.loads(Path(spec_path).read_text())
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    print("ready", flush=True)
    sys.stdin.readline()
    with open(spec["stdout"], "wb") as out, open(spec["stderr"], "wb") as err:
        start = time.monotonic()
        proc = subprocess.Popen(spec["argv"], stdout=out, stderr=err, cwd=spec["cwd"])
    print(f"pid {proc.pid}", flush=True)
    end = code = cli_maxrss = None
    others: list[int] = []
    while True:
        try:
            if end is None:
                pid, status, usage = os.wait4(-1, 0)
            else:  # the CLI is done: give its orphans a moment to exit, then stop waiting
                pid, status, usage = os.wait4(-1, os.WNOHANG)
                if pid == 0:
                    if time.monotonic() - end > 15:
                        break
                    time.sleep(0.02)
                    continue
        except ChildProcessError:
            break
        if pid == proc.pid:
            end = time.monotonic()
            code = os.waitstatus_to_exitcode(status)
            cli_maxrss = usage.ru_maxrss
        else:
            others.append(usage.ru_maxrss)
    proc.returncode = code  # reaped above; keeps Popen from waiting again
    if end is None:
        raise RuntimeError("the CLI process was never reaped")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "start": start, "end": end, "seconds": end - start, "returncode": code,
        "cli_maxrss_kib": cli_maxrss,  # the CLI's own VmHWM
        "other_maxrss_kib": others,  # each reaped descendant: max of it and what it reaped
        "children_maxrss_kib": children.ru_maxrss,
        "cpu_s": children.ru_utime + children.ru_stime,
    }), flush=True)
    return 0


def cli_wrapper_main(spec_path: str) -> int:
    """Diagnostics: the CLI's `main` with each cycle step timed, wall and CPU (and cProfiled).

    The profile is of CPU time (``time.thread_time``), one profiler per thread (the main
    thread and every download thread), merged: waiting for the network or the database
    costs nothing in it, so its times are where the process's CPU went.
    """
    spec = json.loads(Path(spec_path).read_text())
    marks = {"wrapper_start": time.monotonic()}
    profiles: list = []
    if spec.get("profile"):
        import cProfile

        original_run = threading.Thread.run

        def profiled_run(self: threading.Thread) -> None:
            profiler = cProfile.Profile(time.thread_time)
            profiles.append(profiler)
            profiler.enable()
            try:
                original_run(self)
            finally:
                profiler.disable()

        threading.Thread.run = profiled_run  # type: ignore[method-assign]
    from sociaalwerk_publisher import cycle as cycle_module
    from sociaalwerk_publisher.cli import main as cli_main

    marks["imported"] = time.monotonic()
    cpu = {"start_and_imports": time.process_time()}
    steps: dict[str, float] = {}
    original = cycle_module.Jobs.step

    def timed_step(self, name: str) -> None:  # type: ignore[no-untyped-def]
        t0, c0 = time.monotonic(), time.process_time()
        marks.setdefault("first_step", t0)
        try:
            original(self, name)
        finally:
            marks["last_step_end"] = time.monotonic()
            steps[name] = steps.get(name, 0.0) + marks["last_step_end"] - t0
            cpu[name] = cpu.get(name, 0.0) + time.process_time() - c0

    cycle_module.Jobs.step = timed_step  # type: ignore[method-assign]
    main_profile = None
    if spec.get("profile"):
        main_profile = cProfile.Profile(time.thread_time)
        profiles.append(main_profile)
    sys.argv = ["sociaalwerk-publisher", *spec["argv"]]
    code: object = 0
    try:
        if main_profile:
            main_profile.enable()
        cli_main()
    except SystemExit as e:
        code = e.code
    finally:
        if main_profile:
            main_profile.disable()
            import pstats

            stats = pstats.Stats(main_profile)
            for other in profiles[1:] if profiles[0] is main_profile else profiles:
                if other is not main_profile:
                    stats.add(other)
            stats.dump_stats(spec["profile"])
        marks["main_returned"] = time.monotonic()
        cpu["total"] = time.process_time()
        Path(spec["steps_out"]).write_text(json.dumps({"steps": steps, "marks": marks, "cpu": cpu}))
    return code if isinstance(code, int) else 0 if code is None else 1


class DescendantRssSampler(TreeRssSampler):
    """ingest.py's sampler, but keeps the peak of the root's descendants (without the root)
    apart: the root's own peak is known exactly (VmHWM, from wait4), theirs is not."""

    def __init__(self, root: int, interval: float = 0.25) -> None:
        super().__init__(root, interval)
        self.descendants_peak_kib = 0
        self.descendants_seen: set[str] = set()

    def _sample(self) -> int:
        total = descendants = 0
        for pid in self._tree():
            try:
                with open(f"/proc/{pid}/statm", "rb") as f:
                    kib = int(f.read().split()[1]) * self._page_kib
                if pid != self.root:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        command = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                        self.descendants_seen.add(re.sub(r"\(\d+\)", "(N)", command)[:120])
            except (OSError, ValueError, IndexError):
                continue
            total += kib
            descendants += kib * (pid != self.root)
        self.descendants_peak_kib = max(self.descendants_peak_kib, descendants)
        return total


class Run:
    """One runner subprocess for one `run`; the CLI's descendants' RSS is sampled from /proc here."""

    def __init__(self, argv: list[str], cwd: Path, logs: Path, name: str) -> None:
        logs.mkdir(parents=True, exist_ok=True)
        self.stdout, self.stderr = logs / f"{name}.out", logs / f"{name}.err"
        spec = logs / f"{name}.json"
        spec.write_text(json.dumps({"argv": argv, "cwd": str(cwd), "stdout": str(self.stdout),
                                    "stderr": str(self.stderr)}))
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--runner", str(spec)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":  # type: ignore[union-attr]
            raise RuntimeError(f"runner for {name} did not start")
        self.sampler: DescendantRssSampler | None = None

    def go(self) -> None:
        self.proc.stdin.write("go\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]

    def started(self) -> None:
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        self.sampler = DescendantRssSampler(int(line.split()[1]), interval=0.25)
        self.sampler.start()

    def result(self) -> dict:
        stdout, _ = self.proc.communicate(timeout=3600)
        assert self.sampler is not None
        self.sampler.stop()
        result = json.loads(stdout.strip().splitlines()[-1])
        result["tree_sampled_kib"] = self.sampler.peak_kib
        result["descendants_sampled_kib"] = self.sampler.descendants_peak_kib
        result["descendants_seen"] = sorted(self.sampler.descendants_seen)
        # the figure for the target: the CLI's own VmHWM (exact) + its descendants' sampled peak.
        # (ru_maxrss of an exec'd child, such as multiprocessing's resource tracker, also counts
        # the pages it had as a fork of the CLI before exec, so the rusage sum over-counts.)
        result["peak_kib"] = result["cli_maxrss_kib"] + result["descendants_sampled_kib"]
        result["rusage_sum_kib"] = result["cli_maxrss_kib"] + sum(result["other_maxrss_kib"])
        result["output"] = self.stdout.read_text(errors="replace")
        result["errors"] = self.stderr.read_text(errors="replace")
        return result


def run_together(commands: list[tuple[list[str], Path, str]], logs: Path) -> list[dict]:
    """Start one runner per command, then the CLIs at the same moment; wait for all."""
    runs = [Run(argv, cwd, logs, name) for argv, cwd, name in commands]
    for run in runs:
        run.go()
    for run in runs:
        run.started()
    return [run.result() for run in runs]


# --------------------------------------------------------------------------------------------
# Setup: folders, configs, OPML, databases
# --------------------------------------------------------------------------------------------


def write_opml(path: Path, urls: list[str], trusted_every: int) -> Counter[str]:
    kinds: Counter[str] = Counter()
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<opml version="2.0">',
             "  <head><title>cycle benchmark</title></head>", "  <body>"]
    blogs = 0
    for index, url in enumerate(urls):
        kind = source_kind(index)
        kinds[kind] += 1
        title = f"{ORGANISATIONS[index % len(ORGANISATIONS)]} {index}"
        attributes = {"type": "rss", "text": title, "title": title, "xmlUrl": url, "category": kind}
        if kind == "blog":
            attributes.update(organisation=title, municipality=MUNICIPALITIES[index % len(MUNICIPALITIES)])
            if trusted_every and blogs % trusted_every == 0:
                attributes["trusted"] = "true"
                kinds["trusted blog"] += 1
            blogs += 1
        elif kind == "media":
            attributes["municipality"] = MUNICIPALITIES[index % len(MUNICIPALITIES)]
        lines.append("    <outline " + " ".join(f"{k}={quoteattr(v)}" for k, v in attributes.items()) + "/>")
    lines += ["  </body>", "</opml>", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return kinds


def write_config(folder: Path, database_url: str | None, opml: Path | None, concurrency: int | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    if database_url:
        parts.append(f"[database]\nurl = {json.dumps(database_url)}\n")
    if opml:
        parts.append(f"[sources]\nopml = {json.dumps(str(opml))}\n")
    if concurrency:
        parts.append(f"[fetch]\nconcurrency = {concurrency}\n")
    parts.append("[review]\nauto_approve_trusted = true\n")
    parts.append('[report]\n# no mail server: each report whose period is complete is written here\n'
                 'output_folder = "uitvoer"\n')
    parts.append('[[destinations]]\nname = "landelijk"\nadapter = "wxr"\n'
                 'path = "uitvoer/sociaalwerkers.wxr.xml"\nurl = "https://www.sociaalwerkers.nl"\n')
    path = folder / "sociaalwerk-publisher.toml"
    path.write_text("# written by bench/cycle.py\n\n" + "\n".join(parts), encoding="utf-8")
    path.chmod(0o600)
    return path


def postgres_base_url(explicit: str | None) -> str:
    if explicit:
        return explicit
    if os.environ.get("SWP_TEST_POSTGRES_URL"):
        return os.environ["SWP_TEST_POSTGRES_URL"]
    if POSTGRES_ENV.exists():
        for line in POSTGRES_ENV.read_text().splitlines():
            if line.startswith("SWP_TEST_POSTGRES_URL="):
                return line.split("=", 1)[1].strip()
    raise SystemExit(f"no PostgreSQL URL: run `bash tests/harness/postgres.sh` (writes {POSTGRES_ENV}),"
                     " pass --postgres-url, or use --no-postgres")


def recreate_database(base_url: str, name: str) -> str:
    """DROP and CREATE ``name`` through the harness database; returns its URL."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    engine = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    finally:
        engine.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def drop_database(base_url: str, name: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        engine.dispose()


def _self_cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def make_all_due(database_url: str) -> int:
    """One UPDATE: every source's next poll an hour ago (the interval passed); no claims."""
    from sqlalchemy import create_engine, update

    from sociaalwerk_publisher._storage._schema import sources

    past = datetime.now(timezone.utc) - timedelta(hours=1)
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            return conn.execute(update(sources).values(next_poll_at=past, claimed_by=None,
                                                       claim_expires_at=None)).rowcount
    finally:
        engine.dispose()


def count_stories(database_url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM stories")).scalar() or 0)
    finally:
        engine.dispose()


def cli(config: Path, *args: str) -> str:
    """A setup command (not timed); its output, or SystemExit with the error."""
    done = subprocess.run([*cli_command(), "--config", str(config), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"`sociaalwerk-publisher {' '.join(args)}` failed ({done.returncode}):\n"
                         f"{done.stderr[-3000:]}{done.stdout[-2000:]}")
    return done.stdout


class PostgresCpu:
    """CPU seconds the PostgreSQL server used: every postgres process, plus what the postmaster
    reaped (backends of closed connections). All clusters' and clients' work, not just ours."""

    @staticmethod
    def read() -> float:
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        stats: dict[int, tuple[int, list[str]]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    raw = f.read()
            except OSError:
                continue
            comm = raw[raw.find(b"(") + 1:raw.rfind(b")")]
            if comm not in (b"postgres", b"postmaster"):
                continue
            fields = raw.rsplit(b")", 1)[1].split()
            stats[int(entry.name)] = (int(fields[1]), [x.decode() for x in fields])
        for ppid, values in stats.values():
            total += int(values[11]) + int(values[12])  # utime, stime
            if ppid not in stats:  # the postmaster: add its reaped children
                total += int(values[13]) + int(values[14])  # cutime, cstime
        return total / tick


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------

def _tail(text: str, lines: int = 4) -> str:
    """The last lines of a run's output (a traceback's last frames and its error)."""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


_SUMMARY = re.compile(r"fetched (\d+) sources \((\d+) new, (\d+) failed\)")


def timed_scenario(name: str, configs: list[Path], database_url: str, server: CountingFeedServer,
                   sources: int, logs: Path, round_: int) -> dict:
    due = make_all_due(database_url)
    stories_before = count_stories(database_url)
    server.reset()
    pg_before = PostgresCpu.read() if name != "sqlite" else None
    busy_before, bench_before = _machine_busy_s(), _self_cpu_s()
    commands = [([*cli_command(), "--config", str(config), "run"], config.parent,
                 f"{name}-r{round_}-w{i + 1}") for i, config in enumerate(configs)]
    workers = run_together(commands, logs)
    busy = _machine_busy_s() - busy_before
    bench_cpu = _self_cpu_s() - bench_before  # the feed server's threads, the RSS samplers
    pg_cpu = PostgresCpu.read() - pg_before if pg_before is not None else None
    runs_cpu = sum(w["cpu_s"] for w in workers)
    other_cpu = max(0.0, busy - bench_cpu - runs_cpu - (pg_cpu or 0.0))
    requests = server.snapshot()
    stories_after = count_stories(database_url)

    problems = []
    if due != sources:
        problems.append(f"the due-reset updated {due} sources, expected {sources}")
    fetched = new = failed = 0
    for i, w in enumerate(workers, 1):
        match = _SUMMARY.search(w["output"] + w["errors"])
        if w["returncode"] != 0:
            problems.append(f"worker {i} exit status {w['returncode']}: "
                            f"{_tail(w['errors'] or w['output'])}")
        if not match:
            problems.append(f"worker {i}: no summary line in its output")
            continue
        fetched += int(match[1])
        new += int(match[2])
        failed += int(match[3])
        w["fetched"] = int(match[1])
    if fetched != sources:
        problems.append(f"fetched {fetched} sources in all, expected {sources}")
    if new or failed:
        problems.append(f"{new} new, {failed} failed: expected nothing new")
    if stories_after != stories_before:
        problems.append(f"stories went from {stories_before} to {stories_after}")
    counts = Counter(requests["paths"].values())
    if len(requests["paths"]) != sources or set(counts) != {1}:
        problems.append(f"requests per feed: {dict(sorted(counts.items()))} over {len(requests['paths'])}"
                        f" feeds; expected each of {sources} feeds exactly once")
    if requests["304"] != sources or requests["conditional"] != sources or requests["200"]:
        problems.append(f"server: {requests['304']} x 304, {requests['200']} x 200, "
                        f"{requests['conditional']} conditional; expected {sources} x 304, all conditional")

    start = min(w["start"] for w in workers)
    end = max(w["end"] for w in workers)
    per_worker_mb = [w["peak_kib"] / 1024 for w in workers]
    return {
        "scenario": name, "round": round_, "seconds": end - start,
        "worker_seconds": [round(w["seconds"], 2) for w in workers],
        "worker_fetched": [w.get("fetched") for w in workers],
        "peak_mb": round(max(per_worker_mb), 1),  # the largest single worker's tree
        "sum_peak_mb": round(sum(per_worker_mb), 1),
        "cli_vmhwm_mb": round(max(w["cli_maxrss_kib"] for w in workers) / 1024, 1),
        "descendants_mb": round(max(w["descendants_sampled_kib"] for w in workers) / 1024, 1),
        "tree_sampled_mb": round(max(w["tree_sampled_kib"] for w in workers) / 1024, 1),
        "rusage_sum_mb": round(max(w["rusage_sum_kib"] for w in workers) / 1024, 1),
        "descendants": sorted({d for w in workers for d in w["descendants_seen"]}),
        "cpu_s": round(runs_cpu, 2),
        "feed_server_cpu_s": round(bench_cpu, 2),
        "other_cpu_s": round(other_cpu, 2),  # the rest of the machine meanwhile
        "postgres_cpu_s": round(pg_cpu, 2) if pg_cpu is not None else None,
        "requests": {"304": requests["304"], "200": requests["200"], "conditional": requests["conditional"],
                     "feeds": len(requests["paths"]), "max_per_feed": max(requests["paths"].values(), default=0)},
        "problems": problems,
    }


def diagnostic_run(name: str, config: Path, database_url: str, logs: Path, profile: str | None) -> dict:
    """An extra, untimed run with each cycle step timed, wall and CPU; cProfiled if ``profile``."""
    make_all_due(database_url)
    tag = "profile" if profile else "steps"
    steps_out = logs / f"{name}-{tag}-steps.json"
    spec = logs / f"{name}-{tag}-wrapper.json"
    spec.write_text(json.dumps({"argv": ["--config", str(config), "run"], "steps_out": str(steps_out),
                                "profile": profile}))
    argv = [sys.executable, str(Path(__file__).resolve()), "--cli-wrapper", str(spec)]
    (w,) = run_together([(argv, config.parent, f"{name}-{tag}")], logs)
    data = json.loads(steps_out.read_text())
    marks = data["marks"]
    result = {
        "seconds": round(w["seconds"], 2), "returncode": w["returncode"],
        "start_to_imported_s": round(marks["imported"] - w["start"], 2),
        "imported_to_first_step_s": round(marks.get("first_step", marks["main_returned"]) - marks["imported"], 2),
        "steps_s": {k: round(v, 3) for k, v in data["steps"].items()},
        "cpu_s": {k: round(v, 3) for k, v in data["cpu"].items()},
        "after_last_step_s": round(w["end"] - marks.get("last_step_end", marks["main_returned"]), 2),
        "profile": profile,
    }
    if profile:
        import io
        import pstats

        text = io.StringIO()
        stats = pstats.Stats(profile, stream=text)
        stats.sort_stats("tottime").print_stats(20)
        stats.sort_stats("cumulative").print_stats(35)
        result["profile_top"] = re.sub(r"\n{3,}", "\n\n", text.getvalue())
    return result


#: py-spy samples by where they were taken: the first category whose marker is in the stack
PY_SPY_CATEGORIES = [
    ("start-up: imports", ("_find_and_load",)),
    ("requests: proxy settings read from os.environ, per request",
     ("merge_environment_settings", "get_environ_proxies", "should_bypass_proxies")),
    ("fetch: claim sources (SourceStore.claim)", ("SourceStore.claim ",)),
    ("fetch: record each 304 (Fetcher._record_not_modified)", ("Fetcher._record_not_modified ",)),
    ("fetch: list the due sources (SourceStore.list)", ("SourceStore.list ",)),
    ("fetch: HTTP request and response (requests, urllib3)", ("Retrievers.retrieve ",)),
    ("fetch: the rest (loop, thread pool)", ("Fetcher.fetch ", "concurrent/futures/")),
    ("coverage step", ("Jobs.coverage ",)),
    ("syndicate step", ("Jobs.syndicate ",)),
    ("approve step", ("Jobs.approve ",)),
    ("reports step", ("Jobs.reports ",)),
    ("open the config and the database", ("make_publisher ", "Context.publisher ")),
    ("record the run", ("Publisher.record_run ",)),
    ("other", ("",)),
]
PY_SPY_RATE = 100


def ensure_py_spy(log) -> str:  # type: ignore[no-untyped-def]
    """py-spy (PyPI) in its own venv outside the repository, made on first use."""
    venv = Path.home() / ".cache" / "sociaalwerk-bench" / "py-spy"
    binary = venv / "bin" / "py-spy"
    if not binary.exists():
        log(f"creating {venv} and installing py-spy ...")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "py-spy"], check=True,
                       stdout=subprocess.DEVNULL)
    return str(binary)


def py_spy_run(name: str, config: Path, database_url: str, logs: Path, py_spy: str) -> dict:
    """An extra, untimed run under ``py-spy record --gil``: where the GIL-holding time went."""
    make_all_due(database_url)
    raw = logs / f"{name}-py-spy.txt"
    argv = [py_spy, "record", "--gil", "-r", str(PY_SPY_RATE), "-f", "raw", "-o", str(raw), "--",
            *cli_command(), "--config", str(config), "run"]
    (w,) = run_together([(argv, config.parent, f"{name}-py-spy")], logs)
    categories: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        label = next(label for label, markers in PY_SPY_CATEGORIES if any(m in stack for m in markers))
        categories[label] += count
        leaves[stack.rsplit(";", 1)[-1].strip() or "(no Python frame)"] += count
    return {"seconds": round(w["seconds"], 2), "cpu_s": round(w["cpu_s"], 2), "raw": str(raw),
            "gil_s": round(total / PY_SPY_RATE, 2),
            "categories_s": {k: round(v / PY_SPY_RATE, 2) for k, v in categories.most_common()},
            "top_functions_s": {k: round(v / PY_SPY_RATE, 2) for k, v in leaves.most_common(12)}}


def best(rounds: list[dict]) -> dict:
    fastest = min(rounds, key=lambda r: r["seconds"])
    return {**fastest, "seconds": fastest["seconds"],
            "peak_mb": max(r["peak_mb"] for r in rounds),
            "sum_peak_mb": max(r["sum_peak_mb"] for r in rounds),
            "cli_vmhwm_mb": max(r["cli_vmhwm_mb"] for r in rounds),
            "descendants_mb": max(r["descendants_mb"] for r in rounds),
            "tree_sampled_mb": max(r["tree_sampled_mb"] for r in rounds),
            "rusage_sum_mb": max(r["rusage_sum_mb"] for r in rounds),
            "all_seconds": [round(r["seconds"], 2) for r in rounds]}


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=5, help="entries per feed (stored stories = sources x entries)")
    parser.add_argument("--latency-ms", type=int, default=100, help="server latency per request")
    parser.add_argument("--repeat", type=int, default=2, help="interleaved rounds; the best time is kept")
    parser.add_argument("--no-postgres", dest="postgres", action="store_false", help="SQLite only")
    parser.add_argument("--postgres-url", help="server/role to use [default: tests/harness/postgres.env]; "
                        f"the benchmark drops and creates the database {PG_DATABASE} there")
    parser.add_argument("--concurrency", type=int, help="[fetch] concurrency in the configs "
                        "[default: not set, the package default]")
    parser.add_argument("--trusted-every", type=int, default=50,
                        help="every Nth blog source is trusted (its stories are syndicated to the WXR file "
                        "in the first run); 0: none")
    parser.add_argument("--opml-in-config", action="store_true",
                        help="also name the OPML file in [sources] opml, so every run re-imports it")
    parser.add_argument("--no-diagnostics", dest="diagnostics", action="store_false",
                        help="skip the extra untimed run per 1-worker scenario that times each cycle step")
    parser.add_argument("--profile", metavar="PREFIX",
                        help="one more run per 1-worker scenario, cProfiled (CPU time, every thread): "
                        "PREFIX-sqlite.pstats, PREFIX-pg1.pstats; the profiler itself slows the run ~3x")
    parser.add_argument("--py-spy", action="store_true",
                        help="one more run per 1-worker scenario under `py-spy record --gil` (installed on "
                        "first use in ~/.cache/sociaalwerk-bench/py-spy): GIL-holding time by category")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and the database")
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    parser.add_argument("--runner", help=argparse.SUPPRESS)
    parser.add_argument("--cli-wrapper", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runner:
        return runner_main(args.runner)
    if args.cli_wrapper:
        return cli_wrapper_main(args.cli_wrapper)

    def log(message: str) -> None:
        print(message, file=sys.stderr if args.json else sys.stdout, flush=True)

    base_url = postgres_base_url(args.postgres_url) if args.postgres else None
    work = Path(tempfile.mkdtemp(prefix="bench-cycle-"))
    logs = work / "logs"
    load_before = os.getloadavg()
    busy_before, own_before, pg_cpu_before = _machine_busy_s(), _own_cpu_s(), PostgresCpu.read()
    started = time.perf_counter()
    problems: list[str] = []
    setup: dict[str, dict] = {}
    rounds: dict[str, list[dict]] = {}
    diagnostics: dict[str, dict] = {}
    profiles: dict[str, dict] = {}
    samples: dict[str, dict] = {}
    py_spy = ensure_py_spy(log) if args.py_spy else None
    pg_url = None
    try:
        server = CountingFeedServer()
        with server:
            urls = server.urls(args.sources, args.entries, args.latency_ms)
            size = sum(len(server.feed(i, args.entries)[0]) for i in range(args.sources))
            opml = work / "sources.opml"
            kinds = write_opml(opml, urls, args.trusted_every)
            log(f"serving {args.sources} feeds x {args.entries} entries ({size / 1e6:.1f} MB) on "
                f"127.0.0.1:{server.port}, latency {args.latency_ms} ms; sources: "
                + ", ".join(f"{n} {k}" for k, n in kinds.items()) + f"; work folder {work}")
            in_config = opml if args.opml_in_config else None

            databases: dict[str, str] = {}
            configs: dict[str, list[Path]] = {}
            sqlite_config = write_config(work / "sqlite", None, in_config, args.concurrency)
            databases["sqlite"] = f"sqlite:///{sqlite_config.parent / 'sociaalwerk-publisher.db'}"
            configs["sqlite"] = [sqlite_config]
            if args.postgres:
                assert base_url is not None
                pg_url = recreate_database(base_url, PG_DATABASE)
                host_a = write_config(work / "pg-host-a", pg_url, in_config, args.concurrency)
                host_b = write_config(work / "pg-host-b", pg_url, in_config, args.concurrency)
                cli(host_a, "db", "upgrade")
                databases["pg1"] = databases["pg2"] = pg_url
                configs["pg1"], configs["pg2"] = [host_a], [host_a, host_b]

            # setup, not timed: import the sources, first run stores every story
            for backend in ("sqlite", "pg1") if args.postgres else ("sqlite",):
                config = configs[backend][0]
                log(f"setup {SCENARIOS[backend].split(',')[0]}: sources import, first run (not timed) ...")
                cli(config, "sources", "import", str(opml))
                server.reset()
                (first,) = run_together([([*cli_command(), "--config", str(config), "run"], config.parent,
                                          f"{backend}-first")], logs)
                stored = count_stories(databases[backend])
                setup[backend] = {"first_run_s": round(first["seconds"], 1), "returncode": first["returncode"],
                                  "stories": stored, "summary": (_SUMMARY.search(first["output"]) or [""])[0],
                                  "peak_mb": round(first["peak_kib"] / 1024, 1),
                                  "descendants": first["descendants_seen"]}
                if stored != args.sources * args.entries:
                    problems.append(f"setup {backend}: {stored} stories stored, expected "
                                    f"{args.sources * args.entries} (exit {first['returncode']}: "
                                    f"{_tail(first['errors'])})")
                if first["returncode"] != 0:
                    problems.append(f"setup {backend}: first run exit status {first['returncode']}: "
                                    f"{_tail(first['errors'])}")
                if problems:  # timing a cycle on a half-made store would mislead
                    raise SystemExit("setup failed, nothing timed:\n" + "\n".join(problems))
                log(f"  first run {first['seconds']:.1f} s, {stored} stories stored, exit {first['returncode']}")
            if args.postgres:
                # host B's first run: nothing is due; it writes its own reports, as host A's did
                config = configs["pg2"][1]
                (warm,) = run_together([([*cli_command(), "--config", str(config), "run"], config.parent,
                                         "pg-host-b-first")], logs)
                if warm["returncode"] != 0:
                    raise SystemExit(f"setup failed, nothing timed: host B's first run exit status "
                                     f"{warm['returncode']}: {_tail(warm['errors'])}")

            order = ["sqlite", "pg1", "pg2"] if args.postgres else ["sqlite"]
            for round_ in range(1, args.repeat + 1):
                shift = (round_ - 1) % len(order)  # rotated, so drift does not always hit one scenario
                for name in order[shift:] + order[:shift]:
                    log(f"round {round_}/{args.repeat}: {SCENARIOS[name]} ...")
                    result = timed_scenario(name, configs[name], databases[name], server, args.sources,
                                            logs, round_)
                    rounds.setdefault(name, []).append(result)
                    problems += [f"{name} round {round_}: {p}" for p in result["problems"]]
                    log(f"  {result['seconds']:.2f} s (workers {result['worker_seconds']}, fetched "
                        f"{result['worker_fetched']}), peak {result['peak_mb']:.0f} MB"
                        + (f"; PROBLEM: {'; '.join(result['problems'])}" if result["problems"] else ""))

            for name in [n for n in order if n != "pg2"]:  # extra runs, not counted
                if args.diagnostics:
                    log(f"diagnostics: {SCENARIOS[name]}, each step timed ...")
                    diagnostics[name] = diagnostic_run(name, configs[name][0], databases[name], logs, None)
                if args.profile:
                    log(f"diagnostics: {SCENARIOS[name]}, cProfiled ...")
                    profile = f"{os.path.abspath(args.profile)}-{name}.pstats"
                    profiles[name] = diagnostic_run(name, configs[name][0], databases[name], logs, profile)
                if py_spy:
                    log(f"diagnostics: {SCENARIOS[name]}, sampled by py-spy --gil ...")
                    samples[name] = py_spy_run(name, configs[name][0], databases[name], logs, py_spy)
    finally:
        if base_url and pg_url and not args.keep:
            drop_database(base_url, PG_DATABASE)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    load_after = os.getloadavg()
    elapsed = time.perf_counter() - started
    pg_cpu_total = PostgresCpu.read() - pg_cpu_before
    foreign_s = max(0.0, (_machine_busy_s() - busy_before) - (_own_cpu_s() - own_before) - pg_cpu_total)
    foreign_share = foreign_s / (elapsed * (os.cpu_count() or 1))

    results = {name: best(rs) for name, rs in rounds.items()}
    ratio = None
    paired: list[float] = []
    if "pg1" in results and "pg2" in results:
        ratio = results["pg2"]["seconds"] / results["pg1"]["seconds"]
        paired = [b["seconds"] / a["seconds"] for a, b in zip(rounds["pg1"], rounds["pg2"])]
    from sociaalwerk_publisher.config import FetchConfig

    concurrency = args.concurrency or FetchConfig().concurrency
    floor_s = args.sources * args.latency_ms / 1000 / concurrency

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else "MET" if ok else "MISSED"

    targets = []
    for name in ("sqlite", "pg1"):
        if name in results:
            targets.append((f"{SCENARIOS[name]}: seconds", results[name]["seconds"], f"<= {TARGET_SECONDS:g}",
                            verdict(results[name]["seconds"] <= TARGET_SECONDS)))
    for name, r in results.items():
        targets.append((f"{SCENARIOS[name]}: peak MB" + (" (per worker)" if name == "pg2" else ""),
                        r["peak_mb"], f"<= {TARGET_MB:g}", verdict(r["peak_mb"] <= TARGET_MB)))
    if ratio is not None:
        targets.append(("PG 2 workers / PG 1 worker", ratio, f"<= {TARGET_RATIO:g}", verdict(ratio <= TARGET_RATIO)))

    report = {
        "params": {"sources": args.sources, "entries": args.entries, "latency_ms": args.latency_ms,
                   "repeat": args.repeat, "concurrency": concurrency, "cpus": os.cpu_count(),
                   "python": sys.version.split()[0], "source_kinds": dict(kinds),
                   "opml_in_config": args.opml_in_config,
                   "loadavg_before": load_before, "loadavg_after": load_after,
                   "foreign_cpu_share": round(foreign_share, 3), "postgres_cpu_s": round(pg_cpu_total, 1),
                   "network_floor_s": round(floor_s, 2)},
        "setup": setup,
        "results": results,
        "rounds": rounds,
        "ratio_pg2_pg1": ratio,
        "ratio_pg2_pg1_paired": paired,
        "targets": [{"measure": m, "value": v, "target": t, "result": res} for m, v, t, res in targets],
        "diagnostics": diagnostics,
        "profiles": profiles,
        "py_spy": samples,
        "problems": problems,
        "total_s": round(elapsed, 1),
    }
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 1 if problems else 0

    print()
    print(f"{args.sources} sources x {args.entries} entries ({args.sources * args.entries} stories stored), "
          f"latency {args.latency_ms} ms, [fetch] concurrency {concurrency}, {os.cpu_count()} CPUs, "
          f"Python {sys.version.split()[0]}, best of {args.repeat}")
    print(f"load average (1/5/15 min) before {' '.join(f'{x:.2f}' for x in load_before)}, "
          f"after {' '.join(f'{x:.2f}' for x in load_after)}")
    print(f"network floor: {args.sources} x {args.latency_ms} ms / {concurrency} connections = {floor_s:.1f} s")
    for name, first in setup.items():
        print(f"setup {name}: first run {first['first_run_s']} s, {first['stories']} stories, peak "
              f"{first['peak_mb']} MB ({first['summary']})")
    print()
    print(f"{'scenario':<23}{'wall s':>7}  {'rounds':<10}{'peak MB':>8}{'CLI MB':>7}{'desc MB':>8}"
          f"  {'CPU s: run':>10}{'PG':>6}{'server':>7}{'other':>7}  workers s / fetched")
    for name, r in results.items():
        pg = f"{r['postgres_cpu_s']:.1f}" if r["postgres_cpu_s"] is not None else "-"
        print(f"{SCENARIOS[name]:<23}{r['seconds']:>7.2f}  {'/'.join(f'{s:.1f}' for s in r['all_seconds']):<10}"
              f"{r['peak_mb']:>8.1f}{r['cli_vmhwm_mb']:>7.1f}{r['descendants_mb']:>8.1f}"
              f"  {r['cpu_s']:>10.1f}{pg:>6}{r['feed_server_cpu_s']:>7.1f}{r['other_cpu_s']:>7.1f}"
              f"  {r['worker_seconds']} / {r['worker_fetched']}")
    print("  peak MB (per worker) = CLI MB (the `run` process's VmHWM, from wait4) + desc MB (its descendants'"
          " summed RSS,\n  sampled every 0.25 s from /proc). CPU s of the best round: run = the run's process"
          " tree(s), PG = the PostgreSQL\n  server, server = this process (the feed server), other = the rest"
          f" of the machine; the machine has {os.cpu_count()} x wall s.")
    descendants = sorted({d for r in results.values() for d in r["descendants"]})
    if descendants:
        print("  descendants seen: " + "; ".join(descendants))
    print()
    print(f"{'measure':<40}{'value':>9}  {'target':<9}result")
    for measure, value, target, outcome in targets:
        print(f"{measure:<40}{value:>9.2f}  {target:<9}{outcome}")
    if paired:
        print(f"  PG 2/1 per round: {', '.join(f'{p:.2f}' for p in paired)}")
    print()
    for name, d in [*diagnostics.items(), *profiles.items()]:
        cpu = d["cpu_s"]
        steps = ", ".join(f"{k} {v:.2f} ({cpu.get(k, 0):.2f})" for k, v in d["steps_s"].items())
        print(f"{'cProfiled' if d['profile'] else 'diagnostic'} run {SCENARIOS[name]} ({d['seconds']:.2f} s,"
              f" {cpu['total']:.2f} CPU s in the run process, not counted), wall s (CPU s):\n  start+imports {d['start_to_imported_s']:.2f}"
              f" ({cpu['start_and_imports']:.2f}), to first step {d['imported_to_first_step_s']:.2f}, steps: "
              f"{steps};\n  after the last step {d['after_last_step_s']:.2f}")
        if d.get("profile_top"):
            print(f"  CPU profile (time.thread_time, every thread of the run process, merged) -> {d['profile']}:")
            print("\n".join("    " + line for line in d["profile_top"].strip().splitlines()))
    for name, d in samples.items():
        print(f"py-spy --gil run {SCENARIOS[name]} ({d['seconds']:.2f} s, {d['cpu_s']:.2f} CPU s, not counted):"
              f" {d['gil_s']:.2f} s holding the GIL, by where (s):")
        for label, seconds in d["categories_s"].items():
            print(f"  {seconds:7.2f}  {label}")
        print("  busiest functions (innermost frame, s): " + "; ".join(
            f"{k} {v:.2f}" for k, v in list(d["top_functions_s"].items())[:8]))
    print(f"\nother processes used {foreign_share:.0%} of this machine's CPU during the benchmark "
          f"(PostgreSQL server: {pg_cpu_total:.0f} CPU s, not included); total {elapsed:.0f} s"
          + (f"; work folder kept: {work}" if args.keep else ""))
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

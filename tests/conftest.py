from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from sociaalwerk_publisher import Publisher, make_publisher
from sociaalwerk_publisher._storage import open_storage
from sociaalwerk_publisher._storage._schema import LATEST_VERSION, metadata
from sociaalwerk_publisher.config import Config, DatabaseConfig, FetchConfig

from .smtp import SmtpServer
from .wordpress import WordPressSite, load_sites

FIXTURES = Path(__file__).parent / "fixtures"
FEEDS = FIXTURES / "feeds"


def feed_bytes(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


@pytest.fixture(scope="session")
def make_httpserver() -> Iterator[HTTPServer]:
    # threaded, so a slow response never holds up the other feeds of a test
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """The config of a fresh copy of the bundled demo (what a run left in examples/demo is not copied)."""
    folder = tmp_path / "demo"
    shutil.copytree(Path(__file__).parent.parent / "examples" / "demo", folder,
                    ignore=shutil.ignore_patterns("*.db*", "*.lock", "uitvoer"))
    return folder / "sociaalwerk-publisher.toml"


def make_config(tmp_path: Path, database_url: str | None = None, **fetch: object) -> Config:
    settings = {"backoff_min_minutes": 60, "parse_processes": 1, **fetch}
    return Config(
        database=DatabaseConfig(url=database_url or f"sqlite:///{tmp_path / 'store.db'}"),
        fetch=FetchConfig(**settings),  # type: ignore[arg-type]
    )


@pytest.fixture
def publisher(tmp_path: Path, database_url: str) -> Iterator[Publisher]:
    with make_publisher(make_config(tmp_path, database_url)) as p:
        yield p


# -- PostgreSQL ------------------------------------------------------------------------
# Store tests take `database_url` (or `publisher`) and run on SQLite and on the real
# PostgreSQL of tests/harness/postgres.sh. A test session gets a database of its own
# (dropped at the end), each store in it a schema of its own (chosen with search_path in
# the URL), so tests never see each other's rows. In CI a missing PostgreSQL fails those
# tests; elsewhere they are skipped with a hint.

POSTGRES_ENV = Path(__file__).parent / "harness" / "postgres.env"
POSTGRES_HINT = "start PostgreSQL with `bash tests/harness/postgres.sh`"


class PostgresServer:
    """The harness's server, with a database of this test session and a pool of stores in it.

    Creating a store's tables costs PostgreSQL most of a second (files for every table,
    index and sequence), emptying one a few milliseconds: so a store a test is done with
    is emptied and handed to the next test.
    """

    def __init__(self, admin_url: str) -> None:
        self._admin_url = make_url(admin_url)
        self.database = f"swp_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self._execute_autocommit(self._admin_url, f"CREATE DATABASE {self.database}")
        self.url = self._admin_url.set(database=self.database).render_as_string(hide_password=False)
        self._engine = create_engine(self.url, poolclass=NullPool)
        self._schemas: dict[str, str] = {}  # URL -> schema, of pooled stores
        self._free: list[str] = []

    @staticmethod
    def _execute_autocommit(url: URL, sql: str) -> None:
        engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()

    def new_schema(self, *, upgraded: bool = True) -> str:
        """The URL of an empty store: at the latest schema version, or (``upgraded=False``)
        a schema without any table, which is never reused."""
        if upgraded and self._free:
            return self._free.pop()
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with self._engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{self.url}?options=-csearch_path%3D{schema}"
        if upgraded:
            open_storage(url, auto_upgrade=True).close()
            self._schemas[url] = schema
        return url

    def recycle(self, url: str) -> None:
        """Empty a store a test is done with, for the next test; one still in use is left alone."""
        schema = self._schemas.get(url)
        if schema is None or url in self._free:
            return
        try:
            with self._engine.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '3s'"))
                for table in reversed(metadata.sorted_tables):
                    conn.execute(text(f"DELETE FROM {schema}.{table.name}"))
                conn.execute(text(
                    "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n"
                    " ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = :schema"),
                    {"schema": schema})
                conn.execute(text(f"INSERT INTO {schema}.schema_version (version) VALUES (:v)"),
                             {"v": LATEST_VERSION})
        except SQLAlchemyError:
            del self._schemas[url]  # held or changed by the test: not reused
            return
        self._free.append(url)

    def close(self) -> None:
        self._engine.dispose()
        self._execute_autocommit(self._admin_url, f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")


def _postgres_admin_url() -> str | None:
    url = os.environ.get("SWP_TEST_POSTGRES_URL")
    if url:
        return url
    if POSTGRES_ENV.exists():
        for line in POSTGRES_ENV.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "SWP_TEST_POSTGRES_URL" and value.strip():
                return value.strip()
    return None


_postgres_problem: str | None = None
_postgres_checked = False


def postgres_problem() -> str | None:
    """Why the PostgreSQL tests cannot run here, or ``None`` when they can."""
    global _postgres_problem, _postgres_checked
    if not _postgres_checked:
        _postgres_checked = True
        url = _postgres_admin_url()
        if url is None:
            _postgres_problem = f"SWP_TEST_POSTGRES_URL is not set and {POSTGRES_ENV} is missing: {POSTGRES_HINT}"
        else:
            try:
                import psycopg
            except ImportError:
                _postgres_problem = "psycopg is not installed: pip install -e '.[test,postgres]'"
            else:
                u = make_url(url)
                try:
                    psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password,
                                    dbname=u.database, connect_timeout=3).close()
                except psycopg.Error as e:
                    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                    _postgres_problem = f"PostgreSQL at {u.host}:{u.port} cannot be used ({first}): {POSTGRES_HINT}"
    return _postgres_problem


def _needs_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("database_kind") == "postgresql":
        return True
    return "postgres" in getattr(item, "fixturenames", ())


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The harness's PostgreSQL with a database for this session; fails loudly if it cannot run."""
    problem = postgres_problem()
    if problem:
        pytest.fail(f"PostgreSQL tests cannot run: {problem}")
    server = PostgresServer(_postgres_admin_url())  # type: ignore[arg-type]
    yield server
    server.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_kind(request: pytest.FixtureRequest) -> str:
    """Each store test runs once on SQLite and once on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def make_database_url(database_kind: str, tmp_path: Path,
                      request: pytest.FixtureRequest) -> Iterator[Callable[[], str]]:
    """Makes a fresh store (at the latest schema version) on the database under test; returns its URL."""
    made: list[str] = []

    def make() -> str:
        if database_kind == "sqlite":
            folder = tmp_path if not made else tmp_path / f"db{len(made) + 1}"
            folder.mkdir(exist_ok=True)
            made.append(f"sqlite:///{folder / 'store.db'}")
        else:
            server: PostgresServer = request.getfixturevalue("postgres")
            made.append(server.new_schema())
        return made[-1]

    yield make
    if database_kind == "postgresql":
        for url in made:
            request.getfixturevalue("postgres").recycle(url)


@pytest.fixture
def database_url(make_database_url: Callable[[], str]) -> str:
    """The URL of a fresh store, on SQLite and on PostgreSQL (parametrised)."""
    return make_database_url()


_sites = None


def _wordpress() -> dict[str, WordPressSite] | str:
    global _sites
    if _sites is None:
        _sites = load_sites()
    return _sites


_missing_server = pytest.StashKey[bool]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Integration tests need the real servers. In CI they must run (the fixture fails
    # loudly); on a developer machine without them they are skipped with a hint.
    if os.environ.get("CI"):
        return
    wanted = [item for item in items if "wp_sites" in getattr(item, "fixturenames", ())]
    on_postgres = [item for item in items if _needs_postgres(item)]
    for tests, problem in ((wanted, _wordpress() if isinstance(_wordpress(), str) else None),
                           (on_postgres, postgres_problem() and f"PostgreSQL: {postgres_problem()}")):
        for item in tests if problem else ():
            item.add_marker(pytest.mark.skip(reason=str(problem)))
            item.stash[_missing_server] = True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    # a missing server is said once in the summary, not once for every test file that needs it
    report: pytest.TestReport = yield
    if report.skipped and item.stash.get(_missing_server, False) and isinstance(report.longrepr, tuple):
        report.longrepr = (__file__, None, report.longrepr[2])  # type: ignore[assignment]
    return report


@pytest.fixture(scope="session")
def wp_sites() -> dict[str, WordPressSite]:
    """The hub and member WordPress sites, emptied of posts."""
    sites = _wordpress()
    if isinstance(sites, str):
        pytest.fail(f"WordPress integration tests cannot run: {sites}")
    for site in sites.values():
        site.delete_all_posts()
    return sites


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()

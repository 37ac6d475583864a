"""The public surface is deliberate: a change to it is a change to this test."""

from __future__ import annotations

import logging
import typing
from importlib.metadata import version
from types import ModuleType

import pytest

import sociaalwerk_publisher
from sociaalwerk_publisher import exceptions, types


def test_public_names_are_pinned() -> None:
    assert sorted(sociaalwerk_publisher.__all__) == [
        "AdapterError", "AlertSummary", "AlreadyRunningError", "AuthenticationError", "CheckResult",
        "ConfigError", "CycleResult", "Decision", "Delivery", "DestinationError", "DestinationStatus",
        "ErrorKind", "FailingSourceStatus", "FetchError", "FetchOutcome", "FetchResult", "Finding",
        "ForgetResult", "HubSummary", "ImportResult", "InvalidTransitionError", "LastRun", "MailError",
        "MatchSummary", "MentionRow", "MentionScope", "NotAFeedError", "OutboxItem", "Outlet", "OutletType",
        "Period", "Publisher", "PublisherError", "RemoteRejectedError", "RenderedReport", "ReportData",
        "ReportError", "SchemaOutdatedError", "Source", "SourceError", "SourceKind", "SourceNotFoundError",
        "SourceUpdate", "Status", "StorageError", "Story", "StoryError", "StoryFilter", "StoryNotFoundError",
        "StoryStatus", "Syndication", "SyndicationAction", "SyndicationResult", "SyndicationState",
        "TemplateError", "TransportError", "UsageError", "WebhookCounts", "WebhookDelivery", "__version__",
        "make_publisher",
    ]


@pytest.mark.parametrize("module", [exceptions, types], ids=["exceptions", "types"])
def test_every_public_error_and_result_is_exported_from_the_package(module: ModuleType) -> None:
    """What a caller may catch or receive is importable from the package itself."""
    defined = {name for name, value in vars(module).items()
               if isinstance(value, type) and value.__module__ == module.__name__ and not name.startswith("_")}
    assert defined <= set(sociaalwerk_publisher.__all__)


def test_the_version_is_the_installed_distribution_s() -> None:
    assert sociaalwerk_publisher.__version__ == version("sociaalwerk-publisher")


def test_every_error_is_a_publisher_error() -> None:
    for name in sociaalwerk_publisher.__all__:
        value = getattr(sociaalwerk_publisher, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, sociaalwerk_publisher.PublisherError), name


def test_the_library_does_not_configure_logging() -> None:
    handlers = logging.getLogger("sociaalwerk_publisher").handlers
    assert [type(h) for h in handlers] == [logging.NullHandler]


def test_what_every_facade_method_returns_is_exported_from_the_package() -> None:
    """A caller can name the type of whatever a :class:`Publisher` method hands back."""

    def classes(hint: object) -> set[type]:
        found = {hint} if isinstance(hint, type) else set()
        return found.union(*(classes(arg) for arg in typing.get_args(hint)))

    exported = {getattr(sociaalwerk_publisher, name) for name in sociaalwerk_publisher.__all__}
    for name, method in vars(sociaalwerk_publisher.Publisher).items():
        if name.startswith("_") or not callable(method):
            continue
        returned = classes(typing.get_type_hints(method)["return"])
        ours = {c for c in returned if c.__module__.startswith("sociaalwerk_publisher.")}
        assert ours <= exported, name

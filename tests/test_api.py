"""The public surface is deliberate: a change to it is a change to this test."""

from __future__ import annotations

import logging

import sociaalwerk_publisher


def test_public_names_are_pinned() -> None:
    assert sorted(sociaalwerk_publisher.__all__) == [
        "ConfigError", "ErrorKind", "FetchError", "FetchOutcome", "FetchResult", "NotAFeedError", "Publisher",
        "PublisherError", "SchemaOutdatedError", "Source", "SourceError", "SourceKind",
        "SourceNotFoundError", "SourceUpdate", "StorageError", "Story", "StoryError", "StoryFilter",
        "StoryNotFoundError", "StoryStatus", "UsageError", "make_publisher",
    ]


def test_every_error_is_a_publisher_error() -> None:
    for name in sociaalwerk_publisher.__all__:
        value = getattr(sociaalwerk_publisher, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, sociaalwerk_publisher.PublisherError), name


def test_the_library_does_not_configure_logging() -> None:
    handlers = logging.getLogger("sociaalwerk_publisher").handlers
    assert [type(h) for h in handlers] == [logging.NullHandler]

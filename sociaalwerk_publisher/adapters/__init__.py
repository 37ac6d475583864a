"""Destination adapters: one module per CMS, a registry by name, and an entry-point group.

A third party adds a CMS without touching this package by exposing a factory
in the ``sociaalwerk_publisher.adapters`` entry-point group::

    [options.entry_points]
    sociaalwerk_publisher.adapters =
        drupal = my_package.drupal:DrupalAdapter

The factory is called as ``factory(destination_config, secret, base_dir)`` and returns an
:class:`~.base.Adapter`. A factory that needs settings (a URL, a path) states them with a
``check_settings(destination_config)`` attribute (a class method on an adapter class)
returning ``(key, problem)`` pairs; the config is refused with the first one.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from ..exceptions import ConfigError
from ..types import CheckResult
from .base import Adapter, Image, Post, RemotePost

if TYPE_CHECKING:
    from ..config import DestinationConfig

ENTRY_POINT_GROUP = "sociaalwerk_publisher.adapters"

#: Built-in adapters by name: module and class, imported on first use.
BUILTIN = {
    "wordpress-rest": ("sociaalwerk_publisher.adapters.wordpress_rest", "WordPressRestAdapter"),
    "wordpress-xmlrpc": ("sociaalwerk_publisher.adapters.wordpress_xmlrpc", "WordPressXmlRpcAdapter"),
    "wxr": ("sociaalwerk_publisher.adapters.wxr", "WxrAdapter"),
}

__all__ = ["Adapter", "CheckResult", "Image", "Post", "RemotePost", "adapter_factory", "adapter_names",
           "settings_problems"]


def adapter_names() -> list[str]:
    """Every adapter name a destination may use: built in, then plugged in."""
    return sorted(set(BUILTIN) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def adapter_factory(name: str) -> Callable[..., Any]:
    """The class (or factory) registered under ``name``.

    Raises:
        ConfigError: no adapter has that name.
    """
    if name in BUILTIN:
        module, attribute = BUILTIN[name]
        return getattr(import_module(module), attribute)  # type: ignore[no-any-return]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return ep.load()  # type: ignore[no-any-return]
    raise ConfigError(f"unknown adapter {name!r} (known: {', '.join(adapter_names())})")


def settings_problems(destination: DestinationConfig) -> list[tuple[str, str]]:
    """What the destination's adapter finds missing or wrong in its settings, as (key, problem).

    Raises:
        ConfigError: no adapter has the destination's adapter name.
    """
    check = getattr(adapter_factory(destination.adapter), "check_settings", None)
    return list(check(destination)) if check is not None else []

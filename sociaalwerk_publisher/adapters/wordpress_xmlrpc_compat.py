"""Fixes for python-wordpress-xmlrpc 2.3, which the XML-RPC adapter needs on today's Python.

The package is a requirement and is used as published: nothing here patches it.
Instead these subclasses stand in for the few library classes the adapter uses, each
for a reason of its own:

* :class:`ListResults` (and the ``Get...`` method classes built on it):
  ``XmlrpcMethod.process_result`` tests ``isinstance(result, collections.Iterable)``,
  which no longer exists on Python >= 3.10, so every call returning a list fails with
  ``AttributeError``. Mixed in before a library method class, it converts results the
  way the library meant to, with :class:`collections.abc.Iterable`.
* :class:`OutgoingPost`: the library's ``terms`` field wants term objects and drops a
  taxonomy without terms, so an update could not clear the tags of a post; here
  ``terms`` is ``{taxonomy: [term ids]}`` as WordPress takes it.
* :class:`LazyClient`: ``Client.__init__`` calls ``mt.supportedMethods()`` over the
  network, outside any error handling, so a refused connection escapes as a raw error
  while the adapter is being built. This client builds the proxy without a call and
  asks for the supported methods on first use, inside the adapter's error
  translation; a server whose security plugin removed that method is taken to
  support every method (:class:`AllMethods`), so that the real call tells.

Everything else about WordPress over XML-RPC (what the fields mean, errors, the
transport) is the adapter's, in :mod:`.wordpress_xmlrpc`.
"""

from __future__ import annotations

import collections.abc
import xmlrpc.client
from typing import Any, cast

from wordpress_xmlrpc import Client, WordPressPost
from wordpress_xmlrpc.methods import media, posts, taxonomies, users

__all__ = [
    "AllMethods", "GetMediaLibrary", "GetPost", "GetPosts", "GetProfile", "GetTerms", "GetUsersBlogs",
    "LazyClient", "ListResults", "OutgoingPost",
]


class ListResults:
    """``process_result`` as python-wordpress-xmlrpc 2.3 meant it, working on Python >= 3.10.

    The library's version uses ``collections.Iterable`` (removed in 3.10); this
    one uses :class:`collections.abc.Iterable`. Mixed in before the library class.
    """

    results_class: Any

    def process_result(self, raw_result: Any) -> Any:
        if self.results_class and raw_result:
            if isinstance(raw_result, dict):
                return self.results_class(raw_result)
            if isinstance(raw_result, collections.abc.Iterable) and not isinstance(raw_result, (str, bytes)):
                return [self.results_class(item) for item in raw_result]
        return raw_result


class GetPosts(ListResults, posts.GetPosts):
    pass


class GetPost(ListResults, posts.GetPost):
    pass


class GetTerms(ListResults, taxonomies.GetTerms):
    pass


class GetProfile(ListResults, users.GetProfile):
    pass


class GetUsersBlogs(ListResults, users.GetUsersBlogs):
    pass


class GetMediaLibrary(ListResults, media.GetMediaLibrary):
    pass


class OutgoingPost(WordPressPost):
    """A post to send: ``terms`` is ``{taxonomy: [term ids]}`` as WordPress takes it.

    The library's own field wants term objects and drops a taxonomy without terms,
    so an update could not clear the tags of a post.
    """

    definition = {**WordPressPost.definition, "terms": "terms"}


class AllMethods:
    """Stands in for the supported-method list of a server that will not tell."""

    def __contains__(self, item: object) -> bool:
        return True


class LazyClient(Client):
    """A :class:`wordpress_xmlrpc.Client` that makes no network call when built.

    ``Client.__init__`` asks the server for its methods at once, where no error
    translation can catch a refused connection; here that list is fetched on the
    first :meth:`call`, inside it.
    """

    def __init__(self, url: str, username: str, password: str,
                 transport: xmlrpc.client.Transport) -> None:  # noqa: D107 - no super().__init__: see above
        self.url = url
        self.username = username
        self.password = password
        self.blog_id = 0
        self.server = xmlrpc.client.ServerProxy(url, transport=transport, allow_none=True)
        self._supported: Any = None

    @property
    def supported_methods(self) -> Any:
        if self._supported is None:
            try:
                self._supported = frozenset(cast(list[str], self.server.mt.supportedMethods()))
            except xmlrpc.client.Fault:
                # Some security plugins remove mt.supportedMethods; the real call will tell.
                self._supported = AllMethods()
        return self._supported

    def close(self) -> None:
        self.server("close")()

"""Jinja2 templates: bundled in ``templates/``, overridable from a folder of the user's.

Rendering is pure: context in, text out. Sending is someone else's job.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from .exceptions import TemplateError
from .feeds.sanitise import safe_url


@lru_cache(maxsize=8)
def environment(folder: str | None = None) -> jinja2.Environment:
    """The template environment; templates in ``folder`` win over the bundled ones."""
    loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("sociaalwerk_publisher", "templates")]
    if folder:
        loaders.insert(0, jinja2.FileSystemLoader(folder))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "htm", "xml", "html.j2")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # every URL a template puts in an attribute: ``href="{{ url | safe_url }}"``
    env.filters["safe_url"] = _url_or_nothing
    return env


def _url_or_nothing(url: str | None) -> str:
    """``url`` when a browser reads it as http, https or mailto, else an empty string."""
    return safe_url(url or "") or ""


def render(name: str, folder: Path | str | None = None, **context: Any) -> str:
    """Render template ``name`` with ``context``.

    Raises:
        TemplateError: the template does not exist, has a syntax error or uses an
            undefined name.
    """
    try:
        return environment(str(folder) if folder else None).get_template(name).render(**context)
    except jinja2.TemplateNotFound as e:
        raise TemplateError("not found in the templates folder or the bundled templates", name) from e
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"syntax error on line {e.lineno}: {e.message}", name) from e
    except (jinja2.UndefinedError, jinja2.TemplateError) as e:
        raise TemplateError(str(e), name) from e

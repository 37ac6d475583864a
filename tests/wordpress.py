"""Access to the real WordPress test sites started by ``tests/harness/wordpress.sh``.

Integration tests take the ``wp_sites`` fixture. In CI (``CI`` set) a missing
site is a failure; on a developer machine those tests are skipped with a note
saying how to start the sites.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

HARNESS = Path(__file__).parent / "harness"
SITES_FILE = HARNESS / "wordpress.json"
START_HINT = "start the WordPress test sites with `bash tests/harness/wordpress.sh`"


@dataclass(frozen=True)
class WordPressSite:
    """One test site and the users the harness created on it."""

    name: str
    url: str
    rest_url: str
    xmlrpc_url: str
    user: str
    app_password: str
    editor_user: str
    editor_app_password: str

    def rest(self, route: str) -> str:
        """The URL of a REST route, whatever the site's permalink setting."""
        route = route.lstrip("/")
        if "rest_route=" in self.rest_url:
            path, _, query = route.partition("?")
            return f"{self.rest_url}{path}" + (f"&{query}" if query else "")
        return f"{self.rest_url}{route}"

    def admin_session(self) -> requests.Session:
        return self._session(self.user, self.app_password)

    def editor_session(self) -> requests.Session:
        """As the site's own editor (the ``redacteur`` user), working in its WordPress."""
        return self._session(self.editor_user, self.editor_app_password)

    @staticmethod
    def _session(user: str, password: str) -> requests.Session:
        session = requests.Session()
        session.auth = (user, password)
        return session

    def posts(self, **params: Any) -> list[dict[str, Any]]:
        """Every post in any state (trash included), as the REST API shows it to an admin."""
        params = {"status": "publish,future,draft,pending,private,trash", "per_page": 100,
                  "context": "edit", **params}
        response = self.admin_session().get(self.rest("wp/v2/posts"), params=params, timeout=30)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def delete_all_posts(self) -> None:
        session = self.admin_session()
        while True:
            posts = self.posts(per_page=100)
            if not posts:
                return
            for post in posts:
                for attempt in range(3):  # a busy database may answer 500 once; gone is fine
                    answer = session.delete(self.rest(f"wp/v2/posts/{post['id']}"),
                                            params={"force": "true"}, timeout=30)
                    if answer.status_code < 500:
                        break
                    time.sleep(0.5 * (attempt + 1))
                if answer.status_code not in (404, 410):
                    answer.raise_for_status()


def load_sites() -> dict[str, WordPressSite] | str:
    """The sites, or why they cannot be used."""
    if not SITES_FILE.exists():
        return f"{SITES_FILE} is missing: {START_HINT}"
    data = json.loads(SITES_FILE.read_text(encoding="utf-8"))
    sites = {}
    for name, site in data.items():
        sites[name] = WordPressSite(
            name=name, url=site["url"], rest_url=site["rest_url"], xmlrpc_url=site["xmlrpc_url"],
            user=site["users"]["admin"]["user"], app_password=site["users"]["admin"]["app_password"],
            editor_user=site["users"]["editor"]["user"],
            editor_app_password=site["users"]["editor"]["app_password"],
        )
        try:
            requests.get(site["url"], timeout=5)
        except requests.RequestException as e:
            return f"{name} site at {site['url']} does not answer ({type(e).__name__}): {START_HINT}"
    return sites

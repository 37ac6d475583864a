"""What `status` and `doctor` report, and the checks `doctor` and `destinations check` run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from ._storage import open_storage
from ._storage.urls import redacted_url
from .adapters.base import Adapter
from .config import Config, DestinationConfig, secret_from_env
from .exceptions import ConfigError, PublisherError
from .mail import connect
from .syndication import make_adapter
from .types import CheckResult, Finding


def check_destinations(config: Config, destinations: Iterable[str] | None = None,
                       adapter_for: Callable[[DestinationConfig], Adapter] | None = None) -> list[CheckResult]:
    """Verify each destination's credentials and rights (or that its file can be written),
    posting nothing; one result per destination, a problem included, never raised.

    Raises:
        ConfigError: a destination name is unknown.
    """
    chosen = [config.destination(n) for n in destinations] if destinations else config.destinations
    results = []
    for destination in chosen:
        try:
            adapter = (adapter_for or partial(make_adapter, config))(destination)
        except PublisherError as e:
            results.append(CheckResult(destination.name, destination.username or None, (str(e),)))
            continue
        try:
            results.append(adapter.check())
        finally:
            adapter.close()
    return results


def doctor(config: Config, adapter_for: Callable[[DestinationConfig], Adapter] | None = None) -> list[Finding]:
    """Check what an unattended run with ``config`` needs, posting and sending nothing: the
    database, each destination, the mail server, each webhook's secret, the lock file. One
    finding each; a broken database is one finding and the other checks still run."""
    findings = [Finding("config", True, f"loaded {config.path or '(defaults)'}")]
    try:
        storage = open_storage(config.database_url)
    except PublisherError as e:
        findings.append(Finding("database", False, str(e)))
    else:
        try:
            findings.append(Finding("database", True, f"{redacted_url(config.database_url)}, schema {storage.schema_version()}"))
        except PublisherError as e:
            findings.append(Finding("database", False, str(e)))
        finally:
            storage.close()
    for check in check_destinations(config, adapter_for=adapter_for):
        fix = "; ".join(check.problems) or check.verified + (f" (user {check.user})" if check.user else "")
        note = canonical_note(check)
        fix += f"; {note}" if note else ""
        findings.append(Finding(f"destination {check.destination}", check.ok, fix))
    if not config.destinations:
        findings.append(Finding("destinations", True, "none configured: approved stories are published nowhere"))
    if config.email.host:
        try:
            connect(config.email).quit()
            findings.append(Finding("smtp", True, f"logged in to {config.email.host}"))
        except (PublisherError, OSError) as e:
            findings.append(Finding("smtp", False, str(e)))
    else:
        findings.append(Finding("smtp", True, "no mail server configured: reports are not e-mailed"))
    for i, webhook in enumerate(config.webhooks):
        # the secret only: a test request would be an event the receiver never asked for
        try:
            secret_from_env(webhook.secret_env, f"webhooks[{i}].secret_env")
            findings.append(Finding(f"webhook {webhook.name}", True,
                                    f"events are signed with ${webhook.secret_env} and sent to {webhook.url}"))
        except ConfigError as e:
            findings.append(Finding(f"webhook {webhook.name}", False, str(e)))
    findings.append(_writable("lock file", config.lock_path))
    return findings


def canonical_note(check: CheckResult) -> str | None:
    """What a check found about canonical links to the original, where it found anything."""
    if check.canonical_links is None:
        return None
    if check.canonical_links:
        return "canonical links to the original: yes (the companion plugin swp-canonical is installed)"
    return ("canonical links to the original: no (install the companion plugin"
            " integrations/wordpress/swp-canonical.php on the site)")


def _writable(what: str, path: Path) -> Finding:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as e:
        return Finding(what, False, f"cannot write {path}: {e.strerror}: fix the folder's owner or rights")
    return Finding(what, True, f"{path} is writable")


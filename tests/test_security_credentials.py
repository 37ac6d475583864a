"""Our WordPress credentials go to the site they belong to and nowhere else.

A fake site on loopback answers with redirects (or announces its API elsewhere);
a second loopback server stands for the other host and must never see them.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from sociaalwerk_publisher.adapters.base import Post
from sociaalwerk_publisher.adapters.wordpress_rest import WordPressRestAdapter
from sociaalwerk_publisher.adapters.wordpress_xmlrpc import WordPressXmlRpcAdapter
from sociaalwerk_publisher.config import DestinationConfig
from sociaalwerk_publisher.exceptions import AdapterError

SECRET = "abcd EFGH ijkl MNOP qrst UVWX"
BASIC = "Basic " + base64.b64encode(f"syndicatie:{SECRET}".encode()).decode()
POST = Post(title="Buurtloket", content_html="<p>x</p>\n<!-- swp-0123456789 -->", excerpt="x",
            slug="buurtloket-01234567", marker="swp-0123456789", status="publish",
            date=datetime(2026, 11, 24, 7, 30, tzinfo=timezone.utc))


@pytest.fixture
def elsewhere() -> Iterator[HTTPServer]:
    """Another host (another loopback port) that a site's answer points to."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/", method="").respond_with_data("{}", content_type="application/json")
    server.start()
    yield server
    server.stop()


def rest_adapter(site: HTTPServer) -> WordPressRestAdapter:
    config = DestinationConfig(name="hub", adapter="wordpress-rest", url=site.url_for("/"),
                               username="syndicatie", password_env="SWP_HUB_PASSWORD", timeout=5)
    return WordPressRestAdapter(config, SECRET)


def serve_rest_root(site: HTTPServer, root: str | None = None) -> None:
    root = root or site.url_for("/wp-json/")
    for method in ("HEAD", "GET"):
        site.expect_request("/", method=method).respond_with_data(
            "", headers={"Link": f'<{root}>; rel="https://api.w.org/"'})


def test_a_site_that_redirects_elsewhere_gets_no_request_with_credentials_followed(
        httpserver: HTTPServer, elsewhere: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("", status=302, headers={"Location": elsewhere.url_for("/")})
    rest = rest_adapter(httpserver)
    with pytest.raises(AdapterError, match="redirects to .*set url to the final address"):
        rest.publish(POST)
    rest.close()
    assert elsewhere.log == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_writes_are_never_followed_across_a_redirect(httpserver: HTTPServer, elsewhere: HTTPServer,
                                                      status: int) -> None:
    serve_rest_root(httpserver)
    httpserver.expect_request("/wp-json/wp/v2/posts", method="POST").respond_with_data(
        "", status=status, headers={"Location": elsewhere.url_for("/wp-json/wp/v2/posts")})
    rest = rest_adapter(httpserver)
    with pytest.raises(AdapterError, match="writes never follow redirects"):
        rest.publish(POST)
    rest.close()
    assert elsewhere.log == []
    writes = [r for r, _ in httpserver.log if r.method == "POST"]
    assert len(writes) == 1 and writes[0].headers["Authorization"] == BASIC  # sent once, to the site only


def test_reads_are_not_followed_across_a_redirect_either(httpserver: HTTPServer, elsewhere: HTTPServer) -> None:
    serve_rest_root(httpserver)
    httpserver.expect_request("/wp-json/wp/v2/posts", method="GET").respond_with_data(
        "", status=302, headers={"Location": elsewhere.url_for("/wp-json/wp/v2/posts")})
    rest = rest_adapter(httpserver)
    with pytest.raises(AdapterError, match="redirected"):
        rest.find_existing(POST)
    rest.close()
    assert elsewhere.log == []


def test_a_rest_api_announced_on_another_host_gets_no_credentials(
        httpserver: HTTPServer, elsewhere: HTTPServer) -> None:
    serve_rest_root(httpserver, root=elsewhere.url_for("/wp-json/"))
    rest = rest_adapter(httpserver)
    with pytest.raises(AdapterError, match="announces its REST API at .* another address"):
        rest.publish(POST)
    rest.close()
    assert elsewhere.log == []


def test_xmlrpc_credentials_stay_on_the_site_when_it_redirects(
        httpserver: HTTPServer, elsewhere: HTTPServer) -> None:
    httpserver.expect_request("/xmlrpc.php").respond_with_data(
        "", status=302, headers={"Location": elsewhere.url_for("/xmlrpc.php")})
    config = DestinationConfig(name="member", adapter="wordpress-xmlrpc", url=httpserver.url_for("/"),
                               username="syndicatie", password_env="SWP_MEMBER_PASSWORD", timeout=5)
    with WordPressXmlRpcAdapter(config, SECRET, Path(".")) as adapter:
        with pytest.raises(AdapterError) as raised:
            adapter.publish(POST)
    assert elsewhere.log == []
    assert SECRET not in str(raised.value)

"""The cdn role's SPA routing function, run in a JavaScript engine (QuickJS) as CloudFront runs it:
`handler(event)` on viewer-request, with the code rendered from the role's template and defaults."""

from __future__ import annotations

import pytest

from tests.spa_routing import rendered, route

# (path asked for, path the bucket is asked for): a client route gets the app's page, any file
# (present or missing) reaches the bucket unchanged, so a missing one is a real 404.
ROUTING_TABLE = [
    ("/", "/index.html"),
    ("/users", "/index.html"),
    ("/users/42", "/index.html"),
    ("/users/42/", "/index.html"),
    ("/settings/profile/security", "/index.html"),
    ("/index.html", "/index.html"),
    ("/favicon.ico", "/favicon.ico"),
    ("/robots.txt", "/robots.txt"),
    ("/manifest.webmanifest", "/manifest.webmanifest"),
    ("/docs/guide.pdf", "/docs/guide.pdf"),
    ("/assets/app.1234.js", "/assets/app.1234.js"),
    ("/assets/chunk-without-extension", "/assets/chunk-without-extension"),
    ("/assets/fonts/inter", "/assets/fonts/inter"),
    ("/static/js/main.abc123.js", "/static/js/main.abc123.js"),
    ("/static/media/logo", "/static/media/logo"),
    ("/assets-like-route", "/index.html"),
    ("/users/john.doe", "/users/john.doe"),  # a dot makes a file: routes with dots need a prefix-free shape
]


@pytest.mark.parametrize(("uri", "origin_uri"), ROUTING_TABLE)
def test_routing_table(uri, origin_uri):
    assert route(rendered(), uri)["uri"] == origin_uri


def test_a_query_string_is_kept_and_does_not_change_the_route():
    query = {"tab": {"value": "billing"}, "v": {"value": "1.2.3"}}
    client = route(rendered(), "/account", query)
    assert (client["uri"], client["querystring"]) == ("/index.html", query)
    asset = route(rendered(), "/assets/app.js", {"v": {"value": "2"}})
    assert (asset["uri"], asset["querystring"]) == ("/assets/app.js", {"v": {"value": "2"}})


def test_headers_method_and_cookies_pass_through_untouched():
    request = route(rendered(), "/users/42")
    assert (request["method"], request["headers"], request["cookies"]) == ("GET", {}, {})


def test_the_page_and_the_asset_prefixes_are_the_roles_settings():
    code = rendered(cdn_spa_page="/app.html", cdn_spa_asset_prefixes=["/build/"])
    assert route(code, "/users/42")["uri"] == "/app.html"
    assert route(code, "/build/runtime")["uri"] == "/build/runtime"
    assert route(code, "/assets/chunk")["uri"] == "/app.html"  # no longer a prefix of files
    assert route(code, "/assets/app.js")["uri"] == "/assets/app.js"


def test_the_code_fits_cloudfronts_limit_and_names_its_version():
    code = rendered()
    assert len(code.encode()) <= 10240
    assert "version 1" in code.splitlines()[0]

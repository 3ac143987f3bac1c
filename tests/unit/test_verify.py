"""The verify checks' pure parts (plugins/module_utils/stack_checks.py, behind
webstack.aws.stack_verify and playbooks/verify.yml); the checks themselves run against a deployed
stack in tests/integration/test_site.py."""

from __future__ import annotations

import http.server
import threading

import pytest

from ansible_collections.webstack.aws.plugins.module_utils import stack_checks


@pytest.mark.parametrize(
    ("name", "names", "covered"),
    [
        ("example.com", {"example.com"}, True),
        ("www.example.com", {"*.example.com"}, True),
        ("a.b.example.com", {"*.example.com"}, False),
        ("example.com", {"*.example.com"}, False),
        ("api.example.com", {"example.com", "www.example.com"}, False),
    ],
)
def test_certificate_coverage_matches_one_wildcard_label(name, names, covered):
    assert stack_checks._covered(name, names) is covered


def test_check_words():
    assert [stack_checks.Check("x", v, "").word for v in (True, False, None)] == ["PASS", "FAIL", "SKIP"]


_SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


class _Site(http.server.BaseHTTPRequestHandler):
    """A loopback stand-in for CloudFront and the ALB: `honest` answers as function routing does,
    otherwise a missing asset gets the app's page with 200 and the root sends no HSTS."""

    honest = True

    def do_GET(self):
        missing = self.path.startswith("/assets/")
        status = 404 if missing and self.honest else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/xml" if status == 404 else "text/html")
        for name, value in _SECURITY_HEADERS.items():
            if self.honest or name != "Strict-Transport-Security":
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(b"<!doctype html>" if status == 200 else b"<Error/>")

    def log_message(self, *args):
        pass


@pytest.fixture
def site():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _results(site_url: str, routing: str) -> dict[str, bool | None]:
    checks = stack_checks.check_live(site_url, site_url, routing)
    return {check.name.split(" http")[0]: check.passed for check in checks}


def test_live_requests_pass_on_a_site_that_routes_honestly(site, monkeypatch):
    monkeypatch.setattr(_Site, "honest", True)
    assert _results(site, "function") == {
        "https: API health": True,
        "https: SPA deep link": True,
        "https: site root's security headers": True,
        "https: missing asset": True,
    }


def test_live_requests_fail_on_the_shell_page_for_a_missing_asset_and_on_missing_hsts(site, monkeypatch):
    monkeypatch.setattr(_Site, "honest", False)
    results = _results(site, "function")
    assert results["https: missing asset"] is False
    assert results["https: site root's security headers"] is False
    assert results["https: SPA deep link"] is True
    assert "https: missing asset" not in _results(site, "error_pages")  # that mode answers it with the page


def test_live_requests_report_an_unreachable_site():
    (check, *_rest) = stack_checks.check_live("http://127.0.0.1:9", "http://127.0.0.1:9", "function")
    assert check.passed is False

"""The cdn role's SPA routing function as CloudFront runs it: the code rendered from the role's
template and defaults, and `handler(event)` run in a JavaScript engine (QuickJS)."""

from __future__ import annotations

import json

import jinja2
import quickjs
import yaml

from webstack.home import COLLECTION

ROLE = COLLECTION / "roles" / "cdn"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


def rendered(**overrides) -> str:
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)  # as Ansible renders
    environment.filters["to_json"] = json.dumps
    template = environment.from_string((ROLE / "templates" / "spa_routing.js.j2").read_text())
    return template.render({**DEFAULTS, **overrides})


def route(code: str, uri: str, querystring: dict | None = None) -> dict:
    """The request the function hands on to the cache (CloudFront's event shape)."""
    context = quickjs.Context()
    context.eval(code)
    event = {
        "version": "1.0",
        "context": {"eventType": "viewer-request"},
        "viewer": {"ip": "198.51.100.7"},
        "request": {"method": "GET", "uri": uri, "querystring": querystring or {}, "headers": {}, "cookies": {}},
    }
    return json.loads(context.eval(f"JSON.stringify(handler({json.dumps(event)}))"))

#!/usr/bin/env python3
"""A stand-in for the platforms' token-revoke endpoints, on loopback, for `make dev`.

    .tools/venv/bin/python scripts/local/platform-stub.py [--port PORT]   (default $PLATFORM_STUB_PORT)

revoke-tokens is pointed at it with REVOKE_ENDPOINT_<PLATFORM>=http://127.0.0.1:PORT (they all
share it: their paths differ), and it plays the Mastodon server `localhost` (a token item's
`server`, allowed by REVOKE_ALLOW_LOOPBACK=true). Every platform's revoke call is answered with
the success its documentation gives, which the adapters of crates/platform-revoke record as
`revoked` (LinkedIn's as `unconfirmed`: its call is undocumented):

    google    POST /revoke                    200, empty body
    tiktok    POST /v2/oauth/revoke/          200 {}
    tiktok    POST /v2/oauth/token/           200 {"access_token": "local-stub-...", ...} (a refresh
                                              token is refreshed, then the fresh token revoked)
    meta      POST /                          200 [{"code": 200, "body": "true"}] (a batch of one
                                              DELETE v25.0/me/permissions)
    linkedin  POST /oauth/v2/revoke           200, empty body
    x         POST /2/oauth2/revoke           200 {"revoked": true}
    reddit    POST /api/v1/revoke_token       204
    discord   POST /api/oauth2/token/revoke   200, empty body
    mastodon  POST /oauth/revoke              200 {}

Anything else gets 404. One line per request on stdout: method, path and platform, never the
query string, a header (some carry the client secret) or the body (the token).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# (method, path) -> (platform, body); an empty body is sent as such.
ROUTES = {
    ("POST", "/revoke"): ("google", b""),
    ("POST", "/v2/oauth/revoke/"): ("tiktok", b"{}"),
    ("POST", "/v2/oauth/token/"): (
        "tiktok",
        json.dumps(
            {
                "access_token": "local-stub-fresh-access-token",
                "expires_in": 7200,
                "open_id": "local-stub-open-id",
                "refresh_expires_in": 15552000,
                "refresh_token": "local-stub-next-refresh-token",
                "scope": "user.info.basic",
                "token_type": "Bearer",
            }
        ).encode(),
    ),
    ("POST", "/"): ("meta", json.dumps([{"code": 200, "body": "true"}]).encode()),
    ("POST", "/oauth/v2/revoke"): ("linkedin", b""),
    ("POST", "/2/oauth2/revoke"): ("x", json.dumps({"revoked": True}).encode()),
    ("POST", "/api/v1/revoke_token"): ("reddit", None),
    ("POST", "/api/oauth2/token/revoke"): ("discord", b""),
    ("POST", "/oauth/revoke"): ("mastodon", b"{}"),
}
PLATFORM_OF_PATH = {path: platform for (_, path), (platform, _) in ROUTES.items()}


class Handler(BaseHTTPRequestHandler):
    server_version = "platform-stub"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        # Read (and drop) the body: it holds the token and, for some platforms, the client secret.
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = urlsplit(self.path).path
        route = ROUTES.get((self.command, path))
        if route:
            platform, body = route
            # Reddit documents 204, no body.
            status, body = (204, b"") if body is None else (200, body)
            outcome = "answered with a fresh access token" if path.endswith("/token/") else "answered its documented success"
        else:
            platform = PLATFORM_OF_PATH.get(path, "unknown")
            status, outcome = 404, "not a revoke call of the stub"
            body = json.dumps({"error": "not_found"}).encode()
        print(f"stub: {self.command} {path} ({platform}) -> {status} {outcome}", flush=True)
        self.send_response(status)
        if body:
            self.send_header("Content-Type", "application/json")
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        # The default request line would print the query string, and with it Meta's token.
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PLATFORM_STUB_PORT", "9767")))
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"stub: platform revoke endpoints on http://127.0.0.1:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A stand-in for the platforms' token-revoke endpoints, on loopback, for `make dev` and `make bench-revoker`.

    .tools/venv/bin/python scripts/local/platform-stub.py [--port PORT]   (default $PLATFORM_STUB_PORT)
        [--latency-ms N] [--rate-429 PLATFORM=FRACTION ...]

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

For benchmarks (bench/revoker.py), defaults off, so that `make dev` sees the answers above at once:
- `--latency-ms N`: every call of a platform (revoke, TikTok's refresh, and its 429s) is answered
  after N ms, as a platform across the internet would;
- `--rate-429 PLATFORM=FRACTION` (repeatable; a platform named above): that fraction of the
  platform's calls, drawn at random, answer 429 with `Retry-After: 1` and the platform's own
  throttling body where its documentation shows one (TikTok's `rate_limit_exceeded`, Discord's
  `retry_after`), which every adapter reads as a transient failure.
Requests are served at once, each in a thread of its own, so a consumer that revokes many tokens
concurrently sees the latency once per call, not queued behind the others. `--port 0` takes a
free port; the first line names the one bound. It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# (method, path) -> (platform, body); an empty body is sent as such. The paths are those of
# platform-revoke's `Endpoints::paths`: crates/stack-checks/tests/stack/platform_stub.rs checks
# them both ways.
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
PLATFORMS = sorted({platform for platform, _ in ROUTES.values()})

# A 429's body, where the platform's documentation shows one; an empty body otherwise. Every
# 429 also carries `Retry-After: 1`.
THROTTLED_BODIES = {
    # TikTok API v2 rate limits: HTTP 429 with the error code rate_limit_exceeded.
    "tiktok": {"error": {"code": "rate_limit_exceeded", "message": "local stub: rate limited", "log_id": "local-stub"}},
    # Discord rate limits: "retry_after", the seconds to wait.
    "discord": {"message": "You are being rate limited.", "retry_after": 1.0, "global": False},
}
RETRY_AFTER_SECONDS = 1


class Settings:
    """What main() sets from the options (the defaults: answer at once, never 429)."""

    latency = 0.0  # seconds
    rate_429: dict = {}  # platform -> fraction of its calls answered 429
    _random = random.Random()
    _lock = threading.Lock()
    _output = threading.Lock()

    @classmethod
    def say(cls, line: str) -> None:
        """One whole line on stdout: print() from several threads at once can interleave a
        line with another's newline, and a reader counting lines (make bench-revoker) loses it."""
        with cls._output:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    @classmethod
    def throttled(cls, platform: str) -> bool:
        fraction = cls.rate_429.get(platform, 0.0)
        if fraction <= 0:
            return False
        with cls._lock:  # random.Random is not documented as thread-safe
            return cls._random.random() < fraction


class Handler(BaseHTTPRequestHandler):
    server_version = "platform-stub"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    # Headers and body in one write, sent at once: unbuffered, a body after its headers waits
    # for the client's delayed ACK (Nagle), about 40 ms on a kept-alive connection.
    wbufsize = 65536
    disable_nagle_algorithm = True

    def _answer(self) -> None:
        # Read (and drop) the body: it holds the token and, for some platforms, the client secret.
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = urlsplit(self.path).path
        route = ROUTES.get((self.command, path))
        headers = {}
        if route:
            platform, body = route
            if Settings.latency:
                time.sleep(Settings.latency)
            if Settings.throttled(platform):
                status, outcome = 429, f"rate limited (Retry-After: {RETRY_AFTER_SECONDS})"
                throttled = THROTTLED_BODIES.get(platform)
                body = json.dumps(throttled).encode() if throttled else b""
                headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            elif body is None:
                # Reddit documents 204, no body.
                status, body, outcome = 204, b"", "answered its documented success"
            else:
                status = 200
                outcome = "answered with a fresh access token" if path.endswith("/token/") else "answered its documented success"
        else:
            platform = PLATFORM_OF_PATH.get(path, "unknown")
            status, outcome = 404, "not a revoke call of the stub"
            body = json.dumps({"error": "not_found"}).encode()
        Settings.say(f"stub: {self.command} {path} ({platform}) -> {status} {outcome}")
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
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


def rate_429(text: str) -> tuple:
    """PLATFORM=FRACTION, a platform the stub serves and a fraction from 0 to 1."""
    platform, sep, fraction = text.partition("=")
    platform = platform.strip().lower()
    if not sep or platform not in PLATFORMS:
        raise argparse.ArgumentTypeError(f"{text!r}: want PLATFORM=FRACTION, PLATFORM one of {', '.join(PLATFORMS)}")
    try:
        value = float(fraction)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: the fraction must be a number from 0 to 1")
    return platform, value


def latency_ms(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 60_000:
        raise argparse.ArgumentTypeError(f"{text!r}: milliseconds from 0 to 60000")
    return value


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # A burst of concurrent connections (a consumer revoking many tokens at once) must not
    # overflow the listen backlog (socketserver's default: 5).
    request_queue_size = 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PLATFORM_STUB_PORT", "9767")),
                        help="0: a free port (the first line names it)")
    parser.add_argument("--latency-ms", type=latency_ms, default=0,
                        help="answer every platform call after N ms (default 0)")
    parser.add_argument("--rate-429", type=rate_429, action="append", default=[], metavar="PLATFORM=FRACTION",
                        help="that fraction of PLATFORM's calls answer 429 with Retry-After: 1 (repeatable)")
    args = parser.parse_args()
    Settings.latency = args.latency_ms / 1000
    Settings.rate_429 = dict(args.rate_429)
    server = Server(("127.0.0.1", args.port), Handler)
    port = server.server_address[1]
    settings = "".join(
        [f", answering after {args.latency_ms} ms" if args.latency_ms else ""]
        + [f", {p} 429 at {f:g}" for p, f in sorted(Settings.rate_429.items())]
    )
    print(f"stub: platform revoke endpoints on http://127.0.0.1:{port}{settings}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())

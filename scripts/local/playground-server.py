#!/usr/bin/env python3
"""Serves the API playground on 127.0.0.1, and passes its calls to the local function.

    playground-server.py --port PORT --site DIR --upstream http://127.0.0.1:WATCH_PORT

`make dev` and the browser test (scripts/browser-test.sh) run it. GET and HEAD of any path outside
/v1/ serve the built page (scripts/build-playground.py --out DIR); every request under /v1/, any
method, goes to the upstream (the function under `cargo lambda watch`) as it came: method, path,
query, headers (but the hop-by-hop ones and Host) and body, and its answer comes back as it went.
So the page calls its own origin and needs no CORS, as a page hosted beside the API would.

The upstream must be a loopback address: this is no proxy to anywhere else. One line per call
goes to stdout (method, path, status, time); never a header, so never the API key.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

API_PREFIX = "/v1/"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Not passed on either way (RFC 9110 §7.6.1), plus Host, which the upstream connection sets.
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "transfer-encoding", "upgrade", "host",
}
UPSTREAM_TIMEOUT = 120.0  # the first call also starts the function under watch


class Handler(SimpleHTTPRequestHandler):
    upstream: tuple[str, int]
    protocol_version = "HTTP/1.1"

    def end_headers(self) -> None:
        if not self.path.startswith(API_PREFIX):
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass  # the static files are not worth a line; proxied calls print their own

    def list_directory(self, path):  # no folder listings
        self.send_error(404)
        return None

    def proxy(self) -> None:
        started = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        conn = http.client.HTTPConnection(*self.upstream, timeout=UPSTREAM_TIMEOUT)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            answer = conn.getresponse()
            payload = answer.read()
        except OSError as err:
            conn.close()
            print(f"playground: {self.command} {self.path_only()} -> upstream unreachable ({type(err).__name__})", flush=True)
            self.send_error(502, "The local function is not reachable (is cargo lambda watch running?)")
            return
        conn.close()
        self.send_response_only(answer.status, answer.reason)
        for key, value in answer.getheaders():
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        took = (time.monotonic() - started) * 1000
        print(f"playground: {self.command} {self.path_only()} -> {answer.status} ({took:.0f} ms)", flush=True)

    def path_only(self) -> str:
        return urlsplit(self.path).path

    def do_GET(self) -> None:
        self.proxy() if self.path.startswith(API_PREFIX) else super().do_GET()

    def do_HEAD(self) -> None:
        self.proxy() if self.path.startswith(API_PREFIX) else super().do_HEAD()

    def other(self) -> None:
        if self.path.startswith(API_PREFIX):
            self.proxy()
        else:
            self.send_error(405)

    do_DELETE = do_POST = do_PUT = do_PATCH = do_OPTIONS = other


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--site", type=Path, required=True, help="the built page (scripts/build-playground.py)")
    parser.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT, the function's cargo lambda watch")
    args = parser.parse_args()

    upstream = urlsplit(args.upstream)
    if upstream.scheme != "http" or upstream.hostname not in LOOPBACK or not upstream.port or upstream.path not in ("", "/"):
        print(f"playground: --upstream {args.upstream!r}: expected http://127.0.0.1:PORT", file=sys.stderr)
        return 2
    if not (args.site / "index.html").is_file():
        print(f"playground: {args.site} has no index.html; run scripts/build-playground.py", file=sys.stderr)
        return 2
    Handler.upstream = (upstream.hostname, upstream.port)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), partial(Handler, directory=str(args.site)))
    server.daemon_threads = True
    # --port 0: a free port, named on this first line (the tests read it).
    print(f"playground: http://127.0.0.1:{server.server_address[1]}/ (API calls to {args.upstream})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Tests of scripts/local/playground-server.py and scripts/build-playground.py (the playground).

The server runs as a child process on a free loopback port (`--port 0`), over a page built by
build-playground.py into a temporary folder, in front of a stand-in upstream in this process that
answers with what it received. The venv's python (PyYAML, for the build), no service:

    .tools/venv/bin/python scripts/tests/test_playground_server.py
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1]
SERVER = SCRIPTS / "local" / "playground-server.py"
BUILD = SCRIPTS / "build-playground.py"
KEY = "canary-api-key-7d41f0"  # never printed by the server


class Upstream(BaseHTTPRequestHandler):
    """Answers 418 with a JSON account of the request, and a header of its own."""

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.dumps({
            "method": self.command, "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": self.rfile.read(length).decode() if length else "",
        }).encode()
        self.send_response(418)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Request-Id", "req-1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_DELETE = do_POST = do_OPTIONS = answer

    def log_message(self, *args) -> None:
        pass


def build(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BUILD), "--out", str(out), *args],
                          capture_output=True, text=True, check=False)


class PlaygroundServer(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory()
        cls.site = Path(cls.tmp.name) / "site"
        built = build(cls.site)
        assert built.returncode == 0, built.stderr
        cls.upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
        threading.Thread(target=cls.upstream.serve_forever, daemon=True).start()
        cls.process = subprocess.Popen(
            [sys.executable, "-u", str(SERVER), "--port", "0", "--site", str(cls.site),
             "--upstream", f"http://127.0.0.1:{cls.upstream.server_address[1]}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        first = cls.process.stdout.readline()
        cls.port = int(first.split("http://127.0.0.1:", 1)[1].split("/", 1)[0])

    @classmethod
    def tearDownClass(cls) -> None:
        cls.process.terminate()
        cls.output = cls.process.communicate(timeout=10)[0]
        cls.upstream.shutdown()
        cls.tmp.cleanup()
        assert KEY not in cls.output, "the server printed the API key"

    def call(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request(method, path, body=body, headers=headers or {})
        answer = conn.getresponse()
        data = answer.read()
        conn.close()
        return answer, data

    def test_serves_the_page_and_its_files(self) -> None:
        answer, body = self.call("GET", "/")
        self.assertEqual(answer.status, 200)
        self.assertIn(b"swagger-ui-bundle.js", body)
        self.assertEqual(answer.getheader("Cache-Control"), "no-store")
        for name in ("openapi.json", "swagger-ui-bundle.js", "swagger-ui.css", "playground.js"):
            self.assertEqual(self.call("GET", f"/{name}")[0].status, 200, name)
        self.assertEqual(self.call("HEAD", "/openapi.json")[0].status, 200)

    def test_nothing_else(self) -> None:
        self.assertEqual(self.call("GET", "/nothing-here")[0].status, 404)
        self.assertEqual(self.call("GET", "/../../etc/passwd")[0].status, 404)
        self.assertEqual(self.call("POST", "/", body=b"x")[0].status, 405)
        self.assertEqual(self.call("DELETE", "/openapi.json")[0].status, 405)

    def test_passes_v1_calls_on_as_they_came(self) -> None:
        answer, body = self.call("DELETE", "/v1/integration/int_1?x=1",
                                 {"x-api-key": KEY, "Connection": "keep-alive", "Proxy-Authorization": "p"}, b"ignored")
        self.assertEqual(answer.status, 418)
        self.assertEqual(answer.getheader("X-Request-Id"), "req-1")
        seen = json.loads(body)
        self.assertEqual((seen["method"], seen["path"], seen["body"]), ("DELETE", "/v1/integration/int_1?x=1", "ignored"))
        self.assertEqual(seen["headers"]["x-api-key"], KEY)
        self.assertNotIn("proxy-authorization", seen["headers"])
        for method in ("GET", "OPTIONS", "POST"):
            self.assertEqual(json.loads(self.call(method, "/v1/x")[1])["method"], method)

    def test_an_unreachable_function_is_a_502(self) -> None:
        with socket_closed_port() as port:
            process = subprocess.Popen(
                [sys.executable, "-u", str(SERVER), "--port", "0", "--site", str(self.site),
                 "--upstream", f"http://127.0.0.1:{port}"], stdout=subprocess.PIPE, text=True)
            try:
                own = int(process.stdout.readline().split("http://127.0.0.1:", 1)[1].split("/", 1)[0])
                conn = http.client.HTTPConnection("127.0.0.1", own, timeout=10)
                conn.request("DELETE", "/v1/integration/int_1", headers={"x-api-key": KEY})
                self.assertEqual(conn.getresponse().status, 502)
                conn.close()
            finally:
                process.terminate()
                self.assertNotIn(KEY, process.communicate(timeout=10)[0])

    def test_only_a_loopback_upstream(self) -> None:
        for upstream in ("http://192.0.2.1:80", "https://127.0.0.1:9765", "http://example.com:80"):
            run = subprocess.run([sys.executable, str(SERVER), "--port", "0", "--site", str(self.site),
                                  "--upstream", upstream], capture_output=True, text=True, timeout=10)
            self.assertEqual(run.returncode, 2, upstream)


class socket_closed_port:
    """A loopback port nothing listens on (bound, then released)."""

    def __enter__(self) -> int:
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def __exit__(self, *exc) -> None:
        pass


class BuildPlayground(unittest.TestCase):
    def test_same_origin_by_default(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "site"
            self.assertEqual(build(out).returncode, 0)
            spec = json.loads((out / "openapi.json").read_text())
            self.assertEqual(spec["servers"][0]["url"], "/")
            self.assertIn("connect-src 'self';", (out / "index.html").read_text())
            operation = spec["paths"]["/v1/integration/{integrationId}"]["delete"]
            self.assertEqual([p["name"] for p in operation["parameters"]], ["integrationId"])
            self.assertIn("async function disconnectSafely", operation["description"])

    def test_an_api_url(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "site"
            self.assertEqual(build(out, "--api-url", "https://api.example.com/prod/").returncode, 0)
            self.assertEqual(json.loads((out / "openapi.json").read_text())["servers"][0]["url"],
                             "https://api.example.com/prod")
            self.assertIn("connect-src 'self' https://api.example.com;", (out / "index.html").read_text())

    def test_the_page_names_no_other_host(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "site"
            build(out)
            for name in ("index.html", "playground.js", "playground.css"):
                self.assertNotRegex((out / name).read_text(), r"(https?:)?//[A-Za-z0-9]", name)

    def test_refused(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            for url in ("http://api.example.com", "ftp://127.0.0.1", "https://user:pw@api.example.com", "https://a.example?x=1"):
                self.assertNotEqual(build(Path(tmp) / "site", "--api-url", url).returncode, 0, url)
            (Path(tmp) / "other").mkdir()
            (Path(tmp) / "other" / "keep.txt").write_text("not a build")
            self.assertNotEqual(build(Path(tmp) / "other").returncode, 0)
            self.assertTrue((Path(tmp) / "other" / "keep.txt").exists())


if __name__ == "__main__":
    unittest.main(verbosity=1)

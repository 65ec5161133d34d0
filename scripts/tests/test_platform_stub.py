#!/usr/bin/env python3
"""Tests of scripts/local/platform-stub.py (`make dev`'s platforms, `make bench-revoker`'s).

Each test starts the stub as a child process on a free loopback port (`--port 0`), as `make dev`
and bench/revoker.py start it, and talks HTTP to it. The standard library only, no service:

    python3 scripts/tests/test_platform_stub.py
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path

STUB = Path(__file__).resolve().parents[1] / "local" / "platform-stub.py"
# Never printed by the stub: its lines name the method, the path and the platform only.
TOKEN_CANARY = "canary-token-value-3b81d2"

# Each platform's revoke call and the status of its documented success.
SUCCESSES = {
    "google": ("/revoke", 200),
    "tiktok": ("/v2/oauth/revoke/", 200),
    "meta": ("/", 200),
    "linkedin": ("/oauth/v2/revoke", 200),
    "x": ("/2/oauth2/revoke", 200),
    "reddit": ("/api/v1/revoke_token", 204),
    "discord": ("/api/oauth2/token/revoke", 200),
    "mastodon": ("/oauth/revoke", 200),
}


class Stub:
    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-u", str(STUB), "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.first = self.process.stdout.readline().strip()
        self.port = int(self.first.rsplit("127.0.0.1:", 1)[1].split(",", 1)[0])
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def post(self, path: str, body: str = f"token={TOKEN_CANARY}") -> tuple[int, dict, bytes, float]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        started = time.monotonic()
        conn.request("POST", f"{path}?access_token={TOKEN_CANARY}", body,
                     {"Content-Type": "application/x-www-form-urlencoded"})
        answer = conn.getresponse()
        data = answer.read()
        took = time.monotonic() - started
        headers = {k.lower(): v for k, v in answer.getheaders()}
        conn.close()
        return answer.status, headers, data, took

    def stop(self) -> str:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=10)
        if not self.process.stdout.closed:
            self.process.stdout.close()
        return "\n".join([self.first, *self.lines])


def rejected(*args: str) -> str:
    """The stub's error output for options it must refuse (it exits 2)."""
    done = subprocess.run([sys.executable, str(STUB), "--port", "0", *args],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    return done.stderr


class PlatformStubTest(unittest.TestCase):
    def start(self, *args: str) -> Stub:
        stub = Stub(*args)
        self.addCleanup(stub.stop)
        return stub

    def test_by_default_every_platform_answers_its_documented_success_at_once(self):
        stub = self.start()
        self.assertTrue(stub.first.startswith("stub: platform revoke endpoints on http://127.0.0.1:"), stub.first)
        for platform, (path, status) in SUCCESSES.items():
            got, _, _, took = stub.post(path)
            self.assertEqual(got, status, platform)
            self.assertLess(took, 1.0, platform)
        status, _, body, _ = stub.post("/v2/oauth/token/")
        self.assertEqual(status, 200)
        self.assertIn("access_token", json.loads(body))
        self.assertEqual(stub.post("/nowhere")[0], 404)
        output = stub.stop()
        self.assertIn("stub: POST /revoke (google) -> 200 answered its documented success", output)
        self.assertIn("stub: POST /api/v1/revoke_token (reddit) -> 204", output)
        self.assertNotIn(TOKEN_CANARY, output)

    def test_answers_on_a_kept_alive_connection_are_not_held_back(self):
        # An answer with a body (X's, TikTok's) written apart from its headers would wait for the
        # client's delayed ACK, about 40 ms a call: a latency nobody asked for.
        stub = self.start()
        for path in ("/2/oauth2/revoke", "/v2/oauth/revoke/", "/revoke"):
            conn = http.client.HTTPConnection("127.0.0.1", stub.port, timeout=10)
            took = []
            for _ in range(10):
                started = time.monotonic()
                conn.request("POST", path, "token=x", {"Content-Type": "application/x-www-form-urlencoded"})
                answer = conn.getresponse()
                answer.read()
                took.append(time.monotonic() - started)
            conn.close()
            self.assertLess(sorted(took)[5], 0.02, path)

    def test_it_listens_on_loopback_only(self):
        stub = self.start()
        with open("/proc/net/tcp") as table:
            rows = [line.split() for line in table.readlines()[1:]]
        listening = [r[1] for r in rows if r[3] == "0A" and int(r[1].split(":")[1], 16) == stub.port]
        self.assertEqual(listening, [f"0100007F:{stub.port:04X}"])

    def test_latency_delays_every_platform_call_and_calls_are_served_at_once(self):
        stub = self.start("--latency-ms", "300")
        self.assertIn("answering after 300 ms", stub.first)
        status, _, _, took = stub.post("/revoke")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(took, 0.3)
        self.assertLess(stub.post("/nowhere")[3], 0.3, "a 404 is not a platform call")
        took: list[float] = []

        def call() -> None:
            took.append(stub.post("/api/oauth2/token/revoke")[3])

        started = time.monotonic()
        threads = [threading.Thread(target=call) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(took), 20)
        # Twenty calls of 300 ms each, served at once: far less than 20 x 300 ms.
        self.assertLess(time.monotonic() - started, 2.0)

    def test_a_429_rate_throttles_that_platform_only_with_retry_after(self):
        stub = self.start("--rate-429", "tiktok=1", "--rate-429", "DISCORD=1", "--rate-429", "google=0")
        self.assertIn("discord 429 at 1", stub.first)
        self.assertIn("tiktok 429 at 1", stub.first)
        for path in ("/v2/oauth/revoke/", "/v2/oauth/token/"):
            status, headers, body, _ = stub.post(path)
            self.assertEqual(status, 429, path)
            self.assertEqual(headers.get("retry-after"), "1")
            self.assertEqual(json.loads(body)["error"]["code"], "rate_limit_exceeded")
        status, headers, body, _ = stub.post("/api/oauth2/token/revoke")
        self.assertEqual((status, headers.get("retry-after")), (429, "1"))
        self.assertEqual(json.loads(body)["retry_after"], 1.0)
        status, headers, body, _ = stub.post("/revoke")
        self.assertEqual(status, 200, "google at 0 is never throttled")
        status, headers, body, _ = stub.post("/2/oauth2/revoke")
        self.assertEqual(status, 200, "a platform without a rate is never throttled")
        self.assertNotIn("retry-after", headers)
        output = stub.stop()
        self.assertIn("stub: POST /v2/oauth/revoke/ (tiktok) -> 429 rate limited (Retry-After: 1)", output)
        self.assertNotIn(TOKEN_CANARY, output)

    def test_a_fraction_throttles_about_that_share_of_the_calls(self):
        stub = self.start("--rate-429", "reddit=0.5")
        statuses = [stub.post("/api/v1/revoke_token")[0] for _ in range(200)]
        self.assertEqual(set(statuses), {204, 429})
        # Binomial(200, 0.5): outside 60..140 about once in 10^8 runs.
        self.assertTrue(60 <= statuses.count(429) <= 140, statuses.count(429))

    def test_bad_options_are_refused_naming_what_is_wrong(self):
        self.assertIn("PLATFORM one of", rejected("--rate-429", "myspace=0.5"))
        self.assertIn("PLATFORM one of", rejected("--rate-429", "google"))
        self.assertIn("from 0 to 1", rejected("--rate-429", "google=1.5"))
        self.assertIn("from 0 to 1", rejected("--rate-429", "google=lots"))
        self.assertIn("milliseconds", rejected("--latency-ms", "-1"))
        self.assertIn("milliseconds", rejected("--latency-ms", "soon"))


if __name__ == "__main__":
    unittest.main(verbosity=2)

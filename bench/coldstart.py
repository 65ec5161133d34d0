#!/usr/bin/env python3
"""Cold start, warm latency and memory of the release binary, on this machine.

Runs the real `bootstrap` binary against a minimal Lambda Runtime API served here, with
DynamoDB Local and moto as the backends, and prints:

- init: process start until the runtime asks for its first event (includes reading the
  API-keys secret, which the function does during init);
- first invocation: first event handed out until its response arrives;
- warm invocations: p50 / p90 / p99 / max over N disconnects of seeded integrations;
- peak RSS (VmHWM) of the process, and the binary's size.

These are figures of this machine (x86_64, loopback backends), not of Lambda on arm64: use them
to compare versions of this code, not as a promise. Run with `make bench` (services up, seeded).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "target" / "release" / "disconnect-integration"
ACCOUNT = "acct_demo"
KEY = os.environ.get("DEMO_API_KEY", "demo_local_key_do_not_use_in_prod")


def event(integration_id: str) -> dict:
    """An HTTP API (payload v2) event, the shape the SAM template's route delivers."""
    path = f"/v1/integration/{integration_id}"
    return {
        "version": "2.0",
        "routeKey": "ANY /v1/integration/{integrationId}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"x-api-key": KEY, "host": "bench.local"},
        "pathParameters": {"integrationId": integration_id},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.local",
            "http": {"method": "DELETE", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench",
            "routeKey": "ANY /v1/integration/{integrationId}",
            "stage": "$default",
            "time": "28/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1795860000000,
        },
        "isBase64Encoded": False,
    }


class RuntimeApi:
    """Hands out `events` one by one and records when each response comes back."""

    def __init__(self, events: list[dict]):
        self.events = events
        self.next_index = 0
        self.handed_out: dict[str, float] = {}
        self.answered: dict[str, tuple[float, dict]] = {}
        self.first_next_at: float | None = None
        self.done = threading.Event()
        self.errors: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    self.send_error(404)
                    return
                now = time.perf_counter()
                if api.first_next_at is None:
                    api.first_next_at = now
                if api.next_index >= len(api.events):
                    api.done.set()
                    time.sleep(3600)  # a real runtime API long-polls; the process is killed
                    return
                body = json.dumps(api.events[api.next_index]).encode()
                api.next_index += 1
                request_id = str(uuid.uuid4())
                api.handed_out[request_id] = time.perf_counter()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                                 "arn:aws:lambda:us-east-1:123456789012:function:bench")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length) if length else b""
                parts = self.path.split("/")
                if "error" in parts[-1]:
                    api.errors.append(f"{self.path}: {payload[:500]!r}")
                    api.done.set()
                elif parts[-1] == "response":
                    api.answered[parts[-2]] = (time.perf_counter(), json.loads(payload or b"{}"))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def seed(count: int, tokens: int) -> list[str]:
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    run = uuid.uuid4().hex[:8]
    ids = [f"int_bench_{run}_{i}" for i in range(count)]
    with table.batch_writer() as batch:
        for integration_id in ids:
            pk = f"INTEGRATION#{integration_id}"
            batch.put_item(Item={"PK": pk, "SK": "INTEGRATION", "id": integration_id,
                                 "accountId": ACCOUNT, "type": "youtube"})
            for t in range(tokens):
                batch.put_item(Item={"PK": pk, "SK": f"TOKEN#{t:03}", "value": f"fake-{t}"})
    return ids


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=200, help="warm invocations (default 200)")
    parser.add_argument("--tokens", type=int, default=3, help="tokens per integration (default 3)")
    parser.add_argument("--cold-starts", type=int, default=5, help="cold starts to time (default 5)")
    args = parser.parse_args()
    if not BINARY.exists():
        print(f"{BINARY.relative_to(ROOT)} is missing: run `cargo build --release` first", file=sys.stderr)
        return 2

    inits, firsts, peak_rss = [], [], []
    warm: list[float] = []
    statuses: dict[int, int] = {}
    for run in range(args.cold_starts):
        invocations = args.invocations if run == 0 else 1
        ids = seed(invocations, args.tokens)
        api = RuntimeApi([event(i) for i in ids])
        env = dict(os.environ,
                   AWS_LAMBDA_RUNTIME_API=api.address,
                   AWS_LAMBDA_FUNCTION_NAME="disconnect-integration",
                   AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
                   AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
                   AWS_LAMBDA_LOG_FORMAT="JSON",
                   AWS_LAMBDA_LOG_LEVEL="WARN")
        started = time.perf_counter()
        process = subprocess.Popen([str(BINARY)], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        finished = api.done.wait(timeout=120)
        status_file = Path(f"/proc/{process.pid}/status")
        rss_kib = 0
        if status_file.exists():
            for line in status_file.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    rss_kib = int(line.split()[1])
        process.kill()
        _, stderr = process.communicate()
        api.server.shutdown()
        if not finished or api.errors:
            print("the function did not finish:", *api.errors, stderr.decode()[-2000:], sep="\n",
                  file=sys.stderr)
            return 1
        ordered = sorted(api.handed_out, key=api.handed_out.get)
        for request_id in ordered:
            _, response = api.answered[request_id]
            statuses[response.get("statusCode")] = statuses.get(response.get("statusCode"), 0) + 1
        inits.append(api.first_next_at - started)
        first = ordered[0]
        firsts.append(api.answered[first][0] - api.handed_out[first])
        if run == 0:
            warm = [api.answered[r][0] - api.handed_out[r] for r in ordered[1:]]
        peak_rss.append(rss_kib)

    ms = lambda s: f"{s * 1000:7.1f} ms"  # noqa: E731
    print(f"binary: {BINARY.stat().st_size / 1024 / 1024:.1f} MiB (target/release, this machine's arch)")
    print(f"cold starts: {args.cold_starts}, warm invocations: {len(warm)}, tokens each: {args.tokens}")
    print(f"init (start -> first /next):      median {ms(statistics.median(inits))}   max {ms(max(inits))}")
    print(f"first invocation:                 median {ms(statistics.median(firsts))}   max {ms(max(firsts))}")
    if warm:
        print(f"warm invocation:  p50 {ms(percentile(warm, 50))}  p90 {ms(percentile(warm, 90))}"
              f"  p99 {ms(percentile(warm, 99))}  max {ms(max(warm))}")
    print(f"peak RSS (VmHWM): {max(peak_rss) / 1024:.1f} MiB")
    print(f"status codes: {statuses}")
    return 0 if set(statuses) == {200} else 1


if __name__ == "__main__":
    sys.exit(main())

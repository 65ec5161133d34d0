#!/usr/bin/env python3
"""Cold start, warm latency, CPU and memory of the release binary, against floors.

`make bench` runs it (services up and seeded, release binaries built). Each round, in an order
drawn at random, it starts:

- the function (`target/release/disconnect-integration`) behind a minimal Lambda Runtime API
  served here, with DynamoDB Local and moto as its backends, and hands it a first request and
  warm ones (disconnects of seeded integrations); after each warm invocation it sends the same
  two DynamoDB calls raw (Query, TransactWriteItems of another seeded integration): the paired
  floor of what DynamoDB Local itself takes;
- the hello-world floor (`bench/hello`, the smallest lambda_http function), the same way;
- the SDK floor (`examples/sdk-floor.rs`): a function that makes the same two DynamoDB calls
  through the AWS SDK with the function's own SdkConfig and does nothing else, driven exactly
  like the function (raw pair after each invocation included). Its CPU per request is what any
  function making those calls with the SDK spends; the table sets the function's beside it.

With --tls (the default), DynamoDB Local and moto sit behind a local TLS terminator whose
private CA is made at run time; the function trusts it through its `AWS_CA_BUNDLE` setting, as
a deployment behind a TLS-inspecting proxy would. Production speaks HTTPS, so this is the
figure that matters. --plain talks HTTP.

It prints medians over the rounds: init (process start to its first request for an event),
init CPU, first request, init + first, warm p50/p99, warm p50 above the paired floor, CPU per
warm request, peak RSS and the binary's size, and the ratios to the floors. CPU comes from the
process's own clock (/proc/<pid>/task/*/schedstat, nanoseconds on a CPU).

These are figures of this machine, to compare versions of this code, not a promise for Lambda.
"""

from __future__ import annotations

import argparse
import atexit
import http.client
import json
import os
import random
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts" / "lib"))
from table import A  # noqa: E402  (the table's attribute names)

# BENCH_FUNCTION: another build to measure (a before/after comparison).
FUNCTION = Path(os.environ.get("BENCH_FUNCTION", ROOT / "target" / "release" / "disconnect-integration"))
HELLO = ROOT / "target" / "bench-hello" / "release" / "hello-lambda"
SDK_FLOOR = ROOT / "target" / "release" / "examples" / "sdk-floor"
ACCOUNT = "acct_demo"
KEY = os.environ.get("DEMO_API_KEY", "demo_local_key_do_not_use_in_prod")
# A table of the bench's own, made and dropped by it: a table that grows run after run slows
# DynamoDB Local down and blurs comparisons.
TABLE = f"bench-{uuid.uuid4().hex[:12]}"


def create_table() -> None:
    client = boto3.client("dynamodb")
    client.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": A.PK, "AttributeType": "S"},
                              {"AttributeName": A.SK, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": A.PK, "KeyType": "HASH"}, {"AttributeName": A.SK, "KeyType": "RANGE"}])


def drop_table() -> None:
    boto3.client("dynamodb").delete_table(TableName=TABLE)


# --- events and seeding -------------------------------------------------------------

def event(integration_id: str, key: str = KEY) -> dict:
    """An HTTP API (payload 2.0) event, the shape the SAM template's route delivers."""
    path = f"/v1/integration/{integration_id}"
    return {
        "version": "2.0",
        "routeKey": "ANY /v1/integration/{integrationId}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"x-api-key": key, "host": "bench.local"},
        "pathParameters": {"integrationId": integration_id},
        "requestContext": {
            "accountId": "123456789012", "apiId": "bench", "domainName": "bench.local",
            "http": {"method": "DELETE", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench", "routeKey": "ANY /v1/integration/{integrationId}",
            "stage": "$default", "time": "28/Nov/2026:10:00:00 +0000", "timeEpoch": 1795860000000,
        },
        "isBase64Encoded": False,
    }


def seed(count: int, tokens: int) -> list[str]:
    table = boto3.resource("dynamodb").Table(TABLE)
    run = uuid.uuid4().hex[:8]
    ids = [f"int_bench_{run}_{i}" for i in range(count)]
    with table.batch_writer() as batch:
        for integration_id in ids:
            pk = f"INTEGRATION#{integration_id}"
            batch.put_item(Item={A.PK: pk, A.SK: "INTEGRATION", A.ID: integration_id,
                                 A.ACCOUNT_ID: ACCOUNT, A.TYPE: "youtube"})
            for t in range(tokens):
                batch.put_item(Item={A.PK: pk, A.SK: f"TOKEN#{t:03}", A.TOKEN: f"fake-{t}"})
    return ids


# --- TLS: a private CA and a terminator in front of each backend ---------------------------

class PrivateCa:
    """A CA and a server certificate for 127.0.0.1, made with openssl in a temporary folder."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="bench-tls-")
        atexit.register(shutil.rmtree, self.dir, ignore_errors=True)  # it holds the CA's key
        d = self.dir

        def run(*args: str) -> None:
            subprocess.run(["openssl", *args], check=True, cwd=d, capture_output=True)

        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=disconnect-integration bench CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
        run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
        Path(d, "ext.cnf").write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
            "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
        run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
        self.ca = str(Path(d, "ca.pem"))
        self.server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_context.load_cert_chain(Path(d, "server.pem"), Path(d, "server.key"))
        self.client_context = ssl.create_default_context(cafile=self.ca)


class TlsTerminator:
    """Accepts TLS on 127.0.0.1 and relays the plaintext to `upstream_port`."""

    def __init__(self, ca: PrivateCa, upstream_port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.ca, self.upstream_port = ca, upstream_port
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            tls = self.ca.server_context.wrap_socket(client, server_side=True)
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        except (OSError, ssl.SSLError):
            client.close()
            return
        for sock in (tls, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def pipe(src: socket.socket, dst: socket.socket) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        threading.Thread(target=pipe, args=(upstream, tls), daemon=True).start()
        pipe(tls, upstream)


# --- the raw DynamoDB pair: the floor of a warm disconnect -------------------------------

class RawDynamo:
    """Query + TransactWriteItems sent as raw HTTP(S) on one kept-alive connection (DynamoDB
    Local does not check signatures)."""

    HEADERS = {
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20261128/us-east-1/dynamodb/aws4_request, "
                         "SignedHeaders=host;x-amz-date, Signature=0",
        "X-Amz-Date": "20261128T000000Z",
    }

    def __init__(self, port: int, context: ssl.SSLContext | None) -> None:
        if context:
            self.conn = http.client.HTTPSConnection("127.0.0.1", port, context=context)
        else:
            self.conn = http.client.HTTPConnection("127.0.0.1", port)

    def call(self, target: str, body: dict) -> None:
        self.conn.request("POST", "/", json.dumps(body),
                          {**self.HEADERS, "X-Amz-Target": f"DynamoDB_20120810.{target}"})
        response = self.conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"raw {target}: {response.status}")

    def pair(self, integration_id: str, tokens: int) -> float:
        """The two calls of a warm disconnect of `integration_id`; returns their time in s."""
        pk = {"S": f"INTEGRATION#{integration_id}"}
        started = time.perf_counter()
        self.call("Query", {"TableName": TABLE, "ConsistentRead": True,
                            "KeyConditionExpression": "#pk = :pk",
                            "ExpressionAttributeNames": {"#pk": A.PK},
                            "ExpressionAttributeValues": {":pk": pk}})
        deletes = [{"Delete": {"TableName": TABLE, "Key": {A.PK: pk, A.SK: {"S": f"TOKEN#{t:03}"}}}}
                   for t in range(tokens)]
        self.call("TransactWriteItems", {"TransactItems": [
            {"Delete": {"TableName": TABLE, "Key": {A.PK: pk, A.SK: {"S": "INTEGRATION"}},
                        "ConditionExpression": "attribute_exists(#pk) AND #a = :a",
                        "ExpressionAttributeNames": {"#pk": A.PK, "#a": A.ACCOUNT_ID},
                        "ExpressionAttributeValues": {":a": {"S": ACCOUNT}}}},
            *deletes,
            {"Put": {"TableName": TABLE, "Item": {A.PK: pk, A.SK: {"S": "DISCONNECTED"},
                                                  A.ID: {"S": integration_id}}}},
        ]})
        return time.perf_counter() - started


def raw_secret_read(port: int, context: ssl.SSLContext | None) -> float:
    """One read of the API-keys secret on a new connection (a new TLS session with --tls), sent
    raw (moto does not check signatures): the floor of what init must wait for."""
    started = time.perf_counter()
    if context:
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("POST", "/", json.dumps({"SecretId": os.environ["API_KEYS_SECRET_ID"]}), {
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.GetSecretValue",
        "Authorization": RawDynamo.HEADERS["Authorization"].replace("/dynamodb/", "/secretsmanager/"),
        "X-Amz-Date": RawDynamo.HEADERS["X-Amz-Date"]})
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"raw GetSecretValue: {response.status}")
    return time.perf_counter() - started


# --- a minimal Lambda Runtime API ---------------------------------------------------------

class RuntimeApi:
    """Hands out queued events one by one and records when each answer comes back."""

    def __init__(self) -> None:
        self.queue: list[tuple[str, bytes]] = []
        self.cv = threading.Condition()
        self.first_next_at: float | None = None
        self.answers: dict[str, tuple[float, bytes]] = {}
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # One write per answer, sent at once: no Nagle delay against the client's delayed ACK.
            wbufsize = 65536
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    self.send_error(404)
                    return
                with api.cv:
                    if api.first_next_at is None:
                        api.first_next_at = time.perf_counter()
                        api.cv.notify_all()
                    while not api.queue:
                        api.cv.wait()
                    request_id, body = api.queue.pop(0)
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
                with api.cv:
                    api.answers[parts[-2]] = (time.perf_counter(), payload)
                    api.cv.notify_all()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a killed process resets its long poll: expected, not news

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_ready(self, timeout: float = 30) -> float:
        with self.cv:
            if not self.cv.wait_for(lambda: self.first_next_at is not None, timeout):
                raise RuntimeError("the function never asked for an event")
            return self.first_next_at

    def invoke(self, event_body: dict) -> tuple[float, dict]:
        """Queues an event; returns the time to its answer and the answer."""
        request_id = str(uuid.uuid4())
        body = json.dumps(event_body).encode()
        with self.cv:
            started = time.perf_counter()
            self.queue.append((request_id, body))
            self.cv.notify_all()
            if not self.cv.wait_for(lambda: request_id in self.answers, 30):
                raise RuntimeError("no answer within 30 s")
            at, payload = self.answers.pop(request_id)
        return at - started, json.loads(payload or b"{}")


# --- one process --------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of `pid`, from the kernel's scheduler statistics."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9


def user_cpu_seconds(pid: int) -> float:
    """User-mode CPU time of every thread of `pid` (clock ticks): the function's own code,
    without the kernel's share, which on loopback also carries the peer's network work."""
    ticks = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11])  # utime: field 14 of stat, counted after the comm field
        except (OSError, ValueError, IndexError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_process(binary: Path, env: dict, ids: list[str], raw: RawDynamo | None, pair_ids: list[str],
                tokens: int) -> dict:
    """Starts `binary`, invokes it once per id, and measures it."""
    api = RuntimeApi()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=api.address)
    started = time.perf_counter()
    process = subprocess.Popen([str(binary)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ready = api.wait_ready()
        init_cpu = cpu_seconds(process.pid)
        first, answer = api.invoke(event(ids[0]))
        statuses = [answer.get("statusCode")]
        cpu_before = cpu_seconds(process.pid)
        user_before = user_cpu_seconds(process.pid)
        warm, floors = [], []
        for i, integration_id in enumerate(ids[1:]):
            took, answer = api.invoke(event(integration_id))
            warm.append(took)
            statuses.append(answer.get("statusCode"))
            if raw:
                floors.append(raw.pair(pair_ids[i], tokens))
        cpu_after = cpu_seconds(process.pid)
        user_after = user_cpu_seconds(process.pid)
        rss = peak_rss_mib(process.pid)
    finally:
        process.kill()
        _, stderr = process.communicate()
    if any(s != 200 for s in statuses):
        sys.exit(f"{binary.name} answered {statuses}: {stderr.decode()[-2000:]}")
    return {"init": ready - started, "init_cpu": init_cpu, "first": first, "warm": warm,
            "floors": floors, "cpu_per_warm": (cpu_after - cpu_before) / max(1, len(warm)),
            "user_cpu_per_warm": (user_after - user_before) / max(1, len(warm)), "rss": rss}


def run_parallel(env: dict, processes: int, per_process: int, ids: list[str], clients: int) -> dict:
    """`processes` function processes, each serving `per_process` requests at once
    (AWS_LAMBDA_MAX_CONCURRENCY), behind one Runtime API; `clients` threads send the events."""
    api = RuntimeApi()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=api.address, AWS_LAMBDA_MAX_CONCURRENCY=str(per_process))
    children = [subprocess.Popen([str(FUNCTION)], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL) for _ in range(processes)]
    try:
        api.wait_ready()
        time.sleep(0.2)  # every process past its init
        cpu_before = sum(cpu_seconds(c.pid) for c in children)
        latencies: list[float] = []
        lock = threading.Lock()
        queue = list(ids)

        def client() -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    integration_id = queue.pop()
                took, answer = api.invoke(event(integration_id))
                if answer.get("statusCode") != 200:
                    raise RuntimeError(f"answered {answer.get('statusCode')}")
                with lock:
                    latencies.append(took)

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        cpu = sum(cpu_seconds(c.pid) for c in children) - cpu_before
        rss = sum(peak_rss_mib(c.pid) for c in children)
    finally:
        for c in children:
            c.kill()
            c.wait()
    return {"throughput": len(latencies) / elapsed, "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99), "cpu": cpu / max(1, len(latencies)), "rss": rss}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="cold starts of each process (default 5)")
    parser.add_argument("--invocations", type=int, default=100, help="warm invocations per round (default 100)")
    parser.add_argument("--tokens", type=int, default=3, help="tokens per integration (default 3)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--tls", dest="tls", action="store_true", default=True, help="HTTPS to the backends (default)")
    mode.add_argument("--plain", dest="tls", action="store_false", help="plain HTTP to the backends")
    parser.add_argument("--seed", type=int, default=None, help="seed of the round order")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="also compare one process serving N at once with N processes (default 8; 0: skip)")
    args = parser.parse_args()
    for binary in (FUNCTION, HELLO, SDK_FLOOR):
        if not binary.exists():
            sys.exit(f"{binary.relative_to(ROOT)} is missing: run `make bench`")

    ddb_port = int(os.environ["AWS_ENDPOINT_URL_DYNAMODB"].rsplit(":", 1)[1])
    sm_port = int(os.environ["AWS_ENDPOINT_URL_SECRETS_MANAGER"].rsplit(":", 1)[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_LAMBDA_")}
    create_table()
    try:
        return measure(args, env, ddb_port, sm_port)
    finally:
        drop_table()


def measure(args: argparse.Namespace, env: dict, ddb_port: int, sm_port: int) -> int:
    env.update(TABLE_NAME=TABLE, AWS_LAMBDA_FUNCTION_NAME="disconnect-integration", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
               AWS_LAMBDA_FUNCTION_VERSION="$LATEST", AWS_LAMBDA_LOG_FORMAT="JSON",
               AWS_LAMBDA_LOG_LEVEL="WARN")
    raw_port, client_context, secret_port = ddb_port, None, sm_port
    if args.tls:
        ca = PrivateCa()
        ddb_tls, sm_tls = TlsTerminator(ca, ddb_port), TlsTerminator(ca, sm_port)
        # AWS_CA_BUNDLE: the function's setting for an extra CA. SSL_CERT_FILE: what a build
        # that reads the OS store (rustls-native-certs) reads instead of it; the OS bundle plus
        # the CA, so such a build still parses every OS root, as it would in Lambda.
        bundle = Path(ca.dir, "os-and-bench.pem")
        os_bundle = Path("/etc/ssl/certs/ca-certificates.crt")
        bundle.write_text((os_bundle.read_text() if os_bundle.exists() else "") + Path(ca.ca).read_text())
        env.update(AWS_ENDPOINT_URL_DYNAMODB=f"https://127.0.0.1:{ddb_tls.port}",
                   AWS_ENDPOINT_URL_SECRETS_MANAGER=f"https://127.0.0.1:{sm_tls.port}",
                   AWS_CA_BUNDLE=ca.ca, SSL_CERT_FILE=str(bundle))
        raw_port, client_context, secret_port = ddb_tls.port, ca.client_context, sm_tls.port
    raw = RawDynamo(raw_port, client_context)

    # Warm DynamoDB Local up (its JIT and tables) before anything is measured.
    warmup = seed(300, args.tokens)
    for integration_id in warmup:
        raw.pair(integration_id, args.tokens)

    rng = random.Random(args.seed)
    results: dict[str, list[dict]] = {"function": [], "hello": [], "sdk": []}
    secret_reads: list[float] = []
    for _ in range(args.rounds):
        order = ["function", "hello", "sdk"]
        rng.shuffle(order)
        for name in order:
            ids = seed(args.invocations + 1, args.tokens)
            if name == "function":
                pair_ids = seed(args.invocations, args.tokens)
                # The floor of init, taken right before the function starts, so that both see
                # the same moment of a noisy machine.
                secret_reads.append(raw_secret_read(secret_port, client_context))
                results[name].append(run_process(FUNCTION, env, ids, raw, pair_ids, args.tokens))
            elif name == "sdk":
                pair_ids = seed(args.invocations, args.tokens)
                results[name].append(run_process(SDK_FLOOR, env, ids, raw, pair_ids, args.tokens))
            else:
                results[name].append(run_process(HELLO, env, ids, None, [], args.tokens))

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    def warm_all(name: str) -> list[float]:
        return [w for r in results[name] for w in r["warm"]]

    secret_read = statistics.median(secret_reads)
    f_warm, h_warm, s_warm = warm_all("function"), warm_all("hello"), warm_all("sdk")
    floors = [f for r in results["function"] for f in r["floors"]]
    hello_p50 = percentile(h_warm, 50)
    above = [w - fl - hello_p50 for r in results["function"] for w, fl in zip(r["warm"], r["floors"])]
    ms = lambda s: f"{s * 1e3:9.2f} ms"  # noqa: E731
    rows = [
        ("init", ms(median("function", "init")), ms(median("hello", "init")), ""),
        ("init CPU", ms(median("function", "init_cpu")), ms(median("hello", "init_cpu")), ""),
        ("raw secret read on a new connection (init's floor)", ms(secret_read), "", ""),
        ("init above hello init + raw secret read (target <= 3)",
         ms(median("function", "init") - median("hello", "init") - secret_read), "", ""),
        ("first request", ms(median("function", "first")), ms(median("hello", "first")), ""),
        ("init + first request", ms(median("function", "init") + median("function", "first")),
         ms(median("hello", "init") + median("hello", "first")), ""),
        ("warm p50", ms(percentile(f_warm, 50)), ms(hello_p50), ms(percentile(s_warm, 50))),
        ("warm p99", ms(percentile(f_warm, 99)), ms(percentile(h_warm, 99)), ms(percentile(s_warm, 99))),
        ("paired floor p50 (raw Query + TransactWriteItems)", ms(percentile(floors, 50)), "", ""),
        ("warm p50 above paired floor + hello p50", ms(percentile(above, 50)), "", ""),
        ("CPU per warm request", ms(median("function", "cpu_per_warm")), ms(median("hello", "cpu_per_warm")),
         ms(median("sdk", "cpu_per_warm"))),
        ("  of it in user mode (the process's own code)", ms(median("function", "user_cpu_per_warm")),
         ms(median("hello", "user_cpu_per_warm")), ms(median("sdk", "user_cpu_per_warm"))),
        ("CPU per warm request above the SDK floor",
         ms(statistics.median(f["cpu_per_warm"] - k["cpu_per_warm"]
                              for f, k in zip(results["function"], results["sdk"]))), "", ""),
        ("peak RSS", f"{max(r['rss'] for r in results['function']):8.1f} MiB",
         f"{max(r['rss'] for r in results['hello']):8.1f} MiB",
         f"{max(r['rss'] for r in results['sdk']):8.1f} MiB"),
        ("binary", f"{FUNCTION.stat().st_size / 1048576:8.1f} MiB", f"{HELLO.stat().st_size / 1048576:8.1f} MiB",
         f"{SDK_FLOOR.stat().st_size / 1048576:8.1f} MiB"),
    ]
    mode_name = "HTTPS (local TLS terminator, private CA through AWS_CA_BUNDLE)" if args.tls else "plain HTTP"
    print(f"bench: {args.rounds} rounds x {args.invocations} warm invocations, {args.tokens} tokens each, "
          f"backends over {mode_name}; medians over rounds")
    print(f"| {'figure':<53} | {'function':>12} | {'hello floor':>12} | {'SDK floor':>12} |")
    print(f"|{'-' * 55}|{'-' * 14}|{'-' * 14}|{'-' * 14}|")
    for name, function, hello, sdk in rows:
        print(f"| {name:<53} | {function:>12} | {hello:>12} | {sdk:>12} |")
    print_ratios(median)
    if args.concurrency > 1:
        n = args.concurrency
        ids = seed(args.invocations * n, args.tokens)
        one = run_parallel(env, 1, n, ids[: len(ids) // 2], n)
        many = run_parallel(env, n, 1, ids[len(ids) // 2:], n)
        print(f"concurrency {n}, {n} clients, {len(ids) // 2} disconnects each way:")
        print(f"| {'':<30} | {'throughput':>12} | {'p50':>9} | {'p99':>9} | {'CPU/request':>11} | {'RSS, all':>9} |")
        print(f"|{'-' * 32}|{'-' * 14}|{'-' * 11}|{'-' * 11}|{'-' * 13}|{'-' * 11}|")
        for name, r in ((f"1 process, {n} at once", one), (f"{n} processes, 1 at a time", many)):
            print(f"| {name:<30} | {r['throughput']:8.0f} r/s | {r['p50'] * 1e3:6.2f} ms | {r['p99'] * 1e3:6.2f} ms "
                  f"| {r['cpu'] * 1e3:8.2f} ms | {r['rss']:5.1f} MiB |")
    return 0


def print_ratios(median) -> None:
    print(f"ratios to the hello floor: init {median('function', 'init') / median('hello', 'init'):.1f}x, "
          f"init CPU {median('function', 'init_cpu') / max(1e-9, median('hello', 'init_cpu')):.1f}x, "
          f"warm CPU {median('function', 'cpu_per_warm') / max(1e-9, median('hello', 'cpu_per_warm')):.1f}x; "
          f"warm CPU to the SDK floor {median('function', 'cpu_per_warm') / max(1e-9, median('sdk', 'cpu_per_warm')):.1f}x")


if __name__ == "__main__":
    sys.exit(main())

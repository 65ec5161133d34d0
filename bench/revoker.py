#!/usr/bin/env python3
"""The revoker at burst scale: records/s on one shard, the time to drain, the outcomes.

`make bench-revoker ARGS="..."` runs it (services up, `target/release/revoke-tokens` built); alone:

    source scripts/lib/env.sh && "$VENV_PY" bench/revoker.py [--records 10000] [--latency-ms 150]
        [--rate-429 PLATFORM=FRACTION ...] [--parallelization 1] [--types youtube,discord,reddit,tiktok]
        [--time-limit SECONDS]

A burst of disconnects, as one stream shard hands it to the revoker:

1. **The table.** A table of its own (the template's IntegrationsTable definition: keys,
   GrantIndex, stream), with `--records / 2` disconnected integrations spread round-robin over
   `--types`: each one a live DISCONNECTED marker (with a grantId of its own, as a disconnect
   copies it from the integration) and no tokens left, as a disconnect leaves them. A
   credentials secret of its own in the local Secrets Manager (seed.py's fake client ids).
2. **The shard.** Each integration's access then refresh token as the REMOVE records of its
   disconnect's transaction (old images with `token` and `tokenType`), in one shard's order:
   sequence numbers increasing, eventIDs unique, ApproximateCreationDateTime now.
3. **The platforms.** scripts/local/platform-stub.py on a free loopback port, answering every
   call after `--latency-ms`, and 429 with `Retry-After: 1` for the `--rate-429` fraction of a
   platform's calls. Every REVOKE_ENDPOINT_<PLATFORM> points at it (REVOKE_ALLOW_LOOPBACK=true).
4. **The event source mapping**, as the template sets it up (RevokeTokensFunction's DynamoDB
   event: BatchSize, MaximumRetryAttempts, MaximumRecordAgeInSeconds, ReportBatchItemFailures):
   each invocation gets the next BatchSize records starting at the first record the previous
   answer handed back (`batchItemFailures`), which is resent. An invocation that fails (a
   function error, a crash, a timeout) is sent again whole. A batch whose first record comes back
   more than MaximumRetryAttempts times in a row is dropped, as the mapping drops it to its
   on-failure destination (whether a partial success resets Lambda's count is not documented:
   here it does, the lenient reading). `--parallelization N` (ParallelizationFactor; default the
   template's) keeps N batches of the shard in flight at once, the records of one item (partition
   and sort key) always in the same one, in order, as Lambda does: an integration's access and
   refresh removals are two items, and may then run side by side.
5. **The function**: the release binary (BENCH_REVOKER=path measures another build) behind
   bench/bench.py's minimal Runtime API, one process per batch in flight, with the template's
   settings (its REVOKE_* variables, MemorySize) and its Timeout as each invocation's deadline.

It ends when every record is finished (the checkpoint passed it), or at `--time-limit` (default:
the template's MaximumRecordAgeInSeconds, when the mapping itself would drop what is left), then
reads every marker and prints: records/s, the time to drain, the outcomes' counts (revoked, of
them `via` another token, unconfirmed, unsupported, shared_grant, failed by reason, given up),
invocations and their durations, the records handed back, the calls each platform got, the
function's own metrics (its EMF documents) and its CPU. It exits non-zero when a record was given
up for its age, the drain did not finish (the time limit, a dropped batch), or a finished record
has no outcome on its marker (or more than one).

The stub and the function share this machine with DynamoDB Local: the figures compare versions
of the revoker here, they are not Lambda's.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from pathlib import Path
from urllib.parse import urlparse

import boto3
import yaml
from boto3.dynamodb.types import TypeDeserializer

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (bench/bench.py: the Runtime API, CPU and memory of a process)

ROOT = bench.ROOT
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "scripts" / "lib"))
from table import A  # noqa: E402  (the table's attribute names)
from seed import DEMO_REVOKE_CREDENTIALS, LOCAL_HOSTS, CfnLoader, create_table, table_definition  # noqa: E402

STUB_PATH = ROOT / "scripts" / "local" / "platform-stub.py"
# The stub's own option parsing (--rate-429), so that a bad value is refused before anything starts.
_spec = importlib.util.spec_from_file_location("platform_stub", STUB_PATH)
stub_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stub_module)

REVOKER = Path(os.environ.get("BENCH_REVOKER", ROOT / "target" / "release" / "revoke-tokens"))
FUNCTION_RESOURCE = "RevokeTokensFunction"
# The integration types the bench may spread over, by the platform that revokes them
# (platform_revoke::support) and that the stub plays. Mastodon is left out: its tokens need a
# server of their own.
TYPES = {
    "youtube": "google", "google": "google", "google_business": "google", "tiktok": "tiktok",
    "facebook": "meta", "instagram": "meta", "linkedin": "linkedin", "x": "x", "twitter": "x",
    "reddit": "reddit", "discord": "discord",
}
# REVOKE_ENDPOINT_<PLATFORM> of every platform with a fixed host (crates/platform-revoke endpoints.rs).
ENDPOINT_PLATFORMS = ("google", "tiktok", "meta", "linkedin", "x", "reddit", "discord")
DEFAULT_TYPES = "youtube,discord,reddit,tiktok"
MARKER_TTL_SECONDS = 90 * 86_400
# What the function process may take beyond its deadline before it counts as timed out.
DEADLINE_GRACE = 5.0
PROGRESS_EVERY = 30.0


def log(message: str) -> None:
    print(f"bench-revoker: {message}", flush=True)


# --- the template ---------------------------------------------------------------------------

def template_settings(template: Path) -> dict:
    """RevokeTokensFunction's settings and its DynamoDB event source mapping's."""
    resources = yaml.load(template.read_text(), Loader=CfnLoader).get("Resources") or {}  # noqa: S506
    try:
        props = resources[FUNCTION_RESOURCE]["Properties"]
        name, event = next((n, e) for n, e in props["Events"].items() if e.get("Type") == "DynamoDB")
    except (KeyError, TypeError, AttributeError, StopIteration):
        sys.exit(f"bench-revoker: template.yaml has no DynamoDB event of {FUNCTION_RESOURCE}")
    mapping = event.get("Properties") or {}
    if "ReportBatchItemFailures" not in (mapping.get("FunctionResponseTypes") or []):
        sys.exit(f"bench-revoker: {FUNCTION_RESOURCE}.Events.{name} does not report batch item failures; "
                 "this bench plays a mapping that does")
    return {
        "event": name,
        "timeout": float(props.get("Timeout", 3)),
        "memory": int(props.get("MemorySize", 128)),
        "variables": (props.get("Environment") or {}).get("Variables") or {},
        "batch_size": int(mapping.get("BatchSize", 100)),
        "max_retries": int(mapping.get("MaximumRetryAttempts", -1)),
        "max_age": int(mapping.get("MaximumRecordAgeInSeconds", -1)),
        "parallelization": int(mapping.get("ParallelizationFactor", 1)),
    }


def function_env(settings: dict, table: str, secret_id: str, stub_url: str) -> dict:
    """The function's environment: the template's variables, its references made local."""
    # The calling shell's REVOKE_*, RUST_LOG and Lambda variables are not the template's.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_LAMBDA_", "REVOKE_", "_LAMBDA")) and k != "RUST_LOG"}
    local = {
        "TABLE_NAME": table,
        "REVOKE_CREDENTIALS_SECRET_ID": secret_id,
        "METRICS_NAMESPACE": "Bench",
        "METRICS_SERVICE": "bench-revoke-tokens",
    }
    for name, value in settings["variables"].items():
        if name in local:
            continue
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            env[name] = str(value)
        else:
            sys.exit(f"bench-revoker: {FUNCTION_RESOURCE}'s variable {name} is not a literal; "
                     "bench/revoker.py must be told its local value")
    env.update(local)
    for platform in ENDPOINT_PLATFORMS:
        env[f"REVOKE_ENDPOINT_{platform.upper()}"] = stub_url
    no_proxy = ",".join(filter(None, ["127.0.0.1,localhost", os.environ.get("NO_PROXY")]))
    env.update(
        REVOKE_ALLOW_LOOPBACK="true", NO_PROXY=no_proxy, no_proxy=no_proxy,
        AWS_LAMBDA_FUNCTION_NAME="revoke-tokens", AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(settings["memory"]),
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST", AWS_LAMBDA_LOG_FORMAT="JSON", AWS_LAMBDA_LOG_LEVEL="WARN",
    )
    return env


# --- the table, the secret and the shard ---------------------------------------------------

def epoch_rfc3339(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def seed(table: str, stream_arn: str, count: int, types: list[str], region: str) -> list[dict]:
    """Markers of count/2 disconnected integrations; returns the shard's records, in order."""
    run = uuid.uuid4().hex[:8]
    now = int(time.time())
    integrations = math.ceil(count / 2)
    markers, records = [], []
    sequence = 10**20  # 21 digits, as DynamoDB Streams' sequence numbers
    for i in range(integrations):
        kind = types[i % len(types)]
        integration_id = f"int_bench_{run}_{i:06d}"
        pk = f"INTEGRATION#{integration_id}"
        markers.append({
            A.PK: pk, A.SK: "DISCONNECTED", A.ID: integration_id, A.ACCOUNT_ID: "acct_bench", A.TYPE: kind,
            A.DISCONNECTED_AT: epoch_rfc3339(now), A.REASON: "integration_disconnected",
            A.EXPIRES_AT: now + MARKER_TTL_SECONDS, A.GRANT_ID: f"grant_bench_{run}_{i:06d}",
        })
        for sk, token_type in (("TOKEN#access", "access_token"), ("TOKEN#refresh", "refresh_token")):
            if len(records) == count:
                break
            old = {
                A.PK: {"S": pk}, A.SK: {"S": sk},
                # A fake value: the stub takes anything.
                A.TOKEN: {"S": f"bench-fake-{token_type}-{uuid.uuid4().hex}"},
                A.TOKEN_TYPE: {"S": token_type}, A.EXPIRES_AT: {"N": str(now + 3600)},
            }
            sequence += 1
            records.append({
                "eventID": uuid.uuid4().hex, "eventName": "REMOVE", "eventVersion": "1.1",
                "eventSource": "aws:dynamodb", "awsRegion": region, "eventSourceARN": stream_arn,
                "dynamodb": {
                    "ApproximateCreationDateTime": now,
                    "Keys": {A.PK: old[A.PK], A.SK: old[A.SK]},
                    "OldImage": old,
                    "SequenceNumber": str(sequence),
                    "SizeBytes": len(json.dumps(old)),
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            })
    with boto3.resource("dynamodb", region_name=region).Table(table).batch_writer() as batch:
        for marker in markers:
            batch.put_item(Item=marker)
    return records


def read_markers(ddb, table: str) -> dict:
    """Every marker's `revocation` entries, by the eventId they record, and its noted sets."""
    decode = TypeDeserializer().deserialize
    entries: dict[str, list[dict]] = collections.defaultdict(list)
    noted = collections.Counter()
    kwargs = {"TableName": table, "ConsistentRead": True, "FilterExpression": "#sk = :m",
              "ExpressionAttributeNames": {"#sk": A.SK},
              "ExpressionAttributeValues": {":m": {"S": "DISCONNECTED"}}}
    while True:
        page = ddb.scan(**kwargs)
        for item in page["Items"]:
            marker = {k: decode(v) for k, v in item.items()}
            for entry in marker.get(A.REVOCATION) or []:
                entries[entry.get(A.ENTRY_EVENT_ID, "")].append(entry)
            for name in (A.REVOCATION_RETRIES, A.REVOCATION_REFRESHES):
                noted[name] += len(marker.get(name) or ())
        if "LastEvaluatedKey" not in page:
            return {"entries": entries, "noted": noted}
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# --- the platform stub -----------------------------------------------------------------------

class Stub:
    """scripts/local/platform-stub.py on a free loopback port; counts its answers from its lines."""

    def __init__(self, latency_ms: int, rates: list[tuple[str, float]]) -> None:
        args = [sys.executable, "-u", str(STUB_PATH), "--port", "0", "--latency-ms", str(latency_ms)]
        for platform, fraction in rates:
            args += ["--rate-429", f"{platform}={fraction}"]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        first = self.process.stdout.readline()
        address = first.split("endpoints on ", 1)[-1].split(",", 1)[0].strip()
        if not address.startswith("http://127.0.0.1:"):
            self.stop()
            sys.exit(f"bench-revoker: the platform stub did not start: {first.strip()}")
        self.url = address
        self.answers: collections.Counter = collections.Counter()  # (platform, status)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        # "stub: POST /revoke (google) -> 200 answered its documented success"
        for line in self.process.stdout:
            try:
                platform = line.split("(", 1)[1].split(")", 1)[0]
                status = int(line.split("-> ", 1)[1].split()[0])
            except (IndexError, ValueError):
                continue
            self.answers[(platform, status)] += 1

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if hasattr(self, "reader"):
            self.reader.join(timeout=10)  # every line the stub wrote, counted


# --- the function ----------------------------------------------------------------------------

class Function:
    """One execution environment: the binary behind bench.RuntimeApi, whose deadline header is
    the template's Timeout from the moment the event is handed out."""

    def __init__(self, env: dict, timeout: float) -> None:
        self.api = bench.RuntimeApi()
        deadline_ms = int(timeout * 1000)
        handler = self.api.server.RequestHandlerClass

        class Handler(handler):
            def send_header(self, keyword, value):
                if keyword == "Lambda-Runtime-Deadline-Ms":
                    value = str(int(time.time() * 1000) + deadline_ms)
                super().send_header(keyword, value)

        self.api.server.RequestHandlerClass = Handler
        self.env = dict(env, AWS_LAMBDA_RUNTIME_API=self.api.address)
        self.timeout = timeout
        self.output = tempfile.TemporaryFile()
        self.cpu = 0.0  # of the processes already stopped
        self.rss = 0.0
        self.restarts = 0
        self.error_kinds: set = set()
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        with self.api.cv:
            self.api.first_next_at = None
        self.process = subprocess.Popen([str(REVOKER)], env=self.env, stdout=self.output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        with self.api.cv:
            while self.api.first_next_at is None:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.output.seek(0)
                    tail = self.output.read().decode(errors="replace")[-2000:]
                    sys.exit(f"bench-revoker: {REVOKER.name} did not start (exit {self.process.poll()}):\n{tail}")
                self.api.cv.wait(0.2)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            try:
                self.cpu += bench.cpu_seconds(self.process.pid)
                self.rss = max(self.rss, bench.peak_rss_mib(self.process.pid))
            except OSError:
                pass
            self.process.kill()
        if self.process:
            self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.restarts += 1
        self.start()

    def cpu_seconds(self) -> float:
        live = bench.cpu_seconds(self.process.pid) if self.process.poll() is None else 0.0
        return self.cpu + live

    def invoke(self, records: list[dict]) -> tuple[dict | None, str | None, float]:
        """One invocation: (the answer, None) or (None, what failed), and its duration."""
        request_id = str(uuid.uuid4())
        body = json.dumps({"Records": records}).encode()
        api = self.api
        with api.cv:
            started = time.monotonic()
            api.queue.append((request_id, body))
            api.cv.notify_all()
            limit = started + self.timeout + DEADLINE_GRACE
            while request_id not in api.answers:
                if self.process.poll() is not None or time.monotonic() > limit:
                    break
                api.cv.wait(0.5)
            answered = api.answers.pop(request_id, None)
            api.queue[:] = [q for q in api.queue if q[0] != request_id]
        took = time.monotonic() - started
        if answered is None:
            crashed = self.process.poll() is not None
            what = f"the process exited ({self.process.returncode})" if crashed else f"no answer in {self.timeout:.0f} s"
            self.restart()
            return None, what, took
        try:
            answer = json.loads(answered[1] or b"{}")
        except ValueError:
            return None, "an answer that is not JSON", took
        if not isinstance(answer, dict) or "errorType" in answer or "errorMessage" in answer:
            kind = answer.get("errorType", "?") if isinstance(answer, dict) else "?"
            if kind not in self.error_kinds:
                self.error_kinds.add(kind)
                message = answer.get("errorMessage", "") if isinstance(answer, dict) else str(answer)
                log(f"the function failed an invocation: {kind}: {str(message)[:300]}")
            return None, f"function error ({kind})", took
        return answer, None, took

    def lines(self) -> list[dict]:
        self.output.seek(0)
        out = []
        for line in self.output.read().decode(errors="replace").splitlines():
            try:
                document = json.loads(line)
            except ValueError:
                continue
            if isinstance(document, dict):
                out.append(document)
        return out


# --- the event source mapping ------------------------------------------------------------------

class Mapping:
    """Plays the event source mapping over the shard's records, one lane per batch in flight."""

    def __init__(self, records: list[dict], lanes: int, batch_size: int, max_retries: int, stop_at: float) -> None:
        # Lambda "still ensures in-order processing at the item (partition and sort key) level"
        # (with-ddb.html, "Concurrent reading of a shard"): one item's records always in one lane.
        # So an integration's access and refresh removals may run side by side.
        self.lanes = [[] for _ in range(lanes)]
        for record in records:
            keys = record["dynamodb"]["Keys"]
            item = f'{keys[A.PK]["S"]}\n{keys[A.SK]["S"]}'
            self.lanes[zlib.crc32(item.encode()) % lanes].append(record)
        self.batch_size, self.max_retries, self.stop_at = batch_size, max_retries, stop_at
        self.lock = threading.Lock()
        self.finished: dict[str, float] = {}  # eventID -> when the checkpoint passed it (epoch s)
        self.dropped: list[dict] = []
        self.invocations = 0
        self.durations: list[float] = []
        self.handing_back = 0  # invocations whose answer handed a record back
        self.handed_back = 0  # records their answers named
        self.resent = 0  # records sent again because of it
        self.errors: collections.Counter = collections.Counter()
        self.first_at: float | None = None
        self.last_at: float | None = None

    def run_lane(self, records: list[dict], function: Function) -> None:
        position, stalls = 0, 0
        while position < len(records) and time.monotonic() < self.stop_at:
            batch = records[position: position + self.batch_size]
            with self.lock:
                if self.first_at is None:
                    self.first_at = time.monotonic()
            answer, error, took = function.invoke(batch)
            failed_at, named = len(batch), []
            if error:
                failed_at = 0
            else:
                named = [f.get("itemIdentifier") if isinstance(f, dict) else None
                         for f in answer.get("batchItemFailures") or []]
                if named:
                    sequence = [r["dynamodb"]["SequenceNumber"] for r in batch]
                    if all(isinstance(n, str) and n in sequence for n in named):
                        failed_at = min(sequence.index(n) for n in named)
                    else:
                        # An identifier of no record of the batch: Lambda fails the whole batch.
                        failed_at, error = 0, "an itemIdentifier of no record of the batch"
            now = time.time()
            with self.lock:
                self.invocations += 1
                self.durations.append(took)
                if error:
                    self.errors[error] += 1
                elif failed_at < len(batch):
                    self.handing_back += 1
                    self.handed_back += len(named)
                    self.resent += len(batch) - failed_at
                for record in batch[:failed_at]:
                    self.finished[record["eventID"]] = now
                if failed_at:
                    self.last_at = time.monotonic()
            if failed_at:
                stalls = 0
            elif failed_at < len(batch):
                stalls += 1
                if 0 <= self.max_retries < stalls:
                    # The mapping's retries ran out: it drops the batch to its on-failure destination.
                    with self.lock:
                        self.dropped.extend(batch)
                    position += len(batch)
                    stalls = 0
                    continue
            position += failed_at

    def run(self, functions: list[Function]) -> None:
        threads = [threading.Thread(target=self.run_lane, args=(lane, function), daemon=True)
                   for lane, function in zip(self.lanes, functions)]
        for t in threads:
            t.start()
        total = sum(len(lane) for lane in self.lanes)
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(PROGRESS_EVERY / len(threads))
            if any(t.is_alive() for t in threads) and self.first_at is not None:
                with self.lock:
                    done, elapsed = len(self.finished), time.monotonic() - self.first_at
                log(f"{done:,}/{total:,} records finished in {elapsed:.0f} s ({done / max(elapsed, 1e-9):.1f} records/s), "
                    f"{self.invocations:,} invocations, {self.handing_back:,} handing a record back")


# --- the report ----------------------------------------------------------------------------

def summarise(records: list[dict], mapping: Mapping, markers: dict, give_up_after: float, created: float) -> dict:
    entries = markers["entries"]
    counts = collections.Counter()
    failed_reasons = collections.Counter()
    for record in records:
        found = entries.get(record["eventID"], [])
        finished = record["eventID"] in mapping.finished
        if not found:
            counts["no outcome, finished" if finished else "no outcome, not finished"] += 1
            continue
        if len(found) > 1:
            counts["more than one entry"] += 1
        entry = found[0]
        outcome = entry.get(A.ENTRY_OUTCOME, "?")
        counts[outcome] += 1
        if outcome == "revoked" and entry.get(A.ENTRY_VIA):
            counts["revoked via"] += 1
        reason = entry.get(A.REASON) or ""
        if outcome == "failed":
            failed_reasons[reason] += 1
            if reason.startswith("gave up"):
                counts["given up"] += 1
                at = mapping.finished.get(record["eventID"])
                if "older than" in reason or (at is not None and at - created >= give_up_after):
                    counts["given up for its age"] += 1
    return {"counts": counts, "failed_reasons": failed_reasons}


def emf_metrics(documents: list[dict]) -> collections.Counter:
    totals = collections.Counter()
    for document in documents:
        directives = (document.get("_aws") or {}).get("CloudWatchMetrics") or []
        for directive in directives:
            for metric in directive.get("Metrics") or []:
                value = document.get(metric.get("Name"))
                if isinstance(value, list):
                    value = sum(v for v in value if isinstance(v, (int, float)))
                if isinstance(value, (int, float)):
                    totals[metric["Name"]] += value
    return totals


def logged(documents: list[dict]) -> collections.Counter:
    """The function's WARN and ERROR lines, by message and reason (never a token: the function
    logs none)."""
    lines = collections.Counter()
    for document in documents:
        if document.get("level") in ("WARN", "ERROR") and "_aws" not in document:
            reason = document.get("reason") or document.get("error") or document.get("why") or ""
            lines[(document.get("level"), document.get("message") or document.get("msg") or "", str(reason)[:160])] += 1
    return lines


def percentile(values: list[float], p: float) -> float:
    return bench.percentile(values, p) if values else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000, help="token removals in the burst (default 10,000)")
    parser.add_argument("--latency-ms", type=stub_module.latency_ms, default=150,
                        help="the platforms answer each call after N ms (default 150)")
    parser.add_argument("--rate-429", type=stub_module.rate_429, action="append", default=[],
                        metavar="PLATFORM=FRACTION",
                        help="that fraction of PLATFORM's calls answer 429 with Retry-After: 1 (repeatable; default none)")
    parser.add_argument("--parallelization", type=int, default=None,
                        help="batches of the shard in flight at once (ParallelizationFactor, 1 to 10; default the template's)")
    parser.add_argument("--types", default=DEFAULT_TYPES,
                        help=f"integration types, round-robin (default {DEFAULT_TYPES}; any of {', '.join(TYPES)})")
    parser.add_argument("--time-limit", type=float, default=None,
                        help="seconds (default: the template's MaximumRecordAgeInSeconds)")
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    args = parser.parse_args()
    if args.records < 1:
        parser.error("--records must be at least 1")
    types = [t.strip() for t in args.types.split(",") if t.strip()]
    if not types or any(t not in TYPES for t in types):
        parser.error(f"--types: each one of {', '.join(TYPES)}")
    if not REVOKER.exists():
        sys.exit(f"bench-revoker: {REVOKER} is missing: run `make bench-revoker`")
    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB", "")
    if urlparse(endpoint).hostname not in LOCAL_HOSTS:
        sys.exit("bench-revoker: AWS_ENDPOINT_URL_DYNAMODB is not local; source scripts/lib/env.sh")

    settings = template_settings(args.template)
    parallelization = args.parallelization or settings["parallelization"]
    if not 1 <= parallelization <= 10:
        parser.error("--parallelization: 1 to 10 (Lambda's range)")
    time_limit = args.time_limit or (settings["max_age"] if settings["max_age"] > 0 else 86_400)
    give_up_after = float(settings["variables"].get("REVOKE_GIVE_UP_AFTER_SECONDS", 3000))
    region = os.environ.get("AWS_REGION", "us-east-1")
    ddb = boto3.client("dynamodb", region_name=region)
    secrets = boto3.client("secretsmanager", region_name=region)
    run = uuid.uuid4().hex[:12]
    table, secret_id = f"bench-revoker-{run}", f"bench/revoke-credentials-{run}"

    create_table(ddb, table, table_definition(args.template))
    functions: list[Function] = []
    stub = None
    try:
        secrets.create_secret(Name=secret_id, SecretString=json.dumps(DEMO_REVOKE_CREDENTIALS))
        stream_arn = ddb.describe_table(TableName=table)["Table"].get("LatestStreamArn") or \
            f"arn:aws:dynamodb:{region}:000000000000:table/{table}/stream/bench"
        started = time.monotonic()
        records = seed(table, stream_arn, args.records, types, region)
        created = records[0]["dynamodb"]["ApproximateCreationDateTime"]
        integrations = math.ceil(args.records / 2)
        by_type = collections.Counter(types[i % len(types)] for i in range(integrations))
        log(f"seeded {integrations:,} disconnect markers ({', '.join(f'{t} {n:,}' for t, n in by_type.items())}) "
            f"and {len(records):,} token removals in {time.monotonic() - started:.1f} s")

        stub = Stub(args.latency_ms, args.rate_429)
        env = function_env(settings, table, secret_id, stub.url)
        functions = [Function(env, settings["timeout"]) for _ in range(parallelization)]
        cpu_after_init = sum(f.cpu_seconds() for f in functions)
        rates = ", ".join(f"{p} {f:g}" for p, f in args.rate_429) or "none"
        binary = REVOKER.relative_to(ROOT) if REVOKER.is_relative_to(ROOT) else f"BENCH_REVOKER ({REVOKER.name})"
        log(f"{binary}: one shard, batches of "
            f"{settings['batch_size']} ({FUNCTION_RESOURCE}.Events.{settings['event']}), parallelization {parallelization}, "
            f"deadline {settings['timeout']:.0f} s, retries {settings['max_retries']}; stub latency {args.latency_ms} ms, "
            f"429s: {rates}; time limit {time_limit:.0f} s")

        mapping = Mapping(records, parallelization, settings["batch_size"], settings["max_retries"],
                          time.monotonic() + time_limit)
        mapping.run(functions)
        cpu = sum(f.cpu_seconds() for f in functions) - cpu_after_init
        rss = max([f.rss for f in functions] + [bench.peak_rss_mib(f.process.pid) for f in functions
                                                if f.process.poll() is None])
        for f in functions:
            f.stop()
        stub.stop()
        documents = [d for f in functions for d in f.lines()]
        markers = read_markers(ddb, table)
        summary = summarise(records, mapping, markers, give_up_after, created)
        return report(args, records, mapping, markers, summary, stub, documents, cpu, rss, functions)
    finally:
        for f in functions:
            f.stop()
        if stub:
            stub.stop()
        ddb.delete_table(TableName=table)
        try:
            secrets.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)
        except Exception:  # noqa: BLE001  (the secret may not have been made)
            pass


def report(args, records, mapping: Mapping, markers, summary, stub: Stub, documents, cpu, rss, functions) -> int:
    counts, reasons = summary["counts"], summary["failed_reasons"]
    total = len(records)
    finished = len(mapping.finished)
    drained = finished == total
    drain = (mapping.last_at - mapping.first_at) if mapping.last_at and mapping.first_at else 0.0
    rate = finished / drain if drain > 0 else 0.0
    state = "drained" if drained else f"NOT drained ({total - finished:,} records unfinished, {len(mapping.dropped):,} dropped)"
    print()
    print(f"{state}: {finished:,}/{total:,} records in {drain:.1f} s: {rate:.2f} records/s "
          f"(latency {args.latency_ms} ms, parallelization {len(mapping.lanes)})")
    print(f"invocations: {mapping.invocations:,}; duration p50 {percentile(mapping.durations, 50):.2f} s, "
          f"p99 {percentile(mapping.durations, 99):.2f} s, max {max(mapping.durations, default=0):.2f} s; "
          f"failed invocations {sum(mapping.errors.values())}"
          + (f" ({', '.join(f'{k}: {n}' for k, n in mapping.errors.items())})" if mapping.errors else "")
          + f"; process restarts {sum(f.restarts for f in functions)}")
    print(f"records handed back: {mapping.handed_back:,} by {mapping.handing_back:,} invocations "
          f"(records resent from the first of each: {mapping.resent:,}); "
          f"noted on the markers: {markers['noted'][A.REVOCATION_RETRIES]:,} failed deliveries, "
          f"{markers['noted'][A.REVOCATION_REFRESHES]:,} TikTok refreshes")
    print("outcomes (from the markers):")
    rows = [
        ("revoked", counts["revoked"]),
        ("  of them via another token", counts["revoked via"]),
        ("unconfirmed", counts["unconfirmed"]),
        ("unsupported", counts["unsupported"]),
        ("shared_grant", counts["shared_grant"]),
        ("failed", counts["failed"]),
        ("  of them given up", counts["given up"]),
        ("  of them given up for its age", counts["given up for its age"]),
        ("no outcome, finished", counts["no outcome, finished"]),
        ("no outcome, not finished", counts["no outcome, not finished"]),
        ("more than one entry", counts["more than one entry"]),
    ]
    known = {"revoked", "unconfirmed", "unsupported", "shared_grant", "failed"}
    rows += [(name, n) for name, n in counts.items()
             if name not in known and not name.startswith(("revoked via", "given up", "no outcome", "more than"))]
    for name, n in rows:
        print(f"  {name:<32} {n:>8,}")
    for reason, n in reasons.most_common(10):
        print(f"    failed: {reason or '(no reason)'}: {n:,}")
    calls = collections.defaultdict(collections.Counter)
    for (platform, status), n in stub.answers.items():
        calls[platform][status] += n
    answered = sum(sum(c.values()) for c in calls.values())
    print(f"platform calls (the stub's answers): {answered:,}, {answered / total:.2f} a record" + (": " if calls else "") + "; ".join(
        f"{p} {sum(c.values()):,}" + (f" ({c[429]:,} 429)" if c[429] else "") for p, c in sorted(calls.items())))
    metrics = emf_metrics(documents)
    print("the function's metrics: " + (", ".join(f"{k} {v:,.0f}" for k, v in sorted(metrics.items())) or "none"))
    for (level, message, reason), n in logged(documents).most_common(5):
        print(f"  log {level} {message}{': ' + reason if reason else ''} x{n:,}")
    print(f"CPU of the function: {cpu:.1f} s ({cpu / max(finished, 1) * 1e3:.2f} ms a record); peak RSS {rss:.1f} MiB")

    problems = []
    if counts["given up for its age"]:
        problems.append(f"{counts['given up for its age']:,} records given up for their age")
    if not drained:
        problems.append("the drain did not finish")
    if counts["no outcome, finished"] or counts["more than one entry"]:
        problems.append("finished records without exactly one outcome on their marker")
    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Lambda's event source mapping for the table's stream, locally, for `make dev`.

    .tools/venv/bin/python scripts/local/stream-poller.py --invoke-url URL [--template template.yaml]

Reads DynamoDB Local's stream of $TABLE_NAME (DescribeStream, GetShardIterator LATEST at start,
GetRecords every --interval seconds), keeps the records the template's filter keeps, and sends
them, in order and in batches, as Lambda's DynamoDB stream event ({"Records": [...]}, attribute
values as DynamoDB JSON) to URL: revoke-tokens under `cargo lambda watch`, at
http://127.0.0.1:$REVOKE_WATCH_PORT/2015-03-31/functions/revoke-tokens/invocations. Like Lambda
with ReportBatchItemFailures, it sends a batch again from the first record the answer names
(after --retry-delay seconds, up to the template's MaximumRetryAttempts or --max-retries times),
then gives up on the rest of it. (Batching windows, bisection and record age are not played.)

Filter, batch size and retries come from the DynamoDB event of RevokeTokensFunction in
template.yaml; the filter is evaluated by moto's EventBridge pattern matcher (Lambda's filter
patterns are EventBridge patterns). One line per batch: the keys of its records (never a token or any
other attribute) and the answer.

DynamoDB's endpoint comes from AWS_ENDPOINT_URL_DYNAMODB and must be local.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import re
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from moto.events.models import EventPattern
from moto.events.exceptions import InvalidEventPatternException

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
from seed import LOCAL_HOSTS, CfnLoader  # noqa: E402
from table import A  # noqa: E402  (the table's attribute names)

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_RESOURCE = "RevokeTokensFunction"
# Lambda's defaults for a stream event source mapping without BatchSize / MaximumRetryAttempts.
DEFAULT_BATCH_SIZE = 100
# Lambda retries a stream batch until the record expires (-1); locally, a bounded number.
DEFAULT_MAX_RETRIES = 5
# How often the stream's shards are listed again (new shards, a recreated table).
REDISCOVER_SECONDS = 5.0


def log(message: str) -> None:
    print(f"poller: {message}", flush=True)


# --- the template's event source mapping ---------------------------------------------------


def stream_mapping(template: Path) -> dict:
    """Filters, batch size and retries of the template's stream event for revoke-tokens."""
    try:
        resources = yaml.load(template.read_text(), Loader=CfnLoader).get("Resources") or {}  # noqa: S506
        events = resources[FUNCTION_RESOURCE]["Properties"]["Events"]
        name, event = next((n, e) for n, e in events.items() if e.get("Type") == "DynamoDB")
    except (OSError, yaml.YAMLError, AttributeError, KeyError, TypeError, StopIteration) as err:
        sys.exit(f"poller: {template.name} has no DynamoDB event of {FUNCTION_RESOURCE} ({err.__class__.__name__})")
    props = event.get("Properties") or {}
    try:
        patterns = [f["Pattern"] for f in (props.get("FilterCriteria") or {}).get("Filters") or []]
        filters = [EventPattern.load(p) for p in patterns]
    except (KeyError, TypeError, InvalidEventPatternException) as err:
        sys.exit(f"poller: {FUNCTION_RESOURCE}.{name}'s FilterCriteria is not a literal pattern ({err})")
    batch_size = props.get("BatchSize", DEFAULT_BATCH_SIZE)
    max_retries = props.get("MaximumRetryAttempts")
    return {
        "filters": filters,  # empty: no filter, every record
        "patterns": patterns,  # the template's text of each, for the log
        "batch_size": batch_size if isinstance(batch_size, int) and batch_size > 0 else DEFAULT_BATCH_SIZE,
        "max_retries": max_retries if isinstance(max_retries, int) and max_retries >= 0 else None,
        "source": f"template.yaml {FUNCTION_RESOURCE}.Events.{name}",
    }


# --- the template's disconnect-event Pipe (shown, not delivered: no EventBridge locally) -----
def pipe_mapping(template: Path):
    """DisconnectEventPipe's filters and input template, or None."""
    try:
        resources = yaml.load(template.read_text(), Loader=CfnLoader).get("Resources") or {}  # noqa: S506
        props = resources["DisconnectEventPipe"]["Properties"]
        filters = [
            EventPattern.load(f["Pattern"]) for f in props["SourceParameters"]["FilterCriteria"]["Filters"]
        ]
        return {"filters": filters, "input_template": props["TargetParameters"]["InputTemplate"]}
    except (KeyError, TypeError, ValueError, OSError, InvalidEventPatternException):
        return None


def render(input_template: str, record: dict):
    """The Pipe's input transformation for `<$.a.b>` placeholders (the subset the template uses)."""
    def value(path: str):
        node = record
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    text = re.sub(r"<\$\.([A-Za-z0-9_.]+)>", lambda m: str(value(m.group(1)) or ""), input_template)
    try:
        return json.loads(text)
    except ValueError:
        return text


# --- Lambda's event filtering ---------------------------------------------------------------
# Lambda's filter patterns are EventBridge patterns; moto's EventBridge matcher (the one the
# tests' disconnect-event check goes through) evaluates them.


def kept(filters: list, record: dict) -> bool:
    return not filters or any(f.matches_event(record) for f in filters)


# --- the stream ----------------------------------------------------------------------------


def lambda_record(record: dict, stream_arn: str) -> dict:
    """A GetRecords record as Lambda's DynamoDB event carries it: JSON values only (boto3's
    datetime ApproximateCreationDateTime as epoch seconds), which the filter matcher needs too."""
    out = {k: v for k, v in record.items() if k != "ResponseMetadata"}
    out["eventSourceARN"] = stream_arn
    return json.loads(json.dumps(out, default=to_json))


def to_json(value):
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def describe_keys(records: list) -> str:
    def key(record):
        keys = record.get("dynamodb", {}).get("Keys", {})
        pk = next(iter(keys.get(A.PK, {}).values()), "?")
        sk = next(iter(keys.get(A.SK, {}).values()), "?")
        return f"{record.get('eventName')} {pk} {sk}"

    shown = ", ".join(key(r) for r in records[:4])
    return shown + (f", and {len(records) - 4} more" if len(records) > 4 else "")


class Poller:
    def __init__(self, args, mapping: dict):
        endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or sys.exit(
            "poller: AWS_ENDPOINT_URL_DYNAMODB is not set; source scripts/lib/env.sh"
        )
        if urlparse(endpoint).hostname not in LOCAL_HOSTS:
            sys.exit(f"poller: AWS_ENDPOINT_URL_DYNAMODB={endpoint} is not local; refusing to read it")
        region = os.environ.get("AWS_REGION", "us-east-1")
        config = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=2, read_timeout=10)
        self.ddb = boto3.client("dynamodb", region_name=region, endpoint_url=endpoint, config=config)
        self.streams = boto3.client("dynamodbstreams", region_name=region, endpoint_url=endpoint, config=config)
        self.table = args.table
        self.invoke_url = args.invoke_url
        self.interval = args.interval
        self.retry_delay = args.retry_delay
        if args.max_retries is not None:
            self.max_retries = args.max_retries
        elif mapping["max_retries"] is not None:
            self.max_retries = mapping["max_retries"]
        else:
            self.max_retries = DEFAULT_MAX_RETRIES
        self.filters = mapping["filters"]
        self.patterns = mapping["patterns"]
        self.pipe = pipe_mapping(args.template)
        self.source = mapping["source"]
        self.batch_size = mapping["batch_size"]
        self.stream_arn = None
        self.iterators: dict = {}  # shard id -> iterator (None once the shard is closed)
        self.last_discovery = 0.0
        # No proxy for loopback, whatever the environment says.
        self.http = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def latest_stream_arn(self):
        return self.ddb.describe_table(TableName=self.table)["Table"].get("LatestStreamArn")

    def shards(self, stream_arn: str) -> list:
        shards, kwargs = [], {"StreamArn": stream_arn}
        while True:
            desc = self.streams.describe_stream(**kwargs)["StreamDescription"]
            shards.extend(desc.get("Shards", []))
            last = desc.get("LastEvaluatedShardId")
            if not last:
                return shards
            kwargs["ExclusiveStartShardId"] = last

    def iterator(self, shard_id: str, kind: str):
        return self.streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=kind
        )["ShardIterator"]

    def discover(self, first: bool) -> None:
        """Follows the table's current stream and its shards. At the start, open shards are read
        from LATEST; a shard or a stream that appears later (a recreated table), from its start."""
        self.last_discovery = time.monotonic()
        try:
            arn = self.latest_stream_arn()
        except ClientError as err:
            if err.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            arn = None
        if not arn:
            if self.stream_arn or first:
                log(f"table {self.table} is missing or has no stream; `make seed` creates it with the template's")
            self.stream_arn, self.iterators = None, {}
            return
        if arn != self.stream_arn:
            if not first:
                log(f"table {self.table} has a new stream; reading it from its start")
            self.stream_arn, self.iterators = arn, {}
        for shard in self.shards(arn):
            shard_id = shard["ShardId"]
            if shard_id in self.iterators:
                continue
            closed = "EndingSequenceNumber" in shard.get("SequenceNumberRange", {})
            if first:
                # At the start: only what happens from now on.
                self.iterators[shard_id] = None if closed else self.iterator(shard_id, "LATEST")
            else:
                self.iterators[shard_id] = self.iterator(shard_id, "TRIM_HORIZON")
        if first:
            open_shards = sum(1 for it in self.iterators.values() if it)
            log(f"reading the stream of table {self.table} from LATEST ({open_shards} open shard(s))")

    def poll_once(self) -> None:
        if time.monotonic() - self.last_discovery >= REDISCOVER_SECONDS:
            self.discover(first=False)
        for shard_id, it in list(self.iterators.items()):
            if not it:
                continue
            try:
                page = self.streams.get_records(ShardIterator=it, Limit=1000)
            except ClientError as err:
                code = err.response["Error"]["Code"]
                if code == "ExpiredIteratorException":
                    log(f"shard {shard_id}: iterator expired; reading on from LATEST")
                    self.iterators[shard_id] = self.iterator(shard_id, "LATEST")
                elif code == "TrimmedDataAccessException":
                    self.iterators[shard_id] = self.iterator(shard_id, "TRIM_HORIZON")
                elif code == "ResourceNotFoundException":
                    self.stream_arn, self.iterators = None, {}
                    return
                else:
                    raise
                continue
            self.iterators[shard_id] = page.get("NextShardIterator")
            records = [lambda_record(r, self.stream_arn) for r in page.get("Records", [])]
            if not self.iterators[shard_id]:
                self.last_discovery = 0.0  # closed: look for its children now
            for record in records:
                if self.pipe and kept(self.pipe["filters"], record):
                    event = render(self.pipe["input_template"], record)
                    log(f"disconnect event (as DisconnectEventPipe would put it on the bus): {json.dumps(event)}")
            selected = [r for r in records if kept(self.filters, r)]
            for start in range(0, len(selected), self.batch_size):
                self.deliver(selected[start : start + self.batch_size])

    def invoke(self, records: list):
        body = json.dumps({"Records": records}).encode()
        request = urllib.request.Request(
            self.invoke_url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with self.http.open(request, timeout=300) as answer:
                text = answer.read().decode("utf-8", "replace")
                function_error = answer.headers.get("X-Amz-Function-Error")
        except urllib.error.HTTPError as err:
            return None, f"HTTP {err.code}: {err.read()[:300].decode('utf-8', 'replace')}"
        except (urllib.error.URLError, OSError) as err:
            return None, f"not reachable ({getattr(err, 'reason', err)}); is the consumer's watch up?"
        try:
            answer = json.loads(text)
        except ValueError:
            return None, f"not JSON: {text[:300]}"
        if function_error or (isinstance(answer, dict) and "errorMessage" in answer):
            return None, f"function error: {text[:300]}"
        return answer, text

    def deliver(self, records: list) -> None:
        """Sends a batch, and again from the first failed record, as Lambda does."""
        attempt = 0
        while records:
            answer, text = self.invoke(records)
            what = f"{len(records)} record(s) [{describe_keys(records)}]"
            if answer is None:
                failed_at = 0
                log(f"{what} -> revoke-tokens failed: {text}")
            else:
                log(f"{what} -> revoke-tokens answered {text.strip()}")
                ids = [f.get("itemIdentifier") for f in answer.get("batchItemFailures") or [] if isinstance(f, dict)]
                if not ids:
                    return
                sequence = [r.get("dynamodb", {}).get("SequenceNumber") for r in records]
                positions = [sequence.index(i) for i in ids if i in sequence]
                failed_at = min(positions) if positions else 0
            attempt += 1
            if attempt > self.max_retries:
                log(
                    f"gave up on {len(records) - failed_at} record(s) after {self.max_retries} retries "
                    "(deployed, they would go to the mapping's on-failure destination)"
                )
                return
            records = records[failed_at:]
            time.sleep(self.retry_delay)

    def run(self) -> None:
        filters = "none, every record" if not self.patterns else " or ".join(self.patterns)
        log(
            f"filter ({self.source}): {filters}; batches of up to {self.batch_size}, "
            f"{self.max_retries} retries, to {self.invoke_url}"
        )
        down = False
        first = True
        while True:
            try:
                if first:
                    self.discover(first=True)
                    first = False
                self.poll_once()
                if down:
                    log("reading the stream works again")
                    down = False
            except (BotoCoreError, ClientError) as err:
                # Keep the iterators: an expired one is renewed, a deleted table rediscovered.
                if not down:
                    log(f"reading the stream failed ({err.__class__.__name__}: {err}); retrying")
                    down = True
            time.sleep(self.interval)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoke-url", required=True, help="the consumer's Lambda Invoke URL")
    parser.add_argument("--table", default=os.environ.get("TABLE_NAME"))
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between GetRecords rounds")
    parser.add_argument("--retry-delay", type=float, default=1.0)
    parser.add_argument(
        "--max-retries", type=int, help=f"default: the template's MaximumRetryAttempts, else {DEFAULT_MAX_RETRIES}"
    )
    args = parser.parse_args()
    if not args.table:
        sys.exit("poller: TABLE_NAME is not set; source scripts/lib/env.sh")
    mapping = stream_mapping(args.template)
    try:
        Poller(args, mapping).run()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

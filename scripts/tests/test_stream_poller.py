#!/usr/bin/env python3
"""Tests of scripts/local/stream-poller.py (`make dev`'s event source mapping), run by `make test`.

The poller runs as a child process, as `make dev` runs it, against DynamoDB Local (the services
`make test` starts; AWS_ENDPOINT_URL_DYNAMODB from scripts/lib/env.sh), each test on its own
table made from template.yaml. A stand-in for revoke-tokens' Invoke URL records what arrives and
answers as the test scripts it. Needs the tools venv (boto3, moto): .tools/venv/bin/python.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import unittest
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

SCRIPTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SCRIPTS))
sys.path.insert(0, str(SCRIPTS / "lib"))
from seed import CfnLoader, create_table, table_definition  # noqa: E402
from table import A  # noqa: E402  (the table's attribute names)

ROOT = SCRIPTS.parent
POLLER = SCRIPTS / "local" / "stream-poller.py"
# Never printed by the poller: its lines name keys only.
TOKEN_CANARY = "canary-token-value-7f3a9c"
WAIT = 30.0


class InvokeStandIn:
    """An Invoke URL that records each batch and answers from a script (then: no failures)."""

    def __init__(self) -> None:
        self.batches: queue.Queue = queue.Queue()
        self.answers: list = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                records = body["Records"]
                answer = outer.answers.pop(0)(records) if outer.answers else {"batchItemFailures": []}
                outer.batches.put(records)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/2015-03-31/functions/revoke-tokens/invocations"

    def next_batch(self, timeout: float = WAIT) -> list:
        return self.batches.get(timeout=timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class PollerTest(unittest.TestCase):
    def setUp(self) -> None:
        endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
        if not endpoint:
            self.fail("AWS_ENDPOINT_URL_DYNAMODB is not set: run through `make test` (scripts/run.sh)")
        self.ddb = boto3.client("dynamodb", region_name=os.environ.get("AWS_REGION", "us-east-1"), endpoint_url=endpoint)
        self.table = f"poller-test-{uuid.uuid4().hex[:10]}"
        create_table(self.ddb, self.table, table_definition(ROOT / "template.yaml"))
        self.addCleanup(self.ddb.delete_table, TableName=self.table)
        self.invoke = InvokeStandIn()
        self.addCleanup(self.invoke.close)
        self.lines: list = []
        self.proc = subprocess.Popen(
            [sys.executable, "-u", str(POLLER), "--invoke-url", self.invoke.url, "--table", self.table,
             "--interval", "0.2", "--retry-delay", "0.2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.addCleanup(self.stop_poller)
        threading.Thread(target=self.read_output, daemon=True).start()
        self.wait_for_line(f"reading the stream of table {self.table} from LATEST")

    def read_output(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop_poller(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, text: str) -> str:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            found = next((line for line in self.lines if text in line), None)
            if found:
                return found
            if self.proc.poll() is not None:
                time.sleep(0.2)  # the reader's last lines
                self.fail(f"the poller exited ({self.proc.returncode}) before {text!r}:\n{self.output()}")
            time.sleep(0.1)
        self.fail(f"no poller line with {text!r} in {WAIT} s:\n{self.output()}")

    def assert_clean_output(self) -> None:
        self.assertIsNone(self.proc.poll(), f"the poller exited:\n{self.output()}")
        self.assertNotIn("Traceback", self.output())
        self.assertNotIn(TOKEN_CANARY, self.output())

    def put(self, item: dict) -> None:
        self.ddb.put_item(TableName=self.table, Item={k: {"S": v} for k, v in item.items()})

    def delete(self, pk: str, sk: str) -> None:
        self.ddb.delete_item(TableName=self.table, Key={A.PK: {"S": pk}, A.SK: {"S": sk}})

    @staticmethod
    def template_source() -> dict:
        """The revoker's event source mapping, as template.yaml sets it."""
        import yaml

        template = yaml.load((ROOT / "template.yaml").read_text(), Loader=CfnLoader)
        return template["Resources"]["RevokeTokensFunction"]["Properties"]["Events"]["TokenRemovals"]["Properties"]

    def test_the_startup_line_shows_the_templates_filter_and_settings(self):
        line = self.wait_for_line("filter (template.yaml RevokeTokensFunction.Events.TokenRemovals)")
        self.assertIn('{"prefix": "TOKEN#"}', line)
        source = self.template_source()
        self.assertIn(
            f"batches of up to {source['BatchSize']}, {source['MaximumRetryAttempts']} retries", line
        )
        self.assert_clean_output()

    def test_only_a_token_removal_reaches_the_function_as_lambdas_stream_event(self):
        pk = "INTEGRATION#int_poller_1"
        self.put({A.PK: pk, A.SK: "INTEGRATION", A.ID: "int_poller_1", A.ACCOUNT_ID: "acct_p", A.TYPE: "youtube"})
        self.put({A.PK: pk, A.SK: "TOKEN#access", A.TOKEN: TOKEN_CANARY, A.TOKEN_TYPE: "access_token"})
        self.delete(pk, "INTEGRATION")  # a removal, but not of a token: filtered out
        self.delete(pk, "TOKEN#access")
        records = self.invoke.next_batch()
        self.assertEqual([r["dynamodb"]["Keys"][A.SK]["S"] for r in records], ["TOKEN#access"])
        record = records[0]
        self.assertEqual(record["eventName"], "REMOVE")
        self.assertEqual(record["dynamodb"]["OldImage"][A.TOKEN]["S"], TOKEN_CANARY)
        # Lambda's event carries epoch seconds here, not boto3's datetime.
        self.assertIsInstance(record["dynamodb"]["ApproximateCreationDateTime"], (int, float))
        stream_arn = self.ddb.describe_table(TableName=self.table)["Table"]["LatestStreamArn"]
        self.assertEqual(record["eventSourceARN"], stream_arn)
        self.wait_for_line("-> revoke-tokens answered")
        # Nothing else arrives: the INSERTs and the INTEGRATION removal stay filtered out.
        with self.assertRaises(queue.Empty):
            self.invoke.next_batch(timeout=2.0)
        self.assert_clean_output()

    def test_a_batch_goes_again_from_the_first_record_the_answer_names(self):
        pk = "INTEGRATION#int_poller_2"
        for sk in ("TOKEN#access", "TOKEN#refresh"):
            self.put({A.PK: pk, A.SK: sk, A.TOKEN: TOKEN_CANARY, A.TOKEN_TYPE: "access_token"})
        named = []

        def fail_the_last(records):
            named.append([r["dynamodb"]["SequenceNumber"] for r in records])
            return {"batchItemFailures": [{"itemIdentifier": named[0][-1]}]}

        self.invoke.answers.append(fail_the_last)
        self.ddb.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": self.table, "Key": {A.PK: {"S": pk}, A.SK: {"S": sk}}}}
                for sk in ("TOKEN#access", "TOKEN#refresh")
            ]
        )
        first = self.invoke.next_batch()
        # Both removals in one batch, the answer naming the second: a poller that went again
        # from the batch's first record (failed_at 0) would send the first one again.
        self.assertEqual(len(first), 2, "one transaction's two removals, in one batch")
        self.assertEqual(len(named[0]), 2)
        again = self.invoke.next_batch()
        self.assertEqual([r["dynamodb"]["SequenceNumber"] for r in again], [named[0][1]])
        self.assert_clean_output()

    def test_a_marker_insert_shows_the_disconnect_event_the_pipe_would_put_on_the_bus(self):
        self.put({
            A.PK: "INTEGRATION#int_poller_3", A.SK: "DISCONNECTED", A.ID: "int_poller_3", A.ACCOUNT_ID: "acct_p",
            A.TYPE: "tiktok", A.DISCONNECTED_AT: "2026-12-06T12:00:00Z", A.REASON: "integration_disconnected",
        })
        line = self.wait_for_line("disconnect event (as DisconnectEventPipe would put it on the bus)")
        event = json.loads(line.split("bus): ", 1)[1])
        self.assertEqual(event["integrationId"], "int_poller_3")
        self.assertEqual(event["type"], "tiktok")
        self.assertEqual(event["reason"], "integration_disconnected")
        self.assert_clean_output()


if __name__ == "__main__":
    unittest.main(verbosity=2)

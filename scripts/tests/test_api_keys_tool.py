#!/usr/bin/env python3
"""Tests of scripts/api-keys.py: API keys spread over Secrets Manager secrets ("units").

Against the local Secrets Manager (scripts/local/secrets-manager.py: moto with AWS's 65,536-byte
cap) as a child process on a free 127.0.0.1 port of its own (stand_in.py). The tool runs as a
child process, as an operator runs it, with AWS_ENDPOINT_URL_SECRETS_MANAGER pointing at the
stand-in and dummy credentials; the key goes in on stdin, never in argv or the environment, and
every run checks that no key of the test shows in its stdout or stderr. The compare-and-set is
tested in-process, with a second writer slipped in between its read and its write. Each test
works under a prefix of its own. Needs the tools venv (boto3, moto):

    .tools/venv/bin/python scripts/tests/test_api_keys_tool.py
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import unittest
import uuid
from pathlib import Path
from types import ModuleType

import stand_in
from terminal import read_terminal

stand_in.isolate_aws()  # nothing from the calling shell's AWS setup may reach boto3

SCRIPT = Path(__file__).resolve().parents[1] / "api-keys.py"
LIMIT = 65536
# (key, units, unit): the same vectors as the function's own test (src/api_keys).
VECTORS = [
    ("demo-key-0123456789", 320, 100),
    ("another-test-key-abcdef", 320, 269),
    ("kkkkkkkkkkkkkkkkkkkk", 2, 1),
    ("zzzzzzzzzzzzzzzzzz", 10000, 6835),
    ("demo-key-0123456789", 1, 0),
]


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("api_keys_tool", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def sha256(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def expected_unit(key_or_hash: str, units: int) -> int:
    """The function's rule, written out again here: the test's own oracle, not the tool's code."""
    digest = bytes.fromhex(key_or_hash) if len(key_or_hash) == 64 else hashlib.sha256(key_or_hash.encode()).digest()
    return (int.from_bytes(digest[:4], "big") * units) >> 32


def unit_id(prefix: str, unit: int, units: int) -> str:
    return prefix if units == 1 else f"{prefix}/{unit:04}"


def entry(key: str, account: str = "acct_test", name: str = "test", **extra) -> dict:
    return {"sha256": sha256(key), "accountId": account, "name": name, **extra}




class ApiKeysTool(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.server = stand_in.start()
        cls.addClassCleanup(cls.server.stop)
        cls.client = cls.server.client()
        cls.env = cls.server.environment()
        cls.tool = load_tool()

    def setUp(self) -> None:
        # A prefix of the test's own, so that the tests share nothing.
        self.prefix = f"test/{self._testMethodName[5:45]}-{uuid.uuid4().hex[:8]}"
        self.keys: list[str] = []  # every key of the test: none may show in the tool's output

    def new_key(self, label: str = "key") -> str:
        key = f"{label}-{uuid.uuid4().hex}"
        self.keys.append(key)
        return key

    # --- the tool as a child process ---------------------------------------------------------

    def run_tool(self, *args: str, key: str | None = None, expect: int | None = 0) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, str(SCRIPT), *args],
            input="" if key is None else key + "\n",
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            start_new_session=True,  # no controlling terminal: the key comes from stdin
        )
        for each in self.keys:
            self.assertNotIn(each, result.stdout)
            self.assertNotIn(each, result.stderr)
        if expect is not None:
            self.assertEqual(result.returncode, expect, f"{args}:\n{result.stdout}\n{result.stderr}")
        return result

    def layout_args(self, units: int, prefix: str | None = None) -> list[str]:
        return ["--prefix", prefix or self.prefix, "--units", str(units)]

    def init(self, units: int, prefix: str | None = None) -> dict:
        return json.loads(self.run_tool("init", *self.layout_args(units, prefix)).stdout)

    def add(
        self,
        key: str,
        units: int,
        *more: str,
        prefix: str | None = None,
        expect: int = 0,
        account: str = "acct_test",
        name: str = "test",
    ) -> subprocess.CompletedProcess:
        return self.run_tool(
            "add", *self.layout_args(units, prefix), "--account", account, "--name", name, *more, key=key, expect=expect
        )

    # --- the secrets, read directly ----------------------------------------------------------

    def value(self, secret_id: str) -> dict:
        text = self.client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")["SecretString"]
        return json.loads(text)

    def current(self, secret_id: str) -> tuple[str, str]:
        response = self.client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
        return response["VersionId"], response["SecretString"]

    def entries_of(self, secret_id: str, key: str) -> list[dict]:
        return [e for e in self.value(secret_id)["keys"] if e.get("sha256") == sha256(key)]

    def layout_keys(self, prefix: str, units: int) -> dict[str, list[dict]]:
        return {unit_id(prefix, u, units): self.value(unit_id(prefix, u, units))["keys"] for u in range(units)}

    def create(self, secret_id: str, keys: list[dict]) -> str:
        return self.client.create_secret(Name=secret_id, SecretString=json.dumps({"keys": keys}))["ARN"]

    # --- units -------------------------------------------------------------------------------

    def test_units_are_the_ones_the_function_computes(self):
        for key, units, unit in VECTORS:
            with self.subTest(key=key, units=units):
                digest = hashlib.sha256(key.encode("utf-8")).digest()
                self.assertEqual(expected_unit(key, units), unit)
                self.assertEqual(self.tool.unit_of(digest, units), unit)
                layout = self.tool.Layout("p", units)
                self.assertEqual(layout.unit_of_hash(digest.hex()), unit)
                self.assertEqual(layout.secret_id(unit), "p" if units == 1 else f"p/{unit:04}")
        self.assertEqual(self.tool.unit_secret_id("prod/api-keys", 7, 320), "prod/api-keys/0007")
        arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:keys-AbCdEf"
        self.assertEqual(self.tool.unit_secret_id(arn, 0, 1), arn)

    def test_a_layout_of_several_units_needs_a_name_prefix_and_1_to_10000_units(self):
        arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:keys-AbCdEf"
        result = self.run_tool("list", "--prefix", arn, "--units", "2", expect=2)
        self.assertIn("--prefix: with more than one unit it is a secret name prefix, not an ARN", result.stderr)
        result = self.run_tool("remove", *self.layout_args(2), "--previous-units", "1", "--sha256", "0" * 64, expect=2)
        self.assertIn("--previous-prefix is empty", result.stderr)
        for units in ("0", "10001"):
            self.run_tool("list", "--prefix", self.prefix, "--units", units, expect=2)
        result = self.run_tool("init", *self.layout_args(1), expect=2)
        self.assertIn("the stack's own", result.stderr)

    def test_init_creates_every_unit_once_and_can_run_again(self):
        self.assertEqual(self.init(4)["created"], 4)
        again = self.init(4)
        self.assertEqual((again["created"], again["existing"]), (0, 4))
        for unit in range(4):
            secret_id = unit_id(self.prefix, unit, 4)
            self.assertEqual(self.value(secret_id), {"keys": []})
            description = self.client.describe_secret(SecretId=secret_id)["Description"]
            self.assertIn(f"unit {unit:04}, one of 4", description)
        tagged = f"{self.prefix}-tagged"
        self.run_tool("init", *self.layout_args(2, tagged), "--tag", "team=platform", "--kms-key-id", "alias/test")
        described = self.client.describe_secret(SecretId=f"{tagged}/0001")
        self.assertEqual(described["Tags"], [{"Key": "team", "Value": "platform"}])
        self.assertEqual(described["KmsKeyId"], "alias/test")

    # --- add -----------------------------------------------------------------------------------

    def test_add_puts_the_entry_in_the_unit_the_function_computes(self):
        units = 8
        self.init(units)
        keys = [self.new_key() for _ in range(6)]
        for index, key in enumerate(keys):
            more = ["--scope", "integrations:read"] if index == 0 else []
            out = json.loads(self.add(key, units, *more, name=f"key {index}").stdout)
            secret_id = unit_id(self.prefix, expected_unit(key, units), units)
            self.assertEqual(out, {"secretId": secret_id, "unit": expected_unit(key, units), "sha256": sha256(key)})
        stored = self.layout_keys(self.prefix, units)
        for index, key in enumerate(keys):
            secret_id = unit_id(self.prefix, expected_unit(key, units), units)
            wanted = entry(key, name=f"key {index}", **({"scopes": ["integrations:read"]} if index == 0 else {}))
            self.assertIn(wanted, stored[secret_id])
            elsewhere = [
                other
                for other, listed in stored.items()
                if other != secret_id and any(e["sha256"] == sha256(key) for e in listed)
            ]
            self.assertEqual(elsewhere, [])

    def test_add_writes_the_one_secret_of_a_single_unit_layout_by_name_or_arn(self):
        arn = self.create(self.prefix, [])
        first, second = self.new_key(), self.new_key()
        self.assertEqual(json.loads(self.add(first, 1).stdout)["secretId"], self.prefix)
        self.assertEqual(json.loads(self.add(second, 1, prefix=arn).stdout)["secretId"], arn)
        self.assertEqual(self.value(self.prefix)["keys"], [entry(first), entry(second)])

    def test_a_key_already_listed_is_refused(self):
        self.init(2)
        key = self.new_key()
        self.add(key, 2)
        secret_id = unit_id(self.prefix, expected_unit(key, 2), 2)
        before = self.current(secret_id)
        result = self.add(key, 2, name="again", expect=1)
        self.assertIn("already lists this key", result.stderr)
        self.assertEqual(self.current(secret_id), before)

    def test_a_malformed_key_is_refused_before_anything_is_read(self):
        self.init(2)
        for bad in ("tiny-key-1", "has,a-comma-0123456789", " leading-space-0123456789"):
            with self.subTest(bad=bad):
                self.keys.append(bad)
                result = self.add(bad, 2, expect=2)
                self.assertTrue(result.stderr.strip().splitlines()[-1].startswith("api-keys: the key"), result.stderr)
        self.assertEqual(self.layout_keys(self.prefix, 2), {unit_id(self.prefix, u, 2): [] for u in range(2)})

    def test_generate_shows_the_key_on_the_terminal_only_and_stores_its_hash(self):
        self.init(4)
        master, slave = os.openpty()
        try:
            proc = subprocess.Popen(
                [sys.executable, str(SCRIPT), "add", *self.layout_args(4), "--account", "acct_gen", "--name", "gen"]
                + ["--generate"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=slave,
                env=self.env,
                start_new_session=True,
            )
        finally:
            os.close(slave)
        stdout, _ = proc.communicate(timeout=120)
        terminal = read_terminal(master)
        os.close(master)
        self.assertEqual(proc.returncode, 0, terminal)
        shown = [line.strip() for line in terminal.splitlines() if line.startswith("    ")]
        self.assertEqual(len(shown), 1, terminal)
        key = shown[0]
        self.assertEqual(len(key), 43)
        self.assertNotIn(key, stdout.decode())
        out = json.loads(stdout)
        self.assertEqual(out["sha256"], sha256(key))
        self.assertEqual(out["secretId"], unit_id(self.prefix, expected_unit(key, 4), 4))
        self.assertEqual(self.entries_of(out["secretId"], key), [entry(key, account="acct_gen", name="gen")])

    def test_generate_refuses_when_stderr_is_not_a_terminal_and_writes_nothing(self):
        self.init(2)
        result = self.run_tool("add", *self.layout_args(2), "--account", "a", "--name", "n", "--generate", expect=2)
        self.assertIn("not one; refusing", result.stderr)
        self.assertEqual(self.layout_keys(self.prefix, 2), {unit_id(self.prefix, u, 2): [] for u in range(2)})

    # --- disable, enable, remove ---------------------------------------------------------------

    def test_disable_enable_and_remove_work_by_key_and_by_sha256(self):
        units = 4
        self.init(units)
        key = self.new_key()
        neighbour = self.new_key()
        self.add(key, units)
        self.add(neighbour, units)
        secret_id = unit_id(self.prefix, expected_unit(key, units), units)
        by_hash = ["--sha256", sha256(key).upper()]

        self.run_tool("disable", *self.layout_args(units), key=key)
        self.assertEqual(self.entries_of(secret_id, key), [entry(key, disabled=True)])
        out = json.loads(self.run_tool("disable", *self.layout_args(units), *by_hash).stdout)
        self.assertEqual(out, {"secretId": secret_id, "sha256": sha256(key), "action": "disable", "changed": False})
        self.run_tool("enable", *self.layout_args(units), *by_hash)
        self.assertEqual(self.entries_of(secret_id, key), [entry(key)])
        self.run_tool("disable", *self.layout_args(units), *by_hash)
        self.assertEqual(self.entries_of(secret_id, key), [entry(key, disabled=True)])
        self.run_tool("enable", *self.layout_args(units), key=key)
        self.assertEqual(self.entries_of(secret_id, key), [entry(key)])

        self.run_tool("remove", *self.layout_args(units), key=key)
        self.assertEqual(self.entries_of(secret_id, key), [])
        neighbour_id = unit_id(self.prefix, expected_unit(neighbour, units), units)
        self.assertEqual(self.entries_of(neighbour_id, neighbour), [entry(neighbour)])
        for action in ("remove", "disable", "enable"):
            with self.subTest(action=action):
                result = self.run_tool(action, *self.layout_args(units), key=key, expect=1)
                self.assertIn(f"{action}: the key (sha256 {sha256(key)}) is not listed in {secret_id}", result.stderr)
        self.run_tool("remove", *self.layout_args(units), "--sha256", sha256(neighbour))
        self.assertEqual(self.entries_of(neighbour_id, neighbour), [])
        self.run_tool("remove", *self.layout_args(units), "--sha256", "not-hex", expect=2)

    def test_with_previous_prefix_a_change_reaches_both_layouts(self):
        old = f"{self.prefix}-old"
        both, only_old, only_new = self.new_key(), self.new_key(), self.new_key()
        self.create(old, [entry(both)])
        self.init(4)
        self.run_tool("migrate", *self.layout_args(4), "--from-prefix", old, "--from-units", "1")
        self.add(only_old, 1, prefix=old)  # added the old way during the migration
        self.add(only_new, 4)
        previous = ["--previous-prefix", old, "--previous-units", "1"]
        new_id = unit_id(self.prefix, expected_unit(both, 4), 4)

        self.run_tool("disable", *self.layout_args(4), *previous, key=both)
        self.assertEqual(self.entries_of(new_id, both), [entry(both, disabled=True)])
        self.assertEqual(self.entries_of(old, both), [entry(both, disabled=True)])
        self.run_tool("enable", *self.layout_args(4), *previous, "--sha256", sha256(both))
        self.assertEqual(self.entries_of(new_id, both), [entry(both)])
        self.assertEqual(self.entries_of(old, both), [entry(both)])
        result = self.run_tool("remove", *self.layout_args(4), *previous, key=both)
        self.assertEqual([json.loads(line)["secretId"] for line in result.stdout.splitlines()], [new_id, old])
        self.assertEqual(self.entries_of(new_id, both), [])
        self.assertEqual(self.entries_of(old, both), [])

        # Listed in one layout only: changed there, and the other one is named on stderr.
        result = self.run_tool("remove", *self.layout_args(4), *previous, "--sha256", sha256(only_new))
        self.assertIn(f"previous layout: {old} does not list sha256 {sha256(only_new)}", result.stderr)
        self.run_tool("disable", *self.layout_args(4), *previous, key=only_old)
        self.assertEqual(self.value(old)["keys"], [entry(only_old, disabled=True)])
        # Without --previous-*, the new layout only: not listed there.
        self.run_tool("remove", *self.layout_args(4), key=only_old, expect=1)
        result = self.run_tool("remove", *self.layout_args(4), *previous, key=both, expect=1)
        self.assertIn(f"is listed neither in {new_id} nor in {old}", result.stderr)

    # --- the size limit ------------------------------------------------------------------------

    def fill(self, secret_id: str, size: int) -> None:
        """Puts into a new unit entries of other keys that make its value exactly `size` bytes."""
        keys = []
        while len(json.dumps({"keys": keys + [entry(f"filler-{len(keys)}")]})) <= size - 20:
            keys.append(entry(f"filler-{len(keys)}"))
        keys[-1]["name"] += "x" * (size - len(json.dumps({"keys": keys})))
        text = json.dumps({"keys": keys})
        self.assertEqual(len(text.encode()), size)
        self.client.put_secret_value(SecretId=secret_id, SecretString=text)

    def test_a_unit_that_would_go_over_65536_bytes_is_refused_unchanged_and_the_message_names_migrate(self):
        self.init(2)
        key = self.new_key()
        secret_id = unit_id(self.prefix, expected_unit(key, 2), 2)
        self.fill(secret_id, LIMIT - 60)
        before = self.current(secret_id)
        result = self.add(key, 2, expect=2)
        self.assertIn("over Secrets Manager's limit of 65,536 bytes", result.stderr)
        self.assertIn("migrate --from-prefix", result.stderr)
        self.assertIn("remove disabled or unused entries", result.stderr.lower())
        self.assertEqual(self.current(secret_id), before)

    def test_a_unit_from_80_percent_of_the_limit_is_written_with_a_warning(self):
        self.init(2)
        key = self.new_key()
        secret_id = unit_id(self.prefix, expected_unit(key, 2), 2)
        self.fill(secret_id, 52429)
        result = self.add(key, 2)
        self.assertIn(f"warning: {secret_id} is ", result.stderr)
        self.assertEqual(self.entries_of(secret_id, key), [entry(key)])

    # --- the compare-and-set -------------------------------------------------------------------

    def race(self, secret_id: str, other_writes: int, other_writer) -> tuple[list[int], object]:
        """Runs the tool's write of one entry in-process, with `other_writer` writing to the unit
        between the tool's read and its write, the first `other_writes` times."""
        tool = self.tool
        real_read = tool.read_unit
        reads = []

        def read_then_race(client, read_id):
            unit = real_read(client, read_id)
            reads.append(1)
            if len(reads) <= other_writes:
                other_writer(len(reads))
            return unit

        ours = entry("ours-0123456789abcdef")

        def add_ours(doc: dict) -> bool:
            doc["keys"].append(dict(ours))
            return True

        tool.read_unit = read_then_race
        try:
            try:
                outcome = tool.write_unit(self.client, secret_id, add_ours)
            except tool.ToolError as err:
                outcome = err
        finally:
            tool.read_unit = real_read
        return reads, outcome

    def assert_no_pending_label(self, secret_id: str) -> None:
        versions = self.client.list_secret_version_ids(SecretId=secret_id)["Versions"]
        self.assertEqual([v for v in versions if "AWSPENDING" in v["VersionStages"]], [])

    def test_a_write_between_the_read_and_the_compare_and_set_is_not_lost(self):
        self.init(2)
        secret_id = unit_id(self.prefix, 0, 2)

        def plain_put(n: int) -> None:  # another operator's `aws secretsmanager put-secret-value`
            theirs = json.dumps({"keys": [entry("theirs-0123456789")]})
            self.client.put_secret_value(SecretId=secret_id, SecretString=theirs)

        reads, written = self.race(secret_id, 1, plain_put)
        self.assertEqual(len(reads), 2)
        self.assertEqual(written.attempts, 2)
        self.assertEqual(self.value(secret_id)["keys"], [entry("theirs-0123456789"), entry("ours-0123456789abcdef")])
        self.assert_no_pending_label(secret_id)

    def test_two_tool_writes_racing_keep_both_entries(self):
        self.init(2)
        secret_id = unit_id(self.prefix, 1, 2)
        real_read = self.tool.read_unit

        def add_theirs(doc: dict) -> bool:
            doc["keys"].append(entry("theirs-0123456789"))
            return True

        def another_tool_write(n: int) -> None:
            saved, self.tool.read_unit = self.tool.read_unit, real_read
            try:
                self.tool.write_unit(self.client, secret_id, add_theirs)
            finally:
                self.tool.read_unit = saved

        reads, written = self.race(secret_id, 1, another_tool_write)
        self.assertEqual(written.attempts, 2)
        self.assertEqual(self.value(secret_id)["keys"], [entry("theirs-0123456789"), entry("ours-0123456789abcdef")])
        self.assert_no_pending_label(secret_id)

    def test_a_unit_that_keeps_changing_is_given_up_on_after_5_attempts_losing_nothing(self):
        self.init(2)
        secret_id = unit_id(self.prefix, 0, 2)
        theirs: list[dict] = []

        def plain_put(n: int) -> None:
            theirs.append(entry(f"theirs-{n}-0123456789"))
            self.client.put_secret_value(SecretId=secret_id, SecretString=json.dumps({"keys": theirs}))

        reads, outcome = self.race(secret_id, 99, plain_put)
        self.assertIsInstance(outcome, self.tool.ToolError)
        self.assertIn("5 times", str(outcome))
        self.assertEqual(len(reads), self.tool.CAS_ATTEMPTS)
        self.assertEqual(self.value(secret_id)["keys"], theirs)
        self.assert_no_pending_label(secret_id)

    def test_a_read_without_version_stage_sees_the_tools_write(self):
        """The function's GetSecretValue names no VersionStage: AWS then answers AWSCURRENT, and so
        does the stand-in (moto alone kept the version current before UpdateSecretVersionStage)."""
        self.init(2)
        key = self.new_key()
        secret_id = json.loads(self.add(key, 2).stdout)["secretId"]
        plain = json.loads(self.client.get_secret_value(SecretId=secret_id)["SecretString"])
        self.assertEqual(plain["keys"], [entry(key)])

    # --- list ----------------------------------------------------------------------------------

    def test_list_prints_every_entry_and_the_unit_sizes_fullest_first(self):
        units = 4
        self.init(units)
        keys = [self.new_key() for _ in range(5)]
        for index, key in enumerate(keys):
            more = ["--scope", "integrations:read"] if index == 0 else []
            self.add(key, units, *more, account="acct_a" if index < 3 else "acct_b", name=f"k{index}")
        self.run_tool("disable", *self.layout_args(units), key=keys[1])
        result = self.run_tool("list", *self.layout_args(units))
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        self.assertEqual(sorted(line["sha256"] for line in lines), sorted(sha256(k) for k in keys))
        by_hash = {line["sha256"]: line for line in lines}
        self.assertEqual(
            by_hash[sha256(keys[0])],
            {
                "secretId": unit_id(self.prefix, expected_unit(keys[0], units), units),
                "sha256": sha256(keys[0]),
                "accountId": "acct_a",
                "name": "k0",
                "disabled": False,
                "scopes": ["integrations:read"],
            },
        )
        self.assertTrue(by_hash[sha256(keys[1])]["disabled"])
        self.assertIsNone(by_hash[sha256(keys[1])]["scopes"])
        sizes = [line for line in result.stderr.splitlines() if line.startswith("  ")]
        self.assertEqual(len(sizes), units)
        counted = [int(line.split(": ")[1].split(" bytes")[0].replace(",", "")) for line in sizes]
        self.assertEqual(counted, sorted(counted, reverse=True))
        for line in sizes:
            secret_id = line.strip().split(": ")[0]
            size = len(self.current(secret_id)[1].encode())
            self.assertIn(f"{secret_id}: {size:,} bytes, {size / LIMIT:.1%}", line)
        only_b = self.run_tool("list", *self.layout_args(units), "--account", "acct_b")
        listed_b = sorted(json.loads(line)["sha256"] for line in only_b.stdout.splitlines())
        self.assertEqual(listed_b, sorted(sha256(k) for k in keys[3:]))

    # --- migrate and verify --------------------------------------------------------------------

    def source_entries(self, count: int) -> list[dict]:
        keys = [self.new_key("src") for _ in range(count)]
        entries = [entry(k, account=f"acct_{i % 3}", name=f"src {i}") for i, k in enumerate(keys)]
        entries[0]["disabled"] = True
        entries[1]["scopes"] = ["integrations:delete", "integrations:read"]
        return entries

    def assert_migrated(self, entries: list[dict], prefix: str, units: int) -> None:
        stored = self.layout_keys(prefix, units)
        expected: dict[str, list[dict]] = {unit_id(prefix, u, units): [] for u in range(units)}
        for each in entries:
            expected[unit_id(prefix, expected_unit(each["sha256"], units), units)].append(each)
        for secret_id in expected:
            self.assertEqual(
                sorted(stored[secret_id], key=lambda e: e["sha256"]),
                sorted(expected[secret_id], key=lambda e: e["sha256"]),
                secret_id,
            )

    def from_source(self, command: str, units: int, source: str, source_units: int, expect: int) -> tuple[dict, str]:
        """migrate or verify into this test's prefix; (the JSON summary, stderr)."""
        source_args = ["--from-prefix", source, "--from-units", str(source_units)]
        result = self.run_tool(command, *self.layout_args(units), *source_args, expect=expect)
        return json.loads(result.stdout), result.stderr

    def migrate(self, units: int, source: str, source_units: int, expect: int = 0) -> tuple[dict, str]:
        return self.from_source("migrate", units, source, source_units, expect)

    def verify(self, units: int, source: str, source_units: int, expect: int = 0) -> tuple[dict, str]:
        return self.from_source("verify", units, source, source_units, expect)

    def versions_of(self, prefix: str, units: int) -> list[str]:
        return [self.current(unit_id(prefix, u, units))[0] for u in range(units)]

    def test_migrate_from_one_secret_to_8_units_moves_every_entry_and_runs_again_without_writing(self):
        entries = self.source_entries(40)
        old = self.prefix  # the stack's one secret; its units are <its name>/NNNN
        arn = self.create(old, entries)
        self.init(8)
        summary, _ = self.migrate(8, arn, 1)
        self.assertEqual((summary["sourceEntries"], summary["added"], summary["conflicts"]), (40, 40, 0))
        self.assert_migrated(entries, self.prefix, 8)
        versions = self.versions_of(self.prefix, 8)
        again, _ = self.migrate(8, old, 1)
        self.assertEqual((again["added"], again["alreadyThere"], again["unitsWritten"]), (0, 40, 0))
        self.assertEqual(self.versions_of(self.prefix, 8), versions)
        checked, _ = self.verify(8, arn, 1)
        self.assertEqual((checked["present"], checked["missing"], checked["different"]), (40, 0, 0))

    def test_migrate_from_8_units_to_16_moves_every_entry_and_reports_a_conflict_keeping_the_target(self):
        entries = self.source_entries(48)
        source = f"{self.prefix}-8"
        for unit in range(8):
            self.create(unit_id(source, unit, 8), [e for e in entries if expected_unit(e["sha256"], 8) == unit])
        self.init(16)
        # The target already lists one of the keys, disabled (as disable without --previous-* does).
        clash = dict(entries[5], disabled=True)
        clash_id = unit_id(self.prefix, expected_unit(clash["sha256"], 16), 16)
        self.client.put_secret_value(SecretId=clash_id, SecretString=json.dumps({"keys": [clash]}))

        summary, stderr = self.migrate(16, source, 8, expect=1)
        self.assertEqual((summary["added"], summary["conflicts"]), (47, 1))
        self.assertIn(f"conflict: {clash_id} lists sha256 {clash['sha256']}", stderr)
        self.assert_migrated([clash if e is entries[5] else e for e in entries], self.prefix, 16)
        checked, stderr = self.verify(16, source, 8, expect=1)
        self.assertEqual((checked["present"], checked["different"]), (47, 1))
        self.assertIn(f"different: sha256 {clash['sha256']}", stderr)

        # Settled on the target's side (enable), the same migration then passes.
        self.run_tool("enable", *self.layout_args(16), "--sha256", clash["sha256"])
        summary, _ = self.migrate(16, source, 8)
        self.assertEqual((summary["added"], summary["alreadyThere"], summary["conflicts"]), (0, 48, 0))
        self.assert_migrated(entries, self.prefix, 16)
        self.verify(16, source, 8)

    def test_verify_fails_when_an_entry_is_missing_from_its_unit(self):
        entries = self.source_entries(12)
        old = f"{self.prefix}-one"
        self.create(old, entries)
        self.init(4)
        self.migrate(4, old, 1)
        self.verify(4, old, 1)
        gone = entries[7]["sha256"]
        self.run_tool("remove", *self.layout_args(4), "--sha256", gone)
        checked, stderr = self.verify(4, old, 1, expect=1)
        self.assertEqual((checked["present"], checked["missing"]), (11, 1))
        home = unit_id(self.prefix, expected_unit(gone, 4), 4)
        self.assertIn(f"missing: sha256 {gone} of {old} is not in {home}", stderr)

    def test_migrate_into_units_not_created_says_run_init_first_and_writes_nothing(self):
        old = f"{self.prefix}-one"
        self.create(old, self.source_entries(3))
        self.init(2, prefix=f"{self.prefix}/half")  # not the target: a look-alike
        result = self.run_tool("migrate", *self.layout_args(4), "--from-prefix", old, "--from-units", "1", expect=1)
        self.assertIn("run init first", result.stderr)
        names = {s["Name"] for s in self.client.list_secrets(MaxResults=100)["SecretList"]}
        self.assertFalse(any(n.startswith(self.prefix + "/0") for n in names))

    def test_migrate_refuses_a_target_that_shares_secrets_with_the_source(self):
        self.init(8)
        source_args = ["--from-prefix", self.prefix, "--from-units", "8"]
        result = self.run_tool("migrate", *self.layout_args(16), *source_args, expect=2)
        self.assertIn("migrate to a new prefix", result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=1)

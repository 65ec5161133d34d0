#!/usr/bin/env python3
"""Tests of scripts/api-key-entry.py, run by `make test` (scripts/run.sh); standard library only.

The script runs as a child process, as a person would run it: the key piped on stdin, the
key typed on a pseudo-terminal (checking that it is not echoed), or --generate with stderr on
a pseudo-terminal (it refuses a non-terminal stderr).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import termios
import time
import unittest
from pathlib import Path

from terminal import read_terminal

SCRIPT = Path(__file__).resolve().parents[1] / "api-key-entry.py"
# The demo key of scripts/seed.py and the Rust tests, and its SHA-256 computed elsewhere
# (printf %s KEY | sha256sum): the hash the local secret holds.
DEMO_KEY = "demo_local_key_do_not_use_in_prod"
DEMO_SHA256 = "d0de3d91b98e732032823dff53d04ec7674336685e2f50ced4c482f181ed69a9"
URLSAFE_43 = re.compile(r"^[A-Za-z0-9_-]{43}$")


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        start_new_session=True,  # no controlling terminal: getpass must not find one
    )


def run_with_terminal_stderr(*args: str, stdin: str = "") -> tuple[int, str, str]:
    """Runs the script with stderr on a pseudo-terminal; returns (code, stdout, terminal text)."""
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=slave,
            start_new_session=True,  # no controlling terminal of ours to read from
        )
    finally:
        os.close(slave)
    stdout, _ = proc.communicate(stdin.encode(), timeout=30)
    terminal = read_terminal(master)
    os.close(master)
    return proc.returncode, stdout.decode(), terminal


def run_on_terminal(*args: str, answers: list[tuple[str, str]]) -> tuple[int, str, str]:
    """Runs the script with a pseudo-terminal as its controlling terminal, stdin and stderr,
    typing each answer after its prompt shows; returns (code, stdout, everything on the terminal)."""
    master, slave = os.openpty()

    def take_terminal() -> None:  # runs in the child after setsid: make the pty its terminal
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    try:
        proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), *args],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=slave,
            start_new_session=True,
            preexec_fn=take_terminal,
        )
    finally:
        os.close(slave)
    seen = b""

    def read_until(marker: bytes, deadline: float) -> None:
        nonlocal seen
        while marker not in seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([master], [], [], remaining)[0]:
                raise AssertionError(f"no {marker!r} on the terminal; saw {seen!r}")
            try:
                seen += os.read(master, 4096)
            except OSError:
                raise AssertionError(f"terminal closed before {marker!r}; saw {seen!r}") from None

    try:
        for prompt, answer in answers:
            read_until(prompt.encode(), time.monotonic() + 20)
            seen = seen.replace(prompt.encode(), b"<" + prompt.encode() + b">", 1)
            os.write(master, answer.encode() + b"\n")
        stdout, _ = proc.communicate(timeout=30)
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return proc.returncode, stdout.decode(), seen.decode(errors="replace")


def generated_key(terminal: str) -> str:
    keys = [line.strip() for line in terminal.splitlines() if URLSAFE_43.match(line.strip())]
    if len(keys) != 1:
        raise AssertionError(f"expected exactly one 43-character key on the terminal, got {len(keys)}")
    return keys[0]


class KnownKey(unittest.TestCase):
    def test_hash_of_a_key_from_stdin(self):
        result = run("--account", "acct_123", "--name", "CI", stdin=DEMO_KEY + "\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(
            json.loads(result.stdout), {"sha256": DEMO_SHA256, "accountId": "acct_123", "name": "CI"}
        )
        self.assertEqual(result.stdout.count("\n"), 1, "one JSON line")
        self.assertNotIn(DEMO_KEY, result.stdout + result.stderr)

    def test_matches_hashlib_and_ignores_crlf_and_no_newline(self):
        key = "Another-key_with.some~chars 123"
        for stdin in (key, key + "\r\n"):
            result = run("--account", "acct_9", "--name", "n", stdin=stdin)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(json.loads(result.stdout)["sha256"], hashlib.sha256(key.encode()).hexdigest())

    def test_rejections_print_nothing_on_stdout_and_never_the_key(self):
        long_key = "x" * 20
        cases = {
            "empty account": (["--account", "", "--name", "CI"], long_key),
            "blank account": (["--account", "  ", "--name", "CI"], long_key),
            "padded account": (["--account", " acct_1", "--name", "CI"], long_key),
            "empty name": (["--account", "acct_1", "--name", ""], long_key),
            "empty key": (["--account", "acct_1", "--name", "CI"], "\n"),
            "short key": (["--account", "acct_1", "--name", "CI"], "short_key_123\n"),
            "padded key": (["--account", "acct_1", "--name", "CI"], " " + long_key + "\n"),
            "non-ASCII key": (["--account", "acct_1", "--name", "CI"], long_key + "\u00e9\n"),
            "control char": (["--account", "acct_1", "--name", "CI"], long_key + "\t1\n"),
            "comma": (["--account", "acct_1", "--name", "CI"], long_key + ",1\n"),
        }
        for label, (args, stdin) in cases.items():
            with self.subTest(label):
                result = run(*args, stdin=stdin)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertEqual(result.stdout, "")
                self.assertTrue(result.stderr.startswith("api-key-entry: "), result.stderr)
                if stdin.strip():
                    self.assertNotIn(stdin.strip(), result.stderr)

    def test_account_is_required(self):
        result = run("--name", "CI", stdin=DEMO_KEY)
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(result.stdout, "")


class Typed(unittest.TestCase):
    PROMPTS = ("API key (not echoed): ", "the same key again: ")

    def test_typed_key_is_not_echoed_and_hashes_to_the_entry(self):
        answers = [(self.PROMPTS[0], DEMO_KEY), (self.PROMPTS[1], DEMO_KEY)]
        code, stdout, terminal = run_on_terminal("--account", "acct_123", "--name", "CI", answers=answers)
        self.assertEqual(code, 0, terminal)
        self.assertEqual(json.loads(stdout), {"sha256": DEMO_SHA256, "accountId": "acct_123", "name": "CI"})
        self.assertNotIn(DEMO_KEY, terminal, "the key was echoed")

    def test_two_different_keys_are_refused(self):
        answers = [(self.PROMPTS[0], DEMO_KEY), (self.PROMPTS[1], DEMO_KEY + "x")]
        code, stdout, terminal = run_on_terminal("--account", "acct_123", "--name", "CI", answers=answers)
        self.assertEqual(code, 2, terminal)
        self.assertEqual(stdout, "")
        self.assertIn("the two keys differ", terminal)
        self.assertNotIn(DEMO_KEY, terminal)


class Generate(unittest.TestCase):
    def test_generated_key_is_shown_once_on_the_terminal_and_hashes_to_the_entry(self):
        code, stdout, terminal = run_with_terminal_stderr("--account", "acct_123", "--name", "CI", "--generate")
        self.assertEqual(code, 0, terminal)
        key = generated_key(terminal)
        self.assertEqual(terminal.count(key), 1)
        self.assertIn("not kept anywhere", terminal)
        entry = json.loads(stdout)
        self.assertEqual(entry, {"sha256": hashlib.sha256(key.encode()).hexdigest(), "accountId": "acct_123", "name": "CI"})
        self.assertNotIn(key, stdout)

    def test_two_generated_keys_differ(self):
        keys = {generated_key(run_with_terminal_stderr("--account", "a", "--name", "n", "--generate")[2]) for _ in range(2)}
        self.assertEqual(len(keys), 2)

    def test_refuses_when_stderr_is_not_a_terminal(self):
        result = run("--account", "acct_123", "--name", "CI", "--generate")
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stdout, "")
        self.assertIn("not one; refusing", result.stderr)


class Merge(unittest.TestCase):
    EXISTING = {"keys": [{"sha256": "a" * 64, "accountId": "acct_old", "name": "old"}]}

    def secret_file(self, content: str) -> str:
        handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        self.addCleanup(os.unlink, handle.name)
        with handle:
            handle.write(content)
        return handle.name

    def test_appends_the_entry_to_a_secret_file(self):
        path = self.secret_file(json.dumps(self.EXISTING))
        result = run("--account", "acct_123", "--name", "CI", "--merge", path, stdin=DEMO_KEY)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(
            json.loads(result.stdout),
            {"keys": self.EXISTING["keys"] + [{"sha256": DEMO_SHA256, "accountId": "acct_123", "name": "CI"}]},
        )

    def test_scopes_are_listed_checked_and_optional(self):
        result = run("--account", "acct_123", "--name", "CI", "--scope", "integrations:read,integrations:delete", stdin=DEMO_KEY)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout)["scopes"], ["integrations:delete", "integrations:read"])
        result = run("--account", "acct_123", "--name", "CI", stdin=DEMO_KEY)
        self.assertNotIn("scopes", json.loads(result.stdout), "no --scope: every scope")
        for bad in ["integrations:write", ","]:
            with self.subTest(bad):
                result = run("--account", "acct_123", "--name", "CI", "--scope", bad, stdin=DEMO_KEY)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertEqual(result.stdout, "")

    def test_generate_with_the_secret_on_stdin(self):
        code, stdout, terminal = run_with_terminal_stderr(
            "--account", "acct_123", "--name", "CI", "--generate", "--merge", "-", stdin='{"keys": []}'
        )
        self.assertEqual(code, 0, terminal)
        key = generated_key(terminal)
        self.assertEqual(
            json.loads(stdout),
            {"keys": [{"sha256": hashlib.sha256(key.encode()).hexdigest(), "accountId": "acct_123", "name": "CI"}]},
        )

    def test_merge_stdin_without_generate_needs_a_terminal(self):
        result = run("--account", "acct_123", "--name", "CI", "--merge", "-", stdin='{"keys": []}')
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stdout, "")

    def test_refuses_a_duplicate_and_malformed_secrets(self):
        duplicate = {"keys": [{"sha256": DEMO_SHA256, "accountId": "acct_1", "name": "x"}]}
        cases = {
            "duplicate": json.dumps(duplicate),
            "not JSON": '{"keys": [SECRET-ISH',
            "no keys": '{"other": []}',
            "bad hash": '{"keys": [{"sha256": "ABC", "accountId": "a"}]}',
            "empty account": json.dumps({"keys": [{"sha256": "b" * 64, "accountId": ""}]}),
        }
        for label, content in cases.items():
            with self.subTest(label):
                result = run("--account", "acct_123", "--name", "CI", "--merge", self.secret_file(content), stdin=DEMO_KEY)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertEqual(result.stdout, "")
                self.assertNotIn("SECRET-ISH", result.stderr)

    def merge_to_size(self, size: int) -> subprocess.CompletedProcess:
        """Runs --merge on a secret padded (an entry's name) so that the printed secret, newline
        included, is `size` bytes; checks that it is, when printed."""
        new = {"sha256": DEMO_SHA256, "accountId": "acct_123", "name": "CI"}
        old = {"sha256": "a" * 64, "accountId": "acct_old", "name": ""}
        old["name"] = "x" * (size - len(json.dumps({"keys": [old, new]}) + "\n"))
        result = run("--account", "acct_123", "--name", "CI", "--merge", self.secret_file(json.dumps({"keys": [old]})), stdin=DEMO_KEY)
        if result.returncode == 0:
            self.assertEqual(len(result.stdout.encode("utf-8")), size)
            self.assertEqual(json.loads(result.stdout), {"keys": [old, new]})
        self.assertNotIn(DEMO_KEY, result.stdout + result.stderr)
        return result

    def test_refuses_a_secret_over_secrets_managers_limit(self):
        result = self.merge_to_size(65537)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertEqual(result.stdout, "")
        self.assertTrue(result.stderr.startswith("api-key-entry: --merge: "), result.stderr)
        for part in ("65,537 bytes", "limit of 65,536 bytes", "remove disabled or unused entries", "about 490 keys"):
            self.assertIn(part, result.stderr)

    def test_warns_from_80_percent_of_the_limit_and_passes_up_to_it(self):
        for size, percent in [(52429, "80%"), (65536, "100%")]:
            with self.subTest(size):
                result = self.merge_to_size(size)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn(f"api-key-entry: warning: the secret is {size:,} bytes, {percent} ", result.stderr)
                self.assertIn("limit of 65,536 bytes", result.stderr)

    def test_no_warning_just_under_80_percent(self):
        result = self.merge_to_size(52428)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "")


if __name__ == "__main__":
    unittest.main(verbosity=1)

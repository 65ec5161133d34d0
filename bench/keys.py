#!/usr/bin/env python3
"""The API-key store at 100,000 keys, on the release binary: correctness at scale, Secrets
Manager reads, and the warm cost of a request against 10 keys.

`make bench` runs it after bench/bench.py (services up, the release binary built); alone:

    source scripts/lib/env.sh && "$VENV_PY" bench/keys.py [--keys 100000] [--units 320] [--seed 7]

It writes `--keys` random keys (their hash entries, as `make api-keys` writes them) into `--units`
secrets of the local Secrets Manager, which refuses a value over 65,536 bytes as AWS does
(scripts/local/secrets-manager.py), and then:

1. **At concurrency 32.** One function process serving 32 requests at once
   (AWS_LAMBDA_MAX_CONCURRENCY, as on Lambda Managed Instances), 32 client threads: 1,000 of the
   keys picked at random must all pass the key check (404: the integration does not exist) and
   100 unknown keys must get 401. The Secrets Manager reads are counted from the function's own
   metrics on its stdout (KeyCacheRefreshes + KeyCacheRefreshFailures) and must stay within the
   bound: one read per unit a presented key belongs to, plus the forced reads the unknown keys
   may cause (at most one per 100 ms, MIN_FORCED_READ_SPACING).
2. **Warm cost, 100,000 keys against 10.** In rounds of a random order, one process reading 10
   keys from one secret and one reading the 100,000 from the units, each warmed on 10 keys and
   then asked 1,000 times for them (--invocations); CPU per request (the process's own clock)
   and p50. Printed, not asserted: a benchmark, to compare.
3. **A key added while warm.** A warm process that has read the new key's unit; the key is
   added with `scripts/api-keys.py add` (the key on its stdin); its first request must pass.

It exits non-zero when a check of 1 or 3 fails. Plain HTTP to the backends: these figures
compare key counts with each other, not with production.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (bench/bench.py: the Runtime API, the event, CPU clocks)

ROOT = bench.ROOT
TOOL_PATH = ROOT / "scripts" / "api-keys.py"
# The same unit and secret id as the function and the tooling: the tooling's own code.
_spec = importlib.util.spec_from_file_location("api_keys_tool", TOOL_PATH)
tool = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = tool  # dataclasses look their module up there
_spec.loader.exec_module(tool)

LIMIT = 65536
CONCURRENCY = 32
PRESENTED = 1000
UNKNOWN = 100
FORCED_READ_SPACING = 0.1  # MIN_FORCED_READ_SPACING in src/api_keys/mod.rs
WARM_KEYS = 10


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def entry(key: str, n: int) -> dict:
    # An account id and a name of realistic length: 135 bytes an entry.
    return {"sha256": digest(key).hex(), "accountId": f"acct_{n % 20_000:08d}", "name": "production CI"}


def store(prefix: str, units: int, keys: list[str]) -> list[int]:
    """Writes `keys` into `units` secrets under `prefix`; the size of each unit's value."""
    by_unit: list[list[dict]] = [[] for _ in range(units)]
    for n, key in enumerate(keys):
        by_unit[tool.unit_of(digest(key), units)].append(entry(key, n))
    client = boto3.client("secretsmanager")
    sizes = []
    for unit, entries in enumerate(by_unit):
        value = json.dumps({"keys": entries})
        client.create_secret(Name=tool.unit_secret_id(prefix, unit, units), SecretString=value)
        sizes.append(len(value.encode()))
    return sizes


class Function:
    """The release binary behind its own Runtime API, its stdout kept."""

    def __init__(self, env: dict, concurrency: int = 1) -> None:
        self.api = bench.RuntimeApi()
        self.stdout = tempfile.TemporaryFile()
        env = dict(env, AWS_LAMBDA_RUNTIME_API=self.api.address, AWS_LAMBDA_MAX_CONCURRENCY=str(concurrency))
        self.process = subprocess.Popen([str(bench.FUNCTION)], env=env, stdout=self.stdout,
                                        stderr=subprocess.DEVNULL)
        self.api.wait_ready()

    def status(self, key: str) -> int:
        _, answer = self.api.invoke(bench.event(f"int_keys_missing_{uuid.uuid4().hex[:8]}", key))
        return answer.get("statusCode")

    def timed(self, key: str) -> float:
        took, answer = self.api.invoke(bench.event(f"int_keys_missing_{uuid.uuid4().hex[:8]}", key))
        if answer.get("statusCode") != 404:
            sys.exit(f"a known key got {answer.get('statusCode')}")
        return took

    def cpu(self) -> float:
        return bench.cpu_seconds(self.process.pid)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()

    def secret_reads(self) -> int:
        """Reads of the API-keys secrets, from the function's own EMF documents."""
        self.stdout.seek(0)
        reads = 0
        for line in self.stdout.read().decode(errors="replace").splitlines():
            try:
                document = json.loads(line)
            except ValueError:
                continue
            if isinstance(document, dict) and "_aws" in document:
                for name in ("KeyCacheRefreshes", "KeyCacheRefreshFailures"):
                    value = document.get(name, 0)  # a number, or a list of them (EMF)
                    reads += int(sum(value) if isinstance(value, list) else value)
        return reads


def at_concurrency(env: dict, keys: list[str], units: int, rng: random.Random) -> bool:
    presented = rng.sample(keys, PRESENTED)
    unknown = [secrets.token_urlsafe(32) for _ in range(UNKNOWN)]
    jobs = [(k, 404) for k in presented] + [(k, 401) for k in unknown]
    rng.shuffle(jobs)
    function = Function(env, CONCURRENCY)
    wrong: list[tuple[int, int]] = []
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                if not jobs:
                    return
                key, expected = jobs.pop()
            got = function.status(key)
            if got != expected:
                with lock:
                    wrong.append((expected, got))

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    function.stop()
    reads = function.secret_reads()
    touched = {tool.unit_of(digest(k), units) for k in presented + unknown}
    bound = len(touched) + min(UNKNOWN, 1 + math.ceil(elapsed / FORCED_READ_SPACING))
    passed = PRESENTED - sum(1 for expected, _ in wrong if expected == 404)
    refused = UNKNOWN - sum(1 for expected, _ in wrong if expected == 401)
    print(f"1. {PRESENTED} random keys of {len(keys):,} and {UNKNOWN} unknown ones, at concurrency {CONCURRENCY} "
          f"in one process, {elapsed:.1f} s:")
    print(f"   known keys passed {passed}/{PRESENTED}; unknown keys refused (401) {refused}/{UNKNOWN}")
    print(f"   Secrets Manager reads: {reads} (units the keys belong to: {len(touched)}; "
          f"bound with the forced reads: {bound})")
    ok = not wrong and reads <= bound
    if wrong:
        print(f"   FAILED: {len(wrong)} wrong answers, e.g. {wrong[:5]} (expected, got)")
    if reads > bound:
        print("   FAILED: more reads than the bound")
    return ok


def warm_cost(env_units: dict, env_ten: dict, keys: list[str], ten: list[str], rounds: int,
              invocations: int, rng: random.Random) -> None:
    results: dict[str, list[tuple[float, float]]] = {"ten": [], "units": []}
    for _ in range(rounds):
        order = ["ten", "units"]
        rng.shuffle(order)
        for name in order:
            working = ten if name == "ten" else rng.sample(keys, WARM_KEYS)
            function = Function(env_ten if name == "ten" else env_units)
            try:
                for key in working:  # fills the caches: every unit of the working set read
                    function.timed(key)
                before = function.cpu()
                took = [function.timed(working[i % WARM_KEYS]) for i in range(invocations)]
                cpu = (function.cpu() - before) / invocations
            finally:
                function.stop()
            results[name].append((cpu, bench.percentile(took, 50)))

    def row(name: str, index: int) -> str:
        values = [r[index] * 1e3 for r in results[name]]
        return f"{statistics.median(values):6.3f} ms ({min(values):.3f} to {max(values):.3f})"

    print(f"2. warm requests, {WARM_KEYS} keys asked {invocations} times after one warm-up pass; "
          f"median of {rounds} interleaved rounds (min to max):")
    print(f"   | {'':<22} | {'10 keys, one secret':>30} | {f'{len(keys):,} keys, units':>30} |")
    print(f"   |{'-' * 24}|{'-' * 32}|{'-' * 32}|")
    print(f"   | {'CPU per request':<22} | {row('ten', 0):>30} | {row('units', 0):>30} |")
    print(f"   | {'p50':<22} | {row('ten', 1):>30} | {row('units', 1):>30} |")


def added_while_warm(env: dict, keys: list[str], prefix: str, units: int) -> bool:
    new_key = secrets.token_urlsafe(32)
    unit = tool.unit_of(digest(new_key), units)
    neighbour = next(k for k in keys if tool.unit_of(digest(k), units) == unit)
    function = Function(env)
    try:
        assert function.status(neighbour) == 404, "a known key of the unit passes"
        added = subprocess.run(
            [sys.executable, str(TOOL_PATH), "add", "--prefix", prefix, "--units", str(units),
             "--account", "acct_added", "--name", "added while warm"],
            input=new_key + "\n", capture_output=True, text=True, env=env, check=False)
        if added.returncode != 0:
            print(f"3. FAILED: scripts/api-keys.py add exited {added.returncode}: {added.stderr.strip()}")
            return False
        first = function.status(new_key)
    finally:
        function.stop()
    reads = function.secret_reads()
    print(f"3. a key added to unit {unit} while a process had it cached: its first request got {first} "
          f"(404 = passed); reads of the process: {reads} (the unit at first, then one forced)")
    return first == 404 and reads == 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000, help="keys in the store (default 100,000)")
    parser.add_argument("--units", type=int, default=320, help="units they are spread over (default 320)")
    parser.add_argument("--rounds", type=int, default=8, help="rounds of the warm comparison (default 8)")
    parser.add_argument("--invocations", type=int, default=1000,
                        help="warm requests a round and a process (default 1000)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the picks and the round order")
    args = parser.parse_args()
    if not bench.FUNCTION.exists():
        sys.exit(f"{bench.FUNCTION} is missing: run `make bench`")
    rng = random.Random(args.seed)
    run = uuid.uuid4().hex[:8]
    prefix, ten_id = f"bench/keys-{run}", f"bench/ten-keys-{run}"

    started = time.perf_counter()
    keys = [secrets.token_urlsafe(32) for _ in range(args.keys)]
    sizes = store(prefix, args.units, keys)
    ten = [secrets.token_urlsafe(32) for _ in range(WARM_KEYS)]
    boto3.client("secretsmanager").create_secret(
        Name=ten_id, SecretString=json.dumps({"keys": [entry(k, n) for n, k in enumerate(ten)]}))
    print(f"keys: {args.keys:,} keys in {args.units} units of the local Secrets Manager (limit {LIMIT:,} bytes "
          f"a value, enforced), written in {time.perf_counter() - started:.1f} s; unit values "
          f"{min(sizes):,} to {max(sizes):,} bytes, mean {statistics.mean(sizes):,.0f}, "
          f"fullest at {max(sizes) / LIMIT:.0%} of the limit")

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_LAMBDA_")}
    env.update(TABLE_NAME=bench.TABLE, AWS_LAMBDA_FUNCTION_NAME="disconnect-integration",
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
               AWS_LAMBDA_LOG_FORMAT="JSON", AWS_LAMBDA_LOG_LEVEL="WARN")
    env_units = dict(env, API_KEYS_SECRET_ID=prefix, API_KEYS_UNITS=str(args.units))
    env_ten = dict(env, API_KEYS_SECRET_ID=ten_id)
    bench.create_table()
    try:
        ok = at_concurrency(env_units, keys, args.units, rng)
        warm_cost(env_units, env_ten, keys, ten, args.rounds, args.invocations, rng)
        ok = added_while_warm(env_units, keys, prefix, args.units) and ok
    finally:
        bench.drop_table()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

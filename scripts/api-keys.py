#!/usr/bin/env python3
"""Manage the API keys spread over N Secrets Manager secrets ("units"), as the function reads them.

A key's unit is computed as the function computes it (src/api_keys/layout.rs):

    digest = SHA-256(key)                     the entry's "sha256" is its lowercase hex
    unit   = (first 4 bytes of digest, big-endian, * N) >> 32
    secret = PREFIX when N == 1 (a name or an ARN: today's one secret)
             PREFIX/<unit, four digits> when N > 1 (PREFIX a name, not an ARN)

and each unit's SecretString is today's format, {"keys": [{"sha256", "accountId", "name",
optional "disabled": true, optional "scopes": [...]}]}, at most 65,536 bytes.

Subcommands (each takes --prefix P --units N, the layout the function reads):

    init      creates every missing unit, with {"keys": []} (not for N == 1: that secret is the
              stack's own); --kms-key-id, --tag KEY=VALUE. Re-runnable.
    add       writes a key's entry into its unit; refuses a hash already listed (exit 1), and a
              unit that would go over 65,536 bytes (exit 2); warns from 80% (52,429 bytes).
              Prints the unit's secret id and the hash, never the key.
    disable, enable, remove
              the key (typed, piped, or --sha256 HEX); with --previous-prefix Q --previous-units
              M, in the previous layout too, after this one (during a migration the function
              falls back to it for a hash that the new layout does not list, so a key removed
              from the new layout only would still work). Not listed in any: exit 1.
    list      every entry as a JSON line on stdout (--account A: that account's), and each
              unit's size on stderr, the fullest first.
    migrate   --from-prefix Q --from-units M (M == 1: the one secret Q, an ARN allowed): copies
              every entry of the source layout into its unit of this one, one write per target
              unit. Identical entries already there are skipped; a hash there with other settings
              is a conflict: reported, the target's kept, exit 1 at the end. Re-runnable.
    verify    --from-prefix Q --from-units M: every source entry is in its target unit,
              identical (exit 0 only then); prints the counts.

The key is read by scripts/api-key-entry.py's own code (imported, not copied), so it never
reaches a file, argv, the environment or a log: typed twice without echo when stdin is a
terminal, else the first line of stdin; --generate makes one and shows it once on the terminal
(stderr), after the write, refusing when stderr is not a terminal.

Every write is a compare-and-set (PutSecretValue alone has no condition, so two writers would
lose each other's entries): read AWSCURRENT (value and version V0), put the new value as a
version staged AWSPENDING, then move AWSCURRENT from V0 to it, which fails if AWSCURRENT has
left V0 meanwhile; then read again and redo the change, up to 5 times. Each write is a new
version of the unit, and AWS advises at most one a secret every 10 minutes sustained (it removes
unlabelled versions past 100, none younger than 24 hours): many keys for one unit at once go in
by migrate (one write a unit), not by one add each.

boto3 finds the endpoint, region and credentials as usual (AWS_ENDPOINT_URL_SECRETS_MANAGER,
AWS_REGION, a profile, ...), and the first line on stderr names the endpoint. `make api-keys`
talks to the local stand-in (scripts/lib/env.sh), and with AWS=1 to what the calling shell's AWS
setup names. Needs the tools venv (boto3). Examples:

    make api-keys ACTION=init PREFIX=local/api-keys UNITS=4
    make api-keys AWS=1 ACTION=init PREFIX=prod/api-keys UNITS=320 KMS_KEY_ID=alias/api-keys
    make api-keys AWS=1 ACTION=migrate PREFIX=prod/api-keys UNITS=320 FROM_PREFIX=prod/api-keys FROM_UNITS=1
    make api-keys AWS=1 ACTION=add PREFIX=prod/api-keys UNITS=320 ACCOUNT=acct_123 NAME=CI GENERATE=1
    .tools/venv/bin/python scripts/api-keys.py list --prefix prod/api-keys --units 320 --account acct_123
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import importlib.util
import json
import re
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import boto3
from botocore.exceptions import BotoCoreError, ClientError


def _load_entry_tool() -> ModuleType:
    # scripts/api-key-entry.py: its name has a hyphen, so it is loaded from its path.
    path = Path(__file__).resolve().with_name("api-key-entry.py")
    spec = importlib.util.spec_from_file_location("api_key_entry", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path.name}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


entry_tool = _load_entry_tool()
UsageError = entry_tool.UsageError
MAX_SECRET_BYTES: int = entry_tool.MAX_SECRET_BYTES  # 65,536: Secrets Manager's "Secret value size"
WARN_SECRET_BYTES: int = entry_tool.WARN_SECRET_BYTES  # 80% of it

MAX_UNITS = 10000  # the function's bound on API_KEYS_UNITS
CAS_ATTEMPTS = 5
READ_WORKERS = 8  # concurrent GetSecretValue calls when reading a whole layout
HEX64 = re.compile(r"^[0-9a-f]{64}$")
# Secrets Manager's secret name characters (CreateSecret's Name); a unit adds "/NNNN".
SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]+$")
MAX_SECRET_NAME = 512
EMPTY_UNIT = json.dumps({"keys": []})


class ToolError(Exception):
    """A refusal or a failure, with the exit code; the message never contains the key."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class TooBig(ToolError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code=2)


# --- layouts -------------------------------------------------------------------------------


def unit_of(digest: bytes, units: int) -> int:
    """The unit of a SHA-256 digest among `units`: as src/api_keys/layout.rs's unit_of."""
    return (int.from_bytes(digest[:4], "big") * units) >> 32


def unit_secret_id(prefix: str, unit: int, units: int) -> str:
    """As src/api_keys/layout.rs's unit_secret_id: the prefix itself when there is one unit."""
    return prefix if units == 1 else f"{prefix}/{unit:04}"


@dataclass(frozen=True)
class Layout:
    prefix: str
    units: int

    def unit_of_hash(self, sha256_hex: str) -> int:
        return unit_of(bytes.fromhex(sha256_hex), self.units)

    def secret_id(self, unit: int) -> str:
        return unit_secret_id(self.prefix, unit, self.units)

    def secret_id_of_hash(self, sha256_hex: str) -> str:
        return self.secret_id(self.unit_of_hash(sha256_hex))

    def secret_ids(self) -> list[str]:
        return [self.secret_id(unit) for unit in range(self.units)]

    def __str__(self) -> str:
        if self.units == 1:
            return f"the one secret {self.prefix}"
        return f"{self.prefix} ({self.units} units)"


def check_layout(prefix: str | None, units: int | None, option: str = "") -> Layout:
    """The layout of --{option}prefix and --{option}units (option: "", "previous-" or "from-")."""
    if not prefix:
        raise UsageError(f"--{option}prefix is empty")
    if units is None or not 1 <= units <= MAX_UNITS:
        raise UsageError(f"--{option}units must be 1 to {MAX_UNITS:,}")
    if units > 1:
        if prefix.startswith("arn:"):
            raise UsageError(f"--{option}prefix: with more than one unit it is a secret name prefix, not an ARN")
        if not SECRET_NAME.fullmatch(prefix) or prefix.endswith("/"):
            raise UsageError(
                f"--{option}prefix: a secret name of letters, digits and /_+=.@- (not ending with /)"
            )
        if len(prefix) + 5 > MAX_SECRET_NAME:
            raise UsageError(f"--{option}prefix: too long for a secret name with /NNNN after it")
    elif prefix != prefix.strip():
        raise UsageError(f"--{option}prefix starts or ends with whitespace")
    return Layout(prefix, units)


# --- entries -------------------------------------------------------------------------------


def entry_hash(entry: Any) -> str | None:
    """The entry's sha256 when it is one the function can use, else None."""
    if not isinstance(entry, dict):
        return None
    digest = entry.get("sha256")
    if not isinstance(digest, str) or not HEX64.fullmatch(digest):
        return None
    account = entry.get("accountId")
    if not isinstance(account, str) or not account.strip():
        return None
    return digest


def settings(entry: dict) -> dict:
    """An entry as the function understands it, to compare two: no "disabled": false, scopes as a set."""
    normal = dict(entry)
    if normal.get("disabled") is False:
        del normal["disabled"]
    if isinstance(normal.get("scopes"), list):
        normal["scopes"] = sorted(set(map(str, normal["scopes"])))
    return normal


def listed(doc: dict, digest: str) -> list[dict]:
    return [e for e in doc["keys"] if isinstance(e, dict) and e.get("sha256") == digest]


def check_sha256(value: str) -> str:
    digest = value.strip().lower()
    if not HEX64.fullmatch(digest):
        raise UsageError("--sha256: not 64 hexadecimal characters")
    return digest


# --- reading and compare-and-set writing --------------------------------------------------


@dataclass
class Unit:
    secret_id: str
    doc: dict
    size: int  # bytes of the SecretString, as UTF-8
    version_id: str


def parse_unit(secret_id: str, text: str | None) -> dict:
    if text is None:
        raise ToolError(f"{secret_id}: has no SecretString")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        # The position only: the message would quote the value.
        where = f"line {err.lineno}, column {err.colno}"
        raise ToolError(f"{secret_id}: not JSON ({where}); fix it by hand first") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise ToolError(f'{secret_id}: not an object with a "keys" array; fix it by hand first')
    return doc


def read_unit(client: Any, secret_id: str) -> Unit:
    # AWSCURRENT (AWS's default, named here): the version a compare-and-set moves the label from.
    try:
        response = client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
    except ClientError as err:
        if error_code(err) == "ResourceNotFoundException":
            raise ToolError(f"{secret_id}: no such secret") from None
        raise
    text = response.get("SecretString")
    doc = parse_unit(secret_id, text)
    return Unit(secret_id, doc, len(text.encode("utf-8")), response["VersionId"])


def read_units(client: Any, secret_ids: list[str]) -> dict[str, Unit | ToolError]:
    """Every secret's current value, or the error that stopped its read."""

    def one(secret_id: str) -> Unit | ToolError:
        try:
            return read_unit(client, secret_id)
        except ToolError as err:
            return err
        except ClientError as err:
            return ToolError(f"{secret_id}: {describe_client_error(err)}")

    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        return dict(zip(secret_ids, pool.map(one, secret_ids)))


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def describe_client_error(err: ClientError) -> str:
    error = err.response.get("Error", {})
    return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")


def check_size(secret_id: str, size: int) -> str | None:
    """Refuses a value over Secrets Manager's limit; returns a warning from 80% of it."""
    if size > MAX_SECRET_BYTES:
        raise TooBig(
            f"{secret_id}: its value would be {size:,} bytes, over Secrets Manager's limit of "
            f"{MAX_SECRET_BYTES:,} bytes; nothing was written. Remove disabled or unused entries "
            "(see `list`, then `remove`), or migrate to more units: `init` a new prefix with more "
            "units, then `migrate --from-prefix <this prefix> --from-units <these units>` "
            "(make api-keys ACTION=migrate ... FROM_PREFIX=... FROM_UNITS=...)"
        )
    if size >= WARN_SECRET_BYTES:
        return (
            f"warning: {secret_id} is {size:,} bytes, {size / MAX_SECRET_BYTES:.0%} of Secrets "
            f"Manager's limit of {MAX_SECRET_BYTES:,} bytes; remove disabled or unused entries, "
            "or migrate to more units, soon"
        )
    return None


@dataclass
class Written:
    secret_id: str
    changed: bool
    attempts: int
    size: int
    warning: str | None


def write_unit(client: Any, secret_id: str, change: Callable[[dict], bool]) -> Written:
    """Applies `change` to the unit's current value, with a compare-and-set.

    change(doc) edits doc (a copy of the current value) in place and returns whether it changed
    anything; it may raise to refuse. It is run again on a fresh read after a lost race.
    """
    for attempt in range(1, CAS_ATTEMPTS + 1):
        current = read_unit(client, secret_id)
        doc = copy.deepcopy(current.doc)
        if not change(doc):
            return Written(secret_id, False, attempt, current.size, None)
        text = json.dumps(doc)
        size = len(text.encode("utf-8"))
        warning = check_size(secret_id, size)
        version = str(uuid.uuid4())  # also boto3's idempotency token if it resends the call
        client.put_secret_value(
            SecretId=secret_id, SecretString=text, ClientRequestToken=version, VersionStages=["AWSPENDING"]
        )
        # The condition:
        # https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecretVersionStage.html,
        # RemoveFromVersionId: "If the label is attached and you either do not specify this
        # parameter, or the version ID does not match, then the operation fails." (read
        # 2026-12-07). moto 5.2.5 (the local stand-in) fails it too, with InvalidParameterException
        # (SecretsManagerBackend.update_secret_version_stage).
        try:
            client.update_secret_version_stage(
                SecretId=secret_id,
                VersionStage="AWSCURRENT",
                RemoveFromVersionId=current.version_id,
                MoveToVersionId=version,
            )
        except ClientError as err:
            if error_code(err) not in ("InvalidParameterException", "InvalidRequestException"):
                raise
            now = current_version(client, secret_id)
            if now == current.version_id:
                raise  # AWSCURRENT is still on V0: not a lost race
            if now != version:  # else: a resent call whose first try had moved it
                unstage_pending(client, secret_id, version)
                continue
        unstage_pending(client, secret_id, version)
        return Written(secret_id, True, attempt, size, warning)
    raise ToolError(
        f"{secret_id}: changed by someone else between each read and write, {CAS_ATTEMPTS} times; "
        "this change was not written: run the command again"
    )


def current_version(client: Any, secret_id: str) -> str:
    return client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")["VersionId"]


def unstage_pending(client: Any, secret_id: str, version: str) -> None:
    # AWSPENDING left on a version makes RotateSecret think a rotation is under way. Best effort:
    # another writer may have moved the label to its own version already, and this then fails.
    try:
        client.update_secret_version_stage(SecretId=secret_id, VersionStage="AWSPENDING", RemoveFromVersionId=version)
    except ClientError:
        pass


# --- output --------------------------------------------------------------------------------


def say(message: str) -> None:
    print(f"api-keys: {message}", file=sys.stderr, flush=True)


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def report_write(written: Written) -> None:
    if written.attempts > 1:
        say(
            f"{written.secret_id}: written on attempt {written.attempts} "
            "(it changed meanwhile; the change was redone on its new value)"
        )
    if written.warning:
        say(written.warning)


# --- subcommands ---------------------------------------------------------------------------


def cmd_init(client: Any, layout: Layout, kms_key_id: str | None, tags: list[str]) -> int:
    if layout.units == 1:
        raise UsageError("init: with one unit, the secret is the stack's own (API_KEYS_SECRET_ID); nothing to create")
    tag_list = []
    for tag in tags:
        key, sep, value = tag.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--tag {tag!r}: expected KEY=VALUE")
        tag_list.append({"Key": key, "Value": value})
    created = existing = 0
    for unit in range(layout.units):
        secret_id = layout.secret_id(unit)
        params: dict[str, Any] = {
            "Name": secret_id,
            "Description": (
                f"API-key hashes of {layout.prefix}: unit {unit:04}, one of {layout.units} "
                f"(0000 to {layout.units - 1:04}); written by scripts/api-keys.py"
            ),
            "SecretString": EMPTY_UNIT,
        }
        if kms_key_id:
            params["KmsKeyId"] = kms_key_id
        if tag_list:
            params["Tags"] = tag_list
        try:
            client.create_secret(**params)
            created += 1
        except ClientError as err:
            if error_code(err) == "ResourceExistsException":
                existing += 1
                continue
            if error_code(err) == "InvalidRequestException":
                raise ToolError(
                    f"{secret_id}: {describe_client_error(err)} (a secret scheduled for deletion: "
                    "restore it, or wait for its deletion); "
                    f"{created} created before it, run init again after"
                ) from None
            raise
    say(f"{layout}: {created} created, {existing} already there")
    emit({"prefix": layout.prefix, "units": layout.units, "created": created, "existing": existing})
    return 0


def cmd_add(client: Any, layout: Layout, args: argparse.Namespace) -> int:
    account = entry_tool.check_text("--account", args.account)
    name = entry_tool.check_text("--name", args.name)
    if args.scope is not None:
        entry_tool.check_scopes(args.scope)  # before the key is typed
    key = entry_tool.obtain_key(args.generate)
    entry_tool.check_key(key)
    entry = entry_tool.make_entry(key, account, name, args.scope)
    digest = entry["sha256"]
    secret_id = layout.secret_id_of_hash(digest)

    def change(doc: dict) -> bool:
        if listed(doc, digest):
            raise ToolError(f"{secret_id} already lists this key (sha256 {digest}); nothing written")
        doc["keys"].append(dict(entry))
        return True

    written = write_unit(client, secret_id, change)
    report_write(written)
    emit({"secretId": secret_id, "unit": layout.unit_of_hash(digest), "sha256": digest})
    if args.generate:
        entry_tool.show_generated_key(key)
    del key
    return 0


class KeyChange:
    """disable, enable or remove one hash in a unit's value; remembers whether it was listed."""

    def __init__(self, action: str, digest: str) -> None:
        self.action = action
        self.digest = digest
        self.found = False

    def __call__(self, doc: dict) -> bool:
        matches = listed(doc, self.digest)
        self.found = bool(matches)
        if self.action == "remove":
            doc["keys"] = [e for e in doc["keys"] if not (isinstance(e, dict) and e.get("sha256") == self.digest)]
            return bool(matches)
        if self.action == "disable":
            changed = any(e.get("disabled") is not True for e in matches)
            for e in matches:
                e["disabled"] = True
            return changed
        changed = any("disabled" in e for e in matches)  # enable
        for e in matches:
            e.pop("disabled", None)
        return changed


def cmd_change(client: Any, layout: Layout, previous: Layout | None, action: str, args: argparse.Namespace) -> int:
    if args.sha256:
        digest = check_sha256(args.sha256)
    else:
        key = entry_tool.obtain_key(False)
        entry_tool.check_key(key)
        digest = hashlib.sha256(key.encode("ascii")).hexdigest()
        del key

    # The layout the function reads first, then the previous one: a change to the first takes
    # effect at once for a key listed there (its entry wins), and a run stopped half-way is
    # finished by running it again (a layout that no longer lists the key is passed over).
    layouts = [("", layout)] + ([("previous layout: ", previous)] if previous else [])
    listed_in = []
    for label, each in layouts:
        secret_id = each.secret_id_of_hash(digest)
        change = KeyChange(action, digest)
        written = write_unit(client, secret_id, change)
        if not change.found:
            say(f"{label}{secret_id} does not list sha256 {digest}")
            continue
        listed_in.append(secret_id)
        report_write(written)
        emit({"secretId": secret_id, "sha256": digest, "action": action, "changed": written.changed})
    if not listed_in:
        ids = [each.secret_id_of_hash(digest) for _, each in layouts]
        where = f"listed neither in {ids[0]} nor in {ids[1]}" if len(ids) == 2 else f"not listed in {ids[0]}"
        raise ToolError(f"{action}: the key (sha256 {digest}) is {where}; nothing changed")
    return 0


def cmd_list(client: Any, layout: Layout, account: str | None) -> int:
    units = read_units(client, layout.secret_ids())
    failed = 0
    sizes = []
    for unit_number, (secret_id, unit) in enumerate(units.items()):
        if isinstance(unit, ToolError):
            say(str(unit))
            failed += 1
            continue
        sizes.append((unit.size, secret_id, len(unit.doc["keys"])))
        for index, entry in enumerate(unit.doc["keys"]):
            digest = entry_hash(entry)
            if digest is None:
                say(f"{secret_id}: keys[{index}] is not a usable entry (the function leaves it out)")
                continue
            if layout.unit_of_hash(digest) != unit_number:
                home = layout.secret_id_of_hash(digest)
                say(f"{secret_id}: keys[{index}] belongs in {home}; the function never looks for it here")
            if account is not None and entry["accountId"] != account:
                continue
            emit(
                {
                    "secretId": secret_id,
                    "sha256": digest,
                    "accountId": entry["accountId"],
                    "name": entry.get("name"),
                    "disabled": entry.get("disabled") is True,
                    "scopes": entry.get("scopes"),
                }
            )
    sizes.sort(key=lambda s: (-s[0], s[1]))
    lines = [f"{layout}: unit sizes, the fullest first (limit {MAX_SECRET_BYTES:,} bytes):"]
    for size, secret_id, count in sizes:
        entries = "entry" if count == 1 else "entries"
        lines.append(f"  {secret_id}: {size:,} bytes, {size / MAX_SECRET_BYTES:.1%}, {count} {entries}")
    print("\n".join(lines), file=sys.stderr, flush=True)
    if failed:
        raise ToolError(f"{failed} of {layout.units} units could not be read")
    return 0


@dataclass
class SourceEntries:
    entries: dict[str, tuple[str, dict]]  # sha256 -> (source secret id, entry)
    total: int  # usable entries read, duplicates included
    malformed: int
    conflicts: int  # hashes listed twice in the source with different settings


def read_source(client: Any, source: Layout) -> SourceEntries:
    units = read_units(client, source.secret_ids())
    errors = [unit for unit in units.values() if isinstance(unit, ToolError)]
    if errors:
        for err in errors:
            say(str(err))
        raise ToolError(f"the source ({source}) could not be read; nothing written")
    entries: dict[str, tuple[str, dict]] = {}
    total = malformed = 0
    conflicted: set[str] = set()
    for secret_id, unit in units.items():
        assert isinstance(unit, Unit)
        for index, entry in enumerate(unit.doc["keys"]):
            digest = entry_hash(entry)
            if digest is None:
                say(f"{secret_id}: keys[{index}] is not a usable entry; skipped (the function leaves it out too)")
                malformed += 1
                continue
            total += 1
            if digest in entries and settings(entries[digest][1]) != settings(entry):
                if digest not in conflicted:
                    say(
                        f"conflict: sha256 {digest} is listed twice in the source with different settings "
                        f"({entries[digest][0]} and {secret_id}); the function refuses it; skipped"
                    )
                conflicted.add(digest)
            entries.setdefault(digest, (secret_id, entry))
    for digest in conflicted:
        del entries[digest]
    return SourceEntries(entries, total, malformed, len(conflicted))


def check_migration(target: Layout, source: Layout) -> None:
    overlap = set(target.secret_ids()) & set(source.secret_ids())
    if overlap:
        raise UsageError(
            f"the target layout {target} and the source layout {source} share secrets "
            f"(e.g. {min(overlap)}); migrate to a new prefix"
        )


def read_targets(client: Any, target: Layout) -> dict[str, Unit]:
    units = read_units(client, target.secret_ids())
    missing = [secret_id for secret_id, unit in units.items() if isinstance(unit, ToolError)]
    if missing:
        for secret_id in missing:
            say(str(units[secret_id]))
        hint = " (run init first)" if target.units > 1 else ""
        raise ToolError(f"{len(missing)} of the target's units could not be read ({target}){hint}; nothing written")
    return {secret_id: unit for secret_id, unit in units.items() if isinstance(unit, Unit)}


class Merge:
    """Adds source entries to a target unit's value: an entry already there is kept as it is."""

    def __init__(self, group: list[tuple[str, str, dict]]) -> None:
        self.group = group  # (sha256, source secret id, entry)
        self.added: list[tuple[str, str]] = []
        self.already: list[tuple[str, str]] = []
        self.conflicts: list[tuple[str, str]] = []

    def __call__(self, doc: dict) -> bool:
        self.added, self.already, self.conflicts = [], [], []  # again on each attempt
        for digest, source_id, entry in self.group:
            there = listed(doc, digest)
            if not there:
                doc["keys"].append(copy.deepcopy(entry))
                self.added.append((digest, source_id))
            elif all(settings(e) == settings(entry) for e in there):
                self.already.append((digest, source_id))
            else:
                self.conflicts.append((digest, source_id))
        return bool(self.added)


def cmd_migrate(client: Any, target: Layout, source: Layout) -> int:
    check_migration(target, source)
    found = read_source(client, source)
    read_targets(client, target)  # every target unit exists, before anything is written
    by_unit: dict[str, list[tuple[str, str, dict]]] = {}
    for digest, (source_id, entry) in sorted(found.entries.items()):
        by_unit.setdefault(target.secret_id_of_hash(digest), []).append((digest, source_id, entry))

    added = already = conflicts = units_written = 0
    too_big = []
    for secret_id, group in by_unit.items():
        change = Merge(group)
        try:
            written = write_unit(client, secret_id, change)
        except TooBig as err:
            say(str(err))
            too_big.append(secret_id)
            continue
        report_write(written)
        units_written += written.changed
        added += len(change.added)
        already += len(change.already)
        for digest, source_id in change.conflicts:
            say(
                f"conflict: {secret_id} lists sha256 {digest} with other settings than {source_id}; "
                "kept the target's (compare them with list, fix one side, then run migrate again)"
            )
        conflicts += len(change.conflicts)

    conflicts += found.conflicts
    emit(
        {
            "from": str(source),
            "to": str(target),
            "sourceEntries": found.total,
            "added": added,
            "alreadyThere": already,
            "conflicts": conflicts,
            "malformedSkipped": found.malformed,
            "unitsWritten": units_written,
            "unitsTooBig": len(too_big),
        }
    )
    if too_big:
        raise TooBig(f"{len(too_big)} target units would go over {MAX_SECRET_BYTES:,} bytes and were not written")
    if conflicts:
        raise ToolError(f"{conflicts} conflicts; the rest is migrated")
    return 0


def cmd_verify(client: Any, target: Layout, source: Layout) -> int:
    check_migration(target, source)
    found = read_source(client, source)
    units = read_targets(client, target)
    present = missing = different = 0
    for digest, (source_id, entry) in sorted(found.entries.items()):
        secret_id = target.secret_id_of_hash(digest)
        there = listed(units[secret_id].doc, digest)
        if not there:
            say(f"missing: sha256 {digest} of {source_id} is not in {secret_id}")
            missing += 1
        elif any(settings(e) != settings(entry) for e in there):
            say(f"different: sha256 {digest} is in {secret_id} with other settings than in {source_id}")
            different += 1
        else:
            present += 1
    only_target = sum(
        1
        for unit in units.values()
        for e in unit.doc["keys"]
        if (digest := entry_hash(e)) is not None and digest not in found.entries
    )
    emit(
        {
            "from": str(source),
            "to": str(target),
            "sourceEntries": found.total,
            "present": present,
            "missing": missing,
            "different": different,
            "sourceConflicts": found.conflicts,
            "malformedSkipped": found.malformed,
            "onlyInTarget": only_target,
        }
    )
    if missing or different or found.conflicts:
        raise ToolError(
            f"not migrated: {missing} missing, {different} different, {found.conflicts} conflicting in the source"
        )
    say(f"every source entry is in its unit of {target}")
    return 0


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    layout = argparse.ArgumentParser(add_help=False)
    layout.add_argument("--prefix", required=True, help="the secret (one unit) or the units' name prefix")
    layout.add_argument("--units", type=int, required=True, help=f"the number of units, 1 to {MAX_UNITS:,}")

    def key_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--sha256", metavar="HEX", help="the key's hash, instead of typing or piping the key")
        parser.add_argument("--previous-prefix", metavar="Q", help="during a migration: the previous layout's prefix")
        parser.add_argument(
            "--previous-units", metavar="M", type=int, help="during a migration: its units (1: the one secret Q)"
        )

    def source_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--from-prefix", metavar="Q", required=True, help="the source layout's prefix (an ARN when --from-units 1)"
        )
        parser.add_argument(
            "--from-units", metavar="M", type=int, required=True, help="the source layout's units (1: the one secret Q)"
        )

    parser = argparse.ArgumentParser(
        description="Manage API keys spread over Secrets Manager secrets; the key itself is never printed or stored."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    init = sub.add_parser("init", parents=[layout], help="create the missing units")
    init.add_argument("--kms-key-id", help="the KMS key of the new units (default: aws/secretsmanager)")
    init.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="a tag of the new units (repeat)")
    add = sub.add_parser("add", parents=[layout], help="write a key's entry into its unit")
    add.add_argument("--account", required=True, help="the accountId the key acts for")
    add.add_argument("--name", required=True, help="a label for the key, e.g. CI")
    add.add_argument(
        "--scope", action="append", metavar="SCOPE", help="limit the key to this scope (repeat, or commas)"
    )
    add.add_argument("--generate", action="store_true", help="make a new random key and show it once on the terminal")
    for action in ("disable", "enable", "remove"):
        key_options(sub.add_parser(action, parents=[layout], help=f"{action} a key"))
    listing = sub.add_parser("list", parents=[layout], help="every entry as JSON lines, unit sizes on stderr")
    listing.add_argument("--account", help="only this account's entries")
    source_options(sub.add_parser("migrate", parents=[layout], help="copy every entry of another layout into this one"))
    verify = sub.add_parser("verify", parents=[layout], help="check that every entry of another layout is in this one")
    source_options(verify)
    return parser.parse_args(argv)


def run(args: argparse.Namespace, client: Any) -> int:
    layout = check_layout(args.prefix, args.units)
    command = args.command
    if command == "init":
        return cmd_init(client, layout, args.kms_key_id, args.tag)
    if command == "add":
        return cmd_add(client, layout, args)
    if command in ("disable", "enable", "remove"):
        previous = None
        if args.previous_prefix is not None or args.previous_units is not None:
            previous = check_layout(args.previous_prefix, args.previous_units, "previous-")
            if previous == layout:
                raise UsageError("--previous-prefix/--previous-units: the same layout as --prefix/--units")
        return cmd_change(client, layout, previous, command, args)
    if command == "list":
        return cmd_list(client, layout, args.account)
    source = check_layout(args.from_prefix, args.from_units, "from-")
    if command == "migrate":
        return cmd_migrate(client, layout, source)
    return cmd_verify(client, layout, source)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        client = boto3.client("secretsmanager")
        say(f"Secrets Manager at {client.meta.endpoint_url} ({client.meta.region_name})")
        return run(args, client)
    except UsageError as err:
        say(str(err))
        return 2
    except ToolError as err:
        say(str(err))
        return err.code
    except ClientError as err:
        say(describe_client_error(err))
        return 1
    except (BotoCoreError, OSError, EOFError, KeyboardInterrupt) as err:
        say(f"{type(err).__name__}: {err}")
        return 1


if __name__ == "__main__":
    sys.exit(main())

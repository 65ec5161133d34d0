#!/usr/bin/env python3
"""Make the API-keys secret entry of a key: {"sha256": ..., "accountId": ..., "name": ...}, with
"scopes": [...] when --scope is given (without it, the key has every scope).

The plaintext key never reaches a file, argv, the environment or a log:

* typed:      when stdin is a terminal (or is the secret, --merge -), it is read from the
              terminal with getpass (no echo), twice, and must match;
* piped:      otherwise it is the first line of stdin (the newline is dropped);
* generated:  --generate makes a 256-bit random key (secrets.token_urlsafe) and shows it
              once, on the terminal (stderr). It refuses when stderr is not a terminal,
              so a new key cannot end up in a redirected log.

The entry goes to stdout as one JSON line. With --merge FILE (a path, or - for stdin) it
prints instead the whole secret: FILE's {"keys": [...]} with the entry appended, ready for
`aws secretsmanager put-secret-value --secret-string file://FILE` (see docs/api-keys.md).
Secrets Manager refuses a secret value over 65,536 bytes, so --merge refuses (exit 2) to print
a secret over that, and warns on stderr from 80% of it (52,429 bytes).

Examples:
    make api-key-entry ACCOUNT=acct_123 NAME=CI                 # type or paste the key
    make api-key-entry ACCOUNT=acct_123 NAME=CI GENERATE=1      # make a new key
    make api-key-entry ACCOUNT=acct_123 NAME=CI SCOPES=integrations:delete,integrations:read
    python3 scripts/api-key-entry.py --account acct_123 --name CI --generate --merge - < secret.json

Only the Python standard library is used.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import os
import secrets
import sys

MIN_KEY_LENGTH = 16
# The scopes the function knows; a key with scopes but without integrations:delete gets 403.
KNOWN_SCOPES = {"integrations:delete", "integrations:read"}
GENERATED_KEY_BYTES = 32  # 256 bits of randomness, 43 URL-safe characters
HEX_DIGITS = set("0123456789abcdef")
# Secrets Manager's "Secret value size" quota, not adjustable (read 2026-12-07):
# https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html
MAX_SECRET_BYTES = 65536
WARN_SECRET_BYTES = 52429  # 80% of MAX_SECRET_BYTES, rounded up


class UsageError(Exception):
    """Bad input; the message never contains the key."""


def check_key(key: str) -> str:
    # The function reads the key from the x-api-key header: visible ASCII (spaces inside
    # allowed), trimmed. A key that does not survive that unchanged could never match.
    if not key:
        raise UsageError("the key is empty")
    if key != key.strip():
        raise UsageError("the key starts or ends with whitespace (the header is trimmed, so it could never match)")
    if any(not (0x20 <= ord(c) <= 0x7E) for c in key):
        raise UsageError("the key has a character outside printable ASCII (not valid in an HTTP header)")
    if "," in key:
        # HTTP APIs and Function URLs join a repeated header's values with commas, so the
        # function refuses any x-api-key value that holds one.
        raise UsageError("the key has a comma (the function reads a comma as the header sent twice)")
    if len(key) < MIN_KEY_LENGTH:
        raise UsageError(f"the key is shorter than {MIN_KEY_LENGTH} characters; use --generate for a strong one")
    return key


def check_scopes(given: list[str]) -> list[str]:
    scopes = [s.strip() for value in given for s in value.split(",") if s.strip()]
    if not scopes:
        raise UsageError("--scope: no scope given")
    unknown = sorted(set(scopes) - KNOWN_SCOPES)
    if unknown:
        raise UsageError(f"--scope: unknown {', '.join(unknown)} (known: {', '.join(sorted(KNOWN_SCOPES))})")
    return sorted(set(scopes))


def check_text(what: str, value: str) -> str:
    if not value.strip():
        raise UsageError(f"{what} is empty")
    if value != value.strip():
        raise UsageError(f"{what} starts or ends with whitespace")
    return value


def make_entry(key: str, account: str, name: str, scopes: list[str] | None) -> dict:
    """The secret's entry of a checked key; scopes as given to --scope (None: every scope)."""
    entry = {"sha256": hashlib.sha256(key.encode("ascii")).hexdigest(), "accountId": account, "name": name}
    if scopes is not None:
        entry["scopes"] = check_scopes(scopes)
    return entry


def have_terminal() -> bool:
    # getpass falls back to an echoing stdin read when /dev/tty cannot be opened: never let it.
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def read_key_from_terminal() -> str:
    first = getpass.getpass("API key (not echoed): ")
    second = getpass.getpass("the same key again: ")
    if not secrets.compare_digest(first.encode(), second.encode()):
        raise UsageError("the two keys differ")
    return first


def read_key_from_stdin() -> str:
    line = sys.stdin.readline()
    if line.endswith("\n"):
        line = line[:-1]
    if line.endswith("\r"):
        line = line[:-1]
    return line


def obtain_key(generate: bool, stdin_busy: bool = False) -> str:
    """The key: generated (--generate), typed on the terminal twice, or the first line of stdin.

    stdin_busy: stdin carries something else (--merge -), so the key must be typed. The key is
    not checked here (check_key) and not shown (show_generated_key, once the work is done).
    scripts/api-keys.py reads keys through this function too.
    """
    if generate:
        if not sys.stderr.isatty():
            raise UsageError("--generate shows the new key on the terminal, and stderr is not one; refusing")
        return secrets.token_urlsafe(GENERATED_KEY_BYTES)
    if sys.stdin.isatty() or stdin_busy:
        # getpass reads the controlling terminal, so stdin stays free for --merge -.
        if not have_terminal():
            why = " (with --merge -, stdin is the secret)" if stdin_busy else ""
            raise UsageError(f"no terminal to type the key on{why}; use --generate")
        return read_key_from_terminal()
    return read_key_from_stdin()


def show_generated_key(key: str) -> None:
    sys.stderr.write(
        "\n"
        "New API key (shown this once; store it now, in the customer's secret store or a\n"
        "password manager: it is not kept anywhere, and only its hash goes into the secret):\n"
        "\n"
        f"    {key}\n"
        "\n"
    )
    sys.stderr.flush()


def load_secret(source: str) -> dict:
    if source == "-":
        text = sys.stdin.read()
    else:
        with open(source, encoding="utf-8") as handle:
            text = handle.read()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        # Position only: the message could quote the document.
        raise UsageError(f"--merge: not JSON (line {err.lineno}, column {err.colno})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise UsageError('--merge: expected an object with a "keys" array')
    for index, entry in enumerate(doc["keys"]):
        if not isinstance(entry, dict):
            raise UsageError(f"--merge: keys[{index}] is not an object")
        digest = entry.get("sha256")
        if not isinstance(digest, str) or len(digest) != 64 or not set(digest) <= HEX_DIGITS:
            raise UsageError(f"--merge: keys[{index}].sha256 is not 64 lowercase hexadecimal characters")
        account = entry.get("accountId")
        if not isinstance(account, str) or not account.strip():
            raise UsageError(f"--merge: keys[{index}].accountId is empty")
    return doc


def check_secret_size(size: int) -> str | None:
    """Refuses a merged secret over the limit; returns a warning when it is near it."""
    if size > MAX_SECRET_BYTES:
        raise UsageError(
            f"--merge: the secret would be {size:,} bytes, over Secrets Manager's limit of "
            f"{MAX_SECRET_BYTES:,} bytes for a secret value; remove disabled or unused entries "
            "from it first (it has room for about 490 keys of the usual size)"
        )
    if size >= WARN_SECRET_BYTES:
        return (
            f"warning: the secret is {size:,} bytes, {size / MAX_SECRET_BYTES:.0%} of Secrets Manager's "
            f"limit of {MAX_SECRET_BYTES:,} bytes for a secret value; remove disabled or unused entries "
            "soon (it has room for about 490 keys of the usual size)"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Print the API-keys secret entry (SHA-256 hash) of a key, never the key itself.",
    )
    parser.add_argument("--account", required=True, help="the accountId the key acts for")
    parser.add_argument("--name", required=True, help="a label for the key, e.g. CI (to find it later)")
    parser.add_argument(
        "--generate", action="store_true", help="make a new random key and show it once on the terminal"
    )
    parser.add_argument(
        "--scope",
        action="append",
        metavar="SCOPE",
        help="limit the key to this scope (repeat, or separate with commas); without it, every scope",
    )
    parser.add_argument(
        "--merge",
        metavar="FILE",
        help='append the entry to the secret in FILE ({"keys": [...]}, - for stdin) and print the whole secret',
    )
    args = parser.parse_args(argv)

    try:
        account = check_text("--account", args.account)
        name = check_text("--name", args.name)
        key = obtain_key(args.generate, stdin_busy=args.merge == "-")
        check_key(key)

        entry = make_entry(key, account, name, args.scope)

        if args.merge:
            doc = load_secret(args.merge)
            if any(existing.get("sha256") == entry["sha256"] for existing in doc["keys"]):
                raise UsageError("--merge: the secret already has this key")
            doc["keys"].append(entry)
            output = json.dumps(doc)
            # What print() writes, newline included: the value `file://FILE` would send.
            warning = check_secret_size(len((output + "\n").encode("utf-8")))
        else:
            output = json.dumps(entry)
            warning = None
    except UsageError as err:
        print(f"api-key-entry: {err}", file=sys.stderr)
        return 2
    except (OSError, EOFError, KeyboardInterrupt) as err:
        print(f"api-key-entry: {type(err).__name__}: {err}", file=sys.stderr)
        return 1

    if warning:
        print(f"api-key-entry: {warning}", file=sys.stderr)
    if args.generate:
        show_generated_key(key)
    del key
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())

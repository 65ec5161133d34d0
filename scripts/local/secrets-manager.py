#!/usr/bin/env python3
"""moto's server, as the local Secrets Manager, with AWS's cap on the size of a secret value.

    .tools/venv/bin/python scripts/local/secrets-manager.py [-H 127.0.0.1] [-p PORT]   (default $MOTO_PORT)

scripts/services.sh runs it in place of `moto_server`. It serves the same application
(moto.server's DomainDispatcherApplication(create_backend_app), with moto's request handler),
on a loopback address only, behind one small WSGI middleware: moto stores a secret value of any
size, while AWS refuses one over 65,536 bytes, so a secret that grows past that (the API-keys
secret, one entry per key) would pass every local test and then fail to deploy.

The limit (read 2026-12-07):

* https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html, "Secret
  value size": 65,536 bytes, not adjustable;
* https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html (and
  CreateSecret, UpdateSecret): SecretString and SecretBinary, "Length Constraints: ... Maximum
  length of 65536".

For secretsmanager.CreateSecret, PutSecretValue and UpdateSecret, the middleware reads the JSON
body and answers HTTP 400 with a ValidationException, in the shape of AWS's documented error
(https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html), when
SecretString is over 65,536 bytes as UTF-8 or SecretBinary (base64 in the body) decodes to over
65,536 bytes. Every other request, and every body it lets through, reaches moto unchanged.

One fix to moto 5.2.5 itself, for the compare-and-set write of `make api-keys`
(PutSecretValue as AWSPENDING, then UpdateSecretVersionStage moving AWSCURRENT with
RemoveFromVersionId): moto moves the label but keeps answering GetSecretValue without a version
with the old version, where AWS answers "the version with VersionStage value of AWSCURRENT"
(https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html,
VersionStage, read 2026-12-07). UpdateSecretVersionStage here also points moto's default version
at the version AWSCURRENT moved to, and runs one at a time, so that its check of
RemoveFromVersionId and its move are one step, as a compare-and-set needs.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import io
import ipaddress
import json
import os
import signal
import sys
import threading
from typing import Any, Callable, Iterable

from moto.secretsmanager.models import SecretsManagerBackend
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple
from werkzeug.wsgi import get_input_stream

MAX_SECRET_VALUE_BYTES = 65536
CHECKED_TARGETS = {
    "secretsmanager.CreateSecret",
    "secretsmanager.PutSecretValue",
    "secretsmanager.UpdateSecret",
}


def oversized_member(body: bytes) -> str | None:
    """The API member name ("secretString" or "secretBinary") that is over the limit, or None."""
    try:
        params = json.loads(body)
    except ValueError:
        return None  # not ours to judge: moto answers it
    if not isinstance(params, dict):
        return None
    value = params.get("SecretString")
    if isinstance(value, str) and len(value.encode("utf-8", "surrogatepass")) > MAX_SECRET_VALUE_BYTES:
        return "secretString"
    value = params.get("SecretBinary")
    if isinstance(value, str):
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(decoded) > MAX_SECRET_VALUE_BYTES:
            return "secretBinary"
    return None


class SecretValueSizeLimit:
    """WSGI middleware: a ValidationException for a secret value over 65,536 bytes."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET") in CHECKED_TARGETS:
            body = get_input_stream(environ).read()
            # Put the body back for moto, whole and with its length.
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            member = oversized_member(body)
            if member is not None:
                error = json.dumps(
                    {
                        "__type": "ValidationException",
                        "message": "1 validation error detected: "
                        f"Value at '{member}' failed to satisfy constraint: "
                        f"Member must have length less than or equal to {MAX_SECRET_VALUE_BYTES}",
                    }
                ).encode()
                start_response(
                    "400 Bad Request",
                    [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(error)))],
                )
                return [error]
        return self.app(environ, start_response)


_moto_update_secret_version_stage = SecretsManagerBackend.update_secret_version_stage
_stage_moves = threading.Lock()


def update_secret_version_stage(
    self: SecretsManagerBackend,
    secret_id: str,
    version_stage: str,
    remove_from_version_id: str,
    move_to_version_id: str,
) -> tuple[str, str]:
    """moto's, one at a time, and GetSecretValue's default version following AWSCURRENT."""
    with _stage_moves:
        answer = _moto_update_secret_version_stage(
            self, secret_id, version_stage, remove_from_version_id, move_to_version_id
        )
        if version_stage == "AWSCURRENT" and move_to_version_id:
            secret = self.secrets[secret_id]
            getattr(secret, "source", secret).set_default_version_id(move_to_version_id)
        return answer


SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage  # type: ignore[method-assign]


def loopback_host(value: str) -> str:
    try:
        if ipaddress.ip_address(value).is_loopback:
            return value
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{value!r} is not a loopback IP address; this server binds to loopback only")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="moto's server with Secrets Manager's secret value size limit.")
    parser.add_argument("-H", "--host", type=loopback_host, default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("-p", "--port", type=int, default=int(os.environ.get("MOTO_PORT", "8766")), help="port")
    args = parser.parse_args(argv)

    os.environ.setdefault("MOTO_PORT", str(args.port))  # as moto_server does
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))

    app = SecretValueSizeLimit(DomainDispatcherApplication(create_backend_app))
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()

"""The local Secrets Manager (scripts/local/secrets-manager.py) as a child process, for the tests.

Shared by test_secrets_manager_limit.py and test_api_keys_tool.py. Each test class starts its own
on a free 127.0.0.1 port (not $MOTO_PORT, so the services of make dev may be up meanwhile) and
stops it at the end. isolate_aws() keeps the calling shell's AWS setup (a profile, a config
file, an endpoint) away from boto3, in this process and in the children it starts.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

LAUNCHER = Path(__file__).resolve().parents[1] / "local" / "secrets-manager.py"
START_TIMEOUT = 60.0
REGION = "us-east-1"
# Dummy credentials: the stand-in accepts any.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


def isolate_aws() -> None:
    """Nothing from the calling shell's AWS setup may reach boto3 (call it before making a client)."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    ):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
    except urllib.error.HTTPError:
        pass  # any status code: something answers
    except OSError:
        return False
    return True


class StandIn:
    """The launcher on a port of its own; `endpoint` once start() returns."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log: IO[bytes] = tempfile.TemporaryFile()
        self.process: subprocess.Popen | None = None

    def start(self) -> StandIn:
        self.process = subprocess.Popen(
            [sys.executable, str(LAUNCHER), "-H", "127.0.0.1", "-p", str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not answers(self.endpoint + "/"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                output = self.log.read().decode(errors="replace")
                self.stop()
                raise RuntimeError(f"the launcher did not start on {self.endpoint}:\n{output}")
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        self.log.close()

    def client(self):  # -> botocore's SecretsManager client
        import boto3

        return boto3.client(
            "secretsmanager",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def environment(self) -> dict[str, str]:
        """An environment for a child that talks to this stand-in, and to nothing else."""
        env = dict(os.environ)
        env.update(CREDENTIALS)
        env.update(AWS_ENDPOINT_URL_SECRETS_MANAGER=self.endpoint, AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION)
        return env


def start() -> StandIn:
    isolate_aws()
    return StandIn().start()

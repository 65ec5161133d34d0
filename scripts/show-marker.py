#!/usr/bin/env python3
"""Prints an integration's disconnect marker from the local table, revocation outcomes included.

    make marker ID=int_yt_abc123
    .tools/venv/bin/python scripts/show-marker.py int_yt_abc123     (after source scripts/lib/env.sh)

The marker (INTEGRATION#<id> / DISCONNECTED) as plain JSON, its `revocation` list (one entry per
token revoke-tokens handled: tokenKey, tokenType, platform, outcome, at) last. Exit code 1 when
there is no marker. A marker holds no token values. DynamoDB's endpoint comes from
AWS_ENDPOINT_URL_DYNAMODB and must be local.
"""

from __future__ import annotations

import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import boto3
from boto3.dynamodb.types import TypeDeserializer

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
from seed import LOCAL_HOSTS  # noqa: E402
from table import A  # noqa: E402


def plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(v if isinstance(v, str) else plain(v) for v in value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    raise TypeError(type(value).__name__)


def main() -> int:
    if len(sys.argv) != 2 or not sys.argv[1]:
        print("usage: make marker ID=<integrationId>", file=sys.stderr)
        return 2
    integration_id = sys.argv[1]
    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB", "")
    if urlparse(endpoint).hostname not in LOCAL_HOSTS:
        print("marker: AWS_ENDPOINT_URL_DYNAMODB is not a local endpoint; source scripts/lib/env.sh", file=sys.stderr)
        return 2
    ddb = boto3.client("dynamodb", region_name=os.environ.get("AWS_REGION", "us-east-1"), endpoint_url=endpoint)
    item = ddb.get_item(
        TableName=os.environ["TABLE_NAME"],
        Key={A.PK: {"S": f"INTEGRATION#{integration_id}"}, A.SK: {"S": "DISCONNECTED"}},
        ConsistentRead=True,
    ).get("Item")
    if not item:
        print(f"marker: {integration_id} has no disconnect marker (not disconnected, or reseeded)", file=sys.stderr)
        return 1
    decode = TypeDeserializer().deserialize
    marker = {k: decode(v) for k, v in item.items()}
    revocation = marker.pop(A.REVOCATION, None)
    ordered = dict(sorted(marker.items()))
    ordered[A.REVOCATION] = revocation if revocation is not None else []
    print(json.dumps(ordered, indent=2, default=plain))
    return 0


if __name__ == "__main__":
    sys.exit(main())

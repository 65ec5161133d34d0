#!/usr/bin/env python3
"""Seed the local stand-ins (DynamoDB Local + moto) with the demo state.

Run with the venv python, after `source scripts/lib/env.sh` and `scripts/services.sh start`:

    .tools/venv/bin/python scripts/seed.py            # table + TTL + secret + demo items
    .tools/venv/bin/python scripts/seed.py --reset    # demo items only

* The table is created from the IntegrationsTable resource of template.yaml
  (KeySchema, AttributeDefinitions, BillingMode, GlobalSecondaryIndexes,
  StreamSpecification, TimeToLiveSpecification), so the local table and the deployed
  one share one definition. A local table that differs in its keys, its indexes or its
  stream is deleted and created again.
* The API-keys secret holds SHA-256 hashes of the two fake demo keys, computed here;
  the revocation-credentials secret (REVOKE_CREDENTIALS_SECRET_ID) fake client ids and
  secrets of every platform, for revoke-tokens under `make dev`.
* Demo partitions are wiped (markers included) and rewritten, so every run starts
  from the same demo state. Other items in the table are left alone.

Endpoints come from AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SECRETS_MANAGER and
must be local: this script refuses to talk to anything else.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import boto3
import yaml
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts" / "lib"))
from table import A  # noqa: E402  (the table's attribute names, checked against the crate)

TABLE_RESOURCE = "IntegrationsTable"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "host.docker.internal"}

# Fake keys, for local use only (the Rust tests use the same values).
DEMO_KEYS = [
    {"key": "demo_local_key_do_not_use_in_prod", "accountId": "acct_demo", "name": "local-demo"},
    {"key": "other_local_key_do_not_use_in_prod", "accountId": "acct_other", "name": "local-other"},
]

DEMO_ITEMS = [
    {
        A.PK: "INTEGRATION#int_yt_abc123",
        A.SK: "INTEGRATION",
        A.ID: "int_yt_abc123",
        A.ACCOUNT_ID: "acct_demo",
        A.TYPE: "youtube",
        "name": "Demo YouTube channel",
        "createdAt": "2024-01-15T10:00:00Z",
    },
    {
        A.PK: "INTEGRATION#int_yt_abc123",
        A.SK: "TOKEN#access",
        A.TOKEN: "demo-access-token-1",
        A.TOKEN_TYPE: "access_token",
    },
    {
        A.PK: "INTEGRATION#int_yt_abc123",
        A.SK: "TOKEN#refresh",
        A.TOKEN: "demo-refresh-token-1",
        A.TOKEN_TYPE: "refresh_token",
    },
    {
        A.PK: "INTEGRATION#int_tt_other789",
        A.SK: "INTEGRATION",
        A.ID: "int_tt_other789",
        A.ACCOUNT_ID: "acct_other",
        A.TYPE: "tiktok",
        "name": "Other TikTok account",
        "createdAt": "2024-02-20T12:30:00Z",
    },
    {
        A.PK: "INTEGRATION#int_tt_other789",
        A.SK: "TOKEN#access",
        A.TOKEN: "demo-access-token-2",
        A.TOKEN_TYPE: "access_token",
    },
    {
        A.PK: "INTEGRATION#int_tt_other789",
        A.SK: "TOKEN#refresh",
        A.TOKEN: "demo-refresh-token-2",
        A.TOKEN_TYPE: "refresh_token",
    },
    {
        A.PK: "INTEGRATION#int_rd_demo456",
        A.SK: "INTEGRATION",
        A.ID: "int_rd_demo456",
        A.ACCOUNT_ID: "acct_demo",
        A.TYPE: "reddit",
        "name": "Demo Reddit account",
        "createdAt": "2024-03-05T08:00:00Z",
    },
    {
        A.PK: "INTEGRATION#int_rd_demo456",
        A.SK: "TOKEN#access",
        A.TOKEN: "demo-access-token-3",
        A.TOKEN_TYPE: "access_token",
    },
    {
        A.PK: "INTEGRATION#int_rd_demo456",
        A.SK: "TOKEN#refresh",
        A.TOKEN: "demo-refresh-token-3",
        A.TOKEN_TYPE: "refresh_token",
    },
    {
        A.PK: "POST#post_demo_1",
        A.SK: "POST",
        A.ID: "post_demo_1",
        "integrationId": "int_yt_abc123",
        "status": "pending",
    },
]


# Fake client credentials of every platform revoke-tokens knows (the stub of `make dev` accepts
# anything); the shape of the deployed secret.
DEMO_REVOKE_CREDENTIALS = {
    platform: {"clientId": f"demo-{platform}-client-id", "clientSecret": f"demo-{platform}-client-secret-not-real"}
    for platform in ("google", "tiktok", "meta", "linkedin", "x", "reddit", "discord")
}
# Mastodon apps are registered per server: the local stub plays the server `localhost`.
DEMO_REVOKE_CREDENTIALS["mastodon"] = {
    "localhost": {"clientId": "demo-mastodon-client-id", "clientSecret": "demo-mastodon-client-secret-not-real"}
}


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that accepts CloudFormation short-form tags (!Ref, !GetAtt, !Sub, ...)."""


def _cfn_tag(loader: yaml.Loader, tag_suffix: str, node: yaml.Node):
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def die(msg: str) -> None:
    print(f"seed: {msg}", file=sys.stderr)
    sys.exit(1)


def local_endpoint(var: str) -> str:
    url = os.environ.get(var)
    if not url:
        die(f"{var} is not set; run `source scripts/lib/env.sh` first")
    if urlparse(url).hostname not in LOCAL_HOSTS:
        die(f"{var}={url} is not a local endpoint; refusing to seed it")
    return url


def table_definition(template: Path) -> dict:
    doc = yaml.load(template.read_text(), Loader=CfnLoader)  # noqa: S506 (SafeLoader subclass)
    try:
        res = doc["Resources"][TABLE_RESOURCE]
    except (KeyError, TypeError):
        die(f"{template} has no Resources.{TABLE_RESOURCE}")
    if res.get("Type") != "AWS::DynamoDB::Table":
        die(f"{TABLE_RESOURCE} in {template} is not an AWS::DynamoDB::Table")
    props = res["Properties"]
    definition = {
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
        "TimeToLiveSpecification": props.get("TimeToLiveSpecification"),
        "GlobalSecondaryIndexes": props.get("GlobalSecondaryIndexes") or [],
        # The view type only: its ResourcePolicy (who may read the stream) names IAM roles,
        # which DynamoDB Local neither has nor enforces.
        "StreamSpecification": {
            k: v for k, v in (props.get("StreamSpecification") or {}).items() if k != "ResourcePolicy"
        }
        or None,
    }
    if "Fn::" in json.dumps(definition) or '"Ref"' in json.dumps(definition):
        die(
            f"{TABLE_RESOURCE} uses intrinsic functions in its key, index, stream or TTL settings; "
            "seed.py needs literals"
        )
    if definition["BillingMode"] == "PROVISIONED":
        definition["ProvisionedThroughput"] = props["ProvisionedThroughput"]
    return definition


def stream_view_type(definition: dict):
    """The template's stream view type, or None without a stream."""
    spec = definition.get("StreamSpecification") or {}
    return spec.get("StreamViewType")


def index_shapes(indexes) -> list:
    """What seed.py compares of GSIs: names, key schemas and projections."""
    return sorted(
        (
            gsi["IndexName"],
            json.dumps(sorted(gsi["KeySchema"], key=lambda k: k["KeyType"]), sort_keys=True),
            json.dumps(
                {
                    "ProjectionType": gsi.get("Projection", {}).get("ProjectionType", "ALL"),
                    "NonKeyAttributes": sorted(gsi.get("Projection", {}).get("NonKeyAttributes", [])),
                },
                sort_keys=True,
            ),
        )
        for gsi in indexes or []
    )


def create_table(ddb, name: str, definition: dict) -> None:
    kwargs = {
        "TableName": name,
        "KeySchema": definition["KeySchema"],
        "AttributeDefinitions": definition["AttributeDefinitions"],
        "BillingMode": definition["BillingMode"],
    }
    if "ProvisionedThroughput" in definition:
        kwargs["ProvisionedThroughput"] = definition["ProvisionedThroughput"]
    if definition["GlobalSecondaryIndexes"]:
        kwargs["GlobalSecondaryIndexes"] = definition["GlobalSecondaryIndexes"]
    view_type = stream_view_type(definition)
    if view_type:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view_type}
    ddb.create_table(**kwargs)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    extras = [f"GSI {gsi['IndexName']}" for gsi in definition["GlobalSecondaryIndexes"]]
    if view_type:
        extras.append(f"stream {view_type}")
    print(f"seed: created table {name} from template.yaml ({', '.join([definition['BillingMode'], *extras])})")


def ensure_table(ddb, name: str, definition: dict) -> None:
    def by_type(keys):
        return sorted(keys, key=lambda k: k["KeyType"])

    try:
        desc = ddb.describe_table(TableName=name)["Table"]
    except ddb.exceptions.ResourceNotFoundException:
        create_table(ddb, name, definition)
    else:
        stream = desc.get("StreamSpecification") or {}
        have_view = stream.get("StreamViewType") if stream.get("StreamEnabled") else None
        differences = []
        if by_type(desc["KeySchema"]) != by_type(definition["KeySchema"]):
            differences.append("another key schema")
        if index_shapes(desc.get("GlobalSecondaryIndexes")) != index_shapes(definition["GlobalSecondaryIndexes"]):
            differences.append("other global secondary indexes")
        if have_view != stream_view_type(definition):
            differences.append(f"stream {have_view or 'off'}, not {stream_view_type(definition) or 'off'}")
        if not differences:
            print(f"seed: table {name} exists")
        else:
            print(f"seed: table {name} has {', '.join(differences)}; recreating it")
            ddb.delete_table(TableName=name)
            ddb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
            create_table(ddb, name, definition)

    ttl = definition.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        current = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and current.get(
            "AttributeName"
        ) == ttl["AttributeName"]:
            print(f"seed: TTL already on {ttl['AttributeName']}")
        else:
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
            print(f"seed: enabled TTL on {ttl['AttributeName']}")


def api_keys_secret() -> dict:
    return {
        "keys": [
            {
                "sha256": hashlib.sha256(k["key"].encode()).hexdigest(),
                "accountId": k["accountId"],
                "name": k["name"],
            }
            for k in DEMO_KEYS
        ]
    }


def ensure_secret(sm, secret_id: str, secret: dict, description: str) -> None:
    body = json.dumps(secret)
    try:
        sm.create_secret(Name=secret_id, SecretString=body, Description=description)
        print(f"seed: created secret {secret_id}")
    except ClientError as err:
        if err.response["Error"]["Code"] != "ResourceExistsException":
            raise
        sm.put_secret_value(SecretId=secret_id, SecretString=body)
        print(f"seed: updated secret {secret_id}")


def reset_items(ddb, name: str) -> None:
    # Wipe every item of the demo partitions (markers included), then rewrite them.
    partitions = sorted({item[A.PK] for item in DEMO_ITEMS})
    removed = 0
    for pk in partitions:
        kwargs = {
            "TableName": name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": A.PK, "#sk": A.SK},
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ProjectionExpression": "#pk, #sk",
        }
        while True:
            page = ddb.query(**kwargs)
            for key in page["Items"]:
                ddb.delete_item(TableName=name, Key=key)
                removed += 1
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    for item in DEMO_ITEMS:
        ddb.put_item(TableName=name, Item={k: {"S": v} for k, v in item.items()})
    print(f"seed: demo items reset ({removed} removed, {len(DEMO_ITEMS)} written)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reset", action="store_true", help="recreate the demo items only")
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    args = parser.parse_args()

    table = os.environ.get("TABLE_NAME") or die("TABLE_NAME is not set")
    secret_id = os.environ.get("API_KEYS_SECRET_ID") or die("API_KEYS_SECRET_ID is not set")
    revoke_secret_id = os.environ.get("REVOKE_CREDENTIALS_SECRET_ID") or die(
        "REVOKE_CREDENTIALS_SECRET_ID is not set"
    )
    region = os.environ.get("AWS_REGION", "us-east-1")

    ddb = boto3.client("dynamodb", region_name=region, endpoint_url=local_endpoint("AWS_ENDPOINT_URL_DYNAMODB"))
    started = time.monotonic()
    if not args.reset:
        ensure_table(ddb, table, table_definition(args.template))
        sm = boto3.client(
            "secretsmanager",
            region_name=region,
            endpoint_url=local_endpoint("AWS_ENDPOINT_URL_SECRETS_MANAGER"),
        )
        ensure_secret(sm, secret_id, api_keys_secret(), "local demo API keys (hashes)")
        ensure_secret(
            sm,
            revoke_secret_id,
            DEMO_REVOKE_CREDENTIALS,
            "local demo platform client credentials (fake) for revoke-tokens",
        )
    reset_items(ddb, table)
    print(f"seed: done in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Tests of scripts/local/secrets-manager.py: moto's server with Secrets Manager's 65,536-byte cap
on a secret value (which moto alone does not enforce).

The launcher runs as a child process, as scripts/services.sh runs it, on a free 127.0.0.1 port of
its own (not $MOTO_PORT, so the services may be up meanwhile), and boto3 talks to it with dummy
credentials (stand_in.py, shared with test_api_keys_tool.py). Needs the tools venv (boto3, moto):

    .tools/venv/bin/python scripts/tests/test_secrets_manager_limit.py
"""

from __future__ import annotations

import unittest
import uuid

import stand_in

stand_in.isolate_aws()  # nothing from the calling shell's AWS setup may reach boto3

from botocore.exceptions import ClientError  # noqa: E402

LIMIT = 65536


class SecretValueSizeLimit(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        server = stand_in.start()
        cls.addClassCleanup(server.stop)
        cls.client = server.client()

    def name(self) -> str:
        return f"test/limit-{uuid.uuid4().hex}"

    def assert_refused(self, call, member: str = "secretString", **params) -> None:
        with self.assertRaises(ClientError) as caught:
            call(**params)
        error = caught.exception.response["Error"]
        self.assertEqual(error["Code"], "ValidationException")
        self.assertEqual(
            error["Message"],
            f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {LIMIT}",
        )
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)

    def versions(self, name: str) -> list:
        # Ids and stages only: moto reports every version's dates as the time of the call.
        listed = self.client.list_secret_version_ids(SecretId=name)["Versions"]
        return sorted((v["VersionId"], sorted(v["VersionStages"])) for v in listed)

    def assert_absent(self, name: str) -> None:
        with self.assertRaises(ClientError) as caught:
            self.client.describe_secret(SecretId=name)
        self.assertEqual(caught.exception.response["Error"]["Code"], "ResourceNotFoundException")

    def test_a_value_of_exactly_the_limit_is_stored_whole(self):
        value = "v" * LIMIT
        name = self.name()
        self.client.create_secret(Name=name, SecretString=value)
        self.assertEqual(self.client.get_secret_value(SecretId=name)["SecretString"], value)

    def test_create_over_the_limit_is_refused_and_creates_nothing(self):
        name = self.name()
        self.assert_refused(self.client.create_secret, Name=name, SecretString="v" * (LIMIT + 1))
        self.assert_absent(name)

    def test_put_and_update_over_the_limit_are_refused_and_change_nothing(self):
        name = self.name()
        self.client.create_secret(Name=name, SecretString='{"keys": []}')
        versions = self.versions(name)
        too_big = "v" * (LIMIT + 1)
        self.assert_refused(self.client.put_secret_value, SecretId=name, SecretString=too_big)
        self.assert_refused(self.client.update_secret, SecretId=name, SecretString=too_big)
        self.assertEqual(self.client.get_secret_value(SecretId=name)["SecretString"], '{"keys": []}')
        self.assertEqual(self.versions(name), versions)

    def test_the_limit_counts_utf8_bytes_not_characters(self):
        for char in ("\u00e9", "\U0001f600"):  # 2 and 4 bytes in UTF-8
            width = len(char.encode("utf-8"))
            with self.subTest(char=char):
                at_limit = char * (LIMIT // width)
                name = self.name()
                self.client.create_secret(Name=name, SecretString=at_limit)
                self.assertEqual(self.client.get_secret_value(SecretId=name)["SecretString"], at_limit)
                over = at_limit + char  # far fewer than 65,536 characters, over 65,536 bytes
                self.assertLess(len(over), LIMIT)
                self.assertGreater(len(over.encode("utf-8")), LIMIT)
                self.assert_refused(self.client.put_secret_value, SecretId=name, SecretString=over)
                self.assertEqual(self.client.get_secret_value(SecretId=name)["SecretString"], at_limit)
                other = self.name()
                self.assert_refused(self.client.create_secret, Name=other, SecretString=over)
                self.assert_absent(other)

    def test_secret_binary_counts_its_decoded_bytes(self):
        name = self.name()
        self.client.create_secret(Name=name, SecretBinary=b"\x00" * LIMIT)
        self.assertEqual(self.client.get_secret_value(SecretId=name)["SecretBinary"], b"\x00" * LIMIT)
        self.assert_refused(self.client.put_secret_value, "secretBinary", SecretId=name, SecretBinary=b"\xff" * (LIMIT + 1))
        self.assertEqual(self.client.get_secret_value(SecretId=name)["SecretBinary"], b"\x00" * LIMIT)
        other = self.name()
        self.assert_refused(self.client.create_secret, "secretBinary", Name=other, SecretBinary=b"\xff" * (LIMIT + 1))
        self.assert_absent(other)

    def test_other_calls_pass_through(self):
        name = self.name()
        self.client.create_secret(Name=name, SecretString="small")
        self.client.put_secret_value(SecretId=name, SecretString="still small")
        self.client.update_secret(SecretId=name, Description="described")
        names = [s["Name"] for s in self.client.list_secrets(MaxResults=100)["SecretList"]]
        self.assertIn(name, names)
        self.assertEqual(self.client.describe_secret(SecretId=name)["Description"], "described")
        self.assertEqual(self.client.get_secret_value(SecretId=name)["SecretString"], "still small")


if __name__ == "__main__":
    unittest.main(verbosity=1)

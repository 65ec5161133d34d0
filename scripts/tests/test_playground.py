#!/usr/bin/env python3
"""The browser test of the API playground: the page in headless Chromium, through to DynamoDB.

scripts/browser-test.sh runs it (a step of `make test`), with the page served by
scripts/local/playground-server.py and the function under `cargo lambda watch`:

    .tools/venv/bin/python scripts/tests/test_playground.py --url http://127.0.0.1:PORT/ \
        [--screenshot .local/test-output/playground.png] [--docs-screenshot docs/img/playground.png]

Debian's Chromium (/usr/bin/chromium, `scripts/bootstrap.sh browser`) is driven by the venv's
Playwright; Playwright's own browsers are never used. The environment is scripts/lib/env.sh's
(DynamoDB Local, TABLE_NAME, DEMO_API_KEY). The test seeds integrations of its own, which no other
test touches, and reads the table back after each call. It never skips: a missing Chromium, a
page that does not load or a call that does not reach the function fails it.

Every selector is Swagger UI's own stable classes or an id it derives from the spec; a response
is read from the live response panel (`.live-responses-table`), which exists only after a call,
never from the static example beside it, which shows the same message.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import unittest
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import yaml
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from seed import LOCAL_HOSTS  # noqa: E402
sys.path.insert(0, str(ROOT / "scripts" / "lib"))
from table import A  # noqa: E402  (the table's attribute names)

SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())
OPERATION = "#operations-integrations-disconnectIntegration"
CALL_TIMEOUT_MS = 90_000  # the first call may also start the function under watch

# The test's own integrations (scripts/seed.py's shape): one of the demo key's account, and one
# of another account, which the demo key must not see.
OWN_ID = "int_yt_playground"
OTHER_ID = "int_tt_playground_other"
OWN_ITEMS = [
    {A.SK: "INTEGRATION", A.ID: OWN_ID, A.ACCOUNT_ID: "acct_demo", A.TYPE: "youtube",
     "name": "Playground YouTube channel", "createdAt": "2024-04-01T09:00:00Z"},
    {A.SK: "TOKEN#access", A.TOKEN: "playground-access-token", A.TOKEN_TYPE: "access_token"},
    {A.SK: "TOKEN#refresh", A.TOKEN: "playground-refresh-token", A.TOKEN_TYPE: "refresh_token"},
]
OTHER_ITEMS = [
    {A.SK: "INTEGRATION", A.ID: OTHER_ID, A.ACCOUNT_ID: "acct_other", A.TYPE: "tiktok",
     "name": "Playground TikTok account of another account", "createdAt": "2024-04-02T09:00:00Z"},
    {A.SK: "TOKEN#access", A.TOKEN: "playground-other-access-token", A.TOKEN_TYPE: "access_token"},
]
WRONG_KEY = "wrong_local_key_not_in_the_secret"

ARGS: argparse.Namespace


class Table:
    """The local table, read and written with boto3 (env.sh's endpoint, which must be local)."""

    def __init__(self) -> None:
        endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB", "")
        if urlsplit(endpoint).hostname not in LOCAL_HOSTS:
            raise SystemExit("test_playground: AWS_ENDPOINT_URL_DYNAMODB is not local; source scripts/lib/env.sh")
        self.name = os.environ["TABLE_NAME"]
        self.ddb = boto3.client("dynamodb", region_name=os.environ.get("AWS_REGION", "us-east-1"), endpoint_url=endpoint)

    def partition(self, integration_id: str) -> dict[str, dict]:
        """Every item of INTEGRATION#<id>, by sort key."""
        items, kwargs = {}, {
            "TableName": self.name, "ConsistentRead": True,
            "KeyConditionExpression": "#pk = :pk", "ExpressionAttributeNames": {"#pk": A.PK},
            "ExpressionAttributeValues": {":pk": {"S": f"INTEGRATION#{integration_id}"}},
        }
        while True:
            page = self.ddb.query(**kwargs)
            for item in page["Items"]:
                items[item[A.SK]["S"]] = {k: next(iter(v.values())) for k, v in item.items()}
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def reset(self, integration_id: str, items: list[dict]) -> None:
        pk = f"INTEGRATION#{integration_id}"
        for sk in self.partition(integration_id):
            self.ddb.delete_item(TableName=self.name, Key={A.PK: {"S": pk}, A.SK: {"S": sk}})
        for item in items:
            self.ddb.put_item(TableName=self.name, Item={k: {"S": v} for k, v in {A.PK: pk, **item}.items()})


class Playground(unittest.TestCase):
    """One browser session, in order: the page, the calls, then what the page sent and kept."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.key = os.environ["DEMO_API_KEY"]
        cls.table = Table()
        cls.table.reset(OWN_ID, OWN_ITEMS)
        cls.table.reset(OTHER_ID, OTHER_ITEMS)
        cls.requests: list[str] = []   # every URL the page asked for
        cls.refused: list[str] = []    # those not on 127.0.0.1, refused before leaving
        cls.problems: list[str] = []   # page errors and Content-Security-Policy refusals
        cls.sent: list = []            # the API calls, as Playwright saw them
        cls.playwright = sync_playwright().start()
        # Debian's Chromium; no proxy, whatever the environment says, so nothing is relayed.
        cls.browser = cls.playwright.chromium.launch(
            executable_path=ARGS.chromium, args=["--no-proxy-server"], headless=True)
        cls.context = cls.browser.new_context(
            viewport={"width": 1000, "height": 900}, device_scale_factor=1, service_workers="block")
        cls.context.route("**/*", cls._gate)
        cls.page = cls.context.new_page()
        cls.page.on("request", lambda request: cls.requests.append(request.url))
        cls.page.on("pageerror", lambda error: cls.problems.append(f"page error: {error}"))
        cls.page.on("console", cls._console)
        cls.page.goto(ARGS.url)
        cls.page.locator(OPERATION).wait_for(timeout=30_000)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.context.close()
        cls.browser.close()
        cls.playwright.stop()

    @classmethod
    def _gate(cls, route) -> None:
        """Lets only 127.0.0.1 through; anything else is recorded and never sent."""
        parts = urlsplit(route.request.url)
        if parts.scheme in ("http", "https") and parts.hostname != "127.0.0.1":
            cls.refused.append(route.request.url)
            route.abort("blockedbyclient")
        else:
            route.continue_()

    @classmethod
    def _console(cls, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            cls.problems.append(f"console: {message.text}")

    # --- the page's controls ------------------------------------------------------------

    def authorize(self, key: str | None) -> None:
        """Sets the page's API key through Swagger UI's Authorize dialog (None: no key)."""
        page = self.page
        page.locator(".auth-wrapper button.authorize").click()
        modal = page.locator(".modal-ux")
        modal.wait_for()
        logout = modal.locator(".auth-btn-wrapper button", has_text="Logout")
        if logout.count():
            logout.click()
        if key is not None:
            modal.locator("#api_key_value").fill(key)
            modal.locator(".auth-btn-wrapper button[type=submit]").click()
            logout.wait_for()
        modal.locator("button.btn-done").click()
        modal.wait_for(state="detached")

    def send(self, integration_id: str) -> tuple[int, dict]:
        """Sends the DELETE from the page; the status and body its live response panel shows."""
        op = self.page.locator(OPERATION)
        live = op.locator(".live-responses-table")
        if op.locator("button.btn-clear").count():
            op.locator("button.btn-clear").click()
            live.wait_for(state="detached")
        op.locator("tr[data-param-name='integrationId'] input").fill(integration_id)
        with self.page.expect_request(lambda r: urlsplit(r.url).path.startswith("/v1/"), timeout=10_000) as sent:
            op.locator("button.execute").click()
        request = sent.value
        self.sent.append(request)
        status_cell = live.locator("tr.response td.response-col_status")
        status_cell.wait_for(timeout=CALL_TIMEOUT_MS)
        # The status, then "Undocumented" under it when the spec does not list it.
        shown = (status_cell.inner_text().split() or [""])[0]
        details = live.locator("tr.response td.response-col_description").inner_text()
        self.assertTrue(shown.isdigit(), f"the call got no answer; the page shows {shown!r}: {details[:300]!r}")
        body_text = live.locator(".response-col_description .highlight-code pre").first.inner_text()
        try:
            body = json.loads(body_text)
        except ValueError:
            self.fail(f"the page shows {shown} with a body that is not JSON: {body_text[:300]!r}")
        answer = request.response()
        self.assertIsNotNone(answer, "the page shows an answer, but its request got none")
        self.assertEqual(answer.status, int(shown), "the panel's status is not the one the function answered")
        self.assertEqual(answer.json(), body, "the panel's body is not the one the function answered")
        return int(shown), body

    # --- the tests, in order ----------------------------------------------------------------

    def test_1_the_page_shows_the_spec(self) -> None:
        page = self.page
        title = page.locator(".information-container").get_by_role("heading", level=1)
        self.assertIn(SPEC["info"]["title"], title.inner_text())
        op = page.locator(OPERATION)
        example = SPEC["components"]["responses"]["Disconnected"]["content"]["application/json"]["example"]
        static_200 = op.locator("table.responses-table:not(.live-responses-table) tr.response[data-code='200']")
        self.assertIn(example["message"], static_200.inner_text())
        self.assertIn(example["data"]["disconnectedAt"], static_200.inner_text())
        description = op.locator(".opblock-description-wrapper").inner_text()
        for text in ("What happens after disconnection", "Integration disconnected at <time>",
                     "new id", "GET /v1/schedule/list?status=pending", "async function disconnectSafely"):
            self.assertIn(text, description)
        for sample in SPEC["paths"]["/v1/integration/{integrationId}"]["delete"]["x-codeSamples"]:
            self.assertIn(sample["label"], description)
        self.assertIn("There is no undo.", page.locator(".information-container").inner_text())
        self.assertEqual(op.locator(".live-responses-table").count(), 0, "a live response before any call")

    def test_2_the_demo_key_disconnects_the_integration(self) -> None:
        self.authorize(self.key)
        status, body = self.send(OWN_ID)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["success"], True)
        self.assertEqual(body["message"], "Integration disconnected successfully")
        self.assertEqual({k: body["data"][k] for k in ("id", "type", "deleted")},
                         {"id": OWN_ID, "type": "youtube", "deleted": True})
        self.assertEqual(self.sent[-1].all_headers().get("x-api-key"), self.key)
        items = self.table.partition(OWN_ID)
        self.assertNotIn("INTEGRATION", items, "the integration is still in the table")
        self.assertEqual([sk for sk in items if sk.startswith("TOKEN#")], [], "tokens left in the table")
        marker = items.get("DISCONNECTED")
        self.assertIsNotNone(marker, "no disconnect marker in the table")
        self.assertEqual((marker[A.ACCOUNT_ID], marker[A.TYPE], marker[A.DISCONNECTED_AT]),
                         ("acct_demo", "youtube", body["data"]["disconnectedAt"]))
        type(self).first_body = body
        self.screenshot()

    def test_3_sending_it_again_answers_the_same(self) -> None:
        status, body = self.send(OWN_ID)
        self.assertEqual(status, 200, body)
        self.assertEqual(body, self.first_body)

    def test_4_without_a_key(self) -> None:
        self.authorize(None)
        status, body = self.send(OWN_ID)
        self.assertEqual((status, body["error"]["code"]), (401, "missing_api_key"), body)
        self.assertNotIn("x-api-key", self.sent[-1].all_headers())
        self.assertIn("missing_api_key", self.page.locator(f"{OPERATION} .live-responses-table").inner_text())

    def test_5_with_a_wrong_key(self) -> None:
        self.authorize(WRONG_KEY)
        status, body = self.send(OWN_ID)
        self.assertEqual((status, body["error"]["code"]), (401, "invalid_api_key"), body)

    def test_6_another_accounts_integration(self) -> None:
        self.authorize(self.key)
        status, body = self.send(OTHER_ID)
        self.assertEqual((status, body["error"]["code"]), (404, "integration_not_found"), body)
        self.assertIn("INTEGRATION", self.table.partition(OTHER_ID), "another account's integration was removed")

    def test_7_nothing_left_loopback_and_no_key_was_kept(self) -> None:
        self.assertEqual(len(self.sent), 5, "not every call was sent")
        self.assertEqual(self.refused, [], "the page asked for something outside 127.0.0.1")
        self.assertTrue(self.requests, "no request recorded")
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob"):
                continue
            self.assertEqual((parts.scheme, parts.hostname), ("http", "127.0.0.1"), url)
        self.assertEqual(self.problems, [])
        for key in (self.key, WRONG_KEY):
            for url in [*self.requests, self.page.url]:
                self.assertNotIn(key, url, "the key went into a URL")
            web_storage = self.page.evaluate(
                "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
            self.assertNotIn(key, web_storage, "localStorage or sessionStorage holds the key")
            state = json.dumps(self.context.storage_state(indexed_db=True))  # cookies, localStorage, IndexedDB
            self.assertNotIn(key, state, "the browser's storage holds the key")

    # --- the picture ----------------------------------------------------------------------

    def screenshot(self) -> None:
        """The operation from its parameters to the live answer, for the test's outputs (and docs/)."""
        # In the page's coordinates (a full-page clip), not the viewport's.
        clip = self.page.locator(OPERATION).evaluate("""op => {
            const box = op.getBoundingClientRect();
            const top = op.querySelector(".opblock-section").getBoundingClientRect();
            const live = op.querySelector(".live-responses-table").getBoundingClientRect();
            return {x: box.x + scrollX, y: top.y + scrollY, width: box.width, height: live.bottom - top.y + 8};
        }""")
        for path in filter(None, (ARGS.screenshot, ARGS.docs_screenshot)):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=path, clip=clip, full_page=True, animations="disabled", caret="hide")
            print(f"test_playground: screenshot {os.path.relpath(path)} ({Path(path).stat().st_size // 1024} KiB)", file=sys.stderr)


def main() -> None:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the playground, http://127.0.0.1:PORT/")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--screenshot", help="where to save the picture after the successful call")
    parser.add_argument("--docs-screenshot", help="the same picture, for docs/")
    ARGS, rest = parser.parse_known_args()
    if urlsplit(ARGS.url).hostname != "127.0.0.1":
        parser.error("--url must be on 127.0.0.1")
    # In order: the calls build on each other; -f stops at the first failure.
    unittest.TestLoader.sortTestMethodsUsing = lambda _, a, b: (a > b) - (a < b)
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()

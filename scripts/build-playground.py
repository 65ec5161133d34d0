#!/usr/bin/env python3
"""Builds the API playground, a static folder: Swagger UI over openapi.yaml, with a working "try it".

    .tools/venv/bin/python scripts/build-playground.py --out DIR [--api-url URL]

`make docs` (DIR .local/docs-site, API_URL=...), `make dev` and the browser test
(.local/playground-site, same origin) run it. The folder holds:

  index.html            the page; its Content-Security-Policy lets it load only its own files and
                        send requests only to its own origin and to --api-url
  playground.js, .css   Swagger UI's settings (scripts/playground/): the key is never persisted
  swagger-ui-bundle.js, swagger-ui.css, LICENSE, NOTICE
                        from swagger-ui-dist, as pinned by scripts/pins/package.json (bootstrap.sh
                        installs it into .tools/node)
  openapi.json          openapi.yaml with its servers set to --api-url (default "/": the page's
                        own origin, which `make dev` passes to the function) and its request
                        samples (x-codeSamples) added to the operation's description, which is
                        where Swagger UI shows them

The folder can be hosted as is, anywhere; without --api-url the API must be served by the same
origin. With it, the API must answer the page's CORS preflight (docs/deploy.md).
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
PAGE = ROOT / "scripts" / "playground"
PINS = ROOT / "scripts" / "pins" / "package.json"
RENDERER = "swagger-ui-dist"
RENDERER_FILES = ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# The fence language of each sample, for the markdown Swagger UI renders.
FENCE = {"shell": "bash", "javascript": "javascript", "python": "python"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def die(msg: str) -> None:
    print(f"build-playground: {msg}", file=sys.stderr)
    sys.exit(1)


def api_url(value: str) -> tuple[str, str]:
    """The spec's server URL and the CSP's connect-src for --api-url (empty: the page's origin)."""
    if not value:
        return "/", "'self'"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        die(f"--api-url {value!r}: expected https://host[:port][/base-path]")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        die(f"--api-url {value!r}: plain http only to a loopback address; the API is https")
    if parts.username or parts.password:
        die("--api-url must not hold credentials")
    origin = f"{parts.scheme}://{parts.netloc}"
    return value.rstrip("/"), f"'self' {origin}"


def renderer_dir() -> Path:
    pinned = json.loads(PINS.read_text())["dependencies"][RENDERER]
    folder = Path(os.environ.get("TOOLS_DIR", ROOT / ".tools")) / "node" / "node_modules" / RENDERER
    try:
        installed = json.loads((folder / "package.json").read_text())["version"]
    except FileNotFoundError:
        die(f"{RENDERER} is not installed; run scripts/bootstrap.sh")
    if installed != pinned:
        die(f"{RENDERER} {installed} is installed, {pinned} is pinned; run scripts/bootstrap.sh")
    return folder


def with_samples(description: str, samples: list) -> str:
    """The operation's description, followed by its request samples as fenced code blocks."""
    parts = [description.rstrip(), "", "### Request samples", ""]
    parts.append("Each reads the API's base URL from `API_URL` and your key from `API_KEY`.")
    for sample in samples:
        fence = FENCE.get(sample["lang"].lower(), "")
        parts += ["", f"**{sample['label']}**", "", f"```{fence}", sample["source"].rstrip(), "```"]
    return "\n".join(parts) + "\n"


def deref(spec: dict, node: dict) -> dict:
    """A local $ref followed to what it points at (the only kind openapi.yaml has), copied."""
    while "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            die(f"openapi.yaml: not a local $ref: {ref}")
        node = spec
        for key in ref[2:].split("/"):
            node = node[key.replace("~1", "/").replace("~0", "~")]
    return copy.deepcopy(node)


def page_spec(spec: dict, server: str) -> dict:
    spec = copy.deepcopy(spec)
    where = "this page's own origin" if server == "/" else "the API this page was built for"
    spec["servers"] = [{"url": server, "description": where}]
    for item in spec["paths"].values():
        # Swagger UI 5 leaves a path-level parameter given by $ref unresolved in an OAS 3.1 spec
        # (shown nameless, typed "any", and never sent): each operation gets its own copy.
        shared = [deref(spec, p) for p in item.pop("parameters", [])]
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            names = {(p.get("name"), p.get("in")) for p in (deref(spec, p) for p in operation.get("parameters", []))}
            operation["parameters"] = [p for p in shared if (p["name"], p["in"]) not in names] + operation.get("parameters", [])
            if operation.get("x-codeSamples"):
                operation["description"] = with_samples(operation.get("description", ""), operation["x-codeSamples"])
                del operation["x-codeSamples"]
    return spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the folder to (re)create")
    parser.add_argument("--api-url", default="", help="the API's base URL (default: the page's own origin)")
    args = parser.parse_args()

    server, connect_src = api_url(args.api_url.strip())
    spec = yaml.safe_load(SPEC.read_text())
    source = renderer_dir()
    version = json.loads((source / "package.json").read_text())["version"]

    out = args.out.resolve()
    # Only an earlier build is replaced: never the repository, nor a folder of something else.
    if out == ROOT or (out.exists() and any(out.iterdir()) and not (out / "openapi.json").exists()):
        die(f"{out} exists and is not a playground build; refusing to replace it")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for name in RENDERER_FILES:
        shutil.copyfile(source / name, out / name)
    for name in ("playground.js", "playground.css"):
        shutil.copyfile(PAGE / name, out / name)
    index = (PAGE / "index.html").read_text()
    index = index.replace("@CONNECT_SRC@", connect_src).replace("@TITLE@", html.escape(spec["info"]["title"]))
    (out / "index.html").write_text(index)
    (out / "openapi.json").write_text(json.dumps(page_spec(spec, server), indent=2) + "\n")
    shown = os.path.relpath(out, Path.cwd()) if out.is_relative_to(Path.cwd()) else str(out)
    print(f"build-playground: {shown} (Swagger UI {version}, server {server})")


if __name__ == "__main__":
    main()

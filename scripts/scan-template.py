#!/usr/bin/env python3
"""The template's security scan, as `make test` runs it.

    .tools/scan-venv/bin/python scripts/scan-template.py [template.yaml]

Runs checkov (pinned in requirements-scan.txt) on the template, offline, and fails unless every
check either passes or is suppressed in the template itself (`Metadata: checkov: skip:`) with a
non-empty reason. It also fails on a template checkov could not parse, or on one where nothing
was checked: a scan that silently checks nothing is not a pass. There is no global skip list.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    template = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "template.yaml"
    checkov = Path(sys.executable).parent / "checkov"
    run = subprocess.run(
        [str(checkov), "-f", str(template), "--framework", "cloudformation", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        print(run.stdout + run.stderr, file=sys.stderr)
        print("scan: checkov gave no JSON report", file=sys.stderr)
        return 1
    summary = report["summary"]
    results = report["results"]
    problems = []
    for check in results["failed_checks"]:
        problems.append(f"FAILED {check['check_id']} ({check['check_name']}) on {check['resource']}")
    def reason(check: dict) -> str:
        return ((check.get("check_result") or {}).get("suppress_comment") or "").strip()

    for check in results["skipped_checks"]:
        if not reason(check):
            problems.append(f"SKIPPED WITHOUT A REASON {check['check_id']} on {check['resource']}")
    if summary["parsing_errors"]:
        problems.append(f"{summary['parsing_errors']} parsing error(s)")
    if summary["passed"] == 0:
        problems.append("nothing was checked")
    for check in results["skipped_checks"]:
        print(f"scan: skipped {check['check_id']} on {check['resource']}: {reason(check)}")
    print(
        f"scan: checkov {summary['checkov_version']} on {template.name}: {summary['passed']} passed, "
        f"{summary['failed']} failed, {summary['skipped']} skipped with a reason, "
        f"{summary['resource_count']} resources"
    )
    for problem in problems:
        print(f"scan: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""The two things the GitLab pipeline asks of GitLab's API, with the standard library only.

    python3 ci/cupiform_gitlab.py note plan.md     post the plan on the merge request, or
                                                   update the note posted before
    python3 ci/cupiform_gitlab.py fetch-plan DIR   put the plan reviewed on the merge request
                                                   that this commit merged in DIR

Reads GitLab's predefined CI variables and CUPIFORM_GITLAB_TOKEN (a project access token
with the api scope). Never prints the token.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

MARKER = "<!-- cupiform-plan -->"
PLAN_JOB = "cupiform-plan"
NOTE_LIMIT = 1_000_000  # GitLab's limit for a note; cupiform keeps its markdown far below


def _request(method: str, path: str, body: dict[str, Any] | None = None) -> bytes:
    url = f"{os.environ['CI_API_V4_URL']}/projects/{os.environ['CI_PROJECT_ID']}/{path}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    # Unredirected: artifact downloads may be redirected to a CDN, which must not get it.
    request.add_unredirected_header("PRIVATE-TOKEN", os.environ["CUPIFORM_GITLAB_TOKEN"])
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:
        content: bytes = response.read()
    return content


def _api(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return json.loads(_request(method, path, body))


def note(plan_file: str) -> int:
    """Post the plan as a note of the merge request, or replace the note posted before."""
    iid = os.environ["CI_MERGE_REQUEST_IID"]
    text = Path(plan_file).read_text(encoding="utf-8")
    run = os.environ.get("CI_PIPELINE_URL", "")
    sha = os.environ.get("CI_COMMIT_SHORT_SHA", "")
    body = f"{MARKER}\n{text[:NOTE_LIMIT]}\n\n<sub>Planned at {sha} by {run}; the apply job "
    body += "carries out this plan after the merge.</sub>\n"
    page = 1
    while True:
        notes = _api("GET", f"merge_requests/{iid}/notes?per_page=100&page={page}")
        for existing in notes:
            if str(existing.get("body", "")).startswith(MARKER):
                _api("PUT", f"merge_requests/{iid}/notes/{existing['id']}", {"body": body})
                print(f"updated note {existing['id']} on !{iid}")
                return 0
        if len(notes) < 100:
            break
        page += 1
    created = _api("POST", f"merge_requests/{iid}/notes", {"body": body})
    print(f"posted note {created['id']} on !{iid}")
    return 0


def fetch_plan(directory: str) -> int:
    """Download plan.json and inputs.sha256 of the last successful plan job of the merge
    request that the current commit merged. Finding none is not an error: the apply job
    then follows its policy (re-plan, or fail)."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    sha = os.environ["CI_COMMIT_SHA"]
    branch = os.environ["CI_DEFAULT_BRANCH"]
    merged = [
        mr
        for mr in _api("GET", f"repository/commits/{sha}/merge_requests")
        if mr.get("state") == "merged" and mr.get("target_branch") == branch
    ]
    if not merged:
        print(f"{sha[:12]} merged no merge request: there is no reviewed plan")
        return 0
    iid = merged[0]["iid"]
    # Plain merge request pipelines run on .../head, merged results pipelines on .../merge.
    for ref in (f"refs/merge-requests/{iid}/head", f"refs/merge-requests/{iid}/merge"):
        quoted = urllib.parse.quote(ref, safe="")
        try:
            for name in ("plan.json", "inputs.sha256"):
                content = _request("GET", f"jobs/artifacts/{quoted}/raw/{name}?job={PLAN_JOB}")
                (target / name).write_bytes(content)
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise
            continue
        print(f"reviewed plan of !{iid} found ({ref})")
        return 0
    for name in ("plan.json", "inputs.sha256"):
        (target / name).unlink(missing_ok=True)
    print(f"no saved plan for !{iid} (no successful plan job, or its artifacts expired)")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "note":
        return note(argv[1])
    if len(argv) == 2 and argv[0] == "fetch-plan":
        return fetch_plan(argv[1])
    print(__doc__, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

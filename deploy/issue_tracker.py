"""One GitHub issue per subject, opened or updated in place (control plane, runs in Actions).

Scheduled checks (drift) report here instead of failing a run nobody watches: a red
scheduled run mails whoever last edited its cron line. The issue is found by its label and
title among the open issues; if one is open its body is replaced with the newest report,
otherwise a new issue is opened. Needs `GITHUB_TOKEN` with `issues: write`, and reads
`GITHUB_REPOSITORY` and `GITHUB_API_URL` as Actions sets them.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from deploy.errors import ConfigError, MlopsError

API_VERSION = "2022-11-28"
TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class IssueResult:
    number: int
    url: str
    created: bool


class GitHubIssues:
    def __init__(self, api_url: str, repository: str, token: str) -> None:
        self.api = api_url.rstrip("/")
        self.repository = repository
        self.token = token

    @classmethod
    def from_env(cls) -> GitHubIssues:
        missing = [name for name in ("GITHUB_REPOSITORY", "GITHUB_TOKEN") if not os.environ.get(name)]
        if missing:
            raise ConfigError(f"{' and '.join(missing)} not set: run in GitHub Actions with issues: write")
        api = os.environ.get("GITHUB_API_URL") or "https://api.github.com"
        return cls(api, os.environ["GITHUB_REPOSITORY"], os.environ["GITHUB_TOKEN"])

    def report(self, title: str, label: str, body: str) -> IssueResult:
        """Replace the body of the open issue with this label and title, or open one."""
        query = urllib.parse.urlencode({"state": "open", "labels": label, "per_page": 100})
        for issue in self._call("GET", f"/repos/{self.repository}/issues?{query}"):
            if issue.get("title") == title and "pull_request" not in issue:
                self._call("PATCH", f"/repos/{self.repository}/issues/{issue['number']}", {"body": body})
                return IssueResult(issue["number"], issue["html_url"], created=False)
        made = self._call("POST", f"/repos/{self.repository}/issues", {"title": title, "body": body, "labels": [label]})
        return IssueResult(made["number"], made["html_url"], created=True)

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(  # noqa: S310 - the API URL comes from the Actions environment
            self.api + path,
            data=None if payload is None else json.dumps(payload).encode(),
            method=method,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self.token}",
                "X-GitHub-Api-Version": API_VERSION,
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            reason = exc.read().decode(errors="replace")[:200]
            raise MlopsError(f"GitHub API {method} {path.split('?')[0]}: HTTP {exc.code} {reason}") from None
        except urllib.error.URLError as exc:
            raise MlopsError(f"GitHub API {method} {path.split('?')[0]}: {exc.reason}") from None

"""`mlops issue report`: one issue per title and label, opened once and then updated in place.

A loopback server stands in for the GitHub REST API (the three endpoints used), keeping
issues in memory and checking the headers GitHub requires.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from deploy.cli.app import main


class FakeGitHub(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.issues: list[dict] = [{"number": 7, "title": "Drift: prod", "labels": ["drift"], "pull_request": {}}]
        self.calls: list[tuple[str, str]] = []


class Handler(BaseHTTPRequestHandler):
    server: FakeGitHub

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _reply(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def _authorized(self) -> bool:
        self.server.calls.append((self.command, self.path))
        ok = self.headers["Authorization"] == "Bearer t0ken" and self.headers["X-GitHub-Api-Version"] == "2022-11-28"
        if not ok:
            self._reply(401, {"message": "Bad credentials"})
        return ok

    def do_GET(self) -> None:
        if not self._authorized():
            return
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        assert url.path == "/repos/o/r/issues" and query["state"] == ["open"]
        found = [dict(i, html_url=f"https://github.test/o/r/issues/{i['number']}") for i in self.server.issues]
        self._reply(200, [i for i in found if query["labels"][0] in i["labels"]])

    def do_POST(self) -> None:
        if not self._authorized():
            return
        body = self._body()
        issue = {"number": 8 + len(self.server.issues), **body}
        self.server.issues.append(issue)
        self._reply(201, dict(issue, html_url=f"https://github.test/o/r/issues/{issue['number']}"))

    def do_PATCH(self) -> None:
        if not self._authorized():
            return
        number = int(self.path.rsplit("/", 1)[-1])
        (issue,) = [i for i in self.server.issues if i["number"] == number]
        issue.update(self._body())
        self._reply(200, dict(issue, html_url=f"https://github.test/o/r/issues/{number}"))


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    server = FakeGitHub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("GITHUB_REPOSITORY", "o/r")
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    yield server
    server.shutdown()
    server.server_close()


def report(tmp_path: Path, text: str) -> int:
    body = tmp_path / "drift.md"
    body.write_text(text, encoding="utf-8")
    return main(["issue", "report", "--title", "Drift: staging", "--label", "drift", "--body-file", str(body)])


def test_drift_opens_one_issue_then_updates_it(github: FakeGitHub, tmp_path: Path, capsys) -> None:
    assert report(tmp_path, "endpoint instance_count 1 → 2") == 0
    assert "opened issue #9: https://github.test/o/r/issues/9" in capsys.readouterr().err
    assert report(tmp_path, "endpoint instance_count 1 → 3") == 0
    assert "updated issue #9" in capsys.readouterr().err
    drift = [i for i in github.issues if i["title"] == "Drift: staging"]
    assert len(drift) == 1 and drift[0]["body"] == "endpoint instance_count 1 → 3\n" and drift[0]["labels"] == ["drift"]
    assert [c[0] for c in github.calls] == ["GET", "POST", "GET", "PATCH"]
    # A pull request with the same label is never taken for the issue.
    assert github.issues[0].get("body") is None


def test_missing_settings_and_api_errors_are_one_line(github: FakeGitHub, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "wrong")
    assert report(tmp_path, "x") == 1
    err = capsys.readouterr().err
    assert "GitHub API GET /repos/o/r/issues: HTTP 401" in err and "Traceback" not in err
    monkeypatch.delenv("GITHUB_TOKEN")
    assert report(tmp_path, "x") == 3
    assert "GITHUB_TOKEN not set" in capsys.readouterr().err

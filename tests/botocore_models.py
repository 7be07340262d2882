"""botocore's data files (service models, endpoint rules, paginators) parsed once per test process.

Every `mlops` command a test runs opens its own boto3 session, and each session parses the
multi-megabyte JSON models again: in the suites that drive many commands that was most of
the run time. The parsed documents are shared read-only, as botocore shares them between
the clients of one session.
"""

from __future__ import annotations

import pickle
from typing import Any

import botocore.loaders

_original = botocore.loaders.JSONFileLoader.load_file
_parsed: dict[str, bytes] = {}


def _load_file(self: botocore.loaders.JSONFileLoader, file_path: str) -> Any:
    if file_path not in _parsed:
        data = _original(self, file_path)
        if data is None:
            return None
        _parsed[file_path] = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    return pickle.loads(_parsed[file_path])


def pytest_configure() -> None:
    botocore.loaders.JSONFileLoader.load_file = _load_file  # type: ignore[method-assign]

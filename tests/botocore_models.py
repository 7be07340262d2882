"""botocore's data files (service models, endpoint rules, paginators) parsed once per test process.

Every `mlops` command a test runs opens its own boto3 session, and each session parses the
multi-megabyte JSON models again: in the suites that drive many commands that was most of
the run time. The parsed documents are shared read-only between sessions, as botocore
shares them between the clients of one session. Two services are the exception: botocore's
own handlers edit the operations of the S3 and S3 Control models in place when a client
builds a request (`remove_bucket_from_url_paths_from_model`, `remove_accid_host_prefix_from_model`),
and moto routes requests with a model it loads through the same loader, so those two service
models get a fresh copy each time (their endpoint rules, paginators and waiters are shared).
Which services and versions the data folders hold is looked up once too: each new session's
loader walked every folder of every service to find out.
"""

from __future__ import annotations

import pickle
from typing import Any

import botocore.loaders

_original = botocore.loaders.JSONFileLoader.load_file
_shared: dict[str, Any] = {}
_pickled: dict[str, bytes] = {}
EDITED_IN_PLACE = ("/s3/", "/s3control/")  # their service-2 documents only


def _load_file(self: botocore.loaders.JSONFileLoader, file_path: str) -> Any:
    edited = "service-2" in file_path and any(part in file_path for part in EDITED_IN_PLACE)
    if not edited:
        if file_path not in _shared:
            _shared[file_path] = _original(self, file_path)
        return _shared[file_path]
    if file_path not in _pickled:
        data = _original(self, file_path)
        if data is None:
            return None
        _pickled[file_path] = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    return pickle.loads(_pickled[file_path])


_listing = botocore.loaders.Loader.list_available_services
_listed: dict[tuple[tuple[str, ...], str], list[str]] = {}


def _list_available_services(self: botocore.loaders.Loader, type_name: str) -> list[str]:
    key = (tuple(self.search_paths), type_name)
    if key not in _listed:
        _listed[key] = _listing(self, type_name)
    return list(_listed[key])


def pytest_configure() -> None:
    botocore.loaders.JSONFileLoader.load_file = _load_file  # type: ignore[method-assign]
    botocore.loaders.Loader.list_available_services = _list_available_services  # type: ignore[method-assign]

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

Two pure lookups that every new session and client repeat for each of its hundreds of event
handlers are remembered for the process as well: whether a handler function accepts
`**kwargs` (botocore reads its signature with `inspect` at each registration), and the
aliased form of an event name (botocore keeps that per emitter, and each client copies a
fresh emitter). Both depend only on their argument, so the answers are the same.
"""

from __future__ import annotations

import inspect
import pickle
from typing import Any

import botocore.hooks
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


_accepts: dict[Any, bool] = {}


def _accepts_kwargs(func: Any) -> bool:
    """botocore.compat.accepts_kwargs, remembered per function (a bound method by its function)."""
    key = getattr(func, "__func__", func)
    if not inspect.isfunction(key):
        return bool(inspect.getfullargspec(func)[2])
    if key not in _accepts:
        _accepts[key] = bool(inspect.getfullargspec(func)[2])
    return _accepts[key]


_aliasing = botocore.hooks.EventAliaser._alias_event_name
_aliased: dict[str, str] = {}


def _alias_event_name(self: botocore.hooks.EventAliaser, event_name: str) -> str:
    """The aliased event name, remembered for the process when the emitter uses botocore's own aliases."""
    if self._event_aliases != botocore.hooks.EVENT_ALIASES:
        return _aliasing(self, event_name)
    if event_name not in _aliased:
        _aliased[event_name] = _aliasing(self, event_name)
    return _aliased[event_name]


def pytest_configure() -> None:
    botocore.loaders.JSONFileLoader.load_file = _load_file  # type: ignore[method-assign]
    botocore.loaders.Loader.list_available_services = _list_available_services  # type: ignore[method-assign]
    botocore.hooks.accepts_kwargs = _accepts_kwargs
    botocore.hooks.EventAliaser._alias_event_name = _alias_event_name  # type: ignore[method-assign]

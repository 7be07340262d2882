"""The endpoint supervisor imports the inference handlers once, and keeps the collector off them, before it forks."""

from __future__ import annotations

import gc
import sys

import pytest

from deploy.local.server import preload_handlers


def test_the_handlers_are_imported_and_frozen_out_of_the_collector() -> None:
    gc.unfreeze()
    try:
        assert preload_handlers()
        assert "ml.inference" in sys.modules
        assert gc.get_freeze_count() > 0  # what the import created is not scanned again, here or in a fork
        assert gc.isenabled()  # new garbage is still collected
    finally:
        gc.unfreeze()


def test_a_handler_that_cannot_be_imported_fails_the_start_and_leaves_the_collector_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "ml.inference", None)  # importing it now raises ImportError
    try:
        assert not preload_handlers()
        assert gc.isenabled()
    finally:
        gc.unfreeze()
    assert "cannot import the inference handlers" in caplog.text

"""__main__.py's start: its imports run with the cyclic garbage collector paused, which is on again afterwards."""

from __future__ import annotations

import gc
from collections.abc import Generator

import pytest

from aigc_image_mcp.__main__ import collection_paused


@pytest.fixture(autouse=True)
def collector() -> Generator[None]:
    """The test process's collector as it was, whatever a test did to it."""
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_the_collector_is_paused_during_the_start_and_on_again_with_what_it_imported_frozen() -> None:
    gc.enable()
    gc.unfreeze()

    with collection_paused():
        assert not gc.isenabled()

    assert gc.isenabled()
    assert gc.get_freeze_count() > 0


def test_a_collector_someone_else_switched_off_stays_off_and_nothing_is_frozen() -> None:
    gc.disable()
    gc.unfreeze()

    with collection_paused():
        assert not gc.isenabled()

    assert not gc.isenabled()
    assert gc.get_freeze_count() == 0

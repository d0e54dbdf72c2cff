"""Pausing Python's cyclic garbage collector while building many small, long-lived objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of small containers that all
    stay alive (records, result lines): they hold no cycles, and the collector would walk them
    again and again, finding nothing to free. The previous state is restored afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()

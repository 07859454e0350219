"""A small in-process cache with a time-to-live, for answers that may be a second old under a spike."""

import time
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    """Values reused for `ttl_s` seconds (per replica); 0 disables it. Bounded: cleared when it grows past `size`."""

    def __init__(self, ttl_s: float, size: int = 5000) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self.entries: dict[Hashable, tuple[float, V]] = {}

    def get(self, key: Hashable) -> V | None:
        hit = self.entries.get(key)
        return hit[1] if hit is not None and time.monotonic() - hit[0] < self.ttl_s else None

    def put(self, key: Hashable, value: V) -> None:
        if self.ttl_s <= 0:
            return
        if len(self.entries) >= self.size:
            self.entries.clear()
        self.entries[key] = (time.monotonic(), value)

    def discard(self, key: Hashable) -> None:
        """Forget `key` (a value known to have changed)."""
        self.entries.pop(key, None)

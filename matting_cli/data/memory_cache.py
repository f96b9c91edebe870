"""A least-recently-used cache bounded by bytes, for decoded images kept between samples."""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

Value = TypeVar("Value")


class ByteBudgetCache(Generic[Value]):
    """Keeps values until their total `size_of` exceeds `budget_bytes`, then drops the least
    recently used. A value larger than the whole budget is returned but never kept."""

    def __init__(self, budget_bytes: int, size_of: Callable[[Value], int]):
        self.budget_bytes = budget_bytes
        self._size_of = size_of
        self._items: OrderedDict[Hashable, Value] = OrderedDict()
        self._used = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def used_bytes(self) -> int:
        return self._used

    def get_or_load(self, key: Hashable, load: Callable[[], Value]) -> Value:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = load()
        size = self._size_of(value)
        if size <= self.budget_bytes:
            self._items[key] = value
            self._used += size
            while self._used > self.budget_bytes:
                _, dropped = self._items.popitem(last=False)
                self._used -= self._size_of(dropped)
        return value

"""
Stand-in for ``tutor.hooks``: filters that record what the plugin adds, with Tutor's semantics.

As in Tutor (tutor/core/hooks/filters.py): ``add_item(s)`` and ``add()`` register callbacks that run
in priority order (lower first, then in registration order) when the filter is applied; an item
callback appends to the list it is given. Only filter names that exist in Tutor 21's catalog
(fixtures/tutor-filters.txt) exist here, so a misspelt or removed filter fails the import.
"""
from __future__ import annotations

import os
import typing as t


class priorities:  # pylint: disable=invalid-name,too-few-public-methods
    HIGH = 5
    DEFAULT = 10
    LOW = 50


class Filter:
    def __init__(self, name: str):
        self.name = name
        self.callbacks: list[tuple[int, int, t.Callable[..., t.Any]]] = []

    def add(self, priority: t.Optional[int] = None):
        def decorator(func):
            self.callbacks.append((priorities.DEFAULT if priority is None else priority, len(self.callbacks), func))
            return func

        return decorator

    def add_items(self, items: list, priority: t.Optional[int] = None) -> None:
        @self.add(priority=priority)
        def _add(values, *_args):
            values.extend(items)
            return values

    def add_item(self, item, priority: t.Optional[int] = None) -> None:
        self.add_items([item], priority=priority)

    def apply(self, value, *args):
        for _priority, _order, func in sorted(self.callbacks, key=lambda c: (c[0], c[1])):
            value = func(value, *args)
        return value

    def iterate(self, *args):
        yield from self.apply([], *args)


def _catalog_names() -> list[str]:
    path = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "tutor-filters.txt")
    with open(path, encoding="utf-8") as names:
        return [line.strip() for line in names if line.strip() and not line.startswith("#")]


class _Filters:  # pylint: disable=too-few-public-methods
    def __init__(self, names: list[str]):
        for name in names:
            setattr(self, name, Filter(name))


Filters = _Filters(_catalog_names())

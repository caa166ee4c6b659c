"""What every typed CRDT shares: a `DotStore` it reads and writes under one tag.

Strategy: a typed value (`CounterRegister`, `ORSet`, `ORHash`, `ZSetCRDT`,
`RList`) is a thin view over a `DotStore` whose keys are ``(tag, inner)``.
Used alone it owns its store; inside a `KeyCRDT` it is a view over the key's
store, so every type of one key shares one causal context. Local operations
mutate the state in place and return the delta (a value of the same class)
to ship; `merge` joins a delta or a full state.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, TypeVar

from crdt.replication.clocks import DecodeError, VectorClock
from crdt.replication.typed.codec import CODEC
from crdt.replication.typed.context import Dot, DotStore, Value

__all__ = ["Typed"]

T = TypeVar("T", bound="Typed")


class Typed:
    """A view of one tag's keys in a `DotStore`.

    Args:
        store: the store to view (a new empty one when omitted).
    """

    TAG: ClassVar[str] = ""
    __slots__ = ("store",)

    def __init__(self, store: DotStore | None = None) -> None:
        self.store = store if store is not None else DotStore()

    def _wrap(self: T, delta: DotStore) -> T:
        return type(self)(delta)

    def _items(self) -> Iterator[tuple[Any, Mapping[Dot, Value]]]:
        tag = self.TAG
        for (t, inner), dots in self.store.entries.items():
            if t == tag:
                yield inner, dots

    def merge(self: T, other: Any) -> T:
        """Join a delta or a state (a typed value, a `KeyCRDT` or a `DotStore`) into this one, in place."""
        self.store.merge(other if isinstance(other, DotStore) else other.store)
        return self

    def copy(self: T) -> T:
        return type(self)(self.store.copy())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Typed):
            return NotImplemented
        return self.store == other.store

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r})"

    def next_dot(self, replica: str) -> Dot:
        """A fresh dot for ``replica`` (see `DotStore.next_dot`)."""
        return self.store.next_dot(replica)

    def compact(self, stable: VectorClock) -> None:
        """GC up to a causally stable vector (`DotStore.compact`); reads are unchanged."""
        self.store.compact(stable)

    def metadata_size(self) -> int:
        """Live dots plus causal-context entries."""
        return self.store.metadata_size()

    def to_json(self) -> dict[str, Any]:
        return self.store.to_json(CODEC)

    @classmethod
    def from_json(cls: type[T], data: object) -> T:
        """Decode a peer's state or delta of this type.

        Raises:
            DecodeError: malformed, or holding keys of another type.
        """
        store = DotStore.from_json(data, CODEC)
        if any(tag != cls.TAG for tag, _ in store.entries):
            raise DecodeError(f"a {cls.TAG} state holds keys of another type")
        return cls(store)

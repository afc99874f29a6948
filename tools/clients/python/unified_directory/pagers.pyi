# Types of pagers.py.
from typing import Any, Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class Pager(Generic[T]):
    def __init__(self, fetch: Callable[[Any], Any], request: Any) -> None: ...
    @property
    def pages(self) -> Iterator[Any]: ...
    def __iter__(self) -> Iterator[T]: ...

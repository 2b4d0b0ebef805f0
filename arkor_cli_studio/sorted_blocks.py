"""`SortedBlocks`: a growing multiset of floats kept in order, for the exact
percentiles of a run that keeps growing (the live Advanced panel, `stats`)."""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable
from itertools import accumulate, chain
from typing import Final

# Sorted blocks hold BLOCK..2 * BLOCK values (the last and a lone one may
# hold fewer): an insertion moves at most 16 KiB, a merge sorts one block.
BLOCK: Final = 1024
# New points for one block: inserted one by one (a memmove each) up to this
# many, else merged by one sort of the block and them.
INSORT_MAX: Final = 24


class SortedBlocks:
    """A multiset of floats in ascending order, for order statistics of a
    series that keeps growing: sorted `array('d')` blocks of about `BLOCK`
    values and each block's largest value.

    Adding k values sorts them, then inserts each group into the one block
    where it belongs (a memmove, or one sort of that block): O(k log k +
    k * BLOCK) moved in C, whatever the length. `ordered[i]` finds the i-th
    value from a running total of the blocks' lengths (one C pass over
    n / BLOCK lengths, kept until the next addition). 8 bytes a value, plus
    the blocks' slack.
    """

    __slots__ = ("_blocks", "_len", "_maxes", "_starts")

    def __init__(self) -> None:
        self._blocks: list[array[float]] = []
        self._maxes: list[float] = []
        self._len = 0
        self._starts: list[int] | None = None  # each block's first index, once asked

    def __len__(self) -> int:
        return self._len

    def update(self, values: Iterable[float]) -> None:
        new = sorted(values)
        if not new:
            return
        self._len += len(new)
        self._starts = None
        blocks, maxes = self._blocks, self._maxes
        if not blocks:
            for start in range(0, len(new), BLOCK):
                block = array("d", new[start : start + BLOCK])
                blocks.append(block)
                maxes.append(block[-1])
            return
        i, n, last = 0, len(new), len(blocks) - 1
        while i < n:
            b = bisect_left(maxes, new[i])  # the first block whose largest >= it
            if b >= last:
                b, j = last, n  # everything from here belongs to the last block
            else:
                j = bisect_right(new, maxes[b], i)
            block = blocks[b]
            if j - i <= INSORT_MAX:
                for value in new[i:j]:
                    insort(block, value)
            else:
                block = blocks[b] = array("d", sorted(chain(block, new[i:j])))
            maxes[b] = block[-1]
            if len(block) > 2 * BLOCK:
                pieces = [block[k : k + BLOCK] for k in range(0, len(block), BLOCK)]
                blocks[b : b + 1] = pieces
                maxes[b : b + 1] = [piece[-1] for piece in pieces]
                last += len(pieces) - 1
            i = j

    def __getitem__(self, index: int) -> float:
        if not 0 <= index < self._len:
            raise IndexError(index)
        starts = self._starts
        if starts is None:
            starts = self._starts = [0, *accumulate(map(len, self._blocks))]
        b = bisect_right(starts, index) - 1
        return self._blocks[b][index - starts[b]]

    def tolist(self) -> list[float]:
        return [value for block in self._blocks for value in block]

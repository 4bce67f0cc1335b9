"""A run launched before its row is stored, and the gate its writes wait at.

Starting a run in the plain order costs a database round trip (store the user's message and
the run, atomically) before the model is asked anything. When this process holds the
conversation's history and knows whose it is, `RunService.start` gives the run a head start
instead: it launches the run at once and stores the row meanwhile. `HeadStart` is the whole
of what keeps that safe; the journal and the run service only call it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from orchestrator.domain import Run

__all__ = ["HeadStart"]


class HeadStart:
    """The gate between a run launched early and the store, and how the race ends.

    The invariant:

    - Before the row exists the run may read (its history came from the cache), ask the
      model, store a compaction summary (summaries name no run row) and publish events to
      the bus. No client sees those events: the run's id is given out only once its row is
      stored. Nothing of the run itself is written: every write of its journal first awaits
      `stored()`, so writes made before the row exists land after it, in their order. Tools
      run only after the first step is committed, so after the row too.
    - If storing the row fails, the run is dropped: `stored()` answers False (its journal
      writes and publishes nothing more), its task is cancelled and awaited, and the
      insert's error reaches the caller. Nothing of the run remains.
    - If the stored row shows the cached history was stale (another process wrote to the
      conversation or switched its branch meanwhile), the run is dropped the same way and
      `released` stays False: the caller launches it again, under the same id, with the
      history as stored.

    Who waits on what: the journal's writes wait on the row (`stored`); `settle` waits on
    the insert and, when it drops the run, on the run's task ending; the model waits on
    nothing.
    """

    def __init__(self) -> None:
        self._row: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    @property
    def released(self) -> bool:
        """Whether the row is stored and the run went on (its writes are let through)."""
        return self._row.done() and self._row.result()

    async def stored(self) -> bool:
        """Wait until the row's fate is known: True once stored, False if it never will be.

        Shielded: a run cancelled while it waits here does not cancel the gate for the
        journal's other writes.
        """
        return await asyncio.shield(self._row)

    async def settle(
        self,
        insert: Awaitable[Run],
        *,
        fresh: Callable[[Run], bool],
        drop: Callable[[], Awaitable[None]],
    ) -> Run:
        """Store the row while the run goes ahead, then let its writes through or drop it.

        Args:
            insert: stores the run's row (with the user's message) and returns the run.
            fresh: whether the stored row shows the history the run was launched with.
            drop: cancels the launched run and waits until its task has ended.

        Returns:
            The stored run; `released` says whether the launched run goes on.

        Raises:
            Exception: whatever `insert` raises, once the launched run is dropped.
        """
        try:
            run = await insert
        except BaseException:
            self._row.set_result(False)
            await drop()
            raise
        if not fresh(run):
            self._row.set_result(False)
            await drop()
            return run
        self._row.set_result(True)
        return run

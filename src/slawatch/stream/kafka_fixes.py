"""Client-side fixes for Faust and aiokafka (each harmless on Apache Kafka; each has a test).

Fixes 1 and 2 are for the embedded broker; 3-5 are Faust defects that lose records on any broker
whenever a worker recovers a table changelog (every start, every rebalance). See the crash-safety
argument in docs/architecture.md.

1. Fetch long-polls: Faust hard-codes fetch_max_wait_ms=1500 for its consumer, and Tansu answers a
   long-poll only when the wait runs out, not when data arrives (measured: a record produced to an
   idle topic reached an aiokafka consumer after the rest of the 1.5 s wait; with 100 ms, in ~10 ms).
   That wait was most of the alert detection latency. We cap it at FETCH_MAX_WAIT_MS; Apache Kafka
   answers early anyway, so there it only means a few more idle fetches per second.

2. Table recovery:
Tansu answers ListOffsets LATEST with the *last batch's first offset + 1*, not the high watermark.
Faust takes that value as the changelog's end when it recovers a table, stops early, and silently
loses the last batch's updates after a restart (measured: 361 of 400 updates survived a kill -9).
A Fetch response carries the true high watermark, so we ask for it and keep the larger of the two.
On Apache Kafka both agree and the extra fetch costs one round-trip per recovery, nothing per event.

3. Live partition set: Faust hands the consumer thread its *live* set of active partitions, which
   the main thread empties at the end of changelog recovery; aiokafka reads an empty set as "every
   partition", drains prefetched `sla.events` records (moving its position past them) and Faust
   then discards them as not active. We pass a frozen snapshot, and an empty one fetches nothing.

4. Recovery end: `Recovery.on_recovery_completed` resumes the stream partitions, then awaits the
   seek to committed offsets while records already flow into the agents' queues, then clears those
   queues: the records in them are lost. We seek while the partitions are still paused (and apply
   the project's own resume positions, `set_resume_positions`), clear the queues, then resume.

5. Commit past a hole: `Consumer._new_offset` tests `min(acked) - committed > 1`, so a never-acked
   record right at the committed offset is committed past and never redelivered. We test
   `min(acked) > committed`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

log = logging.getLogger(__name__)
_installed = False
FETCH_MAX_WAIT_MS = 100


async def fetch_highwaters(consumer_factory, partitions: Sequence, listed: Mapping, timeout_s: float = 5.0) -> dict:
    """High watermarks read from Fetch responses, seeking just before the listed end offsets."""
    consumer = consumer_factory()
    await consumer.start()
    try:
        consumer.assign(list(partitions))
        for tp in partitions:
            consumer.seek(tp, max(listed.get(tp, 0) - 1, 0))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            await consumer.getmany(timeout_ms=200, max_records=1)
            highwaters = {tp: consumer.highwater(tp) for tp in partitions}
            if all(hw is not None for hw in highwaters.values()):
                return highwaters
        return {tp: hw for tp, hw in highwaters.items() if hw is not None}
    finally:
        await consumer.stop()


# app -> async callback(assigned stream partitions) -> {tp: offset}: where each partition resumes.
ResumePositions = Callable[[set], Awaitable[Mapping]]
_resume_positions: dict[int, ResumePositions] = {}


def set_resume_positions(app, callback: ResumePositions) -> None:
    """Where `app`'s stream partitions resume after each recovery (fix 4): the project's own record of
    what is applied and checkpointed, which wins over the committed offsets."""
    _resume_positions[id(app)] = callback


def install() -> None:
    """Patch Faust's aiokafka consumer thread, recovery and commit once per process (idempotent)."""
    global _installed
    if _installed:
        return
    _install_highwaters_and_long_poll()
    _install_frozen_active_partitions()
    _install_paused_recovery_seek()
    _install_contiguous_commit()
    _installed = True


def _install_highwaters_and_long_poll() -> None:
    import aiokafka
    from faust.transport.drivers import aiokafka as faust_aiokafka
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth, server_list

    thread_cls = faust_aiokafka.AIOKafkaConsumerThread
    original = thread_cls._highwaters

    async def _highwaters(self, partitions):
        if self.consumer.in_transaction or not partitions:
            return await original(self, partitions)
        listed = await self._ensure_consumer().end_offsets(partitions)
        conf, transport = self.app.conf, self.transport

        def factory():
            return aiokafka.AIOKafkaConsumer(
                bootstrap_servers=server_list(transport.url, transport.default_port),
                enable_auto_commit=False,
                fetch_max_wait_ms=100,
                **credentials_to_aiokafka_auth(conf.broker_credentials, conf.ssl_context),
            )

        fetched = await fetch_highwaters(factory, list(partitions), listed)
        corrected = {tp: max(listed[tp], fetched.get(tp, listed[tp])) for tp in partitions}
        changed = {str(tp): (listed[tp], corrected[tp]) for tp in partitions if corrected[tp] != listed[tp]}
        if changed:
            log.info("end offsets corrected from fetch high watermarks: %s", changed)
        return corrected

    thread_cls._highwaters = _highwaters

    create_consumer = thread_cls._create_worker_consumer

    def _create_worker_consumer(self, transport):
        consumer = create_consumer(self, transport)
        consumer._fetch_max_wait_ms = min(consumer._fetch_max_wait_ms, FETCH_MAX_WAIT_MS)  # read at start()
        return consumer

    thread_cls._create_worker_consumer = _create_worker_consumer


def _install_frozen_active_partitions() -> None:
    """Fix 3: the consumer thread fetches a snapshot of the active partitions, never the live set."""
    from faust.transport.drivers import aiokafka as faust_aiokafka

    thread_cls = faust_aiokafka.AIOKafkaConsumerThread
    getmany = thread_cls.getmany
    fetch_records = thread_cls._fetch_records

    async def frozen_getmany(self, active_partitions, timeout):
        frozen = None if active_partitions is None else frozenset(active_partitions)
        return await getmany(self, frozen, timeout)

    async def fetch_active_only(self, consumer, active_partitions, timeout=None, max_records=None):
        if active_partitions is not None and not active_partitions:
            return {}  # aiokafka would read an empty set as "all partitions"
        return await fetch_records(self, consumer, active_partitions, timeout=timeout, max_records=max_records)

    thread_cls.getmany = frozen_getmany
    thread_cls._fetch_records = fetch_active_only


def _install_paused_recovery_seek() -> None:
    """Fix 4: seek (committed offsets, then our resume positions) while paused; clear; then resume."""
    from faust.tables.recovery import Recovery

    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        consumer = self.app.consumer
        self.log.info("Restore complete!")
        await self.app.on_rebalance_complete.send()
        self._set_recovery_ended()
        callbacks = [asyncio.ensure_future(table.on_recovery_completed(
            self.actives_for_table[table], self.standbys_for_table[table])) for table in self.tables.values()]
        if callbacks:
            await asyncio.wait(callbacks)
        assignment = consumer.assignment()
        if self.app.consumer_generation_id != generation_id:
            self.log.warning(f"Recovery rebalancing again app id {self.app.consumer_generation_id} param {generation_id}")
            return
        streams = {tp for tp in assignment if not self._is_changelog_tp(tp)}
        if assignment:
            self.log.info("Seek stream partitions to committed offsets (paused).")
            await self._wait(consumer.perform_seek(), timeout=self.app.conf.broker_request_timeout)
            await _seek_to_resume_positions(self.app, consumer, streams)
        self.completed.set()
        self.app.flow_control.resume()  # empties every agent queue: nothing fetched before the seek survives
        consumer.resume_partitions(streams)
        consumer.resume_flow()
        await self.app._fetcher.maybe_start()
        self.tables.on_actives_ready()
        if not self.app.assignor.assigned_standbys():
            self.tables.on_standbys_ready()
        self.app.on_rebalance_end()
        self.log.info("Worker ready")

    Recovery.on_recovery_completed = on_recovery_completed


async def _seek_to_resume_positions(app, consumer, streams: set) -> None:
    callback = _resume_positions.get(id(app))
    if callback is None or not streams:
        return
    for tp, offset in (await callback(streams)).items():
        await consumer.seek(tp, offset)
        consumer._committed_offset[tp] = offset  # acks start here; without it fix 5 sees a hole forever
        log.info("resume %s:%d at offset %d (the worker's own progress)", tp.topic, tp.partition, offset)


def _install_contiguous_commit() -> None:
    """Fix 5: never commit past an offset that was not acked."""
    from faust.transport.consumer import Consumer
    from faust.utils.functional import consecutive_numbers

    def _new_offset(self, tp):
        acked = self._acked[tp]
        if not acked:
            return None
        max_offset = max(acked)
        gap_for_tp = self._gap[tp]
        if gap_for_tp:  # offsets known to be absent (Faust's consumer gaps) count as acked
            candidates = sorted(gap_for_tp.overlap(0, max_offset), key=lambda x: x.begin)
            if candidates:
                filled: list[int] = []
                for entry in candidates:
                    filled.extend(range(entry.begin, entry.end))
                acked.extend(filled)
                gap_for_tp.chop(0, max(filled[-1], max_offset + 1))
        acked.sort()
        committed = self._committed_offset[tp]
        if committed is not None and acked[0] > committed:
            return None  # the record at the committed offset (the next to read) is not acked yet
        batch = next(consecutive_numbers(acked))
        acked[: len(batch)] = []
        self._acked_index[tp].difference_update(batch)
        return batch[-1] + 1

    Consumer._new_offset = _new_offset

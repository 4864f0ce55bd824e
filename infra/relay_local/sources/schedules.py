"""Schedules of the template (EventBridge rules and EventBridge Scheduler schedules):
each fires its function when AWS would, through Lambda's asynchronous invocation.

A rate schedule counts from when `relay run` started it (AWS counts from the
rule's creation; a laptop's stack is created when it starts). The event is
EventBridge's `Scheduled Event` (for Scheduler: `source` `aws.scheduler` and
`detail` the string `"{}"`, as AWS sends them), or the template's `Input`.
Firings missed while the stack was down are not made up for: the schedule was
not running. `relay invoke FUNCTION -e events/...` fires one by hand.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import uuid
from collections.abc import Callable
from typing import Any

from relay_local.output import Output
from relay_local.sources.async_invoke import AsyncInvoker
from relay_local.template.languages.schedule_expressions import Schedule, parse_schedule
from relay_local.template.loader import ACCOUNT_ID, REGION
from relay_local.template.model import ScheduleSpec, StackModel

Clock = Callable[[], datetime.datetime]


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def scheduled_event(spec: ScheduleSpec, when: datetime.datetime) -> Any:
    if spec.input is not None:
        return json.loads(spec.input)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler" if spec.scheduler else "aws.events",
        "account": ACCOUNT_ID,
        "time": when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [spec.arn],
        "detail": "{}" if spec.scheduler else {},
    }


def _when(text: str | None) -> datetime.datetime | None:
    if text is None:
        return None
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def schedule_of(spec: ScheduleSpec, created: datetime.datetime) -> Schedule:
    return parse_schedule(
        spec.expression,
        spec.timezone,
        start=_when(spec.start),
        end=_when(spec.end),
        created=created,
    )


class Schedules:
    """One task per enabled schedule; `sleep` and `clock` are injected by the tests."""

    def __init__(
        self,
        async_invoker: AsyncInvoker,
        output: Output,
        clock: Clock = _utc_now,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.async_invoker = async_invoker
        self.output = output
        self.clock = clock
        self.sleep = sleep
        self.running: dict[ScheduleSpec, asyncio.Task[None]] = {}

    def apply(self, model: StackModel) -> None:
        wanted = {spec for spec in model.schedules if spec.enabled}
        for spec, task in list(self.running.items()):
            if spec not in wanted:
                task.cancel()
                del self.running[spec]
        for spec in wanted - set(self.running):
            schedule = schedule_of(spec, self.clock())
            task = asyncio.get_running_loop().create_task(self._run(spec, schedule))
            self.running[spec] = task

    def describe(self) -> list[str]:
        return [
            f"{spec.name}: {spec.expression}"
            f"{'' if spec.timezone == 'UTC' else ' ' + spec.timezone} -> {spec.function}"
            for spec in sorted(self.running, key=lambda s: s.name)
        ]

    async def _run(self, spec: ScheduleSpec, schedule: Schedule) -> None:
        moment = self.clock()
        while True:
            due = schedule.next_after(moment)
            if due is None:
                return
            wait = (due - self.clock()).total_seconds()
            if wait > 0:
                await self.sleep(wait)
            moment = due
            self.async_invoker.submit(
                spec.function, scheduled_event(spec, due), f"schedule {spec.name}"
            )

    async def close(self) -> None:
        for task in self.running.values():
            task.cancel()
        await asyncio.gather(*self.running.values(), return_exceptions=True)

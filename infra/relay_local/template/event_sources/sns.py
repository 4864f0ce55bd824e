"""`SNS` events: a function subscribed to a topic, directly or through a queue of its
own (`SqsSubscription`), as SAM generates them."""

from __future__ import annotations

from typing import Any

from relay_local.template.context import Context, as_json
from relay_local.template.event_sources import sqs
from relay_local.template.loader import ACCOUNT_ID, REGION
from relay_local.template.model import QueueSpec, TemplateError, TopicSubscriptionSpec


def parse(ctx: Context, function: str, event_id: str, props: dict[str, Any]) -> None:
    where = f"{function} event {event_id} (SNS)"
    topic = ctx.target(props.get("Topic"))
    if topic not in ctx.model.topics:
        raise TemplateError(f"{where}: Topic must name a topic of the template")
    policy = as_json(ctx.resolve(props.get("FilterPolicy")))
    scope = str(ctx.resolve(props.get("FilterPolicyScope", "MessageAttributes")))
    queued = props.get("SqsSubscription")
    if not queued:
        ctx.model.topic_subscriptions.append(
            TopicSubscriptionSpec(
                f"{function}{event_id}", str(topic), "lambda", function, policy, scope
            )
        )
        return
    if queued is True or str(queued).lower() == "true":
        # SAM makes `<EventId>Queue` and subscribes it without raw delivery: records carry
        # the SNS envelope in their body.
        queue_id = f"{event_id}Queue"
        fifo = ctx.model.topics[str(topic)].fifo
        name = f"{queue_id}.fifo" if fifo else queue_id
        ctx.model.queues[queue_id] = QueueSpec(
            queue_id,
            name,
            ctx.names.queue_url(name),
            f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}",
            {"FifoQueue": "true"} if fifo else {},
        )
        batch = {"BatchSize": 10}
    else:
        target = ctx.target(queued.get("QueueArn"))
        if target not in ctx.model.queues:
            raise TemplateError(f"{where}: SqsSubscription.QueueArn must name a template queue")
        queue_id = str(target)
        batch = {"BatchSize": queued.get("BatchSize", 10)}
    ctx.model.topic_subscriptions.append(
        TopicSubscriptionSpec(f"{function}{event_id}", str(topic), "sqs", queue_id, policy, scope)
    )
    sqs.add(ctx, function, queue_id, batch, where)

"""SNS topics of the template, delivered to their subscriptions as SNS delivers them.

Moto stores topics and answers Publish, but a delivery it made itself would
bypass the journal. So the template's subscriptions stay out of moto: this hook
sees every successful Publish and PublishBatch and, before the answer returns
to the publisher, delivers each message to every subscription whose filter
policy matches (`template.languages.sns_filters`): a queue gets a journaled
SendMessage (the SNS JSON envelope, or the raw message with raw delivery), a function an
asynchronous invocation (journaled by `AsyncInvoker`). A publish that returned
is therefore never lost, even to a kill -9.

The hook runs in the AWS process, which is handed it (`state.process.serve`):
local AWS knows nothing of the sources, only that a hook sees every call.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from relay_local.sources.async_invoke import iso_now
from relay_local.state.wire import SQS, Answer, AwsCall, AwsError, WsgiApp, call
from relay_local.template.languages.sns_filters import Matcher, compile_filter_policy
from relay_local.template.loader import REGION
from relay_local.template.model import StackModel, TopicSpec, TopicSubscriptionSpec

_CERT = f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-local.pem"
_DEDUP_WINDOW_S = 300.0

Attributes = dict[str, dict[str, str]]
# Lambda's asynchronous invocation of a function with an event, from a source: accepted
# when it returns (durable: journaled by the stack).
Submit = Callable[[str, Any, str], None]


def _message_attributes(form: dict[str, list[str]], prefix: str) -> Attributes:
    """`MessageAttributes.entry.N.Name/Value.DataType/...` of a query-protocol request."""
    attributes: Attributes = {}
    index = 1
    while True:
        name = form.get(f"{prefix}MessageAttributes.entry.{index}.Name")
        if not name:
            return attributes
        value = f"{prefix}MessageAttributes.entry.{index}.Value."
        attribute = {"DataType": (form.get(value + "DataType") or ["String"])[0]}
        for key in ("StringValue", "BinaryValue"):
            if form.get(value + key):
                attribute[key] = form[value + key][0]
        attributes[name[0]] = attribute
        index += 1


def _value(attribute: dict[str, str]) -> str:
    return attribute.get("StringValue", attribute.get("BinaryValue", ""))


class Published:
    """One message as it was published."""

    def __init__(
        self,
        topic: TopicSpec,
        message_id: str,
        message: str,
        subject: str | None,
        attributes: Attributes,
        structure: str | None,
        group_id: str | None,
        dedup_id: str | None,
    ) -> None:
        self.topic = topic
        self.message_id = message_id
        self.message = message
        self.subject = subject
        self.attributes = attributes
        self.structure = structure
        self.group_id = group_id
        self.dedup_id = dedup_id
        self.timestamp = iso_now()

    def text_for(self, protocol: str) -> str:
        if self.structure != "json":
            return self.message
        try:
            document = json.loads(self.message)
        except (ValueError, RecursionError):
            return self.message
        if not isinstance(document, dict):
            return self.message
        chosen = document.get(protocol, document.get("default", ""))
        return chosen if isinstance(chosen, str) else json.dumps(chosen)

    def lambda_event(self, subscription: TopicSubscriptionSpec) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": subscription.arn,
                    "Sns": {
                        "Type": "Notification",
                        "MessageId": self.message_id,
                        "TopicArn": self.topic.arn,
                        "Subject": self.subject,
                        "Message": self.text_for("lambda"),
                        "Timestamp": self.timestamp,
                        "SignatureVersion": "1",
                        "Signature": "RVhBTVBMRQ==",
                        "SigningCertUrl": _CERT,
                        "UnsubscribeUrl": _unsubscribe(subscription),
                        "MessageAttributes": {
                            name: {"Type": a["DataType"], "Value": _value(a)}
                            for name, a in self.attributes.items()
                        },
                    },
                }
            ]
        }

    def envelope(self, subscription: TopicSubscriptionSpec) -> str:
        document: dict[str, Any] = {
            "Type": "Notification",
            "MessageId": self.message_id,
            "TopicArn": self.topic.arn,
        }
        if self.subject is not None:
            document["Subject"] = self.subject
        document.update(
            {
                "Message": self.text_for("sqs"),
                "Timestamp": self.timestamp,
                "SignatureVersion": "1",
                "Signature": "RVhBTVBMRQ==",
                "SigningCertURL": _CERT,
                "UnsubscribeURL": _unsubscribe(subscription),
            }
        )
        if self.attributes:
            document["MessageAttributes"] = {
                name: {"Type": a["DataType"], "Value": _value(a)}
                for name, a in self.attributes.items()
            }
        return json.dumps(document)


def _unsubscribe(subscription: TopicSubscriptionSpec) -> str:
    return (
        f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription.arn}"
    )


class SnsDeliveries:
    """The middleware hook that turns a successful Publish into its deliveries."""

    def __init__(self, app: WsgiApp, report: Callable[[str], None], submit: Submit) -> None:
        self.app = app  # moto behind the journal: a delivery to a queue is journaled
        self.report = report
        self.submit = submit
        self.model: StackModel | None = None
        self._topics: dict[str, TopicSpec] = {}
        self._subscriptions: dict[str, list[tuple[TopicSubscriptionSpec, Matcher]]] = {}
        self._lock = threading.Lock()
        self._recent: dict[tuple[str, str], float] = {}  # FIFO deduplication ids seen

    def apply(self, model: StackModel) -> None:
        """Follow the template's topics and subscriptions: at start, and after each edit."""
        by_topic: dict[str, list[tuple[TopicSubscriptionSpec, Matcher]]] = {}
        for subscription in model.topic_subscriptions:
            matcher = compile_filter_policy(
                subscription.filter_policy or None, subscription.filter_scope
            )
            by_topic.setdefault(model.topics[subscription.topic].arn, []).append(
                (subscription, matcher)
            )
        self.model = model
        self._topics = {topic.arn: topic for topic in model.topics.values()}
        self._subscriptions = by_topic

    def before(self, call: AwsCall) -> Answer | None:
        return None

    def after(self, call: AwsCall, status: str, response: bytes) -> None:
        if call.service != "sns" or not status.startswith("200"):
            return
        if call.operation == "Publish":
            ids = re.findall(rb"<MessageId>([^<]+)</MessageId>", response)
            if ids:
                self._published(call.form, "", ids[0].decode())
        elif call.operation == "PublishBatch":
            successful = dict(
                re.findall(rb"<Id>([^<]+)</Id>\s*<MessageId>([^<]+)</MessageId>", response)
            )
            index = 1
            while True:
                prefix = f"PublishBatchRequestEntries.member.{index}."
                entry_id = call.form.get(prefix + "Id")
                if not entry_id:
                    break
                message_id = successful.get(entry_id[0].encode())
                if message_id is not None:
                    self._published(call.form, prefix, message_id.decode(), batch=True)
                index += 1

    def _published(
        self, form: dict[str, list[str]], prefix: str, message_id: str, batch: bool = False
    ) -> None:
        topic_arn = (form.get("TopicArn") or form.get("TargetArn") or [""])[0]
        topic = self._topics.get(topic_arn)
        if topic is None:
            return  # a topic created at run time: moto keeps its own subscriptions

        def field(name: str) -> str | None:
            values = form.get(prefix + name)
            return values[0] if values else None

        message = field("Message") or ""
        published = Published(
            topic,
            message_id,
            message,
            field("Subject"),
            _message_attributes(form, prefix),
            field("MessageStructure"),
            field("MessageGroupId"),
            field("MessageDeduplicationId"),
        )
        if topic.fifo and self._duplicate(published):
            return
        for subscription, matches in self._subscriptions.get(topic.arn, []):
            if not matches(published.attributes, published.text_for(subscription.protocol)):
                continue
            if subscription.protocol == "lambda":
                self.submit(
                    subscription.endpoint,
                    published.lambda_event(subscription),
                    f"SNS {topic.name} ({subscription.logical_id})",
                )
            elif subscription.protocol == "sqs":
                self._to_queue(published, subscription)
            else:
                text = published.text_for(subscription.protocol)
                subject = f"{published.subject}: " if published.subject else ""
                self.report(
                    f"[relay] SNS {topic.name} -> {subscription.protocol} {subscription.endpoint}:"
                    f" {subject}{text[:500]}"
                )

    def _duplicate(self, published: Published) -> bool:
        dedup = published.dedup_id
        if dedup is None and published.topic.attributes.get("ContentBasedDeduplication") == "true":
            dedup = hashlib.sha256(published.message.encode()).hexdigest()
        if dedup is None:
            return False
        now = time.monotonic()
        with self._lock:
            self._recent = {k: t for k, t in self._recent.items() if now - t < _DEDUP_WINDOW_S}
            key = (published.topic.arn, dedup)
            if key in self._recent:
                return True
            self._recent[key] = now
        return False

    def _to_queue(self, published: Published, subscription: TopicSubscriptionSpec) -> None:
        assert self.model is not None
        queue = self.model.queues[subscription.endpoint]
        request: dict[str, Any] = {"QueueUrl": queue.url}
        if subscription.raw:
            request["MessageBody"] = published.text_for("sqs")
            if published.attributes:
                request["MessageAttributes"] = published.attributes
        else:
            request["MessageBody"] = published.envelope(subscription)
        if queue.attributes.get("FifoQueue") == "true":
            request["MessageGroupId"] = published.group_id or "default"
            request["MessageDeduplicationId"] = (
                published.dedup_id or hashlib.sha256(request["MessageBody"].encode()).hexdigest()
            )
        try:
            call(self.app, SQS + "SendMessage", request)
        except AwsError as exc:
            self.report(f"[relay] SNS {published.topic.name} -> {queue.name}: {exc}")

"""What SNS refuses, checked before moto acts (each check raises AWS's error, and nothing is done or
mailed): ARNs that are not ARNs, protocols and endpoints that do not fit, an email address that is not
one address, empty or oversized messages, topic names (docs/aws-behaviour.md, "Input validation";
tests/data/bad_inputs.jsonl). SNS words its own errors `Invalid parameter: <Name>[ Reason: <why>]`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .. import backends
from ..wire import AwsCall, AwsError

PROTOCOLS = ("http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose")
# One address: a local part and a domain with a dot, no spaces, commas, angle brackets or line breaks
# (an endpoint "a@x.com, b@x.com" or one with "\r\nBcc:" must not reach a mail relay).
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
_TOPIC_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}")
_TOKEN = re.compile(r"[0-9a-f]{64,512}")
MAX_MESSAGE_BYTES = 262_144


def invalid(name: str, reason: str | None = None) -> AwsError:
    return AwsError("InvalidParameter", f"Invalid parameter: {name}" + (f" Reason: {reason}" if reason else ""))


def _arn_parts(name: str, arn: str | None) -> list[str]:
    parts = (arn or "").split(":")
    if len(parts) < 6:
        raise invalid(name, f"An ARN must have at least 6 elements, not {len(parts)}")
    return parts


def _topic(call: AwsCall, arn: str) -> Any:
    """The topic an ARN names in this call's region; SNS's errors for one it cannot."""
    parts = _arn_parts("TopicArn", arn)
    if parts[3] != call.region:
        raise invalid("TopicArn")
    topic = backends.sns(call.account_id, call.region).topics.get(arn)
    if topic is None:
        raise AwsError("NotFound", "Topic does not exist", 404)
    return topic


def subscribe(call: AwsCall) -> None:
    params = call.params
    _topic(call, params.get("TopicArn"))
    protocol, endpoint = params.get("Protocol", ""), params.get("Endpoint") or ""
    if protocol not in PROTOCOLS:
        raise invalid(f"Amazon SNS does not support this protocol string: {protocol}")
    if protocol in ("email", "email-json") and not _EMAIL.fullmatch(endpoint):
        raise invalid("Email address")
    if protocol in ("http", "https") and not endpoint.startswith(f"{protocol}://"):
        raise invalid("Endpoint must match the specified protocol")
    _check_attributes(params.get("Attributes") or {})


def _check_attributes(attributes: dict[str, str]) -> None:
    raw = attributes.get("RawMessageDelivery")
    if raw is not None and raw.lower() not in ("true", "false"):
        raise invalid("Attributes", f"RawMessageDelivery: Invalid value [{raw}]. Must be true or false.")
    policy = attributes.get("FilterPolicy")
    if policy is not None:
        try:
            json.loads(policy)
        except ValueError:
            token = re.match(r"[^\s,:\[\]{}]*", policy.strip())[0]
            raise invalid("Attributes", f"FilterPolicy: failed to parse JSON. Unrecognized token '{token}': was "
                          f"expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')") from None


def confirm_subscription(call: AwsCall) -> None:
    params = call.params
    _arn_parts("TopicArn", params.get("TopicArn"))
    if not _TOKEN.fullmatch(params.get("Token") or ""):
        raise AwsError("InvalidParameter", "Invalid token")
    if params.get("TopicArn") not in backends.sns(call.account_id, call.region).topics:
        raise invalid("Token")  # a token for no topic of this account is no valid token


def publish(call: AwsCall) -> None:
    params = call.params
    if params.get("TopicArn") is not None or params.get("TargetArn") is None:
        _topic(call, params.get("TopicArn"))
    message = params.get("Message") or ""
    if not message:
        raise invalid("Empty message")
    if len(message.encode()) > MAX_MESSAGE_BYTES:
        raise invalid("Message too long")
    if params.get("Subject") is not None and not params["Subject"].strip():
        raise invalid("Subject")
    if params.get("MessageStructure") == "json":
        try:
            structure = json.loads(message)
        except ValueError:
            raise invalid("Message Structure - JSON message body failed to parse") from None
        if not isinstance(structure, dict) or "default" not in structure:
            raise invalid("Message Structure - No default entry in JSON message body")
    for name, attribute in (params.get("MessageAttributes") or {}).items():
        if attribute.get("DataType", "").startswith(("String", "Number")) and not attribute.get("StringValue"):
            raise AwsError("ParameterValueInvalid", f"The message attribute '{name}' must contain non-empty message "
                           f"attribute value for message attribute type '{attribute['DataType']}'.")


def unsubscribe(call: AwsCall) -> None:
    arn = call.params.get("SubscriptionArn")
    parts = _arn_parts("SubscriptionArn", arn)
    if len(parts) < 7:  # a topic's ARN, not one of its subscriptions
        raise invalid("SubscriptionId")


def topic_arn_call(call: AwsCall) -> None:
    """A call on one topic (GetTopicAttributes, ListSubscriptionsByTopic): its ARN, and the topic."""
    _topic(call, call.params.get("TopicArn"))
    if call.params.get("NextToken") is not None:  # the local cloud answers in one page and gives out no token
        raise invalid("NextToken")


def create_topic(call: AwsCall) -> None:
    params = call.params
    name = params.get("Name", "")
    if not _TOPIC_NAME.fullmatch(name):  # a FIFO topic (name.fifo) is not one the lab makes
        raise invalid("Topic Name")
    topic = backends.sns(call.account_id, call.region).topics.get(
        f"arn:aws:sns:{call.region}:{call.account_id}:{name}")
    wanted = params.get("Attributes") or {}
    if topic is not None and any(str(getattr(topic, _ATTRIBUTES[key])) != str(value)
                                 for key, value in wanted.items() if key in _ATTRIBUTES):
        raise invalid("Attributes", "Topic already exists with different attributes")


# Topic attributes compared when a topic is created again (as moto's Topic keeps them).
_ATTRIBUTES = {"DisplayName": "display_name"}


CHECKS = {
    "Subscribe": subscribe,
    "ConfirmSubscription": confirm_subscription,
    "Publish": publish,
    "Unsubscribe": unsubscribe,
    "GetTopicAttributes": topic_arn_call,
    "ListSubscriptionsByTopic": topic_arn_call,
    "CreateTopic": create_topic,
}

"""What SNS sends: emails (a subscription's confirmation, a notification with SNS's footer) and the
signed JSON envelope HTTP, SQS and email-json subscribers receive.

Pure formatting, no I/O; wording from docs/aws-behaviour.md, "SNS emails and envelopes". SNS sends email
from "AWS Notifications <no-reply@sns.amazonaws.com>". Links point at `sns_url` (by default
https://sns.<region>.amazonaws.com, as on AWS).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..formats import as_utc

SENDER = "AWS Notifications <no-reply@sns.amazonaws.com>"
CONFIRMATION_SUBJECT = "AWS Notification - Subscription Confirmation"


@dataclass(frozen=True)
class Email:
    sender: str
    recipient: str
    subject: str
    body: str


def sns_endpoint(region: str) -> str:
    return f"https://sns.{region}.amazonaws.com"


def notification_email(
    subject: str, message: str, subscription_arn: str, endpoint: str, sns_url: str
) -> Email:
    """An SNS notification as the email subscriber receives it: the message plus SNS's footer."""
    unsubscribe = f"{sns_url}/unsubscribe.html?SubscriptionArn={subscription_arn}&Endpoint={endpoint}"
    footer = (
        "\n\n--\n"
        "If you wish to stop receiving notifications from this topic, "
        "please click or visit the link below to unsubscribe:\n"
        f"{unsubscribe}\n"
        "\n"
        "Please do not reply directly to this email. If you have any questions or comments regarding this email, "
        "please contact us at https://aws.amazon.com/support\n"
    )
    return Email(SENDER, endpoint, subject, message + footer)


def subscription_confirmation_email(topic_arn: str, token: str, endpoint: str, sns_url: str) -> Email:
    """The email SNS sends to a new email subscriber; the link confirms the subscription."""
    confirm = f"{sns_url}/confirmation.html?TopicArn={topic_arn}&Token={token}&Endpoint={endpoint}"
    body = (
        "You have chosen to subscribe to the topic: \n"
        f"{topic_arn}\n"
        "\n"
        "To confirm this subscription, click or visit the link below (If this was in error no action is necessary): \n"
        f"{confirm}\n"
        "\n"
        "Please do not reply directly to this email. If you wish to remove yourself from receiving all future SNS "
        "subscription confirmation requests please send an email to sns-opt-out\n"
    )
    return Email(SENDER, endpoint, CONFIRMATION_SUBJECT, body)


def notification_envelope(
    *,
    topic_arn: str,
    message_id: str,
    subject: str | None,
    message: str,
    timestamp: datetime,
    subscription_arn: str,
    sns_url: str,
    signing_cert_url: str,
    sign: Callable[[bytes], bytes],
) -> str:
    """The JSON body an HTTP/HTTPS or SQS subscriber receives (SignatureVersion 1).

    `sign` makes the SHA1withRSA signature of the bytes AWS signs; the subscriber verifies it
    with the certificate at `signing_cert_url`.
    """
    sent = as_utc(timestamp)
    fields = {"Type": "Notification", "MessageId": message_id, "TopicArn": topic_arn}
    if subject is not None:
        fields["Subject"] = subject
    fields |= {"Message": message, "Timestamp": f"{sent:%Y-%m-%dT%H:%M:%S}.{sent.microsecond // 1000:03d}Z"}
    signature = base64.b64encode(sign(notification_string_to_sign(fields))).decode("ascii")
    fields |= {
        "SignatureVersion": "1",
        "Signature": signature,
        "SigningCertURL": signing_cert_url,
        "UnsubscribeURL": f"{sns_url}/?Action=Unsubscribe&SubscriptionArn={subscription_arn}",
    }
    return json.dumps(fields, indent=2, separators=(",", " : "), ensure_ascii=False)


def notification_string_to_sign(fields: dict[str, str]) -> bytes:
    """AWS's canonical form of a Notification: name and value lines, in this order, Subject if present."""
    names = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
    return "".join(f"{name}\n{fields[name]}\n" for name in names if name in fields).encode("utf-8")

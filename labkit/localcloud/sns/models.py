"""SNS email as AWS does it: subscriptions wait for confirmation, and messages reach their subscribers.

- Subscribe with protocol `email` or `email-json` leaves the subscription pending (Subscribe answers
  "pending confirmation", ListSubscriptions* show "PendingConfirmation", see `responses`) and "sends"
  the confirmation email, whose link carries the token.
- ConfirmSubscription with that token confirms it; from then on every message published to the
  topic is emailed: `email` gets the text (the `email` member of a MessageStructure=json message)
  with SNS's footer, `email-json` gets the JSON notification envelope.
- SQS subscribers (without raw delivery) get the same envelope, in AWS's field order. Messages with
  message attributes, and FIFO topics, keep moto's own SQS delivery.

"Sending" writes the email into the outbox (`outbox`). With LABKIT_SMTP_HOST set (LABKIT_SMTP_PORT,
LABKIT_SMTP_USER, LABKIT_SMTP_PASSWORD, LABKIT_SMTP_STARTTLS=1 optional) each email also goes out
through that relay.

Links keep AWS's form (https://sns.<region>.amazonaws.com/...): confirm through ConfirmSubscription
with the link's token, as the lab does on the local target.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import smtplib
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from moto.sns.exceptions import SNSInvalidParameter
from moto.sns.models import SNSBackend, Subscription
from moto.sqs.models import sqs_backends

from .formats import SENDER, Email, notification_email, notification_envelope, sns_endpoint, \
    subscription_confirmation_email
from .outbox import Outbox

log = logging.getLogger(__name__)

EMAIL_PROTOCOLS = ("email", "email-json")
PENDING_IN_LISTINGS = "PendingConfirmation"  # what ListSubscriptions(ByTopic) show
DEFAULT_EMAIL_SUBJECT = "AWS Notification Message"
INVALID_TOKEN = "Invalid parameter: Token"


# --- sending ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SmtpRelay:
    """A real mail relay, used when LABKIT_SMTP_HOST is set."""

    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False

    @classmethod
    def from_environment(cls) -> SmtpRelay | None:
        host = os.environ.get("LABKIT_SMTP_HOST")
        if not host:
            return None
        return cls(host=host, port=int(os.environ.get("LABKIT_SMTP_PORT") or 25),
                   user=os.environ.get("LABKIT_SMTP_USER") or None,
                   password=os.environ.get("LABKIT_SMTP_PASSWORD") or None,
                   starttls=os.environ.get("LABKIT_SMTP_STARTTLS", "").lower() in ("1", "true", "yes"))

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=30) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(message)


def send_email(message: Email, sent: datetime | None = None) -> None:
    """Write the email to the outbox and, if a relay is configured, send it for real."""
    rfc5322 = Outbox().deliver(message, sent or datetime.now(timezone.utc))
    relay = SmtpRelay.from_environment()
    if relay is None:
        return
    try:
        relay.send(rfc5322)
    except (OSError, smtplib.SMTPException):  # the outbox has it; a relay problem must not fail Publish
        log.exception("could not send email to %s through %s:%s", message.recipient, relay.host, relay.port)


# --- subscriptions --------------------------------------------------------------------------------

def is_pending(subscription: Subscription) -> bool:
    return getattr(subscription, "confirmation_token", None) is not None and not subscription.confirmed


def send_confirmation(subscription: Subscription) -> None:
    region = subscription.topic.sns_backend.region_name
    send_email(subscription_confirmation_email(subscription.topic.arn, subscription.confirmation_token,
                                               subscription.endpoint, sns_endpoint(region)))


def confirm(backend: SNSBackend, topic_arn: str, token: str, authenticate_on_unsubscribe: bool) -> Subscription:
    """ConfirmSubscription: the subscription whose confirmation email carried this token."""
    for subscription in list(backend.subscriptions.values()):
        if subscription.topic.arn == topic_arn and getattr(subscription, "confirmation_token", None) == token:
            if not subscription.confirmed:
                subscription.confirmed = True
                subscription.attributes["PendingConfirmation"] = "false"
                subscription.attributes["ConfirmationWasAuthenticated"] = str(authenticate_on_unsubscribe).lower()
            return subscription
    raise SNSInvalidParameter(INVALID_TOKEN)


def deliver(subscription: Subscription, message: str, message_id: str, subject: str | None) -> None:
    """What an email, email-json or SQS subscriber receives for one published message."""
    region = subscription.topic.sns_backend.region_name
    sns_url = sns_endpoint(region)
    if subscription.protocol == "email":
        send_email(notification_email(subject or DEFAULT_EMAIL_SUBJECT, message, subscription.arn,
                                      subscription.endpoint, sns_url))
        return
    envelope = _envelope(subscription, message, message_id, subject, sns_url)
    if subscription.protocol == "email-json":
        send_email(Email(SENDER, subscription.endpoint, subject or DEFAULT_EMAIL_SUBJECT, envelope))
    else:  # sqs
        queue_arn = subscription.endpoint.split(":")
        sqs_backends[queue_arn[4]][queue_arn[3]].send_message(queue_arn[5], envelope)


def _envelope(subscription: Subscription, message: str, message_id: str, subject: str | None, sns_url: str) -> str:
    return notification_envelope(
        topic_arn=subscription.topic.arn, message_id=message_id, subject=subject, message=message,
        timestamp=datetime.now(timezone.utc), subscription_arn=subscription.arn, sns_url=sns_url,
        signing_cert_url=f"{sns_url}/SimpleNotificationService-labkit-local.pem", sign=_sign)


@functools.lru_cache(maxsize=1)
def _signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _sign(data: bytes) -> bytes:
    """SignatureVersion 1: SHA1withRSA."""
    return _signing_key().sign(data, padding.PKCS1v15(), hashes.SHA1())


def subscribe_pending(original: Any) -> Any:
    def subscribe(self: SNSBackend, topic_arn: str, endpoint: str, protocol: str) -> Subscription:
        known = self._find_subscription(topic_arn, endpoint, protocol)
        subscription = original(self, topic_arn, endpoint, protocol)
        if protocol not in EMAIL_PROTOCOLS:
            return subscription
        if known is None:
            subscription.confirmation_token = secrets.token_hex(128)
            subscription.confirmed = False
            subscription.attributes.update(PendingConfirmation="true", ConfirmationWasAuthenticated="false")
        if is_pending(subscription):  # subscribing again re-sends the confirmation email
            send_confirmation(subscription)
        return subscription
    return subscribe



def publish_to_email_and_sqs(original: Any) -> Any:
    def publish(self: Subscription, message: str, message_id: str, subject: str | None = None,
                message_attributes: dict[str, Any] | None = None, group_id: str | None = None,
                deduplication_id: str | None = None, message_structure: str | None = None) -> None:
        handled_here = self.protocol in EMAIL_PROTOCOLS or (
            self.protocol == "sqs" and self.attributes.get("RawMessageDelivery") not in (True, "true")
            and not message_attributes and not group_id)
        if not handled_here:
            return original(self, message, message_id, subject=subject, message_attributes=message_attributes,
                            group_id=group_id, deduplication_id=deduplication_id,
                            message_structure=message_structure)
        if is_pending(self):
            return None
        if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(message_attributes, message):
            return None
        if message_structure == "json":
            message = self._parse_message_structure(message, self.protocol)
        try:
            deliver(self, message, message_id, subject)
        except Exception:  # one unreachable subscriber (a deleted queue) never fails the Publish, as on AWS
            log.exception("delivery to %s %s failed", self.protocol, self.endpoint)
        return None
    return publish



def subscription_arn_while_pending(_original: Any) -> property:
    """ListSubscriptions(ByTopic) read `subscription_arn` before `arn`: a pending one lists as PendingConfirmation."""
    return property(lambda self: PENDING_IN_LISTINGS if is_pending(self) else self.arn)

"""SNS email through boto3 against the local cloud: pending subscriptions, confirmation with the
emailed token, notification emails in the Maildir outbox, email-json and SQS envelopes, the SMTP
relay, and `labkit local mail`."""

from __future__ import annotations

import base64
import json
import mailbox
import uuid

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from labkit import cli
from labkit.localcloud.sns import models as sns_email
from labkit.localcloud.sns.formats import CONFIRMATION_SUBJECT, SENDER, Email, notification_string_to_sign
from labkit.localcloud.sns.outbox import Outbox

ENVELOPE_ORDER = ["Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion", "Signature",
                  "SigningCertURL", "UnsubscribeURL"]


@pytest.fixture
def sns(clients):
    return clients("sns")


@pytest.fixture
def topic(sns) -> str:
    return sns.create_topic(Name=f"alerts-{uuid.uuid4().hex[:8]}")["TopicArn"]


def _emails_to(address: str) -> list:
    return [e for e in Outbox().emails() if e.recipient == address]


def _subscribe_and_confirm(sns, topic: str, address: str, protocol: str = "email") -> str:
    sns.subscribe(TopicArn=topic, Protocol=protocol, Endpoint=address)
    token = _emails_to(address)[-1].confirmation_token
    return sns.confirm_subscription(TopicArn=topic, Token=token)["SubscriptionArn"]


def test_an_email_subscription_waits_for_confirmation(sns, topic):
    response = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="learner@example.com")
    assert response["SubscriptionArn"] == "pending confirmation"
    [listed] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert listed["SubscriptionArn"] == "PendingConfirmation"
    assert any(s["TopicArn"] == topic and s["SubscriptionArn"] == "PendingConfirmation"
               for s in sns.list_subscriptions()["Subscriptions"])

    [confirmation] = _emails_to("learner@example.com")
    assert (confirmation.sender, confirmation.subject) == (SENDER, CONFIRMATION_SUBJECT)
    assert topic in confirmation.body and len(confirmation.confirmation_token) == 256

    sns.publish(TopicArn=topic, Subject="too early", Message="nobody gets this")
    assert len(_emails_to("learner@example.com")) == 1


def test_confirming_with_the_emailed_token(sns, topic):
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    with pytest.raises(ClientError) as raised:
        sns.confirm_subscription(TopicArn=topic, Token="0" * 256)
    assert raised.value.response["Error"]["Code"] == "InvalidParameter"
    assert raised.value.response["Error"]["Message"] == "Invalid parameter: Token"

    token = _emails_to("ops@example.com")[0].confirmation_token
    arn = sns.confirm_subscription(TopicArn=topic, Token=token)["SubscriptionArn"]
    assert arn.startswith(topic + ":")
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"][0]["SubscriptionArn"] == arn
    assert sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["PendingConfirmation"] == "false"
    assert sns.confirm_subscription(TopicArn=topic, Token=token)["SubscriptionArn"] == arn  # a second click


def test_subscribing_again_while_pending_resends_the_confirmation(sns, topic):
    for _ in range(2):
        assert sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="twice@example.com")["SubscriptionArn"] == \
            "pending confirmation"
    first, second = _emails_to("twice@example.com")
    assert first.confirmation_token == second.confirmation_token
    assert len(sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]) == 1


def test_return_subscription_arn_gives_the_arn_of_a_pending_subscription(sns, topic):
    arn = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="arn@example.com",
                        ReturnSubscriptionArn=True)["SubscriptionArn"]
    assert arn.startswith(topic + ":")
    assert sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["PendingConfirmation"] == "true"


def test_a_confirmed_subscriber_gets_each_message_with_the_sns_footer(sns, topic):
    arn = _subscribe_and_confirm(sns, topic, "reader@example.com")
    sns.publish(TopicArn=topic, Subject="Hello", Message="first")
    sns.publish(TopicArn=topic, Message="second")
    structured = {"default": "default text", "email": "email text"}
    sns.publish(TopicArn=topic, Subject="Structured", Message=json.dumps(structured), MessageStructure="json")

    _, first, second, third = _emails_to("reader@example.com")
    assert (first.subject, second.subject, third.subject) == ("Hello", "AWS Notification Message", "Structured")
    assert first.body.startswith("first\n\n--\nIf you wish to stop receiving notifications from this topic")
    assert f"SubscriptionArn={arn}&Endpoint=reader@example.com" in first.body
    assert third.body.startswith("email text\n")


def test_email_json_gets_the_signed_envelope(sns, topic):
    arn = _subscribe_and_confirm(sns, topic, "machine@example.com", protocol="email-json")
    message_id = sns.publish(TopicArn=topic, Subject="S", Message=json.dumps({"default": "for machines"}),
                             MessageStructure="json")["MessageId"]
    envelope = json.loads(_emails_to("machine@example.com")[-1].body)
    assert list(envelope) == ENVELOPE_ORDER
    assert (envelope["MessageId"], envelope["Message"], envelope["Subject"]) == (message_id, "for machines", "S")
    assert envelope["UnsubscribeURL"].endswith(f"SubscriptionArn={arn}")
    sns_email._signing_key().public_key().verify(
        base64.b64decode(envelope["Signature"]), notification_string_to_sign(envelope), padding.PKCS1v15(), hashes.SHA1())


def test_sqs_subscribers_get_the_same_envelope_and_raw_delivery_stays_raw(sns, clients, topic):
    sqs = clients("sqs")
    queues = {}
    for name, raw in (("enveloped", "false"), ("raw", "true")):
        url = sqs.create_queue(QueueName=f"{name}-{uuid.uuid4().hex[:6]}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": raw})
        queues[name] = url
    sns.publish(TopicArn=topic, Subject="To queues", Message="payload")

    [enveloped] = sqs.receive_message(QueueUrl=queues["enveloped"])["Messages"]
    envelope = json.loads(enveloped["Body"])
    assert list(envelope) == ENVELOPE_ORDER and envelope["Message"] == "payload"
    [raw] = sqs.receive_message(QueueUrl=queues["raw"])["Messages"]
    assert raw["Body"] == "payload"


def test_the_outbox_is_a_maildir_of_rfc5322_messages(sns, topic, tmp_path):
    _subscribe_and_confirm(sns, topic, "maildir@example.com")
    sns.publish(TopicArn=topic, Subject="Über", Message="naïve text")
    messages = list(mailbox.Maildir(Outbox().path, create=False))
    latest = max(messages, key=lambda m: m.get_date())
    assert latest["From"] == SENDER and latest["To"] == "maildir@example.com"
    assert "Date" in latest and "Message-ID" in latest
    assert _emails_to("maildir@example.com")[-1].body.startswith("naïve text")


class _FakeSmtp:
    sent: list = []

    def __init__(self, host: str, port: int, timeout: float):
        self.address = (host, port)

    def __enter__(self) -> _FakeSmtp:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def starttls(self) -> None:
        self.sent.append(("starttls",))

    def login(self, user: str, password: str) -> None:
        self.sent.append(("login", user, password))

    def send_message(self, message) -> None:
        self.sent.append(("send", self.address, message["To"], str(message["Subject"])))


def test_a_configured_smtp_relay_also_sends_the_email(sns, topic, monkeypatch):
    monkeypatch.setattr(sns_email.smtplib, "SMTP", _FakeSmtp)
    monkeypatch.setattr(_FakeSmtp, "sent", [])
    monkeypatch.setenv("LABKIT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LABKIT_SMTP_PORT", "2525")
    monkeypatch.setenv("LABKIT_SMTP_USER", "lab")
    monkeypatch.setenv("LABKIT_SMTP_PASSWORD", "secret")
    monkeypatch.setenv("LABKIT_SMTP_STARTTLS", "1")
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="real@example.com")
    assert _FakeSmtp.sent == [("starttls",), ("login", "lab", "secret"),
                              ("send", ("127.0.0.1", 2525), "real@example.com", CONFIRMATION_SUBJECT)]
    assert _emails_to("real@example.com")  # the outbox has it too


def test_a_failing_relay_does_not_fail_the_publish(sns, topic, monkeypatch):
    monkeypatch.setenv("LABKIT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LABKIT_SMTP_PORT", "9")  # discard port: nothing listens, the connection is refused
    assert sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="nobody@example.com")["SubscriptionArn"] == \
        "pending confirmation"
    assert _emails_to("nobody@example.com")


def test_labkit_local_mail_lists_the_outbox_without_a_server(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    assert cli.main(["local", "mail"]) == 0
    assert "No email in" in capsys.readouterr().out

    sns_email.send_email(Email(SENDER, "me@example.com", 'ALARM: "x" in US East (N. Virginia)', "body\n"))
    assert cli.main(["local", "mail"]) == 0
    assert 'me@example.com  ALARM: "x" in US East (N. Virginia)' in capsys.readouterr().out
    assert cli.main(["local", "mail", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["to"] == "me@example.com" and listed["body"] == "body\n" and listed["from"] == SENDER

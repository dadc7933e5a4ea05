"""The local cloud's outbox: a Maildir ($LABKIT_HOME/mail) with one RFC 5322 message per email SNS
"sent", which any mail client can open and `labkit local mail` lists.

Standard library only: the notebooks' kernel reads the outbox without loading the local cloud.
"""

from __future__ import annotations

import email.policy
import email.utils
import mailbox
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from ..home import mail_directory
from .formats import Email


@dataclass(frozen=True)
class OutboxEmail:
    sender: str
    recipient: str
    subject: str
    date: datetime
    body: str

    def as_dict(self) -> dict[str, str]:
        return {"from": self.sender, "to": self.recipient, "subject": self.subject, "date": self.date.isoformat(),
                "body": self.body}

    @property
    def confirmation_token(self) -> str | None:
        """The Token of the confirmation link, if this is a subscription confirmation email."""
        for word in self.body.split():
            if "/confirmation.html?" in word:
                return parse_qs(urlparse(word).query).get("Token", [None])[0]
        return None


class Outbox:
    """The Maildir the local cloud's emails go to (one RFC 5322 message per file)."""

    def __init__(self, path: Path | None = None):
        self.path = path or mail_directory()

    def deliver(self, message: Email, sent: datetime) -> EmailMessage:
        rfc5322 = _rfc5322(message, sent)
        mailbox.Maildir(self.path, create=True).add(rfc5322)
        return rfc5322

    def emails(self) -> list[OutboxEmail]:
        """Every email, oldest first; none if nothing was ever sent."""
        if not (self.path / "new").is_dir() and not (self.path / "cur").is_dir():
            return []
        box = mailbox.Maildir(self.path, create=False)
        messages = sorted(((message.get_date(), key, message) for key, message in box.iteritems()),
                          key=lambda item: item[:2])
        return [_outbox_email(message) for _, _, message in messages]


def _rfc5322(message: Email, sent: datetime) -> EmailMessage:
    rfc5322 = EmailMessage()
    rfc5322["From"] = message.sender
    rfc5322["To"] = message.recipient
    rfc5322["Subject"] = message.subject
    rfc5322["Date"] = email.utils.format_datetime(sent)
    rfc5322["Message-ID"] = f"<{uuid.uuid4()}@email.amazonses.com>"
    rfc5322.set_content(message.body)
    return rfc5322


def _outbox_email(message: mailbox.MaildirMessage) -> OutboxEmail:
    parsed = email.message_from_bytes(message.as_bytes(), _class=EmailMessage, policy=email.policy.default)
    return OutboxEmail(sender=str(parsed["From"]), recipient=str(parsed["To"]), subject=str(parsed["Subject"]),
                       date=email.utils.parsedate_to_datetime(parsed["Date"]), body=parsed.get_content())

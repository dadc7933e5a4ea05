"""SNS's answers where moto's differ: Subscribe to an email address says "pending confirmation", and
ConfirmSubscription needs the token of the confirmation email."""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.sns.exceptions import SNSNotFoundError
from moto.sns.responses import SNSResponse

from .models import confirm, is_pending

PENDING_IN_SUBSCRIBE = "pending confirmation"  # what Subscribe answers


def answer_pending_subscribe(original: Any) -> Any:
    def subscribe(self: SNSResponse) -> ActionResult:
        result = original(self)
        subscription = self.backend.subscriptions.get(result.result["SubscriptionArn"])
        wants_arn = str(self._get_param("ReturnSubscriptionArn", "false")).lower() == "true"
        if subscription is not None and is_pending(subscription) and not wants_arn:
            return ActionResult({"SubscriptionArn": PENDING_IN_SUBSCRIBE})
        return result
    return subscribe


def confirm_with_token(_original: Any) -> Any:
    def confirm_subscription(self: SNSResponse) -> ActionResult:
        topic_arn = self._get_param("TopicArn")
        if topic_arn not in self.backend.topics:
            raise SNSNotFoundError("Topic does not exist")
        authenticate = str(self._get_param("AuthenticateOnUnsubscribe", "false")).lower() == "true"
        subscription = confirm(self.backend, topic_arn, self._get_param("Token"), authenticate)
        return ActionResult({"SubscriptionArn": subscription.arn})
    return confirm_subscription

"""Delivering one notification: claim the row, send by e-mail or signed webhook, record.

A row is claimed (`pending` → `sending`, with a claim that expires) before anything is sent
and marked `sent` after: a delivery message handed out twice (a worker restart, the
evaluation's sweep) finds the row sent or claimed and sends nothing. A failure leaves the row
`pending` with the next attempt's time, until settings.ALERTS_GIVE_UP_SECONDS after it was
created: then it is `failed`.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import F, Q

from alerts import messages, metrics
from alerts.choices import NotificationChannelKindChoices as Kind
from alerts.choices import NotificationStatusChoices as S
from alerts.models import Notification, NotificationChannel
from alerts.signing import DELIVERY_HEADER, SIGNATURE_HEADER, sign
from devices.collection.credentials import decrypt

logger = logging.getLogger(__name__)

CLAIM = timedelta(minutes=2)  # longer than one send may take (SMTP and HTTP time out first)
HTTP_TIMEOUT = 15  # seconds
USER_AGENT = "DeviceVault-Alerts/1"


class DeliveryError(Exception):
    """The channel refused or could not be reached; the message says why."""


@dataclass(frozen=True)
class Outcome:
    status: str  # sent, failed, pending (retry in `retry_in`), skipped (not ours to send)
    retry_in: float | None = None


def backoff(attempt: int, *, base: float, cap: float) -> float:
    """Seconds before retry number `attempt` (1, 2, ...): base, 2·base, 4·base, ... ≤ cap."""
    return float(min(cap, base * 2 ** min(attempt - 1, 40)))


def addresses(target: str) -> list[str]:
    return [a.strip() for a in target.replace(";", ",").split(",") if a.strip()]


def email_body(payload: dict[str, object]) -> str:
    return (
        f"{payload['message']}\n\n"
        f"Event: {payload['event']}\nFired at: {payload['fired_at']}\n"
        "-- \nDeviceVault alerts\n"
    )


def webhook_body(
    channel: NotificationChannel, *, subject: str, payload: dict[str, object]
) -> bytes:
    shaped = messages.shaped(payload, preset=channel.preset, subject_line=subject)
    return json.dumps(shaped, separators=(",", ":"), ensure_ascii=False).encode()


def send(channel: NotificationChannel, *, subject: str, payload: dict[str, object],
         delivery_id: int | None = None) -> None:
    """Send one message through `channel`; DeliveryError when it did not arrive."""
    if channel.kind == Kind.EMAIL:
        to = addresses(channel.target)
        try:
            EmailMessage(
                subject=subject, body=email_body(payload), to=to,
                connection=get_connection(fail_silently=False),
            ).send()
        except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors
            raise DeliveryError(f"smtp: {exc}") from exc
        return
    body = webhook_body(channel, subject=subject, payload=payload)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    secret = decrypt(channel.secret_encrypted)
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    if delivery_id is not None:
        headers[DELIVERY_HEADER] = str(delivery_id)
    request = urllib.request.Request(channel.target, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # noqa: S310
            response.read(65536)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"http {exc.code}: {exc.reason}") from exc
    except (OSError, ValueError) as exc:
        raise DeliveryError(f"webhook: {exc}") from exc


def deliver(notification_id: int, *, now: datetime) -> Outcome:
    """Deliver notification `notification_id` once; what happened and when to retry."""
    claimed = Notification.objects.filter(
        Q(status=S.PENDING) | Q(status=S.SENDING, claimed_until__lt=now), pk=notification_id,
    ).update(status=S.SENDING, claimed_until=now + CLAIM, attempts=F("attempts") + 1)
    if not claimed:
        return Outcome("skipped")
    notification = Notification.objects.select_related("channel").get(pk=notification_id)
    channel = notification.channel
    try:
        if not channel.enabled:
            raise DeliveryError("channel disabled")
        send(channel, subject=notification.subject, payload=notification.payload,
             delivery_id=notification.pk)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried
        return _failed(notification, str(exc) or type(exc).__name__, now=now,
                       final=not channel.enabled)
    Notification.objects.filter(pk=notification_id, status=S.SENDING).update(
        status=S.SENT, sent_at=now, claimed_until=None, next_attempt_at=None, last_error="",
    )
    metrics.count_notification_sent(channel.kind)
    logger.info("notification sent: notification=%s channel=%s event=%s attempt=%s",
                notification.pk, channel.pk, notification.event, notification.attempts)
    return Outcome(S.SENT)


def _failed(notification: Notification, error: str, *, now: datetime, final: bool) -> Outcome:
    delay = backoff(notification.attempts, base=settings.ALERTS_RETRY_BASE_SECONDS,
                    cap=settings.ALERTS_RETRY_MAX_SECONDS)
    deadline = notification.created_at + timedelta(seconds=settings.ALERTS_GIVE_UP_SECONDS)
    if final or now + timedelta(seconds=delay) > deadline:
        Notification.objects.filter(pk=notification.pk).update(
            status=S.FAILED, last_error=error[:2000], claimed_until=None, next_attempt_at=None,
        )
        metrics.count_notification_failed(notification.channel.kind)
        logger.error("notification failed: notification=%s attempts=%s error=%s",
                     notification.pk, notification.attempts, error)
        return Outcome(S.FAILED)
    Notification.objects.filter(pk=notification.pk).update(
        status=S.PENDING, last_error=error[:2000], claimed_until=None,
        next_attempt_at=now + timedelta(seconds=delay),
    )
    logger.warning("notification not delivered, retry in %.1f s: notification=%s attempt=%s "
                   "error=%s", delay, notification.pk, notification.attempts, error)
    return Outcome(S.PENDING, retry_in=delay)

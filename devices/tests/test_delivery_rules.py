"""The delivery rules (devices/dispatch/delivery.py): pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devices.dispatch.delivery import DeliveryRules, Verdict, may_claim
from project.config import CollectionConfig

NOW = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
RULES = DeliveryRules(time_limit_seconds=300, requeue_after_seconds=900, max_attempts=3)


def verdict(status: str, attempts: int = 1, *, published_ago: float | None = None,
            started_ago: float | None = None) -> Verdict:
    return RULES.verdict(
        status=status, attempts=attempts, now=NOW,
        published_at=None if published_ago is None else NOW - timedelta(seconds=published_ago),
        started_at=None if started_ago is None else NOW - timedelta(seconds=started_ago),
    )


def test_rules_come_from_the_collection_section_defaults() -> None:
    assert DeliveryRules.from_config(CollectionConfig()) == RULES


def test_a_published_row_still_queued_after_requeue_after_is_delivered_again() -> None:
    assert verdict("queued", published_ago=900) == Verdict.LEAVE
    assert verdict("queued", published_ago=901) == Verdict.REDELIVER


def test_an_unpublished_queued_row_is_not_the_delivery_sweeps_business() -> None:
    assert verdict("queued", attempts=0) == Verdict.LEAVE


def test_a_row_running_past_the_time_limit_plus_60_seconds_is_delivered_again() -> None:
    assert verdict("running", started_ago=360) == Verdict.LEAVE
    assert verdict("running", started_ago=361) == Verdict.REDELIVER


def test_after_max_attempts_an_overdue_row_is_lost_instead() -> None:
    assert verdict("queued", attempts=2, published_ago=1000) == Verdict.REDELIVER
    assert verdict("queued", attempts=3, published_ago=1000) == Verdict.LOST
    assert verdict("running", attempts=3, started_ago=1000) == Verdict.LOST


@pytest.mark.parametrize("status", ["success", "failed", "missed_window", "skipped"])
def test_a_finished_row_is_left_alone(status: str) -> None:
    assert verdict(status, attempts=9, published_ago=10_000, started_ago=10_000) == Verdict.LEAVE


def test_the_lost_error_starts_with_lost_and_says_why() -> None:
    assert RULES.lost_error("queued").startswith("lost: delivered 3 times")
    assert "still queued 900 s" in RULES.lost_error("queued")
    assert "running longer than 360 s" in RULES.lost_error("running")


def test_the_leader_sweeps_at_least_every_60_seconds_and_sooner_for_short_limits() -> None:
    assert RULES.sweep_every == 60
    short = DeliveryRules(time_limit_seconds=10, requeue_after_seconds=20, max_attempts=3)
    assert short.sweep_every == 5


def test_the_worker_limits_nest_inside_the_time_limit_and_the_slot_outlives_it() -> None:
    assert RULES.hard_time_limit == 300
    assert RULES.collect_budget < RULES.soft_time_limit < RULES.hard_time_limit
    assert RULES.slot_ttl == 360
    tiny = DeliveryRules(time_limit_seconds=3)
    assert 1 <= tiny.collect_budget <= tiny.soft_time_limit <= tiny.hard_time_limit


def test_a_limit_below_one_is_refused_naming_the_key() -> None:
    with pytest.raises(ValueError, match="collection.max_attempts"):
        DeliveryRules(max_attempts=0)


def test_a_message_claims_only_a_queued_row_not_published_again_since() -> None:
    assert may_claim(row_status="queued", row_attempts=1, message_attempt=1)
    # the publication is still being noted (the batch is in the broker, the UPDATE not yet)
    assert may_claim(row_status="queued", row_attempts=0, message_attempt=1)
    # a late copy of the first attempt, after the sweep published the row again
    assert not may_claim(row_status="queued", row_attempts=2, message_attempt=1)
    assert not may_claim(row_status="running", row_attempts=1, message_attempt=1)
    assert may_claim(row_status="queued", row_attempts=5, message_attempt=None)


def test_each_broker_serves_the_higher_priority_first() -> None:
    """RabbitMQ delivers the highest message priority first; kombu's Redis transport reads its
    step 0 list first, so there priority p travels as 9 - p."""
    from types import SimpleNamespace

    from devices.dispatch.queues import broker_priority

    redis_app = SimpleNamespace(conf=SimpleNamespace(broker_url="redis://127.0.0.1:6379/0"))
    amqp_app = SimpleNamespace(conf=SimpleNamespace(broker_url="amqp://127.0.0.1:5672//"))
    assert [broker_priority(redis_app, p) for p in (9, 5, 0)] == [0, 4, 9]
    assert [broker_priority(amqp_app, p) for p in (9, 5, 0)] == [9, 5, 0]

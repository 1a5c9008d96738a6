"""`GET /api/scheduler/status/`: the beat's bookkeeping and who holds the leader lock."""

from __future__ import annotations

import logging
from typing import Any

import redis
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from beat.lock import read_owner
from beat.models import SchedulerState
from project.api import ApiViewMixin, UtcDateTimeField
from project.redis_client import redis_client

logger = logging.getLogger(__name__)


class LockSerializer(serializers.Serializer):
    held = serializers.BooleanField(allow_null=True, help_text="null when Redis is unreachable")
    host = serializers.CharField(allow_null=True)
    pid = serializers.IntegerField(allow_null=True)
    ttl_seconds = serializers.FloatField(allow_null=True, help_text="Seconds left")


class SchedulerStatusSerializer(serializers.Serializer):
    optional_in_response = ("lock_error",)  # read by project.schema.AutoSchema

    is_running = serializers.BooleanField()
    scheduler_pid = serializers.IntegerField(allow_null=True)
    last_tick = UtcDateTimeField(allow_null=True)
    last_restart_at = UtcDateTimeField(allow_null=True)
    lock = LockSerializer()
    lock_error = serializers.CharField(
        required=False, help_text="Only when Redis could not be asked who holds the lock"
    )


def lock_status() -> dict[str, Any]:
    """`{"held","host","pid","ttl_seconds"}`, plus `lock_error` when Redis does not answer."""
    try:
        owner = read_owner(redis_client())
    except (redis.RedisError, OSError) as exc:
        logger.warning("scheduler status: cannot read the lock: %s", exc)
        return {
            "lock": {"held": None, "host": None, "pid": None, "ttl_seconds": None},
            # The class only, like /healthz: a message could carry a URL or a host name.
            "lock_error": f"Redis unreachable ({type(exc).__name__})",
        }
    if owner is None:
        return {"lock": {"held": False, "host": None, "pid": None, "ttl_seconds": None}}
    return {
        "lock": {
            "held": True, "host": owner.host, "pid": owner.pid, "ttl_seconds": owner.ttl_seconds,
        }
    }


class SchedulerStatusView(ApiViewMixin, APIView):
    """Any logged-in user may read the scheduler's status; never a 500 for a Redis outage."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["scheduler"],
        operation_id="scheduler_status",
        summary="Scheduler status and leader lock",
        responses={200: SchedulerStatusSerializer},
    )
    def get(self, request: Request) -> Response:
        state = SchedulerState.load()
        data = {
            "is_running": state.is_running,
            "scheduler_pid": state.scheduler_pid,
            "last_tick": state.last_tick,
            "last_restart_at": state.last_restart_at,
            **lock_status(),
        }
        return Response(SchedulerStatusSerializer(data).data)

"""Message middleware and lifecycle hooks."""

from sessions_app.pipeline.base import MessageMiddleware, PipelineMessage
from sessions_app.pipeline.builtins import LoggingMiddleware, MetricsMiddleware
from sessions_app.pipeline.core import (
    Pipeline,
    build_pipeline_from_settings,
    get_default_pipeline,
    reset_default_pipeline,
)
from sessions_app.pipeline.hooks import LifecycleEvent
from sessions_app.pipeline.ratelimit import RateLimitMiddleware
from sessions_app.pipeline.redaction import PIIRedactionMiddleware, SecurityMiddleware, redact_pii

__all__ = [
    "LifecycleEvent",
    "LoggingMiddleware",
    "MessageMiddleware",
    "MetricsMiddleware",
    "PIIRedactionMiddleware",
    "Pipeline",
    "PipelineMessage",
    "RateLimitMiddleware",
    "SecurityMiddleware",
    "build_pipeline_from_settings",
    "get_default_pipeline",
    "redact_pii",
    "reset_default_pipeline",
]

"""Message middleware and lifecycle hooks."""

from sessions_app.pipeline.base import MessageMiddleware, PipelineMessage
from sessions_app.pipeline.builtins import LoggingMiddleware, MetricsCollector, MetricsMiddleware
from sessions_app.pipeline.core import (
    Pipeline,
    build_pipeline_from_settings,
    get_default_pipeline,
    reset_default_pipeline,
)
from sessions_app.pipeline.hooks import LifecycleEvent
from sessions_app.pipeline.interfaces import (
    BaseSessionLifecycleHook,
    BaseSessionMiddleware,
    ISessionLifecycleHook,
    ISessionMiddleware,
)
from sessions_app.pipeline.lifecycle_hooks import (
    AlertingHook,
    AuditLoggingHook,
    CleanupHook,
    MetricsBackend,
    MetricsCollectionHook,
    MetricsHook,
)
from sessions_app.pipeline.ratelimit import RateLimitMiddleware
from sessions_app.pipeline.redaction import PIIRedactionMiddleware, SecurityMiddleware, redact_pii

__all__ = [
    "AlertingHook",
    "AuditLoggingHook",
    "BaseSessionLifecycleHook",
    "BaseSessionMiddleware",
    "CleanupHook",
    "ISessionLifecycleHook",
    "ISessionMiddleware",
    "LifecycleEvent",
    "LoggingMiddleware",
    "MessageMiddleware",
    "MetricsBackend",
    "MetricsCollectionHook",
    "MetricsCollector",
    "MetricsHook",
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

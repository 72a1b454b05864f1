"""The documents' configuration objects. Options of the app live in ``settings.SESSIONS_APP``;
these hold what a single manager, storage or provider may still be given in code."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SessionManagerConfig:
    """Accepted as ``SessionManager(config=...)``."""

    sandbox_id: str | None = None
    default_ttl_hours: float | None = None
    session_defaults: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}


@dataclass
class StorageConfig:
    """A storage choice; every backend is the Django database (see ``sessions_app.storage``)."""

    backend: str = "sqlite"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ProviderConfig:
    """A provider's options as ``create_session_manager(provider_config={name: ...})`` takes
    them; the key is held in memory only."""

    api_key: str | None = field(default=None, repr=False)
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**self.options, **({"api_key": self.api_key} if self.api_key else {})}

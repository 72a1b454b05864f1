"""Grid paths: ``grid/{sandbox_id}/{session_id}/{artifact_id}`` keys for artifact stores."""

from __future__ import annotations

from typing import Any

from sessions_app.exceptions import ValidationError

GRID_ROOT = "grid"


def _part(value: Any, name: str) -> str:
    """One path segment: no separators or dot-segments that would let a key escape its prefix."""
    part = str(value) if value is not None else ""
    if not part or "/" in part or part in {".", ".."} or "\x00" in part:
        raise ValidationError(f"{name} must be a non-empty path segment without '/'.")
    return part


def artifact_key(sandbox_id: str, session_id: Any, artifact_id: Any) -> str:
    return f"{session_prefix(sandbox_id, session_id)}{_part(artifact_id, 'artifact_id')}"


def session_prefix(sandbox_id: str, session_id: Any) -> str:
    return f"{sandbox_prefix(sandbox_id)}{_part(session_id, 'session_id')}/"


def sandbox_prefix(sandbox_id: str) -> str:
    return f"{GRID_ROOT}/{_part(sandbox_id, 'sandbox_id')}/"


def parse_key(grid_key: Any) -> dict[str, str | None] | None:
    """Split a grid key into its parts; ``None`` when it is not a grid key.

    Anything after the artifact id is returned as ``subpath``.
    """
    parts = grid_key.split("/") if isinstance(grid_key, str) else []
    if len(parts) < 4 or parts[0] != GRID_ROOT:
        return None
    if any(not part or part in {".", ".."} for part in parts[1:4]):
        return None
    return {
        "sandbox_id": parts[1],
        "session_id": parts[2],
        "artifact_id": parts[3],
        "subpath": "/".join(parts[4:]) or None,
    }

"""Dot-notation access and JSON merge-patch on nested dicts."""

from __future__ import annotations

import copy
from typing import Any

_MISSING = object()


def get_path(data: dict[str, Any], path: str, default: Any = None) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at ``path``, creating (or replacing non-dict) parents."""
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        child = node.get(part, _MISSING)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[leaf] = value


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7396 merge: dicts merge recursively, ``None`` removes a key; returns a new dict."""
    result = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge_patch(result[key], value)
        elif isinstance(value, dict):
            result[key] = merge_patch({}, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def expand_dotted(updates: dict[str, Any]) -> dict[str, Any]:
    """Turn ``{"a.b": 1}`` into ``{"a": {"b": 1}}``; plain keys pass through."""
    expanded: dict[str, Any] = {}
    for key, value in updates.items():
        nested: dict[str, Any] = {}
        set_path(nested, key, value)
        expanded = merge_patch_keep_none(expanded, nested)
    return expanded


def merge_patch_keep_none(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Merge dicts recursively but keep ``None`` values (they are deletions for later)."""
    result = dict(target)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge_patch_keep_none(result[key], value)
        else:
            result[key] = value
    return result

"""A hook importable by dotted path, for the settings test."""

calls: list[str] = []


def record(event, **data):
    calls.append(data["session_id"])

"""The admin: staff inspect sessions, and change or delete them through the service layer.

One module per model: ``sandboxes``, ``sessions`` (with its form), ``messages`` (the
bounded inline and the paginated history) and ``contexts``; ``base`` holds the
read-only base class. The analytics dashboard view will be ``dashboard.py``, wired
in through ``SessionAdmin.get_urls``.
"""

from sessions_app.admin import contexts, messages, sandboxes, sessions

__all__ = ["contexts", "messages", "sandboxes", "sessions"]

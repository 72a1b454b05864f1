"""Runs in a minimal project: migrate, then use the manager end to end."""

import django
from django.core.management import call_command

django.setup()
call_command("check", fail_level="WARNING")
call_command("migrate", verbosity=0)

from sessions_app.manager import SessionManager  # noqa: E402

manager = SessionManager()
session = manager.create_session(user_id="minimal")
reply = session.send_message("hello")
session_id = manager.allocate_session(user_id="minimal", ttl_hours=1)
assert manager.validate_session(session_id)
print(reply.content, session.get_metrics()["total_messages"])

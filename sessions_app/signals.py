"""Django signals sent for every lifecycle event; ``sender`` is the Session model."""

from django.dispatch import Signal

session_created = Signal()
session_deleted = Signal()
session_archived = Signal()
message_sent = Signal()
message_received = Signal()
context_updated = Signal()
session_error = Signal()

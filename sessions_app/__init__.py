"""One home for sessions in Django: HTTP, TTL/tenant and conversational-AI sessions."""

__version__ = "0.1.0"

"""The service layer: every operation of the API, admin, tasks and engine goes through here."""

"""Backup schedules: model, recurrence maths, services, admin and API; knows nothing of devices."""

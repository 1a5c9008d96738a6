"""The backup beat: leader lock, catch-up planning, the Celery scheduler subclass and its CLI."""

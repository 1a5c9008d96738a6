"""Dispatch: result rows, messages to the broker, routing, queues, redelivery."""

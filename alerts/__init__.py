"""Alerts: notification channels and rules, the conditions they report, and their delivery."""

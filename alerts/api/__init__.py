"""The alerts API: notification channels, rules and the notifications sent."""

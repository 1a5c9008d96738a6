"""Devices, their groups, backup results, the access rule, the calendar and the collect task."""

"""REST API of the devices app: `/api/devices/` and `/api/scheduled-backups/`."""

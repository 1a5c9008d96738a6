"""REST API of the schedules app: `/api/backup-schedules/`."""

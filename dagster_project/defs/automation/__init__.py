"""What starts runs: jobs, the inbox sensor, the delivery schedules, the run-status sensors."""

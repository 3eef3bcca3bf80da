"""gameday: rehearse an operations runbook under chaos and real load, and
check detection and remediation against the SLA."""
__version__ = "0.1.0"

@runbook:health-check-procedures @smoke
Feature: Health Check Procedures
  The daily health check and the application's health endpoints, carried out
  from the runbook as it stands against the live platform under light load:
  every check the runbook lists must answer, and must say the platform is
  healthy.

  Background:
    Given the platform is at steady state under a load of 2 users

  @procedure:system-health-check-script
  Scenario: Daily health check finds every part healthy
    The script's database check (its command line 12, `kubectl exec ... python
    -c "import psycopg2 ..."`) is not run here: it reads os.environ without
    `import os`, so its bare except always prints "Database: CONNECTION
    FAILED". That is the runbook's own defect, reported by `gameday runbook
    check` (finding on system-health-check-script); every other line of the
    script runs as written.

    When the operator carries out lines 1-11 of the runbook's "System Health Check Script"
    Then the output shows "1. Cluster Health:"
    And the output shows "All pods running"
    And the output shows "API: HEALTHY"
    When the operator carries out lines 13-16 of the runbook's "System Health Check Script"
    Then the output shows "Training pods: 1"
    And the output shows "=== Health Check Complete ==="
    And the service "gaudi3-scale-api" in namespace "gaudi3-scale" answers 200 to "/health/ready"

  @procedure:application-health-endpoints
  Scenario: Health endpoints answer with the platform's state
    The runbook's curl lines have no -f, so they pass on any answer: the
    status of each endpoint is checked by the service steps after them.

    When the operator carries out the runbook's "Application Health Endpoints"
    Then the output shows "ok"
    And the service "gaudi3-scale-api" in namespace "gaudi3-scale" answers 200 to "/health/detailed"
    And the service "gaudi3-scale-api" in namespace "gaudi3-scale" answers 200 to "/health/ready"
    And the service "gaudi3-scale-api" in namespace "gaudi3-scale" answers 200 to "/metrics"
    And the last answer shows "http_requests"
    And the SLA is met:
      | metric                              | limit  |
      | error_rate                          | <= 1%  |
      | step:application-health-endpoints   | <= 30s |

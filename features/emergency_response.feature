@runbook:emergency-response
Feature: Emergency Response
  The runbook's first minutes of an incident: acknowledge, look, mitigate.
  Each scenario breaks the platform the way the incident starts, carries out
  the runbook's procedures as the runbook says them now, and holds the
  response to its SLA. The line that needs terraform is reported by the
  runbook steps as "needs terraform" (it acts on the cloud account, not the
  cluster) and does not run; `gameday runbook coverage` lists it. The helm
  lines run: the platform is a Helm release.

  Background:
    Given the platform is at steady state under a load of 4 users

  @p0 @slow @procedure:immediate-actions-0-5-minutes @procedure:assessment-phase-5-15-minutes @procedure:immediate-mitigation
  Scenario: P0 - every API pod is gone and the API is restarted
    Of "Immediate Mitigation" only its line 1 (restart the API) fits this
    incident; its other lines are for resource exhaustion, a bad release and
    maintenance, which the runbook offers as alternatives.

    When the fault "kill-all-api-pods" is injected
    Then the alert "ApiDown" fires within 60s
    When the operator carries out the runbook's "Immediate Actions (0-5 minutes)"
    And the operator carries out the runbook's "Assessment Phase (5-15 minutes)"
    And the operator carries out lines 1 of the runbook's "Immediate Mitigation"
    Then the platform recovers within 120s
    And the SLA is met:
      | metric                          | limit   |
      | time_to_detect                  | <= 60s  |
      | time_to_recover                 | <= 120s |
      | step:immediate-mitigation:1-1   | <= 30s  |
      | time_to_notify                  | <= 5m   |
      | lost_writes                     | == 0    |

  @p1 @slow @procedure:response-actions-0-30-minutes @deviates:runbook-p1-has-no-database-step
  Scenario: P1 - job submissions fail while the database is scaled away
    The runbook's P1 response assesses and scales the API, but has no step
    for a database that is scaled away; the operator scales postgres back up,
    which the runbook does not say (a gap in the runbook).

    When the fault "scale-database-to-zero" is injected
    Then the alert "DatabaseDown" fires within 90s
    When the operator carries out lines 1-3 of the runbook's "Response Actions (0-30 minutes)"
    And the operator carries out "scale-database-up":
      """
      kubectl scale deployment postgres --replicas=1 -n database
      """
    Then the platform recovers within 120s
    And the SLA is met:
      | metric                   | limit   |
      | time_to_detect           | <= 90s  |
      | time_to_recover          | <= 180s |
      | step:scale-database-up   | <= 30s  |

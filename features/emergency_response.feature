@runbook:emergency-response
Feature: Emergency Response
  The runbook's first minutes of an incident: acknowledge, look, mitigate.
  Each scenario breaks the platform the way the incident starts, carries out
  the runbook's commands as written, and holds the response to its SLA.

  Background:
    Given the platform is at steady state under a load of 4 users

  @p0 @slow @procedure:immediate-actions-0-5-minutes @procedure:assessment-phase-5-15-minutes @procedure:immediate-mitigation
  Scenario: P0 - every API pod is gone and the API is restarted
    When the fault "kill-all-api-pods" is injected
    Then the alert "ApiDown" fires within 60s
    When the operator carries out "immediate-actions":
      """
      kubectl get pods -n gaudi3-scale
      kubectl get nodes
      """
    And the operator carries out "assessment":
      """
      kubectl rollout history deployment/gaudi3-scale-api -n gaudi3-scale
      kubectl logs -l app.kubernetes.io/name=gaudi3-scale -n gaudi3-scale --since=30m
      """
    And the operator carries out "restart-api":
      """
      kubectl rollout restart deployment/gaudi3-scale-api -n gaudi3-scale
      """
    Then the platform recovers within 120s
    And the SLA is met:
      | metric              | limit   |
      | time_to_detect      | <= 60s  |
      | time_to_recover     | <= 120s |
      | step:restart-api    | <= 30s  |
      | lost_writes         | == 0    |

  @p1 @slow @procedure:response-actions-0-30-minutes
  Scenario: P1 - job submissions fail while the database is scaled away
    When the fault "scale-database-to-zero" is injected
    Then the alert "DatabaseDown" fires within 90s
    When the operator carries out "assess-impact":
      """
      kubectl describe pods -l app.kubernetes.io/name=gaudi3-scale -n gaudi3-scale
      kubectl get deployment postgres -n database
      """
    And the operator carries out "scale-up":
      """
      kubectl scale deployment postgres --replicas=1 -n database
      """
    Then the platform recovers within 120s
    And the SLA is met:
      | metric           | limit   |
      | time_to_detect   | <= 90s  |
      | time_to_recover  | <= 180s |
      | step:scale-up    | <= 30s  |

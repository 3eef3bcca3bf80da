@runbook:monitoring-and-alerting
Feature: Monitoring and Alerting
  Each alert the runbook answers fires from the real alert rules in the real
  Prometheus, and its response procedure brings the platform back.

  @p1 @slow @procedure:high-api-latency-alert @deviates:fewer-replicas-and-a-config-revert
  Scenario: High API latency from a configuration change is found and reverted
    The latency comes from a configuration change (the drill's api-latency
    knob in ConfigMap gaudi3-scale-config); the response scales up as the
    runbook says (to 3, not the runbook's 6, which a 2-core sandbox cannot
    hold), sees no improvement, finds the change and reverts it, which the
    runbook does not say.

    Given the steady state requires "/health/ready" of service "gaudi3-scale-api" in namespace "gaudi3-scale" to answer within 500ms
    And the platform is at steady state under a load of 4 users
    When the fault "api-latency" is injected
    Then the alert "HighApiLatency" fires within 90s
    When the operator carries out "check-latency":
      """
      kubectl get pods -l app.kubernetes.io/component=api -n gaudi3-scale
      kubectl get configmap gaudi3-scale-config -n gaudi3-scale -o yaml
      """
    Then the output shows "api_latency_ms"
    When the operator carries out "scale-up":
      """
      kubectl scale deployment gaudi3-scale-api --replicas=3 -n gaudi3-scale
      """
    And the operator carries out "revert-config":
      """
      kubectl patch configmap gaudi3-scale-config -n gaudi3-scale -p '{"data":{"api_latency_ms":"0"}}'
      """
    Then the platform recovers within 150s
    And the SLA is met:
      | metric          | limit   |
      | time_to_detect  | <= 90s  |
      | time_to_recover | <= 180s |

  @hpu @slow @procedure:hpu-memory-high-alert @procedure:training-job-failed-alert
  Scenario: HPU memory taken by a runaway process fails training until it is stopped
    Given the steady state includes deployment "gaudi3-scale-trainer" in namespace "gaudi3-scale"
    And the platform is at steady state under a load of 4 users
    When the fault "hpu-hog" is injected
      | parameter     | value |
      | hold          | 600   |
    Then the alert "HpuMemoryHigh" fires within 90s
    And the alert "TrainingJobFailed" fires within 120s
    When the operator carries out "inspect":
      """
      kubectl get pods -n gaudi3-scale
      kubectl logs deployment/gaudi3-scale-trainer -n gaudi3-scale --tail=100
      """
    And the operator carries out "stop-runaway-and-restart-trainer":
      """
      kubectl delete pod -l gameday.io/fault=accelerator-hog -n gaudi3-scale
      kubectl delete pod -l app.kubernetes.io/component=trainer -n gaudi3-scale
      """
    Then the platform recovers within 150s
    And the SLA is met:
      | metric          | limit   |
      | time_to_detect  | <= 90s  |
      | time_to_recover | <= 180s |

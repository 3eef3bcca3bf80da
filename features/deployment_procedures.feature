@runbook:deployment-procedures
Feature: Deployment Procedures
  A release goes out as a canary beside the stable API, is checked and
  promoted; a bad release is rolled back. The runbook's Helm commands have
  Kubernetes equivalents here: a canary is a second Deployment labelled
  version=canary behind the same Service, promotion is a rolling restart of
  the stable Deployment, and "helm rollback" is "kubectl rollout undo".

  Background:
    Given the platform is at steady state under a load of 4 users

  @procedure:pre-deployment-checklist @procedure:deployment-process
  Scenario: Canary deployment is checked and promoted
    Promotion is a rolling restart; the API drains its connections on
    SIGTERM, so it keeps serving (the bound leaves room for a stray failure
    under this light load).

    When the operator carries out "pre-deployment-checklist":
      """
      kubectl describe nodes
      kubectl rollout history deployment/gaudi3-scale-api -n gaudi3-scale
      """
    And the operator deploys a canary of "gaudi3-scale-api" in namespace "gaudi3-scale" with 1 replica
    Then deployment "gaudi3-scale-api-canary" in namespace "gaudi3-scale" has 1 ready replicas within 90s
    When the operator carries out "monitor-canary":
      """
      kubectl get pods -l version=canary -n gaudi3-scale
      kubectl logs -l version=canary -n gaudi3-scale --tail=50
      """
    Then the service "gaudi3-scale-api" in namespace "gaudi3-scale" answers 200 to "/health"
    When the operator carries out "promote":
      """
      kubectl rollout restart deployment/gaudi3-scale-api -n gaudi3-scale
      kubectl rollout status deployment/gaudi3-scale-api -n gaudi3-scale --timeout=120s
      kubectl delete deployment gaudi3-scale-api-canary -n gaudi3-scale
      """
    Then deployment "gaudi3-scale-api" in namespace "gaudi3-scale" has 2 ready replicas within 90s
    And the SLA is met:
      | metric         | limit    |
      | error_rate     | <= 5%    |
      | step:promote   | <= 120s  |

  @p1 @slow @procedure:emergency-rollback
  Scenario: A bad release is rolled back to the previous version
    Given the alert "PodCrashLooping" is not firing
    When the fault "failing-rollout" is injected
    Then a pod labelled "app.kubernetes.io/component=api" in namespace "gaudi3-scale" is CrashLoopBackOff within 90s
    And the alert "PodCrashLooping" fires within 90s
    When the operator carries out "rollback":
      """
      kubectl rollout history deployment/gaudi3-scale-api -n gaudi3-scale
      kubectl rollout undo deployment/gaudi3-scale-api -n gaudi3-scale
      kubectl rollout status deployment/gaudi3-scale-api -n gaudi3-scale --timeout=120s
      """
    And the operator runs "kubectl get pods -n gaudi3-scale"
    Then the service "gaudi3-scale-api" in namespace "gaudi3-scale" answers 200 to "/health"
    And the platform recovers within 120s
    And the SLA is met:
      | metric          | limit   |
      | time_to_detect  | <= 90s  |
      | time_to_recover | <= 180s |
      | step:rollback   | <= 120s |
      | error_rate      | <= 5%   |

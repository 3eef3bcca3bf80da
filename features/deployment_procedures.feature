@runbook:deployment-procedures
Feature: Deployment Procedures
  A release goes out as a canary beside the stable API, is checked and
  promoted; a bad release is rolled back. The runbook's Helm lines need
  helm, which acts on no sandbox: the runbook steps report them as "needs
  helm" and `gameday runbook coverage` lists them. Where a scenario needs
  their effect, it does the Kubernetes equivalent and says so: a canary is a
  second Deployment labelled version=canary behind the same Service,
  promotion is a rolling restart of the stable Deployment, and
  "helm rollback" is "kubectl rollout undo".

  Background:
    Given the platform is at steady state under a load of 4 users

  @procedure:pre-deployment-checklist @procedure:deployment-process @deviates:canary-without-helm
  Scenario: Canary deployment is checked and promoted
    "Deployment Process" lines 1 and 6 are helm upgrades (needs helm): the
    canary is made by the gameday step instead, and promotion is a rolling
    restart. The API drains its connections
    on SIGTERM, so it keeps serving (the bound leaves room for a stray
    failure under this light load).

    When the operator carries out the runbook's "Pre-deployment Checklist"
    And the operator deploys a canary of "gaudi3-scale-api" in namespace "gaudi3-scale" with 1 replica
    Then deployment "gaudi3-scale-api-canary" in namespace "gaudi3-scale" has 1 ready replicas within 90s
    When the operator carries out lines 2-5 of the runbook's "Deployment Process"
    Then the service "gaudi3-scale-api" in namespace "gaudi3-scale" answers 200 to "/health"
    When the operator carries out "promote":
      """
      kubectl rollout restart deployment/gaudi3-scale-api -n gaudi3-scale
      kubectl delete deployment gaudi3-scale-api-canary -n gaudi3-scale
      """
    And the operator carries out lines 7 of the runbook's "Deployment Process"
    Then deployment "gaudi3-scale-api" in namespace "gaudi3-scale" has 2 ready replicas within 90s
    And the SLA is met:
      | metric                          | limit    |
      | error_rate                      | <= 5%    |
      | step:promote                    | <= 60s   |
      | step:deployment-process:7-7     | <= 120s  |

  @p1 @slow @procedure:emergency-rollback @deviates:rollback-without-helm
  Scenario: A bad release is rolled back to the previous version
    "Emergency Rollback" lines 1-2 are helm history and helm rollback (needs
    helm): the operator rolls back with kubectl instead. Line 5 follows the
    logs (-f) and is bounded by the runbook steps.

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
    And the operator carries out lines 3-5 of the runbook's "Emergency Rollback"
    Then the service "gaudi3-scale-api" in namespace "gaudi3-scale" answers 200 to "/health"
    And the platform recovers within 120s
    And the SLA is met:
      | metric          | limit   |
      | time_to_detect  | <= 90s  |
      | time_to_recover | <= 180s |
      | step:rollback   | <= 120s |
      | error_rate      | <= 5%   |

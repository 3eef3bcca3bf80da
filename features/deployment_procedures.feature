@runbook:deployment-procedures
Feature: Deployment Procedures
  A release goes out as a canary beside the stable API, is checked and
  promoted; a bad release is rolled back. The platform is a Helm release
  (production's and staging's), so the runbook's own helm lines run as
  written: `helm test` on staging, the canary and promote upgrades, `helm
  history` and `helm rollback`.

  Background:
    Given the platform is at steady state under a load of 4 users

  @procedure:pre-deployment-checklist @procedure:deployment-process
  Scenario: Canary deployment is checked and promoted
    Line 1 upgrades the release with the canary strategy (one canary pod on
    the image tagged with the runbook repository's commit, beside the stable
    pods behind the same Service) and waits for it; lines 4-5 check it; line
    6 promotes with a rolling upgrade. That promote names no image tag, so
    the stable pods go to the chart's default tag rather than the canary's:
    a defect of the runbook that `gameday runbook check` reports. The API
    drains its connections on SIGTERM, so it keeps serving (the bound leaves
    room for a stray failure under this light load).

    When the operator carries out the runbook's "Pre-deployment Checklist"
    And the operator carries out lines 1-3 of the runbook's "Deployment Process"
    Then deployment "gaudi3-scale-api-canary" in namespace "gaudi3-scale" has 1 ready replicas within 90s
    When the operator carries out lines 4-5 of the runbook's "Deployment Process"
    Then the service "gaudi3-scale-api" in namespace "gaudi3-scale" answers 200 to "/health"
    When the operator carries out lines 6-7 of the runbook's "Deployment Process"
    Then deployment "gaudi3-scale-api-canary" in namespace "gaudi3-scale" has 0 ready replicas within 90s
    And deployment "gaudi3-scale-api" in namespace "gaudi3-scale" has 2 ready replicas within 90s
    And the SLA is met:
      | metric                          | limit    |
      | error_rate                      | <= 5%    |
      | step:deployment-process:1-3     | <= 120s  |
      | step:deployment-process:6-7     | <= 180s  |

  @p1 @slow @procedure:emergency-rollback
  Scenario: A bad release is rolled back to the previous version
    A broken image is rolled out; the runbook's `helm history` and `helm
    rollback gaudi3-scale 1` put a manifest of the release back over it
    (Helm's three-way merge restores the image). Revision 1 is the first
    install of the sandbox's three revisions, not "the previous version"
    the runbook's comment says: the platform recovers, and `gameday runbook
    check` reports line 2 (its `afterwards` expectation). Past
    --history-max, revision 1 is pruned and the line fails outright.
    Line 5 follows the logs (-f) and is bounded by the runbook steps.

    Given the alert "PodCrashLooping" is not firing
    When the fault "failing-rollout" is injected
    Then a pod labelled "app.kubernetes.io/component=api" in namespace "gaudi3-scale" is CrashLoopBackOff within 90s
    And the alert "PodCrashLooping" fires within 90s
    When the operator carries out lines 1-2 of the runbook's "Emergency Rollback"
    And the operator carries out lines 3-5 of the runbook's "Emergency Rollback"
    Then the service "gaudi3-scale-api" in namespace "gaudi3-scale" answers 200 to "/health"
    And the platform recovers within 120s
    And the SLA is met:
      | metric                          | limit   |
      | time_to_detect                  | <= 90s  |
      | time_to_recover                 | <= 180s |
      | step:emergency-rollback:1-2     | <= 120s |
      | error_rate                      | <= 5%   |

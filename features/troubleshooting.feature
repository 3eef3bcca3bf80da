@runbook:troubleshooting-guide
Feature: Troubleshooting Guide
  The troubleshooting procedures, each started by the failure it diagnoses.

  Background:
    Given the platform is at steady state under a load of 4 users

  @p1 @procedure:pod-stuck-in-pending @deviates:pending-needs-its-cause-removed
  Scenario: An API pod stuck in Pending after a drain is diagnosed and rescheduled
    A maintenance drain of every node left them cordoned. The API's
    PodDisruptionBudget (minAvailable 1) keeps one API pod serving on its
    cordoned node; the replacement of the evicted one has nowhere to go and
    stays Pending, and KubePodNotReady fires. The runbook's checks 1-3 run as
    written (check 4, `kubectl get pv | grep Available`, is left to the runbook
    check: the API has no volume claim, and grep without a match exits 1).
    Finding against the runbook: its step 5, "force reschedule" (delete the
    pod), does not help while the cause remains: the replacement is Pending
    again. The procedure has no step that removes the cause; here the
    operator uncordons the node, and the Pending pod is scheduled by itself.

    Given "<node-name>" names a node
    When the fault "drain-node" is injected
    Then a pod labelled "app.kubernetes.io/component=api" in namespace "gaudi3-scale" is Pending within 60s
    And the alert "KubePodNotReady" fires within 60s
    Given "<pod-name>" names a pod labelled "app.kubernetes.io/component=api" in namespace "gaudi3-scale"
    When the operator carries out lines 1-3 of the runbook's "Pod Stuck in Pending"
    Then the output shows "Pending"
    When the operator carries out line 5 of the runbook's "Pod Stuck in Pending"
    Then a pod labelled "app.kubernetes.io/component=api" in namespace "gaudi3-scale" is Pending within 30s
    When the operator carries out "remove-the-cause":
      """
      kubectl get nodes
      kubectl uncordon <node-name>
      """
    Then pods labelled "app.kubernetes.io/component=api" in namespace "gaudi3-scale" are Running within 90s
    And the platform recovers within 120s
    And the SLA is met:
      | metric                  | limit   |
      | time_to_detect          | <= 60s  |
      | step:remove-the-cause   | <= 30s  |
      | time_to_recover         | <= 180s |
      | error_rate              | <= 1%   |

  @p1 @slow @procedure:pod-crashloopbackoff @runbook:deployment-procedures @procedure:emergency-rollback
  Scenario: A crash-looping API pod is diagnosed and its release undone
    The runbook's diagnosis (lines 1-2: the crashed container's log, the
    pod's limits) names the bad release; "Pod CrashLoopBackOff" has no fix
    of its own, so the operator rolls the release back as the runbook's
    "Emergency Rollback" says (its line 2). Lines 3-4 exec into the
    container, which a crash-looping pod does not keep running, and line 5
    needs docker: they are left to the runbook check.

    Given the alert "PodCrashLooping" is not firing
    When the fault "failing-rollout" is injected
    Then a pod labelled "app.kubernetes.io/component=api" in namespace "gaudi3-scale" is CrashLoopBackOff within 90s
    And the alert "PodCrashLooping" fires within 90s
    Given "<pod-name>" names a pod labelled "app.kubernetes.io/component=api" in namespace "gaudi3-scale"
    When the operator carries out lines 1-2 of the runbook's "Pod CrashLoopBackOff"
    Then the output shows "cannot start this release"
    When the operator carries out line 2 of the runbook's "Emergency Rollback"
    Then the platform recovers within 120s
    And the SLA is met:
      | metric             | limit   |
      | time_to_detect     | <= 90s  |
      | time_to_recover    | <= 180s |
      | error_rate         | <= 5%   |

  @p0 @slow @db @network @procedure:service-not-accessible
  Scenario: The database is cut off by a network policy and reopened
    When the fault "cut-off-database" is injected
    Then the alert "DatabaseDown" fires within 60s
    When the operator carries out "diagnose":
      """
      kubectl get endpoints -n database
      kubectl describe service postgres -n database
      kubectl describe networkpolicy -n database
      """
    Then the output shows "gameday-cut-off-database"
    When the operator carries out "remove-policy":
      """
      kubectl delete networkpolicy gameday-cut-off-database -n database
      """
    Then the platform recovers within 90s
    And the SLA is met:
      | metric          | limit   |
      | time_to_detect  | <= 60s  |
      | time_to_recover | <= 150s |

  @procedure:high-memory-usage
  Scenario: High memory use is found and the deployment restarted
    The API drains its connections on SIGTERM, so a rolling restart keeps
    serving; the bound leaves room for a stray failure under this light load.

    When the operator carries out "find-memory-use":
      """
      kubectl top pods -n gaudi3-scale --sort-by=memory
      """
    Then the output shows "gaudi3-scale-api"
    When the operator carries out "restart":
      """
      kubectl rollout restart deployment/gaudi3-scale-api -n gaudi3-scale
      kubectl rollout status deployment/gaudi3-scale-api -n gaudi3-scale --timeout=120s
      """
    Then deployment "gaudi3-scale-api" in namespace "gaudi3-scale" has 2 ready replicas within 90s
    And the SLA is met:
      | metric        | limit   |
      | error_rate    | <= 5%   |
      | step:restart  | <= 120s |

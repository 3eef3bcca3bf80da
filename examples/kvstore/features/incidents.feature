@runbook:incidents
Feature: kvstore incidents, rehearsed as the runbook writes them

  @procedure:redis-is-down @p1
  Scenario: Redis is killed, the alert fires and Redis comes back without losing a write
    Given the platform is at steady state under a load of 4 users
    When the fault "kill-redis" is injected
    Then the alert "RedisDown" fires within 60s
    # Line 2 restarts Redis "if it is stuck"; the StatefulSet brings a killed
    # pod back by itself, so the operator skips it (`gameday runbook check`
    # runs it).
    When the operator carries out lines 1 of the runbook's "Redis is down"
    And the operator carries out lines 3 of the runbook's "Redis is down"
    Then the platform recovers within 120s
    And the SLA is met:
      | metric          | limit  |
      | time_to_detect  | <= 30s |
      | time_to_recover | <= 90s |
      | lost_writes     | == 0   |

  @procedure:a-web-pod-crashed @p2
  Scenario: Every web pod crashes and the Deployment brings them back
    Given the platform is at steady state under a load of 4 users
    When pods labelled "app.kubernetes.io/name=kv-web" in namespace "kvstore" are killed
    Then the alert "WebDown" fires within 60s
    When the operator carries out the runbook's "A web pod crashed"
    Then the platform recovers within 90s
    And the SLA is met:
      | metric          | limit  |
      | time_to_recover | <= 60s |
      | lost_writes     | == 0   |

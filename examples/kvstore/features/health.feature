@runbook:health-checks @smoke
Feature: kvstore's daily health check

  @procedure:daily-check
  Scenario: The daily check finds every part healthy
    Given the platform is at steady state
    When the operator carries out the runbook's "Daily check"
    Then the output shows "Running"
    And the service "kv-web" in namespace "kvstore" answers 200 to "/health"

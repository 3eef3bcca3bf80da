@runbook:health-check-procedures @smoke
Feature: Health Check Procedures
  The daily health check and the application's health endpoints, carried out
  against the live platform under light load: every check the runbook lists
  must answer, and must say the platform is healthy.

  Background:
    Given the platform is at steady state under a load of 2 users

  @procedure:system-health-check-script
  Scenario: Daily health check finds every part healthy
    When the operator runs "kubectl get nodes --no-headers"
    Then the output shows "Ready"
    When the operator runs "kubectl get pods -n gaudi3-scale --no-headers"
    Then the output shows "Running"
    When the operator runs "kubectl get pvc -n gaudi3-scale --no-headers"
    Then the output shows "Bound"
    And the service "gaudi3-scale-api" in namespace "gaudi3-scale" answers 200 to "/health"
    And the service "gaudi3-scale-api" in namespace "gaudi3-scale" answers 200 to "/health/ready"
    When the operator runs "kubectl get pods -l app.kubernetes.io/component=trainer -n gaudi3-scale --no-headers"
    Then the output shows "gaudi3-scale-trainer"

  @procedure:application-health-endpoints
  Scenario: Health endpoints answer with the platform's state
    Then the service "gaudi3-scale-api" in namespace "gaudi3-scale" answers 200 to "/health"
    And the service "gaudi3-scale-api" in namespace "gaudi3-scale" answers 200 to "/health/detailed"
    And the service "gaudi3-scale-api" in namespace "gaudi3-scale" answers 200 to "/health/ready"
    And the service "gaudi3-scale-api" in namespace "gaudi3-scale" answers 200 to "/metrics"
    And the last answer shows "http_requests"

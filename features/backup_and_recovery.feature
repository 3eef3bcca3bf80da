@runbook:backup-and-recovery @db
Feature: Backup and Recovery
  Backups are taken and restored with the platform's backup tool inside the
  database pod ("backup-automation", the runbook's backup-automation.sh);
  the S3 upload has no equivalent in the sandbox and is left out. Model
  checkpoints live on the trainer's volume: a trainer that dies resumes from
  its latest checkpoint.

  @procedure:manual-backup @procedure:database-recovery
  Scenario: Back up the database and restore it with the application stopped
    Given the platform is at steady state under a load of 2 users
    When the operator carries out "backup":
      """
      kubectl exec statefulset/postgres -n database -- backup-automation backup
      kubectl exec statefulset/postgres -n database -- backup-automation health-check
      """
    And the operator carries out "stop-application":
      """
      kubectl scale deployment gaudi3-scale-api --replicas=0 -n gaudi3-scale
      """
    And the operator carries out "restore-database":
      """
      kubectl exec statefulset/postgres -n database -- backup-automation restore-db latest
      kubectl exec statefulset/postgres -n database -- psql -U gaudi3 -d gaudi3_scale -c "SELECT count(*) FROM training_jobs;"
      """
    Then the output shows "count"
    When the operator carries out "restart-application":
      """
      kubectl scale deployment gaudi3-scale-api --replicas=2 -n gaudi3-scale
      """
    Then deployment "gaudi3-scale-api" in namespace "gaudi3-scale" has 2 ready replicas within 90s
    And the service "gaudi3-scale-api" in namespace "gaudi3-scale" answers 200 to "/health/ready"
    And the SLA is met:
      | metric                   | limit   |
      | step:backup              | <= 60s  |
      | step:restore-database    | <= 60s  |

  @hpu @procedure:model-checkpoint-recovery
  Scenario: A restarted trainer resumes its job from the latest checkpoint
    The checkpoints are on the trainer's volume (/app/models); the trainer
    restored from them is the one the runbook verifies, without the S3 copy.

    Given the steady state includes deployment "gaudi3-scale-trainer" in namespace "gaudi3-scale"
    And the platform is at steady state
    When the operator sends "POST /jobs" to service "gaudi3-scale-api" in namespace "gaudi3-scale"
      """
      {"name": "checkpoint-drill", "steps": 600}
      """
    Then training progresses within 60s
    When the operator carries out "restart-trainer":
      """
      kubectl delete pod -l app.kubernetes.io/component=trainer -n gaudi3-scale
      """
    Then training progresses within 120s
    When the operator carries out "verify-checkpoint":
      """
      kubectl logs deployment/gaudi3-scale-trainer -n gaudi3-scale --tail=200
      """
    Then the output shows "from checkpoint at step"
    And the SLA is met:
      | metric               | limit  |
      | training_steps_lost  | <= 10  |

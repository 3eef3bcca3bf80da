@runbook:backup-and-recovery @db
Feature: Backup and Recovery
  Backups are taken and restored with the runbook's
  ./backup-recovery/scripts/backup-automation.sh (it runs the platform's
  backup tool inside the database pod). The S3 lines need the aws CLI, which
  acts on no sandbox: the runbook steps report them as "needs aws". Model
  checkpoints live on the trainer's volume: a trainer that dies resumes from
  its latest checkpoint.

  @procedure:manual-backup @procedure:database-recovery @deviates:restore-names-a-fixed-dump
  Scenario: Back up the database and restore it with the application stopped
    "Database Recovery" line 2 restores /backup/database/postgres-20240101-120000.sql.gz,
    a dump of a fixed date that no backup made today has: the runbook check
    reports it as a finding. The operator restores the latest dump instead,
    with the tool the script runs.
    "Manual Backup" line 2 (`ls -la /backup/daily/$(date +%Y%m%d-*)`) is not
    run: the backups are where the runbook's own restore line looks for them,
    on the database pod's backup volume (/backup/database/postgres-*.sql.gz);
    the runbook names two layouts, and /backup/daily on the operator's machine
    holds nothing, so the line finds nothing; line 4 needs aws.

    Given the platform is at steady state under a load of 2 users
    When the operator carries out lines 1 of the runbook's "Manual Backup"
    And the operator carries out lines 3 of the runbook's "Manual Backup"
    And the operator carries out lines 1 of the runbook's "Database Recovery"
    And the operator carries out "restore-database":
      """
      kubectl exec deployment/postgres -n database -c postgres -- backup-automation restore-db latest
      """
    And the operator carries out lines 3 of the runbook's "Database Recovery"
    Then the output shows "count"
    When the operator carries out lines 4 of the runbook's "Database Recovery"
    Then deployment "gaudi3-scale-api" in namespace "gaudi3-scale" has 3 ready replicas within 90s
    And the service "gaudi3-scale-api" in namespace "gaudi3-scale" answers 200 to "/health/ready"
    And the SLA is met:
      | metric                   | limit   |
      | step:manual-backup:1-1   | <= 60s  |
      | step:restore-database    | <= 60s  |

  @hpu @procedure:model-checkpoint-recovery
  Scenario: A restarted trainer resumes its job from the latest checkpoint
    The checkpoints are on the trainer's volume (/app/models). Lines 1-4 of
    "Model Checkpoint Recovery" fetch a backup from S3 (they need aws, and
    line 3 copies the file they would have downloaded) and are not run; its
    line 5 verifies the checkpoint the restarted trainer resumed from.

    Given the steady state includes deployment "gaudi3-scale-trainer" in namespace "gaudi3-scale"
    And the platform is at steady state
    When the operator sends "POST /jobs" to service "gaudi3-scale-api" in namespace "gaudi3-scale"
      """
      {"name": "checkpoint-drill", "steps": 600}
      """
    Then training progresses within 60s
    When the operator carries out lines 3 of the runbook's "HPU Memory High Alert"
    Then training progresses within 120s
    When the operator carries out lines 5 of the runbook's "Model Checkpoint Recovery"
    Then the output shows "dict_keys"
    When the operator runs "kubectl logs deployment/gaudi3-scale-trainer -n gaudi3-scale --tail=200"
    Then the output shows "from checkpoint at step"
    And the SLA is met:
      | metric               | limit  |
      | training_steps_lost  | <= 10  |

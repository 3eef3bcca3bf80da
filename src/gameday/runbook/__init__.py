"""The runbook as written: parsed the way bash runs it (`parse`), each block
run verbatim in an isolated operator session against the target (`session`,
`hosts`, `check`), each line judged (`verdict`), reported (`report`),
carried out by scenarios (`scenario`, steps/runbook.py) and covered per line
(`coverage`). Settings (placeholders, hostnames, expectations) in
`settings.RunbookSettings`. See docs/runbook-check.md."""

"""`gameday runbook show|coverage`, and bad input: one line naming the file, exit 2."""
from gameday.cli import main

RUNBOOK = "# R\n\n## S\n\n### Proc\n```bash\n# 1. Look\nkubectl get pods -n x | grep -v Running || echo \"All pods running\"\n```\n"


def test_show_prints_procedures_blocks_and_lines(tmp_path, capsys):
    path = tmp_path / "r.md"
    path.write_text(RUNBOOK)
    assert main(["runbook", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "[proc]" in out and "8  command  kubectl get pods" in out
    assert "kubectl | grep || echo" in out and "fallback 'All pods running'" in out


def test_missing_runbook_and_broken_block_are_input_errors(tmp_path, capsys):
    assert main(["runbook", "show", str(tmp_path / "none.md")]) == 2
    assert "none.md: runbook not found" in capsys.readouterr().err
    bad = tmp_path / "bad.md"
    bad.write_text("# R\n\n## S\n```bash\necho ok\necho 'never closed\n```\n")
    assert main(["runbook", "show", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:6:" in err and "single quote is never closed" in err


def test_bad_settings_name_their_file(tmp_path, capsys):
    path = tmp_path / "r.md"
    path.write_text(RUNBOOK)
    (tmp_path / "r.gameday.yaml").write_text("placeholders: [oops\n")
    assert main(["runbook", "check", str(path), "--kubeconfig", str(tmp_path / "nokube")]) == 2
    assert "r.gameday.yaml:" in capsys.readouterr().err


def test_coverage_fails_when_a_runnable_line_never_ran(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)   # no features/ here: nothing copies the line
    path = tmp_path / "r.md"
    path.write_text(RUNBOOK)
    assert main(["runbook", "coverage", str(path), "--reports", str(tmp_path / "reports")]) == 1
    assert "never run" in capsys.readouterr().out

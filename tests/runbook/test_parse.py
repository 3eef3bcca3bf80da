"""The runbook parser splits blocks the way bash runs them (pure)."""
from pathlib import Path

import pytest

from gameday.runbook.fill import fill
from gameday.runbook.parse import ParseError, parse, split_block
from gameday.runbook.scenario import parse_line_range

SEED = Path(__file__).resolve().parents[2] / "runbook" / "gaudi3-scale-runbook.md"


def units(text):
    return [u for u in split_block(text) if u.kind == "command"]


def test_continuation_is_one_unit_with_its_lines():
    (u,) = units("kubectl patch configmap x \\\n  -p '{}' \\\n  -n ns\n")
    assert (u.first_line, u.last_line) == (1, 3)
    assert u.programs == ("kubectl",)


def test_quote_spanning_lines_is_one_unit():
    text = 'kubectl exec d -- \\\n  python -c "\nimport os\nprint(1)\n"\necho next\n'
    a, b = units(text)
    assert (a.first_line, a.last_line) == (1, 5)
    assert b.text == "echo next" and b.first_line == 6


def test_heredoc_body_belongs_to_its_command():
    a, b = units("cat <<EOF | wc -l\nkubectl delete all\nEOF\ntrue\n")
    assert a.heredoc and (a.first_line, a.last_line) == (1, 3)
    assert [c.name for c in a.pipelines[0].commands] == ["cat", "wc"]
    assert b.text == "true"


def test_and_or_lists_and_pipelines():
    (u,) = units("kubectl get pods --no-headers | \\\n  awk '{print $1}' | grep -v Running || echo \"All pods running\"\n")
    assert [[c.name for c in p.commands] for p in u.pipelines] == [["kubectl", "awk", "grep"], ["echo"]]
    assert u.pipelines[0].op == "||"
    assert u.fallback == "All pods running"


def test_substitutions_and_assignments_name_their_programs():
    (u,) = units('n=$(kubectl get pods --no-headers | wc -l)\n')
    assert u.programs == ("kubectl", "wc")
    assert u.pipelines[0].commands[0].name == ""


def test_compound_command_is_one_unit():
    (u,) = units('if curl -sf https://x > /dev/null; then\n    echo ok\nelse\n    echo bad\nfi\n')
    assert u.compound and (u.first_line, u.last_line) == (1, 5)
    assert u.programs == ("curl", "echo")


def test_comments_label_commands_and_prose_is_manual():
    block = "# 2. Drain\nkubectl drain n\n\n# 3. Update node\n# [Perform cloud provider specific update]\n\n# 4. Uncordon\nkubectl uncordon n\n"
    us = split_block(block)
    assert [u.kind for u in us] == ["command", "manual", "command"]
    assert us[0].label == "2. Drain"
    assert "[Perform cloud provider specific update]" in us[1].text
    assert (us[1].first_line, us[1].last_line) == (4, 5)


def test_shebang_header_is_not_a_manual_step():
    us = split_block("#!/bin/bash\n# daily-health-check.sh\n\necho hi\n")
    assert [u.kind for u in us] == ["command"]


def test_interactive_lines_say_why():
    assert "interactive" in units("kubectl exec -it p -- /bin/bash\n")[0].interactive
    assert "follows" in units("kubectl logs -f deployment/x\n")[0].interactive
    assert "watch" in units("watch kubectl top pods\n")[0].interactive
    assert units("kubectl logs deployment/x --tail=5\n")[0].interactive == ""


def test_unclosed_quote_names_its_line():
    with pytest.raises(ParseError) as err:
        split_block('echo ok\necho "never closed\n')
    assert err.value.line == 2


def test_seed_runbook_procedures_and_lines():
    rb = parse(SEED.read_text(), str(SEED))
    slugs = [p.slug for p in rb.procedures]
    assert "immediate-actions-0-5-minutes" in slugs and "log-rotation-and-cleanup" in slugs
    commands = [u for _, u in rb.units if u.kind == "command"]
    manual = [u for _, u in rb.units if u.kind == "manual"]
    assert len(commands) == 126 and len(manual) == 7
    vacuum = rb.procedure("Vacuum and Analyze")
    bloated = vacuum.blocks[0].commands[2]
    assert (bloated.first_line, bloated.last_line) == (548, 555)  # the multi-line psql -c "..."
    text = SEED.read_text().splitlines()
    assert text[bloated.first_line - 1].startswith("kubectl exec deployment/postgres")


def test_fill_quotes_for_where_the_placeholder_stands():
    assert fill("kubectl logs <pod-name> -n x", {"<pod-name>": "a b"}) == "kubectl logs 'a b' -n x"
    assert fill('echo "pod: <pod-name>"', {"<pod-name>": 'x"$(rm -rf /)'}) == 'echo "pod: x\\"\\$(rm -rf /)"'
    assert fill("kubectl logs <pod-name>", {"<pod-name>": "api-1"}) == "kubectl logs api-1"


def test_line_ranges():
    assert parse_line_range("2-3") == (2, 3) and parse_line_range("4") == (4, 4)
    with pytest.raises(Exception):
        parse_line_range("3-2")


def test_step_phrases_are_distinct():
    import parse

    import steps.runbook as s
    whole, part = parse.compile(s.WHOLE), parse.compile(s.PART)
    assert whole.parse('the operator carries out the runbook\'s "Vacuum and Analyze"')["heading"] == "Vacuum and Analyze"
    assert not whole.parse('the operator carries out lines 2-3 of the runbook\'s "Vacuum and Analyze"')
    assert part.parse('the operator carries out lines 2-3 of the runbook\'s "Vacuum and Analyze"')["lines"] == "2-3"
    one = parse.compile(s.ONE)
    assert one.parse('the operator carries out line 5 of the runbook\'s "Pod Stuck in Pending"')["line"] == 5
    assert not one.parse('the operator carries out lines 2-3 of the runbook\'s "Vacuum and Analyze"')
    assert not part.parse('the operator carries out line 5 of the runbook\'s "Pod Stuck in Pending"')
    assert s.operator_carries_out_runbook.__doc__ and s.operator_carries_out_runbook_lines.__doc__
    assert s.operator_carries_out_runbook_line.__doc__


@pytest.mark.timeout(30)
@pytest.mark.parametrize("text", ["echo 5", "kill -USR1 1", "grep Conditions -A 5", "echo 2>/dev/null 5", "cat 3<"])
def test_a_block_that_ends_on_a_digit_or_an_operator_ends(text):
    # The scanner once looped at the end of a block without a newline whose last word was a number
    # (read as a redirection's file descriptor).
    units = split_block(text)
    assert units and units[0].text == text and units[0].pipelines[0].commands[0].name == text.split()[0]

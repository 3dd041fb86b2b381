"""report.html in a real browser (Debian's chromium, headless; `.ci/run` installs it): over a
clean and a failing run of each component and an aborted run, the rendered DOM opens on what
a release manager reads first: the aborted banner, then root causes and FAILs, passes below;
run details and reproducers behind toggles; the exact `amc replay` command for replayable
components; and a screenshot is taken (issue 10 item 1)."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conformance.report import Failure, RuleResult, RunResults, Verdict, write_reports
from conformance.report.model import Aborted

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run "
                                                          "installs it: apt-get install chromium)")
BODY = '{"userOperation":{"sender":"0x4a71005a4321f6c2168312c5f3c7ab1a3a2e2e42"},"chainId":"0x0"}'


def run_of(component: str, failing: bool, aborted: bool = False) -> RunResults:
    prefix = {"webhook": "WH", "account": "AC", "sidecar": "SC"}[component]
    rules = [RuleResult(f"{prefix}-00{i}", Verdict.PASS, 3, level="MUST", component=component,
                        statement=f"rule {i} holds") for i in (1, 2)]
    if failing:
        failure = Failure("wrong answer: expected deny chain-mismatch, got approved",
                          {"request": {"body": BODY}}, "curl -sS -X POST http://127.0.0.1/",
                          "test_chain", cause="approved a foreign chain")
        rules.append(RuleResult(f"{prefix}-009", Verdict.FAIL, 2, [failure], level="MUST",
                                component=component, statement="foreign chains are denied"))
    target = {"kind": "reference"} | ({"mutant": "skip-chain-check"} if failing else {})
    return RunResults("0.1.0", "sha256:1", component, "pimlico", target, 7,
                      "2026-01-01T00:00:00Z", 1.0, rules,
                      aborted=Aborted("target never became ready", 2) if aborted else None)


class _Dom(HTMLParser):
    """Document order of the parts the assertions name."""

    def __init__(self) -> None:
        super().__init__()
        self.order: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.order.append((tag, dict(attrs)))


def dump_dom(page: Path) -> list[tuple[str, dict[str, str | None]]]:
    out = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",  # type: ignore[list-item]
                          "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    dom = _Dom()
    dom.feed(out)
    assert dom.order, "chromium rendered nothing"
    return dom.order


def first(order: list, predicate) -> int:  # type: ignore[no-untyped-def, type-arg]
    return next((i for i, (tag, attrs) in enumerate(order) if predicate(tag, attrs)), -1)


@pytest.mark.parametrize("component", ["webhook", "account", "sidecar"])
def test_failing_report_opens_on_its_failures(tmp_path: Path, component: str) -> None:
    write_reports(run_of(component, failing=True), tmp_path)
    order = dump_dom(tmp_path / "report.html")
    main = first(order, lambda t, a: t == "main")
    roots = first(order, lambda t, a: a.get("id") == "roots")
    rules = [(i, a.get("data-verdict")) for i, (t, a) in enumerate(order)
             if t == "tbody" and "rule" in (a.get("class") or "")]
    assert main < roots < rules[0][0], "roots first, then the rules"
    assert rules[0][1] == "FAIL" and {v for _, v in rules[1:]} == {"PASS"}
    assert first(order, lambda t, a: t == "details" and a.get("id") == "run-details"
                 and "open" not in a) >= 0
    toggles = [a for t, a in order if t == "details" and a.get("class") == "reproducer"]
    assert toggles and all("open" not in a for a in toggles)
    replay = [a for t, a in order if t == "pre" and (a.get("id") or "").startswith("rf-")]
    assert bool(replay) is (component != "sidecar")  # amc replay: webhook and account


def test_replay_command_and_readable_input(tmp_path: Path) -> None:
    write_reports(run_of("webhook", failing=True), tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert (f"amc replay {tmp_path} --rule WH-009 --index 0 --reference --mutant "
            "skip-chain-check") in page
    assert "&#34;chainId&#34;: &#34;0x0&#34;" in page or '"chainId": "0x0"' in page
    assert '\\"chainId\\"' not in page  # the body is shown decoded, not as an escaped string


def test_clean_and_aborted_reports(tmp_path: Path) -> None:
    for component in ("webhook", "account", "sidecar"):
        write_reports(run_of(component, failing=False), tmp_path / component)
        order = dump_dom(tmp_path / component / "report.html")
        assert first(order, lambda t, a: a.get("id") == "roots") == -1
        verdicts = {a.get("data-verdict") for t, a in order if t == "tbody"}
        assert verdicts == {"PASS"}
    write_reports(run_of("webhook", failing=True, aborted=True), tmp_path / "aborted")
    order = dump_dom(tmp_path / "aborted" / "report.html")
    banner = first(order, lambda t, a: a.get("id") == "aborted")
    assert 0 <= banner < first(order, lambda t, a: a.get("id") == "verdict")
    shot = tmp_path / "aborted.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",  # type: ignore[list-item]
                    "--window-size=1280,800", f"--screenshot={shot}",
                    (tmp_path / "aborted" / "report.html").as_uri()],
                   capture_output=True, timeout=60, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000

"""Every shell example of README.md and docs/ runs against a fresh `make run` and answers as its page
says (issue #18, item 5). How examples are written, marked and checked: docs/operations.md,
"Examples in these docs".

An example is a ```sh, ```bash or ```console block. Its stated answer is one of:
- a last line `# -> 202` or `# -> 202 {"status": "accepted"}`: the HTTP status of the block's last
  top-level curl, and fields of its JSON answer ("..." stands for any value);
- `# -> exit 0` or `# -> exit 0 "some text"`: a command's exit status, and text it prints;
- a ```json block right after the example: its JSON answer (with a `# ->` line for the status);
- a ```text block right after a command: lines it prints (and it exits 0);
  (one short paragraph ending in ":" may introduce a ```json or ```text answer);
- in a ```console block, the lines after each `$ command`: its JSON answer.
A block preceded by `<!-- example: not-run (reason) -->` is not run; the test lists those.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.demo_stack import ROOT, TEST_ONLY

pytestmark = pytest.mark.slow

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
OPEN = re.compile(r"^( *)```(sh|bash|console)\s*$")
NOT_RUN = re.compile(r"<!-- example: not-run \((.+)\) -->")
EXPECT = re.compile(r"^# -> (?:exit (?P<exit>\d+)|(?P<status>\d{3}))(?: (?P<rest>.+))?$")
ANY = "..."
# Top-level curl as the reader runs it, plus its HTTP status on a last line of its own. Inside
# $(...) or a pipe (BASH_SUBSHELL > 0) curl is left alone, so captured output stays what it is.
CURL_STATUS = ("curl() { if [ \"$BASH_SUBSHELL\" = 0 ]; then command curl \"$@\" -w '\\n%{http_code}';"
               " else command curl \"$@\"; fi; }\n")


@dataclass
class Example:
    page: str
    line: int
    lang: str
    code: str
    not_run: str | None = None
    answer: str | None = None  # a ```json block right after the example
    printed: str | None = None  # a ```text block right after the example
    console: list[tuple[str, str]] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    def expectation(self) -> re.Match | None:
        for line in reversed(self.code.splitlines()):
            found = EXPECT.match(line.strip())
            if found:
                return found
        return None


def _fenced(lines: list[str], start: int, indent: str) -> tuple[list[str], int]:
    """The lines of the block opened at `start` (its indentation removed) and the closing line's index."""
    body = []
    end = start + 1
    while end < len(lines) and lines[end].rstrip() != f"{indent}```":
        body.append(lines[end][len(indent):] if lines[end].startswith(indent) else lines[end].lstrip())
        end += 1
    return body, end


def _next_text(lines: list[str], index: int) -> int:
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def parse(path: Path) -> list[Example]:
    lines = path.read_text().splitlines()
    page = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name
    examples = []
    i = 0
    while i < len(lines):
        opened = OPEN.match(lines[i])
        if not opened:
            i += 1
            continue
        indent, lang = opened.groups()
        body, end = _fenced(lines, i, indent)
        before = next((line for line in reversed(lines[max(0, i - 3):i]) if line.strip()), "")
        marked = NOT_RUN.search(before)
        example = Example(page, i + 1, lang, "\n".join(body), marked.group(1) if marked else None)
        after = _next_text(lines, end + 1)
        if after < len(lines) and not lines[after].lstrip().startswith("```"):
            # One short paragraph that introduces the answer ("It prints ...:") may come between.
            paragraph_end = after
            while paragraph_end < len(lines) and lines[paragraph_end].strip():
                paragraph_end += 1
            if lines[paragraph_end - 1].rstrip().endswith(":") and paragraph_end - after <= 3:
                after = _next_text(lines, paragraph_end)
        if after < len(lines) and lines[after].rstrip() in (f"{indent}```json", f"{indent}```text"):
            answer, end = _fenced(lines, after, indent)
            if lines[after].rstrip().endswith("json"):
                example.answer = "\n".join(answer)
            else:
                example.printed = "\n".join(answer)
        if lang == "console":
            for chunk in re.split(r"^\$ ", example.code, flags=re.M)[1:]:
                command, _, output = chunk.partition("\n")
                example.console.append((command, output.strip()))
        examples.append(example)
        i = end + 1
    return examples


def all_examples() -> list[Example]:
    return [example for page in PAGES for example in parse(page)]


def matches(documented, actual) -> bool:
    """The documented answer is part of the real one: every documented field, with its value
    ("..." for any value); lists item by item."""
    if documented == ANY:
        return True
    if isinstance(documented, dict):
        return isinstance(actual, dict) and all(k in actual and matches(v, actual[k]) for k, v in documented.items())
    if isinstance(documented, list):
        return isinstance(actual, list) and len(documented) == len(actual) and all(
            matches(d, a) for d, a in zip(documented, actual))
    return documented == actual


# ----------------------------------------------------------------------------------------------
# The parser's own rules: no stack needed.


def test_every_example_states_its_answer_or_why_it_is_not_run():
    missing = [e.where for e in all_examples()
               if e.not_run is None and e.expectation() is None and not e.console and e.printed is None]
    assert missing == [], f"examples with no stated answer (add a `# -> ...` line or a not-run mark): {missing}"


def test_no_command_hides_in_an_unlabelled_block():
    """A block without a language is not an example to the test: it must not hold a command."""
    hidden = []
    for page in PAGES:
        lines = page.read_text().splitlines()
        inside = False
        for number, line in enumerate(lines, 1):
            if line.strip().startswith("```"):
                if not inside and line.strip() == "```" and number < len(lines) and re.match(
                        r"\s*(\$ |curl |python3? |make |docker |\./manage\.py )", lines[number]):
                    hidden.append(f"{page.relative_to(ROOT)}:{number}")
                inside = not inside
    assert hidden == [], f"label these ```sh (and state their answer) or ```text: {hidden}"


def test_the_parser_reads_a_page_as_a_reader_does(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "Text.\n\n```sh\ncurl -s http://127.0.0.1:8000/healthz\n# -> 200\n```\n\n```json\n{\"ok\": true}\n```\n\n"
        "- a list item:\n  <!-- example: not-run (needs docker) -->\n  ```bash\n  docker build .\n  ```\n\n"
        "```console\n$ curl -s x\n{\"a\": 1}\n```\n", encoding="utf-8")
    first, second, third = parse(page)
    assert (first.line, first.lang, first.answer, first.expectation().group("status")) == (3, "sh", '{"ok": true}', "200")
    assert (second.code, second.not_run) == ("docker build .", "needs docker")
    assert third.console == [("curl -s x", '{"a": 1}')]
    assert matches({"a": ANY, "b": [1]}, {"a": 5, "b": [1], "c": 2}) and not matches({"a": 1}, {"a": 2})


# ----------------------------------------------------------------------------------------------
# Against the running demo.


class Runner:
    """Runs the examples of one page in order, in a reader's shell pointed at the demo."""

    def __init__(self, stack):
        self.stack = stack
        self.secrets = stack.secrets()
        team = requests.get(f"{stack.base}/api/v1/teams/north/", headers={"Authorization": f"Token {stack.token}"},
                            timeout=30).json()
        self.env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY and not k.startswith(("DJANGO", "PYTEST"))}
        self.env.update(
            # `python manage.py` is this checkout's Python, in a terminal next to `make run`.
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            # `make manage` as `make run` left it: this venv, nothing (re)installed.
            MAKEFLAGS=f"PY={sys.executable} RUNTIME=",
            CLOSELOOP_VAR_DIR=str(stack.var), CLOSELOOP=stack.base, TOKEN=stack.token, TEAM_ID=str(team["id"]),
        )

    def substitute(self, code: str) -> str:
        """Only the documented placeholders: `make run`'s address, and a demo source's secret."""
        code = code.replace("127.0.0.1:8000", f"127.0.0.1:{self.stack.port}")
        slug = re.search(r"/webhooks/([\w-]+)/", code)
        if slug and slug.group(1) in self.secrets:
            code = re.sub(r"(^|\s)SECRET=('[^']*'|\"[^\"]*\"|\S+)",
                          lambda m: f"{m.group(1)}SECRET='{self.secrets[slug.group(1)]}'", code, flags=re.M)
        return code

    def shell(self, code: str, *, status: bool) -> subprocess.CompletedProcess:
        script = (CURL_STATUS if status else "") + self.substitute(code)
        return subprocess.run(["bash", "-c", script], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=180)

    def check(self, example: Example) -> str | None:
        """None when the example answers as documented, else what went wrong."""
        if example.console:
            for command, output in example.console:
                result = self.shell(command, status=False)
                problem = _compare_json(output, result.stdout)
                if problem:
                    return f"`{command[:80]}...`: {problem}"
            return None
        expected = example.expectation()
        if expected is None:  # a command and the ```text it prints
            result = self.shell(example.code, status=False)
            printed = result.stdout + result.stderr
            lines = [line for line in self.substitute(example.printed).splitlines() if line.strip()]
            missing = [line for line in lines if line not in printed]
            if result.returncode or missing:
                return f"exit {result.returncode}; does not print {missing}:\n{printed[-1500:]}"
            return None
        if expected.group("exit") is not None:
            result = self.shell(example.code, status=False)
            printed = result.stdout + result.stderr
            if result.returncode != int(expected.group("exit")):
                return f"exit {result.returncode}, expected {expected.group('exit')}:\n{printed[-1500:]}"
            text = expected.group("rest")
            if text and json.loads(text) not in printed:
                return f"does not print {text}:\n{printed[-1500:]}"
            return None
        result = self.shell(example.code, status=True)
        body, _, code = result.stdout.rstrip("\n").rpartition("\n")
        if code != expected.group("status"):
            return f"HTTP {code or '(none)'}, expected {expected.group('status')}:\n{result.stdout[-1500:]}{result.stderr[-500:]}"
        documented = example.answer or expected.group("rest")
        answer = body.strip().splitlines()[-1] if body.strip() and not example.answer else body
        if documented:
            problem = _compare_json(documented, answer)
            if problem:
                return problem
        if code == "201" and example.answer:
            self.env["USER_ID"] = str(json.loads(body)["id"])  # "USER_ID is the id from the invitation's answer"
        return None


def _compare_json(documented: str, actual: str) -> str | None:
    try:
        real = json.loads(actual)
    except ValueError:
        return f"the answer is not JSON: {actual[-1000:]!r}"
    if not matches(json.loads(documented), real):
        return f"documented {documented}\n        got {json.dumps(real, ensure_ascii=False)[:1500]}"
    return None


# Some 200 commands against a live `make run`, after the stack's own start (the demo loaded on
# SQLite) when it is the first test of the group: about 3 minutes on two quiet cores, 5 on a
# loaded machine, where the suite's default 300 s cut it off (setup and teardown count too).
@pytest.mark.timeout(600)
def test_every_example_answers_as_documented_on_a_fresh_make_run(demo_stack):
    examples = all_examples()
    not_run = [f"{e.where} ({e.not_run})" for e in examples if e.not_run]
    runnable = [e for e in examples if not e.not_run]
    failures = []
    runner = Runner(demo_stack)
    took = []

    def run_page(page: str) -> None:
        """A page's examples in order, in a shell environment of their own (USER_ID and the like)."""
        own = copy.copy(runner)
        own.env = dict(runner.env)
        for example in (e for e in runnable if e.page == page):
            started = time.monotonic()
            problem = own.check(example)
            took.append((time.monotonic() - started, example.where))
            if problem:
                failures.append(f"{example.where}: {problem}")

    # Pages do not depend on each other: two at a time (most of an example's time is Python starting).
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(run_page, dict.fromkeys(e.page for e in runnable)))
    print(f"\n{len(runnable)} examples ran against the demo; {len(not_run)} not run:\n  " + "\n  ".join(not_run))
    print("slowest:", ", ".join(f"{where} {seconds:.1f} s" for seconds, where in sorted(took, reverse=True)[:8]))
    assert failures == [], "\n\n".join(failures) + f"\n\n{demo_stack.log(20)}"
    assert len(runnable) >= 30 and len(not_run) <= 12, (len(runnable), not_run)

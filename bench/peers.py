"""jurist and its peers side by side: the same judge server, the same SummEval items.

One `llama_cpp.server` serves the embedded judge (Gemma 3 270M) behind a counting proxy on
127.0.0.1; jurist (rationale first, and score only), prometheus-eval (absolute grading),
DeepEval (GEval) and Inspect AI (`model_graded_qa` with a 1-5 grade pattern) grade the same
SummEval summaries for relevance. `--logprobs` adds jurist's one-token expected score
(`jurist-logprobs`: the chat template rendered by jurist, the answer's beginning written into
the prompt, one token generated and the score's distribution read there; the server then
runs with `--logits_all true`). Each peer runs in a virtual environment this script makes
(peers are not project dependencies) in `./bench-peers-venvs` under the working directory,
or `--venvs DIR`; peers install from PyPI with pip on first use. Every tool gets the same time budget (`--minutes`): no
item is started after it, and a tool is rated on the items it finished. Printed per tool:
items finished, judgments/s, calls the server saw, share of valid scores, how many distinct
score values the tool gave (a constant score is valid and says nothing), Spearman with the
expert mean (95% bootstrap CI over the valid items), and each rate as a ratio to jurist's.

    python bench/peers.py              # 60 items, at most 12 minutes a tool (about 1 hour)
    python bench/peers.py --n 8 --tools jurist,jurist-score-only,deepeval
    python bench/peers.py --n 8 --minutes 3 --logprobs --tools jurist-score-only,prometheus-eval
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np

from _servers import free_port, llama_cpp_python_server
from jurist import CallPolicy, JudgeOptions, JudgeSession, JudgeSetup, load_rubric
from jurist.backends.llamacpp import default_model_path
from jurist.core.judgment import PointwiseJudgment
from jurist.stats import spearman
from rationale import bench_items

REPO = Path(__file__).resolve().parents[1]
CRITERION = "relevance"
PEER_PACKAGES = {
    "prometheus-eval": ["prometheus-eval==0.1.20"],
    "deepeval": ["deepeval==4.3.1"],
    "inspect-ai": ["inspect-ai==0.3.285", "openai"],
}
# Seconds an item already running may take past a tool's budget before it is stopped.
GRACE_S = 300
TOOLS = ("jurist", "jurist-score-only", "prometheus-eval", "deepeval", "inspect-ai")
# jurist's one-token expected score, run with --logprobs.
LOGPROBS_TOOL = "jurist-logprobs"

SAVE = r"""
import json, os, sys, time

def save(scores, started):  # after every item: a run stopped at its time limit keeps them
    partial = sys.argv[2] + ".partial"
    with open(partial, "w") as out:
        json.dump({"scores": scores, "seconds": time.perf_counter() - started}, out)
    os.replace(partial, sys.argv[2])
"""

PROMETHEUS = r"""
import json, sys, time
from prometheus_eval import PrometheusEval
from prometheus_eval.litellm import LiteLLM
from prometheus_eval.prompts import ABSOLUTE_PROMPT_WO_REF, SCORE_RUBRIC_TEMPLATE
task = json.load(open(sys.argv[1]))
judge = PrometheusEval(model=LiteLLM("openai/gemma", api_base=task["base_url"]),
                       absolute_grade_template=ABSOLUTE_PROMPT_WO_REF)
rubric = SCORE_RUBRIC_TEMPLATE.format(criteria=task["question"], **{
    f"score{k}_description": v for k, v in task["scale"].items()})
scores = []
started = time.perf_counter()
for item in task["items"]:  # one at a time: a failed parse costs this item only
    if time.perf_counter() - started > task["budget_s"]:
        break
    try:
        _, (score,) = judge.absolute_grade(instructions=[item["input"]],
            responses=[item["response"]], rubric=rubric, params={"max_tokens": 256})
    except Exception as error:  # the peer's own failure is a missing score, not a crash
        print("prometheus-eval:", type(error).__name__, str(error)[:200], file=sys.stderr)
        score = None
    scores.append(score if isinstance(score, (int, float)) else None)
    save(scores, started)
"""

DEEPEVAL = r"""
import json, sys, time
from deepeval.metrics import GEval
from deepeval.metrics.g_eval import Rubric
from deepeval.models import LocalModel
from deepeval.test_case import LLMTestCase, SingleTurnParams
task = json.load(open(sys.argv[1]))
model = LocalModel(model="gemma", base_url=task["base_url"], api_key="unused", temperature=0,
                   generation_kwargs={"max_tokens": 512})  # uncapped, a 270M model rambles on
rubric = [Rubric(score_range=(int(k), int(k)), expected_outcome=v) for k, v in task["scale"].items()]
scores = []
started = time.perf_counter()
for item in task["items"]:
    if time.perf_counter() - started > task["budget_s"]:
        break
    metric = GEval(name=task["criterion"], criteria=task["question"], rubric=rubric, model=model,
                   evaluation_params=[SingleTurnParams.INPUT, SingleTurnParams.ACTUAL_OUTPUT],
                   async_mode=False)
    try:
        metric.measure(LLMTestCase(input=item["input"], actual_output=item["response"]))
        score = metric.score if metric.error is None else None
    except Exception as error:
        print("deepeval:", type(error).__name__, str(error)[:200], file=sys.stderr)
        score = None
    scores.append(score)
    save(scores, started)
"""

INSPECT = r"""
import json, re, sys, time
from inspect_ai import Task, eval as inspect_eval
from inspect_ai.dataset import Sample
from inspect_ai.model import ModelOutput, get_model
from inspect_ai.scorer import model_graded_qa
from inspect_ai.solver import solver
task = json.load(open(sys.argv[1]))
items = task["items"]

@solver
def given_response():
    async def solve(state, generate):  # the response is graded, not generated
        state.output = ModelOutput.from_content("given", items[int(state.sample_id)]["response"])
        return state
    return solve

scale = "\n".join(f"{k}: {v}" for k, v in task["scale"].items())
instructions = (f"Rate the answer for this criterion: {task['question']}\n{scale}\n"
                "Explain briefly, then end with a line 'GRADE: N' where N is 1, 2, 3, 4 or 5.")
grader = get_model("openai/gemma", base_url=task["base_url"], api_key="unused",
                   responses_api=False)  # the server speaks chat completions only
samples = [Sample(id=i, input=item["input"], target=task["question"]) for i, item in enumerate(items)]
scorer = model_graded_qa(instructions=instructions, grade_pattern=r"GRADE:\s*([1-5])", model=grader)
scores = []
started = time.perf_counter()
for first in range(0, len(samples), 2):  # in chunks, so the time budget is checked between them
    if time.perf_counter() - started > task["budget_s"]:
        break
    chunk = samples[first : first + 2]
    logs = inspect_eval(Task(dataset=chunk, solver=given_response(), scorer=scorer),
                        model="mockllm/model", max_connections=2, display="none",
                        log_dir=sys.argv[3], fail_on_error=False)
    got = {}
    for sample in logs[0].samples or []:
        for score in (sample.scores or {}).values():
            value = str(score.value)
            got[int(sample.id)] = float(value) if re.fullmatch(r"[1-5]", value) else None
    scores += [got.get(int(sample.id)) for sample in chunk]
    save(scores, started)
"""
DRIVERS = {"prometheus-eval": PROMETHEUS, "deepeval": DEEPEVAL, "inspect-ai": INSPECT}


class CountingProxy:
    """Forwards every request to the judge server and counts them, so each tool's calls are
    measured at the same place whatever the tool reports about itself."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.removesuffix("/v1")
        self.calls: Counter[str] = Counter()
        self.in_flight = 0
        self._idle = threading.Condition()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if self.command == "POST":
                    proxy.calls[self.path] += 1
                headers = {"Content-Type": self.headers.get("Content-Type", "application/json")}
                with proxy._idle:
                    proxy.in_flight += 1
                try:
                    answer = httpx.request(
                        self.command, proxy.upstream + self.path, content=body, headers=headers,
                        timeout=None,  # the tools time out on their own terms
                    )  # fmt: skip
                finally:
                    with proxy._idle:
                        proxy.in_flight -= 1
                        proxy._idle.notify_all()
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("content-type", "text/plain"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = _forward

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)

    def wait_idle(self) -> None:
        """Until the server has answered everything forwarded: a tool stopped at its budget
        may leave a request running that the next tool would otherwise wait behind."""
        with self._idle:
            self._idle.wait_for(lambda: self.in_flight == 0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @contextlib.contextmanager
    def running(self) -> Iterator[CountingProxy]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


def peer_python(tool: str, venvs: Path) -> Path:
    """The peer's own interpreter, its virtual environment made on first use."""
    folder = venvs / tool
    python = folder / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES[tool]], check=True
        )
    return python


def run_peer(tool: str, task: dict, venvs: Path, work: Path) -> dict:
    python = peer_python(tool, venvs)
    driver, task_file, out = (
        work / f"run_{tool.replace('-', '_')}_peer.py",
        work / f"{tool}.json",
        work / f"{tool}.out",
    )
    driver.write_text(SAVE + DRIVERS[tool])
    task_file.write_text(json.dumps(task))
    env = {
        **os.environ, "OPENAI_API_KEY": "unused", "DEEPEVAL_TELEMETRY_OPT_OUT": "YES",
        "DEEPEVAL_DISABLE_TIMEOUTS": "1",  # a 2-core judge is slower than its cloud defaults
        "INSPECT_LOG_DIR": str(work / "inspect-logs"),
    }  # fmt: skip
    command = [str(python), str(driver), str(task_file), str(out), str(work / "inspect-logs")]
    stopped_after: float | None = None
    with (work / f"{tool}.log").open("w") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:  # the driver stops starting items at the budget; one item may hang past it
            process.wait(timeout=task["budget_s"] + GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            stopped_after = time.perf_counter() - started
            print(f"{tool} stopped {GRACE_S} s after its time budget", file=sys.stderr)
    if stopped_after is not None and out.exists():
        # The time it spent on the item it never finished counts: rate over all it ran.
        result = json.loads(out.read_text())
        return {**result, "seconds": stopped_after, "stopped": True}
    if not out.exists():
        tail = (work / f"{tool}.log").read_text()[-1500:]
        print(f"{tool} wrote no result; its log ends:\n{tail}", file=sys.stderr)
        return {"scores": [], "seconds": float("nan")}
    return json.loads(out.read_text())


def run_jurist(
    rationale: str,
    items: list,
    base_url: str,
    concurrency: int,
    budget_s: float,
    logprobs: bool = False,
) -> dict:
    """jurist on the items until its budget; with `logprobs` the one-token path through the
    completions endpoint, scored by the expected value of the score's distribution."""
    rubric = load_rubric(REPO / "src" / "jurist" / "presets" / "summeval.yaml")
    rubric = rubric.model_copy(
        update={"criteria": [c for c in rubric.criteria if c.id == CRITERION]}
    )
    scores: list[float | None] = []
    with tempfile.TemporaryDirectory() as folder:
        judge = (
            f"openai:{base_url}?chat_template=gemma#gemma"
            if logprobs
            else f"openai:{base_url}#gemma"
        )
        setup = JudgeSetup(
            judge=judge,
            options=JudgeOptions(rationale=rationale),  # type: ignore[arg-type]
            calls=CallPolicy(concurrency=concurrency),
            logprobs=logprobs or None,
        )
        session = JudgeSession(rubric, setup, store=Path(folder) / "cache.sqlite")
        started = time.perf_counter()
        step = 2 * concurrency  # chunks keep the server busy and the budget checked
        for first in range(0, len(items), step):
            if time.perf_counter() - started > budget_s:
                break
            for judgment in session(items[first : first + step]):
                assert isinstance(judgment, PointwiseJudgment)
                score = judgment.criteria[CRITERION]
                value = score.expected if logprobs and score.expected is not None else score.score
                scores.append(value if score.status == "ok" else None)
        seconds = time.perf_counter() - started
        session.close()
    return {"scores": scores, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=60, help="SummEval summaries")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--concurrency", type=int, default=2, help="jurist's concurrency")
    parser.add_argument(
        "--venvs", type=Path, default=Path("bench-peers-venvs"),
        help="the peers' virtual environments (default: ./bench-peers-venvs)",
    )  # fmt: skip
    parser.add_argument(
        "--logprobs", action="store_true",
        help=f"add {LOGPROBS_TOOL}: jurist's one-token expected score (server with logits_all)",
    )  # fmt: skip
    parser.add_argument("--keep", type=Path, help="keep the peers' logs in this folder")
    parser.add_argument(
        "--minutes", type=float, default=12.0,
        help="time budget per tool: no item is started after it (rates count finished items)",
    )  # fmt: skip
    args = parser.parse_args()
    tools = [tool for tool in args.tools.split(",") if tool]
    if args.logprobs and LOGPROBS_TOOL not in tools:
        tools.append(LOGPROBS_TOOL)
    unknown = set(tools) - {*TOOLS, LOGPROBS_TOOL}
    if unknown:
        parser.error(f"unknown tools: {', '.join(sorted(unknown))}; choose from {TOOLS}")

    items = bench_items(args.n)
    human = np.array([item.labels[CRITERION] for item in items], dtype=float)
    rubric = load_rubric(REPO / "src" / "jurist" / "presets" / "summeval.yaml")
    criterion = next(c for c in rubric.criteria if c.id == CRITERION)
    args.venvs.mkdir(parents=True, exist_ok=True)
    for tool in tools:  # installs happen before the server starts: not timed
        if tool in PEER_PACKAGES:
            peer_python(tool, args.venvs)

    print(f"embedded Gemma 3 270M on llama_cpp.server, {len(items)} SummEval summaries "
          f"({CRITERION}); jurist concurrency {args.concurrency}, peers as they run by default")  # fmt: skip
    print(f"{'tool':<19}{'items':>7}{'judgments/s':>12}{'x jurist':>9}{'calls':>7}{'valid':>7}"
          f"{'distinct':>9}  Spearman [95% CI] on valid items", flush=True)  # fmt: skip
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder:
        work = args.keep or Path(folder)
        work.mkdir(parents=True, exist_ok=True)
        log = work / "server.log"
        with (
            llama_cpp_python_server(
                default_model_path(), log, logits_all=args.logprobs
            ) as upstream,
            CountingProxy(upstream).running() as proxy,
        ):
            task = {
                "base_url": proxy.url, "criterion": CRITERION, "question": criterion.question,
                "scale": {str(k): v for k, v in sorted(criterion.scale.items())},
                "items": [{"input": str(i.input), "response": i.response} for i in items],
                "budget_s": args.minutes * 60,
            }  # fmt: skip
            for tool in tools:
                proxy.wait_idle()
                proxy.calls.clear()
                print(f"running {tool} on {len(items)} items ...", file=sys.stderr, flush=True)
                if tool.startswith("jurist"):
                    placement = "before" if tool == "jurist" else "none"
                    result = run_jurist(
                        placement, items, proxy.url, args.concurrency, args.minutes * 60,
                        logprobs=tool == LOGPROBS_TOOL,
                    )  # fmt: skip
                else:
                    result = run_peer(tool, task, args.venvs, work)
                result["calls"] = sum(proxy.calls.values())
                results[tool] = result
                first = results[next(iter(results))]
                print(table_row(tool, result, human, results.get("jurist", first)), flush=True)
        print(f"(a tool that reached the {args.minutes:g}-minute budget is rated on the items it "
              "finished; Spearman on its valid items)")  # fmt: skip


def table_row(tool: str, result: dict, human: np.ndarray, reference: dict | None) -> str:
    """One tool's line, printed as soon as it finishes: a long run stopped midway keeps
    the rows it has."""
    scores = np.array([np.nan if s is None else s for s in result["scores"]], dtype=float)
    done = len(scores)
    valid = ~np.isnan(scores)
    rate = done / result["seconds"] if done and result["seconds"] else float("nan")
    reference_rate = (
        len(reference["scores"]) / reference["seconds"] if reference and reference["scores"] else 0
    )
    ratio = rate / reference_rate if reference_rate else float("nan")
    distinct = len(set(scores[valid].tolist()))
    if valid.sum() >= 3 and distinct > 1:
        rho = spearman(scores[valid], human[:done][valid])
        agreement = f"{rho.value:+.2f} [{rho.low:+.2f}, {rho.high:+.2f}] (n={valid.sum()})"
    else:
        agreement = f"n/a ({valid.sum()} valid, {distinct} distinct)"
    share = f"{valid.mean():.0%}" if done else "-"
    stopped = " (stopped mid-item past its budget)" if result.get("stopped") else ""
    return (
        f"{tool:<19}{f'{done}/{len(human)}':>7}{rate:>12.4f}{ratio:>9.2f}{result['calls']:>7}"
        f"{share:>7}{distinct:>9}  {agreement}{stopped}"
    )


if __name__ == "__main__":
    main()

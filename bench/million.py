"""`jurist grade` (the asyncio engine, through the command line) over a million items
against an instant judge on 127.0.0.1: items/s, peak memory, store size per item, and a
SIGKILL at half way followed by `--resume`, counting requests at the server.

The server answers every chat call at once and counts them, so the run measures jurist
alone. The grading process is killed with SIGKILL once the server has answered half of
the calls, then resumed. `resent` is the number of calls the resumed run sent for
answers the store already held: it must be 0. `lost at kill` are calls the server
answered but the killed process had not saved yet (its calls in flight).

    python bench/million.py                 # 1,000,000 items
    python bench/million.py --n 200000 --src /path/to/other/src   # another jurist tree
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _servers import free_port

COUNTING_SERVER = r"""
import asyncio, json, sys
BODY = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": sys.argv[2]},
    "finish_reason": "stop"}], "usage": {"prompt_tokens": 1, "completion_tokens": 1,
    "total_tokens": 2}}).encode()
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
COUNT = [0]
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if head.startswith(b"GET /count"):
                text = str(COUNT[0]).encode()
                writer.write(HEAD % len(text) + text)
                await writer.drain()
                continue
            length = int([l for l in head.split(b"\r\n")
                          if l.lower().startswith(b"content-length:")][0].split(b":")[1])
            await reader.readexactly(length)
            COUNT[0] += 1
            writer.write(HEAD % len(BODY) + BODY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""
RUBRIC = "name: r\ncriteria:\n  - {id: q, question: 'Good?', scale: {1: bad, 2: ok, 3: good}}\n"


class CountingServer:
    """The instant judge in its own process, answering `GET /count` with the number of
    chat calls it has answered."""

    def __init__(self, answer: str) -> None:
        self.port = free_port()
        command = [sys.executable, "-c", COUNTING_SERVER, str(self.port), answer]
        self.process = subprocess.Popen(command)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.count()
                return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("the counting server did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def count(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/count", timeout=5) as reply:
            return int(reply.read())

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def run_leg(
    command: list[str], env: dict[str, str], stop_at: int | None, server: CountingServer
) -> tuple[float, float, int, float]:
    """(seconds, peak RSS in MiB, calls answered, CPU seconds) of one grading process;
    with `stop_at` it is killed with SIGKILL once the server has answered that many calls.
    Peak RSS and CPU come from the kernel's accounting of the reaped child."""
    before = server.count()
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if stop_at is not None:
        while process.poll() is None and server.count() < stop_at:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    err = process.stderr.read().decode() if process.stderr else ""
    if stop_at is None and status != 0:
        raise RuntimeError(f"grading failed ({status}): {err[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, usage.ru_maxrss / 1024, server.count() - before, cpu


def stored(store: Path, run_id: str) -> tuple[int, int]:
    """(completions cached, results saved) in the store, read as the resumed run will."""
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        completions = db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]
        results = db.execute("SELECT COUNT(*) FROM results WHERE run_id = ?", (run_id,))
        return completions, results.fetchone()[0]


def write_items(path: Path, n: int) -> None:
    with path.open("w") as out:
        for k in range(n):
            out.write(json.dumps({"id": f"x{k}", "input": f"question {k}", "response": "ok"}))
            out.write("\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1_000_000, help="items")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--kill-at", type=float, default=0.5, help="share of calls; 0: no kill")
    parser.add_argument("--src", help="the jurist source tree to run (default: installed)")
    parser.add_argument("--dir", help="working folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        report(Path(tmp), args)


def report(root: Path, args: argparse.Namespace) -> None:
    data, store, out = root / "items.jsonl", root / "store.sqlite", root / "out"
    write_items(data, args.n)
    (root / "r.yaml").write_text(RUBRIC)
    env = {**os.environ, "JURIST_STORE": str(store)}
    if args.src:
        env["PYTHONPATH"] = args.src
    cli = [sys.executable, "-m", "jurist", "grade"]
    server = CountingServer(json.dumps({"rationale": "fine", "score": 3}))
    try:
        first = [
            *cli, str(root / "r.yaml"), str(data), "--judge", f"openai:{server.url}#m",
            "-o", str(out), "--id-field", "id", "--no-logprobs", "--no-progress",
            "--concurrency", str(args.concurrency), "--run-id", "million", "--format", "json",
        ]  # fmt: skip
        kill = int(args.n * args.kill_at) if args.kill_at > 0 else None
        t1, peak1, sent1, cpu1 = run_leg(first, env, kill, server)
        kept, done = stored(store, "million")
        legs = [(t1, peak1, done, cpu1)]
        resent = 0
        if kill is not None:
            resume = [*cli, "--resume", "million", "--no-progress", "--format", "json"]
            t2, peak2, sent2, cpu2 = run_leg(resume, env, None, server)
            legs.append((t2, peak2, args.n - done, cpu2))
            resent = sent2 - (args.n - kept)  # calls whose answers were already kept
        lines = (out / "results.jsonl").read_text().splitlines()
        ids = {json.loads(line)["item_id"] for line in lines}
        server_cpu = server.cpu_seconds()
    finally:
        server.stop()
    seconds = sum(leg[0] for leg in legs)
    size = sum(p.stat().st_size for p in root.glob("store.sqlite*"))
    print(f"items {args.n}  concurrency {args.concurrency}  src {args.src or 'installed'}")
    for name, (t, peak, items, cpu) in zip(("first", "resumed"), legs, strict=False):
        print(f"  {name:8} {items:>9} items in {t:8.1f} s = {items / t:8.0f} items/s, "
              f"peak RSS {peak:6.0f} MiB, CPU {1000 * cpu / max(items, 1):.3f} ms/item")  # fmt: skip
    cpu = sum(leg[3] for leg in legs)
    print(f"overall   {args.n / seconds:8.0f} items/s (target >= 1500)")
    # One event loop in one process: the rate can never pass one core / CPU per item.
    print(f"CPU       {1000 * cpu / args.n:8.3f} ms/item jurist (start-up included), "
          f"{1000 * server_cpu / args.n:.3f} ms/item server: at most "
          f"{args.n / max(cpu, server_cpu):.0f} items/s with a core each")  # fmt: skip
    print(f"peak RSS  {max(leg[1] for leg in legs):8.0f} MiB (target <= 300)")
    print(f"store     {size / args.n:8.0f} bytes/item ({size / 2**20:.0f} MiB)")
    if kill is not None:
        print(f"killed at {sent1} calls answered, {kept} kept: lost at kill {sent1 - kept}")
        print(f"resent    {resent:8d} (target 0)")
    print(f"results   {len(lines)} lines, {len(ids)} distinct items (want {args.n} and {args.n})")


if __name__ == "__main__":
    main()

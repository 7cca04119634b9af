"""CPU per call: jurist's plain-http client vs aiohttp, on the same requests.

Both POST the same JSON body (a judge request of about 1 KB) to an instant local HTTP
server in its own process, over keep-alive connections, at the same concurrency, and parse
the JSON answer. Rounds alternate so machine noise hits both alike; only this process's
CPU is counted (the server's is its own). aiohttp runs with its C-accelerated parser, a
pooled connector, no cookie jar and one session for the whole round.

    python bench/http_client.py --n 2000 --concurrency 8 --rounds 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp

from _servers import instant_server
from jurist.backends.plainhttp import PlainHttpClient, plain_http_target

HEADERS = {"Authorization": "Bearer no-key", "User-Agent": "bench"}
BODY = json.dumps(
    {
        "model": "m",
        "messages": [{"role": "user", "content": "Grade this response. " * 40}],
        "max_tokens": 384,
        "temperature": 0.0,
        "seed": 0,
        "response_format": {"type": "json_object", "schema": {"type": "object"}},
    }
).encode()


async def with_plainhttp(url: str, n: int, concurrency: int) -> float:
    """CPU seconds for `n` calls through jurist's client."""
    target = plain_http_target(url)
    assert target is not None
    client = PlainHttpClient(target, HEADERS, 60.0)
    pending = iter(range(n))

    async def worker() -> None:
        for _ in pending:
            response = await client.post("/chat/completions", BODY)
            assert response.status == 200 and json.loads(response.body)["choices"]

    started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    spent = time.process_time() - started
    await client.aclose()
    return spent


async def with_aiohttp(url: str, n: int, concurrency: int) -> float:
    """CPU seconds for `n` calls through aiohttp."""
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        headers={**HEADERS, "Content-Type": "application/json"},
        timeout=aiohttp.ClientTimeout(total=60),
        cookie_jar=aiohttp.DummyCookieJar(),
    )
    endpoint = f"{url}/chat/completions"
    pending = iter(range(n))

    async def worker() -> None:
        for _ in pending:
            async with session.post(endpoint, data=BODY) as response:
                answer = json.loads(await response.read())
            assert response.status == 200 and answer["choices"]

    started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    spent = time.process_time() - started
    await session.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000, help="calls per client per round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    clients = {"plainhttp": with_plainhttp, "aiohttp": with_aiohttp}
    spent = dict.fromkeys(clients, 0.0)
    with instant_server(json.dumps({"rationale": "fine", "score": 3})) as url:
        for run in clients.values():
            asyncio.run(run(url, 200, args.concurrency))  # warm up
        for round_number in range(args.rounds):
            order = list(clients) if round_number % 2 == 0 else list(clients)[::-1]
            for name in order:
                spent[name] += asyncio.run(clients[name](url, args.n, args.concurrency))
    calls = args.n * args.rounds
    print(f"CPU per call, instant server, {calls} calls each, concurrency {args.concurrency}:")
    for name, seconds in spent.items():
        print(f"  {name:10s}: {seconds / calls * 1e6:6.1f} us")
    ratio = spent["aiohttp"] / spent["plainhttp"]
    verdict = "within 10%: aiohttp would do" if ratio <= 1.1 else "plainhttp is cheaper"
    print(f"  aiohttp / plainhttp: {ratio:.2f} ({verdict})")


if __name__ == "__main__":
    main()

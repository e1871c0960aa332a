"""A separate gateway-like process for the durability and multi-process tests.

python governance_worker.py settle-and-hang '<config json>' <count>
    settles `count` priced responses, prints "settled", then waits to be killed.
python governance_worker.py admit '<config json>' <count>
    makes `count` concurrent requests (admit, reserve, settle) and prints
    {"admitted": n, "rate_limited": n, "over_budget": n} as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading

import msgspec
from governance_support import PRICED_MODEL, priced_table

from literllm.clock import SystemClock
from literllm.config.schema import Config
from literllm.errors import BudgetExceededError, RateLimitError
from literllm.governance.governor import Governor
from literllm.types import Usage

USAGE = Usage(prompt_tokens=100, completion_tokens=50, total_tokens=150)  # $0.2


async def _request(governor: Governor) -> str:
    key = governor._config.keys[0] if governor._config.keys else None
    try:
        admission = await governor.admit(key=key, model="m", estimated_tokens=150)
    except RateLimitError:
        return "rate_limited"
    async with admission:
        try:
            await admission.reserve(provider_model=PRICED_MODEL, max_cost=0.2)
        except BudgetExceededError:
            return "over_budget"
        await asyncio.sleep(0.01)  # the upstream call
        await admission.settle(provider_model=PRICED_MODEL, usage=USAGE)
    return "admitted"


async def main(mode: str, config_json: str, count: int) -> None:
    config = msgspec.convert(json.loads(config_json), Config)
    governor = Governor.from_config(config, clock=SystemClock(), pricing=priced_table())
    await governor.start()
    if mode == "settle-and-hang":
        for _ in range(count):
            admission = await governor.admit(key=None, model="m", estimated_tokens=1)
            await admission.settle(provider_model=PRICED_MODEL, usage=USAGE)
        print("settled", flush=True)
        threading.Event().wait()  # until SIGKILL
    outcomes = await asyncio.gather(*(_request(governor) for _ in range(count)))
    await governor.aclose()
    print(
        json.dumps(
            {name: outcomes.count(name) for name in ("admitted", "rate_limited", "over_budget")}
        ),
        flush=True,
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))

"""The server's admission queue: requests of one process run one at a time in arrival order, a slow one stops
holding its turn after `hold_seconds`, and an answer's start frees the turn."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from daipin.http.middleware import Admission


def _app(log: list[str], work: dict[str, float], *, body_delay: float = 0.0) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        name = scope["path"]
        log.append(f"start {name}")
        await asyncio.sleep(work.get(name, 0.01))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        log.append(f"answered {name}")
        await asyncio.sleep(body_delay)
        await send({"type": "http.response.body", "body": b""})
        log.append(f"end {name}")
    return app


async def _call(app: Any, path: str, delay: float = 0.0) -> None:
    await asyncio.sleep(delay)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        return None

    await app({"type": "http", "path": path}, receive, send)


def test_requests_take_turns_in_arrival_order() -> None:
    log: list[str] = []
    app = Admission(_app(log, {"/a": 0.05, "/b": 0.01, "/c": 0.01}), limit=1)

    async def main() -> None:
        await asyncio.gather(_call(app, "/a"), _call(app, "/c", 0.02), _call(app, "/b", 0.01))

    asyncio.run(main())
    starts = [e for e in log if e.startswith("start")]
    assert starts == ["start /a", "start /b", "start /c"]
    assert log.index("answered /a") < log.index("start /b") < log.index("answered /b") < log.index("start /c")


def test_without_a_limit_requests_overlap() -> None:
    log: list[str] = []
    app = _app(log, {"/a": 0.05, "/b": 0.01})

    async def main() -> None:
        await asyncio.gather(_call(app, "/a"), _call(app, "/b", 0.01))

    asyncio.run(main())
    assert log.index("start /b") < log.index("answered /a")


def test_a_slow_request_gives_up_its_turn_and_a_slow_body_holds_none() -> None:
    log: list[str] = []
    app = Admission(_app(log, {"/export": 0.5, "/page": 0.01}, body_delay=0.2), limit=1, hold_seconds=0.05)

    async def main() -> None:
        await asyncio.gather(_call(app, "/export"), _call(app, "/page", 0.01), _call(app, "/next", 0.1))

    asyncio.run(main())
    # /page ran while /export was still working (after 0.05 s), and /next did not wait for /page's slow body.
    assert log.index("start /page") < log.index("answered /export")
    assert log.index("start /next") < log.index("end /page")


def test_a_failing_request_frees_its_turn() -> None:
    async def boom(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    app = Admission(boom, limit=1)

    async def main() -> int:
        for _ in range(3):
            with contextlib.suppress(RuntimeError):
                await _call(app, "/x")
        return app.slots._value  # type: ignore[attr-defined,no-any-return]

    assert asyncio.run(main()) == 1

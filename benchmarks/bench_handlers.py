"""The handler the benchmark diagram calls: as cheap as a handler can be, to measure the engine."""

from engine.handler_registry import handler


@handler("bench_echo")
def bench_echo(value: int) -> dict:
    return {"value": value}

"""Test helpers, in one package (the fakes of external services are in tests/fakes/).

- `runtime`: a real runtime over a data dir wired to the fake LLM; `inbound`, `ask` (straight to the engine),
  `final_of`, `streamed_text`, `admin_context`.
- `queue`: settings for a runtime on the shared test Redis; `ask_queued` (through the Redis Stream dispatcher) and
  the `RecordingResponder` it waits on.
- `workers`: real worker processes (`open_runtime` + the queue consumer) started and killed by tests.
- `telegram`: the Telegram platform served against the fake Bot API.
- `handoff`: one runtime against the fake Slack, Telegram and LLM servers (the operator inbox).
- `redis_faults`: a real redis-server on a TCP port that tests kill -9 and restart.
"""

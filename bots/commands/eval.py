"""`deskmate eval`: run a golden set through the real engine and print answer-quality numbers.

Every question is a new console conversation (its `history` messages are sent first, so follow-ups are
asked as users ask them) through the whole engine: PII masking, memory, query rewriting, hybrid search,
the evidence gate, the model when one is configured. From each reply: the documents of the passages the
engine retrieved (recall@k, MRR), the documents it cited (citation correctness), whether it abstained
(abstention precision/recall), whether it holds the expected facts and, with a model, whether the model
judges the answer supported by the passages (faithfulness). The semantic cache is off for the eval channel.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from bots.settings import Settings

GATES = ("recall_at_k", "mrr", "citation_correctness", "abstention_precision", "abstention_recall", "facts_found",
         "faithfulness")
JUDGE_PROMPT = ("answer_judge", "v1")
EVAL_CHANNEL = "deskmate-eval"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "eval", help="measure answer quality on a golden set (recall@k, MRR, citations, abstention)",
        description="Runs a golden set (JSON lines: question, expected source files, optional facts, or "
                    "answerable:false) through the engine and prints recall@k, MRR, citation correctness, "
                    "abstention precision/recall, facts found and, with a model, faithfulness.",
    )
    parser.add_argument("golden", type=Path, help="the golden set (.jsonl)")
    parser.add_argument("--bot", default="helpdesk", help="bot profile to ask (default: helpdesk)")
    parser.add_argument("--tenant", default="local", help="tenant the questions come from (default: local)")
    parser.add_argument("-k", type=int, default=5, help="k of recall@k (default 5)")
    parser.add_argument("--json", action="store_true", help="print the numbers (and per-question rows) as JSON")
    parser.add_argument("--fail-under", action="append", default=[], metavar="METRIC=VALUE",
                        help=f"exit 1 if METRIC is below VALUE (repeatable); metrics: {', '.join(GATES)}")
    parser.add_argument("--calibrate", action="store_true",
                        help="also print abstention precision/recall for a sweep of evidence-gate floors")
    parser.add_argument("--verbose", action="store_true", help="structured logs to stderr")
    parser.set_defaults(func=run)


def parse_gates(specs: list[str]) -> dict[str, float]:
    gates: dict[str, float] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or name.strip() not in GATES:
            raise SystemExit(f"deskmate eval: bad --fail-under {spec!r}; use METRIC=VALUE with METRIC one of "
                             f"{', '.join(GATES)}")
        try:
            gates[name.strip()] = float(value)
        except ValueError:
            raise SystemExit(f"deskmate eval: bad number in --fail-under {spec!r}") from None
    return gates


class _Collector:
    """An engine observer that keeps, per reply id, what the eval needs from the finished turn."""

    def __init__(self) -> None:
        self.turns: dict[str, Any] = {}

    def stage_started(self, turn: Any, stage: str) -> None:
        return None

    def stage_finished(self, turn: Any, stage: str, self_s: float, error: BaseException | None) -> None:
        return None

    def reply_finished(self, turn: Any, terminal: Any) -> None:
        self.turns[turn.reply_id] = turn


async def ask(runtime: Any, bot: str, tenant: str, thread: str, question: str, collector: _Collector) -> Any:
    from core.models import Final, Inbound

    inbound = Inbound(platform="console", bot=bot, tenant=tenant, channel=EVAL_CHANNEL, thread=thread,
                      user="eval", text=question, is_private=True)
    final: Any = None
    async for event in runtime.engine.handle(inbound):
        if isinstance(event, Final):
            final = event
    turn = collector.turns.pop(next(reversed(collector.turns)), None) if collector.turns else None
    return final, turn


async def judge(runtime: Any, turn: Any, answer: str) -> bool | None:
    """The model's verdict: is every claim of the answer supported by the passages? (None: no verdict)."""
    if not runtime.gateway.available or JUDGE_PROMPT not in runtime.prompts.templates or not answer.strip():
        return None
    template = runtime.prompts.get(*JUDGE_PROMPT)
    messages = [{"role": "system", "content": template.render("system")},
                {"role": "user", "content": template.render("user", passages=turn.passages, answer=answer)}]
    try:
        completion = await runtime.gateway.complete(messages, max_tokens=5, request_id=turn.reply_id)
    except Exception:
        return None
    verdict = completion.text.strip().upper()
    return True if verdict.startswith("YES") else False if verdict.startswith("NO") else None


async def evaluate(runtime: Any, items: list[Any], bot: str, tenant: str) -> list[Any]:
    from core.knowledge.golden import Outcome, ranked_sources

    collector = _Collector()
    runtime.engine.observers = (*runtime.engine.observers, collector)
    await runtime.flags.set("console", tenant, "cache", False, by="deskmate eval", channel=EVAL_CHANNEL)
    outcomes: list[Outcome] = []
    try:
        for item in items:
            thread = f"eval-{item.id}-{uuid.uuid4().hex[:8]}"
            for earlier in item.history:
                await ask(runtime, bot, tenant, thread, earlier, collector)
            final, turn = await ask(runtime, bot, tenant, thread, item.question, collector)
            if turn is None or final is None:
                outcomes.append(Outcome(item, answer=""))
                continue
            outcome = Outcome(
                item, sources=ranked_sources(p.url for p in turn.passages),
                cited=[] if turn.facts.get("abstained") else [c.url for c in final.citations],
                abstained=bool(turn.facts.get("abstained")), answer=final.text,
                confidence=turn.facts.get("retrieval_confidence"))
            if not outcome.abstained and not turn.retrieval_only:
                outcome.faithful = await judge(runtime, turn, final.text)
            outcomes.append(outcome)
    finally:
        await runtime.flags.reset("console", tenant, "cache", by="deskmate eval", channel=EVAL_CHANNEL)
        runtime.engine.observers = tuple(o for o in runtime.engine.observers if o is not collector)
    return outcomes


def sweep(outcomes: list[Any]) -> list[dict[str, float | None]]:
    """Abstention numbers if the gate's floor were each of these values (from the recorded confidences)."""
    from core.knowledge.evidence import gated

    rows = []
    for step in range(10, 61, 2):
        floor = step / 100
        abst = [o for o in outcomes if gated(o.item.question) and (o.confidence or 0.0) < floor]
        unans = [o for o in outcomes if not o.item.answerable]
        right = sum(1 for o in abst if not o.item.answerable)
        answerable = [o for o in outcomes if o.item.answerable]
        rows.append({"floor": floor, "precision": round(right / len(abst), 3) if abst else None,
                     "recall": round(right / len(unans), 3) if unans else None,
                     "answerable_abstained": round(sum(1 for o in abst if o.item.answerable) / len(answerable), 3)
                     if answerable else 0.0})
    return rows


def show(metrics: Any, outcomes: list[Any], calibrate: bool) -> None:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    print(f"{metrics.questions} questions ({metrics.answerable} answerable, {metrics.unanswerable} not)")
    print(f"  recall@{metrics.k}            {pct(metrics.recall_at_k)}")
    print(f"  MRR                 {pct(metrics.mrr)}")
    print(f"  citation correctness {pct(metrics.citation_correctness)}")
    print(f"  abstention precision {pct(metrics.abstention_precision)}")
    print(f"  abstention recall    {pct(metrics.abstention_recall)}")
    print(f"  answerable abstained {pct(metrics.false_abstention_rate)}")
    print(f"  facts found          {pct(metrics.facts_found)}")
    print(f"  faithfulness         {pct(metrics.faithfulness)}" + ("" if metrics.faithfulness is not None
                                                                     else " (no model configured)"))
    for lang, row in metrics.by_lang.items():
        print(f"  [{lang}] recall@{metrics.k} {row['recall_at_k']:.3f}  MRR {row['mrr']:.3f}  "
              f"({row['answerable']:.0f} answerable)")
    if metrics.misses:
        print("  not found in the top k: " + ", ".join(metrics.misses))
    wrong = [o.item.id for o in outcomes if o.abstained and o.item.answerable]
    if wrong:
        print("  abstained although answerable: " + ", ".join(wrong))
    if calibrate:
        print("  gate floor sweep (floor: precision / recall / answerable abstained):")
        for row in sweep(outcomes):
            print(f"    {row['floor']:.2f}: {row['precision']} / {row['recall']} / {row['answerable_abstained']}")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from bots.composition import open_runtime
    from core.knowledge.golden import GoldenSetError, load_golden, score
    from core.log import configure_logging

    gates = parse_gates(args.fail_under)
    try:
        items = load_golden(args.golden)
    except (OSError, GoldenSetError) as exc:
        print(f"deskmate eval: {exc}", file=sys.stderr)
        return 2
    # A golden set is asked faster than a person types: per-minute message limits would refuse it (budgets stay).
    settings = settings.model_copy(update={"limits": settings.limits.model_copy(
        update={"user_per_minute": 0, "tenant_per_minute": 0})})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log_stream = None
    if args.verbose:
        configure_logging(settings.log_level, settings.log_format)
    else:
        log_stream = (settings.data_dir / "deskmate.log").open("a", encoding="utf-8")
        configure_logging(settings.log_level, "json", log_stream)
    try:
        async with open_runtime(settings) as runtime:
            if args.bot not in runtime.profiles:
                print(f"deskmate eval: unknown bot profile {args.bot!r}", file=sys.stderr)
                return 2
            outcomes = await evaluate(runtime, items, args.bot, args.tenant)
    finally:
        if log_stream is not None:
            log_stream.close()
    metrics = score(outcomes, args.k)
    if args.json:
        rows = [{"id": o.item.id, "rank": o.rank(), "abstained": o.abstained, "confidence": o.confidence,
                 "sources": o.sources[: args.k], "cited": o.cited, "faithful": o.faithful} for o in outcomes]
        print(json.dumps({"metrics": metrics.as_dict(), "questions": rows,
                          **({"sweep": sweep(outcomes)} if args.calibrate else {})}, ensure_ascii=False, indent=2))
    else:
        show(metrics, outcomes, args.calibrate)
    failed = [f"{name} {metrics.value(name)} < {floor}" for name, floor in gates.items()
              if metrics.value(name) is None or (metrics.value(name) or 0.0) < floor]
    for line in failed:
        print(f"deskmate eval: below the gate: {line}", file=sys.stderr)
    return 1 if failed else 0

"""`deskmate kb list|stats|remove|reembed`: look after knowledge collections."""

from __future__ import annotations

import argparse
import sys
import time

from bots.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("kb", help="list, inspect, remove or re-embed knowledge collections",
                            description="Operate the knowledge base (see docs/knowledge.md).")
    actions = parser.add_subparsers(dest="kb_action", metavar="ACTION", required=True)
    actions.add_parser("list", help="collections with their model and size")
    stats = actions.add_parser("stats", help="one collection: documents, chunks, tenants, access groups")
    stats.add_argument("collection")
    stats.add_argument("--docs", action="store_true", help="also list every document")
    remove = actions.add_parser("remove", help="remove a collection, or one document with --source")
    remove.add_argument("collection")
    remove.add_argument("--source", default=None, help="only the document ingested from this path or URL")
    remove.add_argument("--tenant", default=None, help="with --source: only that tenant's copy")
    remove.add_argument("--yes", action="store_true", help="required to remove a whole collection")
    reembed = actions.add_parser("reembed", help="re-embed a collection with the configured embedding model")
    reembed.add_argument("collection")
    parser.set_defaults(func=run)


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "-"


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from bots.commands.ingest import ProgressLine
    from core.knowledge.build import open_knowledge
    from core.knowledge.errors import KnowledgeError
    from core.state.redis import open_redis

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with open_redis(settings.redis_url, settings.data_dir) as redis:
        knowledge = await open_knowledge(settings.embeddings, settings.chroma, settings.data_dir, redis)
        try:
            if args.kb_action == "list":
                names = await knowledge.collections()
                if not names:
                    print("no collections (add documents with `deskmate ingest PATH`)")
                for name in names:
                    s = await knowledge.stats(name)
                    print(f"{name}\t{s.documents} documents\t{s.chunks} chunks\t{s.model}\t"
                          f"updated {_when(s.last_updated)}")
            elif args.kb_action == "stats":
                s = await knowledge.stats(args.collection)
                print(f"collection:     {s.name}\nembedding model: {s.model}\ndocuments:      {s.documents}\n"
                      f"chunks:         {s.chunks}\nlast updated:   {_when(s.last_updated)}")
                print("tenants:        " + ", ".join(f"{k} ({v})" for k, v in sorted(s.tenants.items())))
                print("access groups:  " + ", ".join(f"{k} ({v})" for k, v in sorted(s.access_groups.items())))
                if args.docs:
                    for d in await knowledge.documents(args.collection):
                        print(f"  {d['source']}\t{d['title']}\ttenant={d['tenant']}\taccess={d['access']}\t"
                              f"{d['chunks']} chunks\t{_when(d['updated'])}")
            elif args.kb_action == "remove":
                if args.source is None and not args.yes:
                    print(f"deskmate kb: removing the whole collection {args.collection!r} needs --yes",
                          file=sys.stderr)
                    return 2
                count = await knowledge.remove(args.collection, args.source, args.tenant)
                what = f"documents from {args.source}" if args.source else f"collection {args.collection}"
                print(f"removed {what}: {count} chunks")
                if args.source and count == 0:
                    return 1
            elif args.kb_action == "reembed":
                count = await knowledge.reembed(args.collection, progress=ProgressLine())
                print(f"re-embedded {count} chunks of {args.collection} with {knowledge.embedder.model_id}")
        except KnowledgeError as exc:
            print(f"deskmate kb: {exc}", file=sys.stderr)
            return 2
        finally:
            await knowledge.aclose()
    return 0

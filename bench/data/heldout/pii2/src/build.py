"""Assemble parts into ../messages.jsonl (ids assigned in order)."""
import json, os, importlib, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
PARTS = [p for p in ["p1_ru", "p2_en", "p3_mixed", "p4_ru", "p5_en", "p6_more", "p7_extra"] if os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), p + ".py"))]
out = []
for p in PARTS:
    out += importlib.import_module(p).M
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "messages.jsonl")
with open(path, "w", encoding="utf-8") as f:
    for i, msg in enumerate(out, 1):
        rec = {"id": "h%04d" % i, "lang": msg["lang"], "text": msg["text"], "entities": msg["entities"], "decoys": msg["decoys"]}
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print("wrote", len(out), "messages from", PARTS)

#!/usr/bin/env python3
"""Prints the Markdown table of docs/trace-format.md, "Client input", from the recorded cases
(test/fixtures/qemu-*/qmp-input.json, written by scripts/measure-qmp-input.py)."""
import glob
import json
import re


def short(reply):
    if "return" in reply:
        text = "return"
    elif "error" in reply:
        e = reply["error"]
        text = ("" if e["class"] == "GenericError" else e["class"] + ": ") + e["desc"]
    else:
        text = json.dumps(reply)
    if "id" in reply:
        text += f" (id {json.dumps(reply['id'], ensure_ascii=False)})"
    return text


def answers(case):
    parts, prev, n = [], None, 0
    for r in [short(r) for r in case["replies"]] + [None]:
        if r == prev:
            n += 1
            continue
        if prev is not None:
            parts.append(prev if n == 1 else f"{n} × {prev}")
        prev, n = r, 1
    if len(parts) > 6:
        parts = parts[:4] + [f"… {len(case['replies'])} replies in all, the last: {parts[-1]}"]
    text = "; ".join(parts) or "nothing"
    if case.get("close"):
        text += "; then EOF" if case["eof"] else "; connection kept"
    return cell(text)


def cell(text):
    text = text.replace("|", "\\|").replace("\n", "\\n").replace("\r", "\\r")
    return re.sub(r"[\x00-\x1f]", lambda m: "\\x%02x" % ord(m.group()), text)


sets = {}
for path in sorted(glob.glob("test/fixtures/qemu-*/qmp-input.json"), key=lambda p: [int(x) for x in re.findall(r"qemu-(\d+)\.(\d+)", p)[0]]):
    doc = json.load(open(path))
    sets[doc["qemu"]] = doc
versions = list(sets)
print("| case | " + " | ".join(f"QEMU {v}" for v in versions) + " |")
print("| --- |" + " --- |" * len(versions))
for i, case in enumerate(sets[versions[0]]["cases"]):
    row = [answers(sets[v]["cases"][i]) for v in versions]
    # "same": as the QEMU to the left answered.
    row = [row[0]] + ["same" if row[k] == row[k - 1] else row[k] for k in range(1, len(row))]
    print(f"| {cell(case['name'])} | " + " | ".join(row) + " |")

#!/usr/bin/env python3
"""Measures how a real QEMU's monitor reads QMP input: well-formed input cut in odd ways, and
malformed input. Starts `qemu-system-x86_64 -machine none` with a QMP UNIX socket, opens one
connection per case, negotiates (unless the case says not to), sends the case's writes with a
pause between them, half-closes when the case says so, and records every reply and whether QEMU
closed the connection. Writes the cases with QEMU's answers as JSON (test/fixtures/qemu-*/qmp-input.json):
the unit test feeds the same bytes to our reader and expects the same answers.

usage: measure-qmp-input.py OUT.json [QEMU_BINARY]
A write is a list of pieces, concatenated: a string (UTF-8), {"b64": …} for bytes that are not
UTF-8, or {"repeat": S, "times": N}.
"""
import base64
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time

Q = '{"execute":"query-name"'


def cmd(id_):
    return f'{Q},"id":{json.dumps(id_)}}}'


# name, writes, options
CASES = [
    ("value with a newline", [[cmd(1) + "\n"]], {}),
    ("value without a newline", [[cmd(1)]], {}),
    ("value without a newline, then EOF", [[cmd(1)]], {"close": True}),
    ("two values in one chunk", [[cmd(1) + cmd(2)]], {}),
    ("two values on one line with a space", [[cmd(1) + " " + cmd(2) + "\n"]], {}),
    ("object split across lines", [['{"execute":\n"query-name",\n"id":\n1\n}\n']], {}),
    ("object split across chunks", [['{"exec'], ['ute":"query-name","i'], ['d":1}']], {}),
    ("CRLF line ends", [[cmd(1) + "\r\n" + cmd(2) + "\r\n"]], {}),
    ("tabs and CR between tokens", [['{\t"execute"\r:\t"query-name" ,\r\n "id" : 1 }']], {}),
    ("non-ASCII id", [[cmd("é€😀")]], {}),
    ("non-ASCII split inside a character", [[{"b64": base64.b64encode(cmd("é€").encode()[:-5]).decode()}], [{"b64": base64.b64encode(cmd("é€").encode()[-5:]).decode()}]], {}),
    ("escaped unicode id", [['{"execute":"query-name","id":"\\u00e9\\ud83d\\ude00"}']], {}),
    ("single-quoted strings", [["{'execute':'query-name','id':'a\"b'}"]], {}),
    ("number id", [[cmd(1.5e3)]], {}),
    ("large integer id", [['{"execute":"query-name","id":18446744073709551615}']], {}),
    ("malformed: missing value, then a good command", [['{"execute":}'], [cmd(2)]], {}),
    ("malformed: stray letters, then a good command", [["foo bar " + cmd(2)]], {}),
    ("malformed: upper-case keyword", [['{"execute":"query-name","id":TRUE}' + cmd(2)]], {}),
    ("malformed: unknown keyword", [['{"execute":"query-name","id":nul}' + cmd(2)]], {}),
    ("malformed: stray closing brace", [["}" + cmd(2)]], {}),
    ("malformed: stray closing bracket", [["]" + cmd(2)]], {}),
    ("malformed: trailing comma", [['{"execute":"query-name",}' + cmd(2)]], {}),
    ("malformed: missing colon", [['{"execute" "query-name"}' + cmd(2)]], {}),
    ("malformed: key not a string", [['{1:2}' + cmd(2)]], {}),
    ("malformed: brace closed by bracket", [['{"execute":"query-name"]' + cmd(2)]], {}),
    ("malformed: duplicate key", [['{"execute":"query-name","execute":"query-name","id":1}' + cmd(2)]], {}),
    ("malformed: invalid escape", [['{"execute":"query-name","id":"\\x"}' + cmd(2)]], {}),
    ("malformed: lone surrogate escape", [['{"execute":"query-name","id":"\\ud800"}' + cmd(2)]], {}),
    ("malformed: \\u0000 escape", [['{"execute":"query-name","id":"\\u0000"}' + cmd(2)]], {}),
    ("malformed: control character in a string", [['{"execute":"query-name","id":"a\nb"}' + cmd(2)]], {}),
    ("malformed: invalid UTF-8 in a string", [[{"b64": base64.b64encode(b'{"execute":"query-name","id":"\xc3\x28"}').decode()}, cmd(2)]], {}),
    ("malformed: byte 0xff between values", [[{"b64": base64.b64encode(b"\xff").decode()}, cmd(2)]], {}),
    ("malformed: leading zero", [['{"execute":"query-name","id":01}' + cmd(2)]], {}),
    ("malformed: unclosed object, then EOF", [['{"execute":"query-name"']], {"close": True}),
    ("malformed: unclosed string, then a newline and a command", [['{"execute":"query-name\n' + cmd(2)]], {}),
    ("malformed: unclosed object, then a good command", [['{"execute":"query-name",\n'], [cmd(2)]], {}),
    ("malformed: array missing separator", [["[1 2]" + cmd(2)]], {}),
    ("malformed: array trailing comma", [["[1,]" + cmd(2)]], {}),
    ("malformed: array closed by brace", [["[1}" + cmd(2)]], {}),
    ("malformed: keyword as a key", [["{true:1}" + cmd(2)]], {}),
    ("malformed: key with an invalid escape", [['{"\\x":1}' + cmd(2)]], {}),
    ("malformed: duplicate key with an object value", [['{"execute":"query-name","execute":{"a":1},"id":1}' + cmd(2)]], {}),
    ("malformed: error deep inside, skipped to its end", [['{"execute":"query-name","arguments":{"a":[1,}]},"id":1}' + cmd(2)]], {}),
    ("malformed: error on a later line", [['{"execute":"query-name",\n "id":\n  01}' + cmd(2)]], {}),
    ("malformed: columns count bytes", [['{"execute":"query-name","id":"\u00e9é",x}' + cmd(2)]], {}),
    ("malformed: bad byte while skipping a refused value", [['{"execute":,"id":-x}' + cmd(2)]], {}),
    ("malformed: error after a value that needs lookahead", [['[1 }' + cmd(2)]], {}),
    ("top-level array", [["[1,2,3]" + cmd(2)]], {}),
    ("top-level string", [['"query-name"' + cmd(2)]], {}),
    ("top-level number with a newline", [["42\n" + cmd(2)]], {}),
    ("top-level number without anything after it", [["42"]], {}),
    ("top-level keyword", [["true " + cmd(2)]], {}),
    ("empty object", [["{}" + cmd(2)]], {}),
    ("unknown member", [['{"execute":"query-name","id":1,"extra":1}' + cmd(2)]], {}),
    ("execute not a string", [['{"execute":1,"id":1}' + cmd(2)]], {}),
    ("arguments not an object", [['{"execute":"query-name","arguments":[],"id":1}' + cmd(2)]], {}),
    ("arguments null", [['{"execute":"query-name","arguments":null,"id":1}' + cmd(2)]], {}),
    ("unknown argument", [['{"execute":"query-name","arguments":{"x":1},"id":1}' + cmd(2)]], {}),
    ("exec-oob without OOB negotiated", [['{"exec-oob":"query-name","id":1}' + cmd(2)]], {}),
    ("execute and exec-oob both", [['{"execute":"query-name","exec-oob":"query-name","id":1}' + cmd(2)]], {}),
    ("exec-oob of a command without OOB support, OOB negotiated", [['{"exec-oob":"query-name","id":1}' + cmd(2)]], {"oob": True}),
    ("exec-oob of an OOB command, OOB negotiated", [['{"exec-oob":"migrate-pause","id":1}' + cmd(2)]], {"oob": True}),
    ("unknown command", [['{"execute":"no-such-command","id":1}' + cmd(2)]], {}),
    ("command before negotiation", [[cmd(1)]], {"negotiate": False}),
    ("negotiation without a newline", [['{"execute":"qmp_capabilities","id":1}'], [cmd(2)]], {"negotiate": False}),
    ("negotiation twice", [['{"execute":"qmp_capabilities","id":1}' + cmd(2)]], {}),
    ("unknown capability", [['{"execute":"qmp_capabilities","arguments":{"enable":["nope"]},"id":1}' + cmd(2)]], {"negotiate": False}),
    ("control character 0x1b resynchronises", [['{"execute":"query-na\x1b' + cmd(2)]], {}),
    ("nesting depth 1024 accepted (as an argument)", [['{"execute":"query-name","id":1,"arguments":{"x":', {"repeat": "[", "times": 1022}, {"repeat": "]", "times": 1022}, "}}" + cmd(2)]], {}),
    ("nesting depth 1025 refused", [['{"execute":"query-name","id":1,"arguments":{"x":', {"repeat": "[", "times": 1023}, {"repeat": "]", "times": 1023}, "}}" + cmd(2)]], {}),
    ("token count over 2 Mi refused", [['{"execute":"query-name","id":1,"arguments":{"x":[', {"repeat": "1,", "times": 1048576}, "1]}}" + cmd(2)]], {"quiet": 20}),
    ("token size over 64 MiB refused", [['{"execute":"query-name","id":1,"arguments":{"x":"', {"repeat": "x" * 1024, "times": 65536}, '"}}' + cmd(2)]], {"quiet": 20}),
]


def piece_bytes(p):
    if isinstance(p, str):
        return p.encode()
    if "b64" in p:
        return base64.b64decode(p["b64"])
    return p["repeat"].encode() * p["times"]


def read_messages(sock, buf, quiet, deadline, first=False):
    """Reads until `quiet` seconds pass without data (or EOF, or the deadline); returns messages, eof.
    `first`: the quiet time starts only once something arrived (a greeting after a slow case)."""
    out, eof = [], False
    end = deadline if first else time.monotonic() + quiet
    while True:
        now = time.monotonic()
        wait = min(end, deadline) - now
        if wait <= 0:
            break
        r, _, _ = select.select([sock], [], [], wait)
        if not r:
            break
        data = sock.recv(1 << 20)
        if not data:
            eof = True
            break
        buf.extend(data)
        end = time.monotonic() + quiet
        while b"\n" in buf:
            line, _, rest = bytes(buf).partition(b"\n")
            buf[:] = rest
            if line.strip():
                out.append(json.loads(line))
    return out, eof


def run_case(path, writes, opts):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    buf = bytearray()
    greeting, _ = read_messages(s, buf, 0.1, time.monotonic() + 120, first=True)
    assert greeting and "QMP" in greeting[0], greeting
    if opts.get("negotiate", True):
        enable = ',"arguments":{"enable":["oob"]}' if opts.get("oob") else ""
        s.sendall(('{"execute":"qmp_capabilities"%s}\n' % enable).encode())
        ans, _ = read_messages(s, buf, 0.3, time.monotonic() + 5)
        assert ans == [{"return": {}}], ans
    replies, eof = [], False
    for i, w in enumerate(writes):
        s.sendall(b"".join(piece_bytes(p) for p in w))
        got, eof = read_messages(s, buf, 0.2 if i + 1 < len(writes) else opts.get("quiet", 0.4), time.monotonic() + 60)
        replies += got
        if eof:
            break
    if opts.get("close") and not eof:
        s.shutdown(socket.SHUT_WR)
        got, eof = read_messages(s, buf, 2, time.monotonic() + 10)
        replies += got
    s.close()
    for r in replies:
        r.pop("timestamp", None)
    return replies, eof, greeting[0]


def main():
    out = sys.argv[1]
    qemu = sys.argv[2] if len(sys.argv) > 2 else "qemu-system-x86_64"
    d = tempfile.mkdtemp(prefix="qmp-input-")
    path = os.path.join(d, "qmp.sock")
    argv = [qemu, "-machine", "none", "-nodefaults", "-display", "none", "-qmp", f"unix:{path},server=on,wait=off"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(path):
                break
            time.sleep(0.05)
        cases = []
        greeting = None
        for name, writes, opts in CASES:
            replies, eof, greeting = run_case(path, writes, opts)
            cases.append({"name": name, "writes": writes, **opts, "replies": replies, "eof": eof})
            print(f"{name}: {json.dumps(replies)[:300]}{' EOF' if eof else ''}", file=sys.stderr)
    finally:
        proc.terminate()
        proc.wait()
    v = greeting["QMP"]["version"]["qemu"]
    doc = {
        "qemu": f'{v["major"]}.{v["minor"]}.{v["micro"]}',
        "package": greeting["QMP"]["version"].get("package", ""),
        "recorded": "python3 scripts/measure-qmp-input.py OUT.json (" + " ".join(argv[1:5]) + " -qmp unix:…)",
        "cases": cases,
    }
    with open(out, "w") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")


main()

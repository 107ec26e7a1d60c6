#!/usr/bin/env python3
"""Drives QEMU's own Python QMP clients (python/qemu/qmp from QEMU's source, found through
PYTHONPATH, never copied here) as test peers. Prints one JSON object per line on stdout.

  qemu-peers.py legacy SOCKET COMMAND…      the sync client iotests use (qemu.qmp.legacy): runs each
                                            command (name only), prints {"command", "reply"}
  qemu-peers.py queries SOCKET COMMAND…     the asyncio QMPClient: runs each command, prints {"command", "return"}
                                            or {"command", "error"}
  qemu-peers.py commit SOCKET DEVICE JOB     the asyncio QMPClient runs an active commit of DEVICE as job JOB:
                                            block-commit, BLOCK_JOB_READY, block-job-complete,
                                            BLOCK_JOB_COMPLETED; prints each event of JOB and then
                                            {"image": the file DEVICE reads afterwards}
  qemu-peers.py replay                      transcripts in turn, one process for all (a python3 start
                                            each was most of a test's time): reads one JSON line per
                                            transcript on stdin, {"name", "socket", "steps": [{"command",
                                            "eventsBefore"}], "events": N, "close": bool}; for each, a new
                                            asyncio QMPClient without its own negotiation sends each
                                            step's command once it has seen that many events, prints
                                            {"outcome": reply without id} for each and {"event", "data"}
                                            for each event; then waits for N events, or (close) for the
                                            server to close: {"closed": true}. Every line carries
                                            "transcript": name; each transcript ends in {"done": true}
                                            or {"failed": traceback} (60 s at most), and the next begins.
  qemu-peers.py events SOCKET JOB           the asyncio QMPClient: prints {"ready": …} once listening,
                                            then every event naming JOB, until BLOCK_JOB_COMPLETED or
                                            BLOCK_JOB_CANCELLED for JOB (or 60 s)
"""
import asyncio
import json
import sys


def legacy(socket_path, commands):
    from qemu.qmp.legacy import QEMUMonitorProtocol
    qmp = QEMUMonitorProtocol(socket_path)
    greeting = qmp.connect(negotiate=True)
    print(json.dumps({"greeting": greeting}), flush=True)
    for name in commands:
        print(json.dumps({"command": name, "reply": qmp.cmd_raw(name) if hasattr(qmp, "cmd_raw") else qmp.cmd(name)}), flush=True)
    qmp.close()


async def queries(socket_path, commands):
    from qemu.qmp import QMPClient, ExecuteError
    client = QMPClient("qmpbj-peer")
    await client.connect(socket_path)
    try:
        for name in commands:
            try:
                print(json.dumps({"command": name, "return": await asyncio.wait_for(client.execute(name), 30)}), flush=True)
            except ExecuteError as err:
                print(json.dumps({"command": name, "error": err.error_class}), flush=True)
    finally:
        await client.disconnect()


async def commit(socket_path, device, job):
    from qemu.qmp import QMPClient
    client = QMPClient("qmpbj-peer")
    await client.connect(socket_path)

    async def until(name):
        async for event in client.events:
            data = event.get("data", {})
            if data.get("device") == job or data.get("id") == job:
                print(json.dumps({"event": event["event"], "data": data}), flush=True)
                if event["event"] == name:
                    return

    try:
        await client.execute("block-commit", {"device": device, "job-id": job})
        await asyncio.wait_for(until("BLOCK_JOB_READY"), 60)
        await client.execute("job-complete", {"id": job})
        await asyncio.wait_for(until("BLOCK_JOB_COMPLETED"), 60)
        block = await client.execute("query-block")
        image = next(b["inserted"]["image"]["filename"] for b in block if b["device"] == device)
        print(json.dumps({"image": image}), flush=True)
    finally:
        await client.disconnect()


async def events(socket_path, job):
    from qemu.qmp import QMPClient
    client = QMPClient("qmpbj-peer")
    await client.connect(socket_path)
    jobs = await client.execute("query-block-jobs")
    print(json.dumps({"ready": True, "jobs": jobs}), flush=True)

    async def watch():
        async for event in client.events:
            data = event.get("data", {})
            if data.get("device") == job or data.get("id") == job:
                print(json.dumps({"event": event["event"], "data": data}), flush=True)
                if event["event"] in ("BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED"):
                    return

    try:
        await asyncio.wait_for(watch(), 60)
    finally:
        await client.disconnect()


async def replay(say, socket_path, steps, settle, until_closed):
    from qemu.qmp import QMPClient, ExecuteError, Runstate
    client = QMPClient("qmpbj-peer")
    client.negotiate = False  # the transcript's own qmp_capabilities is a step like any other
    await client.connect(socket_path)
    seen = asyncio.Condition()
    count = 0

    async def collect():
        nonlocal count
        async for event in client.events:
            say({"event": event["event"], "data": event.get("data", {})})
            async with seen:
                count += 1
                seen.notify_all()

    async def events_at_least(n):
        async with seen:
            await seen.wait_for(lambda: count >= n)

    collector = asyncio.create_task(collect())
    closed = False
    try:
        for step in steps:
            await asyncio.wait_for(events_at_least(step["eventsBefore"]), 30)
            command = step["command"]
            msg = client.make_execute_msg(command["execute"], command.get("arguments"))
            try:
                ret = await asyncio.wait_for(client.execute_msg(msg), 30)
                say({"outcome": {"return": ret}})
            except ExecuteError as err:
                say({"outcome": {"error": dict(err.received)["error"]}})
            except (EOFError, ConnectionError, Exception) as err:  # the server went away with this command in flight
                if client.runstate == Runstate.RUNNING:
                    raise
                closed = True
                break
        if until_closed and not closed:
            async def gone():
                while client.runstate == Runstate.RUNNING:
                    await client.runstate_changed()
            await asyncio.wait_for(gone(), 30)
            closed = True
        elif not until_closed:
            await asyncio.wait_for(events_at_least(settle), 30)
        if until_closed:
            say({"closed": closed})
    finally:
        collector.cancel()
        try:
            await client.disconnect()
        except Exception:  # the server's EOF, already said by {"closed": true}
            if not closed:
                raise


async def replay_each():
    import traceback
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        job = json.loads(line)
        name = job["name"]

        def say(obj):
            print(json.dumps({"transcript": name, **obj}), flush=True)

        try:
            await asyncio.wait_for(replay(say, job["socket"], job["steps"], job["events"], job["close"]), 60)
            say({"done": True})
        except Exception as err:  # this transcript failed: say how, go on with the next
            say({"failed": "".join(traceback.format_exception(err))})


def main():
    mode, *args = sys.argv[1:]
    socket_path, *rest = args or [None]
    if mode == "legacy":
        legacy(socket_path, rest)
    elif mode == "queries":
        asyncio.run(queries(socket_path, rest))
    elif mode == "commit":
        asyncio.run(commit(socket_path, rest[0], rest[1]))
    elif mode == "events":
        asyncio.run(events(socket_path, rest[0]))
    elif mode == "replay":
        asyncio.run(replay_each())
    else:
        sys.exit(f"unknown mode {mode}")


main()

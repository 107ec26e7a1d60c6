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
  qemu-peers.py replay SOCKET STEPS.json EVENTS CLOSE
                                            the asyncio QMPClient without its own negotiation sends
                                            each step's command (the file: [{"command", "eventsBefore"}])
                                            once it has seen that many events, prints {"outcome": reply
                                            without id} for each and {"event", "data"} for each event;
                                            then waits for EVENTS events, or (CLOSE "1") for the server
                                            to close: {"closed": true}
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


async def replay(socket_path, steps_file, settle, until_closed):
    from qemu.qmp import QMPClient, ExecuteError, Runstate
    with open(steps_file) as f:
        steps = json.load(f)
    client = QMPClient("qmpbj-peer")
    client.negotiate = False  # the transcript's own qmp_capabilities is a step like any other
    await client.connect(socket_path)
    seen = asyncio.Condition()
    count = 0

    async def collect():
        nonlocal count
        async for event in client.events:
            print(json.dumps({"event": event["event"], "data": event.get("data", {})}), flush=True)
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
                print(json.dumps({"outcome": {"return": ret}}), flush=True)
            except ExecuteError as err:
                print(json.dumps({"outcome": {"error": dict(err.received)["error"]}}), flush=True)
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
            print(json.dumps({"closed": closed}), flush=True)
    finally:
        collector.cancel()
        try:
            await client.disconnect()
        except Exception:  # the server's EOF, already said by {"closed": true}
            if not closed:
                raise


def main():
    mode, socket_path, *rest = sys.argv[1:]
    if mode == "legacy":
        legacy(socket_path, rest)
    elif mode == "queries":
        asyncio.run(queries(socket_path, rest))
    elif mode == "commit":
        asyncio.run(commit(socket_path, rest[0], rest[1]))
    elif mode == "events":
        asyncio.run(events(socket_path, rest[0]))
    elif mode == "replay":
        asyncio.run(replay(socket_path, rest[0], int(rest[1]), rest[2] == "1"))
    else:
        sys.exit(f"unknown mode {mode}")


main()

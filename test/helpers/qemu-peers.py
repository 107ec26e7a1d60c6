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
    else:
        sys.exit(f"unknown mode {mode}")


main()

#!/usr/bin/env python3
# The floor for a QMP command-line tool: the system's python3 on a raw UNIX socket, nothing imported
# beyond the standard library (bench/cli.ts runs it beside our CLI).
#   raw-qmp.py commit SOCKET DEVICE JOB_ID   active commit + pivot: block-commit, job-complete
#                                            on BLOCK_JOB_READY, exit 0 on BLOCK_JOB_COMPLETED
#   raw-qmp.py query SOCKET COMMAND...       each command in turn, its reply read
import json
import socket
import sys


def main() -> int:
    mode, path = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    lines = sock.makefile('rb')

    def send(execute, arguments=None):
        message = {'execute': execute}
        if arguments is not None:
            message['arguments'] = arguments
        sock.sendall(json.dumps(message).encode() + b'\n')

    def reply():
        while True:
            message = json.loads(lines.readline())
            if 'error' in message:
                raise RuntimeError(f"{message['error']['class']}: {message['error']['desc']}")
            if 'return' in message:
                return message['return']

    json.loads(lines.readline())  # the greeting
    send('qmp_capabilities')
    reply()
    if mode == 'query':
        for command in sys.argv[3:]:
            send(command)
            reply()
        return 0
    device, job = sys.argv[3], sys.argv[4]
    send('block-commit', {'job-id': job, 'device': device})
    completing = False
    while True:
        message = json.loads(lines.readline())
        if 'error' in message:
            raise RuntimeError(f"{message['error']['class']}: {message['error']['desc']}")
        data = message.get('data', {})
        if data.get('device') != job and data.get('id') != job:
            continue
        event = message.get('event')
        ready = event == 'BLOCK_JOB_READY' or (event == 'JOB_STATUS_CHANGE' and data.get('status') == 'ready')
        if ready and not completing:
            completing = True
            send('job-complete', {'id': job})
        elif event == 'BLOCK_JOB_COMPLETED':
            if data.get('error'):
                raise RuntimeError(data['error'])
            return 0
        elif event == 'BLOCK_JOB_CANCELLED':
            raise RuntimeError('job cancelled')


if __name__ == '__main__':
    sys.exit(main())

"""A QMP client on a plain socket for mock-qmp/raw-recorder.py: no QmpClient, nothing shared with it.

Every message is kept with its time and direction, as the qmp-trace format wants them.
"""
import json
import select
import socket
import time

WAIT_S = 20.0


class Qmp:
    """One monitor connection; every message is kept with its time and direction."""

    def __init__(self, path, deadline_s=15.0):
        end = time.monotonic() + deadline_s
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > end:
                    raise
                select.select([], [], [], 0.05)  # QEMU not listening yet: retry, bounded by deadline_s
        self.t0 = time.monotonic()
        self.buf = b''
        self.lines = []
        self.events = []
        self.replies = {}
        self.next_id = 1
        self.eof = False
        self.greeting = self._read_message(WAIT_S)
        self.qemu = self.greeting['QMP']['version']

    def _now(self):
        return round(time.monotonic() - self.t0, 6)

    def _read_message(self, timeout_s):
        end = time.monotonic() + timeout_s
        while b'\n' not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError('QEMU sent nothing for %.0f s' % timeout_s)
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                continue
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b''  # a killed QEMU may reset the connection instead of closing it
            if not chunk:
                self.eof = True
                self.lines.append({'t': self._now(), 'end': 'qemu'})
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        msg = json.loads(line)
        self.lines.append({'t': self._now(), 'dir': 'in', 'msg': msg})
        if 'event' in msg:
            self.events.append(msg)
        elif 'id' in msg:
            self.replies[msg['id']] = msg
        return msg

    def send(self, name, args=None):
        """Sends a command and returns QEMU's reply (return or error) without judging it."""
        cid = self.next_id
        self.next_id += 1
        msg = {'execute': name, 'id': cid}
        if args is not None:
            msg['arguments'] = args
        self.lines.append({'t': self._now(), 'dir': 'out', 'msg': msg})
        self.sock.sendall(json.dumps(msg).encode() + b'\n')
        while cid not in self.replies:
            if self._read_message(WAIT_S) is None:
                raise ConnectionError('QEMU closed the monitor before answering %s' % name)
        return self.replies[cid]

    def ok(self, name, args=None):
        reply = self.send(name, args)
        if 'error' in reply:
            raise RuntimeError('%s failed: %s' % (name, reply['error']))
        return reply['return']

    def refused(self, name, args=None):
        reply = self.send(name, args)
        if 'error' not in reply:
            raise RuntimeError('%s was expected to fail, QEMU answered %s' % (name, reply))
        return reply['error']

    def wait_event(self, name, since, timeout_s=WAIT_S, **data):
        """Waits for an event after index `since` whose data has these members."""
        end = time.monotonic() + timeout_s
        while True:
            for event in self.events[since:]:
                if event['event'] == name and all(event.get('data', {}).get(k) == v for k, v in data.items()):
                    return event
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError('no %s %s within %.0f s' % (name, data, timeout_s))
            if self._read_message(left) is None:
                raise ConnectionError('QEMU closed the monitor while waiting for %s' % name)

    def wait_eof(self, timeout_s=WAIT_S):
        end = time.monotonic() + timeout_s
        while not self.eof:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError('QEMU did not close the monitor')
            self._read_message(left)

    def close(self):
        if not self.eof:
            self.lines.append({'t': self._now(), 'end': 'client'})
        self.sock.close()

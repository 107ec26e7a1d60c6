#!/usr/bin/env python3
"""Records QMP transcripts from a real QEMU without the project's QmpClient (issue 16).

The client here is a plain socket and json, so the mock's model is checked against transcripts whose
recorder shares none of the client's assumptions. Writes the qmp-trace format (docs/trace-format.md)
to test/fixtures/qemu-X.Y/raw/NAME.jsonl for the qemu-system-x86_64 first on PATH:
    python3 mock-qmp/raw-recorder.py [NAME...]
    bash ci/stack.sh backports python3 mock-qmp/raw-recorder.py [NAME...]
The guest is `-machine pc -accel tcg -S` with virtio-blk-pci vd0 on nodes base <- a <- b <- c
(or a -drive with QEMU's automatic node names); -S keeps the CPU idle, block jobs run all the same.
"""
import datetime
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MiB = 1024 * 1024
from raw_qmp import WAIT_S, Qmp  # noqa: E402 (beside this script)


def run(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def build_chain(d):
    """base.raw <- a.qcow2 <- b.qcow2 <- c.qcow2, 12 MiB, each layer with its own data."""
    f = {n: os.path.join(d, n) for n in ('base.raw', 'a.qcow2', 'b.qcow2', 'c.qcow2', 'other.raw')}
    run('qemu-img', 'create', '-q', '-f', 'raw', f['base.raw'], '12M')
    run('qemu-io', '-f', 'raw', '-c', 'write -P 0x41 0 4M', f['base.raw'])
    for img, below, fmt, write in (('a.qcow2', 'base.raw', 'raw', 'write -P 0x42 2M 4M'),
                                   ('b.qcow2', 'a.qcow2', 'qcow2', 'write -P 0x43 5M 4M'),
                                   ('c.qcow2', 'b.qcow2', 'qcow2', 'write -P 0x44 8M 2M')):
        run('qemu-img', 'create', '-q', '-f', 'qcow2', '-b', f[below], '-F', fmt, f[img])
        run('qemu-io', '-f', 'qcow2', '-c', write, f[img])
    run('qemu-img', 'create', '-q', '-f', 'raw', f['other.raw'], '12M')
    run('qemu-img', 'create', '-q', '-f', 'qcow2', os.path.join(d, 'copy.qcow2'), '12M')
    f['other.qcow2'] = os.path.join(d, 'other.qcow2')
    run('qemu-img', 'create', '-q', '-f', 'qcow2', '-b', f['other.raw'], '-F', 'raw', f['other.qcow2'])
    return f


def blockdev_args(f, base_debug=None):
    """Nodes base, a, b, c (files *-file); `base_debug` puts blkdebug between base and base-file."""
    args = []
    below = None
    for node, img, drv in (('base', 'base.raw', 'raw'), ('a', 'a.qcow2', 'qcow2'), ('b', 'b.qcow2', 'qcow2'), ('c', 'c.qcow2', 'qcow2')):
        args += ['-blockdev', json.dumps({'driver': 'file', 'filename': f[img], 'node-name': node + '-file'})]
        child = node + '-file'
        if node == 'base' and base_debug:
            args += ['-blockdev', json.dumps(dict({'driver': 'blkdebug', 'node-name': 'base-dbg', 'image': child}, **base_debug))]
            child = 'base-dbg'
        fmt = {'driver': drv, 'file': child, 'node-name': node}
        if below:
            fmt['backing'] = below
        args += ['-blockdev', json.dumps(fmt)]
        below = node
    return args + ['-device', 'virtio-blk-pci,id=vd0,drive=c']


def drive_args(f):
    return ['-drive', 'if=none,id=drive0,file=%s,format=qcow2' % f['c.qcow2'], '-device', 'virtio-blk-pci,id=vd0,drive=drive0']


def other_disk(f):
    return ['-blockdev', json.dumps({'driver': 'file', 'filename': f['other.raw'], 'node-name': 'other-base-file'}),
            '-blockdev', json.dumps({'driver': 'raw', 'file': 'other-base-file', 'node-name': 'other-base'}),
            '-blockdev', json.dumps({'driver': 'file', 'filename': f['other.qcow2'], 'node-name': 'other-file'}),
            '-blockdev', json.dumps({'driver': 'qcow2', 'file': 'other-file', 'node-name': 'other', 'backing': 'other-base'}),
            '-device', 'virtio-blk-pci,id=vd1,drive=other']


IO_ERROR = {'inject-error': [{'event': 'write_aio', 'errno': 5, 'once': True}]}
GUEST = '/machine/peripheral/vd0/virtio-backend'


def look(q, schema=False):
    """What a client reads before its first job: the graph, the commands, the VM's state."""
    q.ok('query-version')
    q.ok('query-commands')
    if schema:
        q.ok('query-qmp-schema')
    q.ok('query-status')
    q.ok('query-block')
    q.ok('query-named-block-nodes', {'flat': True})
    q.ok('query-block-exports')
    q.ok('query-block-jobs')
    q.ok('query-jobs')


def look_after(q):
    q.ok('query-block-jobs')
    q.ok('query-jobs')
    q.ok('query-block')
    q.ok('query-named-block-nodes', {'flat': True})


# The job verbs are job-complete/job-resume, as a client written today sends them: QEMU 10.1 deprecated
# block-job-complete/-pause/-resume/-finalize/-dismiss, and -compat deprecated-input=reject refuses them.
# (Transcripts recorded before carry block-job-*; the model answers either for the other.)
def active_pivot(q, device='c', job='job0'):
    since = len(q.events)
    q.ok('block-commit', {'job-id': job, 'device': device})
    q.wait_event('BLOCK_JOB_READY', since, device=job)
    q.ok('query-block-jobs')
    q.ok('query-jobs')
    q.ok('job-complete', {'id': job})
    q.wait_event('JOB_STATUS_CHANGE', since, id=job, status='null')
    look_after(q)


def keep_overlay(q):
    since = len(q.events)
    q.ok('block-commit', {'job-id': 'job0', 'device': 'c'})
    q.wait_event('BLOCK_JOB_READY', since, device='job0')
    q.ok('query-block-jobs')
    q.ok('block-job-cancel', {'device': 'job0'})
    q.wait_event('JOB_STATUS_CHANGE', since, id='job0', status='null')
    look_after(q)


def intermediate(q):
    since = len(q.events)
    q.ok('block-commit', {'job-id': 'job0', 'device': 'c', 'top-node': 'b', 'base-node': 'base'})
    q.wait_event('JOB_STATUS_CHANGE', since, id='job0', status='null')
    look_after(q)


def drive_active(q):
    active_pivot(q, device='drive0')


def guest_writes(q):
    """Guest writes (HMP qemu-io on the virtio device) in the synchronized phase grow the job's work."""
    since = len(q.events)
    q.ok('block-commit', {'job-id': 'job0', 'device': 'c'})
    q.wait_event('BLOCK_JOB_READY', since, device='job0')
    q.ok('query-block-jobs')
    for write in ('write -P 0x55 0 1M', 'write -P 0x56 10M 2M'):
        q.ok('human-monitor-command', {'command-line': 'qemu-io -d %s "%s"' % (GUEST, write)})
        q.ok('query-block-jobs')
    q.ok('job-complete', {'id': 'job0'})
    q.wait_event('JOB_STATUS_CHANGE', since, id='job0', status='null')
    look_after(q)


def on_error_report(q):
    since = len(q.events)
    q.ok('block-commit', {'job-id': 'job0', 'device': 'c', 'on-error': 'report'})
    q.wait_event('JOB_STATUS_CHANGE', since, id='job0', status='null')
    look_after(q)


def snapshot_then_commit(q, d):
    """The seed's procedure on a -drive: a live snapshot, a guest write into it, then commit it all down."""
    q.ok('blockdev-snapshot-sync', {'device': 'drive0', 'snapshot-file': os.path.join(d, 'snap.qcow2'), 'format': 'qcow2'})
    q.ok('human-monitor-command', {'command-line': 'qemu-io -d %s "write -P 0x57 3M 1M"' % GUEST})
    q.ok('query-block')
    q.ok('query-named-block-nodes', {'flat': True})
    active_pivot(q, device='drive0')


def on_error_stop(q):
    since = len(q.events)
    q.ok('block-commit', {'job-id': 'job0', 'device': 'c', 'top-node': 'b', 'base-node': 'base', 'on-error': 'stop'})
    q.wait_event('JOB_STATUS_CHANGE', since, id='job0', status='paused')
    q.ok('query-block-jobs')
    q.ok('query-jobs')
    q.ok('job-resume', {'id': 'job0'})
    q.wait_event('JOB_STATUS_CHANGE', since, id='job0', status='null')
    look_after(q)


def qemu_killed(q, qemu):
    since = len(q.events)
    q.ok('block-commit', {'job-id': 'job0', 'device': 'c', 'speed': MiB})
    q.wait_event('JOB_STATUS_CHANGE', since, id='job0', status='running')
    q.ok('query-block-jobs')
    q.ok('query-jobs')
    qemu.kill()
    q.wait_eof()


def stream(q):
    """block-stream: a and b pulled up into c (base stays below), no READY."""
    since = len(q.events)
    q.ok('block-stream', {'job-id': 'job0', 'device': 'c', 'base-node': 'base'})
    q.wait_event('JOB_STATUS_CHANGE', since, id='job0', status='null')
    look_after(q)


def mirror(q, d):
    """blockdev-mirror of vd0's chain onto a new node, READY, complete: the guest moves to the copy."""
    q.ok('blockdev-add', {'driver': 'qcow2', 'node-name': 'copy', 'file': {'driver': 'file', 'filename': os.path.join(d, 'copy.qcow2')}})
    since = len(q.events)
    q.ok('blockdev-mirror', {'job-id': 'job0', 'device': 'c', 'target': 'copy', 'sync': 'full'})
    q.wait_event('BLOCK_JOB_READY', since, device='job0')
    q.ok('query-block-jobs')
    q.ok('job-complete', {'id': 'job0'})
    q.wait_event('JOB_STATUS_CHANGE', since, id='job0', status='null')
    look_after(q)


def cancel_while_running(q):
    since = len(q.events)
    q.ok('block-commit', {'job-id': 'job0', 'device': 'c', 'speed': MiB})
    q.wait_event('JOB_STATUS_CHANGE', since, id='job0', status='running')
    q.ok('query-block-jobs')
    q.ok('query-jobs')
    q.ok('block-job-cancel', {'device': 'job0'})
    q.wait_event('JOB_STATUS_CHANGE', since, id='job0', status='null')
    look_after(q)


def invalid_sequences(q):
    """What QEMU refuses, sent raw: early complete, unknown jobs and devices, a busy disk, an id in use."""
    q.refused('block-job-complete', {'device': 'nosuch'})
    q.refused('job-complete', {'id': 'nosuch'})
    q.refused('block-commit', {'job-id': 'job0', 'device': 'nosuch'})
    since = len(q.events)
    q.ok('block-commit', {'job-id': 'job0', 'device': 'c', 'speed': MiB})  # throttled: stays running
    q.wait_event('JOB_STATUS_CHANGE', since, id='job0', status='running')
    q.refused('block-job-complete', {'device': 'job0'})
    q.refused('job-complete', {'id': 'job0'})
    q.refused('job-finalize', {'id': 'job0'})
    q.refused('job-dismiss', {'id': 'job0'})
    q.refused('block-job-resume', {'device': 'job0'})
    q.refused('block-job-cancel', {'device': 'nosuch'})
    q.refused('block-commit', {'job-id': 'job1', 'device': 'c'})
    q.refused('block-commit', {'job-id': 'job0', 'device': 'other'})
    q.ok('query-block-jobs')
    q.ok('query-jobs')
    q.ok('block-job-set-speed', {'device': 'job0', 'speed': 0})
    q.wait_event('BLOCK_JOB_READY', since, device='job0')
    q.refused('job-finalize', {'id': 'job0'})
    q.ok('job-complete', {'id': 'job0'})
    q.wait_event('JOB_STATUS_CHANGE', since, id='job0', status='null')
    q.refused('block-job-complete', {'device': 'job0'})
    q.refused('job-dismiss', {'id': 'job0'})
    look_after(q)


def manual_finalize(q):
    since = len(q.events)
    q.ok('block-commit', {'job-id': 'job0', 'device': 'c', 'auto-finalize': False, 'auto-dismiss': False})
    q.wait_event('BLOCK_JOB_READY', since, device='job0')
    q.ok('job-complete', {'id': 'job0'})
    q.wait_event('BLOCK_JOB_PENDING', since, id='job0')
    q.ok('query-jobs')
    q.refused('job-dismiss', {'id': 'job0'})
    q.ok('job-finalize', {'id': 'job0'})
    q.wait_event('JOB_STATUS_CHANGE', since, id='job0', status='concluded')
    q.ok('query-jobs')
    q.ok('query-block-jobs')
    q.ok('job-dismiss', {'id': 'job0'})
    q.wait_event('JOB_STATUS_CHANGE', since, id='job0', status='null')
    look_after(q)


SCENARIOS = {
    'active-commit-pivot': ('active commit of node c (vd0) into base, READY, job-complete, job gone, graph re-read', blockdev_args, active_pivot),
    'keep-overlay': ('active commit of c into base, READY, block-job-cancel (guest stays on c), graph re-read', blockdev_args, keep_overlay),
    'intermediate-commit': ('commit b into base under the active c (top-node b, base-node base), graph re-read', blockdev_args, intermediate),
    'drive-active-commit': ('-drive drive0 (automatic node names) on vd0: active commit, READY, complete, graph re-read', drive_args, drive_active),
    'guest-writes': ('active commit, READY, guest writes through HMP qemu-io on vd0 between query-block-jobs, complete', blockdev_args, guest_writes),
    'on-error-report': ('active commit with on-error report, blkdebug under base (write_aio errno 5, once): the job fails', lambda f: blockdev_args(f, IO_ERROR), on_error_report),
    'snapshot-then-commit': ('-drive drive0 on vd0: blockdev-snapshot-sync, HMP qemu-io write, graph re-read, active commit + pivot into base', drive_args, None),
    'on-error-stop': ('intermediate commit b into base with on-error stop, blkdebug under base (write_aio errno 5, once): BLOCK_JOB_ERROR, paused, resume, completed', lambda f: blockdev_args(f, IO_ERROR), on_error_stop),
    'qemu-killed': ('throttled active commit (1 MiB/s), running, queries, then QEMU is SIGKILLed: the trace ends in EOF', blockdev_args, None),
    'stream': ('block-stream of c down to base (a and b pulled into c), graph re-read', blockdev_args, stream),
    'mirror': ('blockdev-add copy (qcow2, 12 MiB), blockdev-mirror c onto it (sync full), READY, complete: vd0 on copy', blockdev_args, None),
    'cancel-while-running': ('throttled active commit (1 MiB/s), running, queries, block-job-cancel before READY: aborting, CANCELLED, no pivot (vd1 on a second chain)', lambda f: blockdev_args(f) + other_disk(f), cancel_while_running),
    'invalid-sequences': ('QEMU refusals sent raw: unknown job/device, complete and finalize before READY, busy disk, job id in use, verbs after the job ended', lambda f: blockdev_args(f) + other_disk(f), invalid_sequences),
    'manual-finalize': ('active commit with auto-finalize and auto-dismiss off: READY, complete, PENDING, dismiss refused, finalize, CONCLUDED, dismiss', blockdev_args, manual_finalize),
}


def version_line():
    return subprocess.run(['qemu-system-x86_64', '--version'], check=True, capture_output=True, text=True).stdout.splitlines()[0]


def write_trace(path, lines):
    """Replaces the fixture through a new file (O_EXCL|O_NOFOLLOW, 0600), never writing through a link."""
    tmp = '%s.%d.tmp' % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, 'w') as out:
        for line in lines:
            out.write(json.dumps(line, separators=(',', ':')) + '\n')
    os.replace(tmp, path)


def compat_args():
    # QEMU's deprecation policy, as QemuProcess takes it (QMPBJ_QEMU_COMPAT); on the header's command line too.
    compat = os.environ.get('QMPBJ_QEMU_COMPAT', '').strip()
    return ['-compat', compat] if compat else []


def record(name, out_dir):
    note, qemu_args, scenario = SCENARIOS[name]
    with tempfile.TemporaryDirectory(prefix='rawrec-') as d:
        f = build_chain(d)
        sock = os.path.join(d, 'qmp.sock')
        args = ['qemu-system-x86_64', '-nodefaults', '-display', 'none', '-machine', 'pc', '-accel', 'tcg', '-m', '64', '-S',
                '-qmp', 'unix:%s,server=on,wait=off' % sock] + compat_args() + qemu_args(f)
        qemu = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        try:
            q = Qmp(sock)
            q.ok('qmp_capabilities')
            look(q, schema=name == 'invalid-sequences')
            if name == 'qemu-killed':
                qemu_killed(q, qemu)
            elif name == 'mirror':
                mirror(q, d)
            elif name == 'snapshot-then-commit':
                snapshot_then_commit(q, d)
            else:
                scenario(q)
            q.close()
        finally:
            qemu.kill()
            qemu.wait(timeout=WAIT_S)
        shown = ' '.join(shlex.quote(a.replace(d, '/tmp/DIR').replace(sock, 'SOCK')) for a in args)
        stack = 'bash ci/stack.sh %s ' % os.environ['QMPBJ_STACK_NS'] if os.environ.get('QMPBJ_STACK_NS') else ''
        header = {'qmp-trace': 1, 'qemu': q.qemu, 'recorded': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z'),
                  'note': note,
                  'command': '%spython3 mock-qmp/raw-recorder.py %s  # plain-socket client, not QmpClient; %s: %s' % (stack, name, version_line(), shown)}
        path = os.path.join(out_dir, name + '.jsonl')
        write_trace(path, [header] + q.lines)
        return path


def main(names):
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        sys.exit('raw-recorder: unknown scenario(s) %s; known: %s' % (', '.join(unknown), ', '.join(SCENARIOS)))
    m = re.search(r'version (\d+)\.(\d+)', version_line())
    out_dir = os.path.join(REPO, 'test', 'fixtures', 'qemu-%s.%s' % (m.group(1), m.group(2)), 'raw')
    os.makedirs(out_dir, exist_ok=True)
    for name in names or list(SCENARIOS):
        started = time.monotonic()
        path = record(name, out_dir)
        print('recorded %s in %d ms' % (os.path.relpath(path, REPO), (time.monotonic() - started) * 1000))


if __name__ == '__main__':
    main(sys.argv[1:])

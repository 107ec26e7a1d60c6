/*
 * The job kinds, one row each: everything that differs between a commit, a pull and a copy and is
 * not the job's own code (src/jobs/<kind>.ts). Messages, attach-by-id, `job`'s dispatch and the
 * CLI's words read these rows; none of them compares a kind's words. A new kind is a row here and
 * its job file (docs/design.md, "Adding a job kind").
 */
import type { JobType } from '../qapi/types.js';

export interface JobKind {
  /** The row's key. */
  readonly name: JobKindName;
  /** QEMU's job `type` (query-jobs, query-block-jobs) of this kind's jobs. */
  readonly qemuType: JobType;
  /** The user's noun, in messages: "commit job 'x' on vda failed", "job 'x' is a mirror job, not a copy". */
  readonly noun: JobNoun;
  /** The noun after "cannot start": "cannot start commit on vda", "cannot start a pull on vda". */
  readonly startNoun: string;
  /** The capitalised noun of the CLI's closing words: "Commit aborted", "Pull failed: …". */
  readonly title: string;
  /** virsh's name for the job (`blockjob --info`, "… started"): "Active Block Commit", "Block Pull". */
  readonly jobLabel: string;
  /** The progress label while the starting command waits (virsh's `--verbose`): "Block commit: [ 42.00 %]". */
  readonly progressLabel: string;
  /** The job has a synchronized phase (READY) and ends only when asked: pivot, or stop and keep. */
  readonly hasReady: boolean;
}

export type JobKindName = 'commit' | 'active-commit' | 'pull' | 'copy' | 'backup';
export type JobNoun = 'commit' | 'pull' | 'copy' | 'backup';

export const JOB_KINDS: { readonly [K in JobKindName]: JobKind & { readonly name: K } } = {
  commit: {
    name: 'commit',
    qemuType: 'commit',
    noun: 'commit',
    startNoun: 'commit',
    title: 'Commit',
    jobLabel: 'Block Commit',
    progressLabel: 'Block commit',
    hasReady: false,
  },
  'active-commit': {
    name: 'active-commit',
    qemuType: 'commit',
    noun: 'commit',
    startNoun: 'commit',
    title: 'Commit',
    jobLabel: 'Active Block Commit',
    progressLabel: 'Block commit',
    hasReady: true,
  },
  pull: {
    name: 'pull',
    qemuType: 'stream',
    noun: 'pull',
    startNoun: 'a pull',
    title: 'Pull',
    jobLabel: 'Block Pull',
    progressLabel: 'Block Pull',
    hasReady: false,
  },
  copy: {
    name: 'copy',
    qemuType: 'mirror',
    noun: 'copy',
    startNoun: 'a copy',
    title: 'Copy',
    jobLabel: 'Block Copy',
    progressLabel: 'Block Copy',
    hasReady: true,
  },
  backup: {
    name: 'backup',
    qemuType: 'backup',
    noun: 'backup',
    startNoun: 'a backup',
    title: 'Backup',
    jobLabel: 'Backup',
    progressLabel: 'Block Backup',
    hasReady: false,
  },
};

/** The kinds whose jobs QEMU reports as `qemuType` (a commit job is an active commit or not): none for a type we do not drive. */
export function kindsOfType(qemuType: string): JobKind[] {
  return Object.values(JOB_KINDS).filter((k) => k.qemuType === qemuType);
}

/**
 * The one kind of a job of `qemuType`, where QEMU's type says it; `readyPhase` picks between kinds
 * that share a type (an active commit has a READY phase, an intermediate one none).
 */
export function kindOfJob(qemuType: string, readyPhase?: boolean): JobKind | undefined {
  const kinds = kindsOfType(qemuType);
  return kinds.length > 1 && readyPhase !== undefined ? kinds.find((k) => k.hasReady === readyPhase) : kinds[0];
}

/** QEMU's job type in the words of the command that starts it: "stream (pull)", "mirror (copy)", "commit". */
export function jobTypeWords(qemuType: string): string {
  const noun = kindOfJob(qemuType)?.noun;
  return noun === undefined || noun === qemuType ? qemuType : `${qemuType} (${noun})`;
}

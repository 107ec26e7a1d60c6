// The options of `commit`, read by the single-disk command (commit.ts) and the group commit (commit-group.ts).
import { booleanOptions, stringOptions, type OptionSpecs } from '../args.js';
import { JOB_RUN_OPTIONS } from '../job-options.js';

export const COMMIT_OPTIONS = {
  ...stringOptions('base', 'top', 'converge', 'format', 'on-error'),
  ...booleanOptions('shallow', 'active', 'pivot', 'keep-overlay', 'dry-run', 'all'),
  ...JOB_RUN_OPTIONS,
} as const satisfies OptionSpecs;
export type CommitOptions = typeof COMMIT_OPTIONS;

/*
 * `commit … --dry-run --format svg|html`: Eric Blake's strips drawn. One row per image, one cell per
 * span of the disk, coloured by the image whose data is there (its letter in the cell); beside it
 * what the image reads as through the ones below. Before the job, then after: the cells the commit
 * copies outlined in the image it writes, images that become invalid marked, and why.
 */
import path from 'node:path';
import type { JobPlan } from '../../jobs/plan.js';
import { humanBytes, planGrid, renderPlan } from '../plan-view.js';

const PALETTE = ['#93c5fd', '#86efac', '#fde68a', '#fca5a5', '#c4b5fd', '#f9a8d4', '#67e8f9', '#fdba74', '#a5b4fc', '#bef264'];
const CELL = 16;
const ROW = 22;
const LABEL = 230;
/** Columns drawn across (the grid's cell is a power of two of bytes: fewer when the disk is small). */
const COLUMNS = 32;

const esc = (text: string): string => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function colour(letter: string): string {
  const i = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'.indexOf(letter);
  return i < 0 ? '#ffffff' : PALETTE[i % PALETTE.length]!;
}

export function renderPlanSvg(plan: JobPlan): string {
  const grid = planGrid(plan, COLUMNS);
  const stripWidth = grid.cells * CELL;
  const viewX = LABEL + stripWidth + 30;
  const width = viewX + stripWidth + 170;
  const out: string[] = [];
  let y = 24;
  const text = (x: number, yy: number, content: string, extra = ''): void => {
    out.push(`<text x="${x}" y="${yy}" ${extra}>${esc(content)}</text>`);
  };
  const strip = (x: number, yy: number, cells: readonly string[], outline?: readonly string[]): void => {
    cells.forEach((cell, c) => {
      const cx = x + c * CELL;
      const copied = outline?.[c] === '*';
      out.push(
        `<rect x="${cx}" y="${yy}" width="${CELL}" height="${CELL}" fill="${colour(cell)}" stroke="${copied ? '#111' : '#d1d5db'}" stroke-width="${copied ? 2 : 0.5}"${copied ? ' class="copied"' : ''}/>`,
      );
      if (cell !== '-') text(cx + CELL / 2, yy + CELL - 4, cell, 'text-anchor="middle" font-size="10"');
    });
  };
  const what = plan.job === 'pull' ? 'pull into the active image' : plan.job === 'active-commit' ? 'active commit' : 'commit';
  text(8, y, `Plan for ${plan.disk}: ${what} (dry run: nothing started)`, 'font-size="15" font-weight="bold"');
  y += 20;
  text(
    8,
    y,
    `${humanBytes(plan.virtualSize)} disk, one cell = ${humanBytes(grid.cellBytes)}; a letter: that image holds data there; blank: a hole, read from below`,
    'font-size="11" fill="#374151"',
  );
  const panel = (title: string, rows: string[][], views: string[][], guest: string[], after: boolean): void => {
    y += 28;
    text(8, y, title, 'font-size="13" font-weight="bold"');
    text(LABEL, y, 'contents', 'font-size="11" fill="#374151"');
    text(viewX, y, 'reads as', 'font-size="11" fill="#374151"');
    y += 8;
    grid.labels.forEach((label, i) => {
      const state = after ? grid.states[i] : '';
      out.push(`<g class="layer${state === 'invalid' ? ' invalid' : ''}" data-file="${esc(plan.layers[i]!.file)}">`);
      text(8, y + 12, label, `font-size="12"${state === 'invalid' ? ' fill="#b91c1c"' : ''}`);
      strip(LABEL, y, rows[i]!, after && i === grid.target ? grid.copiedCells : undefined);
      strip(viewX, y, views[i]!);
      if (state) text(viewX + stripWidth + 10, y + 12, state, `font-size="11" ${state === 'invalid' ? 'fill="#b91c1c" font-weight="bold"' : 'fill="#374151"'}`);
      out.push('</g>');
      y += ROW;
    });
    text(8, y + 12, 'guest sees', 'font-size="12" font-weight="bold"');
    strip(viewX, y, guest);
    y += ROW;
  };
  panel('before', grid.before, grid.viewBefore, grid.guestBefore, false);
  panel('after the job', grid.after, grid.viewAfter, grid.guestAfter, true);
  y += 14;
  text(
    8,
    y,
    `Copies ${humanBytes(plan.copyBytes)} (${plan.copyBytes.toLocaleString('en-US')} bytes) into ${path.basename(plan.after.target)} (outlined)`,
    'font-size="12"',
  );
  for (const file of plan.invalidated) {
    y += 16;
    text(8, y, `${path.basename(file)} no longer valid on its own${plan.reasons[file] ? `: ${plan.reasons[file]}` : ''}`, 'font-size="11" fill="#b91c1c"');
  }
  if (!plan.invalidated.length) {
    y += 16;
    text(8, y, 'No image becomes invalid.', 'font-size="11"');
  }
  const height = y + 16;
  return `<svg xmlns="http://www.w3.org/2000/svg" class="plan" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${out.join('\n')}\n</svg>\n`;
}

/** The picture and the plan's text on one self-contained page. */
export function renderPlanHtml(plan: JobPlan): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(`Plan for ${plan.disk}`)}</title>
<style>body{font:13px/1.4 system-ui,sans-serif;margin:16px}pre{background:#f9fafb;padding:8px;overflow:auto}</style></head>
<body>
${renderPlanSvg(plan)}
<pre>${esc(renderPlan(plan, 140).join('\n'))}</pre>
</body></html>
`;
}

/** The script this CLI runs from (set by main.ts): what a share keeper is spawned from (src/share/keeper.ts). */
export let cliEntry: string | undefined;

export function setCliEntry(path: string): void {
  cliEntry = path;
}

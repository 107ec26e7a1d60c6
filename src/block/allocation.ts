/*
 * What each image of a live chain holds on its own, read with `qemu-img map -U` while QEMU has the
 * images open (why that is safe: docs/design.md, "Knowing before acting"). Each layer is opened
 * alone, its backing cut off, so depth 0 is that image and nothing below it.
 */
import path from 'node:path';
import { imageMap, type ImageMapEntry } from '../transport/qemu-img.js';
import { normalise, type Extent } from './extents.js';
import type { ChainLayer, DiskChain } from './types.js';

export interface LayerAllocation {
  layer: ChainLayer;
  /** The guest-visible bytes this image holds itself (data, and in an overlay zeroed clusters). */
  extents: Extent[];
  /** False when the map could not be read: `extents` is then the whole disk (an upper bound). */
  known: boolean;
  /** Why the map is unknown. */
  note?: string;
}

/** Formats whose backing link `"backing": null` cuts (raw has none to cut). */
const HAS_BACKING = new Set(['qcow2', 'qed', 'vmdk', 'vhdx', 'vpc']);

/** The `json:` spec that opens `layer` alone; a non-file protocol keeps QEMU's own json: filename. */
export function layerImageSpec(layer: ChainLayer): string {
  const file: Record<string, unknown> = layer.file.startsWith('json:')
    ? ((JSON.parse(layer.file.slice('json:'.length)) as { file?: Record<string, unknown> }).file ?? {})
    : { driver: /^\/dev\//.test(layer.file) ? 'host_device' : 'file', filename: path.resolve(layer.file) };
  const spec: Record<string, unknown> = { driver: layer.format, file };
  if (HAS_BACKING.has(layer.format)) spec.backing = null;
  return `json:${JSON.stringify(spec)}`;
}

/**
 * The extents an image holds from its map. The bottom image holds only data (its holes read as
 * zeros from nowhere); an overlay also holds its zeroed clusters, which hide what is below.
 */
export function heldExtents(entries: readonly ImageMapEntry[], bottom: boolean): Extent[] {
  return normalise(entries.filter((e) => e.depth === 0 && e.present !== false && (e.data || (!bottom && e.zero))).map((e): Extent => [e.start, e.length]));
}

/** Reads every layer's map of `disk`, in parallel. A layer that cannot be mapped counts as full. */
export async function readChainAllocation(disk: DiskChain, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<LayerAllocation[]> {
  return Promise.all(
    disk.layers.map(async (layer, i): Promise<LayerAllocation> => {
      try {
        const entries = await imageMap(layerImageSpec(layer), options);
        return { layer, extents: heldExtents(entries, i === 0), known: true };
      } catch (error) {
        if (options.signal?.aborted) throw error;
        return {
          layer,
          extents: [[0, layer.virtualSize]],
          known: false,
          note: `its map could not be read (${(error as Error).message.split('\n')[0]}): counted as fully allocated`,
        };
      }
    }),
  );
}

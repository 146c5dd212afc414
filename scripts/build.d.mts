// Types of scripts/build.mjs, for the TypeScript that imports it (the footprint bench measures the build check).
export interface CurrentBuild {
  /** The directory under dist/ holding the current build. */
  build: string;
  /** Every file the build was made from (project-relative) → its size and mtime when it was made. */
  inputs: Record<string, string>;
}
export function isFresh(current?: CurrentBuild): boolean;
export function build(): Promise<CurrentBuild>;
export function builtEntry(name: 'mqtt-sn-gateway' | 'mqtt-sn'): Promise<string>;
export const MAY_IMPORT: RegExp;

/** Types of archive.mjs for the TypeScript scripts that reuse it (scripts/release/tarballs.ts). */
export declare function sha256Of(file: string): Promise<string>;
export declare function writeSha256File(file: string): Promise<string>;
export declare function gzippedSize(file: string): Promise<number>;
export declare function writeTarGz(options: { stageDir: string; topDir: string; out: string; mtime: number }): Promise<void>;

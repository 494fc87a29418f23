// client.mjs — a real DICOMweb client (dicomweb-client, the library OHIF
// uses; xhr2 gives Node the XMLHttpRequest it needs) searching and
// retrieving from dqr. Usage: node client.mjs URL TOKEN
// Prints one JSON object: what each call gave, for dicomweb_rs.py to check.
import XMLHttpRequest from 'xhr2';
import dwc from 'dicomweb-client';

globalThis.XMLHttpRequest = XMLHttpRequest;
const [url, token] = process.argv.slice(2);
const client = new dwc.api.DICOMwebClient({ url, headers: { Authorization: `Bearer ${token}` } });
const uid = (obj, tag) => (obj[tag] && obj[tag].Value ? obj[tag].Value[0] : null);
const out = {};
try {
  const studies = await client.searchForStudies({ queryParams: { PatientName: 'S0*' } });
  out.studies = studies.map((s) => uid(s, '0020000D'));
  const study = out.studies[0];
  const series = await client.searchForSeries({ studyInstanceUID: study });
  out.series = series.map((s) => uid(s, '0020000E'));
  const instances = await client.searchForInstances({ studyInstanceUID: study, seriesInstanceUID: out.series[0] });
  out.instances = instances.map((i) => uid(i, '00080018'));
  const parts = await client.retrieveStudy({ studyInstanceUID: study });
  out.retrieved = parts.map((p) => Buffer.from(p).subarray(128, 132).toString('latin1'));
  const meta = await client.retrieveSeriesMetadata({ studyInstanceUID: study, seriesInstanceUID: out.series[0] });
  out.metadata = meta.length;
  const frames = await client.retrieveInstanceFrames({
    studyInstanceUID: study, seriesInstanceUID: out.series[0], sopInstanceUID: out.instances[0], frameNumbers: [1],
  });
  out.frameBytes = frames.map((f) => f.byteLength);
} catch (e) {
  out.error = String(e && (e.message || e.status || e));
}
console.log(JSON.stringify(out));

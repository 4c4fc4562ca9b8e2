"""The SSI stand-in page: inventory with the Restricted flag, set/clear, SAT and diagnostics logs.

Plain HTML and a little JavaScript against the HTTP API. The fragment carries the SSI token
printed at start (``#token=T``), kept for the session and sent with every changing call; a
further ``&set=EUI`` or ``&clear=EUI`` performs that action on load (how the headless-browser
test drives it). The DUIS delivery log shows what was POSTed to each user's endpoint.
"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>smets2-emu SSI</title>
<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}td,th{border:1px solid #999;
padding:2px 6px}.r{background:#fdd}</style></head>
<body><h1>Self Service Interface (emulated)</h1>
<p>User <input id="user" value="90B3D51F30010000" size="18"> <span id="status"></span></p>
<h2>Inventory</h2><table id="inventory"><thead><tr><th>EUI</th><th>Type</th><th>Premises</th><th>Status</th>
<th>Restricted</th><th>Firmware</th><th>Action</th></tr></thead><tbody></tbody></table>
<p><a href="/api/extract.csv">Device extract (CSV)</a> &middot; <a href="/api/reports/monthly">Monthly report</a>
&middot; <a href="/api/reports/firmware">Firmware monitoring</a></p>
<h2>SAT log</h2><ul id="sat"></ul><h2>Diagnostics log</h2><ul id="diagnostics"></ul>
<h2>DUIS deliveries</h2><table id="deliveries"><thead><tr><th>#</th><th>User</th><th>Kind</th><th>Reference</th>
<th>Attempts</th><th>Delivered</th><th>Last result</th></tr></thead><tbody></tbody></table>
<script>
const frag = new URLSearchParams(location.hash.slice(1));
if (frag.get('token')) sessionStorage.setItem('ssi-token', frag.get('token'));
function token() { return sessionStorage.getItem('ssi-token') || ''; }
async function restricted(eui, on) {
  const r = await fetch('/api/restricted', {method: 'POST',
    headers: {'Content-Type': 'application/json', 'Authorization': 'Bearer ' + token()},
    body: JSON.stringify({user: document.getElementById('user').value, device: eui, restricted: on})});
  const j = await r.json();
  document.getElementById('status').textContent = j.ResponseCode + ' ' + j.ResponseMessage;
  await render();
}
async function render() {
  const inv = await (await fetch('/api/inventory')).json();
  const body = document.querySelector('#inventory tbody');
  body.innerHTML = '';
  for (const d of inv) {
    const tr = document.createElement('tr');
    tr.id = 'dev-' + d.eui;
    if (d.restricted) tr.className = 'r';
    const label = (d.restricted ? 'Clear' : 'Set') + ' Restricted';
    const act = (d.device_type === 'ESME' || d.device_type === 'GSME')
      ? `<button onclick="restricted('${d.eui}', ${!d.restricted})">${label}</button>` : '';
    tr.innerHTML = `<td>${d.eui}</td><td>${d.device_type}</td><td>${d.premises}</td><td>${d.status}</td>` +
      `<td class="flag">${d.restricted ? 'Restricted' : 'no'}</td><td>${d.firmware_version}</td><td>${act}</td>`;
    body.appendChild(tr);
  }
  for (const name of ['sat', 'diagnostics']) {
    const rows = await (await fetch('/api/logs/' + name)).json();
    document.getElementById(name).innerHTML = rows.map(r => `<li>${r.device} ${r.alert_code}</li>`).join('');
  }
  const dl = await (await fetch('/api/deliveries')).json();
  document.querySelector('#deliveries tbody').innerHTML = dl.map(d => `<tr><td>${d.seq}</td><td>${d.user}</td>` +
    `<td>${d.kind}</td><td>${d.ref}</td><td>${d.attempts}</td><td>${d.delivered ? 'yes' : 'no'}</td>` +
    `<td>${d.last_result}</td></tr>`).join('');
  document.body.dataset.ready = 'yes';
}
window.addEventListener('load', async () => {
  const eui = frag.get('set') || frag.get('clear');
  if (eui && /^[0-9A-F]{16}$/.test(eui)) { await restricted(eui, frag.has('set')); } else { await render(); }
});
</script></body></html>
"""

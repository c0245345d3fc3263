// The stream side's endpoint choice (njs 0.7.9, Debian's libnginx-mod-stream-js), run by `js_set
// $wharf_stream_peer` for each new TCP connection or UDP session. The agent writes one file per
// upstream, stream-endpoints/NAME (an endpoint a line, replaced by rename, never half written), read
// at each new connection, so an endpoint change reaches the next connection without a reload (njs
// 0.7.9 has no shared dict, so files it is). njs runs each session in a VM of its own: nothing
// outlives a connection, so there is no cache to invalidate and no turn to keep; the endpoint is
// picked at random ($connection is no turn either: upstream connections take every other number).
//
// When the file holds exactly the set the running configuration's upstream group was made from
// ($wharf_stream_loaded, stream-upstreams.conf), the answer is that group: NGINX balances and a
// refused connection is tried on another endpoint (proxy_next_upstream). Between an endpoint change
// and the next reload (which the change does not cause), one endpoint is picked at random: the new set
// at once, without the retry. Open connections are never touched: they keep their endpoint.
import fs from 'fs';

/** The endpoints of the connection's upstream as its file says now; null when none. */
function endpoints(s) {
  const name = s.variables.wharf_stream_upstream;
  if (!name) return null;
  const path = s.variables.wharf_stream_endpoints_dir + '/' + name;
  let text;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    return null;
  }
  const list = text.split('\n').filter((l) => l.length > 0);
  return list.length > 0 ? { list: list, joined: list.join(' '), name: name } : null;
}

/**
 * js_access: a connection to an upstream without endpoints is closed at once (no attempt, no error).
 * Servers that route no upstream of the agent's (no $wharf_stream_upstream) are not its business.
 */
function access(s) {
  if (!s.variables.wharf_stream_upstream || endpoints(s)) s.allow();
  else s.deny();
}

/** js_set $wharf_stream_peer: the upstream group while it matches the file, else one endpoint at random. */
function peer(s) {
  const c = endpoints(s);
  if (!c) return s.variables.wharf_stream_no_endpoints;
  if (c.joined === s.variables.wharf_stream_loaded) return 'wharf_stream_' + c.name;
  return c.list[Math.floor(Math.random() * c.list.length)];
}

export default { access, peer };

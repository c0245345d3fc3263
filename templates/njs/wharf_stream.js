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
//
// TLS passthrough (stream-passthrough.conf) routes by the name in the ClientHello, which ssl_preread
// reads after js_access has run: its hop server asks for $wharf_passthrough_peer, read at proxy_pass
// (after the preread), by the upstream the SNI map names ($wharf_passthrough_upstream), with its own
// $wharf_passthrough_loaded. access() reads neither: a variable read before the preread would keep
// its empty value for the whole connection.
import fs from 'fs';

/** The endpoints of upstream `name` as its file says now; null when none. */
function endpoints(s, name) {
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
  const name = s.variables.wharf_stream_upstream;
  if (!name || endpoints(s, name)) s.allow();
  else s.deny();
}

/** The upstream group while it matches the file (`loaded`), else one endpoint at random. */
function choose(s, name, loaded) {
  const c = endpoints(s, name);
  if (!c) return s.variables.wharf_stream_no_endpoints;
  if (c.joined === loaded) return 'wharf_stream_' + c.name;
  return c.list[Math.floor(Math.random() * c.list.length)];
}

/** js_set $wharf_stream_peer: a TCP or UDP service's peer. */
function peer(s) {
  return choose(s, s.variables.wharf_stream_upstream, s.variables.wharf_stream_loaded);
}

/** js_set $wharf_passthrough_peer: a passthrough host's peer, read at proxy_pass (after ssl_preread). */
function passthroughPeer(s) {
  return choose(s, s.variables.wharf_passthrough_upstream, s.variables.wharf_passthrough_loaded);
}

export default { access, peer, passthroughPeer };

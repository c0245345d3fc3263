// Where the stream side's njs code is: templates/njs/wharf_stream.js, read by NGINX's workers.
import { fileURLToPath } from 'node:url';

/** The absolute path of wharf_stream.js (js_import). */
export const njsFile = fileURLToPath(new URL('../../templates/njs/wharf_stream.js', import.meta.url));

import t from 'tap';
import { parseConfig } from '../../../src/core/config.js';

const read = (value: string) => parseConfig({ BLUEGREEN_CONNECT_TO: value }, '/srv');

t.test('BLUEGREEN_CONNECT_TO: rules, comma-separated, IPv6 in brackets, names lower-cased', async (t) => {
  t.same(read('MyApp.azurewebsites.net:443:127.0.0.1:8443, api.example:80:[::1]:8080').config?.connectTo, [
    { host: 'myapp.azurewebsites.net', port: 443, toHost: '127.0.0.1', toPort: 8443 },
    { host: 'api.example', port: 80, toHost: '::1', toPort: 8080 },
  ]);
  t.same(parseConfig({}, '/srv').config?.connectTo, [], 'none by default');
  t.same(read('a.example:443:127.0.0.1:1,a.example:443:127.0.0.1:2').config?.connectTo.length, 2);
});

t.test('a bad rule is named with what is expected', async (t) => {
  t.same(read('a:443:b').errors, [
    'BLUEGREEN_CONNECT_TO="a:443:b": expected HOST1:PORT1:HOST2:PORT2 (comma-separated), e.g. myapp.azurewebsites.net:443:127.0.0.1:8443 ("a:443:b")',
  ]);
  t.match(read('x.example:443:127.0.0.1:70000').errors[0], /\("x\.example:443:127\.0\.0\.1:70000": ports are 1 to 65535\)$/);
  t.match(read('bad_host:443:127.0.0.1:8443').errors[0], /"bad_host" is not a host name/);
});

import t from 'tap';
import { remoteFailure } from '../../src/core/remote-failure.js';

const fail = (stderr: string, code = 2) => remoteFailure('sending files', 'blue (deploy@h:22)', '/var/www/app', { code, stderr });

t.test('a full disk, however tar or the shell says it', async (t) => {
  for (const stderr of ['tar: site/a.html: Wrote only 512 of 10240 bytes\ntar: Exiting with failure status', 'mkdir: cannot create directory: No space left on device']) {
    t.match(fail(stderr), {
      name: 'UserError',
      message: /^sending files failed on blue \(deploy@h:22\): the disk is full \((tar: site\/a\.html: Wrote only 512 of 10240 bytes|mkdir: cannot create directory: No space left on device)\)$/,
      hint: 'free space on the host, e.g. remove old releases under /var/www/app/releases',
    });
  }
});

t.test('a read-only directory inside the releases', async (t) => {
  t.match(fail('tar: css/site.css: Cannot open: File exists\ntar: Exiting with failure status due to previous errors'), {
    message: 'sending files failed on blue (deploy@h:22): a directory in the release is not writable by the deploy user (tar: css/site.css: Cannot open: File exists)',
    hint: 'make the releases writable again on the host (chmod -R u+w /var/www/app/releases), or run `bluegreen provision`',
  });
});

t.test('permission denied: the app root is not writable; the line that says so is the one quoted', async (t) => {
  t.match(fail('sh: 1: cd: x\nmkdir: cannot create directory ‘/var/www/app/releases’: Permission denied'), {
    message: 'sending files failed on blue (deploy@h:22): the app root /var/www/app is not writable (mkdir: cannot create directory ‘/var/www/app/releases’: Permission denied)',
    hint: 'give the deploy user the app root: `bluegreen provision`',
  });
});

t.test('anything else: its first line, or the exit code when it said nothing', async (t) => {
  t.equal(fail('something odd\nmore').message, 'sending files failed on blue (deploy@h:22): something odd');
  t.equal(fail('', 127).message, 'sending files failed on blue (deploy@h:22): exit code 127');
});

import t from 'tap';
import { diskFullError, parseDiskUsage } from '../../src/core/disk-full.js';

const output = (entries: string) => `filesystem 1000 990 10\n${entries}`;

t.test('releases fill the disk: keep fewer', async (t) => {
  const usage = parseDiskUsage(output('entry 600 20260101000000-aaaaaaaaaaaa\nentry 300 20260102000000-bbbbbbbbbbbb\n'));
  t.same(usage, { totalBytes: 1024000, usedBytes: 1013760, availableBytes: 10240, entries: [{ name: '20260101000000-aaaaaaaaaaaa', bytes: 614400 }, { name: '20260102000000-bbbbbbbbbbbb', bytes: 307200 }] });
  const error = diskFullError('sending files', 'blue (h1)', '/srv/app', usage, 5);
  t.equal(
    error.message,
    'sending files failed on blue (h1): the disk is full (990.0 KiB of 1000.0 KiB used, 10.0 KiB free); 2 releases in /srv/app/releases take 900.0 KiB (the largest, 20260101000000-aaaaaaaaaaaa, 600.0 KiB), everything else on that filesystem 90.0 KiB; this deploy\'s partial copy was removed',
  );
  t.equal(error.hint, 'keep fewer releases (BLUEGREEN_KEEP_RELEASES is 5) or delete old ones under /srv/app/releases, or grow the disk');
});

t.test('something else fills the disk: not ours to delete', async (t) => {
  const error = diskFullError('sending files', 'green (h2)', '/srv/app', parseDiskUsage(output('entry 40 20260101000000-aaaaaaaaaaaa\nentry 5 .spare\n')), 5);
  t.match(error.message, /1 release in \/srv\/app\/releases takes 40\.0 KiB .* everything else on that filesystem 945\.0 KiB/);
  t.equal(error.hint, "free space outside bluegreen's releases (945.0 KiB of the filesystem is other data: logs, caches, other apps), or grow the disk");
});

t.test('a release bigger than the whole free space: grow the disk', async (t) => {
  const error = diskFullError('sending files', 'blue (h1)', '/srv/app', parseDiskUsage('filesystem 3072 8 3064\nentry 8 20260101000000-aaaaaaaaaaaa\n'), 5);
  t.equal(error.hint, 'this release does not fit in the 3.0 MiB free on that filesystem: grow the disk, or make the release smaller');
});

#!/usr/bin/perl
# The bare repositories' pre-receive hook (each repository's hooks/pre-receive execs this file).
#
# It hands the push to the deploy engine in the server process over the engine's unix socket, copies the
# engine's progress lines to stdout as they arrive (git shows them to the pusher as `remote: ...`), and exits
# 0 only when the engine accepted the push. It prints nothing else: everything it needs is in git's
# environment, its stdin, and BLUEGREEN_ENGINE_SOCKET.
#
# Perl, and no modules: every push waits for this process to start. perl (Essential on Debian and Ubuntu,
# and a dependency of git) starts in ~3 ms, where node takes ~80 ms and loading IO::Socket alone ~25 ms.
# Linux only, like the server: AF_UNIX and SOCK_STREAM are 1.
#
# Wire format (src/server/engine-socket.ts is the other end), one line each, values without newlines:
#   request:  "bluegreen-hook 2", "ppid PID", "repo DIR", "env NAME VALUE"*, "option VALUE"*,
#             "update OLDREV NEWREV REF"+, "end"
#   answer:   "say TEXT"* then "done accepted" or "done refused"
use strict;

sub say_line { print STDOUT "$_[0]\n" }

sub refuse {
    say_line("bluegreen: $_[0]; the push was not accepted");
    exit 1;
}

# The error's name (ENOENT), loaded only on this path: Errno costs milliseconds.
sub errno_name {
    my ($code) = @_;
    require Errno;
    local $! = $code;
    my ($name) = grep { $!{$_} } keys %!;
    return $name // $code;
}

my $cwd = readlink('/proc/self/cwd') // `pwd`;
chomp $cwd;

# An absolute, normalised path (like node's path.resolve): the engine runs git from elsewhere.
sub absolute {
    my @parts;
    for my $part (split m{/}, ($_[0] =~ m{^/} ? $_[0] : "$cwd/$_[0]")) {
        next if $part eq '' || $part eq '.';
        if ($part eq '..') { pop @parts } else { push @parts, $part }
    }
    return '/' . join '/', @parts;
}

# The pusher may hang up while a deploy runs; the engine carries on, so must we (quietly).
$SIG{PIPE} = 'IGNORE';
$| = 1;

my $input = '';
while (1) {
    my $read = sysread(STDIN, $input, 65536, length $input);
    refuse('the deploy hook failed (cannot read the ref updates: ' . errno_name($! + 0) . ')') unless defined $read;
    last if $read == 0;
}

my $repo = absolute($ENV{GIT_DIR} // '.');
my @request = ('bluegreen-hook 2', 'ppid ' . getppid(), "repo $repo");
for my $name (qw(GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_QUARANTINE_PATH)) {
    my $value = $ENV{$name};
    next unless defined $value && $value ne '';
    # Alternates are a colon-separated list: each entry made absolute.
    $value = join ':', map { $_ eq '' ? '' : absolute($_) } split /:/, $value, -1;
    push @request, "env $name $value";
}
for my $i (0 .. ($ENV{GIT_PUSH_OPTION_COUNT} // 0) - 1) {
    push @request, 'option ' . ($ENV{"GIT_PUSH_OPTION_$i"} // '');
}
push @request, map { "update $_" } grep { /\S/ } split /\n/, $input;
refuse('the deploy hook cannot pass a value with a newline in it') if grep { /[\n\0]/ } @request;
my $message = join '', map { "$_\n" } @request, 'end';

# $DATA/repos/blue.git -> $DATA/run/engine.sock, for when the variable did not reach us.
my $socket_path = $ENV{BLUEGREEN_ENGINE_SOCKET} || ($repo =~ s{/[^/]*/[^/]*$}{}r) . '/run/engine.sock';
my $engine;
(socket($engine, 1, 1, 0) && connect($engine, pack('S', 1) . $socket_path . "\0"))
    or refuse('the deploy server is not running (' . errno_name($! + 0) . " at $socket_path)");
while (length $message) {
    my $wrote = syswrite($engine, $message) // refuse('lost the connection to the deploy server');
    substr($message, 0, $wrote) = '';
}

my $outcome;
while (my $line = <$engine>) {
    chomp $line;
    if ($line =~ /\Asay (.*)\z/s) { say_line($1) }
    elsif ($line =~ /\Adone (accepted|refused)\z/) { $outcome = $1 }
}
refuse('lost the connection to the deploy server') unless defined $outcome;
exit($outcome eq 'accepted' ? 0 : 1);

#!/usr/bin/perl
# The bare repositories' hooks: each repository's hooks/pre-receive, hooks/reference-transaction and
# hooks/post-receive exec this file with the hook's name (and reference-transaction's state) as arguments.
#
# It hands the call to the deploy engine in the server process over the engine's unix socket, copies the
# engine's progress lines to stdout as they arrive (git shows pre- and post-receive's to the pusher as
# `remote: ...`), and exits 0 only when the engine accepted. It prints nothing else: everything it needs is in
# git's environment, its stdin, its arguments and BLUEGREEN_ENGINE_SOCKET.
#
# reference-transaction runs for every change of a ref; only a change of main concerns the engine (in the
# `prepared` state the hosts switch, and a refusal makes git drop the update). Its committed and aborted calls
# only tell, so they never fail.
#
# Perl, and no modules: every push waits for this process to start. perl (Essential on Debian and Ubuntu,
# and a dependency of git) starts in ~3 ms, where node takes ~80 ms and loading IO::Socket alone ~25 ms.
# Linux only, like the server: AF_UNIX and SOCK_STREAM are 1.
#
# Wire format (src/server/engine-socket.ts is the other end), one line each, values without newlines:
#   request:  "bluegreen-hook 3", "hook NAME [STATE]", "ppid PID", "repo DIR", "env NAME VALUE"*,
#             "option VALUE"*, "update OLDREV NEWREV REF"+, "end"
#   answer:   "say TEXT"* then "done accepted" or "done refused"
use strict;

my ($hook, $state) = @ARGV;
$hook //= 'pre-receive';
my $transaction = $hook eq 'reference-transaction';
# Only these calls can refuse; the others tell what happened.
my $can_refuse = $hook eq 'pre-receive' || ($transaction && ($state // '') eq 'prepared');

sub say_line { print STDOUT "$_[0]\n" }

sub refuse {
    exit 0 unless $can_refuse;
    say_line("bluegreen: $_[0]; the push was not accepted");
    exit 1;
}

# A hook script that names no hook of ours is a broken install: say so whatever the hook (git ignores the exit
# status of the hooks that cannot refuse, so failing is safe).
sub broken_install {
    say_line("bluegreen: the deploy hook was installed wrong ($_[0]); restart bluegreen serve to rewrite it");
    exit 1;
}
broken_install("unknown hook $hook") unless $hook =~ /\A(pre-receive|post-receive|reference-transaction)\z/;
broken_install('unknown reference-transaction state ' . ($state // 'none')) if $transaction && ($state // '') !~ /\A(prepared|committed|aborted)\z/;

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

# Writing to a pusher who hung up must not kill us before the engine's verdict arrives (the server ends the
# whole push soon after anyway).
$SIG{PIPE} = 'IGNORE';
$| = 1;

my $input = '';
while (1) {
    my $read = sysread(STDIN, $input, 65536, length $input);
    refuse('the deploy hook failed (cannot read the ref updates: ' . errno_name($! + 0) . ')') unless defined $read;
    last if $read == 0;
}

my @updates = grep { /\S/ } split /\n/, $input;
# A transaction that does not change main is none of the engine's business (and must stay fast).
if ($transaction) {
    @updates = grep { m{ refs/heads/main\z} } @updates;
    exit 0 unless @updates;
    # `bluegreen deploy` moves main itself after switching the hosts under the colour's lock (no push behind it): exactly the update it names passes.
    my $internal = $ENV{BLUEGREEN_INTERNAL_UPDATE} // '';
    exit 0 if $internal ne '' && !grep { $_ ne $internal } @updates;
}

my $repo = absolute($ENV{GIT_DIR} // '.');
my @request = ('bluegreen-hook 3', 'hook ' . ($transaction ? "$hook $state" : $hook), 'ppid ' . getppid(), "repo $repo");
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
push @request, map { "update $_" } @updates;
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
exit(($outcome eq 'accepted' || !$can_refuse) ? 0 : 1);

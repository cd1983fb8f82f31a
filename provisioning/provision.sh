#!/bin/sh
# bluegreen host preparation: run as root on an Ubuntu 20.04–24.04 or Debian 12 host.
#
#   sh provision.sh --deploy-user deploy --deploy-key 'ssh-ed25519 AAAA... bluegreen' \
#     [--web-server apache|nginx] [--app-root /var/www/app] [--web-listen [ADDR:]PORT] \
#     [--sudo-command '/usr/bin/systemctl reload apache2']... [--colour blue] \
#     [--apt-lock-timeout SECONDS] [--dry-run]
#
# `bluegreen provision` sends this script with its templates (templates/ next to it, or ../templates in a
# checkout) over SSH as a tar stream; `bluegreen provision --cloud-init` writes the same files with
# cloud-init. Every step checks before it changes, so running it again changes nothing.
#
# Output on stdout is for machines, one line each:
#   info NAME: TEXT
#   step NAME: already done|changed|would change[ (DETAIL)]
#   error CODE: MESSAGE                 (then exit 1; CODE is one of unsupported-os, not-root, bad-input,
#                                        apt-locked, apt-failed, bad-state, config-invalid, sudoers-invalid,
#                                        service-failed)
# Command output (apt, configtest) is kept out of stdout and quoted in error messages when it matters.
set -u
umask 022
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
export PATH LC_ALL

PROTOCOL=1
NULL_SHA=0000000000000000000000000000000000000000

WEB_SERVER=apache
DEPLOY_USER=
DEPLOY_KEY=
APP_ROOT=/var/www/app
WEB_LISTEN=80
COLOUR=host
DRY_RUN=no
APT_LOCK_TIMEOUT=120
SUDO_COMMANDS=
NL='
'

TMP_FILES=
UPDATE_WARNINGS=
cleanup() {
  for f in $TMP_FILES; do rm -f "$f"; done
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

info() { echo "info $1: $2"; }
step() {
  if [ -n "${3:-}" ]; then echo "step $1: $2 ($3)"; else echo "step $1: $2"; fi
}
fail() {
  code=$1
  shift
  # One line: the caller parses it.
  echo "error $code: $(printf '%s' "$*" | tr '\n' ' ')"
  exit 1
}
dry() { [ "$DRY_RUN" = yes ]; }
tmpfile() {
  t=$(mktemp "${1:-/tmp/bluegreen.XXXXXX}") || fail bad-state "cannot create a temporary file"
  TMP_FILES="$TMP_FILES $t"
  echo "$t"
}

# --- arguments ------------------------------------------------------------------------------------------

need_value() { [ $# -ge 2 ] || fail bad-input "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case $1 in
    --web-server) need_value "$@"; WEB_SERVER=$2; shift 2 ;;
    --deploy-user) need_value "$@"; DEPLOY_USER=$2; shift 2 ;;
    --deploy-key) need_value "$@"; DEPLOY_KEY=$2; shift 2 ;;
    --app-root) need_value "$@"; APP_ROOT=$2; shift 2 ;;
    --web-listen) need_value "$@"; WEB_LISTEN=$2; shift 2 ;;
    --colour) need_value "$@"; COLOUR=$2; shift 2 ;;
    --apt-lock-timeout) need_value "$@"; APT_LOCK_TIMEOUT=$2; shift 2 ;;
    --sudo-command)
      need_value "$@"
      if [ -z "$SUDO_COMMANDS" ]; then SUDO_COMMANDS=$2; else SUDO_COMMANDS="$SUDO_COMMANDS$NL$2"; fi
      shift 2
      ;;
    --dry-run) DRY_RUN=yes; shift ;;
    *) fail bad-input "unknown argument: $1" ;;
  esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
if [ -d "$HERE/templates" ]; then TEMPLATES=$HERE/templates; else TEMPLATES=$HERE/../templates; fi
[ -f "$TEMPLATES/index.html" ] || fail bad-input "templates not found next to the script ($HERE/templates)"

matches() { printf '%s\n' "$1" | grep -Eq "$2"; }

case $WEB_SERVER in
  apache) PKG=apache2 SERVICE=apache2 ;;
  nginx) PKG=nginx SERVICE=nginx ;;
  *) fail bad-input "--web-server must be apache or nginx, not '$WEB_SERVER'" ;;
esac
matches "$DEPLOY_USER" '^[a-z_][a-z0-9_-]{0,31}$' || fail bad-input "--deploy-user must be a login name, not '$DEPLOY_USER'"
[ "$DEPLOY_USER" != root ] || fail bad-input "the deploy user cannot be root"
[ "$(printf '%s' "$DEPLOY_KEY" | wc -l)" -eq 0 ] &&
  matches "$DEPLOY_KEY" '^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+=*( [ -~]*)?$' ||
  fail bad-input "--deploy-key must be one OpenSSH public key line (type base64 [comment])"
KEY_BLOB=$(printf '%s\n' "$DEPLOY_KEY" | cut -d' ' -f2)
APP_ROOT=$(printf '%s' "$APP_ROOT" | sed 's:/*$::')
matches "$APP_ROOT" '^(/[A-Za-z0-9_][A-Za-z0-9._-]*){2,}$' && ! matches "$APP_ROOT" '/\.\.?(/|$)' ||
  fail bad-input "--app-root must be an absolute path of at least two parts made of letters, digits, . _ - (got '$APP_ROOT')"
case $APP_ROOT/ in
  /etc/* | /usr/* | /bin/* | /sbin/* | /lib/* | /lib32/* | /lib64/* | /libx32/* | /boot/* | /dev/* | /proc/* | /sys/* | \
    /run/* | /root/* | /tmp/* | /var/tmp/* | /var/lib/* | /var/log/* | /var/cache/* | /var/spool/* | /var/mail/* | /home/*)
    fail bad-input "--app-root $APP_ROOT is inside a system directory; use e.g. /var/www/app or /srv/app" ;;
esac
if matches "$WEB_LISTEN" '^[0-9]+$'; then
  LISTEN_ADDR= PORT=$WEB_LISTEN
elif matches "$WEB_LISTEN" '^[0-9]{1,3}(\.[0-9]{1,3}){3}:[0-9]+$'; then
  LISTEN_ADDR=${WEB_LISTEN%:*} PORT=${WEB_LISTEN##*:}
else
  fail bad-input "--web-listen must be PORT or IPV4:PORT, not '$WEB_LISTEN'"
fi
[ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || fail bad-input "--web-listen port must be 1-65535, not '$PORT'"
matches "$APT_LOCK_TIMEOUT" '^[0-9]+$' || fail bad-input "--apt-lock-timeout must be a number of seconds"
matches "$COLOUR" '^[a-z]+$' || fail bad-input "--colour must be a word"
if [ -n "$SUDO_COMMANDS" ]; then
  printf '%s\n' "$SUDO_COMMANDS" | while IFS= read -r c; do
    matches "$c" '^/[A-Za-z0-9_./-]+( [A-Za-z0-9_./=:@-]+)*$' || { echo "$c"; exit 1; }
  done >/dev/null || fail bad-input "--sudo-command must be an absolute command path with plain arguments"
fi

# --- the host -------------------------------------------------------------------------------------------

os_value() {
  sed -n "s/^$1=//p" /etc/os-release | head -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/"
}
[ -r /etc/os-release ] || fail unsupported-os "no /etc/os-release: bluegreen provisions Ubuntu 20.04-24.04 and Debian 12"
OS_ID=$(os_value ID)
OS_VERSION=$(os_value VERSION_ID)
OS_NAME=$(os_value PRETTY_NAME)
supported=no
case $OS_ID in
  debian) [ "$OS_VERSION" = 12 ] && supported=yes ;;
  ubuntu)
    if matches "$OS_VERSION" '^[0-9]+\.[0-9]+$'; then
      major=${OS_VERSION%.*} minor=${OS_VERSION#*.}
      if [ "$major" -ge 20 ] && { [ "$major" -lt 24 ] || { [ "$major" -eq 24 ] && [ "$minor" -le 4 ]; }; }; then supported=yes; fi
    fi
    ;;
esac
[ "$supported" = yes ] || fail unsupported-os "${OS_NAME:-$OS_ID $OS_VERSION} is not supported: bluegreen provisions Ubuntu 20.04-24.04 and Debian 12"
command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1 || fail unsupported-os "apt-get or dpkg-query is missing"
[ "$(id -u)" = 0 ] || fail not-root "provision.sh must run as root (it was run as $(id -un))"

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then INIT=systemd; else INIT=sysv; fi
info protocol "$PROTOCOL"
info os "$OS_NAME"
info init "$INIT"
info mode "$([ "$DRY_RUN" = yes ] && echo dry-run || echo apply)"

# --- helpers --------------------------------------------------------------------------------------------

installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }

# apt_try ARGS...: runs apt-get; on failure leaves its output in $APT_LOG and returns non-zero.
apt_try() {
  APT_LOG=$(tmpfile)
  DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout="$APT_LOCK_TIMEOUT" \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" >"$APT_LOG" 2>&1 </dev/null
}

apt_fail() {
  if grep -q 'Could not get lock' "$APT_LOG"; then
    fail apt-locked "apt is locked by another package operation (often unattended-upgrades on a new machine): $({ grep -m 1 '^E: Could not get lock' "$APT_LOG" || grep -m 1 'Could not get lock' "$APT_LOG"; } | sed -e 's/^E: //' -e 's/^Waiting for cache lock: //') -- wait for it to finish and run provision again"
  fi
  fail apt-failed "apt-get $1 failed: $({ grep -E '^(E|W|Err):' "$APT_LOG" || tail -n 3 "$APT_LOG"; } | tail -n 4 | tr '\n' ' ')${UPDATE_WARNINGS:+(apt-get update reported: $UPDATE_WARNINGS)}"
}

apt_install() {
  # A mirror caught mid-sync fails an update now and then: try once more before giving up.
  if ! apt_try update; then
    grep -q 'Could not get lock' "$APT_LOG" && apt_fail update
    sleep 5
    apt_try update || apt_fail update
  fi
  # apt-get update succeeds even when sources cannot be fetched; if the install fails, say so too.
  UPDATE_WARNINGS=$(grep -E '^(W: Failed to fetch|Err:)' "$APT_LOG" | head -n 2 | tr '\n' ' ')
  if ! apt_try install --no-install-recommends "$@"; then
    # A download cut short: refresh the lists and try once more.
    grep -qE 'Failed to fetch|Unable to fetch' "$APT_LOG" || apt_fail install
    sleep 5
    apt_try update || apt_fail update
    apt_try install --no-install-recommends "$@" || apt_fail install
  fi
}

# Replaces @NAME@ with the value of the environment variable T_NAME, literally (no regex, no escapes).
render() {
  awk '
    function rep(s, key, val,   i, out) {
      out = ""
      while ((i = index(s, key)) > 0) { out = out substr(s, 1, i - 1) val; s = substr(s, i + length(key)) }
      return out s
    }
    {
      line = $0
      for (name in ENVIRON) if (name ~ /^T_/) line = rep(line, "@" substr(name, 3) "@", ENVIRON[name])
      print line
    }' "$TEMPLATES/$1"
}

# owner_mode PATH -> "user:group mode" (mode in octal, e.g. 755)
owner_mode() { stat -c '%U:%G %a' "$1" 2>/dev/null; }

DEPLOY_GROUP=

# Makes FILE (root:root 0644 unless given) hold the content of TMP. Prints what it did, sets CHANGED.
CHANGED=no
put_file() {
  tmp=$1 dest=$2 mode=${3:-644}
  if [ -f "$dest" ] && [ ! -L "$dest" ] && cmp -s "$tmp" "$dest" && [ "$(owner_mode "$dest")" = "root:root $mode" ]; then
    return 1
  fi
  CHANGED=yes
  dry && return 0
  install -o root -g root -m "$mode" "$tmp" "$dest.bluegreen-new" && mv -f "$dest.bluegreen-new" "$dest" ||
    fail bad-state "cannot write $dest"
  return 0
}

report() { # NAME DETAIL-IF-CHANGED DETAIL-IF-DONE
  if [ "$CHANGED" = yes ]; then
    if dry; then step "$1" "would change" "$2"; else step "$1" changed "$2"; fi
  else
    step "$1" "already done" "${3:-}"
  fi
}

service_running() {
  if [ "$INIT" = systemd ]; then
    systemctl is-active --quiet "$SERVICE"
    return
  fi
  case $WEB_SERVER in
    apache) pidfile=/var/run/apache2/apache2.pid ;;
    nginx) pidfile=/run/nginx.pid ;;
  esac
  [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

config_test() {
  log=$(tmpfile)
  case $WEB_SERVER in
    apache) apache2ctl configtest >"$log" 2>&1 ;;
    nginx) nginx -t >"$log" 2>&1 ;;
  esac || fail config-invalid "the $PKG configuration test failed, so $SERVICE was not started or reloaded (a running server keeps its old configuration): $(grep -v '^$' "$log" | tail -n 5 | tr '\n' ' ')"
}

# service_action start|reload
service_action() {
  log=$(tmpfile)
  if [ "$INIT" = systemd ]; then
    systemctl "$1" "$SERVICE" >"$log" 2>&1
  elif command -v service >/dev/null 2>&1; then
    service "$SERVICE" "$1" >"$log" 2>&1 </dev/null
  else
    case $WEB_SERVER:$1 in
      apache:start) apache2ctl start ;;
      apache:reload) apache2ctl graceful ;;
      nginx:start) nginx ;;
      nginx:reload) nginx -s reload ;;
    esac >"$log" 2>&1 </dev/null
  fi || fail service-failed "could not $1 $SERVICE: $(grep -v '^$' "$log" | tail -n 5 | tr '\n' ' ')$(server_log_tail)"
}

# The last lines of the server's own error log (where a failed start says why), as " -- log: ...".
server_log_tail() {
  case $WEB_SERVER in
    apache) errlog=/var/log/apache2/error.log ;;
    nginx) errlog=/var/log/nginx/error.log ;;
  esac
  [ -s "$errlog" ] && printf ' -- %s: %s' "$errlog" "$(tail -n 3 "$errlog" | tr '\n' ' ')"
}

# --- steps ----------------------------------------------------------------------------------------------

# Whether the web server's files can be inspected (false only in a dry run before it is installed).
WEB_PRESENT=yes

step_web_server() {
  if installed "$PKG"; then
    step web-server "already done" "$PKG installed"
    return
  fi
  if dry; then
    WEB_PRESENT=no
    step web-server "would change" "install $PKG"
    return
  fi
  apt_install "$PKG"
  installed "$PKG" || fail apt-failed "$PKG is still not installed after apt-get install"
  step web-server changed "installed $PKG"
}

step_deploy_user() {
  CHANGED=no
  what=
  if ! getent passwd "$DEPLOY_USER" >/dev/null; then
    CHANGED=yes
    what="created $DEPLOY_USER"
    if ! dry; then
      useradd --create-home --shell /bin/bash --user-group --password '*' "$DEPLOY_USER" ||
        fail bad-state "useradd $DEPLOY_USER failed"
    fi
  fi
  if getent passwd "$DEPLOY_USER" >/dev/null; then
    DEPLOY_GROUP=$(id -gn "$DEPLOY_USER")
    [ "$(id -u "$DEPLOY_USER")" != 0 ] || fail bad-state "$DEPLOY_USER has uid 0; the deploy user must not be root"
    pw=$(getent shadow "$DEPLOY_USER" | cut -d: -f2)
    case $pw in
      '*' | '!'*) ;;
      *)
        CHANGED=yes
        what="${what:+$what, }password login disabled"
        dry || usermod --password '*' "$DEPLOY_USER" || fail bad-state "cannot disable $DEPLOY_USER's password"
        ;;
    esac
    shell=$(getent passwd "$DEPLOY_USER" | cut -d: -f7)
    case $shell in
      */nologin | */false | '')
        CHANGED=yes
        what="${what:+$what, }login shell set to /bin/bash"
        dry || usermod --shell /bin/bash "$DEPLOY_USER" || fail bad-state "cannot set $DEPLOY_USER's shell"
        ;;
    esac
  else
    DEPLOY_GROUP=$DEPLOY_USER
  fi
  report deploy-user "$what" "$DEPLOY_USER exists, password login disabled"
}

# ensure_dir PATH OWNER:GROUP MODE: creates it or fixes owner/mode. Never follows a symlink at PATH.
ensure_dir() {
  if [ -L "$1" ]; then fail bad-state "$1 is a symlink; refusing to change it"; fi
  if [ -e "$1" ] && [ ! -d "$1" ]; then fail bad-state "$1 exists and is not a directory"; fi
  if [ ! -d "$1" ]; then
    CHANGED=yes
    dry && return
    mkdir -p "$1" && chown "$2" "$1" && chmod "$3" "$1" || fail bad-state "cannot create $1"
  elif [ "$(owner_mode "$1")" != "$2 $3" ]; then
    CHANGED=yes
    dry && return
    chown "$2" "$1" && chmod "$3" "$1" || fail bad-state "cannot set the owner and mode of $1"
  fi
}

step_authorized_key() {
  CHANGED=no
  home=$(getent passwd "$DEPLOY_USER" | cut -d: -f6)
  [ -n "$home" ] || home=/home/$DEPLOY_USER
  owner="$DEPLOY_USER:$DEPLOY_GROUP"
  if [ ! -d "$home" ]; then ensure_dir "$home" "$owner" 750; fi
  ensure_dir "$home/.ssh" "$owner" 700
  ak=$home/.ssh/authorized_keys
  [ ! -L "$ak" ] || fail bad-state "$ak is a symlink; refusing to change it"
  if [ ! -f "$ak" ] || ! grep -qF -- "$KEY_BLOB" "$ak"; then
    CHANGED=yes
    if ! dry; then
      if [ -s "$ak" ] && [ "$(tail -c 1 "$ak" | od -An -c | tr -d ' ')" != '\n' ]; then echo >>"$ak"; fi
      printf '%s\n' "$DEPLOY_KEY" >>"$ak" || fail bad-state "cannot write $ak"
    fi
  fi
  if [ -f "$ak" ] && [ "$(owner_mode "$ak")" != "$owner 600" ]; then
    CHANGED=yes
    dry || { chown "$owner" "$ak" && chmod 600 "$ak"; } || fail bad-state "cannot set the owner and mode of $ak"
  fi
  report authorized-key "deploy key in $ak" "deploy key in $ak"
}

step_app_root() {
  CHANGED=no
  parent=$(dirname "$APP_ROOT")
  if [ ! -d "$parent" ]; then
    CHANGED=yes
    dry || mkdir -p "$parent" || fail bad-state "cannot create $parent"
  fi
  ensure_dir "$APP_ROOT" "$DEPLOY_USER:$DEPLOY_GROUP" 755
  ensure_dir "$APP_ROOT/releases" "$DEPLOY_USER:$DEPLOY_GROUP" 755
  # BLUEGREEN_SHARED_PATHS live here, linked into every release.
  ensure_dir "$APP_ROOT/shared" "$DEPLOY_USER:$DEPLOY_GROUP" 755
  report app-root "$APP_ROOT/releases owned by $DEPLOY_USER" "$APP_ROOT/releases owned by $DEPLOY_USER"
}

step_placeholder_release() {
  current=$APP_ROOT/current
  if [ -L "$current" ]; then
    [ -e "$current" ] || fail bad-state "$current points to $(readlink "$current"), which does not exist; activate a release with \`bluegreen activate\`"
    step placeholder-release "already done" "current -> $(readlink "$current")"
    return
  fi
  [ ! -e "$current" ] || fail bad-state "$current exists and is not a symlink; move it away and run provision again"
  export T_COLOUR="$COLOUR"
  id="$(date -u +%Y%m%d%H%M%S)-$(printf '%s' "$NULL_SHA" | cut -c 1-12)"
  if dry; then
    step placeholder-release "would change" "current -> releases/$id"
    return
  fi
  release=$APP_ROOT/releases/$id
  staging=$APP_ROOT/releases/.placeholder.$$
  rm -rf "$staging"
  mkdir -m 755 "$staging" &&
    render index.html >"$staging/index.html" &&
    printf '%s\n' "$NULL_SHA" >"$staging/REVISION" &&
    chmod 644 "$staging/index.html" "$staging/REVISION" &&
    chown -R "$DEPLOY_USER:$DEPLOY_GROUP" "$staging" &&
    mv "$staging" "$release" &&
    ln -s "releases/$id" "$APP_ROOT/.current.$$" &&
    chown -h "$DEPLOY_USER:$DEPLOY_GROUP" "$APP_ROOT/.current.$$" &&
    mv -T "$APP_ROOT/.current.$$" "$current" ||
    fail bad-state "cannot create the placeholder release in $APP_ROOT"
  step placeholder-release changed "current -> releases/$id"
}

# Site files: each renders a template into a temp file and puts it in place when it differs.
CONFIG_CHANGED=no
web_file_step() { # NAME TEMPLATE DEST
  CHANGED=no
  tmp=$(tmpfile)
  render "$2" >"$tmp"
  if [ "$WEB_PRESENT" = no ]; then
    CHANGED=yes
  else
    [ -d "$(dirname "$3")" ] || fail bad-state "$(dirname "$3") does not exist; is $PKG installed correctly?"
    put_file "$tmp" "$3" || true
  fi
  [ "$CHANGED" = no ] || CONFIG_CHANGED=yes
  report "$1" "$3" "$3"
}

step_site() {
  export T_APP_ROOT="$APP_ROOT" T_PORT="$PORT" T_LISTEN="$WEB_LISTEN"
  case $WEB_SERVER in
    apache)
      web_file_step site-config apache-site.conf /etc/apache2/sites-available/bluegreen.conf
      web_file_step listen apache-ports.conf /etc/apache2/ports.conf
      enabled=/etc/apache2/sites-enabled/bluegreen.conf target=../sites-available/bluegreen.conf
      default=/etc/apache2/sites-enabled/000-default.conf
      ;;
    nginx)
      if [ -n "$LISTEN_ADDR" ]; then
        T_NGINX_LISTEN="    listen $LISTEN_ADDR:$PORT;"
      else
        T_NGINX_LISTEN="    listen $PORT;$NL    listen [::]:$PORT;"
      fi
      export T_NGINX_LISTEN
      web_file_step site-config nginx-site.conf /etc/nginx/sites-available/bluegreen
      enabled=/etc/nginx/sites-enabled/bluegreen target=/etc/nginx/sites-available/bluegreen
      default=/etc/nginx/sites-enabled/default
      ;;
  esac

  CHANGED=no
  if [ "$WEB_PRESENT" = no ] || [ "$(readlink "$enabled" 2>/dev/null)" != "$target" ]; then
    CHANGED=yes CONFIG_CHANGED=yes
    if ! dry; then
      [ ! -e "$enabled" ] || [ -L "$enabled" ] || fail bad-state "$enabled exists and is not a symlink"
      ln -sfn "$target" "$enabled" || fail bad-state "cannot enable the site"
    fi
  fi
  report site-enabled "$enabled" "$enabled"

  CHANGED=no
  if [ "$WEB_PRESENT" = no ] || [ -e "$default" ] || [ -L "$default" ]; then
    CHANGED=yes CONFIG_CHANGED=yes
    dry || rm -f "$default" || fail bad-state "cannot remove $default"
  fi
  report default-site-disabled "removed $default" "$default absent"
}

sudoers_escape() { printf '%s' "$1" | sed 's/[\\,:=()!]/\\&/g'; }

step_sudoers() {
  dropin=/etc/sudoers.d/bluegreen
  CHANGED=no
  if [ -z "$SUDO_COMMANDS" ]; then
    if [ -e "$dropin" ]; then
      CHANGED=yes
      dry || rm -f "$dropin" || fail bad-state "cannot remove $dropin"
    fi
    report sudoers "removed $dropin (BLUEGREEN_SUDO_COMMANDS is empty)" "none: BLUEGREEN_SUDO_COMMANDS is empty"
    return
  fi
  list=$(printf '%s\n' "$SUDO_COMMANDS" | while IFS= read -r c; do sudoers_escape "$c"; echo; done | sed '$!s/$/, /' | tr -d '\n')
  tmp=$(tmpfile)
  export T_DEPLOY_USER="$DEPLOY_USER" T_SUDO_COMMANDS="$list"
  render sudoers >"$tmp"
  what="$dropin"
  if ! command -v visudo >/dev/null 2>&1; then
    what="installed sudo, $dropin"
    if dry; then
      step sudoers "would change" "$what"
      return
    fi
    apt_install sudo
  fi
  if [ -f "$dropin" ] && cmp -s "$tmp" "$dropin" && [ "$(owner_mode "$dropin")" = "root:root 440" ]; then
    step sudoers "already done" "$dropin"
    return
  fi
  log=$(tmpfile)
  visudo -cf "$tmp" >"$log" 2>&1 || fail sudoers-invalid "the sudoers drop-in does not pass visudo -c: $(tr '\n' ' ' <"$log")"
  if dry; then
    step sudoers "would change" "$what"
    return
  fi
  [ -d /etc/sudoers.d ] || mkdir -m 755 /etc/sudoers.d
  # A name with a dot is ignored by sudo's @includedir until it is renamed into place.
  install -o root -g root -m 440 "$tmp" "$dropin.bluegreen-new" && mv -f "$dropin.bluegreen-new" "$dropin" ||
    fail bad-state "cannot write $dropin"
  step sudoers changed "$what"
}

step_web_running() {
  if [ "$WEB_PRESENT" = no ]; then
    step web-server-running "would change" "start $SERVICE"
    return
  fi
  if ! service_running; then
    if dry; then
      step web-server-running "would change" "start $SERVICE"
      return
    fi
    config_test
    service_action start
    service_running || fail service-failed "$SERVICE did not stay running after start$(server_log_tail)"
    step web-server-running changed "started $SERVICE"
  elif [ "$CONFIG_CHANGED" = yes ]; then
    if dry; then
      step web-server-running "would change" "reload $SERVICE"
      return
    fi
    config_test
    service_action reload
    step web-server-running changed "reloaded $SERVICE"
  else
    step web-server-running "already done" "$SERVICE running"
  fi
  if [ "$INIT" = systemd ] && ! systemctl is-enabled --quiet "$SERVICE" 2>/dev/null; then
    if dry; then
      step web-server-enabled "would change" "enable $SERVICE at boot"
    else
      systemctl enable --quiet "$SERVICE" 2>/dev/null || fail service-failed "could not enable $SERVICE at boot"
      step web-server-enabled changed "enabled $SERVICE at boot"
    fi
  fi
}

step_web_server
step_deploy_user
step_authorized_key
step_app_root
step_placeholder_release
step_site
step_sudoers
step_web_running
echo "done"

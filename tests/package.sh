#!/usr/bin/env bash
# The Debian package, installed as a server's administrator would: builds it
# (contrib/debian/build.sh, with cargo-deb), installs it with dpkg in a clean
# Debian root (debootstrap --variant=minbase, then chroot), and checks there
# what README's "Installing on a server" says:
# - the `bulletin` system user, /etc/bulletin (root:bulletin, 0750) with the
#   config and env (0600, bulletin's, holding a signing key), /var/lib/bulletin
#   (bulletin's, 0750);
# - `bulletin check` as that user, then `bulletin run` on the packaged default
#   with no network (unshare --net): the store (0600) and the drafts land
#   under /var/lib/bulletin, nothing beside the config;
# - an edited config and the env survive a reinstall; `dpkg --remove` keeps
#   the data, `dpkg --purge` deletes it;
# - the units pass `systemd-analyze verify` there, enable, and are disabled
#   by `dpkg --remove`.
# Root only (debootstrap, chroot). .ci/run runs it after tests/run.sh, whose
# build it packages: the debug binary, since the package's layout, scripts and
# units are what is tested, and a release build would add minutes to CI.
#
#     tests/package.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# The cargo-deb this packaging is written and checked against.
CARGO_DEB_VERSION=3.8.0
SUITE=bookworm
MIRROR=http://deb.debian.org/debian

started=$SECONDS
say() { printf 'package: %s (%ds)\n' "$*" $((SECONDS - started)); }
fail() { printf 'package: FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root (debootstrap, chroot)"
work=$(mktemp -d)
root=$work/root
bootstrap_pid=
cleanup() {
  # Its own process group (setsid): debootstrap's wget and dpkg stop with it.
  [ -z "$bootstrap_pid" ] || kill -- -"$bootstrap_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! command -v debootstrap >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

# The clean root downloads while cargo-deb and the package build.
# systemd: what a server has, for systemd-analyze verify and systemctl enable
# and disable in the root (offline, no systemd running).
setsid debootstrap --variant=minbase --include=systemd "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 &
bootstrap_pid=$!

if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb $CARGO_DEB_VERSION" ]; then
  cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked
fi
say "cargo-deb $CARGO_DEB_VERSION ready"

# --tests: the features the test build unified, so after tests/run.sh this
# builds nothing and packages the binary the tests ran.
cargo build --locked --bin bulletin --tests
contrib/debian/build.sh --no-build --profile dev --fast --quiet
deb=$(ls -t target/debian/bulletin_*.deb | head -1)
say "built $deb"

wait "$bootstrap_pid" || { cat "$work/debootstrap.log" >&2; fail "debootstrap"; }
bootstrap_pid=
say "clean $SUITE root ready"

in_root() { chroot "$root" "$@"; }
# As the bulletin user, with the secrets as the units get them, and no network.
as_bulletin() {
  unshare --net chroot "$root" runuser -u bulletin -- \
    sh -c 'set -a; . /etc/bulletin/env; set +a; cd /var/lib/bulletin; exec "$@"' sh "$@"
}
expect_stat() { # PATH "MODE OWNER:GROUP"
  local got
  got=$(in_root stat -c '%a %U:%G' "$1")
  [ "$got" = "$2" ] || fail "$1 is $got, expected $2"
}

cp "$deb" "$root/tmp/bulletin.deb"
in_root dpkg -i /tmp/bulletin.deb
say "installed with dpkg"

in_root getent passwd bulletin | grep -q ':/var/lib/bulletin:/usr/sbin/nologin$' ||
  fail "no bulletin system user with home /var/lib/bulletin: $(in_root getent passwd bulletin)"
uid=$(in_root id -u bulletin)
[ "$uid" -lt 1000 ] || fail "bulletin's uid $uid is not a system uid"
expect_stat /etc/bulletin "750 root:bulletin"
expect_stat /etc/bulletin/config.toml "644 root:root"
expect_stat /etc/bulletin/env "600 bulletin:bulletin"
expect_stat /var/lib/bulletin "750 bulletin:bulletin"
in_root grep -qx '/etc/bulletin/config.toml' /var/lib/dpkg/info/bulletin.conffiles ||
  fail "/etc/bulletin/config.toml is not a conffile"
key=$(in_root sed -n 's/^BULLETIN_UNSUBSCRIBE_KEY=//p' /etc/bulletin/env)
[ "${#key}" -ge 40 ] || fail "no generated signing key in /etc/bulletin/env"

as_bulletin bulletin --config /etc/bulletin/config.toml check | tee "$work/check.out"
grep -q '^ok: ' "$work/check.out" || fail "bulletin check did not say ok"
say "bulletin check passed as the bulletin user"

BULLETIN_NOW=2026-11-30T06:00:00Z as_bulletin bulletin --config /etc/bulletin/config.toml run |
  tee "$work/run.out"
grep -q 'waiting for approval' "$work/run.out" || fail "run made no draft"
expect_stat /var/lib/bulletin/bulletin.sqlite "600 bulletin:bulletin"
[ -n "$(find "$root/var/lib/bulletin/out/drafts" -name '*.html')" ] ||
  fail "no draft under /var/lib/bulletin/out/drafts"
extra=$(in_root ls -A /etc/bulletin | grep -vxE 'config.toml|env' || true)
[ -z "$extra" ] || fail "run wrote into /etc/bulletin: $extra"
as_bulletin bulletin --config /etc/bulletin/config.toml status >/dev/null
say "bulletin run on the packaged default, no network: drafts in /var/lib/bulletin"

units=(bulletin-run.service bulletin-run.timer bulletin-serve.service)
in_root systemd-analyze verify "${units[@]/#//usr/lib/systemd/system/}"
in_root systemctl enable bulletin-run.timer bulletin-serve.service
[ -L "$root/etc/systemd/system/timers.target.wants/bulletin-run.timer" ] ||
  fail "systemctl enable bulletin-run.timer made no link"
say "systemd-analyze verify: the units are valid; they enable"

# An administrator's edits survive a reinstall (an upgrade does the same).
echo '# edited by the administrator' >>"$root/etc/bulletin/config.toml"
in_root dpkg -i /tmp/bulletin.deb
in_root tail -1 /etc/bulletin/config.toml | grep -qx '# edited by the administrator' ||
  fail "reinstalling overwrote the edited config"
[ "$(in_root sed -n 's/^BULLETIN_UNSUBSCRIBE_KEY=//p' /etc/bulletin/env)" = "$key" ] ||
  fail "reinstalling changed the signing key"
expect_stat /etc/bulletin/env "600 bulletin:bulletin"

in_root dpkg --remove bulletin
[ -z "$(find "$root/etc/systemd/system" -name 'bulletin-*')" ] ||
  fail "dpkg --remove left the units enabled: $(find "$root/etc/systemd/system" -name 'bulletin-*')"
[ -e "$root/var/lib/bulletin/bulletin.sqlite" ] || fail "dpkg --remove deleted the store"
[ -e "$root/etc/bulletin/env" ] || fail "dpkg --remove deleted the secrets"
in_root dpkg --purge bulletin
[ ! -e "$root/var/lib/bulletin" ] || fail "dpkg --purge left /var/lib/bulletin"
[ ! -e "$root/etc/bulletin" ] || fail "dpkg --purge left /etc/bulletin: $(ls -A "$root/etc/bulletin")"
say "reinstall keeps the config and key; remove disables the units and keeps the data; purge deletes it"

say "passed"

#!/usr/bin/env bash
# Builds the Debian package: target/debian/bulletin_<version>-1_<arch>.deb.
#
#     contrib/debian/build.sh              # release build, then the package
#     contrib/debian/build.sh --no-build   # package what is already built
#
# Extra arguments go to `cargo deb` (cargo install cargo-deb --locked).
#
# bulletin resolves the relative paths of its config from the config file's
# folder, so the bundled config.toml, copied as is to /etc/bulletin, would
# keep its store and out/ in /etc. The packaged /etc/bulletin/config.toml is
# the bundled one with those paths made absolute: the store and out/ under
# /var/lib/bulletin, the sample sources under /usr/share/bulletin/feeds. It is
# written here, from config.toml, so the two never drift apart.
set -euo pipefail
cd "$(dirname "$0")/../.."

packaged=target/debian-config/config.toml
mkdir -p "$(dirname "$packaged")"

# Each line this relies on must be there: a config.toml that moved on fails
# here, not on a server.
require() { # LINE
  grep -qxF -- "$1" "$packaged" || { echo "config.toml has no line: $1" >&2; exit 1; }
}
rewrite() { # FROM TO: the line FROM becomes TO.
  require "$1"
  local escaped_from escaped_to
  escaped_from=$(printf '%s' "$1" | sed 's/[][\/.^$*]/\\&/g')
  escaped_to=$(printf '%s' "$2" | sed 's/[\/&]/\\&/g')
  sed -i "s/^${escaped_from}\$/${escaped_to}/" "$packaged"
}
cp config.toml "$packaged"
# postinst writes /etc/bulletin/env with the variables these name.
require 'signing_key_env = "BULLETIN_UNSUBSCRIBE_KEY"'
require 'username_env = "BULLETIN_SMTP_USER"'
require 'password_env = "BULLETIN_SMTP_PASSWORD"'
rewrite 'out_dir = "out"' 'out_dir = "/var/lib/bulletin/out"'
rewrite 'path = "bulletin.sqlite"' 'path = "/var/lib/bulletin/bulletin.sqlite"'
sed -i -E 's#^(feed|local) = "feeds/#\1 = "/usr/share/bulletin/feeds/#' "$packaged"
# Every path left relative would land under /etc/bulletin.
if grep -nE '^(out_dir|path|feed|local) = "[^/h]' "$packaged" >&2; then
  echo "relative paths left in the packaged config (above)" >&2
  exit 1
fi

exec cargo deb --locked "$@"

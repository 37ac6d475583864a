#!/usr/bin/env bash
# Installs and starts two real WordPress sites for integration tests:
#   hub    -> http://127.0.0.1:8081  (plain permalinks; REST only via ?rest_route=/)
#   member -> http://127.0.0.1:8082  (pretty permalinks /%postname%/; REST via /wp-json/)
# Idempotent. `--reset` drops and recreates both sites (fresh databases, no uploads).
# SWP_WP_INSTANCE=N (1-9) installs a separate pair (hubN/memberN on ports 8081+10N, 8082+10N),
# so parallel test runs from several checkouts do not delete each other's posts.
# Writes tests/harness/wordpress.env and tests/harness/wordpress.json.
# Must run as root (apt, services); re-execs itself with sudo otherwise.
set -euo pipefail

HARNESS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ENV_FILE="$HARNESS_DIR/wordpress.env"
JSON_FILE="$HARNESS_DIR/wordpress.json"
STATE_DIR=/var/lib/swp-harness
WP_ROOT=/usr/share/wordpress
WP_CONTENT=/var/lib/wordpress/wp-content
INSTANCE="${SWP_WP_INSTANCE:-}"
[[ -z "$INSTANCE" || "$INSTANCE" =~ ^[1-9]$ ]] || { echo "SWP_WP_INSTANCE must be 1-9" >&2; exit 2; }
SITES=("hub$INSTANCE" "member$INSTANCE")
OFFSET=$(( ${INSTANCE:-0} * 10 ))
declare -A PORT=([hub$INSTANCE]=$((8081 + OFFSET)) [member$INSTANCE]=$((8082 + OFFSET)))
declare -A PERMALINK=([hub$INSTANCE]='' [member$INSTANCE]='/%postname%/')
# The companion plugin (integrations/wordpress/) on the member site only, so the other site
# shows that the tool works without it.
declare -A PLUGINS=([hub$INSTANCE]='' [member$INSTANCE]='swp-canonical/swp-canonical.php')
PLUGIN_SOURCE="$HARNESS_DIR/../../integrations/wordpress/swp-canonical.php"

RESET=0
for arg in "$@"; do
  case "$arg" in
    --reset) RESET=1 ;;
    -h|--help) sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $arg (use --reset)" >&2; exit 2 ;;
  esac
done

if [[ $EUID -ne 0 ]]; then
  exec sudo -- "$BASH" "${BASH_SOURCE[0]}" "$@"
fi

log() { printf '[wordpress.sh] %s\n' "$*" >&2; }

# Serialise concurrent runs (several worktrees / test sessions on one machine).
mkdir -p "$STATE_DIR" && chmod 700 "$STATE_DIR"
exec 9>"$STATE_DIR/wordpress.lock"
flock -w 300 9 || { echo "[wordpress.sh] timed out waiting for $STATE_DIR/wordpress.lock" >&2; exit 1; }
# Daemons must not inherit the lock fd (they would hold the lock forever).
svc() { service "$@" 9>&-; }

# --------------------------------------------------------------------------- packages
PACKAGES=(wordpress mariadb-server apache2 libapache2-mod-php php-mysql php-xml php-gd
          php-curl php-mbstring php-intl)
# A theme is only a Recommends of `wordpress`; without one the front end is blank.
PACKAGES+=(wordpress-theme-twentytwentythree)

missing=()
for p in "${PACKAGES[@]}"; do
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" == installed ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null 9>&-
fi

# --------------------------------------------------------------------------- mariadb
if ! mariadb-admin ping --silent >/dev/null 2>&1; then
  log "starting mariadb"
  svc mariadb start >/dev/null
  for _ in $(seq 50); do mariadb-admin ping --silent >/dev/null 2>&1 && break; sleep 0.2; done
  mariadb-admin ping --silent >/dev/null
fi

# --------------------------------------------------------------------------- secrets
[[ -s "$STATE_DIR/salt" ]] || { head -c 48 /dev/urandom | base64 | tr -d '/+=\n' > "$STATE_DIR/salt"; }
SALT="$(cat "$STATE_DIR/salt")"
db_password() { printf '%s' "$SALT-db-$1" | sha256sum | cut -c1-32; }

# Writes $2 to file $1 only if the content differs; returns 0 if changed.
write_if_changed() {
  local file=$1 content=$2
  if [[ -f "$file" ]] && [[ "$(cat "$file")" == "$content" ]]; then return 1; fi
  printf '%s\n' "$content" > "$file"
  return 0
}

# --------------------------------------------------------------------------- apache
apache_changed=0
if [[ ! -e /etc/apache2/mods-enabled/rewrite.load ]]; then a2enmod -q rewrite >/dev/null; apache_changed=1; fi
if write_if_changed /etc/apache2/conf-available/swp-harness.conf \
     "# Managed by tests/harness/wordpress.sh
ServerName 127.0.0.1"; then apache_changed=1; fi
if [[ ! -e /etc/apache2/conf-enabled/swp-harness.conf ]]; then a2enconf -q swp-harness >/dev/null; apache_changed=1; fi
# Stock ports.conf listens on 0.0.0.0:80; keep only loopback.
if grep -qx 'Listen 80' /etc/apache2/ports.conf; then
  sed -i 's/^Listen 80$/Listen 127.0.0.1:80/' /etc/apache2/ports.conf; apache_changed=1
fi

for site in "${SITES[@]}"; do
  port=${PORT[$site]}
  url="http://127.0.0.1:$port"
  vhost="# Managed by tests/harness/wordpress.sh - overwritten on every run.
Listen 127.0.0.1:$port
<VirtualHost 127.0.0.1:$port>
    ServerName 127.0.0.1
    DocumentRoot $WP_ROOT
    DirectoryIndex index.php index.html
    SetEnv WORDPRESS_CONFIG $site
    # Let the Authorization header (application passwords) reach PHP.
    SetEnvIf Authorization \"(.*)\" HTTP_AUTHORIZATION=\$1
    Alias /wp-content $WP_CONTENT
    php_admin_value upload_max_filesize 64M
    php_admin_value post_max_size 64M
    ErrorLog \${APACHE_LOG_DIR}/swp-wp-$site-error.log
    CustomLog \${APACHE_LOG_DIR}/swp-wp-$site-access.log combined
    <Directory $WP_ROOT>
        Options FollowSymLinks
        AllowOverride All
        Require all granted
        # WordPress' standard rules, here instead of the .htaccess both sites share.
        # With plain permalinks (hub) WordPress ignores the path (/wp-json/ = home page).
        RewriteEngine On
        RewriteBase /
        RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
        RewriteRule ^index\\.php\$ - [L]
        RewriteCond %{REQUEST_FILENAME} !-f
        RewriteCond %{REQUEST_FILENAME} !-d
        RewriteRule . /index.php [L]
    </Directory>
    <Directory $WP_CONTENT>
        Options FollowSymLinks
        AllowOverride None
        Require all granted
    </Directory>
</VirtualHost>"
  if write_if_changed "/etc/apache2/sites-available/swp-wp-$site.conf" "$vhost"; then apache_changed=1; fi
  if [[ ! -e "/etc/apache2/sites-enabled/swp-wp-$site.conf" ]]; then a2ensite -q "swp-wp-$site" >/dev/null; apache_changed=1; fi

  dbpw="$(db_password "$site")"
  config="<?php
// Managed by tests/harness/wordpress.sh - overwritten on every run.
// Loaded by /usr/share/wordpress/wp-config.php via SetEnv WORDPRESS_CONFIG $site.
define('DB_NAME', 'swp_wp_$site');
define('DB_USER', 'swp_wp_$site');
define('DB_PASSWORD', '$dbpw');
define('DB_HOST', 'localhost');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
\$table_prefix = 'wp_';
define('WP_HOME', '$url');
define('WP_SITEURL', '$url');
define('WP_CONTENT_DIR', '$WP_CONTENT');
define('WP_CONTENT_URL', '$url/wp-content');
define('WP_ENVIRONMENT_TYPE', 'local'); // application passwords over plain http
define('WP_HTTP_BLOCK_EXTERNAL', true); // offline CI: no api.wordpress.org calls
define('AUTOMATIC_UPDATER_DISABLED', true);
define('DISALLOW_FILE_EDIT', true);
define('FS_METHOD', 'direct');
define('WP_DEBUG', false);"
  for k in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT; do
    config+=$'\n'"define('$k', '$(printf '%s' "$SALT-$site-$k" | sha256sum | cut -c1-64)');"
  done
  write_if_changed "/etc/wordpress/config-$site.php" "$config" || true
  chown root:www-data "/etc/wordpress/config-$site.php"
  chmod 640 "/etc/wordpress/config-$site.php"

  if ((RESET)); then
    log "reset: dropping site $site"
    mariadb -e "DROP DATABASE IF EXISTS swp_wp_$site"
    rm -rf "${WP_CONTENT:?}/uploads/$site" "$STATE_DIR/wp-$site.json"
  fi
  mariadb -e "CREATE DATABASE IF NOT EXISTS swp_wp_$site CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
              CREATE USER IF NOT EXISTS 'swp_wp_$site'@'localhost' IDENTIFIED BY '$dbpw';
              ALTER USER 'swp_wp_$site'@'localhost' IDENTIFIED BY '$dbpw';
              GRANT ALL PRIVILEGES ON swp_wp_$site.* TO 'swp_wp_$site'@'localhost';"
  install -d -o www-data -g www-data "$WP_CONTENT/uploads" "$WP_CONTENT/uploads/$site"
done

if apache2ctl -t >/dev/null 2>&1; then :; else apache2ctl -t; exit 1; fi
if ((apache_changed)) || ! svc apache2 status >/dev/null 2>&1; then
  log "(re)starting apache2"
  if svc apache2 status >/dev/null 2>&1; then svc apache2 restart >/dev/null; else svc apache2 start >/dev/null; fi
fi

# --------------------------------------------------------------------------- plugins
# One plugin folder serves both sites (shared wp-content); each site activates its own list.
install -d -o www-data -g www-data "$WP_CONTENT/plugins/swp-canonical"
install -m 644 -o www-data -g www-data "$PLUGIN_SOURCE" "$WP_CONTENT/plugins/swp-canonical/swp-canonical.php"

# --------------------------------------------------------------------------- install sites
for site in "${SITES[@]}"; do
  port=${PORT[$site]}
  url="http://127.0.0.1:$port"
  state="$STATE_DIR/wp-$site.json"
  prev="$(cat "$state" 2>/dev/null || true)"
  out="$(printf '%s' "$prev" | runuser -u www-data -- php -d display_errors=stderr \
          "$HARNESS_DIR/wp-setup.php" "$site" "$url" "${PERMALINK[$site]}" \
          "$WP_CONTENT/uploads/$site" "$url/wp-content/uploads/$site" "${PLUGINS[$site]}")" \
    || { log "wp-setup.php failed for $site"; exit 1; }
  json="$(printf '%s\n' "$out" | sed -n 's/^SWP_JSON://p')"
  [[ -n "$json" ]] || { log "wp-setup.php gave no result for $site: $out"; exit 1; }
  (umask 077; printf '%s\n' "$json" > "$state")
  if grep -q '"installed_now":true' <<<"$json"; then log "installed site $site at $url"; fi
done

# Wait until both sites answer (apache may still be starting).
for site in "${SITES[@]}"; do
  for _ in $(seq 50); do
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[$site]}/?rest_route=/" || true)"
    [[ "$code" == 200 ]] && break
    sleep 0.2
  done
  [[ "$code" == 200 ]] || { log "site $site not answering (HTTP $code)"; exit 1; }
done

# --------------------------------------------------------------------------- outputs
python3 - "$STATE_DIR" "$ENV_FILE" "$JSON_FILE" "$INSTANCE" <<'PY'
import json, sys
state_dir, env_file, json_file, instance = sys.argv[1:5]
data, lines = {}, []
for site in ("hub", "member"):
    with open(f"{state_dir}/wp-{site}{instance}.json") as f:
        s = json.load(f)
    s["rest_url"] = s["url"] + ("/?rest_route=/" if s["permalink"] == "" else "/wp-json/")
    s["xmlrpc_url"] = s["url"] + "/xmlrpc.php"
    s.pop("installed_now", None)
    data[site] = s
    p = f"SWP_TEST_WP_{site.upper()}"
    a, e = s["users"]["admin"], s["users"]["editor"]
    lines += [f"{p}_URL={s['url']}",
              f"{p}_USER={a['user']}",
              f"{p}_APP_PASSWORD={a['app_password']}",
              f"{p}_EDITOR_USER={e['user']}",
              f"{p}_EDITOR_APP_PASSWORD={e['app_password']}"]
with open(env_file, "w") as f:
    f.write("# Generated by tests/harness/wordpress.sh - do not commit.\n" + "\n".join(lines) + "\n")
with open(json_file, "w") as f:
    json.dump(data, f, indent=2)
    f.write("\n")
print("\n".join(lines))
PY

# Hand the generated files to whoever owns the checkout (script may run via sudo).
owner="$(stat -c '%u:%g' "$HARNESS_DIR")"
chown "$owner" "$ENV_FILE" "$JSON_FILE"
chmod 600 "$ENV_FILE" "$JSON_FILE"
log "wrote $ENV_FILE and $JSON_FILE"

<?php
/**
 * Installs / verifies one Debian-packaged WordPress site without wp-cli.
 * Called by tests/harness/wordpress.sh (as www-data); not meant to be run by hand.
 *
 * usage: php wp-setup.php <site> <url> <permalink_structure> <upload_dir> <upload_url> <plugins>
 * plugins: comma-separated plugin files to have active on this site (all others are deactivated)
 * stdin:  previous state JSON (may be empty) -> app passwords are reused if still valid
 * stdout: one line "SWP_JSON:{...}" with the site's credentials
 */

if ( PHP_SAPI !== 'cli' || $argc !== 7 ) {
	fwrite( STDERR, "usage: php wp-setup.php <site> <url> <permalink_structure> <upload_dir> <upload_url> <plugins>\n" );
	exit( 2 );
}
[ , $site, $url, $permalink, $upload_dir, $upload_url, $plugins ] = $argv;

$prev = json_decode( (string) stream_get_contents( STDIN ), true );
if ( ! is_array( $prev ) ) {
	$prev = array();
}

// Pretend to be a web request for this site so Debian's wp-config.php picks
// /etc/wordpress/config-<site>.php (it reads $_SERVER['WORDPRESS_CONFIG']).
$parts                      = parse_url( $url );
$_SERVER['WORDPRESS_CONFIG'] = $site;
$_SERVER['HTTP_HOST']        = $parts['host'] . ( isset( $parts['port'] ) ? ':' . $parts['port'] : '' );
$_SERVER['SERVER_NAME']      = $parts['host'];
$_SERVER['SERVER_PORT']      = (string) ( $parts['port'] ?? 80 );
$_SERVER['REQUEST_URI']      = '/';
$_SERVER['REQUEST_METHOD']   = 'GET';
$_SERVER['REMOTE_ADDR']      = '127.0.0.1';
$_SERVER['SCRIPT_NAME']      = '/index.php';
$_SERVER['PHP_SELF']         = '/index.php';

define( 'WP_INSTALLING', true );

// Pluggable (upgrade.php only defines it if missing): no "new site" e-mail.
function wp_new_blog_notification( $blog_title, $blog_url, $user_id, $password ) {}

require '/usr/share/wordpress/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/user.php';

function swp_fail( $msg ) {
	fwrite( STDERR, "wp-setup.php: $msg\n" );
	exit( 1 );
}

$users = array(
	'admin'  => array( 'login' => 'syndicatie', 'role' => 'administrator' ),
	'editor' => array( 'login' => 'redacteur', 'role' => 'editor' ),
);
// Fixed login passwords (wp-admin / negative tests); local test sites only.
foreach ( $users as $key => $u ) {
	$users[ $key ]['password'] = $u['login'] . '-' . $site . '-login';
	$users[ $key ]['email']    = $u['login'] . '+' . $site . '@example.org';
}

// No HTTP from this CLI process: wp_install() would otherwise probe pretty permalinks by
// requesting the live site (slow, and it spawns wp-cron before our options are set).
add_filter( 'pre_http_request', function () { return new WP_Error( 'swp_harness', 'HTTP disabled during setup' ); } );

$installed_now = false;
if ( ! is_blog_installed() ) {
	$res = wp_install(
		"SWP test $site",
		$users['admin']['login'],
		$users['admin']['email'],
		false,
		'',
		$users['admin']['password'],
		''
	);
	if ( empty( $res['user_id'] ) ) {
		swp_fail( 'wp_install() failed' );
	}
	$installed_now = true;
}

// Options that must hold on every run (cheap, idempotent).
update_option( 'home', $url );
update_option( 'siteurl', $url );
update_option( 'upload_path', $upload_dir );
update_option( 'upload_url_path', $upload_url );
update_option( 'uploads_use_yearmonth_folders', '1' );
if ( get_option( 'permalink_structure' ) !== $permalink ) {
	global $wp_rewrite;
	$wp_rewrite->set_permalink_structure( $permalink );
	$wp_rewrite->flush_rules( false ); // false: never touch (the shared) .htaccess
}

require_once ABSPATH . 'wp-admin/includes/plugin.php';
$wanted = array_values( array_filter( explode( ',', $plugins ) ) );
foreach ( get_option( 'active_plugins', array() ) as $active ) {
	if ( ! in_array( $active, $wanted, true ) ) {
		deactivate_plugins( $active, true );
	}
}
foreach ( $wanted as $plugin ) {
	$activated = activate_plugin( $plugin );
	if ( is_wp_error( $activated ) ) {
		swp_fail( "activating $plugin: " . $activated->get_error_message() );
	}
}

$out = array(
	'site'          => $site,
	'plugins'       => $wanted,
	'url'           => $url,
	'installed_now' => $installed_now,
	'permalink'     => $permalink,
	'users'         => array(),
);

foreach ( $users as $key => $u ) {
	$user = get_user_by( 'login', $u['login'] );
	if ( ! $user ) {
		$id = wp_insert_user(
			array(
				'user_login' => $u['login'],
				'user_pass'  => $u['password'],
				'user_email' => $u['email'],
				'role'       => $u['role'],
			)
		);
		if ( is_wp_error( $id ) ) {
			swp_fail( "creating user {$u['login']}: " . $id->get_error_message() );
		}
		$user = get_user_by( 'id', $id );
	} elseif ( ! in_array( $u['role'], (array) $user->roles, true ) ) {
		$user->set_role( $u['role'] );
	}

	// Reuse the previously issued application password if it still verifies.
	$name     = 'swp-test-harness';
	$plain    = $prev['users'][ $key ]['app_password'] ?? '';
	$valid    = false;
	foreach ( WP_Application_Passwords::get_user_application_passwords( $user->ID ) as $item ) {
		if ( $item['name'] !== $name ) {
			continue;
		}
		if ( $plain !== '' && wp_check_password( $plain, $item['password'], $user->ID ) ) {
			$valid = true;
		} else {
			WP_Application_Passwords::delete_application_password( $user->ID, $item['uuid'] );
		}
	}
	if ( ! $valid ) {
		$created = WP_Application_Passwords::create_new_application_password( $user->ID, array( 'name' => $name ) );
		if ( is_wp_error( $created ) ) {
			swp_fail( "application password for {$u['login']}: " . $created->get_error_message() );
		}
		$plain = $created[0];
	}

	$out['users'][ $key ] = array(
		'user'           => $u['login'],
		'role'           => $u['role'],
		'app_password'   => $plain,
		'login_password' => $u['password'],
	);
}

echo 'SWP_JSON:' . wp_json_encode( $out ) . "\n";

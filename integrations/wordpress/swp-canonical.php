<?php
/**
 * Plugin Name:       Sociaalwerk Publisher: canonieke link naar het origineel
 * Plugin URI:        https://www.sociaalwerknederland.nl
 * Description:       Een doorgeplaatst verhaal wijst zoekmachines naar het origineel (rel="canonical"), zodat het origineel zijn vindbaarheid houdt. Werkt samen met Yoast SEO en Rank Math.
 * Version:           1.1.0
 * Requires at least: 6.1
 * Requires PHP:      8.0
 * Author:            Sociaal Werk Nederland
 * License:           MIT
 *
 * Installable as a normal plugin (wp-content/plugins/swp-canonical/swp-canonical.php) or as a
 * must-use plugin (wp-content/mu-plugins/swp-canonical.php). No other dependencies.
 *
 * sociaalwerk-publisher sets the post meta `swp_original_url` over the REST API (or XML-RPC
 * custom fields) on every copy it publishes. This plugin
 *  - registers that meta for REST, writable only by users who may edit the post;
 *  - makes the copy's canonical link point at the original: through WordPress's own
 *    `get_canonical_url` filter (core prints the link), through Yoast SEO's and Rank Math's
 *    canonical filters when those print it instead, and by printing it itself only when
 *    nobody else does, so a page never carries two canonical links.
 */

defined( 'ABSPATH' ) || exit;

const SWP_ORIGINAL_URL_META = 'swp_original_url';

/**
 * An original's address as we accept it: absolute http(s) only, else ''.
 */
function swp_clean_original_url( mixed $value ): string {
	if ( ! is_string( $value ) ) {
		return '';
	}
	$url   = esc_url_raw( trim( $value ), array( 'http', 'https' ) );
	$parts = wp_parse_url( $url );
	return isset( $parts['scheme'], $parts['host'] ) ? $url : '';
}

add_action(
	'init',
	static function (): void {
		register_post_meta(
			'post',
			SWP_ORIGINAL_URL_META,
			array(
				'type'              => 'string',
				'description'       => 'Address of the original of a syndicated story (rel="canonical").',
				'single'            => true,
				'default'           => '',
				'show_in_rest'      => array( 'schema' => array( 'type' => 'string', 'format' => 'uri' ) ),
				'sanitize_callback' => 'swp_clean_original_url',
				// only who may edit this very post may set or change where it points
				'auth_callback'     => static fn( $allowed, $meta_key, $post_id ) => current_user_can( 'edit_post', (int) $post_id ),
			)
		);
	}
);

/*
 * One row per post, whoever writes it. The meta is single, but add_post_meta() (XML-RPC custom
 * fields without an id, the Custom Fields box) adds a second row all the same, and with two rows
 * holding the value a REST write sends again, core's update_metadata() changes no row and the
 * REST API answers 500 rest_meta_database_error. So an add to a post that has the meta updates
 * it, and an update of a post with several rows leaves exactly one.
 */
add_filter(
	'add_post_metadata',
	static function ( $check, $post_id, $meta_key, $meta_value ) {
		if ( SWP_ORIGINAL_URL_META !== $meta_key || null !== $check
			|| ! get_metadata_raw( 'post', (int) $post_id, SWP_ORIGINAL_URL_META ) ) {
			return $check;
		}
		update_post_meta( (int) $post_id, SWP_ORIGINAL_URL_META, wp_slash( $meta_value ) );
		return true;
	},
	10,
	4
);
add_filter(
	'update_post_metadata',
	static function ( $check, $post_id, $meta_key, $meta_value, $prev_value ) {
		if ( SWP_ORIGINAL_URL_META !== $meta_key || null !== $check || '' !== $prev_value
			|| count( (array) get_metadata_raw( 'post', (int) $post_id, SWP_ORIGINAL_URL_META ) ) < 2 ) {
			return $check;
		}
		// $meta_value arrives unslashed and sanitised; add_post_meta() wants it slashed
		delete_post_meta( (int) $post_id, SWP_ORIGINAL_URL_META );
		return false !== add_post_meta( (int) $post_id, SWP_ORIGINAL_URL_META, wp_slash( $meta_value ), true );
	},
	10,
	5
);

/**
 * The original's address of the post shown (or of ``$post``), or null when it has none.
 */
function swp_original_url( WP_Post|int|null $post = null ): ?string {
	$post = get_post( $post ?? get_queried_object_id() );
	if ( ! $post instanceof WP_Post || 'post' !== $post->post_type ) {
		return null;
	}
	$url = swp_clean_original_url( get_post_meta( $post->ID, SWP_ORIGINAL_URL_META, true ) );
	return '' === $url ? null : $url;
}

// WordPress core prints <link rel="canonical"> on single posts (rel_canonical on wp_head).
add_filter(
	'get_canonical_url',
	static fn( $canonical, $post ) => swp_original_url( $post ) ?? $canonical,
	10,
	2
);

// Yoast SEO and Rank Math replace core's link with their own: point theirs at the original.
$swp_seo_canonical = static fn( $canonical ) => is_singular( 'post' ) ? ( swp_original_url() ?? $canonical ) : $canonical;
add_filter( 'wpseo_canonical', $swp_seo_canonical, 20 );
add_filter( 'rank_math/frontend/canonical', $swp_seo_canonical, 20 );

// A theme or plugin that removed core's link without printing one: print it ourselves.
add_action(
	'wp_head',
	static function (): void {
		if ( ! is_singular( 'post' ) || has_action( 'wp_head', 'rel_canonical' )
			|| defined( 'WPSEO_VERSION' ) || class_exists( 'RankMath' ) ) {
			return;
		}
		$url = swp_original_url();
		if ( null !== $url ) {
			printf( '<link rel="canonical" href="%s" />' . "\n", esc_url( $url ) );
		}
	},
	20
);

/* SPDX-License-Identifier: MIT */
/*
 * The status page's static files, compiled into the broker as C string
 * constants (assets.c, edited by hand) so it works offline with no build
 * step and no CDN.
 */
#ifndef DOMINO_WEB_ASSETS_H
#define DOMINO_WEB_ASSETS_H

extern const char web_asset_index_html[];
extern const char web_asset_style_css[];
extern const char web_asset_app_js[];

#endif

/* The inspection page's files, compiled into the binary by web/gen.c at build time. */
#ifndef WEBHOOKY_WEB_ASSETS_H
#define WEBHOOKY_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
    const char *name;         /* file name: "index.html", "app.js" */
    const char *content_type; /* with charset */
    const unsigned char *data;
    size_t len;
    const char *etag; /* quoted hash of the bytes */
};

extern const struct web_asset web_assets[];
extern const size_t web_n_assets;

#endif

/* har: deliveries as an HTTP Archive (HAR 1.2), the format browser dev tools and Insomnia open.
 *
 * Each delivery becomes one entry: the request as captured (method, URL rebuilt from the Host
 * header, headers in order, query string, body as postData) and the answer the receiver gave.
 * Bodies that are not UTF-8 are written as base64 with "_encoding": "base64" (HAR has no
 * field for that in postData; custom fields start with '_'). Verdicts travel in "_webhooky".
 * The archive is written piece by piece (begin, entries, end) so an export of many
 * deliveries never has to be held in memory whole. Not a HAR reader. */
#ifndef WEBHOOKY_HAR_H
#define WEBHOOKY_HAR_H

#include <stdbool.h>

#include "buf.h"
#include "delivery.h"

/* Append the archive's opening, up to the start of the entries list. */
int har_begin(struct buf *out);

/* Append one entry (preceded by a comma unless first). host is used when the delivery has no
 * Host header ("127.0.0.1:8787"). 0 or -ENOMEM. */
int har_append_entry(struct buf *out, const struct delivery *d, const char *host, bool first);

/* Append the archive's closing. */
int har_end(struct buf *out);

#endif

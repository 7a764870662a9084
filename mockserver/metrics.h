/* metrics: counters for the Prometheus text format at /_webhooky/metrics.
 *
 * Lock-free counters updated from any HTTP thread; rendering reads them without stopping the
 * receiver. Endpoints are numbered as in the config, with slot 0 for the catch-all. */
#ifndef WEBHOOKY_METRICS_H
#define WEBHOOKY_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "wh_error.h"
#include "writer.h"

typedef struct metrics metrics;

/* `cfg` is borrowed and must outlive the metrics (endpoint names are read when rendering). */
int metrics_create(const struct config *cfg, metrics **ret, struct wh_error *err);
void metrics_destroy(metrics *m);

/* One answered delivery. slot: 0 catch-all, i + 1 for cfg->endpoints[i]. */
void metrics_observe_delivery(metrics *m, size_t slot, int status, uint64_t bytes,
                              int64_t duration_us);
/* The signature verdict of a delivery to an endpoint with a scheme (enum sig_status). */
void metrics_observe_signature(metrics *m, size_t slot, int status);

/* The schema verdict of a delivery to an endpoint with schemas ("valid", "invalid",
 * "no_schema", "not_json"); failed: it counts as a failure (no_schema only with require). */
void metrics_observe_schema(metrics *m, size_t slot, const char *status, bool failed);

/* A delivery that could not be stored (answered 5xx). */
/* A delivery a response script answered with a fault ("reset", "close", "hang", "dribble",
 * "partial", "malformed"; other names are ignored). */
void metrics_observe_fault(metrics *m, size_t slot, const char *fault);
void metrics_observe_store_error(metrics *m);

/* Append the Prometheus text exposition (version 0.0.4). */
int metrics_render(metrics *m, const struct writer_stats *ws, struct buf *out);

#endif

/* jsonschema_meta: the draft-07 meta-schema, bundled so that "$ref":
 * "http://json-schema.org/draft-07/schema#" resolves and `webhooky schema check` works without
 * the network. */
#ifndef WEBHOOKY_JSONSCHEMA_META_H
#define WEBHOOKY_JSONSCHEMA_META_H

/* Its URI (without the empty fragment) and its JSON text (NUL-terminated, static). */
#define JSONSCHEMA_META_DRAFT07_URI "http://json-schema.org/draft-07/schema"
extern const char jsonschema_meta_draft07[];

#endif

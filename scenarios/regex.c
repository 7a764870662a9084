#include "regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdlib.h>

#define MATCH_LIMIT 1000000u

struct regex {
    pcre2_code *code;
};

int regex_compile(const char *pattern, regex **ret, struct wh_error *err)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                  PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off, NULL);
    if (!c) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof(msg));
        return wh_error_set(err, -EINVAL, "invalid regular expression at offset %zu: %s",
                            (size_t)off, (const char *)msg);
    }
    regex *re = malloc(sizeof(*re));
    if (!re) {
        pcre2_code_free(c);
        return wh_error_set(err, -ENOMEM, "out of memory");
    }
    re->code = c;
    *ret = re;
    return 0;
}

void regex_destroy(regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    free(re);
}

bool regex_search(const regex *re, const char *s, size_t len)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    if (!md || !mc) {
        pcre2_match_data_free(md);
        pcre2_match_context_free(mc);
        return false;
    }
    pcre2_set_match_limit(mc, MATCH_LIMIT);
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, md, mc);
    pcre2_match_data_free(md);
    pcre2_match_context_free(mc);
    return rc >= 0;
}

#include "jsonptr.h"

#include <stdlib.h>
#include <string.h>

bool jsonptr_valid(const char *ptr)
{
    if (!ptr)
        return false;
    if (*ptr && *ptr != '/')
        return false;
    for (const char *p = ptr; *p; p++)
        if (*p == '~' && p[1] != '0' && p[1] != '1')
            return false;
    return true;
}

json_t *jsonptr_get(json_t *doc, const char *ptr)
{
    if (!jsonptr_valid(ptr))
        return NULL;
    json_t *cur = doc;
    char seg[1024];
    const char *p = ptr;
    while (cur && *p == '/') {
        p++;
        size_t n = 0;
        while (*p && *p != '/') {
            char c = *p++;
            if (c == '~')
                c = *p++ == '0' ? '~' : '/';
            if (n + 1 >= sizeof(seg))
                return NULL;
            seg[n++] = c;
        }
        seg[n] = '\0';
        if (json_is_object(cur)) {
            cur = json_object_getn(cur, seg, n);
        } else if (json_is_array(cur)) {
            if (n == 0 || n > 9 || strspn(seg, "0123456789") != n || (n > 1 && seg[0] == '0'))
                return NULL;
            cur = json_array_get(cur, strtoul(seg, NULL, 10));
        } else {
            return NULL;
        }
    }
    return cur;
}

#include "seen.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define KEY_MAX 80

struct entry {
    uint64_t hash;
    size_t ring_pos; /* where the ring points at this entry */
    unsigned char len;
    char key[KEY_MAX];
    bool used;
};

struct seen_set {
    pthread_mutex_t lock;
    struct entry *table; /* open addressing, linear probing; twice the capacity */
    size_t slots;
    size_t *ring; /* table index of each live key, oldest at `head` */
    size_t capacity, head, count;
};

int seen_set_create(size_t capacity, seen_set **ret, struct wh_error *err)
{
    if (capacity == 0)
        capacity = 1;
    seen_set *s = calloc(1, sizeof(*s));
    if (!s)
        return wh_error_set(err, -ENOMEM, "out of memory");
    s->capacity = capacity;
    s->slots = capacity * 2;
    s->table = calloc(s->slots, sizeof(*s->table));
    s->ring = calloc(capacity, sizeof(*s->ring));
    if (!s->table || !s->ring) {
        seen_set_destroy(s);
        return wh_error_set(err, -ENOMEM, "out of memory");
    }
    pthread_mutex_init(&s->lock, NULL);
    *ret = s;
    return 0;
}

void seen_set_destroy(seen_set *s)
{
    if (!s)
        return;
    if (s->table)
        pthread_mutex_destroy(&s->lock);
    free(s->table);
    free(s->ring);
    free(s);
}

/* Remove the entry at slot i and re-place the probe run after it (backward-shift deletion). */
static void remove_slot(seen_set *s, size_t i)
{
    s->table[i].used = false;
    size_t j = i;
    for (;;) {
        j = (j + 1) % s->slots;
        if (!s->table[j].used)
            return;
        size_t home = s->table[j].hash % s->slots;
        /* can the entry at j move to the hole at i? only if i lies between home and j */
        bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
        if (!movable)
            continue;
        s->table[i] = s->table[j];
        s->table[j].used = false;
        s->ring[s->table[i].ring_pos] = i;
        i = j;
    }
}

bool seen_set_check_add(seen_set *s, const void *key, size_t len)
{
    if (len > KEY_MAX)
        len = KEY_MAX;
    uint64_t h = hash_fnv1a64(key, len);
    pthread_mutex_lock(&s->lock);
    size_t i = h % s->slots;
    while (s->table[i].used) {
        struct entry *e = &s->table[i];
        if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0) {
            pthread_mutex_unlock(&s->lock);
            return true;
        }
        i = (i + 1) % s->slots;
    }
    if (s->count == s->capacity) {
        /* forget the oldest key; its removal may shift the probe run we stopped in */
        remove_slot(s, s->ring[s->head]);
        s->head = (s->head + 1) % s->capacity;
        s->count--;
        i = h % s->slots;
        while (s->table[i].used)
            i = (i + 1) % s->slots;
    }
    struct entry *e = &s->table[i];
    e->used = true;
    e->hash = h;
    e->len = (unsigned char)len;
    memcpy(e->key, key, len);
    e->ring_pos = (s->head + s->count) % s->capacity;
    s->ring[e->ring_pos] = i;
    s->count++;
    pthread_mutex_unlock(&s->lock);
    return false;
}

/* Password verification cache; see pwcache.h. */
#include "pwcache.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hmap.h"
#include "ratelimit.h"

#define PWCACHE_USER_MAX 32 /* longest account name (NAME_MAX_LEN) */
/* The table key: the MAC in unpadded URL-safe base64 (44 bytes with the NUL; hex took 65). */
#define PWCACHE_KEY_TEXT sodium_base64_ENCODED_LEN(PWCACHE_MAC_LEN, sodium_base64_VARIANT_URLSAFE_NO_PADDING)

/* In a cluster every node holds every node's entries (pwshare.c): ~90 B each, the name sized to fit. */
struct pwentry {
    struct pwentry *prev;                /* towards the most recently used */
    struct pwentry *next;                /* towards the least recently used */
    double expires;                      /* monotonic expiry */
    char key[PWCACHE_KEY_TEXT];          /* the MAC as text (table key) */
    char user[];                         /* account (revocation), NUL-terminated */
};

struct pwcache {
    uint8_t key[PWCACHE_KEY_LEN];        /* server secret */
    size_t max;                          /* entries at most (0 = off) */
    long ttl;                            /* seconds an entry lives */
    struct hmap map;                     /* hex -> struct pwentry */
    struct pwentry *head, *tail;         /* most / least recently used */
    const struct pwcache_remote *remote; /* the cluster's copy, or NULL */
};

struct pwcache *pwcache_new(const uint8_t key[PWCACHE_KEY_LEN], size_t max, long ttl)
{
    struct pwcache *pc = calloc(1, sizeof *pc);
    if (!pc) return NULL;
    memcpy(pc->key, key, PWCACHE_KEY_LEN);
    pc->max = max;
    pc->ttl = ttl;
    hmap_init(&pc->map);
    return pc;
}

static void unlink_entry(struct pwcache *pc, struct pwentry *e)
{
    if (e->prev) e->prev->next = e->next;
    else pc->head = e->next;
    if (e->next) e->next->prev = e->prev;
    else pc->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(struct pwcache *pc, struct pwentry *e)
{
    e->prev = NULL;
    e->next = pc->head;
    if (pc->head) pc->head->prev = e;
    pc->head = e;
    if (!pc->tail) pc->tail = e;
}

static void drop(struct pwcache *pc, struct pwentry *e)
{
    hmap_del(&pc->map, e->key);
    unlink_entry(pc, e);
    sodium_memzero(e, sizeof *e + strlen(e->user));
    free(e);
}

void pwcache_free(struct pwcache *pc)
{
    if (!pc) return;
    while (pc->head) drop(pc, pc->head);
    hmap_free(&pc->map);
    sodium_memzero(pc->key, sizeof pc->key);
    free(pc);
}

void pwcache_set_remote(struct pwcache *pc, const struct pwcache_remote *r) { pc->remote = r; }

const struct pwcache_remote *pwcache_remote_of(const struct pwcache *pc) { return pc->remote; }

int pwcache_enabled(const struct pwcache *pc) { return pc && pc->max > 0; }

size_t pwcache_len(const struct pwcache *pc) { return pc->map.len; }

void pwcache_mac(const struct pwcache *pc, const char *user, const char *pwhash, const char *password,
                 uint8_t out[PWCACHE_MAC_LEN])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, pc->key, PWCACHE_KEY_LEN, PWCACHE_MAC_LEN);
    /* Each part with its terminating 0: none of them holds a 0, so the split is unambiguous. */
    crypto_generichash_update(&st, (const uint8_t *)user, strlen(user) + 1);
    crypto_generichash_update(&st, (const uint8_t *)pwhash, strlen(pwhash) + 1);
    crypto_generichash_update(&st, (const uint8_t *)password, strlen(password) + 1);
    crypto_generichash_final(&st, out, PWCACHE_MAC_LEN);
    sodium_memzero(&st, sizeof st);
}

static void to_hex(const uint8_t mac[PWCACHE_MAC_LEN], char hex[PWCACHE_KEY_TEXT])
{
    sodium_bin2base64(hex, PWCACHE_KEY_TEXT, mac, PWCACHE_MAC_LEN, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int pwcache_hit(struct pwcache *pc, const uint8_t mac[PWCACHE_MAC_LEN])
{
    if (!pwcache_enabled(pc)) return 0;
    char hex[PWCACHE_KEY_TEXT];
    to_hex(mac, hex);
    struct pwentry *e = hmap_get(&pc->map, hex);
    if (!e) return 0;
    if (e->expires <= rl_now()) {
        drop(pc, e);
        return 0;
    }
    unlink_entry(pc, e);
    push_front(pc, e);
    return 1;
}

void pwcache_put(struct pwcache *pc, const char *user, const uint8_t mac[PWCACHE_MAC_LEN], int remote)
{
    if (!pwcache_enabled(pc)) return;
    if (remote && pc->remote) pc->remote->put(pc->remote->arg, mac, pc->ttl);
    char hex[PWCACHE_KEY_TEXT];
    to_hex(mac, hex);
    double expires = rl_now() + (double)pc->ttl;
    struct pwentry *e = hmap_get(&pc->map, hex);
    if (e) { /* verified again: lives ttl from now */
        e->expires = expires;
        unlink_entry(pc, e);
        push_front(pc, e);
        return;
    }
    while (pc->map.len >= pc->max && pc->tail) drop(pc, pc->tail);
    size_t ulen = strnlen(user, PWCACHE_USER_MAX);
    if (!(e = calloc(1, sizeof *e + ulen + 1))) return; /* out of memory: the next login pays the hash again */
    memcpy(e->key, hex, sizeof hex);
    memcpy(e->user, user, ulen);
    e->expires = expires;
    if (hmap_put(&pc->map, e->key, e) < 0) {
        free(e);
        return;
    }
    push_front(pc, e);
}

size_t pwcache_revoke(struct pwcache *pc, const char *user)
{
    size_t n = 0;
    if (!pc) return 0;
    for (struct pwentry *e = pc->head, *next; e; e = next) {
        next = e->next;
        if (!strcmp(e->user, user)) {
            drop(pc, e);
            n++;
        }
    }
    return n;
}

int pwcache_load_key(const char *path, uint8_t key[PWCACHE_KEY_LEN], char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        /* First start: a new secret, written to a temporary name and linked into place, so two
         * processes starting at once agree on one and nobody reads a half-written file. */
        uint8_t fresh[PWCACHE_KEY_LEN];
        char tmp[4096];
        randombytes_buf(fresh, sizeof fresh);
        if ((size_t)snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= sizeof tmp) {
            snprintf(err, errlen, "password cache key path too long");
            return -1;
        }
        int w = mkstemp(tmp); /* mode 0600 */
        if (w < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return -1;
        }
        ssize_t n = write(w, fresh, sizeof fresh);
        int bad = n != (ssize_t)sizeof fresh || fsync(w) < 0;
        close(w);
        sodium_memzero(fresh, sizeof fresh);
        if (!bad && link(tmp, path) < 0 && errno != EEXIST) bad = 1;
        unlink(tmp);
        if (bad) {
            snprintf(err, errlen, "%s: cannot write the password cache key", path);
            return -1;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    uint8_t buf[PWCACHE_KEY_LEN + 1];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n != PWCACHE_KEY_LEN) {
        sodium_memzero(buf, sizeof buf);
        snprintf(err, errlen, "%s: a password cache key is exactly %d bytes (got %zd)", path, PWCACHE_KEY_LEN, n);
        return -1;
    }
    memcpy(key, buf, PWCACHE_KEY_LEN);
    sodium_memzero(buf, sizeof buf);
    return 0;
}

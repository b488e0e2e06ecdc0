/* libFuzzer harness: the AMF gateway core (gateway_handle) on arbitrary request bodies, once with a
 * logged-in session's cookie and once without, over an in-memory store (one account, phonebooks kept
 * in memory).  Checks: only 200/400/413 come back, and every 200 reply is an envelope libamf decodes
 * completely. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <amf/amf.h>

#include "gateway.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(c)                                                                   \
    do {                                                                              \
        if (!(c)) {                                                                   \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);     \
            abort();                                                                  \
        }                                                                             \
    } while (0)

static char g_hash[crypto_pwhash_STRBYTES]; /* argon2id of "secret" (minimum cost) */
static uint8_t *g_blob;                     /* alice's phonebook */
static size_t g_blob_len;                   /* its length */
static int g_has_blob;                      /* g_blob is set */

static int mem_user_get(struct store *st, const char *name, struct store_user *out)
{
    (void)st;
    if (strcmp(name, "alice") != 0) return STORE_NOTFOUND;
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", name);
    snprintf(out->pwhash, sizeof out->pwhash, "%s", g_hash);
    return STORE_OK;
}

static long mem_pb_get(struct store *st, const char *user, uint8_t **data)
{
    (void)st;
    if (strcmp(user, "alice") != 0 || !g_has_blob) return STORE_NOTFOUND;
    *data = malloc(g_blob_len ? g_blob_len : 1);
    if (!*data) return STORE_ERR;
    memcpy(*data, g_blob, g_blob_len);
    return (long)g_blob_len;
}

static int mem_pb_put(struct store *st, const char *user, const uint8_t *data, size_t len)
{
    (void)st;
    if (strcmp(user, "alice") != 0) return STORE_ERR;
    uint8_t *c = malloc(len ? len : 1);
    if (!c) return STORE_ERR;
    memcpy(c, data, len);
    free(g_blob);
    g_blob = c;
    g_blob_len = len;
    g_has_blob = 1;
    return STORE_OK;
}

static struct store g_store;
static struct gateway *g_gw;
static char g_cookie[GW_COOKIE_LEN + 1];

static void check_reply(const struct gw_response *r)
{
    FZ_CHECK(r->status == 200 || r->status == 400 || r->status == 413);
    FZ_CHECK(r->body && r->len > 0);
    if (r->status != 200) return;
    amf_arena *a = amf_arena_new(0);
    FZ_CHECK(a);
    struct amf_packet p;
    size_t off;
    int e = amf_packet_decode(NULL, a, r->body, r->len, &p, &off);
    if (e) fprintf(stderr, "reply does not decode: %s at %zu\n", amf_strerror(e), off);
    FZ_CHECK(e == 0);
    for (uint32_t i = 0; i < p.body_count; i++) {
        const struct amf_str *t = &p.bodies[i].target;
        FZ_CHECK(t->len >= 9 && (!memcmp(t->ptr + t->len - 9, "/onResult", 9) ||
                                 !memcmp(t->ptr + t->len - 9, "/onStatus", 9)));
    }
    amf_arena_free(a);
}

static void setup(void)
{
    if (g_gw) return;
    FZ_CHECK(sodium_init() >= 0);
    FZ_CHECK(crypto_pwhash_str(g_hash, "secret", 6, crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN) == 0);
    g_store.user_get = mem_user_get;
    g_store.phonebook_get = mem_pb_get;
    g_store.phonebook_put = mem_pb_put;
    struct gateway_config c;
    gateway_config_default(&c);
    c.max_body = 1u << 16;
    c.max_sessions = 64;
    c.phonebook_max = 10;
    c.throttle.rate = 1000000;
    c.throttle.burst = 1000000;
    c.throttle.addr_max_failures = 1000000;
    char err[128];
    g_gw = gateway_new(&c, &g_store, err, sizeof err);
    FZ_CHECK(g_gw);
    /* Phonebook.login("alice", "secret") as a classic AMF0 call, to get a logged-in cookie. */
    static const uint8_t login[] = {0, 0, 0, 0, 0, 1, 0, 15, 'P', 'h', 'o', 'n', 'e', 'b', 'o', 'o', 'k', '.', 'l',
                                    'o', 'g', 'i', 'n', 0, 2, '/', '1', 0, 0, 0, 0x16, 0x0a, 0, 0, 0, 2, 0x02, 0,
                                    5, 'a', 'l', 'i', 'c', 'e', 0x02, 0, 6, 's', 'e', 'c', 'r', 'e', 't'};
    struct gw_request in = {login, sizeof login, "application/x-amf", NULL, "127.0.0.1", 1};
    struct gw_response out;
    gateway_handle(g_gw, &in, &out);
    FZ_CHECK(out.status == 200 && out.set_cookie[0]);
    memcpy(g_cookie, out.set_cookie, sizeof g_cookie);
    free(out.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    for (int pass = 0; pass < 2; pass++) {
        struct gw_request in = {data, size, "application/x-amf", pass ? NULL : g_cookie, pass ? "10.0.0.9" : "127.0.0.1",
                                1};
        struct gw_response out;
        gateway_handle(g_gw, &in, &out);
        check_reply(&out);
        free(out.body);
    }
    /* The same bytes as the head of a request over max_body: only the framing is walked to answer
     * each body with a fault (the caller passes at least GW_HEAD_MAX bytes of it). */
    static uint8_t head[GW_HEAD_MAX];
    memset(head, 0, sizeof head);
    memcpy(head, data, size < sizeof head ? size : sizeof head);
    struct gw_request big = {head, (1u << 16) + 1 + size, "application/x-amf", g_cookie, "127.0.0.1", 1};
    struct gw_response out;
    gateway_handle(g_gw, &big, &out);
    check_reply(&out);
    free(out.body);
    return 0;
}

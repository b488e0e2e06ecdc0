/* CPU cost of the AMF gateway core per request, without HTTP: gateway_handle() on the same bodies
 * bench_gateway.py sends through wrk (Phonebook.sync() reading 10 stored PhoneEntry objects, and
 * Phonebook.sync(10 entries) writing them through the real SQLite store in a temp directory).
 * usage: bench-gateway-core [SECONDS_PER_CASE] */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <amf/amf.h>

#include "gateway.h"
#include "store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void encode(amf_arena *a, const char *target, struct amf_value *args, int version, struct amf_buf *out)
{
    struct amf_packet p;
    amf_packet_init(&p, (uint16_t)version);
    amf_packet_add_body(a, &p, target, "/1", args);
    amf_buf_init(out, 0);
    if (amf_packet_encode(NULL, &p, out)) exit(1);
}

static void run(struct gateway *gw, const char *name, const struct amf_buf *body, const char *cookie, double secs)
{
    struct gw_request in = {body->data, body->len, "application/x-amf", cookie, "127.0.0.1", 1};
    struct gw_response out;
    long n = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 200; i++, n++) {
            gateway_handle(gw, &in, &out);
            if (out.status != 200 || !memmem(out.body, out.len, "/1/onResult", 11)) {
                fprintf(stderr, "%s: unexpected reply (status %d)\n", name, out.status);
                exit(1);
            }
            free(out.body);
        }
        t = now_s() - t0;
    } while (t < secs);
    printf("%-34s %8.2f us/request  %9.0f requests/s on one core  (%zu-byte request)\n", name, t / (double)n * 1e6,
           (double)n / t, body->len);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3.0;
    char dir[] = "/tmp/gwbench.XXXXXX", err[256], hash[crypto_pwhash_STRBYTES];
    if (sodium_init() < 0 || !mkdtemp(dir)) return 1;
    int created;
    struct store *st = store_sqlite_open(dir, &created, err, sizeof err);
    if (!st || crypto_pwhash_str(hash, "pw", 2, crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN) ||
        st->user_add(st, "bench", hash, NULL, NULL))
        return 1;
    struct gateway_config cfg;
    gateway_config_default(&cfg);
    struct gateway *gw = gateway_new(&cfg, st, err, sizeof err);
    if (!gw) return 1;
    amf_arena *a = amf_arena_new(0);
    struct amf_value *login = amf_new_array(a), *list = amf_new_array(a), *write = amf_new_array(a);
    amf_array_push(a, login, amf_new_stringz(a, "bench"));
    amf_array_push(a, login, amf_new_stringz(a, "pw"));
    static const char *const sealed[] = {"name", "phone", "email"};
    const struct amf_traits *tr = amf_new_traits(a, "PhoneEntry", sealed, 3, 0, 0);
    for (int i = 0; i < 10; i++) {
        char s[64];
        struct amf_value *e = amf_new_object_traits(a, tr);
        snprintf(s, sizeof s, "Person %02d", i);
        amf_object_set(a, e, "name", amf_new_stringz(a, s));
        snprintf(s, sizeof s, "+1 555 01%02d", i);
        amf_object_set(a, e, "phone", amf_new_stringz(a, s));
        snprintf(s, sizeof s, "person%02d@example.com", i);
        amf_object_set(a, e, "email", amf_new_stringz(a, s));
        amf_array_push(a, list, e);
    }
    list->flags |= AMF_VF_AVMPLUS;
    amf_array_push(a, write, list);
    struct amf_buf b_login, b_read, b_write;
    encode(a, "Phonebook.login", login, 0, &b_login);
    encode(a, "Phonebook.sync", amf_new_array(a), 3, &b_read);
    encode(a, "Phonebook.sync", write, 3, &b_write);
    struct gw_request in = {b_login.data, b_login.len, "application/x-amf", NULL, "127.0.0.1", 1};
    struct gw_response out;
    gateway_handle(gw, &in, &out);
    free(out.body);
    if (!out.set_cookie[0]) return 1;
    char cookie[GW_COOKIE_LEN + 1];
    memcpy(cookie, out.set_cookie, sizeof cookie);
    run(gw, "write Phonebook.sync(10 entries)", &b_write, cookie, secs);
    run(gw, "read  Phonebook.sync()", &b_read, cookie, secs);
    amf_buf_free(&b_login);
    amf_buf_free(&b_read);
    amf_buf_free(&b_write);
    amf_arena_free(a);
    gateway_free(gw);
    st->close(st);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}

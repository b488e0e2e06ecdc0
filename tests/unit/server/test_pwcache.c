/* The password verification cache (server/auth/pwcache.c) and the hash pool's use of it
 * (pwworker_verify_as): a hit skips the hash, a wrong password never hits, a new hash (passwd) or a
 * revocation ends the old entries, the table is bounded and entries expire, the cluster's copy is
 * asked on a local miss and told of a success, and a pool freed while the cluster's answer is on its
 * way does not touch freed memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pwcache.h"
#include "pwworker.h"

static const uint8_t KEY[PWCACHE_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                             17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

/* A cheap argon2id string of pw (the verify cost is not what is tested; whether it runs is). */
static void hash_of(const char *pw, char out[crypto_pwhash_STRBYTES])
{
    assert_int_equal(crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN), 0);
}

struct answer {
    int got; /* callbacks seen */
    int ok;  /* last verdict */
};

static void on_verdict(void *arg, int ok)
{
    struct answer *a = arg;
    a->got++;
    a->ok = ok;
}

/* Runs the loop until a's callback came (at most ~5 s). */
static void wait_answer(struct event_base *base, struct answer *a, int want)
{
    for (int i = 0; i < 5000 && a->got < want; i++) {
        struct timeval tv = {0, 1000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    assert_int_equal(a->got, want);
}

static int verify(struct event_base *base, struct pwworker *w, const char *user, const char *hash, const char *pw)
{
    struct answer a = {0, -2};
    assert_int_equal(pwworker_verify_as(w, user, hash, pw, on_verdict, &a), 0);
    assert_int_equal(a.got, 0); /* never inside the call, hit or not */
    wait_answer(base, &a, 1);
    return a.ok;
}

static void counts(struct pwworker *w, unsigned long long *hits, unsigned long long *hashed)
{
    pwworker_counts(w, hits, hashed);
}

static void test_hit_skips_the_hash(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct pwworker *w = pwworker_new(base, 1, 16);
    struct pwcache *pc = pwcache_new(KEY, 100, 3600);
    assert_non_null(w);
    assert_non_null(pc);
    pwworker_set_cache(w, pc);
    char h[crypto_pwhash_STRBYTES];
    hash_of("secret", h);
    unsigned long long hits, hashed;
    assert_int_equal(verify(base, w, "alice", h, "secret"), 1);
    counts(w, &hits, &hashed);
    assert_int_equal(hashed, 1);
    assert_int_equal(hits, 0);
    assert_int_equal(pwcache_len(pc), 1);
    assert_int_equal(verify(base, w, "alice", h, "secret"), 1);
    counts(w, &hits, &hashed);
    assert_int_equal(hashed, 1); /* the second login did not hash */
    assert_int_equal(hits, 1);
    /* The same hash and password under another account name is another entry (a copied hash row
     * does not inherit the cache). */
    assert_int_equal(verify(base, w, "bob", h, "secret"), 1);
    counts(w, &hits, &hashed);
    assert_int_equal(hashed, 2);
    pwworker_free(w);
    pwcache_free(pc);
    event_base_free(base);
}

static void test_wrong_password_never_hits(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct pwworker *w = pwworker_new(base, 1, 16);
    struct pwcache *pc = pwcache_new(KEY, 100, 3600);
    pwworker_set_cache(w, pc);
    char h[crypto_pwhash_STRBYTES];
    hash_of("secret", h);
    unsigned long long hits, hashed;
    assert_int_equal(verify(base, w, "alice", h, "secret"), 1);
    for (int i = 0; i < 3; i++) assert_int_equal(verify(base, w, "alice", h, "Secret"), 0);
    assert_int_equal(verify(base, w, "alice", h, ""), 0);
    counts(w, &hits, &hashed);
    assert_int_equal(hashed, 5); /* every wrong one hashed, none cached */
    assert_int_equal(hits, 0);
    assert_int_equal(pwcache_len(pc), 1);
    pwworker_free(w);
    pwcache_free(pc);
    event_base_free(base);
}

static void test_new_hash_and_revocation_end_entries(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct pwworker *w = pwworker_new(base, 1, 16);
    struct pwcache *pc = pwcache_new(KEY, 100, 3600);
    pwworker_set_cache(w, pc);
    char h1[crypto_pwhash_STRBYTES], h2[crypto_pwhash_STRBYTES];
    hash_of("old", h1);
    hash_of("new", h2); /* `ymsgd user passwd alice`: a new stored string */
    unsigned long long hits, hashed;
    assert_int_equal(verify(base, w, "alice", h1, "old"), 1);
    assert_int_equal(verify(base, w, "carol", h1, "old"), 1);
    assert_int_equal(verify(base, w, "alice", h2, "old"), 0); /* the old password against the new hash */
    counts(w, &hits, &hashed);
    assert_int_equal(hits, 0);
    assert_int_equal(hashed, 3);
    assert_int_equal(pwcache_revoke(pc, "alice"), 1);
    assert_int_equal(pwcache_len(pc), 1); /* carol's stays */
    /* Revoked: even the old (hash, password) pair hashes again. */
    assert_int_equal(verify(base, w, "alice", h1, "old"), 1);
    counts(w, &hits, &hashed);
    assert_int_equal(hashed, 4);
    assert_int_equal(verify(base, w, "carol", h1, "old"), 1);
    counts(w, &hits, &hashed);
    assert_int_equal(hits, 1);
    pwworker_free(w);
    pwcache_free(pc);
    event_base_free(base);
}

static void test_bounded_and_expiring(void **state)
{
    (void)state;
    struct pwcache *pc = pwcache_new(KEY, 3, 1);
    uint8_t mac[10][PWCACHE_MAC_LEN];
    char user[16];
    for (int i = 0; i < 10; i++) {
        snprintf(user, sizeof user, "u%d", i);
        pwcache_mac(pc, user, "$argon2id$x", "pw", mac[i]);
        pwcache_put(pc, user, mac[i], 0);
        assert_true(pwcache_len(pc) <= 3);
    }
    assert_int_equal(pwcache_len(pc), 3);
    assert_int_equal(pwcache_hit(pc, mac[0]), 0); /* least recently used went first */
    assert_int_equal(pwcache_hit(pc, mac[7]), 1);
    /* mac[7] is now the most recent: the next put evicts mac[8]. */
    pwcache_put(pc, "u10", mac[0], 0);
    assert_int_equal(pwcache_hit(pc, mac[8]), 0);
    assert_int_equal(pwcache_hit(pc, mac[7]), 1);
    assert_int_equal(pwcache_hit(pc, mac[9]), 1);
    sleep(2); /* ttl 1 s */
    assert_int_equal(pwcache_hit(pc, mac[7]), 0);
    assert_int_equal(pwcache_hit(pc, mac[9]), 0);
    assert_int_equal(pwcache_hit(pc, mac[0]), 0);
    assert_int_equal(pwcache_len(pc), 0); /* expired entries found are dropped */
    pwcache_free(pc);
    /* Off (max 0): nothing kept. */
    pc = pwcache_new(KEY, 0, 60);
    pwcache_put(pc, "u1", mac[1], 0);
    assert_int_equal(pwcache_len(pc), 0);
    assert_int_equal(pwcache_hit(pc, mac[1]), 0);
    pwcache_free(pc);
}

static void test_mac_depends_on_every_part_and_key(void **state)
{
    (void)state;
    uint8_t other_key[PWCACHE_KEY_LEN];
    memcpy(other_key, KEY, sizeof other_key);
    other_key[0] ^= 1;
    struct pwcache *a = pwcache_new(KEY, 10, 60), *b = pwcache_new(other_key, 10, 60);
    uint8_t m[6][PWCACHE_MAC_LEN];
    pwcache_mac(a, "alice", "H", "pw", m[0]);
    pwcache_mac(a, "alice", "H", "pw", m[1]);
    assert_memory_equal(m[0], m[1], PWCACHE_MAC_LEN);
    pwcache_mac(b, "alice", "H", "pw", m[1]);
    pwcache_mac(a, "alicE", "H", "pw", m[2]);
    pwcache_mac(a, "alice", "h", "pw", m[3]);
    pwcache_mac(a, "alice", "H", "pW", m[4]);
    pwcache_mac(a, "alice", "Hp", "w", m[5]); /* parts are not just concatenated */
    for (int i = 1; i < 6; i++) assert_memory_not_equal(m[0], m[i], PWCACHE_MAC_LEN);
    pwcache_free(a);
    pwcache_free(b);
}

/* A fake cluster copy: remembers what was put, answers gets when told to. */
struct fake_remote {
    uint8_t stored[8][PWCACHE_MAC_LEN]; /* entries put */
    int nstored;                        /* how many */
    pwcache_done_fn done;               /* the question in flight */
    void *ticket;                       /* its ticket */
    int asked;                          /* gets seen */
    int down;                           /* refuse questions (-1) */
};

static int fake_get(void *arg, const uint8_t mac[PWCACHE_MAC_LEN], pwcache_done_fn done, void *ticket)
{
    struct fake_remote *f = arg;
    if (f->down) return -1;
    f->asked++;
    f->done = done;
    f->ticket = ticket;
    (void)mac;
    return 0;
}

static void fake_put(void *arg, const uint8_t mac[PWCACHE_MAC_LEN], long ttl)
{
    struct fake_remote *f = arg;
    assert_int_equal(ttl, 3600);
    if (f->nstored < 8) memcpy(f->stored[f->nstored++], mac, PWCACHE_MAC_LEN);
}

static void test_cluster_copy(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct pwworker *w = pwworker_new(base, 1, 16);
    struct pwcache *pc = pwcache_new(KEY, 100, 3600);
    struct fake_remote f = {0};
    struct pwcache_remote r = {fake_get, fake_put, &f};
    pwworker_set_cache(w, pc);
    pwcache_set_remote(pc, &r);
    char h[crypto_pwhash_STRBYTES];
    hash_of("secret", h);
    unsigned long long hits, hashed;
    /* Local miss, cluster miss: hashed, and the success is told to the cluster. */
    struct answer a = {0, -2};
    assert_int_equal(pwworker_verify_as(w, "alice", h, "secret", on_verdict, &a), 0);
    assert_int_equal(f.asked, 1);
    f.done(f.ticket, 0);
    wait_answer(base, &a, 1);
    assert_int_equal(a.ok, 1);
    assert_int_equal(f.nstored, 1);
    uint8_t want[PWCACHE_MAC_LEN];
    pwcache_mac(pc, "alice", h, "secret", want);
    assert_memory_equal(f.stored[0], want, PWCACHE_MAC_LEN);
    /* Another node verified bob: here a local miss, a cluster hit, no hash, and local from now on. */
    a.got = 0;
    assert_int_equal(pwworker_verify_as(w, "bob", h, "secret", on_verdict, &a), 0);
    assert_int_equal(f.asked, 2);
    f.done(f.ticket, 1);
    wait_answer(base, &a, 1);
    assert_int_equal(a.ok, 1);
    counts(w, &hits, &hashed);
    assert_int_equal(hashed, 1);
    assert_int_equal(hits, 1);
    assert_int_equal(verify(base, w, "bob", h, "secret"), 1);
    assert_int_equal(f.asked, 2); /* answered locally */
    /* Redis unreachable: the check is hashed, not lost. */
    f.down = 1;
    assert_int_equal(verify(base, w, "carol", h, "secret"), 1);
    counts(w, &hits, &hashed);
    assert_int_equal(hashed, 2);
    /* The pool goes while a question is out: its caller hears -1 now, the late answer touches nothing. */
    f.down = 0;
    a.got = 0;
    assert_int_equal(pwworker_verify_as(w, "dave", h, "secret", on_verdict, &a), 0);
    assert_int_equal(f.asked, 3);
    pwworker_free(w);
    assert_int_equal(a.got, 1);
    assert_int_equal(a.ok, -1);
    f.done(f.ticket, 1);
    pwcache_free(pc);
    event_base_free(base);
}

static void test_key_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/pwcache-test-XXXXXX", path[256], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/pwcache.key", dir);
    uint8_t k1[PWCACHE_KEY_LEN], k2[PWCACHE_KEY_LEN];
    assert_int_equal(pwcache_load_key(path, k1, err, sizeof err), 0); /* created */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, PWCACHE_KEY_LEN);
    assert_int_equal(pwcache_load_key(path, k2, err, sizeof err), 0); /* read back */
    assert_memory_equal(k1, k2, sizeof k1);
    FILE *fp = fopen(path, "ab");
    fputc('x', fp);
    fclose(fp);
    assert_int_equal(pwcache_load_key(path, k2, err, sizeof err), -1); /* 33 bytes: refused */
    assert_non_null(strstr(err, "exactly 32 bytes"));
    unlink(path);
    snprintf(path, sizeof path, "%s/missing/pwcache.key", dir);
    assert_int_equal(pwcache_load_key(path, k2, err, sizeof err), -1);
    rmdir(dir);
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_skips_the_hash),
        cmocka_unit_test(test_wrong_password_never_hits),
        cmocka_unit_test(test_new_hash_and_revocation_end_entries),
        cmocka_unit_test(test_bounded_and_expiring),
        cmocka_unit_test(test_mac_depends_on_every_part_and_key),
        cmocka_unit_test(test_cluster_copy),
        cmocka_unit_test(test_key_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

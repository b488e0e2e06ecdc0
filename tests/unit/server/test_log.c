/* Unit tests for server/core/log.c: the per-connection, per-address and global limits on repeated
 * events, the "N similar messages suppressed" summaries, and libevent's messages going through them.
 * stderr is redirected to a temporary file and read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/util.h>

#include "log.h"

static FILE *g_cap;    /* the file stderr points to during a test */
static int g_saved_fd; /* the real stderr */

static void capture_start(void)
{
    fflush(stderr);
    g_cap = tmpfile();
    assert_non_null(g_cap);
    g_saved_fd = dup(STDERR_FILENO);
    assert_true(dup2(fileno(g_cap), STDERR_FILENO) >= 0);
}

/* Restores stderr; returns what was written (caller frees). */
static char *capture_end(void)
{
    fflush(stderr);
    dup2(g_saved_fd, STDERR_FILENO);
    close(g_saved_fd);
    long n = ftell(g_cap);
    char *buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    rewind(g_cap);
    assert_int_equal(fread(buf, 1, (size_t)n, g_cap), (size_t)n);
    fclose(g_cap);
    return buf;
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

/* Limits so small and slow that a test's run time does not refill a bucket noticeably. */
static void tight_limits(void)
{
    struct log_limits lim = {0.001, 5, 0.001, 12, 0.001, 40};
    log_set_limits(&lim);
    log_set_level(LOG_DEBUG);
}

static void test_per_connection(void **state)
{
    (void)state;
    tight_limits();
    capture_start();
    for (int i = 0; i < 1000; i++) log_event(LOG_INFO, "10.0.0.1:1000", NULL, "malformed", -3, "frame %d", i);
    log_event(LOG_INFO, "10.0.0.1:1000", "alice", "login", 0, NULL); /* another event: its own budget */
    log_flush_suppressed();
    char *out = capture_end();
    assert_int_equal(count(out, "event=malformed code="), 5);
    assert_int_equal(count(out, "event=login"), 1);
    assert_non_null(strstr(out, "peer=10.0.0.1:1000 user=- event=log_suppressed code=995 msg=\"995 similar messages "
                                "suppressed: event=malformed scope=connection\""));
    free(out);
}

static void test_per_address_and_global(void **state)
{
    (void)state;
    tight_limits();
    capture_start();
    /* 100 connections (ports) of one address, 3 lines each: under the per-connection burst of 5,
     * over the address's 12 */
    char peer[64];
    for (int port = 0; port < 100; port++)
        for (int i = 0; i < 3; i++) {
            snprintf(peer, sizeof peer, "192.0.2.7:%d", 2000 + port);
            log_event(LOG_WARN, peer, NULL, "malformed", -3, NULL);
        }
    /* the IPv6 forms share one address budget too */
    for (int port = 0; port < 30; port++) {
        snprintf(peer, sizeof peer, "[2001:db8::1]:%d", port);
        log_event(LOG_WARN, peer, NULL, "malformed", -3, NULL);
    }
    for (int i = 0; i < 30; i++) log_event(LOG_WARN, "2001:db8::1", NULL, "malformed", -3, NULL);
    char *out = capture_end();
    assert_int_equal(count(out, "peer=192.0.2.7:"), 12);
    assert_int_equal(count(out, "2001:db8::1"), 12);
    free(out);

    /* many addresses: each within its own budgets, the event's global budget (40) is the backstop */
    tight_limits();
    capture_start();
    for (int a = 0; a < 500; a++) {
        snprintf(peer, sizeof peer, "198.51.100.%d:%d", a % 250, 1000 + a);
        log_event(LOG_INFO, peer, NULL, "http_bad_framing", 400, NULL);
    }
    log_event(LOG_INFO, NULL, NULL, "listening", 0, NULL);
    log_flush_suppressed();
    out = capture_end();
    assert_int_equal(count(out, "event=http_bad_framing code="), 40);
    assert_int_equal(count(out, "event=listening"), 1);
    assert_non_null(strstr(out, "460 similar messages suppressed: event=http_bad_framing scope=global"));
    free(out);
}

static void test_refill_writes_summary_first(void **state)
{
    (void)state;
    struct log_limits lim = {1000, 2, 1000, 100, 1000, 100};
    log_set_limits(&lim);
    capture_start();
    for (int i = 0; i < 10; i++) log_event(LOG_INFO, "10.1.1.1:5", NULL, "noise", 0, NULL);
    usleep(20000); /* 1000/s: the bucket is full again */
    log_event(LOG_INFO, "10.1.1.1:5", NULL, "noise", 0, "after");
    char *out = capture_end();
    const char *sum = strstr(out, "8 similar messages suppressed: event=noise scope=connection");
    const char *after = strstr(out, "msg=\"after\"");
    assert_non_null(sum);
    assert_non_null(after);
    assert_true(sum < after);
    free(out);
}

static void test_peer_addr(void **state)
{
    char a[64];
    (void)state;
    log_peer_addr("1.2.3.4:5050", a, sizeof a);
    assert_string_equal(a, "1.2.3.4");
    log_peer_addr("[::1]:80", a, sizeof a);
    assert_string_equal(a, "::1");
    log_peer_addr("::ffff:1.2.3.4", a, sizeof a);
    assert_string_equal(a, "::ffff:1.2.3.4");
    log_peer_addr("1.2.3.4", a, sizeof a);
    assert_string_equal(a, "1.2.3.4");
    log_peer_addr(NULL, a, sizeof a);
    assert_string_equal(a, "");
}

/* libevent's own warnings (here: fcntl on a bad descriptor) come out as event=libevent lines under
 * the same limits instead of unbounded "[warn] …" lines of libevent's default logger. */
static void test_libevent_routed(void **state)
{
    (void)state;
    tight_limits();
    struct event_base *base = event_base_new();
    assert_non_null(base);
    assert_int_equal(log_attach(base), 0);
    capture_start();
    for (int i = 0; i < 500; i++) assert_int_equal(evutil_make_socket_nonblocking(-1), -1);
    log_flush_suppressed();
    char *out = capture_end();
    log_detach();
    event_base_free(base);
    assert_int_equal(count(out, "event=libevent code="), 40);
    assert_int_equal(count(out, "[warn]"), 0);
    assert_non_null(strstr(out, "F_GETFL"));
    assert_non_null(strstr(out, "460 similar messages suppressed: event=libevent scope=global"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_connection),
        cmocka_unit_test(test_per_address_and_global),
        cmocka_unit_test(test_refill_writes_summary_first),
        cmocka_unit_test(test_peer_addr),
        cmocka_unit_test(test_libevent_routed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

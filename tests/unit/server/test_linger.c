/* The lingering close (server/core/linger.c) on real loopback TCP sockets: the answer reaches the peer with a
 * FIN while its input is drained, and every bound holds (bytes, time however the peer trickles, sockets at
 * once, a slow reader's abortive close, off). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "linger.h"
#include "server.h"

static struct server srv;
static struct config cfg;
static int lis = -1;

static int setup(void **state)
{
    (void)state;
    config_defaults(&cfg);
    srv.cfg = &cfg;
    srv.base = event_base_new();
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    lis = socket(AF_INET, SOCK_STREAM, 0);
    if (!srv.base || lis < 0 || bind(lis, (struct sockaddr *)&a, sizeof a) < 0 || listen(lis, 8) < 0) return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    linger_free_all();
    event_base_free(srv.base);
    close(lis);
    config_free(&cfg);
    return 0;
}

/* A connected pair: *server_side (accepted) and the returned client side. */
static int pair(int *server_side)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    getsockname(lis, (struct sockaddr *)&a, &al);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c >= 0);
    assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    *server_side = accept(lis, NULL, NULL);
    assert_true(*server_side >= 0);
    struct timeval tv = {2, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return c;
}

/* Runs the loop until no socket lingers or ms have passed; the milliseconds it took. */
static long run_until_none(long ms)
{
    struct timeval t0, t1;
    gettimeofday(&t0, NULL);
    for (;;) {
        gettimeofday(&t1, NULL);
        long el = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000;
        if (linger_count() == 0 || el >= ms) return el;
        struct timeval tick = {0, 10000};
        event_base_loopexit(srv.base, &tick);
        event_base_dispatch(srv.base);
    }
}

static void test_answer_then_fin_while_input_drained(void **state)
{
    (void)state;
    cfg.linger_ms = 2000;
    cfg.linger_bytes = 1 << 20;
    int s, c = pair(&s);
    char big[65536];
    memset(big, 'x', sizeof big);
    assert_int_equal(send(c, big, 1000, 0), 1000); /* unread at the close: a plain close resets */
    assert_int_equal(send(s, "answer", 6, 0), 6);
    linger_socket(&srv, s);
    close(s);
    assert_int_equal(linger_count(), 1);
    assert_int_equal(send(c, big, sizeof big, 0), (ssize_t)sizeof big); /* input after the close */
    run_until_none(100);
    char buf[16];
    assert_int_equal(recv(c, buf, sizeof buf, 0), 6);
    assert_memory_equal(buf, "answer", 6);
    assert_int_equal(recv(c, buf, sizeof buf, 0), 0); /* a FIN, not a reset */
    close(c);
    assert_true(run_until_none(1000) < 1000); /* the peer's end ends the lingering */
    assert_int_equal(linger_count(), 0);
}

static void test_bytes_bound(void **state)
{
    (void)state;
    cfg.linger_ms = 5000;
    cfg.linger_bytes = 4000;
    int s, c = pair(&s);
    linger_socket(&srv, s);
    close(s);
    char big[8000];
    memset(big, 'y', sizeof big);
    assert_int_equal(send(c, big, sizeof big, 0), (ssize_t)sizeof big);
    assert_true(run_until_none(2000) < 2000);
    close(c);
}

static void test_time_bound_even_when_trickled(void **state)
{
    (void)state;
    cfg.linger_ms = 200;
    cfg.linger_bytes = 1 << 20;
    int s, c = pair(&s);
    linger_socket(&srv, s);
    close(s);
    struct timeval t0, t1;
    gettimeofday(&t0, NULL);
    long el = 0;
    while (linger_count() && el < 3000) { /* a byte every 50 ms must not stretch the deadline */
        assert_int_equal(send(c, "z", 1, MSG_NOSIGNAL), 1);
        run_until_none(50);
        gettimeofday(&t1, NULL);
        el = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000;
    }
    assert_int_equal(linger_count(), 0);
    assert_true(el >= 190 && el < 1500);
    close(c);
}

static void test_cap_abortive_and_off(void **state)
{
    (void)state;
    cfg.linger_ms = 5000;
    cfg.linger_bytes = 1 << 20;
    cfg.linger_max = 1;
    int s1, c1 = pair(&s1), s2, c2 = pair(&s2);
    linger_socket(&srv, s1);
    linger_socket(&srv, s2); /* over linger_max: closed at once */
    assert_int_equal(linger_count(), 1);
    close(s1);
    close(s2);
    cfg.linger_max = 4096;
    int s3, c3 = pair(&s3);
    struct linger lg = {1, 0}; /* a slow reader's abortive close stays a reset */
    setsockopt(s3, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    linger_socket(&srv, s3);
    assert_int_equal(linger_count(), 1);
    close(s3);
    cfg.linger_ms = 0;
    int s4, c4 = pair(&s4);
    linger_socket(&srv, s4);
    assert_int_equal(linger_count(), 1);
    close(s4);
    linger_free_all(); /* the loop's end: every lingering socket goes */
    assert_int_equal(linger_count(), 0);
    char b;
    assert_int_equal(recv(c1, &b, 1, 0), 0);
    close(c1);
    close(c2);
    close(c3);
    close(c4);
    cfg.linger_ms = 2000;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_then_fin_while_input_drained),
        cmocka_unit_test(test_bytes_bound),
        cmocka_unit_test(test_time_bound_even_when_trickled),
        cmocka_unit_test(test_cap_abortive_and_off),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

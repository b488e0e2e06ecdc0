/* Fixture of the client session unit tests (test_session_*.c): a scripted server built with libymsg's
 * builder, a login that runs to the 0x54 or to ONLINE, and checks of what the session sends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "session_fixture.h"

char logbuf[65536];
static void log_cb(void *ud, int level, const char *msg)
{
    (void)ud;
    size_t l = strlen(logbuf);
    snprintf(logbuf + l, sizeof logbuf - l, "%d:%s\n", level, msg);
}

/* Builds one server packet from NULL-terminated key/value strings. */
static size_t vmk(uint8_t *out, size_t cap, uint16_t svc, uint32_t status, uint32_t sid, va_list ap)
{
    struct ymsg_builder b;
    ymsg_builder_init(&b, out, cap);
    ymsg_build_begin(&b, svc, status, sid);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        ymsg_build_str(&b, (uint32_t)atoi(k), v);
    }
    ssize_t n = ymsg_build_end(&b);
    assert_true(n > 0);
    return (size_t)n;
}

size_t mk(uint8_t *out, size_t cap, uint16_t svc, uint32_t status, uint32_t sid, ...)
{
    va_list ap;
    va_start(ap, sid);
    size_t n = vmk(out, cap, svc, status, sid, ap);
    va_end(ap);
    return n;
}

void feed(struct ymsg_session *s, uint16_t svc, uint32_t status, ...)
{
    uint8_t buf[8192];
    va_list ap;
    va_start(ap, status);
    size_t n = vmk(buf, sizeof buf, svc, status, SID, ap);
    va_end(ap);
    ymsg_session_feed(s, buf, n);
}

/* Next packet the session wants to send (copied into buf). */
int take(struct ymsg_session *s, struct ymsg_packet *pkt, uint8_t *buf, size_t cap)
{
    const uint8_t *out;
    size_t n = ymsg_session_output(s, &out);
    if (n == 0)
        return 0;
    assert_true(n <= cap);
    memcpy(buf, out, n);
    ssize_t r = ymsg_decode(buf, n, NULL, pkt, NULL);
    assert_true(r > 0);
    ymsg_session_consume(s, (size_t)r);
    return 1;
}

void expect_kv(const struct ymsg_packet *pkt, uint32_t key, const char *val)
{
    char buf[1024];
    assert_true(ymsg_get_str(pkt, key, buf, sizeof buf) >= 0);
    assert_string_equal(buf, val);
}

const struct ymsg_event *next_of(struct ymsg_session *s, enum ymsg_event_type t)
{
    const struct ymsg_event *ev;
    while ((ev = ymsg_session_next_event(s)))
        if (ev->type == t)
            return ev;
    fail_msg("no %s event", ymsg_event_type_name(t));
    return NULL;
}

void drain(struct ymsg_session *s)
{
    const uint8_t *o;
    ymsg_session_consume(s, ymsg_session_output(s, &o));
    while (ymsg_session_next_event(s))
        ;
}

struct ymsg_session *new_session(uint32_t initial)
{
    struct ymsg_session_config cfg;
    ymsg_session_config_default(&cfg);
    cfg.user = "Alice";
    cfg.password = "p&ss w";
    cfg.initial_status = initial;
    cfg.login_url = "http://127.0.0.1:8080/";
    cfg.log = log_cb;
    cfg.log_level = YMSG_LOG_DEBUG;
    logbuf[0] = 0;
    struct ymsg_session *s = ymsg_session_new(&cfg);
    assert_non_null(s);
    return s;
}

const char TOKEN_BODY[] = "0\r\nymsgr=TOKEN123\r\npartnerid=P1";
const char CRUMB_HEADERS[] = "HTTP/1.1 200 OK\r\nSet-Cookie: Y=yv; path=/; domain=.yahoo.com\r\n"
                                    "Set-Cookie: T=tv; path=/\r\nSet-Cookie: B=bv; expires=x; path=/\r\nX: y\r\n\r\n";
const char CRUMB_BODY[] = "0\r\ncrumb=" CRUMB "\r\nY=yv; path=/; domain=.yahoo.com\r\nT=tv; path=/\r\n"
                                 "cookievalidfor=86400\r\n";

/* Runs the login up to the 0x54 and returns it checked. */
void login_to_authresp(struct ymsg_session *s, const char *tok_body, size_t tok_len, const char *cr_headers,
                              const char *cr_body, size_t cr_len)
{
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_int_equal(ymsg_session_start(s, 1000), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    /* §13.1: exactly the 30 bytes libyahoo2 and OpenYMSG send. */
    static const uint8_t first[] = {0x59, 0x4d, 0x53, 0x47, 0, 0x10, 0, 0, 0, 0x0a, 0, 0x57, 0, 0, 0, 0, 0, 0, 0, 0,
                                    0x31, 0xc0, 0x80, 'a', 'l', 'i', 'c', 'e', 0xc0, 0x80};
    assert_memory_equal(buf, first, sizeof first);
    feed(s, YMSG_SVC_AUTH, 1, "1", "alice", "94", CHAL, "13", "2", NULL);
    assert_int_equal(ymsg_session_id(s), SID);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_HTTP_GET);
    assert_string_equal(ev->text, "http://127.0.0.1:8080/config/pwtoken_get?src=ymsgr&ts=&login=alice"
                                  "&passwd=p%26ss%20w&chal=" CHAL);
    assert_int_equal(ymsg_session_http_response(s, 200, "", 0, tok_body, tok_len), 0);
    ev = next_of(s, YMSG_EV_HTTP_GET);
    assert_string_equal(ev->text, "http://127.0.0.1:8080/config/pwtoken_login?src=ymsgr&ts=&token=TOKEN123");
    assert_int_equal(ymsg_session_http_response(s, 200, cr_headers, strlen(cr_headers), cr_body, cr_len), 0);
    assert_int_equal(ymsg_session_state(s), YMSG_SS_AUTHRESP);
}

void check_authresp(struct ymsg_session *s, uint32_t status, const char *y, const char *b)
{
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_AUTHRESP);
    assert_int_equal(pkt.hdr.status, status);
    assert_int_equal(pkt.hdr.session, SID);
    static const uint32_t order[] = {1, 0, 277, 278, 307, 244, 2, 2, 59, 98, 135};
    size_t pos = 0, i = 0;
    struct ymsg_kv kv;
    while (ymsg_next(&pkt, &pos, &kv)) {
        assert_true(i < 11);
        assert_int_equal(kv.key, order[i++]);
    }
    assert_int_equal(i, 11);
    char resp[25];
    assert_int_equal(ymsg_auth16_response(CRUMB, CHAL, resp), 0);
    assert_string_equal(resp, "XNWI3fXT9Q9MrFsA40flsA--"); /* §9.3 */
    expect_kv(&pkt, 307, resp);
    expect_kv(&pkt, 277, y);
    expect_kv(&pkt, 59, b);
    expect_kv(&pkt, 244, "4194239");
    struct ymsg_kv second;
    assert_int_equal(ymsg_get_nth(&pkt, 2, 1, &second), 0);
    assert_true(ymsg_kv_eq(&second, "1"));
}

struct ymsg_session *logged_in(uint32_t initial)
{
    struct ymsg_session *s = new_session(initial);
    login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
    check_authresp(s, initial, "yv; path=/; domain=.yahoo.com", "bv");
    feed(s, YMSG_SVC_LIST_15, 0, "302", "318", "300", "318", "65", "Friends", "302", "319", "300", "319", "7", "bob",
         "301", "319", "300", "319", "7", "carol", "223", "1", "301", "319", "303", "319", "301", "318", "303", "318",
         NULL);
    next_of(s, YMSG_EV_LOGGED_IN);
    assert_int_equal(ymsg_session_state(s), YMSG_SS_ONLINE);
    return s;
}

void expect_fail(struct ymsg_session *s, int code, const char *text, unsigned flags)
{
    const struct ymsg_event *ev = next_of(s, YMSG_EV_LOGIN_FAILED);
    assert_int_equal(ev->code, code);
    assert_non_null(strstr(ev->text, text));
    assert_int_equal(ev->flags & YMSG_EVF_NETWORK, flags);
    next_of(s, YMSG_EV_DISCONNECTED);
    assert_int_equal(ymsg_session_state(s), YMSG_SS_CLOSED);
}

/* Fixture shared by the client session unit tests (session_fixture.c). */
#ifndef SESSION_FIXTURE_H
#define SESSION_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "ymsg/ymsg.h"

#define SID 0x0047E133u
#define CHAL "g.4Y5SJZ6nkFAoUfqKMHGbvIAsSjH4ZUWVqcpg--"
#define CRUMB "GbYfS1Jq1Dk"

/* Everything the session logged since new_session() (level:text lines). */
extern char logbuf[65536];
/* The scripted token-login answers of a successful login. */
extern const char TOKEN_BODY[];
extern const char CRUMB_HEADERS[];
extern const char CRUMB_BODY[];

/* Builds one server packet from NULL-terminated key/value strings; returns its length. */
size_t mk(uint8_t *out, size_t cap, uint16_t svc, uint32_t status, uint32_t sid, ...);
/* Feeds the session one server packet (session id SID) built from NULL-terminated key/value strings. */
void feed(struct ymsg_session *s, uint16_t svc, uint32_t status, ...);
/* Next packet the session wants to send (copied into buf); 0 if there is none. */
int take(struct ymsg_session *s, struct ymsg_packet *pkt, uint8_t *buf, size_t cap);
/* Asserts the first value of key in pkt. */
void expect_kv(const struct ymsg_packet *pkt, uint32_t key, const char *val);
/* Skips events until one of type t (asserts there is one). */
const struct ymsg_event *next_of(struct ymsg_session *s, enum ymsg_event_type t);
/* Discards all queued events and pending output. */
void drain(struct ymsg_session *s);
/* A session for "Alice" against http://127.0.0.1:8080/, logging into logbuf. */
struct ymsg_session *new_session(uint32_t initial);
/* Runs the login up to the 0x54 and returns it checked. */
void login_to_authresp(struct ymsg_session *s, const char *tok_body, size_t tok_len, const char *cr_headers,
                       const char *cr_body, size_t cr_len);
/* Checks the 0x54 the session sent: header, key order, response, cookies. */
void check_authresp(struct ymsg_session *s, uint32_t status, const char *y, const char *b);
/* A session logged in with a two-buddy LIST_15. */
struct ymsg_session *logged_in(uint32_t initial);
/* Asserts a LOGIN_FAILED event (code, flags, text containing `text`), then DISCONNECTED, state CLOSED. */
void expect_fail(struct ymsg_session *s, int code, const char *text, unsigned flags);

#endif

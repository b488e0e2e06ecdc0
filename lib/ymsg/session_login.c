/* Client session: token login (§5.1) -- 0x57 challenge, the two HTTP steps (pwtoken_get, pwtoken_login)
 * driven through YMSG_EV_HTTP_GET / ymsg_session_http_response, the 0x54 answer, and the refusals. */
#include "session_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CLIENT_ID_244 "4194239"   /* Pidgin / libyahoo2 capability bits (§5.1) */

/* ------------------------------------------------------------------------------------------------
 * login
 * ---------------------------------------------------------------------------------------------- */
void sess_logged_in(struct ymsg_session *s)
{
    if (s->state != YMSG_SS_AUTHRESP)
        return;
    s->state = YMSG_SS_ONLINE;
    s->next_keepalive = s->now + s->cfg.keepalive_ms;
    s->next_ping = s->now + s->cfg.ping_ms;
    /* Like Pidgin: announce the real status once the list is in (0x54 status already said it). */
    if (s->my_status == YMSG_STATUS_INVISIBLE) {
        sess_send_visible(s, 0);
    } else { /* the same 0xC6 as ymsg_session_set_status: a custom message or away flag from the first moment */
        sess_status_update(s, s->my_status, s->initial_msg, s->cfg.initial_away);
    }
    struct ymsg_event ev = {.type = YMSG_EV_LOGGED_IN, .status = s->my_status, .idle = -1};
    struct evstr str = {.who = s->user};
    sess_ev_push(s, &ev, &str);
}

void sess_login_failed(struct ymsg_session *s, int code, const char *text, unsigned flags)
{
    struct ymsg_event ev = {.type = YMSG_EV_LOGIN_FAILED, .code = code, .flags = flags, .idle = -1};
    struct evstr str = {.who = s->user, .text = text};
    sess_ev_push(s, &ev, &str);
    sess_fail(s, flags & YMSG_EVF_NETWORK ? YMSG_EPROTO : YMSG_EAUTH, text);
}

/* Percent-encoding of a query value: everything but unreserved characters. */
static int url_append(char *dst, size_t cap, size_t *len, const char *s, int encode)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!encode || isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            if (*len + 1 >= cap)
                return YMSG_ENOSPC;
            dst[(*len)++] = (char)c;
        } else {
            if (*len + 3 >= cap)
                return YMSG_ENOSPC;
            dst[(*len)++] = '%';
            dst[(*len)++] = hex[c >> 4];
            dst[(*len)++] = hex[c & 15];
        }
    }
    dst[*len] = 0;
    return 0;
}

static void http_request(struct ymsg_session *s, const char *path, const char *const *params)
{
    char url[4096];
    size_t len = 0;
    int r = url_append(url, sizeof url, &len, s->login_url, 0);
    r |= url_append(url, sizeof url, &len, path, 0);
    for (size_t i = 0; params[i]; i += 2) {
        r |= url_append(url, sizeof url, &len, i ? "&" : "?", 0);
        r |= url_append(url, sizeof url, &len, params[i], 0);
        r |= url_append(url, sizeof url, &len, "=", 0);
        r |= url_append(url, sizeof url, &len, params[i + 1], 1);
    }
    if (r) {
        sess_login_failed(s, YMSG_EINVAL, "login URL too long", YMSG_EVF_NETWORK);
        return;
    }
    struct ymsg_event ev = {.type = YMSG_EV_HTTP_GET, .idle = -1};
    struct evstr str = {.text = url};
    sess_ev_push(s, &ev, &str);
    memset(url, 0, sizeof url); /* it holds the password */
}

void sess_on_auth(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    if (s->state != YMSG_SS_AUTH) {
        sess_log(s, YMSG_LOG_DEBUG, "0x57 outside login ignored");
        return;
    }
    struct ymsg_kv kv;
    if (ymsg_get(pkt, YMSG_KEY_CHALLENGE, &kv) != 0 || kv.len == 0 || kv.len >= sizeof s->challenge) {
        sess_login_failed(s, YMSG_EPROTO, "server sent no usable challenge", YMSG_EVF_NETWORK);
        return;
    }
    sess_kv_copy(&kv, s->challenge, sizeof s->challenge);
    long long method;
    if (ymsg_get_int(pkt, YMSG_KEY_FLAG, &method) == 0 && method != 2)
        sess_log(s, YMSG_LOG_WARN, "auth method %lld offered; using the token login anyway", method);
    s->state = YMSG_SS_TOKEN;
    const char *params[] = {"src", "ymsgr", "ts", "", "login", s->user, "passwd", s->password,
                            "chal", s->challenge, NULL};
    http_request(s, "/config/pwtoken_get", params);
}

/* If body is a complete, well-formed chunked encoding, de-chunk it into out and return the length;
 * otherwise return -1 (the body is taken as is). */
static ssize_t http_dechunk(const char *in, size_t n, char *out)
{
    size_t i = 0, o = 0;
    int chunks = 0;
    for (;;) {
        size_t sz = 0, digits = 0;
        while (i < n && isxdigit((unsigned char)in[i])) {
            if (digits++ > 7)
                return -1;
            char c = (char)tolower((unsigned char)in[i++]);
            sz = sz * 16 + (size_t)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        if (!digits)
            return -1;
        while (i < n && in[i] != '\n') /* chunk extensions, CR */
            i++;
        if (i >= n)
            return sz == 0 && chunks ? (ssize_t)o : -1;
        i++;
        if (sz == 0)
            return chunks ? (ssize_t)o : -1;
        if (n - i < sz)
            return -1;
        memcpy(out + o, in + i, sz);
        o += sz;
        i += sz;
        chunks++;
        if (i < n && in[i] == '\r')
            i++;
        if (i < n && in[i] == '\n')
            i++;
        if (i >= n)
            return (ssize_t)o; /* terminator missing: tolerate */
    }
}

/* The token-login answer, parsed tolerantly: code = first line that is a decimal number; then
 * "name=value" lines. */
struct http_answer {
    int have_code;                /* a code line was found */
    long code;                    /* its value */
    char ymsgr[TOKEN_MAX];        /* token */
    char crumb[TOKEN_MAX];        /* crumb */
    char y[TOKEN_MAX];            /* Y= body line */
    char t[TOKEN_MAX];            /* T= body line */
};

static void http_parse(const char *body, size_t n, struct http_answer *a)
{
    memset(a, 0, sizeof *a);
    char *buf = malloc(n + 1);
    if (!buf)
        return;
    ssize_t d = http_dechunk(body, n, buf);
    if (d < 0) {
        memcpy(buf, body, n);
        d = (ssize_t)n;
    }
    buf[d] = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == ' ' || line[l - 1] == '\t'))
            line[--l] = 0;
        if (!a->have_code) {
            size_t k = 0;
            while (line[k] && isdigit((unsigned char)line[k]))
                k++;
            if (k && k < 10 && !line[k]) {
                a->have_code = 1;
                a->code = strtol(line, NULL, 10);
                continue;
            }
        }
        struct { const char *name; char *dst; } f[] = {
            {"ymsgr=", a->ymsgr}, {"crumb=", a->crumb}, {"Y=", a->y}, {"T=", a->t}};
        for (size_t i = 0; i < 4; i++) {
            size_t pl = strlen(f[i].name);
            if (strncmp(line, f[i].name, pl) == 0 && !f[i].dst[0] && l - pl < TOKEN_MAX)
                memcpy(f[i].dst, line + pl, l - pl + 1);
        }
    }
    free(buf);
}

/* "Set-Cookie: NAME=value; attrs" → value up to the first ';' (case-insensitive header name). */
static void header_cookie(const char *h, size_t n, const char *name, char *dst, size_t cap)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < n;) {
        size_t e = i;
        while (e < n && h[e] != '\n')
            e++;
        const char *line = h + i;
        size_t l = e - i;
        if (l && line[l - 1] == '\r')
            l--;
        if (l > 11 && strncasecmp(line, "Set-Cookie:", 11) == 0) {
            size_t p = 11;
            while (p < l && line[p] == ' ')
                p++;
            if (l - p > nl && strncmp(line + p, name, nl) == 0 && line[p + nl] == '=') {
                p += nl + 1;
                size_t q = p;
                while (q < l && line[q] != ';')
                    q++;
                if (q - p < cap) {
                    memcpy(dst, line + p, q - p);
                    dst[q - p] = 0;
                }
                return;
            }
        }
        i = e + 1;
    }
}

static int safe_token(const char *t)
{
    for (; *t; t++)
        if ((unsigned char)*t < 0x20 || *t == 0x7f)
            return 0;
    return 1;
}

static void send_authresp(struct ymsg_session *s)
{
    char resp[25];
    if (ymsg_auth16_response(s->crumb, s->challenge, resp) != 0) {
        sess_login_failed(s, YMSG_ECRYPTO, "could not compute the login response", YMSG_EVF_NETWORK);
        return;
    }
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_AUTHRESP, s->my_status);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_LOGIN_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_Y_COOKIE, s->ycookie);
    ymsg_build_str(&b, YMSG_KEY_T_COOKIE, s->tcookie);
    ymsg_build_str(&b, YMSG_KEY_AUTH16_RESP, resp);
    ymsg_build_str(&b, YMSG_KEY_CLIENT_ID, CLIENT_ID_244);
    ymsg_build_str(&b, YMSG_KEY_AUTH_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_AUTH_ID, "1");
    if (s->bcookie[0])
        ymsg_build_str(&b, YMSG_KEY_COOKIE, s->bcookie);
    ymsg_build_str(&b, YMSG_KEY_LOCALE, s->locale);
    ymsg_build_str(&b, YMSG_KEY_CLIENT_VERSION, s->client_version);
    int r = sess_pkt_send(s, &b);
    if (r < 0) {
        sess_login_failed(s, r, "could not build the login packet", YMSG_EVF_NETWORK);
        return;
    }
    s->state = YMSG_SS_AUTHRESP;
}

int ymsg_session_http_response(struct ymsg_session *s, int http_status, const char *headers,
                               size_t headers_len, const char *body, size_t body_len)
{
    if (s->state != YMSG_SS_TOKEN && s->state != YMSG_SS_CRUMB)
        return YMSG_ESTATE;
    if (!body)
        body_len = 0;
    if (!headers)
        headers_len = 0;
    if (body_len > s->cfg.max_http_body)
        body_len = s->cfg.max_http_body;
    if (http_status == 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "login server unreachable: %.*s", (int)(body_len > 200 ? 200 : body_len),
                 body ? body : "");
        sess_login_failed(s, YMSG_EPROTO, msg, YMSG_EVF_NETWORK);
        return 0;
    }
    struct http_answer *a = malloc(sizeof *a);
    if (!a) {
        sess_login_failed(s, YMSG_ENOMEM, "out of memory", YMSG_EVF_NETWORK);
        return YMSG_ENOMEM;
    }
    http_parse(body, body_len, a);
    if (!a->have_code) {
        char msg[64];
        snprintf(msg, sizeof msg, "login server answered HTTP %d without a result code", http_status);
        sess_login_failed(s, YMSG_EPROTO, msg, YMSG_EVF_NETWORK);
        free(a);
        return 0;
    }
    if (s->state == YMSG_SS_TOKEN) {
        if (a->code != 0) {
            const char *name = ymsg_login_code_name((int)a->code);
            char msg[128];
            snprintf(msg, sizeof msg, "%s (%ld)", name ? name : "login refused", a->code);
            sess_login_failed(s, (int)a->code, msg, 0);
        } else if (!a->ymsgr[0] || !safe_token(a->ymsgr)) {
            sess_login_failed(s, YMSG_EPROTO, "login server sent no token", YMSG_EVF_NETWORK);
        } else {
            s->state = YMSG_SS_CRUMB;
            const char *params[] = {"src", "ymsgr", "ts", "", "token", a->ymsgr, NULL};
            http_request(s, "/config/pwtoken_login", params);
        }
        memset(a, 0, sizeof *a);
        free(a);
        return 0;
    }
    /* pwtoken_login: Y/T from the body lines (Pidgin, OpenYMSG) or else from Set-Cookie (libyahoo2). */
    snprintf(s->crumb, sizeof s->crumb, "%s", a->crumb);
    snprintf(s->ycookie, sizeof s->ycookie, "%s", a->y);
    snprintf(s->tcookie, sizeof s->tcookie, "%s", a->t);
    if (!s->ycookie[0])
        header_cookie(headers, headers_len, "Y", s->ycookie, sizeof s->ycookie);
    if (!s->tcookie[0])
        header_cookie(headers, headers_len, "T", s->tcookie, sizeof s->tcookie);
    header_cookie(headers, headers_len, "B", s->bcookie, sizeof s->bcookie);
    int have_all = s->crumb[0] && s->ycookie[0] && s->tcookie[0] && safe_token(s->crumb) &&
                   safe_token(s->ycookie) && safe_token(s->tcookie) && safe_token(s->bcookie);
    long code = a->code;
    memset(a, 0, sizeof *a);
    free(a);
    if (code != 0 && !have_all) {
        char msg[96];
        snprintf(msg, sizeof msg, "token refused by the login server (%ld)", code);
        sess_login_failed(s, (int)code, msg, 0);
    } else if (!have_all) {
        sess_login_failed(s, YMSG_EPROTO, "login server sent no crumb or cookies", YMSG_EVF_NETWORK);
    } else {
        send_authresp(s);
    }
    return 0;
}

void sess_on_authresp(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    long long code = 0;
    int have = ymsg_get_int(pkt, YMSG_KEY_ERROR_CODE, &code) == 0;
    if (pkt->hdr.status != YMSG_PKT_ERROR && !have) {
        sess_log(s, YMSG_LOG_DEBUG, "0x54 without an error ignored");
        return;
    }
    if (s->state == YMSG_SS_ONLINE) {
        sess_log(s, YMSG_LOG_WARN, "0x54 failure after login (66=%lld) ignored", code);
        return;
    }
    const char *name = ymsg_auth_code_name((int)code);
    char msg[160];
    char url[128] = "";
    ymsg_get_str(pkt, YMSG_KEY_URL, url, sizeof url);
    snprintf(msg, sizeof msg, "%s (%lld)%s%s", name ? name : "login refused", code, url[0] ? ": " : "", url);
    /* 52 is transient: report it as a network-type failure so drivers retry. */
    sess_login_failed(s, (int)code, msg, code == YMSG_AUTH_TRANSIENT ? YMSG_EVF_NETWORK : 0);
}

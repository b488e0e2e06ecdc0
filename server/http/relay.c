/* The file-transfer relay; see relay.h and docs/FILE_TRANSFER.md. */
#include "relay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "auth.h"
#include "config.h"
#include "hmap.h"
#include "linger.h"
#include "http.h"
#include "httputil.h"
#include "log.h"
#include "server.h"

#define RELAY_CHUNK (256 * 1024)     /* bytes read from disk at a time for a download */
#define RELAY_LOW_WATER (64 * 1024)  /* refill a download when its output drops below this */
#define RELAY_HEAD_MAX 8192          /* longest request head accepted */
#define RELAY_HOLDER_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]"
#define RELAY_PROXY_TEXT 512         /* longest refusal text passed on from the holder's relay */

/* Bytes and transfers one sender has on the relay. */
struct relay_user {
    char name[RELAY_USER_MAX + 1]; /* the sender (the map's key) */
    uint64_t bytes;                /* offered sizes of its live transfers */
    long count;                    /* its live transfers */
};

/* What a relay connection is doing. */
enum rc_state {
    RC_HEAD,    /* reading the request head */
    RC_BODY,    /* writing an upload's body to disk */
    RC_WAIT,    /* a GET waiting for the upload to complete */
    RC_SEND,    /* sending the file */
    RC_CLOSING, /* answer queued: closed once written */
    RC_PROXY,   /* a GET/HEAD passed to the holder's relay (another node): waiting for or relaying its answer */
};

struct relay_conn {
    struct relay *r;            /* owner */
    struct bufferevent *bev;    /* socket or TLS */
    struct relay_xfer *x;       /* the transfer it serves, or NULL */
    enum rc_state st;           /* see enum rc_state */
    int fd;                     /* file being written (upload) or read (download), or -1 */
    uint64_t done;              /* body bytes written to disk / read from it */
    char peer[64];              /* "addr:port" for logs */
    int tls;                    /* over relay_tls_listen */
    struct timeval t0;          /* accepted: the whole head must arrive within http_head_timeout */
    char user[RELAY_USER_MAX + 1]; /* the user it acts for (once known) */
    char cors[RELAY_ORIGIN_MAX + 120]; /* CORS header lines for every answer ("" unless the Origin may read) */
    struct bufferevent *up;     /* RC_PROXY: the connection to the holder's relay, or NULL */
    int up_code;                /* RC_PROXY: the holder's status code (0 until its head is read) */
    int up_head_only;           /* RC_PROXY: a HEAD (no body follows the holder's head) */
    uint64_t up_len;            /* RC_PROXY: the holder's Content-Length */
    int up_eof;                 /* RC_PROXY: the holder closed (what it sent may still be queued) */
    char holder[RELAY_HOLDER_MAX + 1]; /* RC_PROXY: the holder's relay ("host:port", for the logs) */
    struct relay_conn *prev, *next; /* all connections (freed with the relay) */
};

struct relay {
    struct server *srv;                 /* owner */
    struct evconnlistener *lis;         /* relay_listen, or NULL */
    struct evconnlistener *tls_lis;     /* relay_tls_listen, or NULL */
    SSL_CTX *ctx;                       /* for tls_lis */
    char dir[1024];                     /* DATA/relay */
    char host[300];                     /* key 250, "" when off */
    char public_urls[RELAY_PUBLIC_MAX]; /* the relay's URLs for browsers, space separated ("" when off) */
    struct hmap by_token;               /* token -> struct relay_xfer */
    struct hmap by_key;                 /* "sender\1recver\1id" -> struct relay_xfer */
    struct hmap users;                  /* sender -> struct relay_user */
    struct relay_conn *conns;           /* every open connection */
    size_t nconns;                      /* ... how many */
    relay_end_fn end_fn;                /* relay_set_end_hook */
    relay_holder_fn holder_live;        /* relay_set_holder_check (the cluster's), or NULL: nothing is proxied */
    void *end_arg;                      /* ... its argument */
};

const char *relay_result_text(int rc)
{
    switch (rc) {
    case RELAY_OK: return "ok";
    case RELAY_OFF: return "File transfer is not available on this server.";
    case RELAY_TOO_LARGE: return "The file is too large for this server.";
    case RELAY_QUOTA: return "You have too much data waiting on the file relay.";
    case RELAY_TOO_MANY: return "You have too many file transfers pending.";
    case RELAY_DUPLICATE: return "This file transfer exists already.";
    default: return "The file transfer failed.";
    }
}

/* ---- request head ---------------------------------------------------------------------------- */

/* The value of header name (case-insensitive) in head, copied into out; 0, or -1 when absent. */
static int relay_header(const char *head, size_t len, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = memchr(head, '\n', len);
    while (p && (size_t)(p + 1 - head) < len) {
        const char *line = p + 1;
        const char *end = memchr(line, '\n', len - (size_t)(line - head));
        if (!end) break;
        size_t ll = (size_t)(end - line);
        if (ll && line[ll - 1] == '\r') ll--;
        if (ll > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            size_t vl = ll - nl - 1;
            while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) vl--;
            if (vl >= cap) vl = cap - 1;
            memcpy(out, v, vl);
            out[vl] = 0;
            return 0;
        }
        p = end;
    }
    return -1;
}

/* Cookie "name" from a Cookie header value ("Y=…; T=…"): only the value up to the next ';'. */
static void relay_cookie(const char *cookies, const char *name, char *out, size_t cap)
{
    out[0] = 0;
    size_t nl = strlen(name);
    const char *p = cookies;
    while (*p) {
        while (*p == ' ' || *p == ';') p++;
        if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1;
            size_t vl = strcspn(v, ";");
            if (vl >= cap) vl = cap - 1;
            memcpy(out, v, vl);
            out[vl] = 0;
            return;
        }
        p += strcspn(p, ";");
    }
}

static int relay_refuse_req(struct relay_req *out, int status)
{
    out->status = status;
    return -1;
}

/* A query parameter that must be a user id. */
static int relay_query_user(const char *query, const char *name, char out[RELAY_USER_MAX + 1])
{
    char raw[3 * RELAY_USER_MAX + 4];
    ssize_t n = http_query_get(query, name, raw, sizeof raw);
    if (n <= 0) return -1;
    return name_normalize(raw, (size_t)n, out);
}

int relay_parse_head(const char *buf, size_t len, struct relay_req *out)
{
    memset(out, 0, sizeof *out);
    ssize_t hl = http_head_len(buf, len < RELAY_HEAD_MAX ? len : RELAY_HEAD_MAX);
    if (hl == 0 && len >= RELAY_HEAD_MAX) return relay_refuse_req(out, 431);
    if (hl == 0) return 0;
    if (hl < 0) return relay_refuse_req(out, 431);
    struct http_framing f;
    if (http_head_check(buf, (size_t)hl, &f) != HTTP_FR_OK) return relay_refuse_req(out, 400);
    if (f.chunked) return relay_refuse_req(out, 411); /* the clients send Content-Length; chunked: no */
    out->head_len = (size_t)hl;
    out->length = f.length;
    char o[RELAY_ORIGIN_MAX + 2];
    /* one byte more than kept: a longer Origin is dropped whole, never matched cut short */
    if (relay_header(buf, (size_t)hl, "Origin", o, sizeof o) == 0 && strlen(o) <= RELAY_ORIGIN_MAX)
        memcpy(out->origin, o, strlen(o) + 1);
    /* request line: METHOD SP target SP HTTP/1.x */
    const char *eol = memchr(buf, '\n', (size_t)hl);
    size_t ll = (size_t)(eol - buf);
    if (ll && buf[ll - 1] == '\r') ll--;
    char line[RELAY_HEAD_MAX];
    memcpy(line, buf, ll);
    line[ll] = 0;
    char *sp1 = strchr(line, ' ');
    if (!sp1) return relay_refuse_req(out, 400);
    *sp1 = 0;
    char *target = sp1 + 1;
    char *sp2 = strchr(target, ' ');
    if (!sp2) return relay_refuse_req(out, 400);
    *sp2 = 0;
    const char *version = sp2 + 1;
    if (strcmp(version, "HTTP/1.1") && strcmp(version, "HTTP/1.0")) return relay_refuse_req(out, 400);
    if (!strcmp(line, "GET")) out->method = RELAY_M_GET;
    else if (!strcmp(line, "HEAD")) out->method = RELAY_M_HEAD;
    else if (!strcmp(line, "POST")) out->method = RELAY_M_POST;
    else if (!strcmp(line, "OPTIONS") && out->origin[0]) out->method = RELAY_M_OPTIONS; /* a CORS preflight */
    else return relay_refuse_req(out, 405);
    char path[64];
    if (http_target_path(target, path, sizeof path) < 0 || strcmp(path, "/relay")) return relay_refuse_req(out, 404);
    if (out->method == RELAY_M_OPTIONS) return 1; /* a preflight names no transfer: the browser checks the rest */
    const char *q = strchr(target, '?');
    if (!q) return relay_refuse_req(out, 400);
    q++;
    char hold[RELAY_HOLDER_MAX + 2];
    ssize_t hn = http_query_get(q, "holder", hold, sizeof hold);
    if (hn == -2 || (hn >= 0 && (hn > RELAY_HOLDER_MAX || strspn(hold, RELAY_HOLDER_CHARS) != (size_t)hn)))
        return relay_refuse_req(out, 400); /* only what a "host:port" or "[v6]:port" is made of */
    if (hn > 0) memcpy(out->holder, hold, (size_t)hn + 1);
    char tok[3 * RELAY_TOKEN_LEN + 4];
    ssize_t tl = http_query_get(q, "token", tok, sizeof tok);
    if (tl != RELAY_TOKEN_LEN) return relay_refuse_req(out, 403);
    for (ssize_t i = 0; i < tl; i++)
        if (!((tok[i] >= '0' && tok[i] <= '9') || (tok[i] >= 'a' && tok[i] <= 'f'))) return relay_refuse_req(out, 403);
    memcpy(out->token, tok, RELAY_TOKEN_LEN + 1);
    if (relay_query_user(q, "sender", out->sender) < 0 || relay_query_user(q, "recver", out->recver) < 0)
        return relay_refuse_req(out, 403);
    char v[512];
    out->has_length = relay_header(buf, (size_t)hl, "Content-Length", v, sizeof v) == 0;
    if (out->method == RELAY_M_POST && !out->has_length) return relay_refuse_req(out, 411);
    if (relay_header(buf, (size_t)hl, "Cookie", v, sizeof v) == 0) {
        relay_cookie(v, "Y", out->cookie_y, sizeof out->cookie_y);
        relay_cookie(v, "T", out->cookie_t, sizeof out->cookie_t);
    }
    return 1;
}

/* ---- transfers ------------------------------------------------------------------------------- */

static void relay_path(const struct relay *r, const struct relay_xfer *x, int part, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s%s", r->dir, x->token, part ? ".part" : "");
}

static void relay_conn_free(struct relay_conn *rc);
static void relay_proxy(struct relay_conn *rc, const struct relay_req *q);
static void relay_proxy_pump(struct relay_conn *rc);
static void relay_answer(struct relay_conn *rc, int code, const char *reason, const char *text);

static void relay_unuse(struct relay *r, const struct relay_xfer *x)
{
    struct relay_user *u = hmap_get(&r->users, x->sender);
    if (!u) return;
    u->bytes -= x->size;
    if (--u->count <= 0) {
        hmap_del(&r->users, u->name);
        free(u);
    }
}

void relay_end(struct relay *r, struct relay_xfer *x, const char *why)
{
    log_event(LOG_INFO, NULL, x->sender, "ft_end", (long)x->state, "to %s id %s: %s", x->recver, x->id, why);
    if (x->up) relay_conn_free(x->up);
    if (x->down && x->down->st == RC_WAIT) {
        /* a GET still waiting for the upload learns why it never comes */
        struct relay_conn *rc = x->down;
        rc->x = NULL;
        x->down = NULL;
        relay_answer(rc, 410, "Gone", "the transfer ended before the file was complete");
    }
    if (x->down) relay_conn_free(x->down);
    if (x->token[0]) {
        char p[1100];
        relay_path(r, x, 1, p, sizeof p);
        unlink(p);
        relay_path(r, x, 0, p, sizeof p);
        unlink(p);
        hmap_del(&r->by_token, x->token);
    }
    hmap_del(&r->by_key, x->key);
    relay_unuse(r, x);
    if (x->ttl) event_free(x->ttl);
    free(x);
}

/* relay_end() by the relay's own doing: the pager's hook tells the users. */
static void relay_end_notify(struct relay *r, struct relay_xfer *x, const char *why)
{
    if (r->end_fn) r->end_fn(r->end_arg, x, why);
    relay_end(r, x, why);
}

static void relay_ttl_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct relay_xfer *x = arg;
    relay_end_notify(x->r, x, "expired");
}

int relay_offer(struct relay *r, const char *sender, const char *recver, const char *id, const char *name,
                uint64_t size)
{
    const struct config *cfg = r->srv->cfg;
    if (!r->host[0]) return RELAY_OFF;
    if (size == 0 || size > (uint64_t)cfg->relay_max_file) return RELAY_TOO_LARGE;
    if (relay_find(r, sender, recver, id)) return RELAY_DUPLICATE;
    struct relay_user *u = hmap_get(&r->users, sender);
    if (u && u->count >= cfg->relay_max_transfers) return RELAY_TOO_MANY;
    if ((u ? u->bytes : 0) + size > (uint64_t)cfg->relay_quota) return RELAY_QUOTA;
    struct relay_xfer *x = calloc(1, sizeof *x);
    if (!x) return RELAY_FAILED;
    x->r = r;
    snprintf(x->sender, sizeof x->sender, "%s", sender);
    snprintf(x->recver, sizeof x->recver, "%s", recver);
    snprintf(x->id, sizeof x->id, "%s", id);
    snprintf(x->name, sizeof x->name, "%s", name);
    snprintf(x->key, sizeof x->key, "%s\1%s\1%s", sender, recver, id);
    x->size = size;
    x->state = RELAY_OFFERED;
    struct timeval tv = {cfg->relay_ttl, 0};
    int fresh_user = !u;
    if (!u && (u = calloc(1, sizeof *u))) snprintf(u->name, sizeof u->name, "%s", sender);
    if (!u || !(x->ttl = evtimer_new(r->srv->base, relay_ttl_cb, x)) || evtimer_add(x->ttl, &tv) < 0 ||
        (fresh_user && hmap_put(&r->users, u->name, u) < 0) || hmap_put(&r->by_key, x->key, x) < 0) {
        if (x->ttl) event_free(x->ttl);
        if (fresh_user && u) {
            hmap_del(&r->users, u->name);
            free(u);
        }
        hmap_del(&r->by_key, x->key);
        free(x);
        return RELAY_FAILED;
    }
    u->bytes += size;
    u->count++;
    return RELAY_OK;
}

struct relay_xfer *relay_find(struct relay *r, const char *sender, const char *recver, const char *id)
{
    char key[2 * RELAY_USER_MAX + RELAY_ID_MAX + 3];
    if (strlen(sender) > RELAY_USER_MAX || strlen(recver) > RELAY_USER_MAX || strlen(id) > RELAY_ID_MAX) return NULL;
    snprintf(key, sizeof key, "%s\1%s\1%s", sender, recver, id);
    return hmap_get(&r->by_key, key);
}

int relay_issue(struct relay *r, struct relay_xfer *x)
{
    if (x->token[0]) return RELAY_DUPLICATE;
    unsigned char b[RELAY_TOKEN_LEN / 2];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(x->token, sizeof x->token, b, sizeof b);
    if (hmap_put(&r->by_token, x->token, x) < 0) {
        x->token[0] = 0;
        return RELAY_FAILED;
    }
    x->state = RELAY_ISSUED;
    return RELAY_OK;
}

size_t relay_count(const struct relay *r) { return r->by_key.len; }

const char *relay_host(const struct relay *r) { return r && r->host[0] ? r->host : NULL; }

const char *relay_public_urls(const struct relay *r) { return r && r->host[0] && r->public_urls[0] ? r->public_urls : NULL; }

/* The port a listener is bound to (port 0 in the config: the kernel's choice). */
static int relay_bound_port(struct evconnlistener *lis)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evconnlistener_get_fd(lis), (struct sockaddr *)&ss, &sl) != 0) return 0;
    return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                         : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* One URL of relay_public_url as a connect-src source: scheme://host[:port] and, with a path,
 * the path with a trailing '/' (a CSP source ending in '/' matches what lies under it).  Only the
 * characters a host, a port and a plain path use: nothing that could end the CSP directive or
 * smuggle a second source in.  0, or -1 with the reason. */
static int relay_public_one(const char *u, size_t len, char *out, size_t cap, char *err, size_t errlen)
{
    static const char hostch[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-";
    static const char pathch[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_~/";
    size_t sl = len >= 8 && !strncasecmp(u, "https://", 8) ? 8 : len >= 7 && !strncasecmp(u, "http://", 7) ? 7 : 0;
    if (!sl) {
        snprintf(err, errlen, "relay_public_url \"%.*s\": not an http:// or https:// URL", (int)len, u);
        return -1;
    }
    size_t i = sl, h0 = i;
    if (i < len && u[i] == '[') { /* an IPv6 literal */
        i++;
        while (i < len && u[i] && strchr("0123456789abcdefABCDEF:.", u[i])) i++;
        if (i < len && u[i] == ']' && i > h0 + 1) i++;
        else h0 = i = len + 1;
    } else {
        while (i < len && u[i] && strchr(hostch, u[i])) i++;
    }
    int ok = i <= len && i > h0;
    if (ok && i < len && u[i] == ':') { /* a port: 1..65535 */
        size_t p0 = ++i;
        long port = 0;
        while (i < len && u[i] >= '0' && u[i] <= '9' && i - p0 < 6) port = port * 10 + (u[i++] - '0');
        ok = i > p0 && port >= 1 && port <= 65535;
    }
    size_t origin_end = i;
    if (ok && i < len && u[i] == '/') {
        while (i < len && u[i] && strchr(pathch, u[i])) i++;
        /* u is not NUL-terminated at len (the rest of the list follows): bounded searches */
        const char *pth = u + origin_end;
        size_t pn = len - origin_end;
        ok = i == len && !memmem(pth, pn, "//", 2) && !memmem(pth, pn, "/./", 3) && !memmem(pth, pn, "/../", 4) &&
             !(pn >= 3 && !memcmp(pth + pn - 3, "/..", 3)) && !(pn >= 2 && !memcmp(pth + pn - 2, "/.", 2));
    }
    if (!ok || i != len) {
        snprintf(err, errlen, "relay_public_url \"%.*s\": want http[s]://HOST[:PORT][/PATH]", (int)len, u);
        return -1;
    }
    size_t pl = len - origin_end;
    while (pl > 0 && u[origin_end + pl - 1] == '/') pl--;
    /* scheme in lower case, as a browser serialises an origin */
    int n = snprintf(out, cap, "%s%.*s%.*s%s", sl == 8 ? "https://" : "http://", (int)(origin_end - sl), u + sl,
                     (int)pl, u + origin_end, pl ? "/" : "");
    if (n < 0 || (size_t)n >= cap) {
        snprintf(err, errlen, "relay_public_url \"%.*s\" is too long", (int)len, u);
        return -1;
    }
    return 0;
}

int relay_public_parse(const char *list, char *out, size_t cap, char *err, size_t errlen)
{
    size_t o = 0, n = 0;
    out[0] = 0;
    for (const char *p = list; *p;) {
        while (*p == ',' || *p == ' ') p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ') e++;
        if (e == p) break;
        char one[RELAY_PUBLIC_MAX];
        if (relay_public_one(p, (size_t)(e - p), one, sizeof one, err, errlen) < 0) return -1;
        if (++n > RELAY_PUBLIC_URLS || o + strlen(one) + 2 > cap) {
            snprintf(err, errlen, "relay_public_url: at most %d URLs, %d characters", RELAY_PUBLIC_URLS,
                     RELAY_PUBLIC_MAX - 1);
            return -1;
        }
        o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? " " : "", one);
        p = e;
    }
    return 0;
}

/* relay_public_url, or what the listeners give: http://relay_host, and https:// on relay_host's host
 * name (the name the TLS certificate is for, as the pages' own) at the TLS listener's port. */
static int relay_public_init(struct relay *r, char *err, size_t errlen)
{
    const struct config *cfg = r->srv->cfg;
    if (cfg->relay_public_url[0])
        return relay_public_parse(cfg->relay_public_url, r->public_urls, sizeof r->public_urls, err, errlen);
    char rhost[256], list[RELAY_PUBLIC_MAX];
    int rport, n;
    if (!r->host[0] || config_split_hostport(r->host, rhost, sizeof rhost, &rport) < 0) return 0;
    n = snprintf(list, sizeof list, "http://%s", r->host);
    if (r->tls_lis && n > 0 && (size_t)n < sizeof list)
        snprintf(list + n, sizeof list - (size_t)n, strchr(rhost, ':') ? ",https://[%s]:%d" : ",https://%s:%d", rhost,
                 relay_bound_port(r->tls_lis));
    /* the same check as the knob's: a relay_host a browser cannot name (or that could end the CSP
     * directive) leaves the pages without a relay, as before, instead of stopping ymsgd */
    char why[300];
    if (relay_public_parse(list, r->public_urls, sizeof r->public_urls, why, sizeof why) < 0) {
        log_event(LOG_WARN, NULL, NULL, "relay_no_public_url", 0, "%s: set relay_public_url for the web pages", why);
        r->public_urls[0] = 0;
    }
    return 0;
}

void relay_set_holder_check(struct relay *r, relay_holder_fn fn) { r->holder_live = fn; }

void relay_set_end_hook(struct relay *r, relay_end_fn fn, void *arg)
{
    r->end_fn = fn;
    r->end_arg = arg;
}

/* ---- connections ----------------------------------------------------------------------------- */

static void relay_conn_free(struct relay_conn *rc)
{
    struct relay *r = rc->r;
    if (rc->x) {
        if (rc->x->up == rc) rc->x->up = NULL;
        if (rc->x->down == rc) rc->x->down = NULL;
    }
    if (rc->fd >= 0) close(rc->fd);
    if (rc->up) bufferevent_free(rc->up);
    if (rc->bev) bufferevent_free(rc->bev);
    if (rc->prev) rc->prev->next = rc->next;
    else r->conns = rc->next;
    if (rc->next) rc->next->prev = rc->prev;
    r->nconns--;
    free(rc);
}

/* Queues an answer and closes once it is written. */
static void relay_answer(struct relay_conn *rc, int code, const char *reason, const char *text)
{
    struct evbuffer *out = bufferevent_get_output(rc->bev);
    size_t tl = text ? strlen(text) : 0;
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
                        "%s%sConnection: close\r\n\r\n",
                        code, reason, tl, code == 405 ? "Allow: GET, HEAD, POST\r\n" : "", rc->cors);
    if (tl) evbuffer_add(out, text, tl);
    rc->st = RC_CLOSING;
    bufferevent_disable(rc->bev, EV_READ);
    bufferevent_setwatermark(rc->bev, EV_WRITE, 0, 0);
    bufferevent_enable(rc->bev, EV_WRITE);
}

static void relay_refuse(struct relay_conn *rc, int code, const char *reason, const char *why)
{
    log_event(LOG_INFO, rc->peer, rc->user[0] ? rc->user : NULL, "relay_refused", code, "%s", why);
    relay_answer(rc, code, reason, why);
}

/* Reads the next chunk of the file into the output. */
static int relay_fill(struct relay_conn *rc)
{
    struct relay_xfer *x = rc->x;
    struct evbuffer *out = bufferevent_get_output(rc->bev);
    while (rc->done < x->size && evbuffer_get_length(out) < RELAY_CHUNK) {
        uint64_t want = x->size - rc->done;
        if (want > RELAY_CHUNK) want = RELAY_CHUNK;
        struct evbuffer_iovec v;
        if (evbuffer_reserve_space(out, (ev_ssize_t)want, &v, 1) < 1) return -1;
        ssize_t n = read(rc->fd, v.iov_base, v.iov_len < want ? v.iov_len : (size_t)want);
        if (n <= 0) return -1; /* the file shrank: it is ours alone, so this is a disk fault */
        v.iov_len = (size_t)n;
        if (evbuffer_commit_space(out, &v, 1) < 0) return -1;
        rc->done += (uint64_t)n;
    }
    return 0;
}

static void relay_start_send(struct relay_conn *rc)
{
    struct relay *r = rc->r;
    struct relay_xfer *x = rc->x;
    char p[1100];
    relay_path(r, x, 0, p, sizeof p);
    rc->fd = open(p, O_RDONLY | O_CLOEXEC);
    if (rc->fd < 0) {
        log_event(LOG_WARN, rc->peer, rc->user, "relay_open_failed", errno, "%s", p);
        relay_refuse(rc, 500, "Internal Server Error", "the relayed file cannot be read");
        relay_end_notify(r, x, "upload failed");
        return;
    }
    x->state = RELAY_SENDING;
    rc->st = RC_SEND;
    rc->done = 0;
    struct evbuffer *out = bufferevent_get_output(rc->bev);
    evbuffer_add_printf(out,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %llu\r\n"
                        "Cache-Control: no-store\r\n%sConnection: close\r\n\r\n",
                        (unsigned long long)x->size, rc->cors);
    struct timeval tv = {r->srv->cfg->http_timeout, 0};
    bufferevent_set_timeouts(rc->bev, NULL, &tv);
    bufferevent_setwatermark(rc->bev, EV_WRITE, RELAY_LOW_WATER, 0);
    if (relay_fill(rc) < 0) {
        relay_end_notify(r, x, "upload failed");
        return;
    }
    bufferevent_enable(rc->bev, EV_WRITE);
}

/* The upload is complete: the file takes its final name, the uploader gets 200, a held GET starts. */
static void relay_stored(struct relay_conn *rc)
{
    struct relay *r = rc->r;
    struct relay_xfer *x = rc->x;
    char part[1100], fin[1100];
    relay_path(r, x, 1, part, sizeof part);
    relay_path(r, x, 0, fin, sizeof fin);
    close(rc->fd);
    rc->fd = -1;
    if (rename(part, fin) < 0) {
        relay_refuse(rc, 500, "Internal Server Error", "the file could not be stored");
        relay_end_notify(r, x, "upload failed");
        return;
    }
    x->state = RELAY_STORED;
    x->up = NULL;
    rc->x = NULL;
    log_event(LOG_INFO, rc->peer, rc->user, "relay_stored", 0, "to %s id %s, %llu bytes", x->recver, x->id,
              (unsigned long long)x->size);
    relay_answer(rc, 200, "OK", NULL);
    if (x->down) relay_start_send(x->down);
}

/* Writes what has arrived of an upload's body. */
static void relay_body(struct relay_conn *rc)
{
    struct relay_xfer *x = rc->x;
    struct evbuffer *in = bufferevent_get_input(rc->bev);
    while (evbuffer_get_length(in) && rc->done < x->size) {
        uint64_t want = x->size - rc->done;
        int n = evbuffer_write_atmost(in, rc->fd, want > (1u << 30) ? (1 << 30) : (ev_ssize_t)want);
        if (n < 0) {
            int e = errno;
            log_event(LOG_WARN, rc->peer, rc->user, "relay_write_failed", e, "%s", strerror(e));
            relay_refuse(rc, 507, "Insufficient Storage", "the file could not be stored");
            rc->x = NULL;
            x->up = NULL;
            relay_end_notify(rc->r, x, "upload failed");
            return;
        }
        rc->done += (uint64_t)n;
    }
    if (rc->done == x->size) {
        evbuffer_drain(in, evbuffer_get_length(in));
        relay_stored(rc);
    }
}

/* 1 when a page from origin may read the relay's answers: the check /ymsg makes (http_origin_allowed)
 * against each web listener's address as a browser's Host header names it (a wildcard listener
 * under the relay's advertised host, the scheme's default port left out), then --ws-origins. */
static int relay_origin_ok(const struct relay *r, const char *origin)
{
    const struct config *cfg = r->srv->cfg;
    const char *lis[2] = {cfg->http_listen, cfg->tls_cert[0] && cfg->tls_key[0] ? cfg->https_listen : ""};
    const int defport[2] = {80, 443};
    char rhost[256];
    int rport;
    if (config_split_hostport(r->host, rhost, sizeof rhost, &rport) < 0) rhost[0] = 0;
    for (int i = 0; i < 2; i++) {
        char h[256], hp[300];
        int port;
        if (!lis[i] || !lis[i][0] || config_split_hostport(lis[i], h, sizeof h, &port) < 0 || port == 0) continue;
        const char *name = (!h[0] || !strcmp(h, "0.0.0.0") || !strcmp(h, "::")) ? rhost : h;
        if (!name[0]) continue;
        int v6 = strchr(name, ':') != NULL;
        if (port == defport[i]) snprintf(hp, sizeof hp, v6 ? "[%s]" : "%s", name);
        else snprintf(hp, sizeof hp, v6 ? "[%s]:%d" : "%s:%d", name, port);
        if (http_origin_allowed(origin, hp, NULL)) return 1;
    }
    return http_origin_allowed(origin, NULL, cfg->ws_origins);
}

/* CORS for this connection's answers when its Origin is the web messenger's: the page uploads
 * (XHR POST with progress: preflighted) and downloads (fetch) across origins.  Others get nothing. */
static void relay_cors(struct relay_conn *rc, const struct relay_req *q)
{
    rc->cors[0] = 0;
    if (!q->origin[0] || !relay_origin_ok(rc->r, q->origin)) return;
    snprintf(rc->cors, sizeof rc->cors,
             "Access-Control-Allow-Origin: %s\r\nAccess-Control-Expose-Headers: Content-Length\r\nVary: Origin\r\n",
             q->origin);
}

/* OPTIONS with an Origin: 204 with the methods and the one header the page sends, or 403 without
 * any CORS header for an origin that may not use the relay. */
static void relay_preflight(struct relay_conn *rc)
{
    if (!rc->cors[0]) {
        relay_refuse(rc, 403, "Forbidden", "origin not allowed");
        return;
    }
    struct evbuffer *out = bufferevent_get_output(rc->bev);
    evbuffer_add_printf(out,
                        "HTTP/1.1 204 No Content\r\n%sAccess-Control-Allow-Methods: GET, HEAD, POST\r\n"
                        "Access-Control-Allow-Headers: Content-Type\r\nAccess-Control-Max-Age: 600\r\n"
                        "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                        rc->cors);
    rc->st = RC_CLOSING;
    bufferevent_disable(rc->bev, EV_READ);
    bufferevent_enable(rc->bev, EV_WRITE);
}

/* A parsed head: who may do what with which transfer. */
static void relay_request(struct relay_conn *rc, const struct relay_req *q)
{
    struct relay *r = rc->r;
    struct relay_xfer *x = hmap_get(&r->by_token, q->token);
    if (!x && q->holder[0] && q->method != RELAY_M_POST && strcmp(q->holder, r->host) != 0) {
        relay_proxy(rc, q); /* held by another node's relay */
        return;
    }
    if (!x) {
        relay_refuse(rc, 404, "Not Found", "no such transfer (unknown, expired or already downloaded)");
        return;
    }
    /* The pair named in the query is the transfer's two users, in either order (Pidgin's receiver
     * names itself as sender=, libyahoo2's does not). */
    int same = !strcmp(q->sender, x->sender) && !strcmp(q->recver, x->recver);
    int swapped = !strcmp(q->sender, x->recver) && !strcmp(q->recver, x->sender);
    if (!same && !swapped) {
        relay_refuse(rc, 403, "Forbidden", "this token is not for these users");
        return;
    }
    const char *actor = q->method == RELAY_M_POST ? x->sender : x->recver;
    snprintf(rc->user, sizeof rc->user, "%s", actor);
    if (q->cookie_y[0] && q->cookie_t[0] && r->srv->auth) {
        char who[NAME_MAX_LEN + 1];
        if (auth_cookie_user(r->srv->auth, q->cookie_y, q->cookie_t, who) == 0 && strcmp(who, actor)) {
            relay_refuse(rc, 403, "Forbidden", "the cookies are another user's");
            return;
        }
    }
    if (q->method == RELAY_M_POST) {
        if (x->state != RELAY_ISSUED) {
            relay_refuse(rc, 409, "Conflict", "this file has been uploaded already");
            return;
        }
        if (q->length != x->size) {
            relay_refuse(rc, q->length > x->size ? 413 : 400, q->length > x->size ? "Payload Too Large" : "Bad Request",
                         "Content-Length is not the offered size");
            return;
        }
        char part[1100];
        relay_path(r, x, 1, part, sizeof part);
        rc->fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (rc->fd < 0) {
            log_event(LOG_WARN, rc->peer, rc->user, "relay_open_failed", errno, "%s", part);
            relay_refuse(rc, 500, "Internal Server Error", "the file cannot be stored");
            return;
        }
        rc->x = x;
        x->up = rc;
        x->state = RELAY_UPLOADING;
        rc->st = RC_BODY;
        rc->done = 0;
        struct timeval tv = {r->srv->cfg->http_timeout, 0};
        bufferevent_set_timeouts(rc->bev, &tv, NULL);
        relay_body(rc);
        return;
    }
    if (q->method == RELAY_M_HEAD) {
        struct evbuffer *out = bufferevent_get_output(rc->bev);
        evbuffer_add_printf(out,
                            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %llu\r\n"
                            "Cache-Control: no-store\r\n%sConnection: close\r\n\r\n",
                            (unsigned long long)x->size, rc->cors);
        rc->st = RC_CLOSING;
        bufferevent_disable(rc->bev, EV_READ);
        bufferevent_enable(rc->bev, EV_WRITE);
        return;
    }
    /* GET */
    if (x->down || x->state == RELAY_SENDING) {
        relay_refuse(rc, 409, "Conflict", "this file is being downloaded already");
        return;
    }
    rc->x = x;
    x->down = rc;
    if (x->state == RELAY_STORED) {
        relay_start_send(rc);
        return;
    }
    /* Held until the upload completes (the clients connect both ways at once); bounded by relay_ttl. */
    rc->st = RC_WAIT;
    bufferevent_set_timeouts(rc->bev, NULL, NULL);
}

/* ---- a download held by another node's relay --------------------------------------------------- */

/* A reason phrase for a status the holder's relay answered. */
static const char *relay_reason(int code)
{
    switch (code) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    default: return "Bad Gateway";
    }
}

static void relay_proxy_drop_up(struct relay_conn *rc)
{
    if (rc->up) bufferevent_free(rc->up);
    rc->up = NULL;
}

/* Closes the receiver's connection once its output is written. */
static void relay_proxy_close(struct relay_conn *rc)
{
    relay_proxy_drop_up(rc);
    rc->st = RC_CLOSING;
    bufferevent_disable(rc->bev, EV_READ);
    bufferevent_setwatermark(rc->bev, EV_WRITE, 0, 0);
    bufferevent_enable(rc->bev, EV_WRITE);
    if (evbuffer_get_length(bufferevent_get_output(rc->bev)) == 0) relay_conn_free(rc);
}

/* Moves what the holder sent to the receiver while the receiver's output holds less than RELAY_CHUNK;
 * the holder is read again when the receiver has taken it (the write callback at RELAY_LOW_WATER), so
 * a proxied download holds at most about two chunks in memory however slow the receiver. */
static void relay_proxy_pump(struct relay_conn *rc)
{
    if (!rc->up || rc->up_code != 200) return;
    struct evbuffer *in = bufferevent_get_input(rc->up), *out = bufferevent_get_output(rc->bev);
    size_t olen = evbuffer_get_length(out), have = evbuffer_get_length(in);
    size_t n = olen < RELAY_CHUNK ? RELAY_CHUNK - olen : 0;
    if (n > have) n = have;
    if ((uint64_t)n > rc->up_len - rc->done) n = (size_t)(rc->up_len - rc->done);
    if (n && evbuffer_remove_buffer(in, out, n) != (int)n) {
        relay_conn_free(rc);
        return;
    }
    rc->done += n;
    if (rc->done == rc->up_len) {
        log_event(LOG_INFO, rc->peer, NULL, "relay_proxied", 0, "%llu bytes from the relay at %s",
                  (unsigned long long)rc->done, rc->holder);
        relay_proxy_close(rc);
        return;
    }
    if (rc->up_eof) {
        if (evbuffer_get_length(in) == 0) {
            /* the holder stopped before the whole file: the receiver sees a cut body, as from a local relay */
            log_event(LOG_INFO, rc->peer, NULL, "relay_proxy_cut", (long)rc->done, "the relay at %s", rc->holder);
            relay_conn_free(rc);
        }
        return;
    }
    if (evbuffer_get_length(out) >= RELAY_CHUNK) bufferevent_disable(rc->up, EV_READ);
    else bufferevent_enable(rc->up, EV_READ);
}

/* The holder refused: its status and text go to the receiver, with this relay's CORS. */
static void relay_proxy_refusal(struct relay_conn *rc)
{
    struct evbuffer *in = bufferevent_get_input(rc->up);
    if (evbuffer_get_length(in) < rc->up_len && !rc->up_eof) return; /* the rest of the text comes */
    char text[RELAY_PROXY_TEXT + 1];
    int got = evbuffer_remove(in, text, (size_t)rc->up_len);
    size_t n = got > 0 ? (size_t)got : 0;
    text[n] = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e) text[i] = ' ';
    int code = rc->up_code;
    relay_proxy_drop_up(rc);
    relay_refuse(rc, code, relay_reason(code), n ? text : "refused by the relay holding this file");
}

/* The holder's answer: its head (status, Content-Length), then the body. */
static void relay_up_read_cb(struct bufferevent *bev, void *arg)
{
    struct relay_conn *rc = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (rc->up_code == 200) {
        relay_proxy_pump(rc);
        return;
    }
    if (rc->up_code) {
        relay_proxy_refusal(rc);
        return;
    }
    size_t len = evbuffer_get_length(in);
    size_t take = len < RELAY_HEAD_MAX ? len : RELAY_HEAD_MAX;
    const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)take);
    ssize_t hl = p ? http_head_len(p, take) : -1;
    if (hl == 0 && len < RELAY_HEAD_MAX) return;
    char v[32], *end = NULL;
    unsigned long long cl = 0;
    int code = 0;
    if (hl > 12 && !strncmp(p, "HTTP/1.", 7) && p[8] == ' ' && p[9] >= '1' && p[9] <= '5' && p[10] >= '0' &&
        p[10] <= '9' && p[11] >= '0' && p[11] <= '9' && (p[12] == ' ' || p[12] == '\r'))
        code = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (code && relay_header(p, (size_t)hl, "Content-Length", v, sizeof v) == 0 && v[0] >= '0' && v[0] <= '9')
        cl = strtoull(v, &end, 10);
    int ok = code && end && !*end &&
             (code == 200 ? cl >= 1 && cl <= (unsigned long long)rc->r->srv->cfg->relay_max_file
                          : code >= 400 && cl <= RELAY_PROXY_TEXT);
    if (!ok) {
        relay_proxy_drop_up(rc);
        relay_refuse(rc, 502, "Bad Gateway", "the relay holding this file answered something else than a relay");
        return;
    }
    evbuffer_drain(in, (size_t)hl);
    rc->up_code = code;
    rc->up_len = cl;
    if (code != 200) {
        relay_proxy_refusal(rc);
        return;
    }
    struct evbuffer *out = bufferevent_get_output(rc->bev);
    evbuffer_add_printf(out,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %llu\r\n"
                        "Cache-Control: no-store\r\n%sConnection: close\r\n\r\n",
                        cl, rc->cors);
    if (rc->up_head_only) {
        relay_proxy_close(rc);
        return;
    }
    /* the same timeouts as a local download: the receiver must take the bytes, the holder send them */
    struct timeval tv = {rc->r->srv->cfg->http_timeout, 0};
    bufferevent_set_timeouts(rc->bev, NULL, &tv);
    bufferevent_set_timeouts(rc->up, &tv, &tv);
    bufferevent_setwatermark(rc->bev, EV_WRITE, RELAY_LOW_WATER, 0);
    bufferevent_enable(rc->bev, EV_WRITE);
    relay_proxy_pump(rc);
}

static void relay_up_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct relay_conn *rc = arg;
    if (what & BEV_EVENT_CONNECTED) return;
    if (!rc->up_code) {
        log_event(LOG_INFO, rc->peer, NULL, "relay_proxy_failed", what, "the relay at %s", rc->holder);
        relay_proxy_drop_up(rc);
        if (what & BEV_EVENT_TIMEOUT) relay_refuse(rc, 504, "Gateway Timeout", "the relay holding this file did not answer");
        else relay_refuse(rc, 502, "Bad Gateway", "the relay holding this file cannot be reached (its node may be gone)");
        return;
    }
    if (what & (BEV_EVENT_TIMEOUT | BEV_EVENT_ERROR)) {
        log_event(LOG_INFO, rc->peer, NULL, "relay_proxy_cut", (long)rc->done, "the relay at %s", rc->holder);
        relay_conn_free(rc);
        return;
    }
    /* end of the holder's answer: what is read still goes out */
    rc->up_eof = 1;
    bufferevent_disable(rc->up, EV_READ);
    if (rc->up_code == 200) relay_proxy_pump(rc);
    else relay_proxy_refusal(rc);
}

/* %-encodes a user id for the holder's query (ids are plain already: this only makes sure). */
static void relay_qenc(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o + 4 < cap; in++) {
        unsigned char ch = (unsigned char)*in;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-')
            out[o++] = (char)ch;
        else o += (size_t)snprintf(out + o, cap - o, "%%%02X", ch);
    }
    out[o] = 0;
}

/* A GET/HEAD for a token another node holds: passed to that node's relay when holder= is the
 * relay_host a live node of the cluster publishes (never any other address), with the same query
 * (no cookies, no holder=: the holder serves it as its own or refuses; it never proxies on). */
static void relay_proxy(struct relay_conn *rc, const struct relay_req *q)
{
    struct relay *r = rc->r;
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    if (!r->holder_live || !r->holder_live(r->srv, q->holder)) {
        relay_refuse(rc, 404, "Not Found", "no such transfer: the relay it names is not a live node of this cluster");
        return;
    }
    snprintf(rc->holder, sizeof rc->holder, "%s", q->holder);
    if (evutil_parse_sockaddr_port(q->holder, (struct sockaddr *)&ss, &sl) < 0) {
        relay_refuse(rc, 502, "Bad Gateway", "the holding node's relay_host is not an IP address and port");
        return;
    }
    char s[3 * RELAY_USER_MAX + 1], rv[3 * RELAY_USER_MAX + 1];
    relay_qenc(q->sender, s, sizeof s);
    relay_qenc(q->recver, rv, sizeof rv);
    if (!(rc->up = bufferevent_socket_new(r->srv->base, -1, BEV_OPT_CLOSE_ON_FREE))) {
        relay_refuse(rc, 500, "Internal Server Error", "out of memory");
        return;
    }
    rc->st = RC_PROXY;
    rc->up_head_only = q->method == RELAY_M_HEAD;
    bufferevent_setcb(rc->up, relay_up_read_cb, NULL, relay_up_event_cb, rc);
    bufferevent_setwatermark(rc->up, EV_READ, 0, RELAY_CHUNK); /* stop reading the holder at one chunk */
    bufferevent_set_max_single_read(rc->up, RELAY_CHUNK);
    /* the holder keeps a GET until the upload is complete (at most relay_ttl); connecting and sending
     * the request: http_timeout */
    struct timeval rtv = {r->srv->cfg->relay_ttl + r->srv->cfg->http_timeout, 0}, wtv = {r->srv->cfg->http_timeout, 0};
    bufferevent_set_timeouts(rc->up, &rtv, &wtv);
    bufferevent_set_timeouts(rc->bev, NULL, NULL); /* as a local GET waiting for the upload */
    evbuffer_add_printf(bufferevent_get_output(rc->up),
                        "%s /relay?token=%s&sender=%s&recver=%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                        rc->up_head_only ? "HEAD" : "GET", q->token, s, rv, q->holder);
    bufferevent_enable(rc->up, EV_READ | EV_WRITE);
    log_event(LOG_DEBUG, rc->peer, NULL, "relay_proxy", 0, "%s to the relay at %s", rc->up_head_only ? "HEAD" : "GET",
              q->holder);
    if (bufferevent_socket_connect(rc->up, (struct sockaddr *)&ss, sl) < 0 && rc->up) {
        relay_proxy_drop_up(rc);
        relay_refuse(rc, 502, "Bad Gateway", "the relay holding this file cannot be reached (its node may be gone)");
    }
}

/* The answer is written: what the client still sends (the rest of a refused upload, a pipelined request)
 * is read and dropped for a while (linger.h), or its reset would destroy the answer.  Over TLS the session's
 * own close is what ends it, so the connection is freed at once as before. */
static void relay_linger(struct relay_conn *rc)
{
    if (!rc->tls) linger_socket(rc->r->srv, bufferevent_getfd(rc->bev));
    relay_conn_free(rc);
}

static void relay_read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct relay_conn *rc = arg;
    struct evbuffer *in = bufferevent_get_input(rc->bev);
    if (rc->st == RC_BODY) {
        relay_body(rc);
        return;
    }
    if (rc->st != RC_HEAD) {
        evbuffer_drain(in, evbuffer_get_length(in)); /* nothing more is read on this connection */
        return;
    }
    size_t len = evbuffer_get_length(in);
    struct timeval now;
    event_base_gettimeofday_cached(rc->r->srv->base, &now);
    if (now.tv_sec - rc->t0.tv_sec > rc->r->srv->cfg->http_head_timeout) {
        /* a head trickled in byte by byte: the read timeout alone would never end it */
        evbuffer_drain(in, len);
        relay_refuse(rc, 408, "Request Timeout", "the request head took too long");
        return;
    }
    size_t take = len < RELAY_HEAD_MAX ? len : RELAY_HEAD_MAX;
    const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)take);
    struct relay_req q;
    int rcode = relay_parse_head(p, take, &q);
    if (rcode == 0) return;
    relay_cors(rc, &q);
    if (rcode < 0) {
        static const struct {
            int code;
            const char *reason;
        } reasons[] = {{400, "Bad Request"}, {403, "Forbidden"}, {404, "Not Found"}, {405, "Method Not Allowed"},
                       {411, "Length Required"}, {431, "Request Header Fields Too Large"}};
        const char *reason = "Bad Request";
        for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
            if (reasons[i].code == q.status) reason = reasons[i].reason;
        evbuffer_drain(in, len);
        relay_refuse(rc, q.status, reason, "bad relay request");
        return;
    }
    evbuffer_drain(in, q.head_len);
    if (q.method == RELAY_M_OPTIONS) relay_preflight(rc);
    else relay_request(rc, &q);
}

static void relay_write_cb(struct bufferevent *bev, void *arg)
{
    struct relay_conn *rc = arg;
    struct evbuffer *out = bufferevent_get_output(bev);
    if (rc->st == RC_CLOSING) {
        if (evbuffer_get_length(out) == 0) relay_linger(rc);
        return;
    }
    if (rc->st == RC_PROXY) {
        relay_proxy_pump(rc);
        return;
    }
    if (rc->st != RC_SEND) return;
    struct relay_xfer *x = rc->x;
    if (rc->done < x->size) {
        if (relay_fill(rc) < 0) relay_end_notify(rc->r, x, "upload failed");
        return;
    }
    if (evbuffer_get_length(out) == 0) {
        log_event(LOG_INFO, rc->peer, rc->user, "relay_downloaded", 0, "from %s id %s, %llu bytes", x->sender, x->id,
                  (unsigned long long)x->size);
        relay_end_notify(rc->r, x, "downloaded"); /* frees rc too */
    }
}

static void relay_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct relay_conn *rc = arg;
    if (what == BEV_EVENT_CONNECTED) return; /* the TLS handshake is done: nothing ends */
    struct relay_xfer *x = rc->x;
    unsigned long tls_err = rc->tls ? bufferevent_get_openssl_error(bev) : 0;
    log_event(LOG_DEBUG, rc->peer, rc->user[0] ? rc->user : NULL, "relay_conn_end", what, "state %d%s%s",
              (int)rc->st, tls_err ? ", TLS: " : "", tls_err ? ERR_reason_error_string(tls_err) : "");
    if (x && rc->st == RC_BODY) {
        /* the upload stopped mid-way: the partial file goes with the transfer */
        log_event(LOG_INFO, rc->peer, rc->user, "relay_upload_cut", (long)rc->done, "%s",
                  (what & BEV_EVENT_TIMEOUT) ? "timeout" : "connection closed");
        relay_end_notify(rc->r, x, "upload failed");
        return;
    }
    if (x && rc->st == RC_SEND) {
        /* the receiver went away during the download: the file stays until relay_ttl for another GET */
        x->state = RELAY_STORED;
    }
    relay_conn_free(rc);
}

static void relay_accept(struct relay *r, evutil_socket_t fd, struct sockaddr *sa, int tls)
{
    if (r->nconns >= (size_t)r->srv->cfg->http_max_conns) {
        evutil_closesocket(fd);
        return;
    }
    struct relay_conn *rc = calloc(1, sizeof *rc);
    if (!rc) {
        evutil_closesocket(fd);
        return;
    }
    rc->r = r;
    rc->fd = -1;
    rc->st = RC_HEAD;
    rc->tls = tls;
    event_base_gettimeofday_cached(r->srv->base, &rc->t0);
    char a[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        evutil_inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, a, sizeof a);
        port = ntohs(((struct sockaddr_in *)sa)->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        evutil_inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, a, sizeof a);
        port = ntohs(((struct sockaddr_in6 *)sa)->sin6_port);
    }
    snprintf(rc->peer, sizeof rc->peer, "%s:%d", a, port);
    if (tls) {
        SSL *ssl = SSL_new(r->ctx);
        if (ssl)
            rc->bev = bufferevent_openssl_socket_new(r->srv->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                     BEV_OPT_CLOSE_ON_FREE);
        if (!rc->bev && ssl) SSL_free(ssl);
    } else {
        rc->bev = bufferevent_socket_new(r->srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!rc->bev) {
        evutil_closesocket(fd);
        free(rc);
        return;
    }
    rc->next = r->conns;
    if (r->conns) r->conns->prev = rc;
    r->conns = rc;
    r->nconns++;
    bufferevent_setcb(rc->bev, relay_read_cb, relay_write_cb, relay_event_cb, rc);
    /* input is drained as it arrives (to disk, or parsed): this only bounds one read's worth */
    bufferevent_setwatermark(rc->bev, EV_READ, 0, 4 * RELAY_CHUNK);
    /* bigger reads and writes than libevent's 16 KiB default: a file moves in fewer loop turns */
    bufferevent_set_max_single_read(rc->bev, RELAY_CHUNK);
    bufferevent_set_max_single_write(rc->bev, RELAY_CHUNK);
    struct timeval tv = {r->srv->cfg->http_head_timeout, 0};
    bufferevent_set_timeouts(rc->bev, &tv, NULL);
    bufferevent_enable(rc->bev, EV_READ);
}

static void relay_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int sl, void *arg)
{
    (void)l, (void)sl;
    relay_accept(arg, fd, sa, 0);
}

static void relay_accept_tls_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int sl, void *arg)
{
    (void)l, (void)sl;
    relay_accept(arg, fd, sa, 1);
}

static struct evconnlistener *relay_listen(struct relay *r, const char *addr, evconnlistener_cb cb, char *err,
                                           size_t errlen)
{
    char host[256];
    int port;
    if (config_split_hostport(addr, host, sizeof host, &port) < 0) {
        snprintf(err, errlen, "bad relay listen address \"%s\"", addr);
        return NULL;
    }
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    char spec[300];
    /* libevent refuses port 0 in text: parse with 1, then set the port (0 = the kernel's choice) */
    snprintf(spec, sizeof spec, strchr(host, ':') ? "[%s]:1" : "%s:1", host);
    if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sl) < 0) {
        snprintf(err, errlen, "bad relay listen address \"%s\"", addr);
        return NULL;
    }
    if (ss.ss_family == AF_INET) ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    else ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    struct evconnlistener *lis = evconnlistener_new_bind(
        r->srv->base, cb, r, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 128,
        (struct sockaddr *)&ss, sl);
    if (!lis) snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
    return lis;
}

/* Empties DATA/relay (files of an earlier run: their transfers are gone with it). */
static int relay_sweep_dir(struct relay *r, char *err, size_t errlen)
{
    if (mkdir(r->dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", r->dir, strerror(errno));
        return -1;
    }
    DIR *d = opendir(r->dir);
    if (!d) {
        snprintf(err, errlen, "cannot open %s: %s", r->dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    size_t n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0) n++;
    }
    closedir(d);
    if (n) log_event(LOG_INFO, NULL, NULL, "relay_leftovers_deleted", (long)n, "%s", r->dir);
    return 0;
}

struct relay *relay_new(struct server *srv, char *err, size_t errlen)
{
    const struct config *cfg = srv->cfg;
    struct relay *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->srv = srv;
    hmap_init(&r->by_token);
    hmap_init(&r->by_key);
    hmap_init(&r->users);
    snprintf(r->dir, sizeof r->dir, "%s/relay", cfg->data_dir);
    if (relay_sweep_dir(r, err, errlen) < 0) goto fail;
    if (cfg->relay_listen[0]) {
        if (!(r->lis = relay_listen(r, cfg->relay_listen, relay_accept_cb, err, errlen))) goto fail;
        const char *adv = cfg->relay_host[0] ? cfg->relay_host : cfg->relay_listen;
        char host[256];
        int port;
        if (config_split_hostport(adv, host, sizeof host, &port) < 0) {
            snprintf(err, errlen, "bad relay_host \"%s\"", adv);
            goto fail;
        }
        if (!cfg->relay_host[0] && (!strcmp(host, "0.0.0.0") || !strcmp(host, "::") || !host[0])) {
            snprintf(err, errlen, "relay_listen %s is a wildcard: set relay_host to the address clients reach",
                     cfg->relay_listen);
            goto fail;
        }
        if (port == 0) port = relay_bound_port(r->lis); /* port 0: the kernel's choice, advertised as bound */
        snprintf(r->host, sizeof r->host, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    }
    if (cfg->relay_tls_listen[0]) {
        if (!cfg->tls_cert[0] || !cfg->tls_key[0]) {
            snprintf(err, errlen, "relay_tls_listen needs tls_cert and tls_key");
            goto fail;
        }
        if (!(r->ctx = http_tls_load(cfg->tls_cert, cfg->tls_key, err, errlen))) goto fail;
        if (!(r->tls_lis = relay_listen(r, cfg->relay_tls_listen, relay_accept_tls_cb, err, errlen))) goto fail;
    }
    if (relay_public_init(r, err, errlen) < 0) goto fail;
    return r;
fail:
    relay_free(r);
    return NULL;
}

void relay_free(struct relay *r)
{
    if (!r) return;
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&r->by_key, &pos, &k, &v)) {
        relay_end(r, v, "shutdown");
        pos = 0;
    }
    while (r->conns) relay_conn_free(r->conns);
    pos = 0;
    while (hmap_next(&r->users, &pos, &k, &v)) free(v);
    hmap_free(&r->by_token);
    hmap_free(&r->by_key);
    hmap_free(&r->users);
    if (r->lis) evconnlistener_free(r->lis);
    if (r->tls_lis) evconnlistener_free(r->tls_lis);
    if (r->ctx) http_tls_free(r->ctx);
    free(r);
}

/* amfcall — call Flash Remoting (AMF) services from the command line.
 *
 * Default (--flex): behaves like a Flex RemoteObject on an AMFChannel (AMF.md §3.4): a CommandMessage
 * ping first, an optional CommandMessage login, then one RemotingMessage per call, each in its own
 * HTTP POST, with response URIs "/1", "/2", ... counted across the whole run, the DSId from the acks
 * and the cookies carried from request to request.  --amf0 sends classic NetConnection.call requests
 * (target "Service.method", AMF0 strict array of the arguments, §3.3).
 *
 * Exit codes: 0 every call returned a result, 1 a call faulted (ErrorMessage / onStatus), 2 HTTP,
 * network or protocol error, 64 bad usage. */
#include "amf/amf.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_FAULT 1
#define EXIT_NET   2
#define EXIT_USAGE 64

#define MAX_URL      8192        /* gateway URL after AppendToGatewayUrl edits */
#define MAX_PASSWORD 4096        /* bytes read from --password-file */
#define MAX_ARGSFILE (64u << 20) /* bytes read from --args-file */
#define MAX_PHEADERS 16          /* RequestPersistentHeader entries kept */

/* One Service.method invocation from the command line. */
struct call {
    const char *name;   /* "Service.method" (or "method" with --source) */
    char **args;        /* JSON texts, one value each */
    int nargs;          /* number of args */
    char *args_file;    /* contents of --args-file (a JSON array), or NULL */
};

/* Command-line settings. */
struct config {
    int flex;                 /* 1: Flex RemoteObject, 0: classic AMF0 */
    int amf3_args;            /* classic mode: arguments behind 0x11 (AMF3) */
    const char *destination;  /* Flex destination id */
    const char *source;       /* Flex source override (NULL: the part before the last dot) */
    int no_source;            /* Flex: source null, operation = whole call name */
    const char *channel;      /* Flex channel id sent as DSEndpoint */
    int ping;                 /* Flex: send the CLIENT_PING first */
    const char *user;         /* credentials user name */
    char *password;           /* from --password-file or AMFCALL_PASSWORD */
    const char *cacert;       /* CA bundle for TLS verification */
    int insecure;             /* 1: no TLS verification (explicit opt-out) */
    long connect_timeout;     /* seconds */
    long timeout;             /* seconds per request */
    size_t max_response;      /* bytes */
    const char *cookie_jar;   /* file cookies are read from and written to */
    int dump;                 /* print amf_dump trees instead of JSON */
    unsigned json_flags;      /* AMF_JSON_* */
    int verbose;              /* trace requests and responses on stderr */
};

/* A header the server asked us to send with every request (RequestPersistentHeader, §3.1). */
struct pheader {
    char *name;               /* header name */
    int must_understand;      /* flag to send */
    struct amf_buf value;     /* the value, AMF0-encoded (decoded into each request's arena) */
};

/* State kept across the calls of one run. */
struct session {
    const struct config *cfg; /* settings */
    CURL *curl;               /* one handle: keeps the connection and the cookie engine */
    char *url;                /* gateway URL requests go to */
    char *base_url;           /* URL before any AppendToGatewayUrl suffix (the given or replaced one) */
    char *ds_id;              /* FlexClient id from the acks; "nil" before the first */
    unsigned next_response;   /* next "/N" */
    struct pheader ph[MAX_PHEADERS]; /* persistent headers */
    int nph;                  /* number of persistent headers */
    char curl_err[CURL_ERROR_SIZE]; /* libcurl's message for the last failure */
};

/* Outcome of one HTTP exchange: which response body answered our "/N". */
struct reply {
    struct amf_packet pkt;    /* decoded response envelope */
    struct amf_body *body;    /* the body addressed to our "/N" */
    int status;               /* 1: "/N/onStatus" (fault), 0: "/N/onResult" */
};

static const char *prog = "amfcall";

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", prog);
    exit(EXIT_USAGE);
}

static void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void errmsg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void usage(void)
{
    printf(
"Usage: %s [OPTIONS] URL Service.method [ARG...] [-- Service.method [ARG...]]...\n"
"Calls Flash Remoting (AMF) services over HTTP POST and prints each result as JSON.\n"
"Each ARG is one JSON value (strings need their quotes: '\"alice\"').\n"
"\n"
"Modes:\n"
"  --flex               Flex RemoteObject on an AMFChannel (default): ping, [login], RemotingMessage\n"
"  --amf0               classic NetConnection.call: target Service.method, AMF0 arguments\n"
"  --amf3-args          classic mode: send the arguments as AMF3 (behind 0x11, envelope version 3)\n"
"Flex options:\n"
"  --destination ID     RemotingMessage destination (default \"api\")\n"
"  --source NAME        RemotingMessage source; the call name is then the whole operation\n"
"  --no-source          source null, operation = the whole call name (Flex with rpc.source unset)\n"
"  --channel ID         channel id sent as the DSEndpoint header (default \"api\")\n"
"  --no-ping            skip the initial CommandMessage ping\n"
"Credentials (the password never goes on the command line):\n"
"  --user NAME          log in as NAME (Flex: CommandMessage login; classic: Credentials header)\n"
"  --password-file F    first line of F is the password ('-' = standard input);\n"
"                       otherwise the AMFCALL_PASSWORD environment variable\n"
"HTTP:\n"
"  --cacert FILE        CA certificates to verify the server with\n"
"  --insecure           do not verify the server's TLS certificate (explicit opt-out)\n"
"  --connect-timeout S  connection timeout in seconds (default 10)\n"
"  --timeout S          time limit per request in seconds (default 60)\n"
"  --max-response N     refuse responses larger than N bytes (default 67108864)\n"
"  --cookie-jar FILE    read cookies from FILE and save them there afterwards\n"
"Input and output:\n"
"  --args-file F        arguments of the first call as one JSON array read from F ('-' = stdin)\n"
"  --dump               print the annotated AMF tree of each result instead of JSON\n"
"  --pretty             indent the JSON\n"
"  --class              give typed objects a leading \"$class\" member\n"
"  -v, --verbose        trace requests and responses (AMF trees) on standard error\n"
"  -h, --help           this text\n"
"  -V, --version        version\n"
"\n"
"Exit status: 0 results, 1 a call faulted (fault printed on stderr), 2 HTTP/network/protocol\n"
"error, 64 bad usage.\n", prog);
}

/* ------------------------------------------------------------------------------------------------
 * Small helpers
 * ---------------------------------------------------------------------------------------------- */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        errmsg("out of memory");
        exit(EXIT_NET);
    }
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* Whole file (or stdin for "-") into a NUL-terminated buffer of at most max bytes. */
static char *read_file(const char *path, size_t max, size_t *len_out)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) die_usage("cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap) {
            if (cap > max) die_usage("%s is larger than %zu bytes", path, max);
            cap *= 2;
            char *n = realloc(buf, cap);
            if (!n) die_usage("out of memory reading %s", path);
            buf = n;
        }
        size_t r = fread(buf + len, 1, cap - len - 1, f);
        if (r == 0) break;
        len += r;
    }
    if (ferror(f)) die_usage("cannot read %s", path);
    if (f != stdin) fclose(f);
    if (len > max) die_usage("%s is larger than %zu bytes", path, max);
    buf[len] = 0;
    *len_out = len;
    return buf;
}

static long parse_long(const char *opt, const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        die_usage("%s wants a number from %ld to %ld, not '%s'", opt, min, max, s);
    return v;
}

/* Upper-case 8-4-4-4-12 random (version 4) UUID, what Flex's UIDUtil.createUID() looks like. */
static void new_uuid(char out[37])
{
    uint8_t b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t r = getrandom(b + got, sizeof b - got, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            errmsg("getrandom: %s", strerror(errno));
            exit(EXIT_NET);
        }
        got += (size_t)r;
    }
    amf_uuid_random_text(b, out);
}

static char *base64(const char *in, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
    const unsigned char *p = (const unsigned char *)in;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n) v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        *o++ = tab[(v >> 18) & 63];
        *o++ = tab[(v >> 12) & 63];
        *o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *o = 0;
    return out;
}

/* Writes bytes for a terminal: controls (other than newline and tab) as \xNN so a hostile server
 * cannot send escape sequences; continuation lines indented. */
static void put_safe(FILE *f, const char *s, size_t n, const char *indent)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') fprintf(f, "\n%s", indent);
        else if (c == '\t' || c >= 0x20) fputc(c == 0x7F ? '?' : c, f);
        else fprintf(f, "\\x%02X", c);
    }
}

/* A value as text for a fault field: strings raw, anything else as JSON. */
static void put_field(FILE *f, const char *label, const struct amf_value *v)
{
    if (!v || v->type == AMF_NULL || v->type == AMF_UNDEFINED) return;
    fprintf(f, "  %-12s ", label);
    if (v->type == AMF_STRING) {
        put_safe(f, v->u.s.ptr, v->u.s.len, "               ");
    } else {
        struct amf_buf b;
        amf_buf_init(&b, 1u << 20);
        if (amf_to_json(v, 0, &b) == 0) put_safe(f, (const char *)b.data, b.len, "               ");
        amf_buf_free(&b);
    }
    fputc('\n', f);
}

/* Prints a value on stdout as JSON (or as an annotated tree with --dump). */
static int print_result(const struct config *cfg, const struct amf_value *v)
{
    struct amf_buf b;
    amf_buf_init(&b, 0);
    int r = cfg->dump ? amf_dump(v, &b) : amf_to_json(v, cfg->json_flags, &b);
    if (r == 0) {
        fwrite(b.data, 1, b.len, stdout);
        if (!b.len || b.data[b.len - 1] != '\n') fputc('\n', stdout);
        fflush(stdout);
    } else {
        errmsg("cannot print the result: %s", amf_strerror(r));
    }
    amf_buf_free(&b);
    return r;
}

static void trace_value(const char *what, const struct amf_value *v)
{
    struct amf_buf b;
    amf_buf_init(&b, 0);
    if (amf_dump(v, &b) == 0) {
        fprintf(stderr, "%s\n", what);
        put_safe(stderr, (const char *)b.data, b.len, "");
        fputc('\n', stderr);
    }
    amf_buf_free(&b);
}

static void trace_packet(const char *dir, const struct amf_packet *p)
{
    fprintf(stderr, "%s AMF envelope version %u, %u header(s), %u body(ies)\n", dir, p->version,
            p->header_count, p->body_count);
    for (uint32_t i = 0; i < p->header_count; i++) {
        char what[300];
        snprintf(what, sizeof what, "%s header \"%.*s\" mustUnderstand=%u:", dir,
                 (int)(p->headers[i].name.len > 200 ? 200 : p->headers[i].name.len),
                 p->headers[i].name.ptr, p->headers[i].must_understand);
        trace_value(what, p->headers[i].value);
    }
    for (uint32_t i = 0; i < p->body_count; i++) {
        char what[600];
        snprintf(what, sizeof what, "%s body target \"%.*s\" response \"%.*s\":", dir,
                 (int)(p->bodies[i].target.len > 250 ? 250 : p->bodies[i].target.len),
                 p->bodies[i].target.ptr,
                 (int)(p->bodies[i].response.len > 250 ? 250 : p->bodies[i].response.len),
                 p->bodies[i].response.ptr);
        trace_value(what, p->bodies[i].value);
    }
}

/* ------------------------------------------------------------------------------------------------
 * HTTP
 * ---------------------------------------------------------------------------------------------- */

/* Response collector for libcurl. */
struct sink {
    struct amf_buf buf;  /* response body so far (capped) */
    int too_large;       /* 1: the cap stopped the transfer */
};

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
    struct sink *s = user;
    size_t len = size * n;
    if (amf_buf_append(&s->buf, p, len) != 0) {
        s->too_large = 1;
        return 0;  /* makes libcurl fail the transfer with CURLE_WRITE_ERROR */
    }
    return len;
}

static CURL *http_open(struct session *s)
{
    const struct config *cfg = s->cfg;
    CURL *c = curl_easy_init();
    if (!c) {
        errmsg("cannot initialise libcurl");
        exit(EXIT_NET);
    }
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->curl_err);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  /* a remoting POST is never redirected */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, cfg->connect_timeout);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, cfg->timeout);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cfg->max_response);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "amfcall/" YMSG_PACKAGE_VERSION);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, cfg->insecure ? 0L : 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, cfg->insecure ? 0L : 2L);
    if (cfg->cacert) curl_easy_setopt(c, CURLOPT_CAINFO, cfg->cacert);
    /* "" switches the cookie engine on without reading a file */
    curl_easy_setopt(c, CURLOPT_COOKIEFILE, cfg->cookie_jar ? cfg->cookie_jar : "");
    if (cfg->cookie_jar) curl_easy_setopt(c, CURLOPT_COOKIEJAR, cfg->cookie_jar);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    return c;
}

/* POSTs body to the gateway; on success *resp holds the response bytes.  Returns 0 or exits 2. */
static void http_post(struct session *s, const struct amf_buf *body, struct sink *resp)
{
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Content-Type: application/x-amf");
    h = curl_slist_append(h, "Expect:");  /* no 100-continue round trip */
    if (!h) {
        errmsg("out of memory");
        exit(EXIT_NET);
    }
    amf_buf_init(&resp->buf, s->cfg->max_response);
    resp->too_large = 0;
    s->curl_err[0] = 0;
    curl_easy_setopt(s->curl, CURLOPT_URL, s->url);
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, (const char *)body->data);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, resp);
    if (s->cfg->verbose) fprintf(stderr, "> POST %s (%zu bytes)\n", s->url, body->len);
    CURLcode rc = curl_easy_perform(s->curl);
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    if (resp->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        errmsg("response larger than --max-response (%zu bytes)", s->cfg->max_response);
        exit(EXIT_NET);
    }
    if (rc != CURLE_OK) {
        errmsg("%s: %s", s->url, s->curl_err[0] ? s->curl_err : curl_easy_strerror(rc));
        exit(EXIT_NET);
    }
    long code = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
    char *ctype = NULL;
    curl_easy_getinfo(s->curl, CURLINFO_CONTENT_TYPE, &ctype);
    if (s->cfg->verbose)
        fprintf(stderr, "< HTTP %ld, %s, %zu bytes\n", code, ctype ? ctype : "no content type",
                resp->buf.len);
    if (code != 200) {
        errmsg("%s: HTTP status %ld", s->url, code);
        exit(EXIT_NET);
    }
}

/* ------------------------------------------------------------------------------------------------
 * Remoting exchange
 * ---------------------------------------------------------------------------------------------- */

/* Is target "/N/onResult" or "/N/onStatus" for our N?  (A leading slash is optional: RocketAMF's
 * fixture writes "1/onStatus".)  Returns 0 result, 1 status, -1 not ours. */
static int match_target(const struct amf_str *t, unsigned n)
{
    char want[32];
    const char *p = t->ptr;
    size_t len = t->len;
    if (len && p[0] == '/') p++, len--;
    int w = snprintf(want, sizeof want, "%u/", n);
    if (len < (size_t)w || memcmp(p, want, (size_t)w)) return -1;
    p += w;
    len -= (size_t)w;
    if (len == 8 && !memcmp(p, "onResult", 8)) return 0;
    if (len == 8 && !memcmp(p, "onStatus", 8)) return 1;
    return -1;
}

static void add_persistent_headers(struct session *s, amf_arena *a, struct amf_packet *req)
{
    for (int i = 0; i < s->nph; i++) {
        struct amf_value *v;
        size_t used;
        int r = amf_decode(NULL, a, AMF_AMF0, s->ph[i].value.data, s->ph[i].value.len, &v, &used);
        if (r == 0) r = amf_packet_add_header(a, req, s->ph[i].name, s->ph[i].must_understand, v);
        if (r) {
            errmsg("cannot add persistent header %s: %s", s->ph[i].name, amf_strerror(r));
            exit(EXIT_NET);
        }
    }
}

/* Envelope headers a server sends to the client (§3.1). */
static void apply_response_headers(struct session *s, const struct amf_packet *p)
{
    for (uint32_t i = 0; i < p->header_count; i++) {
        const struct amf_header *h = &p->headers[i];
        const struct amf_value *v = h->value;
        if (h->name.len == 18 && !memcmp(h->name.ptr, "AppendToGatewayUrl", 18) &&
            v->type == AMF_STRING) {
            /* the suffix goes on the original URL, replacing an earlier suffix: servers (Zend with
             * sessions) send it with every response */
            size_t ul = strlen(s->base_url);
            if (ul + v->u.s.len >= MAX_URL || memchr(v->u.s.ptr, 0, v->u.s.len)) {
                errmsg("ignoring AppendToGatewayUrl: URL would be too long or invalid");
                continue;
            }
            char *n = xmalloc(ul + v->u.s.len + 1);
            memcpy(n, s->base_url, ul);
            memcpy(n + ul, v->u.s.ptr, v->u.s.len);
            n[ul + v->u.s.len] = 0;
            free(s->url);
            s->url = n;
        } else if (h->name.len == 17 && !memcmp(h->name.ptr, "ReplaceGatewayUrl", 17) &&
                   v->type == AMF_STRING) {
            if (v->u.s.len >= MAX_URL || memchr(v->u.s.ptr, 0, v->u.s.len)) {
                errmsg("ignoring ReplaceGatewayUrl: URL too long or invalid");
                continue;
            }
            free(s->url);
            free(s->base_url);
            s->url = xstrndup(v->u.s.ptr, v->u.s.len);
            s->base_url = xstrndup(v->u.s.ptr, v->u.s.len);
        } else if (h->name.len == 23 && !memcmp(h->name.ptr, "RequestPersistentHeader", 23) &&
                   v->type == AMF_OBJECT) {
            const struct amf_value *name = amf_object_get(v, "name");
            const struct amf_value *mu = amf_object_get(v, "mustUnderstand");
            const struct amf_value *data = amf_object_get(v, "data");
            if (!name || name->type != AMF_STRING || !name->u.s.len ||
                memchr(name->u.s.ptr, 0, name->u.s.len))
                continue;
            int idx = -1;
            for (int k = 0; k < s->nph; k++)
                if (strlen(s->ph[k].name) == name->u.s.len &&
                    !memcmp(s->ph[k].name, name->u.s.ptr, name->u.s.len))
                    idx = k;
            if (idx >= 0) {  /* replaced or (data null) removed */
                free(s->ph[idx].name);
                amf_buf_free(&s->ph[idx].value);
                s->ph[idx] = s->ph[--s->nph];
            }
            if (!data || data->type == AMF_NULL || data->type == AMF_UNDEFINED) continue;
            if (s->nph == MAX_PHEADERS) {
                errmsg("ignoring RequestPersistentHeader: more than %d headers", MAX_PHEADERS);
                continue;
            }
            struct pheader *ph = &s->ph[s->nph];
            amf_buf_init(&ph->value, 1u << 20);
            if (amf_encode(NULL, AMF_AMF0, data, &ph->value) != 0) {
                amf_buf_free(&ph->value);
                continue;
            }
            ph->name = xstrndup(name->u.s.ptr, name->u.s.len);
            ph->must_understand = mu && mu->type == AMF_BOOL && mu->u.b;
            s->nph++;
        }
    }
}

/* Sends req (whose single body answers to "/n") and finds the response body for it. */
static void exchange(struct session *s, amf_arena *a, struct amf_packet *req, unsigned n,
                     struct sink *raw, struct reply *out)
{
    struct amf_buf body;
    amf_buf_init(&body, 0);
    int r = amf_packet_encode(NULL, req, &body);
    if (r) {
        errmsg("cannot encode the request: %s", amf_strerror(r));
        exit(EXIT_USAGE);
    }
    if (s->cfg->verbose) trace_packet(">", req);
    http_post(s, &body, raw);
    amf_buf_free(&body);
    size_t off = 0;
    r = amf_packet_decode(NULL, a, raw->buf.data, raw->buf.len, &out->pkt, &off);
    if (r) {
        char *ctype = NULL;
        curl_easy_getinfo(s->curl, CURLINFO_CONTENT_TYPE, &ctype);
        errmsg("%s: malformed AMF response (%s at byte %zu of %zu; content type %s)", s->url,
               amf_strerror(r), off, raw->buf.len, ctype ? ctype : "none");
        exit(EXIT_NET);
    }
    if (s->cfg->verbose) trace_packet("<", &out->pkt);
    apply_response_headers(s, &out->pkt);
    out->body = NULL;
    for (uint32_t i = 0; i < out->pkt.body_count; i++) {
        int m = match_target(&out->pkt.bodies[i].target, n);
        if (m >= 0) {
            out->body = &out->pkt.bodies[i];
            out->status = m;
            return;
        }
    }
    errmsg("%s: the response has no /%u/onResult or /%u/onStatus body", s->url, n, n);
    exit(EXIT_NET);
}

/* Prints a fault (Flex ErrorMessage or a classic onStatus object) on stderr. */
static void print_fault(const char *what, const struct amf_value *v, amf_arena *a)
{
    fprintf(stderr, "%s: %s: fault\n", prog, what);
    struct amf_flex_msg m;
    if (amf_flex_parse(a, v, &m) == 0 && m.kind == AMF_FLEX_ERROR) {
        const char *lbl[3] = { "faultCode:", "faultString:", "faultDetail:" };
        const struct amf_str *f[3] = { &m.fault_code, &m.fault_string, &m.fault_detail };
        for (int i = 0; i < 3; i++)
            if (f[i]->ptr) {
                fprintf(stderr, "  %-12s ", lbl[i]);
                put_safe(stderr, f[i]->ptr, f[i]->len, "               ");
                fputc('\n', stderr);
            }
        put_field(stderr, "rootCause:", m.root_cause);
        put_field(stderr, "extendedData:", m.extended_data);
        return;
    }
    if (v->type == AMF_ARRAY && v->u.array->dense_count == 1) v = v->u.array->dense[0];
    if (v->type == AMF_OBJECT) {
        /* RocketAMF/Flex names, then PyAMF {level, code, description, details} and Zend
         * {description, detail, line, code} */
        static const char *const names[][2] = {
            { "faultCode", "faultCode:" }, { "code", "faultCode:" },
            { "faultString", "faultString:" }, { "description", "faultString:" },
            { "faultDetail", "faultDetail:" }, { "details", "faultDetail:" },
            { "detail", "faultDetail:" }, { "level", "level:" }, { "type", "type:" },
            { "line", "line:" }, { "rootCause", "rootCause:" },
        };
        int shown = 0;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            const struct amf_value *fv = amf_object_get(v, names[i][0]);
            if (fv) {
                put_field(stderr, names[i][1], fv);
                shown++;
            }
        }
        if (shown) return;
    }
    put_field(stderr, "value:", v);
}

/* ------------------------------------------------------------------------------------------------
 * Calls
 * ---------------------------------------------------------------------------------------------- */

/* The arguments of c as an AMF array (dense) in arena a. */
static struct amf_value *parse_args(amf_arena *a, const struct call *c)
{
    struct amf_value *arr = amf_new_array(a);
    if (!arr) die_usage("out of memory");
    if (c->args_file) {
        struct amf_value *v;
        size_t off = 0;
        int r = amf_from_json(a, c->args_file, strlen(c->args_file), NULL, &v, &off);
        if (r) die_usage("--args-file: %s at byte %zu", amf_strerror(r), off);
        if (v->type != AMF_ARRAY || v->u.array->assoc_count)
            die_usage("--args-file must hold one JSON array of arguments");
        return v;
    }
    for (int i = 0; i < c->nargs; i++) {
        struct amf_value *v;
        size_t off = 0;
        int r = amf_from_json(a, c->args[i], strlen(c->args[i]), NULL, &v, &off);
        if (r)
            die_usage("%s: argument %d is not one JSON value (%s at byte %zu): %s", c->name, i + 1,
                      amf_strerror(r), off, c->args[i]);
        if (amf_array_push(a, arr, v)) die_usage("out of memory");
    }
    return arr;
}

static struct amf_value *obj_set(amf_arena *a, struct amf_value *o, const char *name,
                                 struct amf_value *v)
{
    if (!v || amf_object_set(a, o, name, v)) {
        errmsg("out of memory");
        exit(EXIT_NET);
    }
    return o;
}

/* Sends one Flex message (already built) as body "null" -> "/N" and returns the response value.
 * *fault = 1 when the reply is an ErrorMessage or an onStatus body. */
static struct amf_value *flex_send(struct session *s, amf_arena *a, struct amf_value *msg,
                                   struct sink *raw, int *fault)
{
    unsigned n = s->next_response++;
    char resp[16];
    snprintf(resp, sizeof resp, "/%u", n);
    struct amf_packet req;
    amf_packet_init(&req, 3);
    add_persistent_headers(s, a, &req);
    /* Flash wraps the message in a one-item strict array; the sealed AMF3 object goes behind 0x11 */
    struct amf_value *wrap = amf_new_array(a);
    if (!wrap || amf_array_push(a, wrap, msg) || amf_packet_add_body(a, &req, "null", resp, wrap)) {
        errmsg("out of memory");
        exit(EXIT_NET);
    }
    struct reply rep;
    exchange(s, a, &req, n, raw, &rep);
    struct amf_value *v = rep.body->value;
    struct amf_flex_msg m;
    int kind = amf_flex_parse(a, v, &m) == 0 ? m.kind : AMF_FLEX_NONE;
    *fault = rep.status || kind == AMF_FLEX_ERROR;
    if (kind == AMF_FLEX_ACK || kind == AMF_FLEX_ERROR) {
        if (m.ds_id.ptr && m.ds_id.len && m.ds_id.len < 256 && !memchr(m.ds_id.ptr, 0, m.ds_id.len)) {
            free(s->ds_id);
            s->ds_id = xstrndup(m.ds_id.ptr, m.ds_id.len);
        }
    }
    return v;
}

static struct amf_value *new_headers(amf_arena *a)
{
    struct amf_value *h = amf_new_object(a, NULL);
    if (!h) {
        errmsg("out of memory");
        exit(EXIT_NET);
    }
    return h;
}

/* CommandMessage (ping or login) as Flex builds it (RocketAMF commandMessage.bin). */
static struct amf_value *build_command(amf_arena *a, int op, struct amf_value *body,
                                       struct amf_value *headers)
{
    char id[37];
    new_uuid(id);
    struct amf_flex_msg m;
    amf_flex_init(&m, AMF_FLEX_COMMAND);
    m.operation = op;
    m.correlation_id = (struct amf_str){ "", 0 };
    m.message_id = (struct amf_str){ id, 36 };
    m.destination = (struct amf_str){ "", 0 };
    m.body = body;
    m.headers = headers;
    struct amf_value *v;
    int r = amf_flex_build(a, &m, &v);
    if (r) {
        errmsg("cannot build a CommandMessage: %s", amf_strerror(r));
        exit(EXIT_NET);
    }
    return v;
}

static int flex_ping(struct session *s, amf_arena *a, struct sink *raw)
{
    struct amf_value *h = new_headers(a);
    obj_set(a, h, "DSMessagingVersion", amf_new_int(a, 1));
    obj_set(a, h, "DSId", amf_new_stringz(a, s->ds_id));
    struct amf_value *msg = build_command(a, AMF_FLEX_OP_CLIENT_PING, new_headers(a), h);
    int fault;
    struct amf_value *v = flex_send(s, a, msg, raw, &fault);
    if (fault) {
        print_fault("ping (CommandMessage 5)", v, a);
        return EXIT_FAULT;
    }
    return 0;
}

static int flex_login(struct session *s, amf_arena *a, struct sink *raw)
{
    size_t ul = strlen(s->cfg->user), pl = strlen(s->cfg->password);
    char *plain = xmalloc(ul + pl + 2);
    memcpy(plain, s->cfg->user, ul);
    plain[ul] = ':';
    memcpy(plain + ul + 1, s->cfg->password, pl + 1);
    char *b64 = base64(plain, ul + 1 + pl);
    explicit_bzero(plain, ul + pl + 2);
    free(plain);
    struct amf_value *h = new_headers(a);
    obj_set(a, h, "DSId", amf_new_stringz(a, s->ds_id));
    obj_set(a, h, "DSCredentialsCharset", amf_new_stringz(a, "UTF-8"));
    struct amf_value *msg = build_command(a, AMF_FLEX_OP_LOGIN, amf_new_stringz(a, b64), h);
    explicit_bzero(b64, strlen(b64));
    free(b64);
    int fault;
    struct amf_value *v = flex_send(s, a, msg, raw, &fault);
    if (fault) {
        print_fault("login (CommandMessage 8)", v, a);
        return EXIT_FAULT;
    }
    return 0;
}

static int flex_call(struct session *s, amf_arena *a, const struct call *c, struct sink *raw)
{
    const struct config *cfg = s->cfg;
    const char *dot = strrchr(c->name, '.');
    struct amf_value *src, *op;
    if (cfg->source) {
        src = amf_new_stringz(a, cfg->source);
        op = amf_new_stringz(a, c->name);
    } else if (cfg->no_source || !dot) {
        src = amf_new_null(a);
        op = amf_new_stringz(a, c->name);
    } else {
        src = amf_new_string(a, c->name, (size_t)(dot - c->name));
        op = amf_new_stringz(a, dot + 1);
    }
    char id[37];
    new_uuid(id);
    struct amf_value *h = new_headers(a);
    obj_set(a, h, "DSEndpoint", amf_new_stringz(a, cfg->channel));
    obj_set(a, h, "DSId", amf_new_stringz(a, s->ds_id));
    /* sealed members in the order Flash writes them (Zend mock / RocketAMF remotingMessage.bin) */
    static const char *const names[] = { "operation", "source", "messageId", "clientId", "body",
                                         "timeToLive", "timestamp", "destination", "headers" };
    struct amf_traits *t = amf_new_traits(a, "flex.messaging.messages.RemotingMessage", names, 9, 0, 0);
    struct amf_value *msg = t ? amf_new_object_traits(a, t) : NULL;
    if (!msg) {
        errmsg("out of memory");
        exit(EXIT_NET);
    }
    obj_set(a, msg, "operation", op);
    obj_set(a, msg, "source", src);
    obj_set(a, msg, "messageId", amf_new_stringz(a, id));
    obj_set(a, msg, "clientId", amf_new_null(a));
    obj_set(a, msg, "body", parse_args(a, c));
    obj_set(a, msg, "timeToLive", amf_new_int(a, 0));
    obj_set(a, msg, "timestamp", amf_new_int(a, 0));
    obj_set(a, msg, "destination", amf_new_stringz(a, cfg->destination));
    obj_set(a, msg, "headers", h);
    int fault;
    struct amf_value *v = flex_send(s, a, msg, raw, &fault);
    if (fault) {
        print_fault(c->name, v, a);
        return EXIT_FAULT;
    }
    struct amf_flex_msg m;
    if (amf_flex_parse(a, v, &m) == 0 && m.kind == AMF_FLEX_ACK) {
        if (cfg->verbose && (m.correlation_id.len != 36 || memcmp(m.correlation_id.ptr, id, 36)))
            fprintf(stderr, "%s: note: ack correlationId differs from our messageId %s\n", prog, id);
        v = m.body ? m.body : amf_new_null(a);
    }
    /* anything else: servers that answer with the plain value (RocketAMF simple-response.bin) */
    return print_result(cfg, v) ? EXIT_NET : 0;
}

static int classic_call(struct session *s, amf_arena *a, const struct call *c, struct sink *raw)
{
    const struct config *cfg = s->cfg;
    unsigned n = s->next_response++;
    char resp[16];
    snprintf(resp, sizeof resp, "/%u", n);
    struct amf_packet req;
    amf_packet_init(&req, cfg->amf3_args ? 3 : 0);
    if (cfg->user) {
        struct amf_value *cred = amf_new_object(a, NULL);
        if (!cred) die_usage("out of memory");
        obj_set(a, cred, "userid", amf_new_stringz(a, cfg->user));
        obj_set(a, cred, "password", amf_new_stringz(a, cfg->password));
        if (amf_packet_add_header(a, &req, "Credentials", 0, cred)) die_usage("out of memory");
    }
    add_persistent_headers(s, a, &req);
    struct amf_value *args = parse_args(a, c);
    if (cfg->amf3_args)
        for (uint32_t i = 0; i < args->u.array->dense_count; i++)
            args->u.array->dense[i]->flags |= AMF_VF_AVMPLUS;
    if (amf_packet_add_body(a, &req, c->name, resp, args))
        die_usage("call name too long: %s", c->name);
    struct reply rep;
    exchange(s, a, &req, n, raw, &rep);
    if (rep.status) {
        print_fault(c->name, rep.body->value, a);
        return EXIT_FAULT;
    }
    return print_result(cfg, rep.body->value) ? EXIT_NET : 0;
}

/* ------------------------------------------------------------------------------------------------
 * main
 * ---------------------------------------------------------------------------------------------- */

static char *read_password(const char *file)
{
    char *pw;
    if (file) {
        size_t len;
        pw = read_file(file, MAX_PASSWORD, &len);
    } else {
        const char *env = getenv("AMFCALL_PASSWORD");
        if (!env) die_usage("--user needs --password-file FILE or AMFCALL_PASSWORD in the environment");
        if (strlen(env) > MAX_PASSWORD) die_usage("AMFCALL_PASSWORD is too long");
        pw = xstrndup(env, strlen(env));
    }
    pw[strcspn(pw, "\r\n")] = 0;  /* first line only */
    return pw;
}

enum {
    OPT_FLEX = 256, OPT_AMF0, OPT_AMF3_ARGS, OPT_DEST, OPT_SOURCE, OPT_NO_SOURCE, OPT_CHANNEL,
    OPT_NO_PING, OPT_USER, OPT_PWFILE, OPT_CACERT, OPT_INSECURE, OPT_CTIMEOUT, OPT_TIMEOUT,
    OPT_MAXRESP, OPT_JAR, OPT_ARGSFILE, OPT_DUMP, OPT_PRETTY, OPT_CLASS,
};

int main(int argc, char **argv)
{
    struct config cfg = {
        .flex = 1, .destination = "api", .channel = "api", .ping = 1, .connect_timeout = 10,
        .timeout = 60, .max_response = 64u << 20,
    };
    const char *pwfile = NULL, *argsfile = NULL;
    static const struct option opts[] = {
        { "flex", no_argument, NULL, OPT_FLEX },
        { "amf0", no_argument, NULL, OPT_AMF0 },
        { "amf3-args", no_argument, NULL, OPT_AMF3_ARGS },
        { "destination", required_argument, NULL, OPT_DEST },
        { "source", required_argument, NULL, OPT_SOURCE },
        { "no-source", no_argument, NULL, OPT_NO_SOURCE },
        { "channel", required_argument, NULL, OPT_CHANNEL },
        { "no-ping", no_argument, NULL, OPT_NO_PING },
        { "user", required_argument, NULL, OPT_USER },
        { "password-file", required_argument, NULL, OPT_PWFILE },
        { "cacert", required_argument, NULL, OPT_CACERT },
        { "insecure", no_argument, NULL, OPT_INSECURE },
        { "connect-timeout", required_argument, NULL, OPT_CTIMEOUT },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "max-response", required_argument, NULL, OPT_MAXRESP },
        { "cookie-jar", required_argument, NULL, OPT_JAR },
        { "args-file", required_argument, NULL, OPT_ARGSFILE },
        { "dump", no_argument, NULL, OPT_DUMP },
        { "pretty", no_argument, NULL, OPT_PRETTY },
        { "class", no_argument, NULL, OPT_CLASS },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+vhV", opts, NULL)) != -1) {
        switch (ch) {
        case OPT_FLEX: cfg.flex = 1; break;
        case OPT_AMF0: cfg.flex = 0; break;
        case OPT_AMF3_ARGS: cfg.amf3_args = 1; break;
        case OPT_DEST: cfg.destination = optarg; break;
        case OPT_SOURCE: cfg.source = optarg; break;
        case OPT_NO_SOURCE: cfg.no_source = 1; break;
        case OPT_CHANNEL: cfg.channel = optarg; break;
        case OPT_NO_PING: cfg.ping = 0; break;
        case OPT_USER: cfg.user = optarg; break;
        case OPT_PWFILE: pwfile = optarg; break;
        case OPT_CACERT: cfg.cacert = optarg; break;
        case OPT_INSECURE: cfg.insecure = 1; break;
        case OPT_CTIMEOUT: cfg.connect_timeout = parse_long("--connect-timeout", optarg, 1, 3600); break;
        case OPT_TIMEOUT: cfg.timeout = parse_long("--timeout", optarg, 1, 86400); break;
        case OPT_MAXRESP:
            cfg.max_response = (size_t)parse_long("--max-response", optarg, 16, 1L << 30);
            break;
        case OPT_JAR: cfg.cookie_jar = optarg; break;
        case OPT_ARGSFILE: argsfile = optarg; break;
        case OPT_DUMP: cfg.dump = 1; break;
        case OPT_PRETTY: cfg.json_flags |= AMF_JSON_PRETTY; break;
        case OPT_CLASS: cfg.json_flags |= AMF_JSON_CLASS; break;
        case 'v': cfg.verbose = 1; break;
        case 'h': usage(); return 0;
        case 'V': printf("amfcall %s\n", YMSG_PACKAGE_VERSION); return 0;
        default:
            if (optopt) die_usage("option -%c is unknown or needs a value", optopt);
            die_usage("option %s is unknown or needs a value", argv[optind - 1]);
        }
    }
    if (cfg.amf3_args && cfg.flex) die_usage("--amf3-args applies to --amf0 calls only");
    if (cfg.source && cfg.no_source) die_usage("--source and --no-source exclude each other");
    if (pwfile && !cfg.user) die_usage("--password-file needs --user");
    if (pwfile && argsfile && !strcmp(pwfile, "-") && !strcmp(argsfile, "-"))
        die_usage("--password-file and --args-file cannot both read standard input");
    if (argc - optind < 2) die_usage("need a URL and at least one Service.method");
    /* The jar holds a live session cookie.  libcurl creates a missing jar with fopen() (0666 & ~umask)
     * and rewrites an existing one keeping its mode, so create it 0600 first and tighten an old one. */
    if (cfg.cookie_jar) {
        int fd = open(cfg.cookie_jar, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || fchmod(fd, 0600) < 0) {
            errmsg("cookie jar %s: %s", cfg.cookie_jar, strerror(errno));
            if (fd >= 0) close(fd);
            return EXIT_USAGE;
        }
        close(fd);
    }
    const char *url = argv[optind++];

    /* split the rest on "--" into calls */
    int maxcalls = argc - optind;
    struct call *calls = xmalloc(sizeof *calls * (size_t)maxcalls);
    int ncalls = 0;
    for (int i = optind; i < argc;) {
        if (!strcmp(argv[i], "--") || !argv[i][0]) die_usage("empty call at argument %d", i);
        struct call *c = &calls[ncalls++];
        memset(c, 0, sizeof *c);
        c->name = argv[i++];
        if (strlen(c->name) > 0xFFFF) die_usage("call name too long");
        c->args = &argv[i];
        while (i < argc && strcmp(argv[i], "--")) i++, c->nargs++;
        if (i < argc) {
            i++;
            if (i == argc) die_usage("nothing after the last --");
        }
    }
    if (argsfile) {
        if (calls[0].nargs) die_usage("--args-file replaces the arguments of the first call; give one or the other");
        size_t len;
        calls[0].args_file = read_file(argsfile, MAX_ARGSFILE, &len);
    }
    if (cfg.user) {
        if (strchr(cfg.user, ':') && cfg.flex)
            die_usage("--user must not contain ':' (Flex sends base64 \"user:password\")");
        cfg.password = read_password(pwfile);
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        errmsg("cannot initialise libcurl");
        return EXIT_NET;
    }
    struct session s;
    memset(&s, 0, sizeof s);
    s.cfg = &cfg;
    s.url = xstrndup(url, strlen(url));
    s.base_url = xstrndup(url, strlen(url));
    s.ds_id = xstrndup("nil", 3);
    s.next_response = 1;
    s.curl = http_open(&s);
    amf_arena *a = amf_arena_new(0);
    if (!a) {
        errmsg("out of memory");
        return EXIT_NET;
    }
    /* every argument is checked before anything goes on the wire */
    for (int i = 0; i < ncalls; i++) {
        parse_args(a, &calls[i]);
        amf_arena_reset(a);
    }
    struct sink raw;
    memset(&raw, 0, sizeof raw);
    int rc = 0;
    if (cfg.flex && cfg.ping) {
        rc = flex_ping(&s, a, &raw);
        amf_buf_free(&raw.buf);
        amf_arena_reset(a);
    }
    if (!rc && cfg.flex && cfg.user) {
        rc = flex_login(&s, a, &raw);
        amf_buf_free(&raw.buf);
        amf_arena_reset(a);
    }
    for (int i = 0; !rc && i < ncalls; i++) {
        rc = cfg.flex ? flex_call(&s, a, &calls[i], &raw) : classic_call(&s, a, &calls[i], &raw);
        amf_buf_free(&raw.buf);
        amf_arena_reset(a);
    }

    amf_arena_free(a);
    curl_easy_cleanup(s.curl);  /* writes the cookie jar */
    curl_global_cleanup();
    for (int i = 0; i < s.nph; i++) {
        free(s.ph[i].name);
        amf_buf_free(&s.ph[i].value);
    }
    if (cfg.password) {
        explicit_bzero(cfg.password, strlen(cfg.password));
        free(cfg.password);
    }
    free(calls[0].args_file);
    free(calls);
    free(s.url);
    free(s.base_url);
    free(s.ds_id);
    return rc;
}

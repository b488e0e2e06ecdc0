/* amfcall: HTTP POSTs through one libcurl handle and the remoting exchange around them -- encode the
 * envelope, send it, decode the answer, find the body for our "/N", apply the headers the server sends
 * back (AppendToGatewayUrl, ReplaceGatewayUrl, RequestPersistentHeader). */
#include "amfcall.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------------
 * HTTP
 * ---------------------------------------------------------------------------------------------- */


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

CURL *remoting_open(struct session *s)
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

void remoting_add_persistent_headers(struct session *s, amf_arena *a, struct amf_packet *req)
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
void remoting_exchange(struct session *s, amf_arena *a, struct amf_packet *req, unsigned n,
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
void remoting_print_fault(const char *what, const struct amf_value *v, amf_arena *a)
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

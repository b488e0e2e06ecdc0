/* The default HTTP driver for the token login (§5.1): one blocking libcurl GET with certificate
 * verification on.  The session stays sans-IO; a driver calls this when it sees YMSG_EV_HTTP_GET and
 * feeds the result to ymsg_session_http_response(). */
#include "ymsg/ymsg.h"

#include "dynbuf.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What curl's callbacks write into: a capped buffer and why it stopped taking bytes. */
struct sink {
    struct dynbuf b;              /* the bytes (max = the configured cap) */
    int err;                      /* DYN_ETOOBIG or DYN_ENOMEM once a write failed, else 0 */
};

static size_t sink_add(struct sink *s, const char *data, size_t n)
{
    int r = dynbuf_add(&s->b, data, n);
    if (r) {
        s->err = r;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    return sink_add(ud, data, size * nmemb);
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    /* A redirect or "100 Continue" starts a new header block: keep only the last one. */
    if (size * nmemb >= 5 && memcmp(data, "HTTP/", 5) == 0)
        dynbuf_reset(&s->b);
    return sink_add(s, data, size * nmemb);
}

int ymsg_http_get(const struct ymsg_http_config *cfg, const char *url, struct ymsg_http_result *res)
{
    static int inited;
    memset(res, 0, sizeof *res);
    if (!url)
        return YMSG_EINVAL;
    if (!inited) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
            return YMSG_ENOMEM;
        inited = 1;
    }
    size_t cap = cfg && cfg->max_bytes ? cfg->max_bytes : 64 * 1024;
    long timeout = cfg && cfg->timeout_ms > 0 ? cfg->timeout_ms : 15000;
    struct sink body = {.err = 0}, head = {.err = 0};
    dynbuf_init(&body.b, cap);
    dynbuf_init(&head.b, cap);
    CURL *c = curl_easy_init();
    if (!c)
        return YMSG_ENOMEM;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (cfg && cfg->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "Mozilla/5.0 (ymsg)");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &head);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        int err = body.err ? body.err : head.err;
        snprintf(res->error, sizeof res->error, "%s",
                 err == DYN_ETOOBIG ? "response too large" : err ? dyn_strerror(err)
                 : errbuf[0] ? errbuf : curl_easy_strerror(rc));
        dynbuf_free(&body.b);
        dynbuf_free(&head.b);
        res->status = 0;
        return 0;
    }
    res->status = (int)status;
    res->body = body.b.data ? body.b.data : strdup("");
    res->body_len = body.b.len;
    res->headers = head.b.data ? head.b.data : strdup("");
    res->headers_len = head.b.len;
    if (!res->body || !res->headers) {
        ymsg_http_result_free(res);
        return YMSG_ENOMEM;
    }
    return 0;
}

void ymsg_http_result_free(struct ymsg_http_result *res)
{
    if (!res)
        return;
    free(res->body);
    free(res->headers);
    res->body = res->headers = NULL;
    res->body_len = res->headers_len = 0;
}

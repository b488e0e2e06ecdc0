/* The default file-transfer driver: streams a file to or from the relay with libcurl (see
 * ymsg_http_transfer in include/ymsg/ymsg.h).  Not sans-IO, like login_curl.c beside it. */
#include "ymsg/ymsg.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What the callbacks share. */
struct xfer_ctx {
    int fd;                       /* the file */
    uint64_t moved;               /* bytes read from / written to it */
    uint64_t max;                 /* download cap (0 = none) */
    int too_big;                  /* the download passed max */
    int io_err;                   /* errno of a failed read or write */
    ymsg_progress_fn progress;    /* may be NULL */
    void *ud;                     /* its argument */
    uint64_t total;               /* file size (upload) or expected size (download, 0 = unknown) */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;
static void curl_init_once(void) { curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == 0; }

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct xfer_ctx *x = ud;
    for (;;) {
        ssize_t r = read(x->fd, buf, size * nmemb);
        if (r >= 0) {
            x->moved += (uint64_t)r;
            return (size_t)r;
        }
        if (errno != EINTR) {
            x->io_err = errno;
            return CURL_READFUNC_ABORT;
        }
    }
}

static size_t on_write(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct xfer_ctx *x = ud;
    size_t n = size * nmemb, off = 0;
    if (x->max && x->moved + n > x->max) {
        x->too_big = 1;
        return 0;
    }
    while (off < n) {
        ssize_t w = write(x->fd, buf + off, n - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            x->io_err = errno;
            return 0;
        }
        off += (size_t)w;
    }
    x->moved += n;
    return n;
}

static size_t on_discard(char *buf, size_t size, size_t nmemb, void *ud)
{
    (void)buf; (void)ud;
    return size * nmemb;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal; (void)dlnow; (void)ultotal; (void)ulnow;
    struct xfer_ctx *x = ud;
    return x->progress ? x->progress(x->ud, x->moved, x->total) : 0;
}

int ymsg_http_transfer(const struct ymsg_http_config *cfg, int upload, const char *url, const char *path,
                       uint64_t max_bytes, ymsg_progress_fn progress, void *ud, char err[256])
{
    err[0] = 0;
    if (!url || !path || !path[0]) {
        snprintf(err, 256, "no URL or file");
        return YMSG_EINVAL;
    }
    pthread_once(&curl_once, curl_init_once);
    if (!curl_ok) {
        snprintf(err, 256, "libcurl initialisation failed");
        return YMSG_ENOMEM;
    }
    struct xfer_ctx x = {.max = max_bytes, .progress = progress, .ud = ud, .total = max_bytes};
    struct stat st;
    x.fd = upload ? open(path, O_RDONLY | O_CLOEXEC) : open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (x.fd < 0) {
        snprintf(err, 256, "%s: %s", path, strerror(errno));
        return YMSG_EINVAL;
    }
    if (upload) {
        if (fstat(x.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            snprintf(err, 256, "%s: not a regular file", path);
            close(x.fd);
            return YMSG_EINVAL;
        }
        x.total = (uint64_t)st.st_size;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        close(x.fd);
        if (!upload)
            unlink(path);
        snprintf(err, 256, "out of memory");
        return YMSG_ENOMEM;
    }
    long timeout = cfg && cfg->timeout_ms > 0 ? cfg->timeout_ms : 15000;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    /* stalled: give up.  A relay download may wait for the whole upload (ymsgd holds the GET until the
     * file is complete: docs/FILE_TRANSFER.md), so the receiver waits up to the relay's TTL. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, upload ? 60L : 900L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (cfg && cfg->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "Mozilla/5.0 (ymsg)");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    if (upload) {
        /* libpurple: POST /relay?... with Content-Length and the file as the body */
        hdrs = curl_slist_append(hdrs, "Expect:");
        hdrs = curl_slist_append(hdrs, "Cache-Control: no-cache");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x.total);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &x);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_discard); /* the reply body is not ours to keep */
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    }
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    int r = 0;
    if (rc != CURLE_OK || status < 200 || status > 299) {
        r = YMSG_EPROTO;
        if (x.too_big) {
            snprintf(err, 256, "more than the %llu bytes offered", (unsigned long long)max_bytes);
            r = YMSG_ETOOBIG;
        } else if (x.io_err) {
            snprintf(err, 256, "%s: %s", path, strerror(x.io_err));
        } else if (rc == CURLE_ABORTED_BY_CALLBACK) {
            snprintf(err, 256, "cancelled");
        } else if (rc == CURLE_OK || rc == CURLE_HTTP_RETURNED_ERROR) {
            snprintf(err, 256, "relay answered HTTP %ld", status);
        } else {
            snprintf(err, 256, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        }
    } else if (upload && x.moved != x.total) {
        snprintf(err, 256, "file changed while sending (%llu of %llu bytes)", (unsigned long long)x.moved,
                 (unsigned long long)x.total);
        r = YMSG_EPROTO;
    }
    if (!upload && r == 0 && fsync(x.fd) != 0) {
        snprintf(err, 256, "%s: %s", path, strerror(errno));
        r = YMSG_EPROTO;
    }
    if (close(x.fd) != 0 && r == 0 && !upload) {
        snprintf(err, 256, "%s: %s", path, strerror(errno));
        r = YMSG_EPROTO;
    }
    if (r != 0 && !upload)
        unlink(path);
    if (r == 0 && progress)
        progress(ud, x.moved, x.moved);
    return r;
}

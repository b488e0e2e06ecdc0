/* File transfers of the client: the session asks for an upload or a download (FILE_UPLOAD /
 * FILE_DOWNLOAD); each runs ymsg_http_transfer() in a thread of its own so that the pager connection,
 * the TUI and the bot keep going, and drv_step() hands progress and the result back to the session. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One transfer the client knows a local file for. */
struct cxfer {
    char id[YMSG_XFER_ID_MAX];    /* session transfer id */
    char path[4096];              /* local file: read (upload) or created (download) */
    char url[2048];               /* relay URL once the session asked */
    int upload;                   /* 1 we send */
    uint64_t max;                 /* download: the size offered (more is refused) */
    struct ymsg_http_config http; /* CA file, timeouts */
    pthread_t th;                 /* the worker */
    int running;                  /* th was started and not joined */
    atomic_uint_fast64_t done;    /* bytes moved (worker writes, main reads) */
    atomic_int finished;          /* the worker returned */
    atomic_int cancel;            /* main asks the worker to stop */
    int result;                   /* worker's YMSG_E* or 0 */
    char err[256];                /* worker's reason */
};

struct cx_table {
    struct cxfer *x[CX_MAX];      /* slots, NULL = free */
    char last_id[YMSG_XFER_ID_MAX]; /* the last transfer dropped with an error */
    char last_err[256];           /* its reason (read by the UI after FILE_DONE) */
};

static struct cx_table *table(struct drv *d)
{
    if (!d->xfers)
        d->xfers = calloc(1, sizeof(struct cx_table));
    return d->xfers;
}

static struct cxfer *find(struct drv *d, const char *id)
{
    struct cx_table *t = table(d);
    for (int i = 0; t && i < CX_MAX; i++)
        if (t->x[i] && strcmp(t->x[i]->id, id) == 0)
            return t->x[i];
    return NULL;
}

static void drop(struct drv *d, struct cxfer *x)
{
    struct cx_table *t = table(d);
    if (x->running) {
        atomic_store(&x->cancel, 1);
        pthread_join(x->th, NULL);
    }
    for (int i = 0; i < CX_MAX; i++)
        if (t->x[i] == x)
            t->x[i] = NULL;
    if (x->err[0]) {
        snprintf(t->last_id, sizeof t->last_id, "%s", x->id);
        snprintf(t->last_err, sizeof t->last_err, "%s", x->err);
    }
    free(x);
}

int cx_register(struct drv *d, const char *id, const char *path, int upload, uint64_t max)
{
    struct cx_table *t = table(d);
    if (!t || !id || !path || find(d, id))
        return -1;
    for (int i = 0; i < CX_MAX; i++) {
        if (t->x[i])
            continue;
        struct cxfer *x = calloc(1, sizeof *x);
        if (!x)
            return -1;
        snprintf(x->id, sizeof x->id, "%s", id);
        snprintf(x->path, sizeof x->path, "%s", path);
        x->upload = upload;
        x->max = max;
        x->http = d->http;
        t->x[i] = x;
        return 0;
    }
    return -1;
}

static int on_progress(void *ud, uint64_t done, uint64_t total)
{
    (void)total;
    struct cxfer *x = ud;
    atomic_store(&x->done, done);
    return atomic_load(&x->cancel);
}

static void *worker(void *ud)
{
    struct cxfer *x = ud;
    x->result = ymsg_http_transfer(&x->http, x->upload, x->url, x->path, x->upload ? 0 : x->max, on_progress, x,
                                   x->err);
    atomic_store(&x->finished, 1);
    return NULL;
}

void cx_on_event(struct drv *d, const struct ymsg_event *ev)
{
    if (!ev->xfer || !ev->xfer[0])
        return;
    struct cxfer *x = find(d, ev->xfer);
    switch (ev->type) {
    case YMSG_EV_FILE_UPLOAD:
    case YMSG_EV_FILE_DOWNLOAD:
        if (!x) {
            /* nobody chose a file for it: refuse rather than write somewhere unasked */
            ymsg_session_file_done(d->s, ev->xfer, YMSG_ESTATE);
            return;
        }
        snprintf(x->url, sizeof x->url, "%s", ev->text);
        if (pthread_create(&x->th, NULL, worker, x) != 0) {
            snprintf(x->err, sizeof x->err, "cannot start a thread: %s", strerror(errno));
            ymsg_session_file_done(d->s, x->id, YMSG_ENOMEM);
            drop(d, x);
            return;
        }
        x->running = 1;
        break;
    case YMSG_EV_FILE_CANCELLED:
    case YMSG_EV_FILE_DECLINED:
    case YMSG_EV_FILE_DONE:
        if (x)
            drop(d, x);
        break;
    default:
        break;
    }
}

void cx_poll(struct drv *d)
{
    struct cx_table *t = d->xfers;
    for (int i = 0; t && i < CX_MAX; i++) {
        struct cxfer *x = t->x[i];
        if (!x || !x->running)
            continue;
        ymsg_session_file_progress(d->s, x->id, atomic_load(&x->done));
        if (!atomic_load(&x->finished))
            continue;
        pthread_join(x->th, NULL);
        x->running = 0;
        if (x->result)
            drv_error(d, "file transfer %s: %s", x->path, x->err);
        char id[YMSG_XFER_ID_MAX];
        snprintf(id, sizeof id, "%s", x->id);
        int result = x->result;
        /* FILE_DONE follows from the session; the slot goes when the driver sees it */
        ymsg_session_file_done(d->s, id, result);
    }
}

int cx_active(struct drv *d)
{
    struct cx_table *t = d->xfers;
    for (int i = 0; t && i < CX_MAX; i++)
        if (t->x[i] && t->x[i]->running)
            return 1;
    return 0;
}

const char *cx_error(struct drv *d, const char *id)
{
    struct cxfer *x = id ? find(d, id) : NULL;
    struct cx_table *t = d->xfers;
    if (x && x->err[0])
        return x->err;
    return t && id && strcmp(t->last_id, id) == 0 && t->last_err[0] ? t->last_err : NULL;
}

void cx_free(struct drv *d)
{
    struct cx_table *t = d->xfers;
    for (int i = 0; t && i < CX_MAX; i++)
        if (t->x[i])
            drop(d, t->x[i]);
    free(t);
    d->xfers = NULL;
}

int cx_download_path(const char *dir, const char *name, char *out, size_t cap)
{
    /* the name came from the peer: the session made it a base name; never overwrite a file */
    const char *d = dir && dir[0] ? dir : ".";
    if (mkdir(d, 0700) != 0 && errno != EEXIST)
        return -1;
    for (int n = 0; n < 1000; n++) {
        int w = n ? snprintf(out, cap, "%s/%d-%s", d, n, name) : snprintf(out, cap, "%s/%s", d, name);
        if (w < 0 || (size_t)w >= cap)
            return -1;
        struct stat st;
        if (lstat(out, &st) != 0 && errno == ENOENT)
            return 0;
    }
    return -1;
}

/* Store jobs off the event loop; see store_async.h. */
#include "store_async.h"

#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"

struct sa_job {
    store_job_fn job;       /* runs on the worker */
    store_done_fn done;     /* runs on the loop (may be NULL) */
    void *arg;              /* the caller's */
    int rc;                 /* job's result */
    struct sa_job *next;    /* queue / done-list link */
};

struct store_async {
    struct store *st;            /* the worker's own connection */
    pthread_t thread;            /* runs sa_main */
    pthread_mutex_t mu;          /* guards everything below */
    pthread_cond_t cv;           /* work queued, or stop */
    pthread_cond_t idle;         /* a job finished (for store_async_barrier) */
    struct sa_job *head, *tail;  /* queued jobs, oldest first */
    struct sa_job *done_head, *done_tail; /* finished jobs whose callbacks have not run */
    size_t pending;              /* queued + running + finished-not-called-back */
    size_t max_queued;           /* beyond: run inline */
    int stop;                    /* store_async_free asked the thread to finish */
    int pipe_fd[2];              /* the worker writes a byte per finished job; the loop reads */
    struct event *ev;            /* read event on pipe_fd[0] */
    int warned_full;             /* the "queue full" warning was logged */
};

static void *sa_main(void *arg)
{
    struct store_async *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!a->head && !a->stop) pthread_cond_wait(&a->cv, &a->mu);
        if (!a->head) break; /* stop, and the queue is empty: every accepted job ran */
        struct sa_job *j = a->head;
        a->head = j->next;
        if (!a->head) a->tail = NULL;
        pthread_mutex_unlock(&a->mu);
        j->rc = j->job(a->st, j->arg);
        j->next = NULL;
        pthread_mutex_lock(&a->mu);
        if (a->done_tail) a->done_tail->next = j;
        else a->done_head = j;
        a->done_tail = j;
        char one = 1;
        ssize_t r = write(a->pipe_fd[1], &one, 1);
        (void)r; /* non-blocking; a full pipe already holds a wake-up */
        pthread_cond_broadcast(&a->idle);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* Runs the callbacks of finished jobs, in order.  One job is taken off the list at a time and no longer
 * counts as pending while its callback runs: a callback that makes a synchronous call on the ordered
 * store (store_async_barrier) waits only for the other jobs, and runs their callbacks itself. */
static void sa_run_done(struct store_async *a)
{
    for (;;) {
        pthread_mutex_lock(&a->mu);
        struct sa_job *j = a->done_head;
        if (j) {
            a->done_head = j->next;
            if (!a->done_head) a->done_tail = NULL;
            a->pending--;
        }
        pthread_mutex_unlock(&a->mu);
        if (!j) return;
        if (j->done) j->done(j->arg, j->rc);
        free(j);
    }
}

static void sa_on_pipe(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    char buf[256];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    sa_run_done(arg);
}

struct store_async *store_async_new(struct event_base *base, struct store *worker_store, size_t max_queued)
{
    struct store_async *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->st = worker_store;
    a->max_queued = max_queued ? max_queued : 1;
    a->pipe_fd[0] = a->pipe_fd[1] = -1;
    if (pipe2(a->pipe_fd, O_NONBLOCK | O_CLOEXEC) < 0) goto fail;
    if (!(a->ev = event_new(base, a->pipe_fd[0], EV_READ | EV_PERSIST, sa_on_pipe, a)) || event_add(a->ev, NULL) < 0)
        goto fail;
    if (pthread_mutex_init(&a->mu, NULL) != 0) goto fail;
    if (pthread_cond_init(&a->cv, NULL) != 0 || pthread_cond_init(&a->idle, NULL) != 0) goto fail;
    if (pthread_create(&a->thread, NULL, sa_main, a) != 0) goto fail;
    return a;
fail:
    if (a->ev) event_free(a->ev);
    if (a->pipe_fd[0] >= 0) close(a->pipe_fd[0]);
    if (a->pipe_fd[1] >= 0) close(a->pipe_fd[1]);
    free(a);
    return NULL;
}

void store_async_free(struct store_async *a)
{
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    sa_run_done(a);
    event_free(a->ev);
    close(a->pipe_fd[0]);
    close(a->pipe_fd[1]);
    pthread_cond_destroy(&a->cv);
    pthread_cond_destroy(&a->idle);
    pthread_mutex_destroy(&a->mu);
    a->st->close(a->st);
    free(a);
}

int store_async_run(struct store_async *a, struct store *loop_store, store_job_fn job, store_done_fn done, void *arg)
{
    if (a) {
        struct sa_job *j = calloc(1, sizeof *j);
        if (!j) {
            log_event(LOG_ERROR, NULL, NULL, "out_of_memory", 0, "store job");
            return -1;
        }
        j->job = job;
        j->done = done;
        j->arg = arg;
        pthread_mutex_lock(&a->mu);
        if (a->pending < a->max_queued) {
            a->pending++;
            if (a->tail) a->tail->next = j;
            else a->head = j;
            a->tail = j;
            pthread_cond_signal(&a->cv);
            pthread_mutex_unlock(&a->mu);
            return 0;
        }
        pthread_mutex_unlock(&a->mu);
        free(j);
        if (!a->warned_full) {
            a->warned_full = 1;
            log_event(LOG_WARN, NULL, NULL, "store_queue_full", (long)a->max_queued,
                      "store_queue_max reached: store writes run on the event loop until the queue drains");
        }
        /* In order: everything queued before this job runs first. */
        store_async_barrier(a);
    }
    int rc = job(loop_store, arg);
    if (done) done(arg, rc);
    return 0;
}

void store_async_barrier(struct store_async *a)
{
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    while (a->head || (a->pending && !a->done_head)) {
        /* queued or running: wait for the next finish */
        pthread_cond_wait(&a->idle, &a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    sa_run_done(a);
    pthread_mutex_lock(&a->mu);
    int more = a->pending > 0;
    pthread_mutex_unlock(&a->mu);
    if (more) store_async_barrier(a); /* a callback queued more work */
    else if (a->warned_full) a->warned_full = 0;
}

size_t store_async_pending(const struct store_async *a)
{
    if (!a) return 0;
    pthread_mutex_lock((pthread_mutex_t *)&a->mu);
    size_t n = a->pending;
    pthread_mutex_unlock((pthread_mutex_t *)&a->mu);
    return n;
}

/* ---- the loop's store, ordered after the queued jobs ---------------------------------------- */

struct sa_ordered {
    struct store *inner;    /* the loop's own connection */
    struct store_async *a;  /* whose queue comes first */
};

#define SA_IN(st) (((struct sa_ordered *)(st)->impl)->inner)
#define SA_WAIT(st) store_async_barrier(((struct sa_ordered *)(st)->impl)->a)
/* Forwards one call after the barrier. */
#define SA_FWD(ret, name, params, args) \
    static ret sa_##name params         \
    {                                   \
        SA_WAIT(st);                    \
        return SA_IN(st)->name args;    \
    }

SA_FWD(int, user_add, (struct store *st, const char *n, const char *h, const char *p, const char *c),
       (SA_IN(st), n, h, p, c))
SA_FWD(int, user_del, (struct store *st, const char *n), (SA_IN(st), n))
SA_FWD(int, user_get, (struct store *st, const char *n, struct store_user *u), (SA_IN(st), n, u))
SA_FWD(int, user_set_password, (struct store *st, const char *n, const char *h, const char *p, const char *c),
       (SA_IN(st), n, h, p, c))
SA_FWD(int, user_rehash, (struct store *st, const char *n, const char *o, const char *h), (SA_IN(st), n, o, h))
SA_FWD(int, user_list, (struct store *st, store_name_cb cb, void *arg), (SA_IN(st), cb, arg))
SA_FWD(int, user_exists, (struct store *st, const char *n), (SA_IN(st), n))
SA_FWD(int, buddy_list, (struct store *st, const char *o, store_buddy_cb cb, void *arg), (SA_IN(st), o, cb, arg))
SA_FWD(int, buddy_get, (struct store *st, const char *o, const char *b, int *p, int *s), (SA_IN(st), o, b, p, s))
SA_FWD(int, buddy_count, (struct store *st, const char *o), (SA_IN(st), o))
SA_FWD(int, buddy_add, (struct store *st, const char *o, const char *b, const char *g, int p), (SA_IN(st), o, b, g, p))
SA_FWD(int, buddy_del, (struct store *st, const char *o, const char *b), (SA_IN(st), o, b))
SA_FWD(int, buddy_set_pending, (struct store *st, const char *o, const char *b, int v), (SA_IN(st), o, b, v))
SA_FWD(int, buddy_set_group, (struct store *st, const char *o, const char *b, const char *g), (SA_IN(st), o, b, g))
SA_FWD(int, buddy_set_stealth, (struct store *st, const char *o, const char *b, int v), (SA_IN(st), o, b, v))
SA_FWD(int, group_rename, (struct store *st, const char *o, const char *a, const char *b), (SA_IN(st), o, a, b))
SA_FWD(int, watchers, (struct store *st, const char *b, store_name_cb cb, void *arg), (SA_IN(st), b, cb, arg))
SA_FWD(int, authreq_put, (struct store *st, const char *r, const char *t, const char *m), (SA_IN(st), r, t, m))
SA_FWD(int, authreq_del, (struct store *st, const char *r, const char *t), (SA_IN(st), r, t))
SA_FWD(int, authreq_list, (struct store *st, const char *t, store_authreq_cb cb, void *arg), (SA_IN(st), t, cb, arg))
SA_FWD(int, ignore_add, (struct store *st, const char *o, const char *w), (SA_IN(st), o, w))
SA_FWD(int, ignore_del, (struct store *st, const char *o, const char *w), (SA_IN(st), o, w))
SA_FWD(int, ignore_check, (struct store *st, const char *o, const char *w), (SA_IN(st), o, w))
SA_FWD(int, ignore_list, (struct store *st, const char *o, store_name_cb cb, void *arg), (SA_IN(st), o, cb, arg))
SA_FWD(int, offline_deposit, (struct store *st, const struct store_deposit *d), (SA_IN(st), d))
SA_FWD(int, offline_page, (struct store *st, const char *t, int64_t after, int limit, store_offline_cb cb, void *arg),
       (SA_IN(st), t, after, limit, cb, arg))
SA_FWD(int, offline_clear_delivered, (struct store *st, const char *t), (SA_IN(st), t))
SA_FWD(int, offline_add, (struct store *st, const char *t, const char *f, const char *x, int64_t tm, int u, long m),
       (SA_IN(st), t, f, x, tm, u, m))
SA_FWD(int, offline_list, (struct store *st, const char *t, store_offline_cb cb, void *arg), (SA_IN(st), t, cb, arg))
SA_FWD(int, offline_del_upto, (struct store *st, const char *t, int64_t upto), (SA_IN(st), t, upto))
SA_FWD(long, phonebook_get, (struct store *st, const char *u, uint8_t **d), (SA_IN(st), u, d))
SA_FWD(int, phonebook_put, (struct store *st, const char *u, const uint8_t *d, size_t n), (SA_IN(st), u, d, n))
SA_FWD(int, backup, (struct store *st, const char *p, char *e, size_t n), (SA_IN(st), p, e, n))

static void sa_ordered_close(struct store *st)
{
    struct sa_ordered *o = st->impl;
    o->inner->close(o->inner);
    free(o);
    free(st);
}

struct store *store_async_ordered(struct store_async *a, struct store *inner)
{
    struct store *st = calloc(1, sizeof *st);
    struct sa_ordered *o = calloc(1, sizeof *o);
    if (!st || !o) {
        free(st);
        free(o);
        return NULL;
    }
    o->inner = inner;
    o->a = a;
    st->impl = o;
    st->close = sa_ordered_close;
#define SA_SET(name) st->name = sa_##name
    SA_SET(user_add);
    SA_SET(user_del);
    SA_SET(user_get);
    SA_SET(user_set_password);
    SA_SET(user_rehash);
    SA_SET(user_list);
    SA_SET(user_exists);
    SA_SET(buddy_list);
    SA_SET(buddy_get);
    SA_SET(buddy_count);
    SA_SET(buddy_add);
    SA_SET(buddy_del);
    SA_SET(buddy_set_pending);
    SA_SET(buddy_set_group);
    SA_SET(buddy_set_stealth);
    SA_SET(group_rename);
    SA_SET(watchers);
    SA_SET(authreq_put);
    SA_SET(authreq_del);
    SA_SET(authreq_list);
    SA_SET(ignore_add);
    SA_SET(ignore_del);
    SA_SET(ignore_check);
    SA_SET(ignore_list);
    SA_SET(offline_deposit);
    SA_SET(offline_page);
    SA_SET(offline_clear_delivered);
    SA_SET(offline_add);
    SA_SET(offline_list);
    SA_SET(offline_del_upto);
    SA_SET(phonebook_get);
    SA_SET(phonebook_put);
    SA_SET(backup);
#undef SA_SET
    return st;
}

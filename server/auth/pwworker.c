/* Password verification threads; see pwworker.h. */
#include "pwworker.h"

#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "pwcache.h"

struct job {
    struct job *next;   /* queue link */
    char hash[256];     /* stored argon2id string */
    char *password;     /* copy, wiped before free */
    pwworker_cb cb;     /* completion, on the loop thread */
    void *arg;          /* its argument */
    int ok;             /* result */
    int cache_it;       /* a success goes into the cache as user/mac */
    char user[33];      /* account (cache) */
    uint8_t mac[PWCACHE_MAC_LEN]; /* its cache entry */
    struct pwticket *ticket; /* the cluster's answer awaited (NULL otherwise) */
    struct job *fprev, *fnext; /* in pwworker.fetching while ticket is set */
    pwworker_hash_cb hash_cb;   /* a re-hash (pwworker_rehash): its completion, instead of cb */
    unsigned long long ops;     /* re-hash: argon2id passes */
    size_t mem;                 /* re-hash: argon2id memory (bytes) */
};

/* A question to the cluster's copy of the cache: outlives its job when the pool goes first. */
struct pwticket {
    struct pwworker *w; /* NULL once the pool cancelled the job */
    struct job *j;      /* the waiting job */
};

struct pwworker {
    pthread_mutex_t mu;        /* guards the two queues and stop */
    pthread_cond_t cv;         /* signals new work / stop */
    struct job *todo, **todo_tail; /* FIFO of pending jobs */
    struct job *done;          /* finished jobs (any order) */
    size_t queued;             /* jobs in todo + being verified + done */
    size_t max_queued;         /* cap */
    int stop;                  /* threads exit when set */
    int nthreads;              /* started threads */
    pthread_t *threads;        /* their ids */
    int pipe_fd[2];            /* workers write one byte per finished job; the loop reads */
    struct event *ev;          /* read event on pipe_fd[0] */
    struct pwcache *cache;     /* verification cache (pwworker_verify_as), or NULL */
    struct job *fetching;      /* jobs waiting for the cluster's copy of the cache (loop thread only) */
    unsigned long long hits;   /* answered from the cache */
    unsigned long long hashed; /* verified by a thread */
};

static void job_free(struct job *j)
{
    if (j->password) {
        sodium_memzero(j->password, strlen(j->password));
        free(j->password);
    }
    sodium_memzero(j->hash, sizeof j->hash);
    free(j);
}

static void *worker_main(void *arg)
{
    struct pwworker *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && !w->todo) pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop) break;
        struct job *j = w->todo;
        w->todo = j->next;
        if (!w->todo) w->todo_tail = &w->todo;
        pthread_mutex_unlock(&w->mu);
        if (j->hash_cb) /* the new string replaces the old one in j->hash (a re-hash has no stored hash) */
            j->ok = crypto_pwhash_str(j->hash, j->password, strlen(j->password), j->ops, j->mem) == 0;
        else
            j->ok = crypto_pwhash_str_verify(j->hash, j->password, strlen(j->password)) == 0;
        pthread_mutex_lock(&w->mu);
        if (!j->hash_cb) w->hashed++;
        j->next = w->done;
        w->done = j;
        char one = 1;
        ssize_t r = write(w->pipe_fd[1], &one, 1);
        (void)r; /* the pipe is non-blocking; a full pipe already holds a wake-up */
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* A job that will not run (pwworker_free): its completion hears so, then it goes. */
static void job_cancel(struct job *j)
{
    if (j->hash_cb) j->hash_cb(j->arg, NULL);
    else j->cb(j->arg, -1);
    job_free(j);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    struct pwworker *w = arg;
    char buf[256];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    pthread_mutex_lock(&w->mu);
    struct job *list = w->done;
    w->done = NULL;
    pthread_mutex_unlock(&w->mu);
    while (list) {
        struct job *j = list;
        list = j->next;
        pthread_mutex_lock(&w->mu);
        w->queued--;
        pthread_mutex_unlock(&w->mu);
        if (j->hash_cb) {
            j->hash_cb(j->arg, j->ok ? j->hash : NULL);
        } else {
            if (j->ok && j->cache_it && w->cache) pwcache_put(w->cache, j->user, j->mac, 1);
            j->cb(j->arg, j->ok);
        }
        job_free(j);
    }
}

struct pwworker *pwworker_new(struct event_base *base, int threads, size_t max_queued)
{
    struct pwworker *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->todo_tail = &w->todo;
    w->max_queued = max_queued;
    w->pipe_fd[0] = w->pipe_fd[1] = -1;
    if (threads <= 0) return w;
    if (pipe2(w->pipe_fd, O_NONBLOCK | O_CLOEXEC) < 0) goto fail;
    w->ev = event_new(base, w->pipe_fd[0], EV_READ | EV_PERSIST, on_done, w);
    if (!w->ev || event_add(w->ev, NULL) < 0) goto fail;
    w->threads = calloc((size_t)threads, sizeof *w->threads);
    if (!w->threads) goto fail;
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0) break;
        w->nthreads++;
    }
    if (w->nthreads == 0) goto fail;
    return w;
fail:
    pwworker_free(w);
    return NULL;
}

void pwworker_free(struct pwworker *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->nthreads; i++) pthread_join(w->threads[i], NULL);
    free(w->threads);
    for (struct job *j = w->todo, *n; j; j = n) {
        n = j->next;
        job_cancel(j);
    }
    for (struct job *j = w->done, *n; j; j = n) {
        n = j->next;
        job_cancel(j);
    }
    for (struct job *j = w->fetching, *n; j; j = n) {
        n = j->fnext;
        j->ticket->w = NULL; /* the cluster's answer frees the ticket alone */
        job_cancel(j);
    }
    if (w->ev) event_free(w->ev);
    if (w->pipe_fd[0] >= 0) close(w->pipe_fd[0]);
    if (w->pipe_fd[1] >= 0) close(w->pipe_fd[1]);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

static struct job *job_new(const char *hash, const char *password, pwworker_cb cb, void *arg)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->password = strdup(password);
    if (!j->password || strlen(hash) >= sizeof j->hash) {
        job_free(j);
        return NULL;
    }
    memcpy(j->hash, hash, strlen(hash) + 1);
    j->cb = cb;
    j->arg = arg;
    return j;
}

/* Counts j in (0), or -1 when the queue is full. */
static int job_admit(struct pwworker *w)
{
    pthread_mutex_lock(&w->mu);
    int full = w->queued >= w->max_queued;
    if (!full) w->queued++;
    pthread_mutex_unlock(&w->mu);
    return full ? -1 : 0;
}

/* Hands an admitted job to the threads. */
static void job_enqueue(struct pwworker *w, struct job *j)
{
    pthread_mutex_lock(&w->mu);
    *w->todo_tail = j;
    w->todo_tail = &j->next;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* An admitted job answered without a thread: completes through the pipe like a worker's answer, so
 * the caller's callback never runs inside pwworker_verify_as. */
static void job_finish(struct pwworker *w, struct job *j, int ok)
{
    j->ok = ok;
    j->cache_it = 0;
    pthread_mutex_lock(&w->mu);
    w->hits++;
    j->next = w->done;
    w->done = j;
    char one = 1;
    ssize_t r = write(w->pipe_fd[1], &one, 1);
    (void)r;
    pthread_mutex_unlock(&w->mu);
}

int pwworker_verify(struct pwworker *w, const char *hash, const char *password, pwworker_cb cb, void *arg)
{
    if (w->nthreads == 0) {
        cb(arg, crypto_pwhash_str_verify(hash, password, strlen(password)) == 0);
        return 0;
    }
    struct job *j = job_new(hash, password, cb, arg);
    if (!j) return -1;
    if (job_admit(w) < 0) {
        job_free(j);
        return -1;
    }
    job_enqueue(w, j);
    return 0;
}

int pwworker_rehash(struct pwworker *w, const char *password, unsigned long long ops, size_t mem,
                    pwworker_hash_cb done, void *arg)
{
    if (w->nthreads == 0) return -1; /* inline, it would stall the loop for a whole hash */
    struct job *j = job_new("", password, NULL, arg);
    if (!j) return -1;
    j->hash_cb = done;
    j->ops = ops;
    j->mem = mem;
    pthread_mutex_lock(&w->mu);
    int idle = w->queued == 0;
    if (idle) w->queued++;
    pthread_mutex_unlock(&w->mu);
    if (!idle) {
        job_free(j);
        return -1;
    }
    job_enqueue(w, j);
    return 0;
}

void pwworker_set_cache(struct pwworker *w, struct pwcache *pc) { w->cache = pc; }

static void fetch_unlink(struct pwworker *w, struct job *j)
{
    if (j->fprev) j->fprev->fnext = j->fnext;
    else w->fetching = j->fnext;
    if (j->fnext) j->fnext->fprev = j->fprev;
    j->fprev = j->fnext = NULL;
}

/* The cluster's answer (on the loop). */
static void fetched(void *arg, int hit)
{
    struct pwticket *t = arg;
    struct pwworker *w = t->w;
    struct job *j = t->j;
    free(t);
    if (!w) return; /* cancelled by pwworker_free */
    fetch_unlink(w, j);
    j->ticket = NULL;
    if (hit == 1) {
        pwcache_put(w->cache, j->user, j->mac, 0); /* local from now on */
        job_finish(w, j, 1);
    } else {
        job_enqueue(w, j);
    }
}

int pwworker_verify_as(struct pwworker *w, const char *user, const char *hash, const char *password, pwworker_cb cb,
                       void *arg)
{
    if (w->nthreads == 0 || !pwcache_enabled(w->cache)) return pwworker_verify(w, hash, password, cb, arg);
    struct job *j = job_new(hash, password, cb, arg);
    if (!j) return -1;
    if (job_admit(w) < 0) {
        job_free(j);
        return -1;
    }
    j->cache_it = 1;
    snprintf(j->user, sizeof j->user, "%s", user);
    pwcache_mac(w->cache, user, hash, password, j->mac);
    if (pwcache_hit(w->cache, j->mac)) {
        job_finish(w, j, 1);
        return 0;
    }
    const struct pwcache_remote *r = pwcache_remote_of(w->cache);
    struct pwticket *t = r ? malloc(sizeof *t) : NULL;
    if (t) {
        t->w = w;
        t->j = j;
        j->ticket = t;
        j->fnext = w->fetching;
        if (w->fetching) w->fetching->fprev = j;
        w->fetching = j;
        if (r->get(r->arg, j->mac, fetched, t) == 0) return 0;
        fetch_unlink(w, j); /* the cluster cannot ask now: hash it */
        j->ticket = NULL;
        free(t);
    }
    job_enqueue(w, j);
    return 0;
}

void pwworker_counts(struct pwworker *w, unsigned long long *hits, unsigned long long *hashed)
{
    pthread_mutex_lock(&w->mu);
    *hits = w->hits;
    *hashed = w->hashed;
    pthread_mutex_unlock(&w->mu);
}

size_t pwworker_queued(struct pwworker *w)
{
    pthread_mutex_lock(&w->mu);
    size_t n = w->queued;
    pthread_mutex_unlock(&w->mu);
    return n;
}

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

struct job {
    struct job *next;   /* queue link */
    char hash[256];     /* stored argon2id string */
    char *password;     /* copy, wiped before free */
    pwworker_cb cb;     /* completion, on the loop thread */
    void *arg;          /* its argument */
    int ok;             /* result */
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
        j->ok = crypto_pwhash_str_verify(j->hash, j->password, strlen(j->password)) == 0;
        pthread_mutex_lock(&w->mu);
        j->next = w->done;
        w->done = j;
        char one = 1;
        ssize_t r = write(w->pipe_fd[1], &one, 1);
        (void)r; /* the pipe is non-blocking; a full pipe already holds a wake-up */
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
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
        j->cb(j->arg, j->ok);
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
        j->cb(j->arg, -1);
        job_free(j);
    }
    for (struct job *j = w->done, *n; j; j = n) {
        n = j->next;
        j->cb(j->arg, -1);
        job_free(j);
    }
    if (w->ev) event_free(w->ev);
    if (w->pipe_fd[0] >= 0) close(w->pipe_fd[0]);
    if (w->pipe_fd[1] >= 0) close(w->pipe_fd[1]);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

int pwworker_verify(struct pwworker *w, const char *hash, const char *password, pwworker_cb cb, void *arg)
{
    if (w->nthreads == 0) {
        cb(arg, crypto_pwhash_str_verify(hash, password, strlen(password)) == 0);
        return 0;
    }
    struct job *j = calloc(1, sizeof *j);
    if (!j) return -1;
    j->password = strdup(password);
    if (!j->password || strlen(hash) >= sizeof j->hash) {
        job_free(j);
        return -1;
    }
    memcpy(j->hash, hash, strlen(hash) + 1);
    j->cb = cb;
    j->arg = arg;
    pthread_mutex_lock(&w->mu);
    if (w->queued >= w->max_queued) {
        pthread_mutex_unlock(&w->mu);
        job_free(j);
        return -1;
    }
    w->queued++;
    *w->todo_tail = j;
    w->todo_tail = &j->next;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

size_t pwworker_queued(struct pwworker *w)
{
    pthread_mutex_lock(&w->mu);
    size_t n = w->queued;
    pthread_mutex_unlock(&w->mu);
    return n;
}

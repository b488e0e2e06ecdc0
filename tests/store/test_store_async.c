/* store_async (server/store/store_async.h): jobs run on the worker in submission order, callbacks on
 * the loop in the same order, a barrier waits for them, a full queue runs jobs inline after the queued
 * ones, and freeing runs every accepted job first.  The worker's store here is a second SQLite
 * connection (the mechanism does not depend on the backend). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "store.h"
#include "store_async.h"

#define NJOBS 200

struct fixture {
    char dir[64];            /* temp data dir */
    struct store *st;        /* the loop's connection */
    struct event_base *base; /* the loop */
    int ran[NJOBS];          /* order in which jobs ran (job index per slot) */
    int nran;                /* jobs run (worker writes, loop reads after the barrier) */
    int done[NJOBS];         /* order of the callbacks */
    int ndone;               /* callbacks run */
    struct store *seen_st[NJOBS]; /* store each job was given */
};

struct job {
    struct fixture *f; /* the test */
    int i;             /* index */
};

static struct job g_jobs[NJOBS];

static int job_run(struct store *st, void *arg)
{
    struct job *j = arg;
    j->f->ran[j->f->nran++] = j->i; /* one worker: no race */
    j->f->seen_st[j->i] = st;
    char name[16];
    snprintf(name, sizeof name, "u%03d", j->i);
    return st->user_add(st, name, "h", NULL, NULL);
}

static void job_done(void *arg, int rc)
{
    struct job *j = arg;
    assert_int_equal(rc, STORE_OK);
    j->f->done[j->f->ndone++] = j->i;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    int created;
    char err[256];
    snprintf(f->dir, sizeof f->dir, "/tmp/ymsgd-async-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    f->st = store_sqlite_open(f->dir, &created, err, sizeof err);
    f->base = event_base_new();
    if (!f->st || !f->base) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    f->st->close(f->st);
    event_base_free(f->base);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0) return -1;
    free(f);
    return 0;
}

static struct store_async *worker(struct fixture *f, size_t max)
{
    int created;
    char err[256];
    struct store *w = store_sqlite_open(f->dir, &created, err, sizeof err);
    assert_non_null(w);
    struct store_async *a = store_async_new(f->base, w, max);
    assert_non_null(a);
    return a;
}

static void submit(struct fixture *f, struct store_async *a, int from, int to)
{
    for (int i = from; i < to; i++) {
        g_jobs[i] = (struct job){f, i};
        assert_int_equal(store_async_run(a, f->st, job_run, job_done, &g_jobs[i]), 0);
    }
}

static void assert_in_order(struct fixture *f, int n)
{
    assert_int_equal(f->nran, n);
    assert_int_equal(f->ndone, n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(f->ran[i], i);
        assert_int_equal(f->done[i], i);
    }
    assert_int_equal(f->st->user_exists(f->st, "u000"), 1);
    char name[16];
    snprintf(name, sizeof name, "u%03d", n - 1);
    assert_int_equal(f->st->user_exists(f->st, name), 1);
}

/* No worker (the SQLite configuration): the job and its callback run before store_async_run returns. */
static void test_inline(void **state)
{
    struct fixture *f = *state;
    submit(f, NULL, 0, 3);
    assert_in_order(f, 3);
    for (int i = 0; i < 3; i++) assert_ptr_equal(f->seen_st[i], f->st);
}

/* Queued jobs run on the worker's connection, in order; the callbacks come through the loop. */
static void test_order_and_loop_callbacks(void **state)
{
    struct fixture *f = *state;
    struct store_async *a = worker(f, 1000);
    submit(f, a, 0, NJOBS);
    assert_true(store_async_pending(a) > 0 || f->ndone == 0);
    for (int tries = 0; tries < 2000 && f->ndone < NJOBS; tries++) {
        struct timeval tv = {0, 5000};
        event_base_loopexit(f->base, &tv);
        event_base_dispatch(f->base);
    }
    assert_in_order(f, NJOBS);
    assert_int_equal(store_async_pending(a), 0);
    for (int i = 0; i < NJOBS; i++) assert_ptr_not_equal(f->seen_st[i], f->st);
    store_async_free(a);
}

/* The barrier returns once every job queued before it ran and was called back. */
static void test_barrier(void **state)
{
    struct fixture *f = *state;
    struct store_async *a = worker(f, 1000);
    submit(f, a, 0, 50);
    store_async_barrier(a);
    assert_in_order(f, 50);
    store_async_barrier(a); /* nothing queued: returns at once */
    store_async_free(a);
}

/* A full queue: the job runs inline on the loop's connection, after everything queued before it. */
static void test_full_queue_runs_inline_in_order(void **state)
{
    struct fixture *f = *state;
    struct store_async *a = worker(f, 2);
    submit(f, a, 0, 40);
    store_async_barrier(a);
    assert_in_order(f, 40);
    int inline_jobs = 0;
    for (int i = 0; i < 40; i++) inline_jobs += f->seen_st[i] == f->st;
    assert_true(inline_jobs > 0);
    store_async_free(a);
}

/* Freeing runs every accepted job and its callback: nothing accepted is lost at shutdown. */
static void test_free_drains(void **state)
{
    struct fixture *f = *state;
    struct store_async *a = worker(f, 1000);
    submit(f, a, 0, NJOBS);
    store_async_free(a);
    assert_in_order(f, NJOBS);
}

/* The loop's ordered store: a read right after queuing sees every queued write, with no explicit
 * barrier (without it the read would race the worker). */
static void test_ordered_store_sees_queued_writes(void **state)
{
    struct fixture *f = *state;
    struct store_async *a = worker(f, 1000);
    struct store *loop = store_async_ordered(a, f->st);
    assert_non_null(loop);
    for (int i = 0; i < NJOBS; i++) {
        g_jobs[i] = (struct job){f, i};
        assert_int_equal(store_async_run(a, loop, job_run, job_done, &g_jobs[i]), 0);
        char name[16];
        snprintf(name, sizeof name, "u%03d", i);
        assert_int_equal(loop->user_exists(loop, name), 1);
    }
    assert_in_order(f, NJOBS);
    store_async_free(a);
    loop->close(loop); /* closes f->st too */
    int created;
    char err[256];
    f->st = store_sqlite_open(f->dir, &created, err, sizeof err);
    assert_non_null(f->st);
}

static struct store *g_loop; /* the ordered store the callbacks below read through */

static void job_done_reads(void *arg, int rc)
{
    job_done(arg, rc);
    struct job *j = arg;
    char name[16];
    snprintf(name, sizeof name, "u%03d", j->i);
    /* A synchronous call on the ordered store from a callback (a cluster login's presence snapshot
     * does one): its barrier must not wait for the job whose callback is running. */
    assert_int_equal(g_loop->user_exists(g_loop, name), 1);
}

static void test_callback_may_use_ordered_store(void **state)
{
    struct fixture *f = *state;
    struct store_async *a = worker(f, 1000);
    g_loop = store_async_ordered(a, f->st);
    assert_non_null(g_loop);
    alarm(60); /* the deadlock this guards against would hang: SIGALRM fails the test instead */
    for (int i = 0; i < 50; i++) {
        g_jobs[i] = (struct job){f, i};
        assert_int_equal(store_async_run(a, g_loop, job_run, job_done_reads, &g_jobs[i]), 0);
    }
    for (int tries = 0; tries < 2000 && f->ndone < 50; tries++) {
        struct timeval tv = {0, 5000};
        event_base_loopexit(f->base, &tv);
        event_base_dispatch(f->base);
    }
    alarm(0);
    assert_in_order(f, 50);
    store_async_free(a);
    g_loop->close(g_loop); /* closes f->st too */
    int created;
    char err[256];
    f->st = store_sqlite_open(f->dir, &created, err, sizeof err);
    assert_non_null(f->st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_and_loop_callbacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_barrier, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_queue_runs_inline_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_drains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ordered_store_sees_queued_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callback_may_use_ordered_store, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

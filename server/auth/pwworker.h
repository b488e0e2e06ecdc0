/* Password-hash verification off the event loop.  argon2id at a real cost takes tens of milliseconds
 * and tens of MiB; done inline, every login would stall every session.  A few worker threads run
 * crypto_pwhash_str_verify() on copies of the inputs and hand results back to the loop through a pipe;
 * the callback then runs on the loop thread, so the rest of the server stays single-threaded. */
#ifndef YMSGD_PWWORKER_H
#define YMSGD_PWWORKER_H

#include <stddef.h>

struct event_base;
struct pwworker;

/* ok = 1 when the password matches the hash, 0 when not, -1 when the job was cancelled by
 * pwworker_free() (free the argument, nothing else).  Runs on the loop thread. */
typedef void (*pwworker_cb)(void *arg, int ok);

/* threads = 0: verify inline (synchronously) in pwworker_verify. */
struct pwworker *pwworker_new(struct event_base *base, int threads, size_t max_queued);
/* Stops the threads; unfinished jobs get their callback with ok = -1. */
void pwworker_free(struct pwworker *w);
/* Queues a verification.  Returns 0, or -1 when the queue is full or out of memory (cb not called). */
/* Checks queued or being verified now (the /metrics gauge). */
size_t pwworker_queued(struct pwworker *w);
int pwworker_verify(struct pwworker *w, const char *hash, const char *password, pwworker_cb cb, void *arg);

/* The verification cache (pwcache.h) this pool consults in pwworker_verify_as, or NULL.  It must
 * outlive the pool. */
struct pwcache;
void pwworker_set_cache(struct pwworker *w, struct pwcache *pc);
/* pwworker_verify for user's stored hash: with a cache and worker threads, a (user, hash, password)
 * verified recently answers 1 without the hash (still through cb, later on the loop, like a worker's
 * answer); otherwise the cluster's copy is asked (one Redis round trip) and only a miss goes to a
 * thread.  A successful check is added to the cache.  A miss or a wrong password costs what
 * pwworker_verify costs. */
int pwworker_verify_as(struct pwworker *w, const char *user, const char *hash, const char *password, pwworker_cb cb,
                       void *arg);
/* A new hash of password at cost (ops, mem) on a worker thread, queued only when the pool is idle
 * (nothing queued, nothing being hashed): re-hashing an account to the configured cost must never make
 * a login wait.  done(arg, hash) runs on the loop with the new argon2id string, or NULL when hashing
 * failed or pwworker_free() cancelled the job.  Returns 0, or -1 when not queued (pool busy, no
 * threads, out of memory): done is then never called. */
typedef void (*pwworker_hash_cb)(void *arg, const char *hash);
int pwworker_rehash(struct pwworker *w, const char *password, unsigned long long ops, size_t mem,
                    pwworker_hash_cb done, void *arg);
/* Answers taken from the cache (local or cluster) and checks hashed, since the start (bench, tests). */
void pwworker_counts(struct pwworker *w, unsigned long long *hits, unsigned long long *hashed);

#endif

/* SQLite backend of the store interface (store.h).
 *
 * One connection, WAL journal, prepared statements cached per query.  The schema is versioned with
 * PRAGMA user_version: each entry of `migrations` upgrades from version i to i+1 inside one
 * transaction, so an interrupted upgrade leaves the previous version intact.
 *
 * WAL checkpoints run on a helper thread with its own connection: SQLite's automatic checkpoint
 * would copy pages back and fsync the database inside whichever commit crossed the threshold, on
 * the event loop, which set the write latency tail.  The main connection turns that off and its
 * WAL hook only wakes the thread; a PASSIVE checkpoint never blocks the writer.  Closing the store
 * joins the thread and does one TRUNCATE checkpoint so the WAL file does not outlive the process. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *const migrations[] = {
    /* 0 -> 1 */
    ("CREATE TABLE users(name TEXT PRIMARY KEY, pwhash TEXT NOT NULL, legacy_p TEXT, legacy_c TEXT,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE buddies(id INTEGER PRIMARY KEY, owner TEXT NOT NULL, buddy TEXT NOT NULL,"
    "  grp TEXT NOT NULL, pending INTEGER NOT NULL DEFAULT 1, stealth INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE(owner, buddy));"
    "CREATE INDEX buddies_by_buddy ON buddies(buddy, pending);"
    "CREATE TABLE authreqs(requester TEXT NOT NULL, target TEXT NOT NULL, msg TEXT NOT NULL,"
    "  created INTEGER NOT NULL, PRIMARY KEY(requester, target));"
    "CREATE INDEX authreqs_by_target ON authreqs(target);"
    "CREATE TABLE ignores(owner TEXT NOT NULL, who TEXT NOT NULL, PRIMARY KEY(owner, who));"
    "CREATE TABLE offline(id INTEGER PRIMARY KEY AUTOINCREMENT, rcpt TEXT NOT NULL, sender TEXT NOT NULL,"
    "  text TEXT NOT NULL, time INTEGER NOT NULL, utf8 INTEGER NOT NULL);"
    "CREATE INDEX offline_by_rcpt ON offline(rcpt, id);"
    "CREATE TABLE phonebook(user TEXT PRIMARY KEY, data BLOB NOT NULL, updated INTEGER NOT NULL);"),
    /* 1 -> 2: the buddy list is ordered by each group's first entry; index that look-up. */
    "CREATE INDEX buddies_by_owner_group ON buddies(owner, grp, id);",
    /* 2 -> 3: rows handed over live while the sender could not know the recipient was online still count
     * towards the box (and its per-sender quota) until the recipient's next login; they keep no text. */
    "ALTER TABLE offline ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

enum q {
    Q_USER_ADD, Q_USER_GET, Q_USER_SETPW, Q_USER_REHASH, Q_USER_LIST, Q_USER_EXISTS,
    Q_DEL_USER, Q_DEL_BUD, Q_DEL_AUTH, Q_DEL_IGN, Q_DEL_OFF, Q_DEL_PB,
    Q_BUD_LIST, Q_BUD_GET, Q_BUD_COUNT, Q_BUD_ADD, Q_BUD_DEL, Q_BUD_PENDING, Q_BUD_GROUP, Q_BUD_STEALTH,
    Q_GRP_CHECK, Q_GRP_RENAME, Q_WATCHERS,
    Q_AR_PUT, Q_AR_DEL, Q_AR_LIST,
    Q_IGN_ADD, Q_IGN_DEL, Q_IGN_CHECK, Q_IGN_LIST,
    Q_OFF_COUNT, Q_OFF_ADD, Q_OFF_LIST, Q_OFF_DEL, Q_OFF_PAGE, Q_OFF_CLEAR,
    Q_PB_GET, Q_PB_PUT, Q_BEGIN, Q_COMMIT, Q_ROLLBACK,
    Q_COUNT
};

static const char *const sql[Q_COUNT] = {
    [Q_USER_ADD] = "INSERT INTO users(name, pwhash, legacy_p, legacy_c, created) VALUES(?1, ?2, ?3, ?4, ?5)",
    [Q_USER_GET] = "SELECT name, pwhash, legacy_p, legacy_c FROM users WHERE name = ?1",
    [Q_USER_SETPW] = "UPDATE users SET pwhash = ?2, legacy_p = ?3, legacy_c = ?4 WHERE name = ?1",
    [Q_USER_REHASH] = "UPDATE users SET pwhash = ?3 WHERE name = ?1 AND pwhash = ?2",
    [Q_USER_LIST] = "SELECT name FROM users ORDER BY name",
    [Q_USER_EXISTS] = "SELECT 1 FROM users WHERE name = ?1",
    [Q_DEL_USER] = "DELETE FROM users WHERE name = ?1",
    [Q_DEL_BUD] = "DELETE FROM buddies WHERE owner = ?1 OR buddy = ?1",
    [Q_DEL_AUTH] = "DELETE FROM authreqs WHERE requester = ?1 OR target = ?1",
    [Q_DEL_IGN] = "DELETE FROM ignores WHERE owner = ?1 OR who = ?1",
    [Q_DEL_OFF] = "DELETE FROM offline WHERE rcpt = ?1",
    [Q_DEL_PB] = "DELETE FROM phonebook WHERE user = ?1",
    [Q_BUD_LIST] = ("SELECT b.buddy, b.grp, b.pending, b.stealth FROM buddies b WHERE b.owner = ?1 ORDER BY"
                    " (SELECT MIN(id) FROM buddies g WHERE g.owner = b.owner AND g.grp = b.grp), b.id"),
    [Q_BUD_GET] = "SELECT pending, stealth FROM buddies WHERE owner = ?1 AND buddy = ?2",
    [Q_BUD_COUNT] = "SELECT COUNT(*) FROM buddies WHERE owner = ?1",
    [Q_BUD_ADD] = "INSERT INTO buddies(owner, buddy, grp, pending) VALUES(?1, ?2, ?3, ?4)",
    [Q_BUD_DEL] = "DELETE FROM buddies WHERE owner = ?1 AND buddy = ?2",
    [Q_BUD_PENDING] = "UPDATE buddies SET pending = ?3 WHERE owner = ?1 AND buddy = ?2",
    [Q_BUD_GROUP] = "UPDATE buddies SET grp = ?3 WHERE owner = ?1 AND buddy = ?2",
    [Q_BUD_STEALTH] = "UPDATE buddies SET stealth = ?3 WHERE owner = ?1 AND buddy = ?2",
    [Q_GRP_CHECK] = "SELECT COUNT(*) FROM buddies WHERE owner = ?1 AND grp = ?2",
    [Q_GRP_RENAME] = "UPDATE buddies SET grp = ?3 WHERE owner = ?1 AND grp = ?2",
    [Q_WATCHERS] = "SELECT owner FROM buddies WHERE buddy = ?1 AND pending = 0",
    [Q_AR_PUT] = "INSERT OR REPLACE INTO authreqs(requester, target, msg, created) VALUES(?1, ?2, ?3, ?4)",
    [Q_AR_DEL] = "DELETE FROM authreqs WHERE requester = ?1 AND target = ?2",
    [Q_AR_LIST] = "SELECT requester, msg FROM authreqs WHERE target = ?1 ORDER BY created, requester",
    [Q_IGN_ADD] = "INSERT INTO ignores(owner, who) VALUES(?1, ?2)",
    [Q_IGN_DEL] = "DELETE FROM ignores WHERE owner = ?1 AND who = ?2",
    [Q_IGN_CHECK] = "SELECT 1 FROM ignores WHERE owner = ?1 AND who = ?2",
    [Q_IGN_LIST] = "SELECT who FROM ignores WHERE owner = ?1 ORDER BY who",
    /* Whole box and this sender's part of it, in one pass over the recipient's rows (at most offline_max). */
    [Q_OFF_COUNT] = "SELECT COUNT(*), COALESCE(SUM(sender = ?2), 0) FROM offline WHERE rcpt = ?1",
    /* A row handed over live keeps a zero blob of the text's length: the same write, no text kept. */
    [Q_OFF_ADD] = ("INSERT INTO offline(rcpt, sender, text, time, utf8, delivered)"
                   " VALUES(?1, ?2, CASE WHEN ?6 THEN zeroblob(length(?3)) ELSE ?3 END, ?4, ?5, ?6)"),
    [Q_OFF_LIST] = "SELECT id, sender, text, time, utf8 FROM offline WHERE rcpt = ?1 AND delivered = 0 ORDER BY id",
    [Q_OFF_DEL] = "DELETE FROM offline WHERE rcpt = ?1 AND id <= ?2 AND delivered = 0",
    [Q_OFF_PAGE] = ("SELECT id, sender, text, time, utf8 FROM offline WHERE rcpt = ?1 AND delivered = 0 AND id > ?2"
                    " ORDER BY id LIMIT ?3"),
    [Q_OFF_CLEAR] = "DELETE FROM offline WHERE rcpt = ?1 AND delivered = 1",
    [Q_PB_GET] = "SELECT data FROM phonebook WHERE user = ?1",
    [Q_PB_PUT] = "INSERT OR REPLACE INTO phonebook(user, data, updated) VALUES(?1, ?2, ?3)",
    /* The box caps' count and insert as one write transaction: another connection (`ymsgd user`, a
     * second store in the conformance test) cannot slip a row in between. */
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
};

/* WAL size (pages) at which the checkpoint thread is woken: SQLite's own autocheckpoint default,
 * so the WAL stays as small as before, only the copy-back moves off the caller's thread. */
#define CKPT_PAGES 1000

struct ckpt {
    sqlite3 *db;          /* the thread's own connection to the same file */
    pthread_t thread;     /* runs ckpt_main */
    pthread_mutex_t mu;   /* guards want and stop */
    pthread_cond_t cv;    /* signalled when want or stop is set */
    int want;             /* a commit left the WAL at or above CKPT_PAGES pages */
    int stop;             /* close asked the thread to exit */
    int next;             /* WAL size that wakes the thread next (main connection's thread only) */
    int last;             /* WAL size after the previous commit (main connection's thread only) */
};

struct sq {
    sqlite3 *db;                 /* the connection */
    sqlite3_stmt *stmt[Q_COUNT]; /* prepared lazily, reset after each use */
    struct ckpt *ckpt;           /* checkpoint thread, or NULL (SQLite's inline autocheckpoint then) */
};

#define DB(st) (((struct sq *)(st)->impl)->db)

static sqlite3_stmt *prep(struct store *st, enum q q)
{
    struct sq *s = st->impl;
    if (!s->stmt[q] && sqlite3_prepare_v3(s->db, sql[q], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[q], NULL)) {
        log_event(LOG_ERROR, NULL, NULL, "store_prepare", sqlite3_errcode(s->db), "%s", sqlite3_errmsg(s->db));
        return NULL;
    }
    return s->stmt[q];
}

/* Binds text arguments ?1..?n (NULL binds SQL NULL). */
static sqlite3_stmt *prep_text(struct store *st, enum q q, int n, const char *a, const char *b, const char *c)
{
    sqlite3_stmt *s = prep(st, q);
    if (!s) return NULL;
    const char *v[3] = {a, b, c};
    for (int i = 0; i < n && i < 3; i++) {
        if (v[i]) sqlite3_bind_text(s, i + 1, v[i], -1, SQLITE_STATIC);
        else sqlite3_bind_null(s, i + 1);
    }
    return s;
}

static int fail(struct store *st, sqlite3_stmt *s, const char *what)
{
    log_event(LOG_ERROR, NULL, NULL, "store_error", sqlite3_errcode(DB(st)), "%s: %s", what, sqlite3_errmsg(DB(st)));
    if (s) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    return STORE_ERR;
}

static void done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Runs a statement that returns no rows; maps constraint violations to STORE_EXISTS. */
static int exec_stmt(struct store *st, sqlite3_stmt *s, const char *what)
{
    if (!s) return STORE_ERR;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        done(s);
        return STORE_OK;
    }
    if (rc == SQLITE_CONSTRAINT) {
        done(s);
        return STORE_EXISTS;
    }
    return fail(st, s, what);
}

/* Runs a statement returning one integer (or none: *out untouched, returns STORE_NOTFOUND). */
static int query_int(struct store *st, sqlite3_stmt *s, long long *out, const char *what)
{
    if (!s) return STORE_ERR;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(s, 0);
        done(s);
        return STORE_OK;
    }
    if (rc == SQLITE_DONE) {
        done(s);
        return STORE_NOTFOUND;
    }
    return fail(st, s, what);
}

static const char *col(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? (const char *)t : "";
}

static int exec_sql(sqlite3 *db, const char *q, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static void *ckpt_main(void *arg)
{
    struct ckpt *c = arg;
    /* Lowest CPU weight for this thread only (Linux nice is per thread): on a busy host the copy-back
     * then yields to the event loop instead of taking its time slices; it still runs, so the WAL
     * stays bounded.  Failure only leaves the default priority. */
    (void)setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->want && !c->stop) pthread_cond_wait(&c->cv, &c->mu);
        if (c->stop) break;
        c->want = 0;
        pthread_mutex_unlock(&c->mu);
        int log = 0, done_pages = 0;
        int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done_pages);
        /* Frames committed during that copy keep the WAL from being rewound, so under steady load it
         * would only grow.  Catch up on those few with RESTART: it holds writers off (they wait in
         * their busy handler) only for that short copy, and leaves the WAL to be rewound by the next
         * commit. */
        if (rc == SQLITE_OK)
            rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_RESTART, &log, &done_pages);
        /* BUSY only means another checkpoint (e.g. `ymsgd user add` closing) is running. */
        if (rc != SQLITE_OK && rc != SQLITE_BUSY) log_event(LOG_WARN, NULL, NULL, "store_checkpoint", rc, "%s", sqlite3_errmsg(c->db));
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Runs on the main connection's thread after every commit; only flags work for ckpt_main. */
static int ckpt_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    struct ckpt *c = arg;
    (void)db;
    (void)name;
    /* Once per CKPT_PAGES new frames, not after every commit past the threshold: a checkpoint holds
     * the WAL's read-mark 0 while it copies, and a writer can only rewind the WAL when it got that
     * mark, so back-to-back checkpoints would keep the WAL from ever restarting (and fsync it in a
     * loop). */
    if (pages < c->last) c->next = CKPT_PAGES; /* the WAL was rewound */
    c->last = pages;
    if (pages < c->next) return SQLITE_OK;
    c->next = pages + CKPT_PAGES;
    pthread_mutex_lock(&c->mu);
    if (!c->want) {
        c->want = 1;
        pthread_cond_signal(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    return SQLITE_OK;
}

/* Main connection's busy handler: SQLite's busy_timeout sleeps 1, 2, 5, 10 ms... between tries, so a
 * checkpoint's short RESTART step (well under 1 ms of holding writers off) cost the event loop up to
 * 8 ms.  Poll every 100 us instead, for the same 5 s in total. */
static int busy_poll(void *arg, int count)
{
    (void)arg;
    if (count >= 50000) return 0;
    usleep(100);
    return 1;
}

static void ckpt_stop(struct ckpt *c)
{
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    sqlite3_close(c->db);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Starts the checkpoint thread for `db` (already in WAL mode).  On any failure the main
 * connection keeps SQLite's inline autocheckpoint, which is slower but correct. */
static struct ckpt *ckpt_start(sqlite3 *db, const char *path)
{
    struct ckpt *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        log_event(LOG_WARN, NULL, NULL, "store_checkpoint_open", 0, "%s",
                  c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    sqlite3_busy_timeout(c->db, 5000);
    /* A checkpoint on a connection that has never read the file finds no WAL open and does nothing;
     * one read opens it for the connection's lifetime. */
    if (sqlite3_exec(c->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL) != SQLITE_OK) goto fail_db;
    c->next = CKPT_PAGES;
    if (pthread_mutex_init(&c->mu, NULL) != 0) goto fail_db;
    if (pthread_cond_init(&c->cv, NULL) != 0) goto fail_mu;
    if (pthread_create(&c->thread, NULL, ckpt_main, c) != 0) goto fail_cv;
    if (sqlite3_exec(db, "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL) != SQLITE_OK) {
        ckpt_stop(c);
        return NULL;
    }
    /* After the pragma: the autocheckpoint is itself a WAL hook, which this one replaces. */
    sqlite3_wal_hook(db, ckpt_hook, c);
    sqlite3_busy_handler(db, busy_poll, NULL);
    return c;
fail_cv:
    pthread_cond_destroy(&c->cv);
fail_mu:
    pthread_mutex_destroy(&c->mu);
fail_db:
    log_event(LOG_WARN, NULL, NULL, "store_checkpoint_thread", 0, "not started; checkpoints stay inline");
    sqlite3_close(c->db);
    free(c);
    return NULL;
}

static void sq_close(struct store *st)
{
    struct sq *s = st->impl;
    for (int i = 0; i < Q_COUNT; i++) sqlite3_finalize(s->stmt[i]);
    if (s->ckpt) {
        sqlite3_wal_hook(s->db, NULL, NULL);
        ckpt_stop(s->ckpt);
        sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    }
    sqlite3_close(s->db);
    free(s);
    free(st);
}

static int sq_user_add(struct store *st, const char *name, const char *pwhash, const char *p, const char *c)
{
    sqlite3_stmt *s = prep_text(st, Q_USER_ADD, 4, name, pwhash, (p && *p) ? p : NULL);
    if (!s) return STORE_ERR;
    if (c && *c) sqlite3_bind_text(s, 4, c, -1, SQLITE_STATIC);
    else sqlite3_bind_null(s, 4);
    sqlite3_bind_int64(s, 5, (sqlite3_int64)time(NULL));
    return exec_stmt(st, s, "user_add");
}

static int sq_user_del(struct store *st, const char *name)
{
    if (exec_sql(DB(st), "BEGIN IMMEDIATE", (char[64]){0}, 64) < 0) return fail(st, NULL, "user_del begin");
    int rc = STORE_OK, changed = 0;
    static const enum q qs[] = {Q_DEL_USER, Q_DEL_BUD, Q_DEL_AUTH, Q_DEL_IGN, Q_DEL_OFF, Q_DEL_PB};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0] && rc == STORE_OK; i++) {
        rc = exec_stmt(st, prep_text(st, qs[i], 1, name, NULL, NULL), "user_del");
        if (i == 0) changed = sqlite3_changes(DB(st));
    }
    exec_sql(DB(st), rc == STORE_OK ? "COMMIT" : "ROLLBACK", (char[64]){0}, 64);
    if (rc == STORE_OK && !changed) return STORE_NOTFOUND;
    return rc;
}

static int sq_user_get(struct store *st, const char *name, struct store_user *out)
{
    sqlite3_stmt *s = prep_text(st, Q_USER_GET, 1, name, NULL, NULL);
    if (!s) return STORE_ERR;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        done(s);
        return STORE_NOTFOUND;
    }
    if (rc != SQLITE_ROW) return fail(st, s, "user_get");
    snprintf(out->name, sizeof out->name, "%s", col(s, 0));
    snprintf(out->pwhash, sizeof out->pwhash, "%s", col(s, 1));
    snprintf(out->legacy_p, sizeof out->legacy_p, "%s", col(s, 2));
    snprintf(out->legacy_c, sizeof out->legacy_c, "%s", col(s, 3));
    done(s);
    return STORE_OK;
}

static int sq_user_set_password(struct store *st, const char *name, const char *pwhash, const char *p,
                                const char *c)
{
    sqlite3_stmt *s = prep_text(st, Q_USER_SETPW, 3, name, pwhash, (p && *p) ? p : NULL);
    if (!s) return STORE_ERR;
    if (c && *c) sqlite3_bind_text(s, 4, c, -1, SQLITE_STATIC);
    else sqlite3_bind_null(s, 4);
    int rc = exec_stmt(st, s, "user_set_password");
    if (rc == STORE_OK && sqlite3_changes(DB(st)) == 0) return STORE_NOTFOUND;
    return rc;
}

static int sq_user_rehash(struct store *st, const char *name, const char *old_hash, const char *new_hash)
{
    int rc = exec_stmt(st, prep_text(st, Q_USER_REHASH, 3, name, old_hash, new_hash), "user_rehash");
    if (rc == STORE_OK && sqlite3_changes(DB(st)) == 0) return STORE_NOTFOUND;
    return rc;
}

static int each_name(struct store *st, sqlite3_stmt *s, store_name_cb cb, void *arg, const char *what)
{
    if (!s) return STORE_ERR;
    int rc, n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cb(arg, col(s, 0));
        n++;
    }
    if (rc != SQLITE_DONE) return fail(st, s, what);
    done(s);
    return n;
}

static int sq_user_list(struct store *st, store_name_cb cb, void *arg)
{
    return each_name(st, prep(st, Q_USER_LIST), cb, arg, "user_list");
}

static int sq_user_exists(struct store *st, const char *name)
{
    long long v;
    int rc = query_int(st, prep_text(st, Q_USER_EXISTS, 1, name, NULL, NULL), &v, "user_exists");
    return rc == STORE_OK ? 1 : rc == STORE_NOTFOUND ? 0 : rc;
}

static int sq_buddy_list(struct store *st, const char *owner, store_buddy_cb cb, void *arg)
{
    sqlite3_stmt *s = prep_text(st, Q_BUD_LIST, 1, owner, NULL, NULL);
    if (!s) return STORE_ERR;
    int rc, n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_buddy b = {col(s, 0), col(s, 1), sqlite3_column_int(s, 2), sqlite3_column_int(s, 3)};
        cb(arg, &b);
        n++;
    }
    if (rc != SQLITE_DONE) return fail(st, s, "buddy_list");
    done(s);
    return n;
}

static int sq_buddy_get(struct store *st, const char *owner, const char *buddy, int *pending, int *stealth)
{
    sqlite3_stmt *s = prep_text(st, Q_BUD_GET, 2, owner, buddy, NULL);
    if (!s) return STORE_ERR;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        done(s);
        return STORE_NOTFOUND;
    }
    if (rc != SQLITE_ROW) return fail(st, s, "buddy_get");
    if (pending) *pending = sqlite3_column_int(s, 0);
    if (stealth) *stealth = sqlite3_column_int(s, 1);
    done(s);
    return STORE_OK;
}

static int sq_buddy_count(struct store *st, const char *owner)
{
    long long v = 0;
    int rc = query_int(st, prep_text(st, Q_BUD_COUNT, 1, owner, NULL, NULL), &v, "buddy_count");
    return rc == STORE_OK ? (int)v : rc;
}

static int sq_buddy_add(struct store *st, const char *owner, const char *buddy, const char *group, int pending)
{
    sqlite3_stmt *s = prep_text(st, Q_BUD_ADD, 3, owner, buddy, group);
    if (!s) return STORE_ERR;
    sqlite3_bind_int(s, 4, pending);
    return exec_stmt(st, s, "buddy_add");
}

static int changes_or_notfound(struct store *st, int rc)
{
    if (rc == STORE_OK && sqlite3_changes(DB(st)) == 0) return STORE_NOTFOUND;
    return rc;
}

static int sq_buddy_del(struct store *st, const char *owner, const char *buddy)
{
    return changes_or_notfound(st, exec_stmt(st, prep_text(st, Q_BUD_DEL, 2, owner, buddy, NULL), "buddy_del"));
}

static int set_int3(struct store *st, enum q q, const char *a, const char *b, int v, const char *what)
{
    sqlite3_stmt *s = prep_text(st, q, 2, a, b, NULL);
    if (!s) return STORE_ERR;
    sqlite3_bind_int(s, 3, v);
    return changes_or_notfound(st, exec_stmt(st, s, what));
}

static int sq_buddy_set_pending(struct store *st, const char *owner, const char *buddy, int pending)
{
    return set_int3(st, Q_BUD_PENDING, owner, buddy, pending, "buddy_set_pending");
}

static int sq_buddy_set_stealth(struct store *st, const char *owner, const char *buddy, int stealth)
{
    return set_int3(st, Q_BUD_STEALTH, owner, buddy, stealth, "buddy_set_stealth");
}

static int sq_buddy_set_group(struct store *st, const char *owner, const char *buddy, const char *group)
{
    return changes_or_notfound(st, exec_stmt(st, prep_text(st, Q_BUD_GROUP, 3, owner, buddy, group),
                                             "buddy_set_group"));
}

static int sq_group_rename(struct store *st, const char *owner, const char *old_group, const char *new_group)
{
    long long n = 0;
    if (strcmp(old_group, new_group) != 0) {
        int rc = query_int(st, prep_text(st, Q_GRP_CHECK, 2, owner, new_group, NULL), &n, "group_rename");
        if (rc != STORE_OK) return rc;
        if (n > 0) return STORE_EXISTS;
    }
    return changes_or_notfound(st, exec_stmt(st, prep_text(st, Q_GRP_RENAME, 3, owner, old_group, new_group),
                                             "group_rename"));
}

static int sq_watchers(struct store *st, const char *buddy, store_name_cb cb, void *arg)
{
    return each_name(st, prep_text(st, Q_WATCHERS, 1, buddy, NULL, NULL), cb, arg, "watchers");
}

static int sq_authreq_put(struct store *st, const char *requester, const char *target, const char *msg)
{
    sqlite3_stmt *s = prep_text(st, Q_AR_PUT, 3, requester, target, msg ? msg : "");
    if (!s) return STORE_ERR;
    sqlite3_bind_int64(s, 4, (sqlite3_int64)time(NULL));
    return exec_stmt(st, s, "authreq_put");
}

static int sq_authreq_del(struct store *st, const char *requester, const char *target)
{
    return changes_or_notfound(st, exec_stmt(st, prep_text(st, Q_AR_DEL, 2, requester, target, NULL), "authreq_del"));
}

static int sq_authreq_list(struct store *st, const char *target, store_authreq_cb cb, void *arg)
{
    sqlite3_stmt *s = prep_text(st, Q_AR_LIST, 1, target, NULL, NULL);
    if (!s) return STORE_ERR;
    int rc, n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cb(arg, col(s, 0), col(s, 1));
        n++;
    }
    if (rc != SQLITE_DONE) return fail(st, s, "authreq_list");
    done(s);
    return n;
}

static int sq_ignore_add(struct store *st, const char *owner, const char *who)
{
    return exec_stmt(st, prep_text(st, Q_IGN_ADD, 2, owner, who, NULL), "ignore_add");
}

static int sq_ignore_del(struct store *st, const char *owner, const char *who)
{
    return changes_or_notfound(st, exec_stmt(st, prep_text(st, Q_IGN_DEL, 2, owner, who, NULL), "ignore_del"));
}

static int sq_ignore_check(struct store *st, const char *owner, const char *who)
{
    long long v;
    int rc = query_int(st, prep_text(st, Q_IGN_CHECK, 2, owner, who, NULL), &v, "ignore_check");
    return rc == STORE_OK ? 1 : rc == STORE_NOTFOUND ? 0 : rc;
}

static int sq_ignore_list(struct store *st, const char *owner, store_name_cb cb, void *arg)
{
    return each_name(st, prep_text(st, Q_IGN_LIST, 1, owner, NULL, NULL), cb, arg, "ignore_list");
}

static int sq_offline_deposit_locked(struct store *st, const struct store_deposit *d)
{
    sqlite3_stmt *s = prep_text(st, Q_OFF_COUNT, 2, d->to, d->from, NULL);
    if (!s) return STORE_ERR;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) return fail(st, s, "offline_count");
    long long all = sqlite3_column_int64(s, 0), mine = sqlite3_column_int64(s, 1);
    done(s);
    if (all >= d->max || mine >= d->per_sender) return STORE_FULL;
    s = prep_text(st, Q_OFF_ADD, 3, d->to, d->from, d->text);
    if (!s) return STORE_ERR;
    sqlite3_bind_int64(s, 4, d->time);
    sqlite3_bind_int(s, 5, d->utf8);
    sqlite3_bind_int(s, 6, d->delivered ? 1 : 0);
    return exec_stmt(st, s, "offline_add");
}

static int sq_offline_deposit(struct store *st, const struct store_deposit *d)
{
    if (exec_stmt(st, prep(st, Q_BEGIN), "offline_begin") != STORE_OK) return STORE_ERR;
    int rc = sq_offline_deposit_locked(st, d);
    if (rc == STORE_OK || rc == STORE_FULL) {
        if (exec_stmt(st, prep(st, Q_COMMIT), "offline_commit") == STORE_OK) return rc;
        rc = STORE_ERR;
    }
    exec_stmt(st, prep(st, Q_ROLLBACK), "offline_rollback");
    return rc;
}

static int sq_offline_add(struct store *st, const char *to, const char *from, const char *text, int64_t t,
                          int utf8, long max)
{
    struct store_deposit d = {to, from, text, t, utf8, 0, max, max};
    return sq_offline_deposit(st, &d);
}

static int each_offline(struct store *st, sqlite3_stmt *s, store_offline_cb cb, void *arg, const char *what)
{
    if (!s) return STORE_ERR;
    int rc, n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_offline m = {sqlite3_column_int64(s, 0), col(s, 1), col(s, 2), sqlite3_column_int64(s, 3),
                                  sqlite3_column_int(s, 4)};
        cb(arg, &m);
        n++;
    }
    if (rc != SQLITE_DONE) return fail(st, s, what);
    done(s);
    return n;
}

static int sq_offline_list(struct store *st, const char *to, store_offline_cb cb, void *arg)
{
    return each_offline(st, prep_text(st, Q_OFF_LIST, 1, to, NULL, NULL), cb, arg, "offline_list");
}

static int sq_offline_page(struct store *st, const char *to, int64_t after, int limit, store_offline_cb cb, void *arg)
{
    sqlite3_stmt *s = prep_text(st, Q_OFF_PAGE, 1, to, NULL, NULL);
    if (!s) return STORE_ERR;
    sqlite3_bind_int64(s, 2, after);
    sqlite3_bind_int(s, 3, limit);
    return each_offline(st, s, cb, arg, "offline_page");
}

static int sq_offline_del_upto(struct store *st, const char *to, int64_t upto)
{
    sqlite3_stmt *s = prep_text(st, Q_OFF_DEL, 1, to, NULL, NULL);
    if (!s) return STORE_ERR;
    sqlite3_bind_int64(s, 2, upto);
    return exec_stmt(st, s, "offline_del");
}

static int sq_offline_clear_delivered(struct store *st, const char *to)
{
    return exec_stmt(st, prep_text(st, Q_OFF_CLEAR, 1, to, NULL, NULL), "offline_clear");
}

static long sq_phonebook_get(struct store *st, const char *user, uint8_t **data)
{
    sqlite3_stmt *s = prep_text(st, Q_PB_GET, 1, user, NULL, NULL);
    if (!s) return STORE_ERR;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        done(s);
        return STORE_NOTFOUND;
    }
    if (rc != SQLITE_ROW) return fail(st, s, "phonebook_get");
    int n = sqlite3_column_bytes(s, 0);
    const void *blob = sqlite3_column_blob(s, 0);
    uint8_t *copy = malloc(n ? (size_t)n : 1);
    if (!copy) {
        done(s);
        return STORE_ERR;
    }
    if (n) memcpy(copy, blob, (size_t)n);
    done(s);
    *data = copy;
    return n;
}

static int sq_phonebook_put(struct store *st, const char *user, const uint8_t *data, size_t len)
{
    if (len > 0x7fffffff) return STORE_FULL;
    sqlite3_stmt *s = prep_text(st, Q_PB_PUT, 1, user, NULL, NULL);
    if (!s) return STORE_ERR;
    /* A zero-length blob must still be a blob (not NULL): bind a static empty buffer. */
    sqlite3_bind_blob(s, 2, len ? (const void *)data : (const void *)"", (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)time(NULL));
    return exec_stmt(st, s, "phonebook_put");
}

/* The online backup API on the main connection: pages written through this connection while the copy
 * runs are copied too, so the result is one consistent state.  One step copies everything (the loop
 * waits for it; a copy runs at disk speed), into a temporary file that is checked, synced and renamed
 * over path. */
static int sq_backup(struct store *st, const char *path, char *err, size_t errlen)
{
    sqlite3 *src = DB(st), *dst = NULL;
    char tmp[4200];
    struct stat ps, ls;
    const char *live = sqlite3_db_filename(src, "main");
    if (!path[0] || (size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= sizeof tmp) {
        snprintf(err, errlen, "backup: bad file name");
        return STORE_ERR;
    }
    if (live && stat(path, &ps) == 0 && stat(live, &ls) == 0 && ps.st_dev == ls.st_dev && ps.st_ino == ls.st_ino) {
        snprintf(err, errlen, "backup: %.300s is the live database", path);
        return STORE_ERR;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600); /* the copy holds password hashes */
    if (fd < 0) {
        snprintf(err, errlen, "backup: %.300s: %s", tmp, strerror(errno));
        return STORE_ERR;
    }
    close(fd);
    char msg[256] = ""; /* why the backup failed ("" = it did not) */
    int pages = 0;
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        snprintf(msg, sizeof msg, "%s", dst ? sqlite3_errmsg(dst) : "out of memory");
    } else {
        sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
        if (!b) {
            snprintf(msg, sizeof msg, "%s", sqlite3_errmsg(dst));
        } else {
            int rc = sqlite3_backup_step(b, -1);
            pages = sqlite3_backup_pagecount(b);
            sqlite3_backup_finish(b);
            if (rc != SQLITE_DONE) snprintf(msg, sizeof msg, "%s", sqlite3_errstr(rc));
        }
    }
    /* The copy must open and pass SQLite's own check before it replaces anything. */
    sqlite3_stmt *chk = NULL;
    if (!msg[0] && (sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &chk, NULL) != SQLITE_OK ||
                    sqlite3_step(chk) != SQLITE_ROW || !sqlite3_column_text(chk, 0) ||
                    strcmp((const char *)sqlite3_column_text(chk, 0), "ok") != 0))
        snprintf(msg, sizeof msg, "the copy failed its integrity check");
    sqlite3_finalize(chk);
    if (sqlite3_close(dst) != SQLITE_OK && !msg[0]) snprintf(msg, sizeof msg, "closing the copy failed");
    if (!msg[0]) {
        fd = open(tmp, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0) snprintf(msg, sizeof msg, "sync: %s", strerror(errno));
        if (fd >= 0) close(fd);
    }
    if (!msg[0] && rename(tmp, path) < 0) snprintf(msg, sizeof msg, "%s", strerror(errno));
    if (msg[0]) {
        unlink(tmp);
        snprintf(err, errlen, "backup to %.300s failed: %s", path, msg);
        log_event(LOG_ERROR, NULL, NULL, "store_backup_failed", 0, "%s", err);
        return STORE_ERR;
    }
    /* The new name is durable once its directory is synced. */
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) dir[1] = 0;
    else if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        if (fsync(fd) < 0) log_event(LOG_WARN, NULL, NULL, "store_backup_dir_sync", errno, "%s", dir);
        close(fd);
    }
    log_event(LOG_INFO, NULL, NULL, "store_backup", pages, "%s", path);
    return STORE_OK;
}

int store_sqlite_schema_version(void) { return SCHEMA_VERSION; }

static int migrate(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *s;
    int ver = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW) ver = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
    }
    if (ver > SCHEMA_VERSION) {
        snprintf(err, errlen, "database schema version %d is newer than this ymsgd (%d)", ver, SCHEMA_VERSION);
        return -1;
    }
    for (; ver < SCHEMA_VERSION; ver++) {
        char q[64];
        if (exec_sql(db, "BEGIN IMMEDIATE", err, errlen) < 0) return -1;
        snprintf(q, sizeof q, "PRAGMA user_version = %d", ver + 1);
        if (exec_sql(db, migrations[ver], err, errlen) < 0 || exec_sql(db, q, err, errlen) < 0) {
            exec_sql(db, "ROLLBACK", (char[64]){0}, 64);
            return -1;
        }
        if (exec_sql(db, "COMMIT", err, errlen) < 0) return -1;
    }
    return 0;
}

struct store *store_sqlite_open(const char *dir, int *created, char *err, size_t errlen)
{
    char path[4096];
    struct stat sb;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    snprintf(path, sizeof path, "%s/ymsgd.db", dir);
    *created = stat(path, &sb) < 0;
    /* SQLite gives the -wal and -shm files the database file's mode: create it 0600 before SQLite does
     * (chmod after the fact left the WAL and SHM 0644), and tighten files an older version left open. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    fchmod(fd, 0600);
    close(fd);
    for (int i = 0; i < 2; i++) {
        char side[4200];
        snprintf(side, sizeof side, "%s%s", path, i ? "-shm" : "-wal");
        if (chmod(side, 0600) < 0 && errno != ENOENT) {
            snprintf(err, errlen, "%s: %s", side, strerror(errno));
            return NULL;
        }
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL)) {
        snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    if (exec_sql(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;",
                 err, errlen) < 0 || migrate(db, err, errlen) < 0) {
        sqlite3_close(db);
        return NULL;
    }
    struct store *st = calloc(1, sizeof *st);
    struct sq *s = calloc(1, sizeof *s);
    if (!st || !s) {
        free(st);
        free(s);
        sqlite3_close(db);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->db = db;
    s->ckpt = ckpt_start(db, path);
    st->impl = s;
    st->close = sq_close;
    st->user_add = sq_user_add;
    st->user_del = sq_user_del;
    st->user_get = sq_user_get;
    st->user_set_password = sq_user_set_password;
    st->user_rehash = sq_user_rehash;
    st->user_list = sq_user_list;
    st->user_exists = sq_user_exists;
    st->buddy_list = sq_buddy_list;
    st->buddy_get = sq_buddy_get;
    st->buddy_count = sq_buddy_count;
    st->buddy_add = sq_buddy_add;
    st->buddy_del = sq_buddy_del;
    st->buddy_set_pending = sq_buddy_set_pending;
    st->buddy_set_group = sq_buddy_set_group;
    st->buddy_set_stealth = sq_buddy_set_stealth;
    st->group_rename = sq_group_rename;
    st->watchers = sq_watchers;
    st->authreq_put = sq_authreq_put;
    st->authreq_del = sq_authreq_del;
    st->authreq_list = sq_authreq_list;
    st->ignore_add = sq_ignore_add;
    st->ignore_del = sq_ignore_del;
    st->ignore_check = sq_ignore_check;
    st->ignore_list = sq_ignore_list;
    st->offline_add = sq_offline_add;
    st->offline_list = sq_offline_list;
    st->offline_del_upto = sq_offline_del_upto;
    st->offline_deposit = sq_offline_deposit;
    st->offline_page = sq_offline_page;
    st->offline_clear_delivered = sq_offline_clear_delivered;
    st->phonebook_get = sq_phonebook_get;
    st->phonebook_put = sq_phonebook_put;
    st->backup = sq_backup;
    return st;
}

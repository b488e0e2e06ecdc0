/* PostgreSQL backend of the store interface (store.h), over libpq.
 *
 * Semantics follow store_sqlite.c row for row.  What differs, and why:
 *  - Several ymsgd nodes share one database, so every check-then-write that SQLite got for free from
 *    its single writer is one server-side function here (PL/pgSQL, created by the migrations) that
 *    serialises on a transaction-scoped advisory lock of the row owner: the offline box caps, the
 *    group rename and the user deletion stay exact with any number of connections.
 *  - Free text that comes from clients (group names, authorisation messages, offline texts) is stored
 *    as bytea: YMSG text is not always UTF-8 (key 97 says so) and a text column would refuse the
 *    bytes in a UTF-8 database.  Names are ids (ASCII) and stay text.
 *  - Migrations: table ymsgd_schema holds the version; each step runs in its own transaction under a
 *    session advisory lock, so two nodes starting at once migrate once.
 *
 * Every call here is one synchronous round trip on the caller's thread (PQexecParams).  On the event
 * loop that blocks for the round trip: docs/SERVER.md ("Store") lists which calls the loop still
 * makes and the asynchronous path that replaces them.  A broken connection is reset before the next
 * call; the call that found it broken fails with STORE_ERR (it is not retried: a write may have
 * committed). */
#include "store.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char *const pg_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE users(name TEXT PRIMARY KEY, pwhash TEXT NOT NULL, legacy_p TEXT, legacy_c TEXT,"
    "  created BIGINT NOT NULL);"
    "CREATE TABLE buddies(id BIGSERIAL PRIMARY KEY, owner TEXT NOT NULL, buddy TEXT NOT NULL,"
    "  grp BYTEA NOT NULL, pending INTEGER NOT NULL DEFAULT 1, stealth INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE(owner, buddy));"
    "CREATE INDEX buddies_by_buddy ON buddies(buddy, pending);"
    "CREATE INDEX buddies_by_owner_group ON buddies(owner, grp, id);"
    "CREATE TABLE authreqs(requester TEXT NOT NULL, target TEXT NOT NULL, msg BYTEA NOT NULL,"
    "  created BIGINT NOT NULL, PRIMARY KEY(requester, target));"
    "CREATE INDEX authreqs_by_target ON authreqs(target);"
    "CREATE TABLE ignores(owner TEXT NOT NULL, who TEXT NOT NULL, PRIMARY KEY(owner, who));"
    "CREATE INDEX ignores_by_who ON ignores(who);"
    "CREATE TABLE offline(id BIGSERIAL PRIMARY KEY, rcpt TEXT NOT NULL, sender TEXT NOT NULL,"
    "  text BYTEA NOT NULL, time BIGINT NOT NULL, utf8 INTEGER NOT NULL, delivered INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX offline_by_rcpt ON offline(rcpt, id);"
    "CREATE TABLE phonebook(owner TEXT PRIMARY KEY, data BYTEA NOT NULL, updated BIGINT NOT NULL);"
    /* Box caps: lock the recipient, then count and insert with a fresh snapshot (READ COMMITTED gives
     * each statement of a function its own), so concurrent deposits from several nodes never exceed
     * them.  A row handed over live keeps zero bytes of the text's length (as SQLite's zeroblob: the
     * same write either way).  Returns 0, or -4 (STORE_FULL). */
    "CREATE FUNCTION ymsgd_offline_deposit(p_to TEXT, p_from TEXT, p_text BYTEA, p_time BIGINT, p_utf8 INTEGER,"
    "  p_delivered INTEGER, p_max BIGINT, p_per_sender BIGINT) RETURNS INTEGER LANGUAGE plpgsql AS $$"
    " DECLARE n_all BIGINT; n_mine BIGINT;"
    " BEGIN"
    "  PERFORM pg_advisory_xact_lock(hashtextextended('offline:' || p_to, 0));"
    "  SELECT COUNT(*), COUNT(*) FILTER (WHERE sender = p_from) INTO n_all, n_mine FROM offline WHERE rcpt = p_to;"
    "  IF n_all >= p_max OR n_mine >= p_per_sender THEN RETURN -4; END IF;"
    "  INSERT INTO offline(rcpt, sender, text, time, utf8, delivered) VALUES(p_to, p_from,"
    "   CASE WHEN p_delivered <> 0 THEN decode(repeat('00', length(p_text)), 'hex') ELSE p_text END,"
    "   p_time, p_utf8, CASE WHEN p_delivered <> 0 THEN 1 ELSE 0 END);"
    "  RETURN 0;"
    " END $$;"
    /* Returns 0, -2 (STORE_NOTFOUND: no entry in old) or -3 (STORE_EXISTS: new already in use). */
    "CREATE FUNCTION ymsgd_group_rename(p_owner TEXT, p_old BYTEA, p_new BYTEA) RETURNS INTEGER"
    "  LANGUAGE plpgsql AS $$"
    " DECLARE n BIGINT;"
    " BEGIN"
    "  PERFORM pg_advisory_xact_lock(hashtextextended('buddies:' || p_owner, 0));"
    "  IF p_old <> p_new AND EXISTS(SELECT 1 FROM buddies WHERE owner = p_owner AND grp = p_new) THEN"
    "   RETURN -3; END IF;"
    "  UPDATE buddies SET grp = p_new WHERE owner = p_owner AND grp = p_old;"
    "  GET DIAGNOSTICS n = ROW_COUNT;"
    "  IF n = 0 THEN RETURN -2; END IF;"
    "  RETURN 0;"
    " END $$;"
    /* Returns 0 or -2 (STORE_NOTFOUND); all of the user's rows go in the same transaction. */
    "CREATE FUNCTION ymsgd_user_del(p_name TEXT) RETURNS INTEGER LANGUAGE plpgsql AS $$"
    " DECLARE n BIGINT;"
    " BEGIN"
    "  DELETE FROM users WHERE name = p_name;"
    "  GET DIAGNOSTICS n = ROW_COUNT;"
    "  IF n = 0 THEN RETURN -2; END IF;"
    "  DELETE FROM buddies WHERE owner = p_name OR buddy = p_name;"
    "  DELETE FROM authreqs WHERE requester = p_name OR target = p_name;"
    "  DELETE FROM ignores WHERE owner = p_name OR who = p_name;"
    "  DELETE FROM offline WHERE rcpt = p_name;"
    "  DELETE FROM phonebook WHERE owner = p_name;"
    "  RETURN 0;"
    " END $$;",
};
#define PG_SCHEMA_VERSION ((int)(sizeof pg_migrations / sizeof pg_migrations[0]))

/* Session advisory lock key held while migrating (any constant both nodes agree on). */
#define PG_MIGRATE_LOCK "7912003401"

struct pgs {
    PGconn *conn;        /* the connection (reset when found broken) */
};

#define CONN(st) (((struct pgs *)(st)->impl)->conn)

int store_pg_schema_version(void) { return PG_SCHEMA_VERSION; }

int store_is_postgres(const char *spec)
{
    return spec && (!strncmp(spec, "postgresql://", 13) || !strncmp(spec, "postgres://", 11));
}

/* Drops libpq's trailing newline from an error message. */
static const char *pg_errmsg(PGconn *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s", PQerrorMessage(c));
    size_t l = strlen(buf);
    while (l && (buf[l - 1] == '\n' || buf[l - 1] == ' ')) buf[--l] = 0;
    return buf;
}

/* Resets a connection found broken by an earlier call; 0 when usable. */
static int pg_ready(struct store *st)
{
    PGconn *c = CONN(st);
    if (PQstatus(c) == CONNECTION_OK) return 0;
    PQreset(c);
    if (PQstatus(c) == CONNECTION_OK) {
        log_event(LOG_WARN, NULL, NULL, "store_reconnect", 0, "PostgreSQL connection re-established");
        return 0;
    }
    char m[256];
    log_event(LOG_ERROR, NULL, NULL, "store_error", 0, "reconnect: %s", pg_errmsg(c, m, sizeof m));
    return -1;
}

/* One statement with text parameters; bin marks parameters passed as raw bytes (bytea) with their
 * lengths in lens.  Returns the result (caller PQclear's it) or NULL with the error logged; *code gets
 * STORE_EXISTS for a unique violation (NULL result too). */
static PGresult *pg_run(struct store *st, const char *what, const char *q, int n, const char *const *v,
                        const int *lens, const int *bin, int *code)
{
    *code = STORE_ERR;
    if (pg_ready(st) < 0) return NULL;
    PGresult *r = PQexecParams(CONN(st), q, n, NULL, v, lens, bin, 0);
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        *code = STORE_OK;
        return r;
    }
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (state && !strcmp(state, "23505")) {
        *code = STORE_EXISTS;
    } else {
        char m[512];
        log_event(LOG_ERROR, NULL, NULL, "store_error", 0, "%s: %s", what, pg_errmsg(CONN(st), m, sizeof m));
    }
    PQclear(r);
    return NULL;
}

/* Text-only parameters (NULL = SQL NULL). */
static PGresult *pg_text(struct store *st, const char *what, const char *q, int n, const char *a,
                         const char *b, const char *c, int *code)
{
    const char *v[3] = {a, b, c};
    return pg_run(st, what, q, n, v, NULL, NULL, code);
}

/* A statement returning no rows: STORE_OK / STORE_EXISTS / STORE_ERR, or STORE_NOTFOUND when
 * notfound is set and no row changed. */
static int pg_cmd(struct store *st, const char *what, const char *q, int n, const char *a, const char *b,
                  const char *c, int notfound)
{
    int code;
    PGresult *r = pg_text(st, what, q, n, a, b, c, &code);
    if (!r) return code;
    int rc = (notfound && atol(PQcmdTuples(r)) == 0) ? STORE_NOTFOUND : STORE_OK;
    PQclear(r);
    return rc;
}

/* A query returning one integer in its first row (STORE_NOTFOUND when no row). */
static int pg_int(PGresult *r, int code, long long *out)
{
    if (!r) return code;
    int rc = STORE_NOTFOUND;
    if (PQntuples(r) > 0) {
        *out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        rc = STORE_OK;
    }
    PQclear(r);
    return rc;
}

/* A bytea column (text result format, hex) as a malloc'ed NUL-terminated string; NULL on failure. */
static char *pg_bytes(PGresult *r, int row, int col, size_t *len)
{
    size_t n = 0;
    unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n);
    if (!raw) return NULL;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, raw, n);
        s[n] = 0;
    }
    PQfreemem(raw);
    if (len) *len = n;
    return s;
}

static void pg_close(struct store *st)
{
    PQfinish(CONN(st));
    free(st->impl);
    free(st);
}

static int pg_user_add(struct store *st, const char *name, const char *pwhash, const char *p, const char *c)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *v[5] = {name, pwhash, (p && *p) ? p : NULL, (c && *c) ? c : NULL, now};
    int code;
    PGresult *r = pg_run(st, "user_add",
                         "INSERT INTO users(name, pwhash, legacy_p, legacy_c, created) VALUES($1, $2, $3, $4, $5)",
                         5, v, NULL, NULL, &code);
    PQclear(r);
    return code;
}

static int pg_status_fn(struct store *st, const char *what, const char *q, int n, const char *const *v,
                        const int *lens, const int *bin)
{
    int code;
    long long ret = STORE_ERR;
    PGresult *r = pg_run(st, what, q, n, v, lens, bin, &code);
    code = pg_int(r, code, &ret);
    return code == STORE_OK ? (int)ret : code == STORE_NOTFOUND ? STORE_ERR : code;
}

static int pg_user_del(struct store *st, const char *name)
{
    const char *v[1] = {name};
    return pg_status_fn(st, "user_del", "SELECT ymsgd_user_del($1)", 1, v, NULL, NULL);
}

static int pg_user_get(struct store *st, const char *name, struct store_user *out)
{
    int code;
    PGresult *r = pg_text(st, "user_get",
                          "SELECT name, pwhash, COALESCE(legacy_p, ''), COALESCE(legacy_c, '') FROM users WHERE name = $1",
                          1, name, NULL, NULL, &code);
    if (!r) return code;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return STORE_NOTFOUND;
    }
    snprintf(out->name, sizeof out->name, "%s", PQgetvalue(r, 0, 0));
    snprintf(out->pwhash, sizeof out->pwhash, "%s", PQgetvalue(r, 0, 1));
    snprintf(out->legacy_p, sizeof out->legacy_p, "%s", PQgetvalue(r, 0, 2));
    snprintf(out->legacy_c, sizeof out->legacy_c, "%s", PQgetvalue(r, 0, 3));
    PQclear(r);
    return STORE_OK;
}

static int pg_user_set_password(struct store *st, const char *name, const char *pwhash, const char *p,
                                const char *c)
{
    const char *v[4] = {name, pwhash, (p && *p) ? p : NULL, (c && *c) ? c : NULL};
    int code;
    PGresult *r = pg_run(st, "user_set_password",
                         "UPDATE users SET pwhash = $2, legacy_p = $3, legacy_c = $4 WHERE name = $1", 4, v, NULL,
                         NULL, &code);
    if (!r) return code;
    int rc = atol(PQcmdTuples(r)) == 0 ? STORE_NOTFOUND : STORE_OK;
    PQclear(r);
    return rc;
}

static int pg_user_rehash(struct store *st, const char *name, const char *old_hash, const char *new_hash)
{
    const char *v[3] = {name, old_hash, new_hash};
    int code;
    PGresult *r = pg_run(st, "user_rehash", "UPDATE users SET pwhash = $3 WHERE name = $1 AND pwhash = $2", 3, v,
                         NULL, NULL, &code);
    if (!r) return code;
    int rc = atol(PQcmdTuples(r)) == 0 ? STORE_NOTFOUND : STORE_OK;
    PQclear(r);
    return rc;
}

/* Calls cb with column 0 of every row; returns the row count. */
static int pg_each_name(PGresult *r, int code, store_name_cb cb, void *arg)
{
    if (!r) return code;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) cb(arg, PQgetvalue(r, i, 0));
    PQclear(r);
    return n;
}

static int pg_user_list(struct store *st, store_name_cb cb, void *arg)
{
    int code;
    PGresult *r = pg_text(st, "user_list", "SELECT name FROM users ORDER BY name", 0, NULL, NULL, NULL, &code);
    return pg_each_name(r, code, cb, arg);
}

static int pg_user_exists(struct store *st, const char *name)
{
    int code;
    long long v;
    PGresult *r = pg_text(st, "user_exists", "SELECT 1 FROM users WHERE name = $1", 1, name, NULL, NULL, &code);
    code = pg_int(r, code, &v);
    return code == STORE_OK ? 1 : code == STORE_NOTFOUND ? 0 : code;
}

static int pg_buddy_list(struct store *st, const char *owner, store_buddy_cb cb, void *arg)
{
    int code;
    /* Groups in the order of their first entry, entries in insertion order (as SQLite). */
    PGresult *r = pg_text(st, "buddy_list",
                          "SELECT b.buddy, b.grp, b.pending, b.stealth FROM buddies b"
                          " JOIN (SELECT grp, MIN(id) AS first FROM buddies WHERE owner = $1 GROUP BY grp) g"
                          " ON g.grp = b.grp WHERE b.owner = $1 ORDER BY g.first, b.id",
                          1, owner, NULL, NULL, &code);
    if (!r) return code;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        char *grp = pg_bytes(r, i, 1, NULL);
        if (!grp) {
            PQclear(r);
            log_event(LOG_ERROR, NULL, NULL, "store_error", 0, "buddy_list: out of memory");
            return STORE_ERR;
        }
        struct store_buddy b = {PQgetvalue(r, i, 0), grp, atoi(PQgetvalue(r, i, 2)), atoi(PQgetvalue(r, i, 3))};
        cb(arg, &b);
        free(grp);
    }
    PQclear(r);
    return n;
}

static int pg_buddy_get(struct store *st, const char *owner, const char *buddy, int *pending, int *stealth)
{
    int code;
    PGresult *r = pg_text(st, "buddy_get", "SELECT pending, stealth FROM buddies WHERE owner = $1 AND buddy = $2",
                          2, owner, buddy, NULL, &code);
    if (!r) return code;
    int rc = STORE_NOTFOUND;
    if (PQntuples(r) > 0) {
        if (pending) *pending = atoi(PQgetvalue(r, 0, 0));
        if (stealth) *stealth = atoi(PQgetvalue(r, 0, 1));
        rc = STORE_OK;
    }
    PQclear(r);
    return rc;
}

static int pg_buddy_count(struct store *st, const char *owner)
{
    int code;
    long long v = 0;
    PGresult *r = pg_text(st, "buddy_count", "SELECT COUNT(*) FROM buddies WHERE owner = $1", 1, owner, NULL, NULL,
                          &code);
    code = pg_int(r, code, &v);
    return code == STORE_OK ? (int)v : code;
}

static int pg_buddy_add(struct store *st, const char *owner, const char *buddy, const char *group, int pending)
{
    char pend[4];
    snprintf(pend, sizeof pend, "%d", pending ? 1 : 0);
    const char *v[4] = {owner, buddy, group, pend};
    const int lens[4] = {0, 0, (int)strlen(group), 0}, bin[4] = {0, 0, 1, 0};
    int code;
    PQclear(pg_run(st, "buddy_add", "INSERT INTO buddies(owner, buddy, grp, pending) VALUES($1, $2, $3, $4)", 4, v,
                   lens, bin, &code));
    return code;
}

static int pg_buddy_del(struct store *st, const char *owner, const char *buddy)
{
    return pg_cmd(st, "buddy_del", "DELETE FROM buddies WHERE owner = $1 AND buddy = $2", 2, owner, buddy, NULL, 1);
}

static int pg_buddy_set_pending(struct store *st, const char *owner, const char *buddy, int pending)
{
    return pg_cmd(st, "buddy_set_pending", "UPDATE buddies SET pending = $3 WHERE owner = $1 AND buddy = $2", 3,
                  owner, buddy, pending ? "1" : "0", 1);
}

static int pg_buddy_set_stealth(struct store *st, const char *owner, const char *buddy, int stealth)
{
    return pg_cmd(st, "buddy_set_stealth", "UPDATE buddies SET stealth = $3 WHERE owner = $1 AND buddy = $2", 3,
                  owner, buddy, stealth ? "1" : "0", 1);
}

static int pg_buddy_set_group(struct store *st, const char *owner, const char *buddy, const char *group)
{
    const char *v[3] = {owner, buddy, group};
    const int lens[3] = {0, 0, (int)strlen(group)}, bin[3] = {0, 0, 1};
    int code;
    PGresult *r = pg_run(st, "buddy_set_group", "UPDATE buddies SET grp = $3 WHERE owner = $1 AND buddy = $2", 3, v,
                         lens, bin, &code);
    if (!r) return code;
    int rc = atol(PQcmdTuples(r)) == 0 ? STORE_NOTFOUND : STORE_OK;
    PQclear(r);
    return rc;
}

static int pg_group_rename(struct store *st, const char *owner, const char *old_group, const char *new_group)
{
    const char *v[3] = {owner, old_group, new_group};
    const int lens[3] = {0, (int)strlen(old_group), (int)strlen(new_group)}, bin[3] = {0, 1, 1};
    return pg_status_fn(st, "group_rename", "SELECT ymsgd_group_rename($1, $2, $3)", 3, v, lens, bin);
}

static int pg_watchers(struct store *st, const char *buddy, store_name_cb cb, void *arg)
{
    int code;
    PGresult *r = pg_text(st, "watchers", "SELECT owner FROM buddies WHERE buddy = $1 AND pending = 0", 1, buddy,
                          NULL, NULL, &code);
    return pg_each_name(r, code, cb, arg);
}

static int pg_authreq_put(struct store *st, const char *requester, const char *target, const char *msg)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    if (!msg) msg = "";
    const char *v[4] = {requester, target, msg, now};
    const int lens[4] = {0, 0, (int)strlen(msg), 0}, bin[4] = {0, 0, 1, 0};
    int code;
    PQclear(pg_run(st, "authreq_put",
                   "INSERT INTO authreqs(requester, target, msg, created) VALUES($1, $2, $3, $4)"
                   " ON CONFLICT(requester, target) DO UPDATE SET msg = EXCLUDED.msg, created = EXCLUDED.created",
                   4, v, lens, bin, &code));
    return code;
}

static int pg_authreq_del(struct store *st, const char *requester, const char *target)
{
    return pg_cmd(st, "authreq_del", "DELETE FROM authreqs WHERE requester = $1 AND target = $2", 2, requester,
                  target, NULL, 1);
}

static int pg_authreq_list(struct store *st, const char *target, store_authreq_cb cb, void *arg)
{
    int code;
    PGresult *r = pg_text(st, "authreq_list",
                          "SELECT requester, msg FROM authreqs WHERE target = $1 ORDER BY created, requester", 1,
                          target, NULL, NULL, &code);
    if (!r) return code;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        char *msg = pg_bytes(r, i, 1, NULL);
        if (!msg) {
            PQclear(r);
            log_event(LOG_ERROR, NULL, NULL, "store_error", 0, "authreq_list: out of memory");
            return STORE_ERR;
        }
        cb(arg, PQgetvalue(r, i, 0), msg);
        free(msg);
    }
    PQclear(r);
    return n;
}

static int pg_ignore_add(struct store *st, const char *owner, const char *who)
{
    return pg_cmd(st, "ignore_add", "INSERT INTO ignores(owner, who) VALUES($1, $2)", 2, owner, who, NULL, 0);
}

static int pg_ignore_del(struct store *st, const char *owner, const char *who)
{
    return pg_cmd(st, "ignore_del", "DELETE FROM ignores WHERE owner = $1 AND who = $2", 2, owner, who, NULL, 1);
}

static int pg_ignore_check(struct store *st, const char *owner, const char *who)
{
    int code;
    long long v;
    PGresult *r = pg_text(st, "ignore_check", "SELECT 1 FROM ignores WHERE owner = $1 AND who = $2", 2, owner, who,
                          NULL, &code);
    code = pg_int(r, code, &v);
    return code == STORE_OK ? 1 : code == STORE_NOTFOUND ? 0 : code;
}

static int pg_ignore_list(struct store *st, const char *owner, store_name_cb cb, void *arg)
{
    int code;
    PGresult *r = pg_text(st, "ignore_list", "SELECT who FROM ignores WHERE owner = $1 ORDER BY who", 1, owner, NULL,
                          NULL, &code);
    return pg_each_name(r, code, cb, arg);
}

static int pg_offline_deposit(struct store *st, const struct store_deposit *d)
{
    char t[24], u[4], dl[4], mx[24], ps[24];
    snprintf(t, sizeof t, "%lld", (long long)d->time);
    snprintf(u, sizeof u, "%d", d->utf8 ? 1 : 0);
    snprintf(dl, sizeof dl, "%d", d->delivered ? 1 : 0);
    snprintf(mx, sizeof mx, "%ld", d->max);
    snprintf(ps, sizeof ps, "%ld", d->per_sender);
    const char *v[8] = {d->to, d->from, d->text, t, u, dl, mx, ps};
    const int lens[8] = {0, 0, (int)strlen(d->text), 0, 0, 0, 0, 0}, bin[8] = {0, 0, 1, 0, 0, 0, 0, 0};
    return pg_status_fn(st, "offline_deposit", "SELECT ymsgd_offline_deposit($1, $2, $3, $4, $5, $6, $7, $8)", 8, v,
                        lens, bin);
}

static int pg_offline_add(struct store *st, const char *to, const char *from, const char *text, int64_t t,
                          int utf8, long max)
{
    struct store_deposit d = {to, from, text, t, utf8, 0, max, max};
    return pg_offline_deposit(st, &d);
}

static int pg_each_offline(PGresult *r, int code, store_offline_cb cb, void *arg)
{
    if (!r) return code;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        char *text = pg_bytes(r, i, 2, NULL);
        if (!text) {
            PQclear(r);
            log_event(LOG_ERROR, NULL, NULL, "store_error", 0, "offline: out of memory");
            return STORE_ERR;
        }
        struct store_offline m = {strtoll(PQgetvalue(r, i, 0), NULL, 10), PQgetvalue(r, i, 1), text,
                                  strtoll(PQgetvalue(r, i, 3), NULL, 10), atoi(PQgetvalue(r, i, 4))};
        cb(arg, &m);
        free(text);
    }
    PQclear(r);
    return n;
}

static int pg_offline_list(struct store *st, const char *to, store_offline_cb cb, void *arg)
{
    int code;
    PGresult *r = pg_text(st, "offline_list",
                          "SELECT id, sender, text, time, utf8 FROM offline WHERE rcpt = $1 AND delivered = 0 ORDER BY id",
                          1, to, NULL, NULL, &code);
    return pg_each_offline(r, code, cb, arg);
}

static int pg_offline_page(struct store *st, const char *to, int64_t after, int limit, store_offline_cb cb, void *arg)
{
    char a[24], l[16];
    snprintf(a, sizeof a, "%lld", (long long)after);
    snprintf(l, sizeof l, "%d", limit < 0 ? 0 : limit);
    int code;
    PGresult *r = pg_text(st, "offline_page",
                          "SELECT id, sender, text, time, utf8 FROM offline WHERE rcpt = $1 AND delivered = 0"
                          " AND id > $2 ORDER BY id LIMIT $3",
                          3, to, a, l, &code);
    return pg_each_offline(r, code, cb, arg);
}

static int pg_offline_del_upto(struct store *st, const char *to, int64_t upto)
{
    char u[24];
    snprintf(u, sizeof u, "%lld", (long long)upto);
    return pg_cmd(st, "offline_del", "DELETE FROM offline WHERE rcpt = $1 AND id <= $2 AND delivered = 0", 2, to, u,
                  NULL, 0);
}

static int pg_offline_clear_delivered(struct store *st, const char *to)
{
    return pg_cmd(st, "offline_clear", "DELETE FROM offline WHERE rcpt = $1 AND delivered = 1", 1, to, NULL, NULL, 0);
}

static long pg_phonebook_get(struct store *st, const char *user, uint8_t **data)
{
    int code;
    PGresult *r = pg_text(st, "phonebook_get", "SELECT data FROM phonebook WHERE owner = $1", 1, user, NULL, NULL,
                          &code);
    if (!r) return code;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return STORE_NOTFOUND;
    }
    size_t n = 0;
    char *copy = pg_bytes(r, 0, 0, &n);
    PQclear(r);
    if (!copy) return STORE_ERR;
    *data = (uint8_t *)copy;
    return (long)n;
}

static int pg_phonebook_put(struct store *st, const char *user, const uint8_t *data, size_t len)
{
    if (len > 0x7fffffff) return STORE_FULL;
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    /* A zero-length value must still be a value (not NULL): point at a static empty buffer. */
    const char *v[3] = {user, len ? (const char *)data : "", now};
    const int lens[3] = {0, (int)len, 0}, bin[3] = {0, 1, 0};
    int code;
    PQclear(pg_run(st, "phonebook_put",
                   "INSERT INTO phonebook(owner, data, updated) VALUES($1, $2, $3)"
                   " ON CONFLICT(owner) DO UPDATE SET data = EXCLUDED.data, updated = EXCLUDED.updated",
                   3, v, lens, bin, &code));
    return code;
}

/* A consistent copy of a PostgreSQL database is PostgreSQL's own job (pg_dump takes it from one
 * snapshot without stopping anything); copying rows through ymsgd would only be a worse pg_dump. */
static int pg_backup(struct store *st, const char *path, char *err, size_t errlen)
{
    (void)st;
    (void)path;
    snprintf(err, errlen, "the store is PostgreSQL: use pg_dump (e.g. pg_dump -Fc -f FILE DBNAME) for a backup");
    return STORE_ERR;
}

static int pg_exec(PGconn *c, const char *q, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, q);
    ExecStatusType s = PQresultStatus(r);
    int ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
    if (!ok) {
        char m[400];
        snprintf(err, errlen, "PostgreSQL store: %s", pg_errmsg(c, m, sizeof m));
    }
    PQclear(r);
    return ok ? 0 : -1;
}

/* Current schema version (0 when the version table does not exist yet); -1 on error. */
static int pg_version(PGconn *c, char *err, size_t errlen)
{
    if (pg_exec(c, "CREATE TABLE IF NOT EXISTS ymsgd_schema(version INTEGER NOT NULL)", err, errlen) < 0) return -1;
    PGresult *r = PQexec(c, "SELECT version FROM ymsgd_schema");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        char m[400];
        snprintf(err, errlen, "PostgreSQL store: %s", pg_errmsg(c, m, sizeof m));
        PQclear(r);
        return -1;
    }
    int v = PQntuples(r) ? atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return v;
}

static int pg_migrate(PGconn *c, int *created, char *err, size_t errlen)
{
    if (pg_exec(c, "SELECT pg_advisory_lock(" PG_MIGRATE_LOCK ")", err, errlen) < 0) return -1;
    int rc = -1, ver = pg_version(c, err, errlen);
    if (ver < 0) goto out;
    *created = ver == 0;
    if (ver > PG_SCHEMA_VERSION) {
        snprintf(err, errlen, "PostgreSQL store: database schema version %d is newer than this ymsgd (%d)", ver,
                 PG_SCHEMA_VERSION);
        goto out;
    }
    for (; ver < PG_SCHEMA_VERSION; ver++) {
        char q[96];
        snprintf(q, sizeof q, "DELETE FROM ymsgd_schema; INSERT INTO ymsgd_schema VALUES(%d)", ver + 1);
        if (pg_exec(c, "BEGIN", err, errlen) < 0) goto out;
        if (pg_exec(c, pg_migrations[ver], err, errlen) < 0 || pg_exec(c, q, err, errlen) < 0) {
            pg_exec(c, "ROLLBACK", (char[64]){0}, 64);
            goto out;
        }
        if (pg_exec(c, "COMMIT", err, errlen) < 0) goto out;
    }
    rc = 0;
out:
    pg_exec(c, "SELECT pg_advisory_unlock(" PG_MIGRATE_LOCK ")", (char[64]){0}, 64);
    return rc;
}

/* libpq's notices (e.g. "relation already exists, skipping") go to ymsgd's log at debug level, not
 * to stderr. */
static void pg_notice(void *arg, const char *msg)
{
    (void)arg;
    log_event(LOG_DEBUG, NULL, NULL, "store_notice", 0, "%s", msg);
}

struct store *store_pg_open(const char *conninfo, int *created, char *err, size_t errlen)
{
    char m[400];
    *created = 0;
    PGconn *c = PQconnectdb(conninfo);
    if (!c) {
        snprintf(err, errlen, "PostgreSQL store: out of memory");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "PostgreSQL store unreachable: %s", pg_errmsg(c, m, sizeof m));
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, pg_notice, NULL);
    if (pg_exec(c, "SET client_min_messages = warning", err, errlen) < 0 || pg_migrate(c, created, err, errlen) < 0) {
        PQfinish(c);
        return NULL;
    }
    struct store *st = calloc(1, sizeof *st);
    struct pgs *s = calloc(1, sizeof *s);
    if (!st || !s) {
        free(st);
        free(s);
        PQfinish(c);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->conn = c;
    st->impl = s;
    st->close = pg_close;
    st->user_add = pg_user_add;
    st->user_del = pg_user_del;
    st->user_get = pg_user_get;
    st->user_set_password = pg_user_set_password;
    st->user_rehash = pg_user_rehash;
    st->user_list = pg_user_list;
    st->user_exists = pg_user_exists;
    st->buddy_list = pg_buddy_list;
    st->buddy_get = pg_buddy_get;
    st->buddy_count = pg_buddy_count;
    st->buddy_add = pg_buddy_add;
    st->buddy_del = pg_buddy_del;
    st->buddy_set_pending = pg_buddy_set_pending;
    st->buddy_set_group = pg_buddy_set_group;
    st->buddy_set_stealth = pg_buddy_set_stealth;
    st->group_rename = pg_group_rename;
    st->watchers = pg_watchers;
    st->authreq_put = pg_authreq_put;
    st->authreq_del = pg_authreq_del;
    st->authreq_list = pg_authreq_list;
    st->ignore_add = pg_ignore_add;
    st->ignore_del = pg_ignore_del;
    st->ignore_check = pg_ignore_check;
    st->ignore_list = pg_ignore_list;
    st->offline_add = pg_offline_add;
    st->offline_list = pg_offline_list;
    st->offline_del_upto = pg_offline_del_upto;
    st->offline_deposit = pg_offline_deposit;
    st->offline_page = pg_offline_page;
    st->offline_clear_delivered = pg_offline_clear_delivered;
    st->phonebook_get = pg_phonebook_get;
    st->phonebook_put = pg_phonebook_put;
    st->backup = pg_backup;
    return st;
}

struct store *store_open(const char *spec, const char *dir, int *created, char *err, size_t errlen)
{
    if (store_is_postgres(spec)) return store_pg_open(spec, created, err, errlen);
    if (spec && *spec) {
        /* Not echoed: a mistyped URL may carry a password. */
        snprintf(err, errlen, "store: only a postgresql://... URL is understood (empty = SQLite in the data dir)");
        return NULL;
    }
    return store_sqlite_open(dir, created, err, errlen);
}

/* Store conformance: one suite, run against every backend behind the store interface (store.h).
 *
 *   test_store_conformance sqlite        the SQLite file in a temp directory
 *   test_store_conformance postgresql    the database named by $YMSGD_TEST_PG (tests/support/pgserver.py
 *                                        starts a throw-away server and sets it; unset = FAIL)
 *
 * Each test starts from an empty store (a new temp directory, or the PostgreSQL schema dropped and
 * migrated again).  Backend-specific checks (SQLite's WAL thread, PostgreSQL's version table) live at
 * the end, behind the backend name. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "store.h"

static int g_pg;           /* 1: PostgreSQL backend, 0: SQLite */
static const char *g_url;  /* $YMSGD_TEST_PG */

struct fixture {
    char dir[64];        /* temp data dir (SQLite) */
    struct store *st;    /* opened store */
};

/* Drops everything the store created, so the next open migrates an empty database. */
static int pg_reset(void)
{
    PGconn *c = PQconnectdb(g_url);
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PGresult *r = PQexec(c, "SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public");
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok) print_error("reset: %s\n", PQerrorMessage(c));
        PQclear(r);
    } else {
        print_error("reset: %s\n", PQerrorMessage(c));
    }
    PQfinish(c);
    return ok ? 0 : -1;
}

/* Runs one SQL statement on the PostgreSQL test database; 0 on success. */
static int pg_sql(const char *q)
{
    PGconn *c = PQconnectdb(g_url);
    PGresult *r = PQexec(c, q);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) print_error("%s: %s\n", q, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}

static struct store *open_store(struct fixture *f, int *created, char *err, size_t errlen)
{
    return store_open(g_pg ? g_url : "", f->dir, created, err, errlen);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    int created = 0;
    char err[256];
    snprintf(f->dir, sizeof f->dir, "/tmp/ymsgd-conf-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    if (g_pg && pg_reset() < 0) return -1;
    f->st = open_store(f, &created, err, sizeof err);
    if (!f->st) print_error("open: %s\n", err);
    if (!f->st || !created) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    if (f->st) f->st->close(f->st);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0) return -1;
    free(f);
    return 0;
}

static void count_name(void *arg, const char *name)
{
    (void)name;
    (*(int *)arg)++;
}

struct seen {
    char buf[1024];  /* "buddy/group/pending/stealth;" per row */
};

static void note_buddy(void *arg, const struct store_buddy *b)
{
    struct seen *s = arg;
    size_t l = strlen(s->buf);
    snprintf(s->buf + l, sizeof s->buf - l, "%s/%s/%d/%d;", b->buddy, b->group, b->pending, b->stealth);
}

static void note_name(void *arg, const char *name)
{
    struct seen *s = arg;
    size_t l = strlen(s->buf);
    snprintf(s->buf + l, sizeof s->buf - l, "%s;", name);
}

static void note_req(void *arg, const char *requester, const char *msg)
{
    struct seen *s = arg;
    size_t l = strlen(s->buf);
    snprintf(s->buf + l, sizeof s->buf - l, "%s:%s;", requester, msg);
}

static void test_users(void **state)
{
    struct fixture *f = *state;
    struct store *st = f->st;
    struct store_user u;
    struct seen s = {""};
    assert_int_equal(st->user_add(st, "alice", "$argon2id$x", NULL, NULL), STORE_OK);
    assert_int_equal(st->user_add(st, "alice", "$argon2id$y", NULL, NULL), STORE_EXISTS);
    assert_int_equal(st->user_add(st, "bob", "$argon2id$z", "P", "C"), STORE_OK);
    assert_int_equal(st->user_add(st, "carl", "$argon2id$w", "", ""), STORE_OK);
    assert_int_equal(st->user_get(st, "alice", &u), STORE_OK);
    assert_string_equal(u.name, "alice");
    assert_string_equal(u.pwhash, "$argon2id$x");
    assert_string_equal(u.legacy_p, "");
    assert_string_equal(u.legacy_c, "");
    assert_int_equal(st->user_get(st, "bob", &u), STORE_OK);
    assert_string_equal(u.legacy_p, "P");
    assert_string_equal(u.legacy_c, "C");
    assert_int_equal(st->user_get(st, "carol", &u), STORE_NOTFOUND);
    assert_int_equal(st->user_exists(st, "bob"), 1);
    assert_int_equal(st->user_exists(st, "carol"), 0);
    assert_int_equal(st->user_set_password(st, "alice", "$argon2id$new", "p2", "c2"), STORE_OK);
    assert_int_equal(st->user_get(st, "alice", &u), STORE_OK);
    assert_string_equal(u.pwhash, "$argon2id$new");
    assert_string_equal(u.legacy_p, "p2");
    assert_string_equal(u.legacy_c, "c2");
    assert_int_equal(st->user_set_password(st, "alice", "$argon2id$n2", NULL, NULL), STORE_OK);
    assert_int_equal(st->user_get(st, "alice", &u), STORE_OK);
    assert_string_equal(u.legacy_p, "");
    assert_int_equal(st->user_set_password(st, "carol", "h", NULL, NULL), STORE_NOTFOUND);
    /* A re-hash replaces only the hash it was made from, and keeps the legacy hashes. */
    assert_int_equal(st->user_set_password(st, "bob", "$argon2id$old", "P", "C"), STORE_OK);
    assert_int_equal(st->user_rehash(st, "bob", "$argon2id$other", "$argon2id$re"), STORE_NOTFOUND);
    assert_int_equal(st->user_get(st, "bob", &u), STORE_OK);
    assert_string_equal(u.pwhash, "$argon2id$old"); /* changed meanwhile: stays */
    assert_int_equal(st->user_rehash(st, "bob", "$argon2id$old", "$argon2id$re"), STORE_OK);
    assert_int_equal(st->user_get(st, "bob", &u), STORE_OK);
    assert_string_equal(u.pwhash, "$argon2id$re");
    assert_string_equal(u.legacy_p, "P");
    assert_string_equal(u.legacy_c, "C");
    assert_int_equal(st->user_rehash(st, "bob", "$argon2id$old", "$argon2id$again"), STORE_NOTFOUND);
    assert_int_equal(st->user_rehash(st, "nobody", "$argon2id$old", "$argon2id$re"), STORE_NOTFOUND);
    int n = 0;
    assert_int_equal(st->user_list(st, count_name, &n), 3);
    assert_int_equal(n, 3);
    assert_int_equal(st->user_list(st, note_name, &s), 3);
    assert_string_equal(s.buf, "alice;bob;carl;"); /* ordered by name */
}

static void test_buddies_groups_ignores(void **state)
{
    struct fixture *f = *state;
    struct store *st = f->st;
    struct seen s = {""};
    int pending = -1, stealth = -1;
    assert_int_equal(st->buddy_count(st, "alice"), 0);
    assert_int_equal(st->buddy_list(st, "alice", note_buddy, &s), 0);
    assert_int_equal(st->buddy_add(st, "alice", "bob", "Friends", 1), STORE_OK);
    assert_int_equal(st->buddy_add(st, "alice", "carol", "Work", 0), STORE_OK);
    assert_int_equal(st->buddy_add(st, "alice", "dave", "Friends", 0), STORE_OK);
    assert_int_equal(st->buddy_add(st, "alice", "bob", "Work", 0), STORE_EXISTS);
    assert_int_equal(st->buddy_add(st, "zoe", "bob", "Work", 0), STORE_OK); /* another owner */
    assert_int_equal(st->buddy_count(st, "alice"), 3);
    assert_int_equal(st->buddy_list(st, "alice", note_buddy, &s), 3);
    /* grouped in order of each group's first appearance */
    assert_string_equal(s.buf, "bob/Friends/1/0;dave/Friends/0/0;carol/Work/0/0;");
    assert_int_equal(st->buddy_get(st, "alice", "bob", &pending, &stealth), STORE_OK);
    assert_int_equal(pending, 1);
    assert_int_equal(stealth, 0);
    assert_int_equal(st->buddy_get(st, "alice", "zed", NULL, NULL), STORE_NOTFOUND);
    /* watchers: only authorised entries */
    s.buf[0] = 0;
    assert_int_equal(st->watchers(st, "bob", note_name, &s), 1);
    assert_string_equal(s.buf, "zoe;");
    assert_int_equal(st->buddy_set_pending(st, "alice", "bob", 0), STORE_OK);
    assert_int_equal(st->buddy_set_pending(st, "alice", "nobody", 0), STORE_NOTFOUND);
    s.buf[0] = 0;
    assert_int_equal(st->watchers(st, "bob", note_name, &s), 2);
    assert_true(strstr(s.buf, "alice;") && strstr(s.buf, "zoe;"));
    assert_int_equal(st->buddy_set_stealth(st, "alice", "bob", 1), STORE_OK);
    assert_int_equal(st->buddy_set_stealth(st, "alice", "nobody", 1), STORE_NOTFOUND);
    assert_int_equal(st->buddy_get(st, "alice", "bob", NULL, &stealth), STORE_OK);
    assert_int_equal(stealth, 1);
    assert_int_equal(st->buddy_set_group(st, "alice", "carol", "Friends"), STORE_OK);
    assert_int_equal(st->buddy_set_group(st, "alice", "zed", "Friends"), STORE_NOTFOUND);
    assert_int_equal(st->group_rename(st, "alice", "Friends", "Pals"), STORE_OK);
    assert_int_equal(st->group_rename(st, "alice", "Nope", "X"), STORE_NOTFOUND);
    assert_int_equal(st->group_rename(st, "alice", "Pals", "Pals"), STORE_OK); /* to itself */
    assert_int_equal(st->buddy_add(st, "alice", "erin", "Other", 0), STORE_OK);
    assert_int_equal(st->group_rename(st, "alice", "Other", "Pals"), STORE_EXISTS);
    s.buf[0] = 0;
    st->buddy_list(st, "alice", note_buddy, &s);
    assert_string_equal(s.buf, "bob/Pals/0/1;carol/Pals/0/0;dave/Pals/0/0;erin/Other/0/0;");
    s.buf[0] = 0;
    st->buddy_list(st, "zoe", note_buddy, &s); /* untouched by alice's rename */
    assert_string_equal(s.buf, "bob/Work/0/0;");
    assert_int_equal(st->buddy_del(st, "alice", "dave"), STORE_OK);
    assert_int_equal(st->buddy_del(st, "alice", "dave"), STORE_NOTFOUND);
    assert_int_equal(st->buddy_count(st, "alice"), 3);
    /* ignores */
    assert_int_equal(st->ignore_add(st, "alice", "spam"), STORE_OK);
    assert_int_equal(st->ignore_add(st, "alice", "spam"), STORE_EXISTS);
    assert_int_equal(st->ignore_add(st, "alice", "eggs"), STORE_OK);
    assert_int_equal(st->ignore_check(st, "alice", "spam"), 1);
    assert_int_equal(st->ignore_check(st, "spam", "alice"), 0);
    s.buf[0] = 0;
    assert_int_equal(st->ignore_list(st, "alice", note_name, &s), 2);
    assert_string_equal(s.buf, "eggs;spam;");
    assert_int_equal(st->ignore_del(st, "alice", "spam"), STORE_OK);
    assert_int_equal(st->ignore_del(st, "alice", "spam"), STORE_NOTFOUND);
    /* authorisation requests */
    assert_int_equal(st->authreq_put(st, "zoe", "alice", "hi"), STORE_OK);
    assert_int_equal(st->authreq_put(st, "zoe", "alice", "again"), STORE_OK); /* replaces */
    s.buf[0] = 0;
    assert_int_equal(st->authreq_put(st, "yann", "alice", ""), STORE_OK);
    assert_int_equal(st->authreq_put(st, "xavi", "alice", NULL), STORE_OK);
    assert_int_equal(st->authreq_list(st, "alice", note_req, &s), 3);
    assert_non_null(strstr(s.buf, "zoe:again;"));
    assert_non_null(strstr(s.buf, "yann:;"));
    assert_non_null(strstr(s.buf, "xavi:;"));
    assert_int_equal(st->authreq_del(st, "zoe", "alice"), STORE_OK);
    assert_int_equal(st->authreq_del(st, "zoe", "alice"), STORE_NOTFOUND);
    s.buf[0] = 0;
    assert_int_equal(st->authreq_list(st, "bob", note_req, &s), 0);
}

/* Client text is bytes: legacy encodings (key 97 absent), quotes, backslashes, SQL-looking text. */
static void test_bytes_round_trip(void **state)
{
    struct fixture *f = *state;
    struct store *st = f->st;
    struct seen s = {""};
    const char *grp = "Fr\xe9unde 'x' \\ \"y\"";           /* Latin-1, not UTF-8 */
    const char *msg = "\xff\xfe'); DROP TABLE users; --";
    assert_int_equal(st->buddy_add(st, "alice", "bob", grp, 0), STORE_OK);
    assert_int_equal(st->buddy_list(st, "alice", note_buddy, &s), 1);
    char want[256];
    snprintf(want, sizeof want, "bob/%s/0/0;", grp);
    assert_string_equal(s.buf, want);
    assert_int_equal(st->group_rename(st, "alice", grp, "\xc3\xa9t\xc3\xa9"), STORE_OK);
    assert_int_equal(st->authreq_put(st, "bob", "alice", msg), STORE_OK);
    s.buf[0] = 0;
    assert_int_equal(st->authreq_list(st, "alice", note_req, &s), 1);
    snprintf(want, sizeof want, "bob:%s;", msg);
    assert_string_equal(s.buf, want);
    assert_int_equal(st->user_add(st, "o'neil", "h", NULL, NULL), STORE_OK);
    assert_int_equal(st->user_exists(st, "o'neil"), 1);
    assert_int_equal(st->user_exists(st, "users"), 0);
}

struct offl {
    int64_t ids[64];  /* ids seen */
    char text[1024];  /* concatenated texts */
    char from[256];   /* concatenated senders */
    int64_t times[64];/* times seen */
    int n;            /* rows seen */
};

static void note_offline(void *arg, const struct store_offline *m)
{
    struct offl *o = arg;
    if (o->n < 64) {
        o->ids[o->n] = m->id;
        o->times[o->n] = m->time;
    }
    o->n++;
    strncat(o->text, m->text, sizeof o->text - strlen(o->text) - 1);
    strncat(o->text, m->utf8 ? "+;" : ";", sizeof o->text - strlen(o->text) - 1);
    strncat(o->from, m->from, sizeof o->from - strlen(o->from) - 1);
    strncat(o->from, ";", sizeof o->from - strlen(o->from) - 1);
}

static void test_offline(void **state)
{
    struct fixture *f = *state;
    struct store *st = f->st;
    struct offl o = {0};
    assert_int_equal(st->offline_list(st, "bob", note_offline, &o), 0);
    assert_int_equal(st->offline_add(st, "bob", "alice", "one", 100, 1, 3), STORE_OK);
    assert_int_equal(st->offline_add(st, "bob", "alice", "two \xe9", 101, 0, 3), STORE_OK);
    assert_int_equal(st->offline_add(st, "bob", "carol", "three", 102, 1, 3), STORE_OK);
    assert_int_equal(st->offline_add(st, "bob", "carol", "four", 103, 1, 3), STORE_FULL);
    assert_int_equal(st->offline_add(st, "dave", "carol", "other", 103, 1, 3), STORE_OK);
    assert_int_equal(st->offline_list(st, "bob", note_offline, &o), 3);
    assert_string_equal(o.text, "one+;two \xe9;three+;");
    assert_string_equal(o.from, "alice;alice;carol;");
    assert_true(o.times[0] == 100 && o.times[2] == 102);
    assert_true(o.ids[0] < o.ids[1] && o.ids[1] < o.ids[2]);
    /* deleted only up to what was delivered */
    assert_int_equal(st->offline_del_upto(st, "bob", o.ids[1]), STORE_OK);
    memset(&o, 0, sizeof o);
    assert_int_equal(st->offline_list(st, "bob", note_offline, &o), 1);
    assert_string_equal(o.text, "three+;");
    memset(&o, 0, sizeof o);
    assert_int_equal(st->offline_list(st, "dave", note_offline, &o), 1);
    /* a box of 0 refuses everything */
    assert_int_equal(st->offline_add(st, "erin", "carol", "x", 1, 0, 0), STORE_FULL);
}

static int deposit(struct store *st, const char *to, const char *from, const char *text, int delivered)
{
    struct store_deposit d = {to, from, text, 1, 0, delivered, 4, 2};
    return st->offline_deposit(st, &d);
}

/* Box cap and per-sender quota count rows delivered live as well as waiting ones, until the recipient's
 * next login clears the delivered ones; delivered rows are never listed. */
static void test_offline_quota(void **state)
{
    struct fixture *f = *state;
    struct store *st = f->st;
    struct offl o = {0};
    assert_int_equal(deposit(st, "bob", "alice", "a1", 0), STORE_OK);
    assert_int_equal(deposit(st, "bob", "alice", "a2", 1), STORE_OK);
    assert_int_equal(deposit(st, "bob", "alice", "a3", 0), STORE_FULL);   /* alice's quota of 2 */
    assert_int_equal(deposit(st, "bob", "carol", "c1", 1), STORE_OK);
    assert_int_equal(deposit(st, "bob", "dave", "d1", 0), STORE_OK);
    assert_int_equal(deposit(st, "bob", "erin", "e1", 0), STORE_FULL);    /* the box of 4 */
    assert_int_equal(st->offline_list(st, "bob", note_offline, &o), 2);
    assert_string_equal(o.text, "a1;d1;");
    memset(&o, 0, sizeof o);
    assert_int_equal(st->offline_page(st, "bob", 0, 1, note_offline, &o), 1);
    assert_string_equal(o.text, "a1;");
    int64_t first = o.ids[0];
    memset(&o, 0, sizeof o);
    assert_int_equal(st->offline_page(st, "bob", first, 10, note_offline, &o), 1);
    assert_string_equal(o.text, "d1;");
    memset(&o, 0, sizeof o);
    assert_int_equal(st->offline_page(st, "bob", o.ids[0] + 1000000, 10, note_offline, &o), 0);
    assert_int_equal(st->offline_clear_delivered(st, "bob"), STORE_OK);
    assert_int_equal(deposit(st, "bob", "alice", "a4", 0), STORE_OK);     /* a2 no longer counts */
    assert_int_equal(deposit(st, "bob", "erin", "e2", 0), STORE_OK);
    assert_int_equal(st->offline_del_upto(st, "bob", first), STORE_OK);
    memset(&o, 0, sizeof o);
    assert_int_equal(st->offline_list(st, "bob", note_offline, &o), 3);
    assert_string_equal(o.text, "d1;a4;e2;");
}

static void test_phonebook(void **state)
{
    struct fixture *f = *state;
    struct store *st = f->st;
    uint8_t *data = NULL;
    const uint8_t blob[] = {0, 1, 2, 0xff, 0, '\\', '\''};
    assert_int_equal(st->phonebook_get(st, "alice", &data), STORE_NOTFOUND);
    assert_int_equal(st->phonebook_put(st, "alice", blob, sizeof blob), STORE_OK);
    assert_int_equal(st->phonebook_get(st, "alice", &data), (long)sizeof blob);
    assert_memory_equal(data, blob, sizeof blob);
    free(data);
    assert_int_equal(st->phonebook_put(st, "alice", blob + 1, 2), STORE_OK); /* atomic replace */
    assert_int_equal(st->phonebook_get(st, "alice", &data), 2);
    assert_memory_equal(data, blob + 1, 2);
    free(data);
    assert_int_equal(st->phonebook_put(st, "alice", NULL, 0), STORE_OK);
    assert_int_equal(st->phonebook_get(st, "alice", &data), 0);
    free(data);
    assert_int_equal(st->phonebook_get(st, "bob", &data), STORE_NOTFOUND);
}

static void test_user_del_cascades(void **state)
{
    struct fixture *f = *state;
    struct store *st = f->st;
    struct seen s = {""};
    struct offl o = {0};
    uint8_t *data;
    st->user_add(st, "alice", "h", NULL, NULL);
    st->user_add(st, "bob", "h", NULL, NULL);
    st->buddy_add(st, "alice", "bob", "G", 0);
    st->buddy_add(st, "bob", "alice", "G", 0);
    st->ignore_add(st, "bob", "alice");
    st->authreq_put(st, "alice", "bob", "m");
    st->offline_add(st, "alice", "bob", "x", 1, 0, 10);
    st->offline_add(st, "bob", "alice", "kept", 1, 0, 10);
    st->phonebook_put(st, "alice", (const uint8_t *)"x", 1);
    assert_int_equal(st->user_del(st, "alice"), STORE_OK);
    assert_int_equal(st->user_del(st, "alice"), STORE_NOTFOUND);
    assert_int_equal(st->user_exists(st, "alice"), 0);
    st->buddy_list(st, "bob", note_buddy, &s);
    assert_string_equal(s.buf, "");
    assert_int_equal(st->buddy_count(st, "alice"), 0);
    assert_int_equal(st->ignore_check(st, "bob", "alice"), 0);
    assert_int_equal(st->authreq_list(st, "bob", note_req, &s), 0);
    assert_int_equal(st->offline_list(st, "alice", note_offline, &o), 0);
    assert_int_equal(st->offline_list(st, "bob", note_offline, &o), 1); /* what alice sent stays */
    assert_int_equal(st->phonebook_get(st, "alice", &data), STORE_NOTFOUND);
    assert_int_equal(st->user_exists(st, "bob"), 1);
}

static void test_reopen_keeps_data(void **state)
{
    struct fixture *f = *state;
    char err[256];
    int created = 1;
    struct store_user u;
    struct offl o = {0};
    f->st->user_add(f->st, "alice", "h", NULL, NULL);
    f->st->offline_add(f->st, "alice", "bob", "kept", 7, 1, 10);
    f->st->close(f->st);
    f->st = open_store(f, &created, err, sizeof err);
    assert_non_null(f->st);
    assert_int_equal(created, 0);
    assert_int_equal(f->st->user_get(f->st, "alice", &u), STORE_OK);
    assert_int_equal(f->st->offline_list(f->st, "alice", note_offline, &o), 1);
    assert_string_equal(o.text, "kept+;");
}

/* A database written by a newer ymsgd is refused with a clear message, changing nothing. */
static void test_newer_schema_refused(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    int created = 1;
    f->st->user_add(f->st, "alice", "h", NULL, NULL);
    f->st->close(f->st);
    f->st = NULL;
    if (g_pg) {
        assert_int_equal(pg_sql("UPDATE ymsgd_schema SET version = 999"), 0);
    } else {
        char path[128];
        sqlite3 *db;
        snprintf(path, sizeof path, "%s/ymsgd.db", f->dir);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
    }
    assert_null(open_store(f, &created, err, sizeof err));
    assert_non_null(strstr(err, "newer"));
}

/* A backend that cannot be reached: NULL with the reason, never a half-open store. */
static void test_unreachable(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    int created = 0;
    if (g_pg) {
        /* port 1 on loopback: nothing listens there; the password must not appear in the message */
        assert_null(store_open("postgresql://u:SECRETPW@127.0.0.1:1/x?connect_timeout=5", f->dir, &created, err,
                               sizeof err));
        assert_non_null(strstr(err, "PostgreSQL"));
        assert_null(strstr(err, "SECRETPW"));
    } else {
        assert_null(store_open("", "/proc/no-such-dir/ymsgd", &created, err, sizeof err));
        assert_true(err[0] != 0);
    }
    /* neither backend accepts an unknown scheme */
    err[0] = 0;
    assert_null(store_open("mysql://u:SECRETPW@h/x", f->dir, &created, err, sizeof err));
    assert_null(strstr(err, "SECRETPW"));
    assert_true(err[0] != 0);
}

/* Two connections at once, as two nodes (or a node and `ymsgd user`) have. */
struct worker {
    struct store *st;   /* this thread's connection */
    const char *from;   /* sender id */
    int ok, full;       /* deposit results */
    int added, exists;  /* buddy_add results */
};

static void *deposit_worker(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 40; i++) {
        char text[32];
        snprintf(text, sizeof text, "%s-%d", w->from, i);
        struct store_deposit d = {"bob", w->from, text, i, 0, 0, 50, 30};
        int rc = w->st->offline_deposit(w->st, &d);
        if (rc == STORE_OK) w->ok++;
        else if (rc == STORE_FULL) w->full++;
        char buddy[32];
        snprintf(buddy, sizeof buddy, "b%d", i);
        rc = w->st->buddy_add(w->st, "carol", buddy, "G", 0);
        if (rc == STORE_OK) w->added++;
        else if (rc == STORE_EXISTS) w->exists++;
    }
    return NULL;
}

static void test_two_connections(void **state)
{
    struct fixture *f = *state;
    char err[256];
    int created;
    struct store *st2 = open_store(f, &created, err, sizeof err);
    assert_non_null(st2);
    assert_int_equal(created, 0);
    /* what one writes, the other reads at once */
    assert_int_equal(f->st->user_add(f->st, "alice", "h", NULL, NULL), STORE_OK);
    assert_int_equal(st2->user_exists(st2, "alice"), 1);
    assert_int_equal(st2->user_add(st2, "alice", "h", NULL, NULL), STORE_EXISTS);
    /* concurrent deposits into one box: the caps hold exactly (box 50, 30 per sender, 2 x 40 tries);
     * concurrent adds of the same 40 entries: each lands once */
    struct worker w[2] = {{f->st, "alice", 0, 0, 0, 0}, {st2, "dave", 0, 0, 0, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&t[i], NULL, deposit_worker, &w[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    assert_int_equal(w[0].ok + w[0].full, 40);
    assert_int_equal(w[1].ok + w[1].full, 40);
    assert_int_equal(w[0].ok + w[1].ok, 50);
    assert_true(w[0].ok <= 30 && w[1].ok <= 30);
    assert_int_equal(w[0].added + w[1].added, 40);
    assert_int_equal(w[0].exists + w[1].exists, 40);
    struct offl o = {0};
    assert_int_equal(f->st->offline_list(f->st, "bob", note_offline, &o), 50);
    for (int i = 1; i < 50; i++) assert_true(o.ids[i - 1] < o.ids[i]);
    assert_int_equal(st2->buddy_count(st2, "carol"), 40);
    st2->close(st2);
}

/* ctl backup: SQLite writes a copy that opens as a store; PostgreSQL refuses and names pg_dump. */
static void test_backup(void **state)
{
    struct fixture *f = *state;
    char path[128], err[256] = "";
    assert_int_equal(f->st->user_add(f->st, "alice", "h", NULL, NULL), STORE_OK);
    snprintf(path, sizeof path, "%s/copy.db", f->dir);
    int rc = f->st->backup(f->st, path, err, sizeof err);
    if (g_pg) {
        assert_int_equal(rc, STORE_ERR);
        assert_non_null(strstr(err, "pg_dump"));
        assert_int_equal(access(path, F_OK), -1);
    } else {
        assert_int_equal(rc, STORE_OK);
        assert_int_equal(access(path, F_OK), 0);
    }
    assert_int_equal(f->st->user_exists(f->st, "alice"), 1);
}

/* PostgreSQL: the version table, and the schema the migrations made. */
static void test_pg_version_table(void **state)
{
    (void)state;
    char q[128];
    snprintf(q, sizeof q, "DO $$ BEGIN IF (SELECT version FROM ymsgd_schema) <> %d THEN RAISE 'bad version'; END IF; END $$",
             store_pg_schema_version());
    assert_int_equal(pg_sql(q), 0);
    assert_int_equal(pg_sql("DO $$ BEGIN IF (SELECT count(*) FROM ymsgd_schema) <> 1 THEN RAISE 'rows'; END IF; END $$"), 0);
}

/* PostgreSQL: a connection that broke (server restarted, backend killed) is reset on the next call. */
static void test_pg_reconnects(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(f->st->user_add(f->st, "alice", "h", NULL, NULL), STORE_OK);
    assert_int_equal(pg_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND pid <> pg_backend_pid()"),
                     0);
    /* the first call finds the connection dead (STORE_ERR, or already reset), later ones work */
    int rc = f->st->user_exists(f->st, "alice");
    assert_true(rc == 1 || rc == STORE_ERR);
    assert_int_equal(f->st->user_exists(f->st, "alice"), 1);
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "sqlite") && strcmp(argv[1], "postgresql"))) {
        fprintf(stderr, "usage: %s sqlite|postgresql\n", argv[0]);
        return 2;
    }
    g_pg = !strcmp(argv[1], "postgresql");
    if (g_pg) {
        g_url = getenv("YMSGD_TEST_PG");
        if (!g_url || !*g_url) {
            fprintf(stderr, "FAIL: YMSGD_TEST_PG is not set: run through tests/support/pgserver.py run -- %s "
                            "postgresql\n", argv[0]);
            return 1;
        }
    }
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest common[] = {
        T(test_users), T(test_buddies_groups_ignores), T(test_bytes_round_trip), T(test_offline),
        T(test_offline_quota), T(test_phonebook), T(test_user_del_cascades), T(test_reopen_keeps_data),
        T(test_newer_schema_refused), T(test_unreachable), T(test_two_connections), T(test_backup),
    };
    const struct CMUnitTest pg_only[] = {T(test_pg_version_table), T(test_pg_reconnects)};
    int rc = cmocka_run_group_tests_name(g_pg ? "store-postgresql" : "store-sqlite", common, NULL, NULL);
    if (g_pg) rc |= cmocka_run_group_tests_name("store-postgresql-only", pg_only, NULL, NULL);
    return rc;
}

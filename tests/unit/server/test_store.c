/* Unit tests for the SQLite store (server/store_sqlite.c) through the store interface. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"

struct fixture {
    char dir[64];       /* temp data dir */
    struct store *st;   /* opened store */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    int created = 0;
    char err[256];
    snprintf(f->dir, sizeof f->dir, "/tmp/ymsgd-unit-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    f->st = store_sqlite_open(f->dir, &created, err, sizeof err);
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

static void test_users(void **state)
{
    struct fixture *f = *state;
    struct store *st = f->st;
    struct store_user u;
    assert_int_equal(st->user_add(st, "alice", "$argon2id$x", NULL, NULL), STORE_OK);
    assert_int_equal(st->user_add(st, "alice", "$argon2id$y", NULL, NULL), STORE_EXISTS);
    assert_int_equal(st->user_add(st, "bob", "$argon2id$z", "P", "C"), STORE_OK);
    assert_int_equal(st->user_get(st, "alice", &u), STORE_OK);
    assert_string_equal(u.pwhash, "$argon2id$x");
    assert_string_equal(u.legacy_p, "");
    assert_int_equal(st->user_get(st, "bob", &u), STORE_OK);
    assert_string_equal(u.legacy_c, "C");
    assert_int_equal(st->user_get(st, "carol", &u), STORE_NOTFOUND);
    assert_int_equal(st->user_exists(st, "bob"), 1);
    assert_int_equal(st->user_exists(st, "carol"), 0);
    assert_int_equal(st->user_set_password(st, "alice", "$argon2id$new", "p2", "c2"), STORE_OK);
    assert_int_equal(st->user_get(st, "alice", &u), STORE_OK);
    assert_string_equal(u.pwhash, "$argon2id$new");
    assert_string_equal(u.legacy_p, "p2");
    assert_int_equal(st->user_set_password(st, "carol", "h", NULL, NULL), STORE_NOTFOUND);
    int n = 0;
    assert_int_equal(st->user_list(st, count_name, &n), 2);
    assert_int_equal(n, 2);
}

struct seen {
    char buf[512];  /* "buddy/group/pending/stealth;" per row */
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

static void test_buddies_groups_ignores(void **state)
{
    struct fixture *f = *state;
    struct store *st = f->st;
    struct seen s = {""};
    int pending = -1, stealth = -1;
    assert_int_equal(st->buddy_add(st, "alice", "bob", "Friends", 1), STORE_OK);
    assert_int_equal(st->buddy_add(st, "alice", "carol", "Work", 0), STORE_OK);
    assert_int_equal(st->buddy_add(st, "alice", "dave", "Friends", 0), STORE_OK);
    assert_int_equal(st->buddy_add(st, "alice", "bob", "Work", 0), STORE_EXISTS);
    assert_int_equal(st->buddy_count(st, "alice"), 3);
    st->buddy_list(st, "alice", note_buddy, &s);
    /* grouped in order of each group's first appearance */
    assert_string_equal(s.buf, "bob/Friends/1/0;dave/Friends/0/0;carol/Work/0/0;");
    assert_int_equal(st->buddy_get(st, "alice", "bob", &pending, &stealth), STORE_OK);
    assert_int_equal(pending, 1);
    assert_int_equal(st->buddy_get(st, "alice", "zed", NULL, NULL), STORE_NOTFOUND);
    /* watchers: only authorised entries */
    s.buf[0] = 0;
    st->watchers(st, "bob", note_name, &s);
    assert_string_equal(s.buf, "");
    assert_int_equal(st->buddy_set_pending(st, "alice", "bob", 0), STORE_OK);
    st->watchers(st, "bob", note_name, &s);
    assert_string_equal(s.buf, "alice;");
    assert_int_equal(st->buddy_set_stealth(st, "alice", "bob", 1), STORE_OK);
    assert_int_equal(st->buddy_get(st, "alice", "bob", NULL, &stealth), STORE_OK);
    assert_int_equal(stealth, 1);
    assert_int_equal(st->buddy_set_group(st, "alice", "carol", "Friends"), STORE_OK);
    assert_int_equal(st->buddy_set_group(st, "alice", "zed", "Friends"), STORE_NOTFOUND);
    assert_int_equal(st->group_rename(st, "alice", "Friends", "Pals"), STORE_OK);
    assert_int_equal(st->group_rename(st, "alice", "Nope", "X"), STORE_NOTFOUND);
    assert_int_equal(st->buddy_add(st, "alice", "erin", "Other", 0), STORE_OK);
    assert_int_equal(st->group_rename(st, "alice", "Other", "Pals"), STORE_EXISTS);
    s.buf[0] = 0;
    st->buddy_list(st, "alice", note_buddy, &s);
    assert_string_equal(s.buf, "bob/Pals/0/1;carol/Pals/0/0;dave/Pals/0/0;erin/Other/0/0;");
    assert_int_equal(st->buddy_del(st, "alice", "dave"), STORE_OK);
    assert_int_equal(st->buddy_del(st, "alice", "dave"), STORE_NOTFOUND);
    /* ignores */
    assert_int_equal(st->ignore_add(st, "alice", "spam"), STORE_OK);
    assert_int_equal(st->ignore_add(st, "alice", "spam"), STORE_EXISTS);
    assert_int_equal(st->ignore_check(st, "alice", "spam"), 1);
    assert_int_equal(st->ignore_check(st, "spam", "alice"), 0);
    assert_int_equal(st->ignore_del(st, "alice", "spam"), STORE_OK);
    assert_int_equal(st->ignore_del(st, "alice", "spam"), STORE_NOTFOUND);
    /* authorisation requests */
    assert_int_equal(st->authreq_put(st, "zoe", "alice", "hi"), STORE_OK);
    assert_int_equal(st->authreq_put(st, "zoe", "alice", "again"), STORE_OK); /* replaces */
    s.buf[0] = 0;
    assert_int_equal(st->authreq_put(st, "yann", "alice", ""), STORE_OK);
    assert_int_equal(st->authreq_list(st, "alice", note_req, &s), 2);
    assert_non_null(strstr(s.buf, "zoe:again;"));
    assert_non_null(strstr(s.buf, "yann:;"));
    assert_int_equal(st->authreq_del(st, "zoe", "alice"), STORE_OK);
    assert_int_equal(st->authreq_del(st, "zoe", "alice"), STORE_NOTFOUND);
}

struct offl {
    int64_t ids[8];   /* ids seen */
    char text[256];   /* concatenated texts */
    int n;            /* rows seen */
};

static void note_offline(void *arg, const struct store_offline *m)
{
    struct offl *o = arg;
    if (o->n < 8) o->ids[o->n] = m->id;
    o->n++;
    strncat(o->text, m->text, sizeof o->text - strlen(o->text) - 1);
    strncat(o->text, m->utf8 ? "+;" : ";", sizeof o->text - strlen(o->text) - 1);
}

static void test_offline(void **state)
{
    struct fixture *f = *state;
    struct store *st = f->st;
    struct offl o = {{0}, "", 0};
    assert_int_equal(st->offline_add(st, "bob", "alice", "one", 100, 1, 3), STORE_OK);
    assert_int_equal(st->offline_add(st, "bob", "alice", "two", 101, 0, 3), STORE_OK);
    assert_int_equal(st->offline_add(st, "bob", "carol", "three", 102, 1, 3), STORE_OK);
    assert_int_equal(st->offline_add(st, "bob", "carol", "four", 103, 1, 3), STORE_FULL);
    assert_int_equal(st->offline_add(st, "dave", "carol", "other", 103, 1, 3), STORE_OK);
    assert_int_equal(st->offline_list(st, "bob", note_offline, &o), 3);
    assert_string_equal(o.text, "one+;two;three+;");
    assert_true(o.ids[0] < o.ids[1] && o.ids[1] < o.ids[2]);
    assert_int_equal(st->offline_del_upto(st, "bob", o.ids[1]), STORE_OK);
    memset(&o, 0, sizeof o);
    assert_int_equal(st->offline_list(st, "bob", note_offline, &o), 1);
    assert_string_equal(o.text, "three+;");
    memset(&o, 0, sizeof o);
    assert_int_equal(st->offline_list(st, "dave", note_offline, &o), 1);
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
    struct offl o = {{0}, "", 0};
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
    const uint8_t blob[] = {0, 1, 2, 0xff, 0};
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
}

static void test_user_del_cascades(void **state)
{
    struct fixture *f = *state;
    struct store *st = f->st;
    struct seen s = {""};
    uint8_t *data;
    st->user_add(st, "alice", "h", NULL, NULL);
    st->user_add(st, "bob", "h", NULL, NULL);
    st->buddy_add(st, "alice", "bob", "G", 0);
    st->buddy_add(st, "bob", "alice", "G", 0);
    st->ignore_add(st, "bob", "alice");
    st->offline_add(st, "alice", "bob", "x", 1, 0, 10);
    st->phonebook_put(st, "alice", (const uint8_t *)"x", 1);
    assert_int_equal(st->user_del(st, "alice"), STORE_OK);
    assert_int_equal(st->user_del(st, "alice"), STORE_NOTFOUND);
    st->buddy_list(st, "bob", note_buddy, &s);
    assert_string_equal(s.buf, "");
    assert_int_equal(st->ignore_check(st, "bob", "alice"), 0);
    assert_int_equal(st->phonebook_get(st, "alice", &data), STORE_NOTFOUND);
}

static void test_reopen_keeps_schema(void **state)
{
    struct fixture *f = *state;
    char err[256];
    int created = 1;
    struct store_user u;
    f->st->user_add(f->st, "alice", "h", NULL, NULL);
    f->st->close(f->st);
    f->st = store_sqlite_open(f->dir, &created, err, sizeof err);
    assert_non_null(f->st);
    assert_int_equal(created, 0);
    assert_int_equal(f->st->user_get(f->st, "alice", &u), STORE_OK);
    /* schema version recorded */
    char path[128];
    sqlite3 *db;
    sqlite3_stmt *q;
    snprintf(path, sizeof path, "%s/ymsgd.db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), store_sqlite_schema_version());
    sqlite3_finalize(q);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    /* a database from a newer ymsgd is refused */
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    f->st->close(f->st);
    f->st = store_sqlite_open(f->dir, &created, err, sizeof err);
    assert_null(f->st);
    assert_non_null(strstr(err, "newer"));
}

/* Reads the WAL-index (-shm) header without touching the database: mxFrame (frames in the WAL, at
 * byte 16 of the first header copy) and nBackfill (frames already copied back, byte 96), both in
 * native byte order.  Opening a connection to look would run a checkpoint of its own. */
static int wal_frames(const char *dir, uint32_t *mx, uint32_t *backfill)
{
    char path[128];
    unsigned char hdr[100];
    snprintf(path, sizeof path, "%s/ymsgd.db-shm", dir);
    FILE *fp = fopen(path, "rb");
    if (!fp) return -1;
    size_t n = fread(hdr, 1, sizeof hdr, fp);
    fclose(fp);
    if (n != sizeof hdr) return -1;
    memcpy(mx, hdr + 16, 4);
    memcpy(backfill, hdr + 96, 4);
    return 0;
}

/* Inline autocheckpoints are off on the main connection, so only the checkpoint thread can copy
 * the WAL back; without it nBackfill would stay 0 and the WAL would grow without bound. */
static void test_wal_checkpoint_thread(void **state)
{
    struct fixture *f = *state;
    static uint8_t blob[48 * 1024];
    char user[32];
    uint32_t mx = 0, backfill = 0;
    for (size_t i = 0; i < sizeof blob; i++) blob[i] = (uint8_t)(i * 31 + 7);
    /* ~1200 pages of 4 KiB: past the 1000-page threshold */
    for (int i = 0; i < 100; i++) {
        snprintf(user, sizeof user, "user%d", i);
        blob[0] = (uint8_t)i;
        assert_int_equal(f->st->phonebook_put(f->st, user, blob, sizeof blob), STORE_OK);
    }
    int ok = 0;
    for (int tries = 0; tries < 1000 && !ok; tries++) { /* up to ~10 s */
        assert_int_equal(wal_frames(f->dir, &mx, &backfill), 0);
        ok = mx >= 1000 && backfill >= 1000;
        if (!ok) nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    if (!ok) print_error("wal mxFrame %u nBackfill %u\n", (unsigned)mx, (unsigned)backfill);
    assert_true(ok);
    uint8_t *data = NULL;
    assert_int_equal(f->st->phonebook_get(f->st, "user99", &data), (long)sizeof blob);
    assert_int_equal(data[0], 99);
    free(data);
    /* close checkpoints with TRUNCATE and joins the thread; the data is in the main file */
    f->st->close(f->st);
    f->st = NULL;
    char path[128];
    struct sqlite3 *db;
    sqlite3_stmt *q;
    snprintf(path, sizeof path, "%s/ymsgd.db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM phonebook", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 100);
    sqlite3_finalize(q);
    sqlite3_close(db);
}

/* ctl backup: a copy of the live store (WAL not yet checkpointed included) that opens as a store, is
 * 0600, and replaces an older backup; a bad target fails with a message and leaves no file behind. */
static void test_backup(void **state)
{
    struct fixture *f = *state;
    struct store *st = f->st;
    char path[256], bdir[128], err[512] = "";
    struct stat sb;
    assert_int_equal(st->user_add(st, "alice", "$argon2id$x", NULL, NULL), STORE_OK);
    assert_int_equal(st->buddy_add(st, "alice", "bob", "Friends", 0), STORE_OK);
    snprintf(bdir, sizeof bdir, "%s/restore", f->dir);
    assert_int_equal(mkdir(bdir, 0700), 0);
    snprintf(path, sizeof path, "%s/ymsgd.db", bdir);
    assert_int_equal(st->backup(st, path, err, sizeof err), STORE_OK);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    /* a second backup replaces the first and sees the writes made since */
    assert_int_equal(st->user_add(st, "carol", "$argon2id$y", NULL, NULL), STORE_OK);
    assert_int_equal(st->backup(st, path, err, sizeof err), STORE_OK);
    int created = 1, n = 0;
    struct store *copy = store_sqlite_open(bdir, &created, err, sizeof err);
    assert_non_null(copy);
    assert_int_equal(created, 0);
    assert_true(copy->user_list(copy, count_name, &n) >= 0);
    assert_int_equal(n, 2);
    assert_int_equal(copy->buddy_get(copy, "alice", "bob", NULL, NULL), STORE_OK);
    copy->close(copy);
    /* failures: a missing directory, and the live database itself */
    snprintf(path, sizeof path, "%s/no/such/dir/x.db", f->dir);
    err[0] = 0;
    assert_int_equal(st->backup(st, path, err, sizeof err), STORE_ERR);
    assert_non_null(strstr(err, "No such file or directory"));
    snprintf(path, sizeof path, "%s/ymsgd.db", f->dir);
    err[0] = 0;
    assert_int_equal(st->backup(st, path, err, sizeof err), STORE_ERR);
    assert_non_null(strstr(err, "is the live database"));
    n = 0;
    assert_true(st->user_list(st, count_name, &n) >= 0);
    assert_int_equal(n, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_users, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buddies_groups_ignores, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offline_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(test_phonebook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_del_cascades, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_checkpoint_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

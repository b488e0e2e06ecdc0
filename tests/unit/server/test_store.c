/* SQLite-only checks of server/store/store_sqlite.c (PRAGMA user_version, WAL mode, the checkpoint
 * thread).  What every backend must do is tests/store/test_store_conformance.c. */
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
        cmocka_unit_test_setup_teardown(test_reopen_keeps_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_checkpoint_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The persistence interface of ymsgd.  Everything the server keeps across restarts goes through this
 * table of function pointers, so a different backend (PostgreSQL) can be added without touching the
 * protocol code.  store_sqlite.c is the embedded default.
 *
 * Conventions: user names are lower-case, NUL-terminated, at most STORE_NAME_MAX bytes.  Functions
 * return 0 on success (or a count), STORE_NOTFOUND / STORE_EXISTS / STORE_FULL where stated, and
 * STORE_ERR on a backend failure (already logged).  List functions call a callback once per row; the
 * strings passed to it are valid only during the call. */
#ifndef YMSGD_STORE_H
#define YMSGD_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_NAME_MAX 64
#define STORE_GROUP_MAX 128

#define STORE_OK 0
#define STORE_ERR (-1)
#define STORE_NOTFOUND (-2)
#define STORE_EXISTS (-3)
#define STORE_FULL (-4)

struct store_user {
    char name[STORE_NAME_MAX + 1]; /* lower-case id */
    char pwhash[256];              /* argon2id string from crypto_pwhash_str */
    char legacy_p[32];             /* method-0 hash P ("" when legacy_auth was off) */
    char legacy_c[32];             /* method-0 hash C ("" when legacy_auth was off) */
};

struct store_buddy {
    const char *buddy;  /* buddy id */
    const char *group;  /* group name */
    int pending;        /* 1 while the buddy has not authorised the owner */
    int stealth;        /* 1 when the owner appears permanently offline to this buddy (0xB9) */
};

struct store_offline {
    int64_t id;         /* increasing per store: delivery order and deletion mark */
    const char *from;   /* sender id */
    const char *text;   /* message text (key 14) */
    int64_t time;       /* unix time it was sent */
    int utf8;           /* key 97 was 1 */
};

/* One message put in a recipient's box (offline_deposit). */
struct store_deposit {
    const char *to;     /* recipient id */
    const char *from;   /* sender id */
    const char *text;   /* message text (key 14) */
    int64_t time;       /* unix time it was sent */
    int utf8;           /* key 97 was 1 */
    int delivered;      /* 1: handed over live (or refused by the recipient's ignore list); no text kept */
    long max;           /* rows the box may hold */
    long per_sender;    /* rows of the box one sender may hold */
};

typedef void (*store_name_cb)(void *arg, const char *name);
typedef void (*store_buddy_cb)(void *arg, const struct store_buddy *b);
typedef void (*store_offline_cb)(void *arg, const struct store_offline *m);
typedef void (*store_authreq_cb)(void *arg, const char *requester, const char *msg);

struct store {
    void *impl;  /* backend state */

    void (*close)(struct store *st);

    /* Accounts.  legacy_p/legacy_c may be NULL or "" (legacy auth not provisioned). */
    int (*user_add)(struct store *st, const char *name, const char *pwhash, const char *legacy_p,
                    const char *legacy_c);
    int (*user_del)(struct store *st, const char *name);           /* also drops all their rows */
    int (*user_get)(struct store *st, const char *name, struct store_user *out);
    int (*user_set_password)(struct store *st, const char *name, const char *pwhash, const char *legacy_p,
                             const char *legacy_c);
    /* Replaces name's hash old_hash by new_hash (same password, new cost), only if the stored hash is still
     * old_hash: a password changed meanwhile stays.  0, or STORE_NOTFOUND (no such account, or another hash). */
    int (*user_rehash)(struct store *st, const char *name, const char *old_hash, const char *new_hash);
    int (*user_list)(struct store *st, store_name_cb cb, void *arg);
    int (*user_exists)(struct store *st, const char *name);        /* 1, 0 or STORE_ERR */

    /* Buddy list of owner (ordered by group, then insertion). */
    int (*buddy_list)(struct store *st, const char *owner, store_buddy_cb cb, void *arg);
    /* owner's entry for buddy: 0 with the pending and stealth flags set (pointers may be NULL), or STORE_NOTFOUND. */
    int (*buddy_get)(struct store *st, const char *owner, const char *buddy, int *pending, int *stealth);
    int (*buddy_count)(struct store *st, const char *owner);
    int (*buddy_add)(struct store *st, const char *owner, const char *buddy, const char *group, int pending);
    int (*buddy_del)(struct store *st, const char *owner, const char *buddy);
    int (*buddy_set_pending)(struct store *st, const char *owner, const char *buddy, int pending);
    int (*buddy_set_group)(struct store *st, const char *owner, const char *buddy, const char *group);
    int (*buddy_set_stealth)(struct store *st, const char *owner, const char *buddy, int stealth);
    /* Renames every entry of group old; STORE_NOTFOUND if none, STORE_EXISTS if new is in use. */
    int (*group_rename)(struct store *st, const char *owner, const char *old_group, const char *new_group);
    /* Owners that have buddy on their list and are authorised (pending = 0). */
    int (*watchers)(struct store *st, const char *buddy, store_name_cb cb, void *arg);

    /* Pending authorisation requests (requester asked to add target). */
    int (*authreq_put)(struct store *st, const char *requester, const char *target, const char *msg);
    int (*authreq_del)(struct store *st, const char *requester, const char *target);
    int (*authreq_list)(struct store *st, const char *target, store_authreq_cb cb, void *arg);

    /* Ignore list of owner. */
    int (*ignore_add)(struct store *st, const char *owner, const char *who);
    int (*ignore_del)(struct store *st, const char *owner, const char *who);
    int (*ignore_check)(struct store *st, const char *owner, const char *who); /* 1, 0, STORE_ERR */
    int (*ignore_list)(struct store *st, const char *owner, store_name_cb cb, void *arg);

    /* Offline messages.  A row is waiting (sent at the recipient's next login, then deleted once written
     * to the socket) or already delivered live while the sender could not know the recipient was online
     * (im.h): such a row keeps no text but counts towards the recipient's box and the sender's quota
     * until the recipient's next login, so the sender sees the same box either way.
     * offline_deposit refuses with STORE_FULL when the box holds max rows or per_sender from d->from;
     * offline_add is a deposit of a waiting row with per_sender = max. */
    int (*offline_deposit)(struct store *st, const struct store_deposit *d);
    /* Waiting rows with id > after, in order, at most limit. Returns the count. */
    int (*offline_page)(struct store *st, const char *to, int64_t after, int limit, store_offline_cb cb, void *arg);
    /* Deletes the rows delivered live (called at login: the box starts over). */
    int (*offline_clear_delivered)(struct store *st, const char *to);
    int (*offline_add)(struct store *st, const char *to, const char *from, const char *text, int64_t time,
                       int utf8, long max);
    int (*offline_list)(struct store *st, const char *to, store_offline_cb cb, void *arg);
    /* Deletes the recipient's waiting messages with id <= upto (those already written to the socket). */
    int (*offline_del_upto)(struct store *st, const char *to, int64_t upto);

    /* Opaque per-user blob for the AMF gateway's phonebook; atomic replace.  phonebook_get returns the
     * size (and a malloc'ed copy in *data, free() it) or STORE_NOTFOUND. */
    long (*phonebook_get)(struct store *st, const char *user, uint8_t **data);
    int (*phonebook_put)(struct store *st, const char *user, const uint8_t *data, size_t len);

    /* Administration.  A consistent copy of the whole store, taken while the server runs, written to
     * path (a new file: it is created next to path and renamed into place when complete, so a reader
     * never sees half a backup).  STORE_OK, or STORE_ERR with a message in err (for a backend that
     * cannot do this itself, a pointer to its own tool: PostgreSQL answers "use pg_dump"). */
    int (*backup)(struct store *st, const char *path, char *err, size_t errlen);
};

/* Opens (creating and migrating as needed) <dir>/ymsgd.db.  *created is set to 1 when the database
 * did not exist before.  Returns NULL on failure with a message in err. */
struct store *store_sqlite_open(const char *dir, int *created, char *err, size_t errlen);
/* Schema version this build migrates to (PRAGMA user_version). */
int store_sqlite_schema_version(void);

/* Opens a PostgreSQL store (libpq conninfo or postgresql:// URL), creating or migrating the schema
 * (table ymsgd_schema holds the version).  *created is set to 1 when the schema did not exist.  Every
 * call is one synchronous round trip on the caller's thread (store_pg.c).  NULL on failure (server
 * unreachable, schema newer than this build...) with a message in err that never repeats the URL. */
struct store *store_pg_open(const char *conninfo, int *created, char *err, size_t errlen);
/* Schema version this build migrates to (ymsgd_schema.version). */
int store_pg_schema_version(void);
/* 1 when spec names a PostgreSQL store (postgresql:// or postgres://). */
int store_is_postgres(const char *spec);
/* The store named by spec: a PostgreSQL URL, or NULL/"" for the SQLite file under dir. */
struct store *store_open(const char *spec, const char *dir, int *created, char *err, size_t errlen);

#endif

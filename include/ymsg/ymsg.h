/* libymsg — the Yahoo! Messenger protocol (YMSG): wire codec, tables, auth primitives, client session.
 *
 * Everything here is sans-IO: functions take bytes and return bytes, views or events.  Nothing opens a
 * socket, reads a clock or allocates behind the caller's back.  Errors are 0 (or a positive count) on
 * success and a negative YMSG_E* code on failure; ymsg_strerror() names them.
 *
 * Facts come from shared/reference/YMSG.md (section numbers cited as §N).
 */
#ifndef YMSG_YMSG_H
#define YMSG_YMSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ================================================================================================
 * Errors
 * ============================================================================================== */
#define YMSG_ERRORS(X)                                                                   \
    X(YMSG_EAGAIN,   -1, "need more bytes")                                             \
    X(YMSG_EMAGIC,   -2, "bad magic (not \"YMSG\")")                                   \
    X(YMSG_ETOOBIG,  -3, "body longer than the configured cap")                         \
    X(YMSG_EKEY,     -4, "key is not a decimal number")                                 \
    X(YMSG_EODD,     -5, "odd number of fields (key without value)")                    \
    X(YMSG_ETRAIL,   -6, "missing trailing separator")                                  \
    X(YMSG_ENOSPC,   -7, "output buffer too small")                                     \
    X(YMSG_EVALUE,   -8, "value contains the C0 80 separator")                          \
    X(YMSG_EINVAL,   -9, "invalid argument")                                            \
    X(YMSG_ENOENT,  -10, "no such key")                                                 \
    X(YMSG_ENOMEM,  -11, "out of memory")                                               \
    X(YMSG_EAUTH,   -12, "authentication failed")                                       \
    X(YMSG_ESTATE,  -13, "not allowed in the current state")                            \
    X(YMSG_EPROTO,  -14, "protocol violation by the peer")                              \
    X(YMSG_ECRYPTO, -15, "crypto library failure")

enum ymsg_error {
#define YMSG_ERR_ENUM_(name, val, text) name = val,
    YMSG_OK = 0,
    YMSG_ERRORS(YMSG_ERR_ENUM_)
#undef YMSG_ERR_ENUM_
};

/* Text for an error code; never NULL ("unknown error" for codes not listed above). */
const char *ymsg_strerror(int err);

/* ================================================================================================
 * Tables (§2–4).  One X-macro list per table is the single source of numbers and names: the enums
 * below and the name look-ups in lib/ymsg/tables.c are both generated from it.
 * X(ENUM_SUFFIX, number, "display name")
 * ============================================================================================== */
#define YMSG_SERVICES(X)                                               \
    X(LOGON, 0x01, "Logon")                                            \
    X(LOGOFF, 0x02, "Logoff")                                          \
    X(ISAWAY, 0x03, "Is away")                                         \
    X(ISBACK, 0x04, "Is back")                                         \
    X(IDLE, 0x05, "Idle")                                              \
    X(MESSAGE, 0x06, "Message")                                        \
    X(IDACT, 0x07, "Identity activate")                                \
    X(IDDEACT, 0x08, "Identity deactivate")                            \
    X(MAILSTAT, 0x09, "Mail status")                                   \
    X(USERSTAT, 0x0A, "User status")                                   \
    X(NEWMAIL, 0x0B, "New mail")                                       \
    X(CHATINVITE, 0x0C, "Chat invite")                                 \
    X(CALENDAR, 0x0D, "Calendar")                                      \
    X(NEWPERSONALMAIL, 0x0E, "New personal mail")                      \
    X(NEWCONTACT, 0x0F, "New contact")                                 \
    X(ADDIDENT, 0x10, "Add identity")                                  \
    X(ADDIGNORE, 0x11, "Add ignore")                                   \
    X(PING, 0x12, "Ping")                                              \
    X(GOTGROUPRENAME, 0x13, "Group renamed")                           \
    X(SYSMESSAGE, 0x14, "System message")                              \
    X(SKINNAME, 0x15, "Skin name")                                     \
    X(PASSTHROUGH2, 0x16, "Passthrough 2")                             \
    X(MASSMESSAGE, 0x17, "Mass message")                               \
    X(CONFINVITE, 0x18, "Conference invite")                           \
    X(CONFLOGON, 0x19, "Conference logon")                             \
    X(CONFDECLINE, 0x1A, "Conference decline")                         \
    X(CONFLOGOFF, 0x1B, "Conference logoff")                           \
    X(CONFADDINVITE, 0x1C, "Conference add invite")                    \
    X(CONFMSG, 0x1D, "Conference message")                             \
    X(CHATLOGON, 0x1E, "Chat logon")                                   \
    X(CHATLOGOFF, 0x1F, "Chat logoff")                                 \
    X(CHATMSG, 0x20, "Chat message")                                   \
    X(GAMELOGON, 0x28, "Game logon")                                   \
    X(GAMELOGOFF, 0x29, "Game logoff")                                 \
    X(GAMEMSG, 0x2A, "Game message")                                   \
    X(FILETRANSFER, 0x46, "File transfer")                             \
    X(VOICECHAT, 0x4A, "Voice chat")                                   \
    X(NOTIFY, 0x4B, "Notify")                                          \
    X(VERIFY, 0x4C, "Verify")                                          \
    X(P2PFILEXFER, 0x4D, "P2P file transfer")                          \
    X(PEERTOPEER, 0x4F, "Peer to peer")                                \
    X(WEBCAM, 0x50, "Webcam")                                          \
    X(AUTHRESP, 0x54, "Authentication response")                       \
    X(LIST, 0x55, "List")                                              \
    X(AUTH, 0x57, "Authentication")                                    \
    X(AUTHBUDDY, 0x6D, "Authorize buddy")                              \
    X(ADDBUDDY, 0x83, "Add buddy")                                     \
    X(REMBUDDY, 0x84, "Remove buddy")                                  \
    X(IGNORECONTACT, 0x85, "Ignore contact")                           \
    X(REJECTCONTACT, 0x86, "Reject contact")                           \
    X(GROUPRENAME, 0x89, "Group rename")                               \
    X(KEEPALIVE, 0x8A, "Keep alive")                                   \
    X(CHATONLINE, 0x96, "Chat online")                                 \
    X(CHATGOTO, 0x97, "Chat goto")                                     \
    X(CHATJOIN, 0x98, "Chat join")                                     \
    X(CHATLEAVE, 0x99, "Chat leave")                                   \
    X(CHATEXIT, 0x9B, "Chat exit")                                     \
    X(CHATADDINVITE, 0x9D, "Chat add invite")                          \
    X(CHATLOGOUT, 0xA0, "Chat logout")                                 \
    X(CHATPING, 0xA1, "Chat ping")                                     \
    X(COMMENT, 0xA8, "Chat comment")                                   \
    X(GAME_INVITE, 0xB7, "Game invite")                                \
    X(STEALTH_PERM, 0xB9, "Stealth permanent")                         \
    X(STEALTH_SESSION, 0xBA, "Stealth session")                        \
    X(AVATAR, 0xBC, "Avatar")                                          \
    X(PICTURE_CHECKSUM, 0xBD, "Picture checksum")                      \
    X(PICTURE, 0xBE, "Picture")                                        \
    X(PICTURE_UPDATE, 0xC1, "Picture update")                          \
    X(PICTURE_UPLOAD, 0xC2, "Picture upload")                          \
    X(YAB_UPDATE, 0xC4, "Address book update")                         \
    X(Y6_VISIBLE_TOGGLE, 0xC5, "Y6 visibility toggle")                 \
    X(Y6_STATUS_UPDATE, 0xC6, "Y6 status update")                      \
    X(PICTURE_STATUS, 0xC7, "Picture status")                          \
    X(VERIFY_ID_EXISTS, 0xC8, "Verify id exists")                      \
    X(AUDIBLE, 0xD0, "Audible")                                        \
    X(Y7_PHOTO_SHARING, 0xD2, "Y7 photo sharing")                      \
    X(Y7_CONTACT_DETAILS, 0xD3, "Y7 contact details")                  \
    X(Y7_CHAT_SESSION, 0xD4, "Y7 chat session")                        \
    X(AUTH_REQ_15, 0xD6, "Authorization request")                      \
    X(FILETRANS_15, 0xDC, "File transfer v15")                         \
    X(FILETRANS_INFO_15, 0xDD, "File transfer info v15")               \
    X(FILETRANS_ACC_15, 0xDE, "File transfer accept v15")              \
    X(Y7_MINGLE, 0xE1, "Y7 mingle")                                    \
    X(UNKNOWN_E4, 0xE4, "Unknown 0xE4")                                \
    X(CHGRP_15, 0xE7, "Change group")                                  \
    X(MYSTERY_EF, 0xEF, "Mystery 0xEF")                                \
    X(STATUS_15, 0xF0, "Status v15")                                   \
    X(LIST_15, 0xF1, "List v15")                                       \
    X(MESSAGE_ACK, 0xFB, "Message ack")                                \
    X(WEBLOGIN, 0x226, "Web login")                                    \
    X(SMS_MSG, 0x2EA, "SMS message")                                   \
    X(DISCONNECT, 0x7D1, "Protocol error / disconnect")

#define YMSG_KEYS(X)                                                   \
    X(LOGIN_ID, 0, "login id")                                         \
    X(ACTIVE_ID, 1, "active id")                                       \
    X(AUTH_ID, 2, "id / flag")                                         \
    X(MY_ID, 3, "my id")                                               \
    X(FROM, 4, "from")                                                 \
    X(TO, 5, "to")                                                     \
    X(AUTH_RESP6, 6, "auth response 6")                                \
    X(BUDDY, 7, "buddy")                                               \
    X(NUM_ONLINE, 8, "online count")                                   \
    X(MAIL_COUNT, 9, "mail count")                                     \
    X(STATUS, 10, "status")                                            \
    X(SESSION_ID, 11, "session id")                                    \
    X(P2P_IP, 12, "p2p address")                                       \
    X(FLAG, 13, "flag")                                                \
    X(MSG, 14, "message")                                              \
    X(TIME, 15, "time")                                                \
    X(ERR_MSG, 16, "error message")                                    \
    X(IN_CHAT, 17, "in chat")                                          \
    X(MAIL_SUBJECT, 18, "mail subject")                                \
    X(CUSTOM_MSG, 19, "custom message")                                \
    X(URL, 20, "url")                                                  \
    X(FILE_NAME, 27, "file name")                                      \
    X(FILE_SIZE, 28, "file size")                                      \
    X(STEALTH_VAL, 31, "stealth / msg marker")                         \
    X(MSG_MARKER, 32, "msg marker")                                    \
    X(EXPIRES, 38, "expires")                                          \
    X(MAIL_FROM_EMAIL, 42, "mail from email")                          \
    X(MAIL_FROM_NAME, 43, "mail from name")                            \
    X(AWAY, 47, "away flag")                                           \
    X(NOTIFY_TYPE, 49, "notify type")                                  \
    X(FILE_TOKEN, 53, "file token")                                    \
    X(FILE_TOKEN2, 54, "file token 2")                                 \
    X(COOKIE, 59, "cookie")                                            \
    X(MOBILE, 60, "mobile")                                            \
    X(P2P_EXTRA, 61, "p2p extra")                                      \
    X(IMV, 63, "imvironment")                                          \
    X(IMV_FLAG, 64, "imvironment flag")                                \
    X(GROUP, 65, "group")                                              \
    X(ERROR_CODE, 66, "result code")                                   \
    X(NEW_GROUP, 67, "new group")                                      \
    X(SMS_CARRIER, 68, "sms carrier")                                  \
    X(ALIAS, 69, "alias")                                              \
    X(BUDDY_LIST, 87, "buddy list")                                    \
    X(IGNORE_LIST, 88, "ignore list")                                  \
    X(IDENTITIES, 89, "identities")                                    \
    X(LIST_90, 90, "list flag 90")                                     \
    X(COOKIE_LIFETIME, 93, "cookie lifetime")                          \
    X(CHALLENGE, 94, "challenge")                                      \
    X(AUTH_RESP96, 96, "auth response 96")                             \
    X(UTF8, 97, "utf-8")                                               \
    X(LOCALE, 98, "locale")                                            \
    X(CHAT_ID, 109, "chat id")                                         \
    X(ROOM_ID, 129, "room id")                                         \
    X(CLIENT_VERSION, 135, "client version")                           \
    X(IDLE_TIME, 137, "idle seconds")                                  \
    X(NOT_IDLE, 138, "not idle")                                       \
    X(PING_INTERVAL, 143, "ping interval")                             \
    X(PING_FLAG, 144, "ping flag")                                     \
    X(STEALTH_LIST, 185, "stealth list")                               \
    X(STATUS_187, 187, "status 187")                                   \
    X(ICON_CHECKSUM, 192, "icon checksum")                             \
    X(AVATAR_B64, 197, "avatar")                                       \
    X(STATUS_198, 198, "status 198")                                   \
    X(IMAGE_TYPE, 206, "picture flag")                                 \
    X(AVATAR_TYPE, 213, "avatar type")                                 \
    X(FIRST_NAME, 216, "first name")                                   \
    X(PENDING, 223, "pending")                                         \
    X(OLD_GROUP, 224, "old group")                                     \
    X(FEDERATION, 241, "federation")                                   \
    X(CLIENT_ID, 244, "client version id")                             \
    X(LAST_NAME, 254, "last name")                                     \
    X(NEW_GROUP_CHG, 264, "new group (move)")                          \
    X(Y_COOKIE, 277, "Y cookie")                                       \
    X(T_COOKIE, 278, "T cookie")                                       \
    X(ENTRY_BEGIN, 300, "begin entry")                                 \
    X(ENTRY_END, 301, "end entry")                                     \
    X(LIST_BEGIN, 302, "begin list")                                   \
    X(LIST_END, 303, "end list")                                       \
    X(AUTH16_RESP, 307, "v16 auth response")                           \
    X(STEALTH_SETTING, 317, "stealth setting")                         \
    X(ACK_334, 334, "flag 334")                                        \
    X(MSG_ID, 429, "message id")                                       \
    X(ACK_MSG_ID, 430, "acked message id")                             \
    X(MSG_450, 450, "flag 450")                                        \
    X(Y6_MARKER, 1002, "y6 marker")

#define YMSG_STATUSES(X)                                               \
    X(AVAILABLE, 0, "Available")                                       \
    X(BRB, 1, "Be right back")                                         \
    X(BUSY, 2, "Busy")                                                 \
    X(NOTATHOME, 3, "Not at home")                                     \
    X(NOTATDESK, 4, "Not at my desk")                                  \
    X(NOTINOFFICE, 5, "Not in the office")                             \
    X(ONPHONE, 6, "On the phone")                                      \
    X(ONVACATION, 7, "On vacation")                                    \
    X(OUTTOLUNCH, 8, "Out to lunch")                                   \
    X(STEPPEDOUT, 9, "Stepped out")                                    \
    X(P2P, 11, "Peer to peer")                                         \
    X(INVISIBLE, 12, "Invisible")                                      \
    X(NOTIFY, 0x16, "Notify")                                          \
    X(CUSTOM, 99, "Custom")                                            \
    X(IDLE, 999, "Idle")                                               \
    X(WEBLOGIN, 0x5A55AA55, "Web login")                               \
    X(OFFLINE, 0x5A55AA56, "Offline")                                  \
    X(DISCONNECTED, 0xFFFFFFFF, "Disconnected / error")

/* Header status values used as packet statuses (§1.3), beside the presence codes above. */
#define YMSG_PKT_DEFAULT   0u          /* request / final packet of a multi-packet reply */
#define YMSG_PKT_SERVERACK 1u          /* most server notifications */
#define YMSG_PKT_NOTSENT   2u          /* on 0x06 from the server: your message was not sent */
#define YMSG_PKT_AUTHREQ   3u          /* 0xD6: somebody asks to add you */
#define YMSG_PKT_CONTINUED 5u          /* more packets of this reply follow; also offline-message batch */
#define YMSG_PKT_ERROR     0xFFFFFFFFu /* login failure, kick */

/* Names of those packet statuses (§1.3, as tshark names them): X(name, value, text) holds on every
 * service, YMSG_PKT_SERVICE_STATUSES' X(service, name, value, text) only on that service. */
#define YMSG_PKT_STATUSES(X)                                           \
    X(DEFAULT, 0x00000000, "Default")                                  \
    X(SERVERACK, 0x00000001, "Server Ack")                             \
    X(CONTINUED, 0x00000005, "Continued")                              \
    X(NOTIFY, 0x00000016, "Notify")                                    \
    X(WEBLOGIN, 0x5A55AA55, "Web Login")                               \
    X(OFFLINE, 0x5A55AA56, "Offline")                                  \
    X(ERROR, 0xFFFFFFFF, "Error / disconnected")
#define YMSG_PKT_SERVICE_STATUSES(X)                                   \
    X(0x06, NOTSENT, 0x00000002, "Not sent")                           \
    X(0xD6, AUTHREQ, 0x00000003, "Authorization request")

/* Login result codes: pwtoken_get first line (§4.2) and 0x54 key 66. */
#define YMSG_LOGIN_CODES(X)                                                         \
    X(OK, 0, "ok")                                                                  \
    X(MISSING, 100, "user or password missing")                                     \
    X(BAD_ID_FORMAT, 1013, "username format not acceptable")                        \
    X(BAD_PASSWORD, 1212, "wrong password")                                         \
    X(LOCKED, 1213, "account locked: too many failed attempts")                     \
    X(LOCKED_OTHER, 1214, "account locked")                                         \
    X(LOCKED_1216, 1216, "account locked (shown as wrong password)")                \
    X(DEACTIVATED, 1218, "account deactivated")                                     \
    X(NO_SUCH_USER, 1235, "no such user")                                           \
    X(LOCKED_FREQUENT, 1236, "account locked: logging in too frequently")

/* 0x54 key 66 (login failure) and 0x02 key 66 (kick) codes. */
#define YMSG_AUTH_CODES(X)                                                          \
    X(UNKNOWN, 0, "unknown error")                                                  \
    X(NO_SUCH_USER, 3, "user does not exist")                                       \
    X(BAD_PASSWORD, 13, "bad password")                                             \
    X(LOCKED, 14, "account locked")                                                 \
    X(VERIFY, 29, "verification needed")                                            \
    X(TRANSIENT, 52, "transient error, reconnect")                                  \
    X(DUPLICATE_LOGIN, 42, "signed in from another location")                       \
    X(BAD_ID_FORMAT, 1013, "username format not acceptable")

/* Ack codes in key 66 of buddy-list acks (0x83/0x84/0x85/0x89/0xE7), §4.2. */
#define YMSG_RESULT_CODES(X)                                                        \
    X(OK, 0, "ok")                                                                  \
    X(FAILURE, 1, "general failure")                                                \
    X(DUPLICATE, 2, "already on the list")                                          \
    X(NOT_FOUND, 3, "not on the list / no such contact")                            \
    X(LIST_FULL, 6, "contact list full")                                            \
    X(TOO_MANY_GROUPS, 7, "too many groups")                                        \
    X(GROUP_EXISTS, 8, "group already exists")                                      \
    X(IS_BUDDY, 12, "is a buddy (remove it first)")

#define YMSG_ENUM_(prefix, name, val, text) prefix##name = val,
#define YMSG_SVC_ENUM_(name, val, text)    YMSG_ENUM_(YMSG_SVC_, name, val, text)
#define YMSG_KEY_ENUM_(name, val, text)    YMSG_ENUM_(YMSG_KEY_, name, val, text)
#define YMSG_ST_ENUM_(name, val, text)     YMSG_ENUM_(YMSG_STATUS_, name, val, text)
#define YMSG_LC_ENUM_(name, val, text)     YMSG_ENUM_(YMSG_LOGIN_, name, val, text)
#define YMSG_AC_ENUM_(name, val, text)     YMSG_ENUM_(YMSG_AUTH_, name, val, text)
#define YMSG_RC_ENUM_(name, val, text)     YMSG_ENUM_(YMSG_RESULT_, name, val, text)
enum ymsg_service { YMSG_SERVICES(YMSG_SVC_ENUM_) };
enum ymsg_key { YMSG_KEYS(YMSG_KEY_ENUM_) };
enum ymsg_status { YMSG_STATUSES(YMSG_ST_ENUM_) };
enum ymsg_login_code { YMSG_LOGIN_CODES(YMSG_LC_ENUM_) };
enum ymsg_auth_code { YMSG_AUTH_CODES(YMSG_AC_ENUM_) };
enum ymsg_result_code { YMSG_RESULT_CODES(YMSG_RC_ENUM_) };

/* Name look-ups; NULL when the number is not in the table. */
const char *ymsg_service_name(uint32_t service);
const char *ymsg_key_name(uint32_t key);
const char *ymsg_status_name(uint32_t status);
/* The name of a packet's header status, which depends on the service: a presence code (as
 * ymsg_status_name) on presence packets (0x01 LOGON, 0x03, 0x04, 0xC6, 0x54 AUTHRESP's initial status,
 * 0x57 from libpurple, and 0xF0 from old clients except for 0, 1, 5 and -1, which are what servers
 * send), else a packet status (YMSG_PKT_STATUSES, YMSG_PKT_SERVICE_STATUSES). */
const char *ymsg_packet_status_name(uint32_t service, uint32_t status);
const char *ymsg_login_code_name(int code);     /* pwtoken_get / pwtoken_login first line */
const char *ymsg_auth_code_name(int code);      /* 0x54 / 0x02 key 66 */
const char *ymsg_result_code_name(int code);    /* buddy-list ack key 66 */
/* Reverse look-up by enum suffix or display name, case-insensitive ("AUTH", "Message"); -1 if none. */
long ymsg_service_by_name(const char *name);
/* The enum suffix of a service ("AUTHRESP" for 0x54), as the readable dump prints it; NULL if unknown. */
const char *ymsg_service_ident(uint32_t service);

/* ================================================================================================
 * Wire codec (§1)
 * ============================================================================================== */
#define YMSG_HEADER_LEN   20
#define YMSG_MAX_BODY     65535u     /* the u16 length field */
#define YMSG_VERSION      16
#define YMSG_SEP0         0xC0
#define YMSG_SEP1         0x80

/* The 20-byte header.  All fields are big-endian on the wire, except that YMSG 8–10 clients sent the
 * version little-endian ("09 00 00 00", §1.1): the decoder accepts that and sets version_le. */
struct ymsg_header {
    uint16_t version;     /* protocol version (16 for v16 clients) */
    uint16_t vendor;      /* vendor id: 0 Windows/libpurple, 100 Mac */
    uint16_t length;      /* body length, excluding the header */
    uint16_t service;     /* enum ymsg_service */
    uint32_t status;      /* presence code or packet status (§1.3) */
    uint32_t session;     /* session id */
    uint8_t  version_le;  /* 1 when the version arrived little-endian (old clients) */
};

/* A decoded packet: a view into the caller's buffer, valid as long as that buffer is.  Its body has
 * already been validated by ymsg_decode(), so iteration over it cannot fail. */
struct ymsg_packet {
    struct ymsg_header hdr;
    const uint8_t *body;  /* hdr.length bytes */
    size_t npairs;        /* number of key/value pairs in body */
};

/* One key/value pair: a view into the packet body.  Values are binary-safe, not NUL-terminated. */
struct ymsg_kv {
    uint32_t key;
    const uint8_t *val;
    size_t len;
};

/* Limits of the stream decoder (every limit is a knob, §engineering standards). */
struct ymsg_limits {
    size_t max_body;      /* bodies longer than this are YMSG_ETOOBIG; default/maximum 65535 (0 = default) */
    size_t max_pairs;     /* more pairs than this are YMSG_ETOOBIG; default 4096 (0 = default) */
};
#define YMSG_DEFAULT_MAX_PAIRS 4096u
void ymsg_limits_default(struct ymsg_limits *lim);

/* Header only.  Returns YMSG_HEADER_LEN, YMSG_EAGAIN (len < 20) or YMSG_EMAGIC. */
int ymsg_header_decode(const uint8_t *buf, size_t len, struct ymsg_header *out);
/* Writes exactly YMSG_HEADER_LEN bytes (big-endian, or the version LE when hdr->version_le). */
void ymsg_header_encode(uint8_t out[YMSG_HEADER_LEN], const struct ymsg_header *hdr);

/* The streaming decoder, picohttpparser style: it owns no buffer and keeps no state.  Call it on the
 * unconsumed bytes (any chunking: one byte at a time or many packets at once).
 *   > 0          one complete packet is in *pkt (a view into buf); that many bytes were consumed;
 *   YMSG_EAGAIN  the bytes so far are a valid prefix: read more and call again;
 *   < 0          malformed: *err_off (if not NULL) is the offset in buf of the offending byte.
 *                YMSG_EMAGIC, YMSG_ETOOBIG, YMSG_EKEY, YMSG_EODD, YMSG_ETRAIL.
 * lim may be NULL (defaults).  Nothing is allocated.
 * Body rules and error offsets (lib/ymsg/frame.c):
 *   EMAGIC   the first byte that differs from "YMSG" (reported as soon as it arrives);
 *   ETOOBIG  8 (the length field) when the body exceeds max_body, known from the header alone; the
 *            first byte of the pair that exceeds max_pairs;
 *   EKEY     keys are 1..10 ASCII digits with a value <= 4294967295: the first non-digit byte (a C0
 *            not followed by 80 included), the 11th digit, or the key's first byte when it is empty
 *            (Pidgin silently drops such pairs; we refuse them) or overflows;
 *   EODD     the first byte of a key followed by its separator and then the end of the body;
 *   ETRAIL   the first byte of the last field when it lacks its C0 80 (or the lone C0 at the end).
 * An empty body (length 0) is valid with 0 pairs.  Values may hold any bytes except C0 80. */
ssize_t ymsg_decode(const uint8_t *buf, size_t len, const struct ymsg_limits *lim,
                    struct ymsg_packet *pkt, size_t *err_off);

/* ymsg_decode() that also stores the first kvcap pairs' views in kv[] in the same pass, for callers that
 * want them all (one pass over the body instead of validate-then-iterate).  pkt->npairs says how many
 * there are; if more than kvcap, continue with ymsg_next() from the offset just past kv[kvcap-1]'s
 * value and its separator.  kv[] is unspecified after an error. */
ssize_t ymsg_decode_pairs(const uint8_t *buf, size_t len, const struct ymsg_limits *lim, struct ymsg_packet *pkt,
                          struct ymsg_kv *kv, size_t kvcap, size_t *err_off);

/* After YMSG_EMAGIC: offset of the next "YMSG" in buf after offset 0 (what real clients do to
 * resync), or the offset from which a partial "Y", "YM", "YMS" at the end may still become one. */
size_t ymsg_resync(const uint8_t *buf, size_t len);

/* Body validation alone (used by ymsg_decode).  Returns the number of pairs or a negative error with
 * *err_off relative to body. */
ssize_t ymsg_body_validate(const uint8_t *body, size_t len, size_t max_pairs, size_t *err_off);

/* Iteration: *pos starts at 0.  Returns 1 with *kv filled, 0 at the end. */
int ymsg_next(const struct ymsg_packet *pkt, size_t *pos, struct ymsg_kv *kv);
/* Batch iteration: up to max pairs from *pos into out[], advancing *pos; returns how many (0 at the
 * end).  Same pairs as ymsg_next(), cheaper per pair when a caller wants them all (it resolves
 * several pairs per 64-byte window). */
size_t ymsg_next_batch(const struct ymsg_packet *pkt, size_t *pos, struct ymsg_kv *out, size_t max);
/* First / n-th (0-based) value of key.  Returns 0 or YMSG_ENOENT. */
int ymsg_get(const struct ymsg_packet *pkt, uint32_t key, struct ymsg_kv *out);
int ymsg_get_nth(const struct ymsg_packet *pkt, uint32_t key, size_t n, struct ymsg_kv *out);
/* How many times key occurs. */
size_t ymsg_count(const struct ymsg_packet *pkt, uint32_t key);
/* Every value of key into out[0..max): returns how many were found (may exceed max; only max stored). */
size_t ymsg_get_all(const struct ymsg_packet *pkt, uint32_t key, struct ymsg_kv *out, size_t max);
/* First value of key copied NUL-terminated into dst (truncated to cap-1).  Returns the value's full
 * length, or YMSG_ENOENT.  NULL-safe convenience for drivers. */
ssize_t ymsg_get_str(const struct ymsg_packet *pkt, uint32_t key, char *dst, size_t cap);
/* First value of key as a decimal integer (optional sign).  Returns 0, YMSG_ENOENT or YMSG_EINVAL. */
int ymsg_get_int(const struct ymsg_packet *pkt, uint32_t key, long long *out);
/* 1 if the value equals the NUL-terminated string s. */
int ymsg_kv_eq(const struct ymsg_kv *kv, const char *s);

/* Builder: appends packets to a caller-owned, capped buffer.  Errors are sticky: after the first
 * failure every call is a no-op and ymsg_build_end() returns that error, so a caller may chain calls
 * and check once.  Values containing C0 80 are refused (YMSG_EVALUE). */
struct ymsg_builder {
    uint8_t *buf;         /* caller's memory */
    size_t cap;           /* its size: nothing is ever written past it */
    size_t len;           /* bytes used (complete packets + the one being built) */
    size_t start;         /* offset of the packet being built */
    int err;              /* first error, or 0 */
    uint16_t version;     /* written into every header; default YMSG_VERSION */
    uint16_t vendor;      /* default 0 */
};
void ymsg_builder_init(struct ymsg_builder *b, uint8_t *buf, size_t cap);
/* Forget every packet built so far (keeps buf/cap/version/vendor). */
void ymsg_builder_reset(struct ymsg_builder *b);
int ymsg_build_begin(struct ymsg_builder *b, uint16_t service, uint32_t status, uint32_t session);
/* Changes the header status of the packet being built, e.g. to YMSG_PKT_CONTINUED once a reply
 * turns out to need another packet.  YMSG_ESTATE outside begin/end. */
int ymsg_build_set_status(struct ymsg_builder *b, uint32_t status);
int ymsg_build_kv(struct ymsg_builder *b, uint32_t key, const void *val, size_t len);
int ymsg_build_str(struct ymsg_builder *b, uint32_t key, const char *s);        /* NULL = "" */
int ymsg_build_int(struct ymsg_builder *b, uint32_t key, long long v);
/* Copies every pair of pkt (e.g. to relay a packet with a different header). */
int ymsg_build_pairs(struct ymsg_builder *b, const struct ymsg_packet *pkt);
/* Patches the length; returns the finished packet's size (> 0) or the sticky error. */
ssize_t ymsg_build_end(struct ymsg_builder *b);

/* A readable dump of a packet, in the spirit of the seed's Packet.toString():
 *   "AUTHRESP(0x54) status=0 (Available) session=0x00000000 version=16 vendor=0 len=75\n"
 *   (the status is named per service: ymsg_packet_status_name)
 *   "  1 (active id) = alice\n" ... one line per pair; non-printable bytes escaped as \xNN.
 * snprintf contract: returns the length the full text needs; writes at most cap bytes incl. NUL. */
int ymsg_packet_format(const struct ymsg_packet *pkt, char *out, size_t cap);
/* One JSON object (no trailing newline) with service, service_name, status, session, version, vendor,
 * and "pairs": [[key, "value"], ...] (values as JSON strings; bytes that are not valid UTF-8 escaped
 * as \u00XX).  Same snprintf contract. */
int ymsg_packet_json(const struct ymsg_packet *pkt, char *out, size_t cap);

/* ================================================================================================
 * Auth primitives (§5)
 * ============================================================================================== */
/* Yahoo's base64: standard alphabet with '+' '/' '=' replaced by '.' '_' '-'.  Writes NUL-terminated
 * text; returns its length, or YMSG_ENOSPC if cap < 4*ceil(n/3)+1. */
ssize_t ymsg_y64_encode(const uint8_t *in, size_t n, char *out, size_t cap);
/* Inverse; returns the decoded byte count, YMSG_EINVAL on bad input or YMSG_ENOSPC. */
ssize_t ymsg_y64_decode(const char *in, size_t n, uint8_t *out, size_t cap);
/* The v16 token-login response (key 307): Y64(MD5(crumb ‖ challenge)), 24 chars + NUL. */
int ymsg_auth16_response(const char *crumb, const char *challenge, char out[25]);
/* YMSG 9/10 "method 0" responses (§5.3): keys 6 and 96, 24 chars + NUL each.  The challenge must be
 * at least 16 bytes (YMSG_EINVAL otherwise).  Uses md5crypt with salt "$1$_2S43d5f$". */
int ymsg_auth_method0(const char *user, const char *password, const char *challenge,
                      char resp6[25], char resp96[25]);
/* Same computation from the stored hashes a server keeps instead of the password:
 * p = Y64(MD5(password)), c = Y64(MD5(md5crypt(password, "$1$_2S43d5f$"))). */
int ymsg_auth_method0_hashes(const char *password, char p[25], char c[25]);
int ymsg_auth_method0_from_hashes(const char *user, const char *p, const char *c,
                                  const char *challenge, char resp6[25], char resp96[25]);
/* Constant-time comparison of two NUL-terminated strings (1 = equal). */
int ymsg_ct_streq(const char *a, const char *b);

/* ================================================================================================
 * Client session (sans-IO) — see the section below, maintained with lib/ymsg/session.c.
 * ============================================================================================== */
/* The session is a state machine fed by a driver (see client/ for one): the driver
 *   1. creates it with a config and calls ymsg_session_start();
 *   2. writes what ymsg_session_output() returns to the pager socket, then ymsg_session_consume();
 *   3. passes every byte read from the socket to ymsg_session_feed();
 *   4. calls ymsg_session_tick(now_ms) at least once per ymsg_session_timeout() (keepalives, timers);
 *   5. drains events with ymsg_session_next_event() after each of the calls above.  One event type,
 *      YMSG_EV_HTTP_GET, is a request *to the driver*: perform that GET (ymsg_http_get() below does it
 *      with libcurl) and hand the result to ymsg_session_http_response().  That keeps the token login
 *      (§5.1) inside the session while the session itself never does I/O.
 * Events are polled rather than delivered by callback so that a driver may issue commands while
 * handling an event without re-entering the session.  The session allocates with malloc(), but every
 * allocation is bounded by a cap in struct ymsg_session_config; hitting a cap is logged and counted,
 * never fatal to the process. */
struct ymsg_session;

enum ymsg_log_level { YMSG_LOG_DEBUG = 0, YMSG_LOG_INFO = 1, YMSG_LOG_WARN = 2, YMSG_LOG_ERROR = 3 };
typedef void (*ymsg_log_fn)(void *ud, int level, const char *msg);
/* Every packet decoded from the server (dir 0) or queued for it (dir 1), before the session acts on it.
 * For debugging and for ymsg probe, which compares exact bytes. */
typedef void (*ymsg_packet_fn)(void *ud, int dir, const struct ymsg_packet *pkt);

struct ymsg_session_config {
    const char *user;            /* Yahoo id (lower-cased by the session); copied */
    const char *password;        /* copied; wiped when the session is freed */
    uint32_t initial_status;     /* signs in with it (0x54 header status, then announced once the list is in):
                                  * AVAILABLE, INVISIBLE (12), an away code 1..9, CUSTOM (99) or IDLE (999) */
    const char *initial_msg;     /* with CUSTOM: the status message (copied; NULL = ""), so that a client
                                  * reconnecting signs in with the status it had, not a moment without it */
    int initial_away;            /* with CUSTOM: key 47, 0 = available, 1 = away */
    const char *login_url;       /* base of the token login; default "https://login.yahoo.com" */
    const char *locale;          /* key 98; default "us" */
    const char *client_version;  /* key 135; default "9.0.0.2162" */
    size_t max_inbuf;            /* bytes buffered from the server; default 256 KiB, minimum 65555 */
    size_t max_outbuf;           /* bytes waiting to be written; default 256 KiB */
    size_t max_events;           /* undelivered events; default 4096 (more are dropped and counted) */
    size_t max_buddies;          /* roster entries kept; default 5000 */
    size_t max_groups;           /* groups kept; default 500 */
    size_t max_ignored;          /* ignore-list entries kept; default 1000 */
    size_t max_requests;         /* unanswered authorisation requests kept; default 100 */
    size_t max_list_text;        /* accumulated 0x55 key 87/88 text; default 256 KiB */
    size_t max_http_body;        /* token-login response bytes looked at; default 64 KiB */
    uint32_t keepalive_ms;       /* 0x8A period; default 60000 (§7.5) */
    uint32_t ping_ms;            /* 0x12 period; default 3600000 */
    uint32_t login_timeout_ms;   /* from start to logged in; default 60000 */
    size_t max_confs;            /* conferences kept (joined or invited to); default 16 */
    size_t max_conf_members;     /* members kept per conference; default 100 */
    size_t max_room_members;     /* chat-room members kept; default 1000 */
    size_t max_xfers;            /* file transfers in progress; default 16 */
    const char *relay_host;      /* host[:port] announced in 0xDD key 250 when the server gives none;
                                  * default "relay.msg.yahoo.com" (copied) */
    ymsg_log_fn log;             /* may be NULL */
    void *log_ud;                /* passed to log */
    int log_level;               /* minimum level passed to log; default YMSG_LOG_INFO */
    ymsg_packet_fn on_packet;    /* may be NULL */
    void *packet_ud;             /* passed to on_packet */
};
/* Zeroes *cfg and fills in every default (user and password stay NULL). */
void ymsg_session_config_default(struct ymsg_session_config *cfg);

enum ymsg_session_state {
    YMSG_SS_IDLE = 0,            /* created, ymsg_session_start() not called yet */
    YMSG_SS_AUTH,                /* 0x57 sent, waiting for the challenge */
    YMSG_SS_TOKEN,               /* waiting for the driver's pwtoken_get result */
    YMSG_SS_CRUMB,               /* waiting for the driver's pwtoken_login result */
    YMSG_SS_AUTHRESP,            /* 0x54 sent, waiting for the buddy list */
    YMSG_SS_ONLINE,              /* logged in */
    YMSG_SS_CLOSED               /* failed, kicked, logged off or disconnected: close the socket */
};

enum ymsg_event_type {
    YMSG_EV_HTTP_GET = 1,        /* driver: GET text (URL; holds the password, do not log it) */
    YMSG_EV_LOGGED_IN,           /* who = own id; status = initial status */
    YMSG_EV_LOGIN_FAILED,        /* code + text; flags: YMSG_EVF_NETWORK if the login server failed */
    YMSG_EV_BUDDY_LIST,          /* the roster is complete (or was replaced): read it with the accessors */
    YMSG_EV_PRESENCE,            /* who; online; status; text = custom message; away; idle; service */
    YMSG_EV_MESSAGE,             /* who = sender; to; text (UTF-8); time; flags YMSG_EVF_OFFLINE */
    YMSG_EV_BUZZ,                /* who; time; flags as for MESSAGE */
    YMSG_EV_TYPING,              /* who; on */
    YMSG_EV_AUTH_REQUEST,        /* who asks to add you; text = their message */
    YMSG_EV_AUTH_ANSWER,         /* who answered your add; on = accepted; text = reason */
    YMSG_EV_LIST_ACK,            /* service (0x83/0x84/0x85/0x89/0xE7/0xB9); who; group; group2; code; text */
    YMSG_EV_NOT_SENT,            /* server refused a message (0x06 status 2); who; text */
    YMSG_EV_SYSTEM,              /* server notice (0x14, 0x06 errors, new mail); text; code */
    YMSG_EV_KICKED,              /* signed in elsewhere (0x02 status -1); code = key 66 */
    YMSG_EV_DISCONNECTED,        /* session closed; text = reason; code = YMSG_E* or 0 after logoff */
    /* conferences (0x18-0x1D); room = conference name */
    YMSG_EV_CONF_INVITE,         /* who = inviter; text = invitation; list = members (inviter first) */
    YMSG_EV_CONF_JOIN,           /* who joined room */
    YMSG_EV_CONF_LEAVE,          /* who left room */
    YMSG_EV_CONF_DECLINE,        /* who declined; text = their message */
    YMSG_EV_CONF_MESSAGE,        /* who said text in room */
    YMSG_EV_CONF_FAILED,         /* an invite failed: who = the unavailable invitee (key 55); text */
    /* chat rooms (0x96-0xA8); room = room name */
    YMSG_EV_ROOM_JOINED,         /* we are in room; text = topic; list = members */
    YMSG_EV_ROOM_FAILED,         /* joining room failed; code (-6 unknown room, -15 full, -35 n/a); text */
    YMSG_EV_ROOM_ENTER,          /* who entered room */
    YMSG_EV_ROOM_EXIT,           /* who left room */
    YMSG_EV_ROOM_MESSAGE,        /* who said text in room; on = 1 for an emote (124=2) */
    YMSG_EV_ROOM_INVITE,         /* who invites you to room; text = their message */
    YMSG_EV_ROOM_LOGOUT,         /* the server logged you out of chat (0xA0) */
    /* file transfer (0xDC/0xDD/0xDE, relay); xfer = transfer id (key 265), size = bytes */
    YMSG_EV_FILE_OFFER,          /* who offers text (file name) of size bytes: answer with accept/decline */
    YMSG_EV_FILE_UPLOAD,         /* driver: POST the file to text (URL), then ymsg_session_file_done() */
    YMSG_EV_FILE_DOWNLOAD,       /* driver: GET text (URL) to the file, then ymsg_session_file_done() */
    YMSG_EV_FILE_DECLINED,       /* who declined our offer */
    YMSG_EV_FILE_CANCELLED,      /* who (or the server) cancelled the transfer; text = why */
    YMSG_EV_FILE_DONE            /* transfer finished: code 0 ok, else a YMSG_E*; on = 1 we sent it */
};
/* YMSG_EV_* flags */
#define YMSG_EVF_OFFLINE 1u      /* message was stored while you were offline */
#define YMSG_EVF_NETWORK 2u      /* LOGIN_FAILED: login server unreachable / unusable (not a verdict) */

/* An event; strings are UTF-8, NUL-terminated, never NULL ("" when absent) and stay valid until the
 * next ymsg_session_next_event() or ymsg_session_free(). */
struct ymsg_event {
    enum ymsg_event_type type;   /* what happened */
    const char *who;             /* the other party (buddy, sender, requester) */
    const char *to;              /* recipient of a message (an own id or alias) */
    const char *text;            /* message / status message / reason / URL */
    const char *group;           /* group (list acks; new name for renames and moves) */
    const char *group2;          /* old group of a move or rename */
    int code;                    /* result / error code (key 66, pwtoken code, YMSG_E*) */
    uint32_t status;             /* presence code (§4.1) or header status */
    uint32_t service;            /* service the event came from */
    int on;                      /* typing on, auth accepted, ignore added, buddy online */
    int away;                    /* key 47: 0 available, 1 away/busy, 2 idle */
    long long time;              /* unix time of a message (key 15), 0 if none */
    long long idle;              /* idle seconds (key 137), -1 if none */
    unsigned flags;              /* YMSG_EVF_* */
    const char *room;            /* conference or chat-room name */
    const char *list;            /* member ids, one per line (CONF_INVITE, ROOM_JOINED) */
    const char *xfer;            /* file-transfer id (key 265) */
    uint64_t size;               /* file size in bytes (FILE_*) */
};
const char *ymsg_event_type_name(enum ymsg_event_type type);

#define YMSG_ID_MAX    97        /* ids (federated ids are e-mail addresses) incl. NUL; longer ones are dropped */
#define YMSG_GROUP_MAX 97        /* group names incl. NUL; longer ones are truncated */
#define YMSG_STATUS_MSG_MAX 256  /* custom status message incl. NUL (§1.5: 255 bytes) */

/* One roster entry, kept up to date by list, presence and ack packets. */
struct ymsg_buddy {
    char id[YMSG_ID_MAX];        /* buddy id */
    char group[YMSG_GROUP_MAX];  /* group it is listed in */
    char msg[YMSG_STATUS_MSG_MAX]; /* custom status message */
    uint32_t status;             /* presence code while online */
    long long idle;              /* idle seconds reported, -1 if none */
    uint8_t online;              /* 1 once a presence packet said so, 0 after a logoff */
    uint8_t away;                /* key 47 */
    uint8_t pending;             /* key 223: the buddy has not authorised you yet */
    uint8_t stealth;             /* key 317 */
    uint8_t federation;          /* key 241 */
};

/* Allocation or a bad config (no user/password, caps too small) fail with NULL. */
struct ymsg_session *ymsg_session_new(const struct ymsg_session_config *cfg);
void ymsg_session_free(struct ymsg_session *s);
/* Queues 0x57 and starts the login timer. */
int ymsg_session_start(struct ymsg_session *s, uint64_t now_ms);
/* Bytes from the server (any chunking).  Returns 0, or a negative error when the session had to close
 * (a DISCONNECTED event tells why).  Malformed packets are skipped and logged, not fatal.  YMSG_ENOMEM:
 * the session goes on, but an entry or event of these bytes was lost to a failed allocation (logged at
 * error level, counted in stats). */
int ymsg_session_feed(struct ymsg_session *s, const uint8_t *buf, size_t len);
/* Bytes to send: returns how many are pending and points *out at them; consume what was written. */
size_t ymsg_session_output(struct ymsg_session *s, const uint8_t **out);
void ymsg_session_consume(struct ymsg_session *s, size_t n);
/* Timers: keepalive, ping, login timeout.  now_ms is any monotonic clock. */
int ymsg_session_tick(struct ymsg_session *s, uint64_t now_ms);
/* Milliseconds until the next timer is due (0 = now); call tick by then. */
uint64_t ymsg_session_timeout(const struct ymsg_session *s, uint64_t now_ms);
/* The answer to a YMSG_EV_HTTP_GET: HTTP status (0 = the request failed: text in body), the raw header
 * block (for Set-Cookie; may be NULL) and the body (chunked or not, with or without final CRLF). */
int ymsg_session_http_response(struct ymsg_session *s, int http_status, const char *headers,
                               size_t headers_len, const char *body, size_t body_len);
/* The driver lost or closed the connection: emits DISCONNECTED (once) and closes the session. */
void ymsg_session_close(struct ymsg_session *s, const char *reason);
/* Next event or NULL; the previous one returned is released by this call. */
const struct ymsg_event *ymsg_session_next_event(struct ymsg_session *s);

enum ymsg_session_state ymsg_session_state(const struct ymsg_session *s);
uint32_t ymsg_session_id(const struct ymsg_session *s);
const char *ymsg_session_user(const struct ymsg_session *s);
/* Own presence as last set (12 while invisible). */
uint32_t ymsg_session_my_status(const struct ymsg_session *s);
/* Roster: buddies in list order, groups (including empty ones), the ignore list. */
size_t ymsg_session_buddy_count(const struct ymsg_session *s);
const struct ymsg_buddy *ymsg_session_buddy(const struct ymsg_session *s, size_t i);
const struct ymsg_buddy *ymsg_session_find_buddy(const struct ymsg_session *s, const char *id);
size_t ymsg_session_group_count(const struct ymsg_session *s);
const char *ymsg_session_group(const struct ymsg_session *s, size_t i);
size_t ymsg_session_ignored_count(const struct ymsg_session *s);
const char *ymsg_session_ignored(const struct ymsg_session *s, size_t i);
/* Authorisation requests received and not yet answered with ymsg_session_auth_reply(). */
struct ymsg_auth_request {
    char id[YMSG_ID_MAX];        /* who asks to add you */
    char msg[YMSG_STATUS_MSG_MAX]; /* their message (truncated) */
};
size_t ymsg_session_request_count(const struct ymsg_session *s);
const struct ymsg_auth_request *ymsg_session_request(const struct ymsg_session *s, size_t i);

/* Counters, for the driver's diagnostics and the benchmark. */
struct ymsg_session_stats {
    uint64_t packets_in;         /* packets decoded */
    uint64_t packets_out;        /* packets queued */
    uint64_t bad_packets;        /* malformed packets skipped */
    uint64_t resyncs;            /* bad-magic recoveries */
    uint64_t unknown_services;   /* packets of services the session does not handle */
    uint64_t events;             /* events queued */
    uint64_t events_dropped;     /* events lost to max_events */
    uint64_t capped;             /* roster / list entries lost to a cap */
};
void ymsg_session_get_stats(const struct ymsg_session *s, struct ymsg_session_stats *st);

/* Commands.  0 on success (the packet is queued), YMSG_ESTATE when not logged in, YMSG_EINVAL for bad
 * arguments (empty ids, text with C0 80), YMSG_ENOSPC when the output buffer is full. */
int ymsg_session_send_message(struct ymsg_session *s, const char *to, const char *utf8_text);
int ymsg_session_buzz(struct ymsg_session *s, const char *to);
int ymsg_session_typing(struct ymsg_session *s, const char *to, int on);
/* status: 0 available, 1..9 away codes, 99 custom (msg, away 0/1), 999 idle, 12 invisible (0xC5 13=2).
 * Leaving invisible sends 0xC5 13=1 after the 0xC6. */
int ymsg_session_set_status(struct ymsg_session *s, uint32_t status, const char *msg, int away);
int ymsg_session_add_buddy(struct ymsg_session *s, const char *who, const char *group, const char *msg);
int ymsg_session_remove_buddy(struct ymsg_session *s, const char *who, const char *group);
int ymsg_session_move_buddy(struct ymsg_session *s, const char *who, const char *from, const char *to);
int ymsg_session_auth_reply(struct ymsg_session *s, const char *who, int accept, const char *msg);
int ymsg_session_ignore(struct ymsg_session *s, const char *who, int ignore);
int ymsg_session_rename_group(struct ymsg_session *s, const char *from, const char *to);
/* Queues 0x02 and closes the session (DISCONNECTED, code 0) once the output is flushed by the driver. */
int ymsg_session_logoff(struct ymsg_session *s);
/* Queues one complete packet built by the caller (ymsg probe); its session id is patched to the
 * session's.  YMSG_EINVAL unless buf holds exactly one valid packet. */
int ymsg_session_send_raw(struct ymsg_session *s, const uint8_t *buf, size_t len);

/* Conferences (services 0x18-0x1D, key sets of libyahoo2's yahoo_conference_* and libpurple's
 * yahoochat.c; docs/CLIENT_PROTOCOL.md).  room: 1..YMSG_ROOM_MAX-1 bytes without C0 80 or newlines.
 * conf_create invites who[0..n) to a new conference (0x18) and joins us to it; with room NULL the
 * name is "<user>-<counter>" (as Pidgin names them) and is copied to room_out (cap >= YMSG_ROOM_MAX).
 * conf_invite adds someone to a conference we are in (0x1C).  join (0x19) and decline (0x1A) answer
 * an invitation; leave is 0x1B; send is 0x1D to every member we know of.  YMSG_ENOENT: no such
 * conference; YMSG_ENOSPC also when max_confs are in use. */
#define YMSG_ROOM_MAX 129        /* conference / room names incl. NUL */
int ymsg_session_conf_create(struct ymsg_session *s, const char *room, const char *const *who, size_t n,
                             const char *msg, char *room_out, size_t cap);
int ymsg_session_conf_invite(struct ymsg_session *s, const char *room, const char *who, const char *msg);
int ymsg_session_conf_join(struct ymsg_session *s, const char *room);
/* conf_rejoin: back in a conference after a reconnect (the new session does not know it), as a
 * client does: 0x19 with the members we knew (libpurple yahoo_conf_join), then 0x18 inviting them
 * again (libyahoo2 yahoo_conference_invite), so whoever of them comes back first re-opens it and the
 * others find themselves invited.  A conference we were invited to meanwhile is joined (0x19 only).
 * ymsgd refuses the 0x18 when the conference goes on without us: CONF_FAILED, and it is forgotten.
 * YMSG_ESTATE: already in it. */
int ymsg_session_conf_rejoin(struct ymsg_session *s, const char *room, const char *const *who, size_t n);
int ymsg_session_conf_decline(struct ymsg_session *s, const char *room, const char *msg);
int ymsg_session_conf_leave(struct ymsg_session *s, const char *room);
int ymsg_session_conf_send(struct ymsg_session *s, const char *room, const char *utf8_text);
/* Conferences we are in or invited to, and their members as we know them (us included once joined). */
struct ymsg_conf {
    char room[YMSG_ROOM_MAX];    /* conference name (key 57) */
    char inviter[YMSG_ID_MAX];   /* who invited us ("" for our own) */
    int joined;                  /* 1 once we joined, 0 while only invited */
    size_t nmembers;             /* entries in members */
    char (*members)[YMSG_ID_MAX];     /* member ids (owned by the session) */
};
size_t ymsg_session_conf_count(const struct ymsg_session *s);
const struct ymsg_conf *ymsg_session_conf(const struct ymsg_session *s, size_t i);
const struct ymsg_conf *ymsg_session_find_conf(const struct ymsg_session *s, const char *room);

/* Chat rooms (0x96-0xA8), one at a time as in every real client.  room_join sends 0x96 CHATONLINE
 * first when needed and 0x98 CHATJOIN once the server confirmed it (status 1); joining another room
 * leaves the current one.  room_leave sends 0x9B CHATEXIT and 0xA0 CHATLOGOUT (libpurple's close).
 * While in chat the hourly ping is 0xA1 CHATPING (libpurple's yahoo_keepalive).  room_id is key 129
 * ("0" when NULL). */
int ymsg_session_room_join(struct ymsg_session *s, const char *room, const char *room_id);
int ymsg_session_room_leave(struct ymsg_session *s);
int ymsg_session_room_send(struct ymsg_session *s, const char *utf8_text, int emote);
int ymsg_session_room_invite(struct ymsg_session *s, const char *who, const char *msg);
/* The room we are in ("" if none) and its members. */
const char *ymsg_session_room(const struct ymsg_session *s);
size_t ymsg_session_room_member_count(const struct ymsg_session *s);
const char *ymsg_session_room_member(const struct ymsg_session *s, size_t i);

/* File transfer over the relay (0xDC/0xDD/0xDE as libpurple 2.10.9 and libyahoo2 1.0.0 speak it).
 * file_send offers name (a base name) of size bytes to who; the id (key 265, 24 characters) goes to
 * id_out.  The receiver answers with file_accept / file_decline.  When the peer accepted, the session
 * asks the driver (FILE_UPLOAD / FILE_DOWNLOAD with the relay URL) to move the bytes and takes the
 * result back with file_done (0 = complete, else a YMSG_E* that cancels the transfer with the peer);
 * file_progress only updates ymsg_session_xfer()'s counter.  file_cancel withdraws an offer. */
#define YMSG_XFER_ID_MAX 64      /* transfer ids incl. NUL */
int ymsg_session_file_send(struct ymsg_session *s, const char *who, const char *name, uint64_t size,
                           char id_out[YMSG_XFER_ID_MAX]);
int ymsg_session_file_accept(struct ymsg_session *s, const char *id);
int ymsg_session_file_decline(struct ymsg_session *s, const char *id);
int ymsg_session_file_cancel(struct ymsg_session *s, const char *id);
int ymsg_session_file_progress(struct ymsg_session *s, const char *id, uint64_t done);
int ymsg_session_file_done(struct ymsg_session *s, const char *id, int result);
enum ymsg_xfer_state {
    YMSG_XF_OFFERED = 1,         /* sent: waiting for the peer; received: waiting for us */
    YMSG_XF_ACCEPTED,            /* accepted, waiting for the relay token */
    YMSG_XF_MOVING,              /* the driver is uploading / downloading */
};
struct ymsg_xfer {
    char id[YMSG_XFER_ID_MAX];   /* key 265 */
    char peer[YMSG_ID_MAX];      /* the other party */
    char name[256];              /* file name (key 27) */
    char token[256];             /* relay token (key 251) once known */
    char host[256];              /* relay host (key 250) once known */
    uint64_t size;               /* key 28 */
    uint64_t done;               /* bytes moved as last reported */
    int outgoing;                /* 1 we send, 0 we receive */
    enum ymsg_xfer_state state;  /* see enum */
};
size_t ymsg_session_xfer_count(const struct ymsg_session *s);
const struct ymsg_xfer *ymsg_session_xfer(const struct ymsg_session *s, size_t i);
const struct ymsg_xfer *ymsg_session_find_xfer(const struct ymsg_session *s, const char *id);

/* The default driver for YMSG_EV_HTTP_GET (lib/ymsg/login_curl.c): a blocking libcurl GET with
 * certificate verification on.  Not sans-IO; kept beside the session so every driver shares it. */
struct ymsg_http_config {
    const char *ca_file;         /* CA bundle (PEM) to verify against; NULL = system default */
    long timeout_ms;             /* whole request; default (0) 15000 */
    size_t max_bytes;            /* cap on headers and on body; default (0) 64 KiB */
};
struct ymsg_http_result {
    int status;                  /* HTTP status, 0 when the request failed */
    char *headers;               /* raw header block, NUL-terminated (malloc'd) */
    size_t headers_len;          /* its length */
    char *body;                  /* body as received (de-chunked by curl), NUL-terminated (malloc'd) */
    size_t body_len;             /* its length */
    char error[256];             /* curl's error text when status is 0 */
};
/* Returns 0 (result filled, check status) or YMSG_ENOMEM; free the result with ymsg_http_result_free. */
int ymsg_http_get(const struct ymsg_http_config *cfg, const char *url, struct ymsg_http_result *res);
void ymsg_http_result_free(struct ymsg_http_result *res);

/* The default driver for FILE_UPLOAD / FILE_DOWNLOAD (lib/ymsg/xfer_curl.c): one blocking libcurl
 * transfer, streamed (the file is never held in memory).  upload: POST the file at path to url (the
 * relay request of libpurple's yahoo_xfer_connected_15, with Content-Length).  download: GET url into
 * path, which must not exist yet (created 0600, removed again on failure); more than max_bytes (0 = no
 * cap) fails.  cfg->timeout_ms bounds connecting (0: 15000 ms); an upload stalled for 60 s or a
 * download for 900 s (the relay holds it until the upload is complete) fails.
 * progress(ud, done, total) is called as bytes move; returning non-zero aborts.  Returns 0 when the
 * server answered 2xx with everything moved, else a YMSG_E* code with the reason in err.  Safe to
 * run in a thread of its own (one call per thread). */
typedef int (*ymsg_progress_fn)(void *ud, uint64_t done, uint64_t total);
int ymsg_http_transfer(const struct ymsg_http_config *cfg, int upload, const char *url, const char *path,
                       uint64_t max_bytes, ymsg_progress_fn progress, void *ud, char err[256]);

#ifdef __cplusplus
}
#endif
#endif /* YMSG_YMSG_H */

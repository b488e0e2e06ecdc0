/* amfcall internals shared by amfcall.c (command line, calls, output) and remoting.c (HTTP and the
 * remoting exchange).  Not a library: one program's header. */
#ifndef AMFCALL_H
#define AMFCALL_H

#include "amf/amf.h"

#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>

#define EXIT_FAULT 1
#define EXIT_NET   2
#define EXIT_USAGE 64

#define MAX_URL      8192        /* gateway URL after AppendToGatewayUrl edits */
#define MAX_PASSWORD 4096        /* bytes read from --password-file */
#define MAX_ARGSFILE (64u << 20) /* bytes read from --args-file */
#define MAX_PHEADERS 16          /* RequestPersistentHeader entries kept */

/* One Service.method invocation from the command line. */
struct call {
    const char *name;   /* "Service.method" (or "method" with --source) */
    char **args;        /* JSON texts, one value each */
    int nargs;          /* number of args */
    char *args_file;    /* contents of --args-file (a JSON array), or NULL */
};

/* Command-line settings. */
struct config {
    int flex;                 /* 1: Flex RemoteObject, 0: classic AMF0 */
    int amf3_args;            /* classic mode: arguments behind 0x11 (AMF3) */
    const char *destination;  /* Flex destination id */
    const char *source;       /* Flex source override (NULL: the part before the last dot) */
    int no_source;            /* Flex: source null, operation = whole call name */
    const char *channel;      /* Flex channel id sent as DSEndpoint */
    int ping;                 /* Flex: send the CLIENT_PING first */
    const char *user;         /* credentials user name */
    char *password;           /* from --password-file or AMFCALL_PASSWORD */
    const char *cacert;       /* CA bundle for TLS verification */
    int insecure;             /* 1: no TLS verification (explicit opt-out) */
    long connect_timeout;     /* seconds */
    long timeout;             /* seconds per request */
    size_t max_response;      /* bytes */
    const char *cookie_jar;   /* file cookies are read from and written to */
    int dump;                 /* print amf_dump trees instead of JSON */
    unsigned json_flags;      /* AMF_JSON_* */
    int verbose;              /* trace requests and responses on stderr */
};

/* A header the server asked us to send with every request (RequestPersistentHeader, §3.1). */
struct pheader {
    char *name;               /* header name */
    int must_understand;      /* flag to send */
    struct amf_buf value;     /* the value, AMF0-encoded (decoded into each request's arena) */
};

/* State kept across the calls of one run. */
struct session {
    const struct config *cfg; /* settings */
    CURL *curl;               /* one handle: keeps the connection and the cookie engine */
    char *url;                /* gateway URL requests go to */
    char *base_url;           /* URL before any AppendToGatewayUrl suffix (the given or replaced one) */
    char *ds_id;              /* FlexClient id from the acks; "nil" before the first */
    unsigned next_response;   /* next "/N" */
    struct pheader ph[MAX_PHEADERS]; /* persistent headers */
    int nph;                  /* number of persistent headers */
    char curl_err[CURL_ERROR_SIZE]; /* libcurl's message for the last failure */
};

/* Outcome of one HTTP exchange: which response body answered our "/N". */
struct reply {
    struct amf_packet pkt;    /* decoded response envelope */
    struct amf_body *body;    /* the body addressed to our "/N" */
    int status;               /* 1: "/N/onStatus" (fault), 0: "/N/onResult" */
};

/* Response collector for libcurl. */
struct sink {
    struct amf_buf buf;  /* response body so far (capped) */
    int too_large;       /* 1: the cap stopped the transfer */
};

extern const char *prog; /* program name for messages */

/* amfcall.c: messages, memory, output */
void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* malloc / strndup that exit with a message when memory is out. */
void *xmalloc(size_t n);
char *xstrndup(const char *s, size_t n);
/* Bytes for a terminal (controls as \xNN, continuation lines indented). */
void put_safe(FILE *f, const char *s, size_t n, const char *indent);
/* A value as text for a fault field: strings raw, anything else as JSON. */
void put_field(FILE *f, const char *label, const struct amf_value *v);
/* --verbose: an envelope as annotated trees on stderr. */
void trace_packet(const char *dir, const struct amf_packet *p);

/* remoting.c: HTTP and the remoting exchange */
/* The one libcurl handle of a run (timeouts, TLS, cookie jar); exits on failure. */
CURL *remoting_open(struct session *s);
/* Headers the server asked for (RequestPersistentHeader) into req. */
void remoting_add_persistent_headers(struct session *s, amf_arena *a, struct amf_packet *req);
/* Sends req (whose single body answers to "/n") and finds the response body for it; exits on HTTP,
 * network or protocol errors. */
void remoting_exchange(struct session *s, amf_arena *a, struct amf_packet *req, unsigned n,
                       struct sink *raw, struct reply *out);
/* Prints a fault (Flex ErrorMessage or a classic onStatus object) on stderr. */
void remoting_print_fault(const char *what, const struct amf_value *v, amf_arena *a);

#endif

/* amfcall — call Flash Remoting (AMF) services from the command line.
 *
 * Default (--flex): behaves like a Flex RemoteObject on an AMFChannel (AMF.md §3.4): a CommandMessage
 * ping first, an optional CommandMessage login, then one RemotingMessage per call, each in its own
 * HTTP POST, with response URIs "/1", "/2", ... counted across the whole run, the DSId from the acks
 * and the cookies carried from request to request.  --amf0 sends classic NetConnection.call requests
 * (target "Service.method", AMF0 strict array of the arguments, §3.3).
 *
 * Exit codes: 0 every call returned a result, 1 a call faulted (ErrorMessage / onStatus), 2 HTTP,
 * network or protocol error, 64 bad usage. */
#include "amfcall.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

const char *prog = "amfcall";

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", prog);
    exit(EXIT_USAGE);
}

void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void errmsg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void usage(void)
{
    printf(
"Usage: %s [OPTIONS] URL Service.method [ARG...] [-- Service.method [ARG...]]...\n"
"Calls Flash Remoting (AMF) services over HTTP POST and prints each result as JSON.\n"
"Each ARG is one JSON value (strings need their quotes: '\"alice\"').\n"
"\n"
"Modes:\n"
"  --flex               Flex RemoteObject on an AMFChannel (default): ping, [login], RemotingMessage\n"
"  --amf0               classic NetConnection.call: target Service.method, AMF0 arguments\n"
"  --amf3-args          classic mode: send the arguments as AMF3 (behind 0x11, envelope version 3)\n"
"Flex options:\n"
"  --destination ID     RemotingMessage destination (default \"api\")\n"
"  --source NAME        RemotingMessage source; the call name is then the whole operation\n"
"  --no-source          source null, operation = the whole call name (Flex with rpc.source unset)\n"
"  --channel ID         channel id sent as the DSEndpoint header (default \"api\")\n"
"  --no-ping            skip the initial CommandMessage ping\n"
"Credentials (the password never goes on the command line):\n"
"  --user NAME          log in as NAME (Flex: CommandMessage login; classic: Credentials header)\n"
"  --password-file F    first line of F is the password ('-' = standard input);\n"
"                       otherwise the AMFCALL_PASSWORD environment variable\n"
"HTTP:\n"
"  --cacert FILE        CA certificates to verify the server with\n"
"  --insecure           do not verify the server's TLS certificate (explicit opt-out)\n"
"  --connect-timeout S  connection timeout in seconds (default 10)\n"
"  --timeout S          time limit per request in seconds (default 60)\n"
"  --max-response N     refuse responses larger than N bytes (default 67108864)\n"
"  --cookie-jar FILE    read cookies from FILE and save them there afterwards\n"
"Input and output:\n"
"  --args-file F        arguments of the first call as one JSON array read from F ('-' = stdin)\n"
"  --dump               print the annotated AMF tree of each result instead of JSON\n"
"  --pretty             indent the JSON\n"
"  --class              give typed objects a leading \"$class\" member\n"
"  -v, --verbose        trace requests and responses (AMF trees) on standard error\n"
"  -h, --help           this text\n"
"  -V, --version        version\n"
"\n"
"Exit status: 0 results, 1 a call faulted (fault printed on stderr), 2 HTTP/network/protocol\n"
"error, 64 bad usage.\n", prog);
}

/* ------------------------------------------------------------------------------------------------
 * Small helpers
 * ---------------------------------------------------------------------------------------------- */

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        errmsg("out of memory");
        exit(EXIT_NET);
    }
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* Whole file (or stdin for "-") into a NUL-terminated buffer of at most max bytes. */
static char *read_file(const char *path, size_t max, size_t *len_out)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) die_usage("cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap) {
            if (cap > max) die_usage("%s is larger than %zu bytes", path, max);
            cap *= 2;
            char *n = realloc(buf, cap);
            if (!n) die_usage("out of memory reading %s", path);
            buf = n;
        }
        size_t r = fread(buf + len, 1, cap - len - 1, f);
        if (r == 0) break;
        len += r;
    }
    if (ferror(f)) die_usage("cannot read %s", path);
    if (f != stdin) fclose(f);
    if (len > max) die_usage("%s is larger than %zu bytes", path, max);
    buf[len] = 0;
    *len_out = len;
    return buf;
}

static long parse_long(const char *opt, const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        die_usage("%s wants a number from %ld to %ld, not '%s'", opt, min, max, s);
    return v;
}

/* Upper-case 8-4-4-4-12 random (version 4) UUID, what Flex's UIDUtil.createUID() looks like. */
static void new_uuid(char out[37])
{
    uint8_t b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t r = getrandom(b + got, sizeof b - got, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            errmsg("getrandom: %s", strerror(errno));
            exit(EXIT_NET);
        }
        got += (size_t)r;
    }
    amf_uuid_random_text(b, out);
}

static char *base64(const char *in, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
    const unsigned char *p = (const unsigned char *)in;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n) v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        *o++ = tab[(v >> 18) & 63];
        *o++ = tab[(v >> 12) & 63];
        *o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *o = 0;
    return out;
}

/* Writes bytes for a terminal: controls (other than newline and tab) as \xNN so a hostile server
 * cannot send escape sequences; continuation lines indented. */
void put_safe(FILE *f, const char *s, size_t n, const char *indent)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') fprintf(f, "\n%s", indent);
        else if (c == '\t' || c >= 0x20) fputc(c == 0x7F ? '?' : c, f);
        else fprintf(f, "\\x%02X", c);
    }
}

/* A value as text for a fault field: strings raw, anything else as JSON. */
void put_field(FILE *f, const char *label, const struct amf_value *v)
{
    if (!v || v->type == AMF_NULL || v->type == AMF_UNDEFINED) return;
    fprintf(f, "  %-12s ", label);
    if (v->type == AMF_STRING) {
        put_safe(f, v->u.s.ptr, v->u.s.len, "               ");
    } else {
        struct amf_buf b;
        amf_buf_init(&b, 1u << 20);
        if (amf_to_json(v, 0, &b) == 0) put_safe(f, (const char *)b.data, b.len, "               ");
        amf_buf_free(&b);
    }
    fputc('\n', f);
}

/* Prints a value on stdout as JSON (or as an annotated tree with --dump). */
static int print_result(const struct config *cfg, const struct amf_value *v)
{
    struct amf_buf b;
    amf_buf_init(&b, 0);
    int r = cfg->dump ? amf_dump(v, &b) : amf_to_json(v, cfg->json_flags, &b);
    if (r == 0) {
        fwrite(b.data, 1, b.len, stdout);
        if (!b.len || b.data[b.len - 1] != '\n') fputc('\n', stdout);
        fflush(stdout);
    } else {
        errmsg("cannot print the result: %s", amf_strerror(r));
    }
    amf_buf_free(&b);
    return r;
}

static void trace_value(const char *what, const struct amf_value *v)
{
    struct amf_buf b;
    amf_buf_init(&b, 0);
    if (amf_dump(v, &b) == 0) {
        fprintf(stderr, "%s\n", what);
        put_safe(stderr, (const char *)b.data, b.len, "");
        fputc('\n', stderr);
    }
    amf_buf_free(&b);
}

void trace_packet(const char *dir, const struct amf_packet *p)
{
    fprintf(stderr, "%s AMF envelope version %u, %u header(s), %u body(ies)\n", dir, p->version,
            p->header_count, p->body_count);
    for (uint32_t i = 0; i < p->header_count; i++) {
        char what[300];
        snprintf(what, sizeof what, "%s header \"%.*s\" mustUnderstand=%u:", dir,
                 (int)(p->headers[i].name.len > 200 ? 200 : p->headers[i].name.len),
                 p->headers[i].name.ptr, p->headers[i].must_understand);
        trace_value(what, p->headers[i].value);
    }
    for (uint32_t i = 0; i < p->body_count; i++) {
        char what[600];
        snprintf(what, sizeof what, "%s body target \"%.*s\" response \"%.*s\":", dir,
                 (int)(p->bodies[i].target.len > 250 ? 250 : p->bodies[i].target.len),
                 p->bodies[i].target.ptr,
                 (int)(p->bodies[i].response.len > 250 ? 250 : p->bodies[i].response.len),
                 p->bodies[i].response.ptr);
        trace_value(what, p->bodies[i].value);
    }
}

/* ------------------------------------------------------------------------------------------------
 * Calls
 * ---------------------------------------------------------------------------------------------- */

/* The arguments of c as an AMF array (dense) in arena a. */
static struct amf_value *parse_args(amf_arena *a, const struct call *c)
{
    struct amf_value *arr = amf_new_array(a);
    if (!arr) die_usage("out of memory");
    if (c->args_file) {
        struct amf_value *v;
        size_t off = 0;
        int r = amf_from_json(a, c->args_file, strlen(c->args_file), NULL, &v, &off);
        if (r) die_usage("--args-file: %s at byte %zu", amf_strerror(r), off);
        if (v->type != AMF_ARRAY || v->u.array->assoc_count)
            die_usage("--args-file must hold one JSON array of arguments");
        return v;
    }
    for (int i = 0; i < c->nargs; i++) {
        struct amf_value *v;
        size_t off = 0;
        int r = amf_from_json(a, c->args[i], strlen(c->args[i]), NULL, &v, &off);
        if (r)
            die_usage("%s: argument %d is not one JSON value (%s at byte %zu): %s", c->name, i + 1,
                      amf_strerror(r), off, c->args[i]);
        if (amf_array_push(a, arr, v)) die_usage("out of memory");
    }
    return arr;
}

static struct amf_value *obj_set(amf_arena *a, struct amf_value *o, const char *name,
                                 struct amf_value *v)
{
    if (!v || amf_object_set(a, o, name, v)) {
        errmsg("out of memory");
        exit(EXIT_NET);
    }
    return o;
}

/* Sends one Flex message (already built) as body "null" -> "/N" and returns the response value.
 * *fault = 1 when the reply is an ErrorMessage or an onStatus body. */
static struct amf_value *flex_send(struct session *s, amf_arena *a, struct amf_value *msg,
                                   struct sink *raw, int *fault)
{
    unsigned n = s->next_response++;
    char resp[16];
    snprintf(resp, sizeof resp, "/%u", n);
    struct amf_packet req;
    amf_packet_init(&req, 3);
    remoting_add_persistent_headers(s, a, &req);
    /* Flash wraps the message in a one-item strict array; the sealed AMF3 object goes behind 0x11 */
    struct amf_value *wrap = amf_new_array(a);
    if (!wrap || amf_array_push(a, wrap, msg) || amf_packet_add_body(a, &req, "null", resp, wrap)) {
        errmsg("out of memory");
        exit(EXIT_NET);
    }
    struct reply rep;
    remoting_exchange(s, a, &req, n, raw, &rep);
    struct amf_value *v = rep.body->value;
    struct amf_flex_msg m;
    int kind = amf_flex_parse(a, v, &m) == 0 ? m.kind : AMF_FLEX_NONE;
    *fault = rep.status || kind == AMF_FLEX_ERROR;
    if (kind == AMF_FLEX_ACK || kind == AMF_FLEX_ERROR) {
        if (m.ds_id.ptr && m.ds_id.len && m.ds_id.len < 256 && !memchr(m.ds_id.ptr, 0, m.ds_id.len)) {
            free(s->ds_id);
            s->ds_id = xstrndup(m.ds_id.ptr, m.ds_id.len);
        }
    }
    return v;
}

static struct amf_value *new_headers(amf_arena *a)
{
    struct amf_value *h = amf_new_object(a, NULL);
    if (!h) {
        errmsg("out of memory");
        exit(EXIT_NET);
    }
    return h;
}

/* CommandMessage (ping or login) as Flex builds it (RocketAMF commandMessage.bin). */
static struct amf_value *build_command(amf_arena *a, int op, struct amf_value *body,
                                       struct amf_value *headers)
{
    char id[37];
    new_uuid(id);
    struct amf_flex_msg m;
    amf_flex_init(&m, AMF_FLEX_COMMAND);
    m.operation = op;
    m.correlation_id = (struct amf_str){ "", 0 };
    m.message_id = (struct amf_str){ id, 36 };
    m.destination = (struct amf_str){ "", 0 };
    m.body = body;
    m.headers = headers;
    struct amf_value *v;
    int r = amf_flex_build(a, &m, &v);
    if (r) {
        errmsg("cannot build a CommandMessage: %s", amf_strerror(r));
        exit(EXIT_NET);
    }
    return v;
}

/* Sends a CommandMessage; a fault is printed as `what` and gives EXIT_FAULT. */
static int command_exchange(struct session *s, amf_arena *a, struct amf_value *msg, struct sink *raw,
                            const char *what)
{
    int fault;
    struct amf_value *v = flex_send(s, a, msg, raw, &fault);
    if (fault) {
        remoting_print_fault(what, v, a);
        return EXIT_FAULT;
    }
    return 0;
}

static int flex_ping(struct session *s, amf_arena *a, struct sink *raw)
{
    struct amf_value *h = new_headers(a);
    obj_set(a, h, "DSMessagingVersion", amf_new_int(a, 1));
    obj_set(a, h, "DSId", amf_new_stringz(a, s->ds_id));
    struct amf_value *msg = build_command(a, AMF_FLEX_OP_CLIENT_PING, new_headers(a), h);
    return command_exchange(s, a, msg, raw, "ping (CommandMessage 5)");
}

static int flex_login(struct session *s, amf_arena *a, struct sink *raw)
{
    size_t ul = strlen(s->cfg->user), pl = strlen(s->cfg->password);
    char *plain = xmalloc(ul + pl + 2);
    memcpy(plain, s->cfg->user, ul);
    plain[ul] = ':';
    memcpy(plain + ul + 1, s->cfg->password, pl + 1);
    char *b64 = base64(plain, ul + 1 + pl);
    explicit_bzero(plain, ul + pl + 2);
    free(plain);
    struct amf_value *h = new_headers(a);
    obj_set(a, h, "DSId", amf_new_stringz(a, s->ds_id));
    obj_set(a, h, "DSCredentialsCharset", amf_new_stringz(a, "UTF-8"));
    struct amf_value *msg = build_command(a, AMF_FLEX_OP_LOGIN, amf_new_stringz(a, b64), h);
    explicit_bzero(b64, strlen(b64));
    free(b64);
    return command_exchange(s, a, msg, raw, "login (CommandMessage 8)");
}

static int flex_call(struct session *s, amf_arena *a, const struct call *c, struct sink *raw)
{
    const struct config *cfg = s->cfg;
    const char *dot = strrchr(c->name, '.');
    struct amf_value *src, *op;
    if (cfg->source) {
        src = amf_new_stringz(a, cfg->source);
        op = amf_new_stringz(a, c->name);
    } else if (cfg->no_source || !dot) {
        src = amf_new_null(a);
        op = amf_new_stringz(a, c->name);
    } else {
        src = amf_new_string(a, c->name, (size_t)(dot - c->name));
        op = amf_new_stringz(a, dot + 1);
    }
    char id[37];
    new_uuid(id);
    struct amf_value *h = new_headers(a);
    obj_set(a, h, "DSEndpoint", amf_new_stringz(a, cfg->channel));
    obj_set(a, h, "DSId", amf_new_stringz(a, s->ds_id));
    /* sealed members in the order Flash writes them (Zend mock / RocketAMF remotingMessage.bin) */
    static const char *const names[] = { "operation", "source", "messageId", "clientId", "body",
                                         "timeToLive", "timestamp", "destination", "headers" };
    struct amf_traits *t = amf_new_traits(a, "flex.messaging.messages.RemotingMessage", names, 9, 0, 0);
    struct amf_value *msg = t ? amf_new_object_traits(a, t) : NULL;
    if (!msg) {
        errmsg("out of memory");
        exit(EXIT_NET);
    }
    obj_set(a, msg, "operation", op);
    obj_set(a, msg, "source", src);
    obj_set(a, msg, "messageId", amf_new_stringz(a, id));
    obj_set(a, msg, "clientId", amf_new_null(a));
    obj_set(a, msg, "body", parse_args(a, c));
    obj_set(a, msg, "timeToLive", amf_new_int(a, 0));
    obj_set(a, msg, "timestamp", amf_new_int(a, 0));
    obj_set(a, msg, "destination", amf_new_stringz(a, cfg->destination));
    obj_set(a, msg, "headers", h);
    int fault;
    struct amf_value *v = flex_send(s, a, msg, raw, &fault);
    if (fault) {
        remoting_print_fault(c->name, v, a);
        return EXIT_FAULT;
    }
    struct amf_flex_msg m;
    if (amf_flex_parse(a, v, &m) == 0 && m.kind == AMF_FLEX_ACK) {
        if (cfg->verbose && (m.correlation_id.len != 36 || memcmp(m.correlation_id.ptr, id, 36)))
            fprintf(stderr, "%s: note: ack correlationId differs from our messageId %s\n", prog, id);
        v = m.body ? m.body : amf_new_null(a);
    }
    /* anything else: servers that answer with the plain value (RocketAMF simple-response.bin) */
    return print_result(cfg, v) ? EXIT_NET : 0;
}

static int classic_call(struct session *s, amf_arena *a, const struct call *c, struct sink *raw)
{
    const struct config *cfg = s->cfg;
    unsigned n = s->next_response++;
    char resp[16];
    snprintf(resp, sizeof resp, "/%u", n);
    struct amf_packet req;
    amf_packet_init(&req, cfg->amf3_args ? 3 : 0);
    if (cfg->user) {
        struct amf_value *cred = amf_new_object(a, NULL);
        if (!cred) die_usage("out of memory");
        obj_set(a, cred, "userid", amf_new_stringz(a, cfg->user));
        obj_set(a, cred, "password", amf_new_stringz(a, cfg->password));
        if (amf_packet_add_header(a, &req, "Credentials", 0, cred)) die_usage("out of memory");
    }
    remoting_add_persistent_headers(s, a, &req);
    struct amf_value *args = parse_args(a, c);
    if (cfg->amf3_args)
        for (uint32_t i = 0; i < args->u.array->dense_count; i++)
            args->u.array->dense[i]->flags |= AMF_VF_AVMPLUS;
    if (amf_packet_add_body(a, &req, c->name, resp, args))
        die_usage("call name too long: %s", c->name);
    struct reply rep;
    remoting_exchange(s, a, &req, n, raw, &rep);
    if (rep.status) {
        remoting_print_fault(c->name, rep.body->value, a);
        return EXIT_FAULT;
    }
    return print_result(cfg, rep.body->value) ? EXIT_NET : 0;
}

/* ------------------------------------------------------------------------------------------------
 * main
 * ---------------------------------------------------------------------------------------------- */

static char *read_password(const char *file)
{
    char *pw;
    if (file) {
        size_t len;
        pw = read_file(file, MAX_PASSWORD, &len);
    } else {
        const char *env = getenv("AMFCALL_PASSWORD");
        if (!env) die_usage("--user needs --password-file FILE or AMFCALL_PASSWORD in the environment");
        if (strlen(env) > MAX_PASSWORD) die_usage("AMFCALL_PASSWORD is too long");
        pw = xstrndup(env, strlen(env));
    }
    pw[strcspn(pw, "\r\n")] = 0;  /* first line only */
    return pw;
}

enum {
    OPT_FLEX = 256, OPT_AMF0, OPT_AMF3_ARGS, OPT_DEST, OPT_SOURCE, OPT_NO_SOURCE, OPT_CHANNEL,
    OPT_NO_PING, OPT_USER, OPT_PWFILE, OPT_CACERT, OPT_INSECURE, OPT_CTIMEOUT, OPT_TIMEOUT,
    OPT_MAXRESP, OPT_JAR, OPT_ARGSFILE, OPT_DUMP, OPT_PRETTY, OPT_CLASS,
};

/* Options into *cfg (and the two file names); returns the index of the URL in argv. */
static int parse_options(int argc, char **argv, struct config *cfg, const char **pwfile, const char **argsfile)
{
    static const struct option opts[] = {
        { "flex", no_argument, NULL, OPT_FLEX },
        { "amf0", no_argument, NULL, OPT_AMF0 },
        { "amf3-args", no_argument, NULL, OPT_AMF3_ARGS },
        { "destination", required_argument, NULL, OPT_DEST },
        { "source", required_argument, NULL, OPT_SOURCE },
        { "no-source", no_argument, NULL, OPT_NO_SOURCE },
        { "channel", required_argument, NULL, OPT_CHANNEL },
        { "no-ping", no_argument, NULL, OPT_NO_PING },
        { "user", required_argument, NULL, OPT_USER },
        { "password-file", required_argument, NULL, OPT_PWFILE },
        { "cacert", required_argument, NULL, OPT_CACERT },
        { "insecure", no_argument, NULL, OPT_INSECURE },
        { "connect-timeout", required_argument, NULL, OPT_CTIMEOUT },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "max-response", required_argument, NULL, OPT_MAXRESP },
        { "cookie-jar", required_argument, NULL, OPT_JAR },
        { "args-file", required_argument, NULL, OPT_ARGSFILE },
        { "dump", no_argument, NULL, OPT_DUMP },
        { "pretty", no_argument, NULL, OPT_PRETTY },
        { "class", no_argument, NULL, OPT_CLASS },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+vhV", opts, NULL)) != -1) {
        switch (ch) {
        case OPT_FLEX: cfg->flex = 1; break;
        case OPT_AMF0: cfg->flex = 0; break;
        case OPT_AMF3_ARGS: cfg->amf3_args = 1; break;
        case OPT_DEST: cfg->destination = optarg; break;
        case OPT_SOURCE: cfg->source = optarg; break;
        case OPT_NO_SOURCE: cfg->no_source = 1; break;
        case OPT_CHANNEL: cfg->channel = optarg; break;
        case OPT_NO_PING: cfg->ping = 0; break;
        case OPT_USER: cfg->user = optarg; break;
        case OPT_PWFILE: *pwfile = optarg; break;
        case OPT_CACERT: cfg->cacert = optarg; break;
        case OPT_INSECURE: cfg->insecure = 1; break;
        case OPT_CTIMEOUT: cfg->connect_timeout = parse_long("--connect-timeout", optarg, 1, 3600); break;
        case OPT_TIMEOUT: cfg->timeout = parse_long("--timeout", optarg, 1, 86400); break;
        case OPT_MAXRESP:
            cfg->max_response = (size_t)parse_long("--max-response", optarg, 16, 1L << 30);
            break;
        case OPT_JAR: cfg->cookie_jar = optarg; break;
        case OPT_ARGSFILE: *argsfile = optarg; break;
        case OPT_DUMP: cfg->dump = 1; break;
        case OPT_PRETTY: cfg->json_flags |= AMF_JSON_PRETTY; break;
        case OPT_CLASS: cfg->json_flags |= AMF_JSON_CLASS; break;
        case 'v': cfg->verbose = 1; break;
        case 'h': usage(); exit(0);
        case 'V': printf("amfcall %s\n", YMSG_PACKAGE_VERSION); exit(0);
        default:
            if (optopt) die_usage("option -%c is unknown or needs a value", optopt);
            die_usage("option %s is unknown or needs a value", argv[optind - 1]);
        }
    }
    if (cfg->amf3_args && cfg->flex) die_usage("--amf3-args applies to --amf0 calls only");
    if (cfg->source && cfg->no_source) die_usage("--source and --no-source exclude each other");
    if (*pwfile && !cfg->user) die_usage("--password-file needs --user");
    if (*pwfile && *argsfile && !strcmp(*pwfile, "-") && !strcmp(*argsfile, "-"))
        die_usage("--password-file and --args-file cannot both read standard input");
    if (argc - optind < 2) die_usage("need a URL and at least one Service.method");
    return optind;
}

/* argv[first..argc) split on "--" into calls (xmalloc()ed); *ncalls gets their number. */
static struct call *split_calls(int argc, char **argv, int first, int *ncalls)
{
    struct call *calls = xmalloc(sizeof *calls * (size_t)(argc - first));
    *ncalls = 0;
    for (int i = first; i < argc;) {
        if (!strcmp(argv[i], "--") || !argv[i][0]) die_usage("empty call at argument %d", i);
        struct call *c = &calls[(*ncalls)++];
        memset(c, 0, sizeof *c);
        c->name = argv[i++];
        if (strlen(c->name) > 0xFFFF) die_usage("call name too long");
        c->args = &argv[i];
        while (i < argc && strcmp(argv[i], "--")) i++, c->nargs++;
        if (i < argc) {
            i++;
            if (i == argc) die_usage("nothing after the last --");
        }
    }
    return calls;
}

/* The jar holds a live session cookie.  libcurl creates a missing jar with fopen() (0666 & ~umask)
 * and rewrites an existing one keeping its mode, so create it 0600 first and tighten an old one. */
static int prepare_cookie_jar(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) < 0) {
        errmsg("cookie jar %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* Ping, login and the calls, in that order, each in its own exchange; stops at the first failure. */
static int run_calls(struct session *s, amf_arena *a, struct call *calls, int ncalls)
{
    const struct config *cfg = s->cfg;
    struct sink raw;
    memset(&raw, 0, sizeof raw);
    int rc = 0;
    if (cfg->flex && cfg->ping) {
        rc = flex_ping(s, a, &raw);
        amf_buf_free(&raw.buf);
        amf_arena_reset(a);
    }
    if (!rc && cfg->flex && cfg->user) {
        rc = flex_login(s, a, &raw);
        amf_buf_free(&raw.buf);
        amf_arena_reset(a);
    }
    for (int i = 0; !rc && i < ncalls; i++) {
        rc = cfg->flex ? flex_call(s, a, &calls[i], &raw) : classic_call(s, a, &calls[i], &raw);
        amf_buf_free(&raw.buf);
        amf_arena_reset(a);
    }
    return rc;
}

static void session_free(struct session *s)
{
    curl_easy_cleanup(s->curl);  /* writes the cookie jar */
    for (int i = 0; i < s->nph; i++) {
        free(s->ph[i].name);
        amf_buf_free(&s->ph[i].value);
    }
    free(s->url);
    free(s->base_url);
    free(s->ds_id);
}

int main(int argc, char **argv)
{
    struct config cfg = {
        .flex = 1, .destination = "api", .channel = "api", .ping = 1, .connect_timeout = 10,
        .timeout = 60, .max_response = 64u << 20,
    };
    const char *pwfile = NULL, *argsfile = NULL;
    int first = parse_options(argc, argv, &cfg, &pwfile, &argsfile);
    /* before anything is allocated: an early exit leaks nothing */
    if (cfg.cookie_jar && prepare_cookie_jar(cfg.cookie_jar) != 0) return EXIT_USAGE;
    const char *url = argv[first];
    int ncalls;
    struct call *calls = split_calls(argc, argv, first + 1, &ncalls);
    if (argsfile) {
        if (calls[0].nargs) die_usage("--args-file replaces the arguments of the first call; give one or the other");
        size_t len;
        calls[0].args_file = read_file(argsfile, MAX_ARGSFILE, &len);
    }
    if (cfg.user) {
        if (strchr(cfg.user, ':') && cfg.flex)
            die_usage("--user must not contain ':' (Flex sends base64 \"user:password\")");
        cfg.password = read_password(pwfile);
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        errmsg("cannot initialise libcurl");
        return EXIT_NET;
    }
    struct session s;
    memset(&s, 0, sizeof s);
    s.cfg = &cfg;
    s.url = xstrndup(url, strlen(url));
    s.base_url = xstrndup(url, strlen(url));
    s.ds_id = xstrndup("nil", 3);
    s.next_response = 1;
    s.curl = remoting_open(&s);
    amf_arena *a = amf_arena_new(0);
    if (!a) {
        errmsg("out of memory");
        return EXIT_NET;
    }
    /* every argument is checked before anything goes on the wire */
    for (int i = 0; i < ncalls; i++) {
        parse_args(a, &calls[i]);
        amf_arena_reset(a);
    }
    int rc = run_calls(&s, a, calls, ncalls);

    amf_arena_free(a);
    session_free(&s);
    curl_global_cleanup();
    if (cfg.password) {
        explicit_bzero(cfg.password, strlen(cfg.password));
        free(cfg.password);
    }
    free(calls[0].args_file);
    free(calls);
    return rc;
}

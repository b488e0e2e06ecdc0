/* AMF gateway core: life cycle, envelope walking, classic and Flex dispatch, faults; see gateway.h.
 * Login and throttling are in login.c, crossdomain.xml in crossdomain.c, sessions in session.c. */
#include <ctype.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "pwworker.h"
#include "store_async.h"
#include "store.h"
#include "internal.h"

#define GW_AMF "application/x-amf"
#define GW_MAX_TARGET 256    /* longest "Service.method" / response URI we act on */

void gateway_config_default(struct gateway_config *c)
{
    memset(c, 0, sizeof *c);
    c->max_body = 1u << 20;
    c->max_arena = 32u << 20;
    c->max_depth = 64;
    c->max_elements = 65536;
    c->max_messages = 64;
    c->max_sessions = 100000;
    c->session_idle = 1800;
    c->phonebook_max = 1000;
    c->phonebook_cache = 16u << 20;
    c->crossdomain = "";
    c->crossdomain_secure = 1;
    c->yab_max_body = 64u << 10;
    c->yab_max_value = 1024;
    c->yab_max_records = 100;
    c->yab_max_reply = 8u << 20;
    c->throttle = (struct login_throttle_config){
        .rate = 5,
        .burst = 20,
        .fail_window = 600,
        .addr_max_failures = 20,
        .account_max_failures = 5,
        .lock_time = 300,
        .lock_check_interval = 60,
        .max_tracked = 200000,
    };
}

/* ------------------------------------------------------------------------------------------------
 * Life cycle
 * ---------------------------------------------------------------------------------------------- */

struct gateway *gateway_new(const struct gateway_config *cfg, struct store *st, char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return NULL;
    }
    struct gateway *gw = calloc(1, sizeof *gw);
    if (!gw) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    gw->cfg = *cfg;
    gw->st = st;
    gw->crossdomain_domains = strdup(cfg->crossdomain ? cfg->crossdomain : "");
    if (!gw->crossdomain_domains) {
        snprintf(err, errlen, "out of memory");
        free(gw);
        return NULL;
    }
    gw->cfg.crossdomain = gw->crossdomain_domains;
    if (cfg->max_sessions < 1 || cfg->session_idle < 1 || cfg->phonebook_max < 0 || cfg->max_body < 16) {
        snprintf(err, errlen, "gateway: max_sessions, session_idle and max_body must be positive");
        free(gw->crossdomain_domains);
        free(gw);
        return NULL;
    }
    if (gw_crossdomain_build(gw, err, errlen) < 0) {
        free(gw->crossdomain_domains);
        free(gw);
        return NULL;
    }
    amf_limits_default(&gw->lim);
    gw->lim.max_input = cfg->max_body;
    gw->lim.max_arena = cfg->max_arena;
    gw->lim.max_depth = cfg->max_depth;
    gw->lim.max_elements = cfg->max_elements;
    gw->lim.max_string = cfg->max_body > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)cfg->max_body;
    gw->lim.max_refs = cfg->max_elements * 4u > cfg->max_elements ? cfg->max_elements * 4u : cfg->max_elements;
    gw->lim.max_messages = cfg->max_messages;
    gw->opts.limits = &gw->lim;
    gw->opts.registry = NULL;
    gw->opts.flags = AMF_DEC_BORROW;
    gw->arena = amf_arena_new(cfg->max_arena);
    if (!gw->arena) {
        snprintf(err, errlen, "out of memory");
        free(gw->crossdomain_xml);
        free(gw->crossdomain_domains);
        free(gw);
        return NULL;
    }
    gw_sessions_init(gw);
    hmap_init(&gw->pb_cache);
    lt_init(&gw->own_lt, &cfg->throttle);
    gw->lt = &gw->own_lt;
    randombytes_buf(gw->mac_key, sizeof gw->mac_key);
    gw_registry_add(&gw->reg, &gw_phonebook_service);
    return gw;
}

void gateway_set_cookie_auth(struct gateway *gw, gw_cookie_fn fn, void *arg)
{
    gw->cookie_auth = fn;
    gw->cookie_arg = arg;
}

void gateway_set_throttle(struct gateway *gw, struct login_throttle *lt, const char *decoy_hash)
{
    gw->lt = lt ? lt : &gw->own_lt;
    snprintf(gw->decoy, sizeof gw->decoy, "%s", decoy_hash ? decoy_hash : "");
}

size_t gateway_revoke_user(struct gateway *gw, const char *user)
{
    size_t n = gw_sessions_revoke(gw, user);
    gw_pbcache_drop(gw, user);
    if (n) log_event(LOG_INFO, NULL, user, "amf_revoked", 0, "%zu session(s)", n);
    return n;
}

static size_t gw_hash_depth(void *arg)
{
    struct gateway *gw = arg;
    return gw->pw ? pwworker_queued(gw->pw) : 0;
}

int gateway_set_workers(struct gateway *gw, struct event_base *base, int threads, size_t queue)
{
    if (threads <= 0 || gw->pw) return 0;
    gw->pw = pwworker_new(base, threads, queue ? queue : 1);
    if (gw->pw) pwworker_set_cache(gw->pw, gw->pwcache);
    if (gw->pw) metrics_hash_pool("amf", gw_hash_depth, gw); /* ymsgd_hash_queue_depth{pool="amf"} */
    return gw->pw ? 0 : -1;
}

void gateway_set_store_async(struct gateway *gw, struct store_async *sa)
{
    gw->sa = sa;
}

void gateway_set_pwcache(struct gateway *gw, struct pwcache *pc)
{
    gw->pwcache = pc;
    if (gw->pw) pwworker_set_cache(gw->pw, pc);
}

void gateway_free(struct gateway *gw)
{
    if (!gw) return;
    /* Phonebook jobs of waiting requests finish first; their requests end as the password checks' do
     * below (done gets NULL: the HTTP side is gone). */
    gw->closing = 1;
    store_async_barrier(gw->sa);
    /* First: requests still waiting for a password check are finished (done gets NULL) and let go
     * of the sessions they hold. */
    metrics_hash_pool("amf", NULL, NULL);
    pwworker_free(gw->pw);
    gw->pw = NULL;
    gw_sessions_free(gw);
    gw_pbcache_free(gw);
    lt_free(&gw->own_lt);
    amf_arena_free(gw->arena);
    free(gw->crossdomain_xml);
    free(gw->crossdomain_domains);
    sodium_memzero(gw->mac_key, sizeof gw->mac_key);
    free(gw);
}


/* ------------------------------------------------------------------------------------------------
 * Envelope reading (our own walker over amf_decode, so one bad body value becomes a fault for that
 * body instead of failing the whole request)
 * ---------------------------------------------------------------------------------------------- */

struct rd {
    const uint8_t *p;  /* request body */
    size_t len;        /* its length */
    size_t off;        /* read position */
};

static int rd_u16(struct rd *r, uint16_t *v)
{
    if (r->len - r->off < 2) return -1;
    *v = (uint16_t)(r->p[r->off] << 8 | r->p[r->off + 1]);
    r->off += 2;
    return 0;
}

static int rd_u32(struct rd *r, uint32_t *v)
{
    if (r->len - r->off < 4) return -1;
    const uint8_t *p = r->p + r->off;
    *v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    r->off += 4;
    return 0;
}

static int rd_str(struct rd *r, struct amf_str *s)
{
    uint16_t n;
    if (rd_u16(r, &n) < 0 || r->len - r->off < n) return -1;
    s->ptr = (const char *)r->p + r->off;
    s->len = n;
    r->off += n;
    return 0;
}

/* NUL-terminated arena copy of a wire string (NULL when too long or containing NUL). */
static char *cstr(amf_arena *a, struct amf_str s, size_t max)
{
    if (!s.ptr || s.len > max || memchr(s.ptr, 0, s.len)) return NULL;
    return amf_arena_strdup(a, s.ptr, s.len);
}

static int has_avmplus(const struct amf_value *v)
{
    if (!v) return 0;
    if (v->flags & AMF_VF_AVMPLUS) return 1;
    if (v->type == AMF_ARRAY)
        for (uint32_t i = 0; i < v->u.array->dense_count; i++)
            if (v->u.array->dense[i]->flags & AMF_VF_AVMPLUS) return 1;
    return 0;
}

static double wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000);
}

/* Classic fault value: what Flash's onStatus handlers read, in the AMFPHP/Zend/PyAMF shape
 * (level, code, description, details) plus the RocketAMF/BlazeDS names (faultCode, faultString,
 * faultDetail) so either kind of client finds its fields. */
static struct amf_value *classic_fault(amf_arena *a, const char *code, const char *text)
{
    struct amf_value *o = amf_new_object(a, NULL);
    if (!o) return NULL;
    struct {
        const char *name;  /* member */
        const char *value; /* text */
    } m[] = {{"level", "error"},      {"code", code},          {"description", text}, {"details", ""},
             {"faultCode", code},     {"faultString", text},   {"faultDetail", ""}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        struct amf_value *s = amf_new_stringz(a, m[i].value);
        if (!s || amf_object_add(a, o, m[i].name, strlen(m[i].name), s)) return NULL;
    }
    return o;
}

/* Response target "<responseURI>/onResult" or "/onStatus". */
static char *reply_target(amf_arena *a, struct amf_str resp, int ok)
{
    const char *suffix = ok ? "/onResult" : "/onStatus";
    size_t rl = resp.ptr && resp.len <= GW_MAX_TARGET && !memchr(resp.ptr, 0, resp.len) ? resp.len : 0;
    char *t = amf_arena_alloc(a, rl + strlen(suffix) + 1);
    if (!t) return NULL;
    if (rl) memcpy(t, resp.ptr, rl);
    strcpy(t + rl, suffix);
    return t;
}

/* A session a body used or created carries over to the following bodies of the same request
 * (clients batch "login" and "sync" in one envelope) and gets its cookie set on the reply. */
static void use_session(struct gw_req *rq, struct gw_session *s)
{
    if (!s) return;
    rq->out_sess = s;
    rq->cookie_sess = s;
}

/* Splits "a.b.Service.method" on the last dot into arena strings. */
static int split_target(amf_arena *a, const char *t, const char **svc, const char **meth)
{
    const char *dot = strrchr(t, '.');
    if (!dot || dot == t || !dot[1]) return -1;
    char *s = amf_arena_strdup(a, t, (size_t)(dot - t));
    if (!s) return -1;
    *svc = s;
    *meth = dot + 1;
    return 0;
}

/* Runs one call; on success *out is the result, else -1 with the fault on call. */
static int run_call(struct gw_req *rq, struct gw_call *call, struct amf_value *args, struct amf_value **out)
{
    static struct amf_value *none[1];
    if (args && args->type == AMF_ARRAY && args->u.array->assoc_count == 0) {
        call->args = args->u.array->dense;
        call->nargs = args->u.array->dense_count;
    } else if (!args || args->type == AMF_NULL || args->type == AMF_UNDEFINED) {
        call->args = none;
        call->nargs = 0;
    } else if (args->type == AMF_ARRAY) {
        return gw_fault(call, GW_FAULT_ARGUMENT, "%s.%s: arguments must be a plain array (got named members)",
                        call->service, call->method);
    } else {
        /* A single non-array value is the one argument (Zend and PyAMF do the same). */
        struct amf_value **one = amf_arena_alloc(call->arena, sizeof *one);
        if (!one) return gw_fault(call, GW_FAULT_BUSY, "out of memory");
        one[0] = args;
        call->args = one;
        call->nargs = 1;
    }
    if (rq->cred_state < 0) return gw_fault(call, rq->cred_code, "%s", rq->cred_text);
    int rc = gw_invoke(&rq->gw->reg, call, out);
    /* The names are the client's: only ones the registry has (no "unknown" fault) escape the label cap. */
    if (!rq->suspended)
        metrics_amf_call(call->service, call->method, rc < 0 ? call->fault_code : "ok",
                         rc == 0 || strcmp(call->fault_code, GW_FAULT_NO_SERVICE) != 0);
    if (rc < 0 && !rq->suspended)
        log_event(LOG_DEBUG, call->peer, call->sess ? call->sess->user : NULL, "amf_fault", 0, "%s.%s: %s: %s",
                  call->service, call->method, call->fault_code, call->fault_string);
    return rc;
}

static void call_init(struct gw_req *rq, struct gw_call *call, struct gw_session *sess)
{
    memset(call, 0, sizeof *call);
    call->gw = rq->gw;
    call->sess = sess;
    call->arena = rq->arena;
    call->req = rq;
    call->peer = rq->in.peer ? rq->in.peer : "";
    call->amf3 = rq->amf3;
    call->service = "";
    call->method = "";
}

/* Classic NetConnection call: target "Service.method", value = argument array. */
static int classic_body(struct gw_req *rq, const struct in_body *b, struct amf_value **out)
{
    amf_arena *a = rq->arena;
    struct gw_call call;
    call_init(rq, &call, rq->cookie_sess);
    call.amf3 = rq->amf3 || has_avmplus(b->value);
    struct amf_value *res = NULL;
    const char *target = cstr(a, b->target, GW_MAX_TARGET);
    int rc;
    if (!target) {
        rc = gw_fault(&call, GW_FAULT_NO_SERVICE, "target URI is not a valid Service.method name");
    } else if (split_target(a, target, &call.service, &call.method) < 0) {
        rc = gw_fault(&call, GW_FAULT_NO_SERVICE, "target \"%.64s\" is not of the form Service.method", target);
    } else {
        rc = run_call(rq, &call, b->value, &res);
    }
    use_session(rq, call.sess);
    if (rc == 0) {
        if (call.amf3) res->flags |= AMF_VF_AVMPLUS;
        *out = res;
        return 1;
    }
    *out = classic_fault(a, call.fault_code, call.fault_string);
    /* A client sending AMF3 (objectEncoding 3) gets its fault in AMF3 too, as Zend does. */
    if (*out && call.amf3) (*out)->flags |= AMF_VF_AVMPLUS;
    return 0;
}

/* Flex reply: AcknowledgeMessage (or DSK when the request came as a small message) or
 * ErrorMessage, wrapped for AMF0 with the 0x11 marker. */
static struct amf_value *flex_reply(struct gw_req *rq, const struct amf_flex_msg *m, struct gw_session *sess,
                                    struct amf_value *body, const struct gw_call *fault)
{
    amf_arena *a = rq->arena;
    struct amf_flex_msg r;
    char mid[37];
    gw_uuid(mid);
    amf_flex_init(&r, fault ? AMF_FLEX_ERROR : AMF_FLEX_ACK);
    r.message_id = (struct amf_str){amf_arena_strdup(a, mid, 36), 36};
    r.correlation_id = m->message_id;
    r.client_id = m->client_id.ptr ? m->client_id : (sess ? (struct amf_str){sess->dsid, 36} : m->client_id);
    r.destination = m->destination;
    r.timestamp = wall_ms();
    r.body = body;
    struct amf_value *h = amf_new_object(a, NULL), *v;
    if (!h || !r.message_id.ptr) return NULL;
    if (sess) {
        if (!(v = amf_new_string(a, sess->dsid, 36)) || amf_object_add(a, h, "DSId", 4, v)) return NULL;
    }
    if (m->kind == AMF_FLEX_COMMAND) {
        if (!(v = amf_new_int(a, 1)) || amf_object_add(a, h, "DSMessagingVersion", 18, v)) return NULL;
    }
    r.headers = h;
    if (fault) {
        r.fault_code = (struct amf_str){fault->fault_code, (uint32_t)strlen(fault->fault_code)};
        r.fault_string = (struct amf_str){fault->fault_string, (uint32_t)strlen(fault->fault_string)};
        r.fault_detail = (struct amf_str){"", 0};
    }
    struct amf_value *out = NULL;
    if (!fault && m->small) {
        /* DSK body: the present AbstractMessage/AsyncMessage fields by name (libamf's writer). */
        struct amf_value *ext = amf_new_object(a, NULL);
        if (!ext) return NULL;
        struct amf_value *cid = r.client_id.ptr ? amf_new_string(a, r.client_id.ptr, r.client_id.len) : NULL;
        struct amf_value *cor = r.correlation_id.ptr ? amf_new_string(a, r.correlation_id.ptr, r.correlation_id.len)
                                                     : NULL;
        struct amf_value *msgid = amf_new_string(a, mid, 36), *ts = amf_new_number(a, r.timestamp);
        if (!msgid || !ts) return NULL;
        if (amf_object_add(a, ext, "body", 4, body ? body : amf_new_null(a)) ||
            (cid && amf_object_add(a, ext, "clientId", 8, cid)) || amf_object_add(a, ext, "headers", 7, h) ||
            amf_object_add(a, ext, "messageId", 9, msgid) || amf_object_add(a, ext, "timestamp", 9, ts) ||
            (cor && amf_object_add(a, ext, "correlationId", 13, cor)))
            return NULL;
        out = amf_new_external(a, "DSK", ext);
    } else if (amf_flex_build(a, &r, &out) != 0) {
        out = NULL;
    }
    if (out) out->flags |= AMF_VF_AVMPLUS;
    return out;
}

/* Decodes base64 "user:password" (CommandMessage LOGIN body, DSRemoteCredentials) and logs in.
 * Returns 1 ok, 0 bad credentials, -1 fault set. */
static int login_b64(struct gw_call *call, const struct amf_value *cred)
{
    if (!cred || cred->type != AMF_STRING || cred->u.s.len == 0 || cred->u.s.len > 4 * GW_MAX_PASSWORD)
        return gw_fault(call, GW_FAULT_AUTH, "Login failed: credentials not supplied");
    uint8_t *raw = amf_arena_alloc(call->arena, cred->u.s.len);
    size_t n = 0;
    if (!raw) return gw_fault(call, GW_FAULT_BUSY, "out of memory");
    if (sodium_base642bin(raw, cred->u.s.len, cred->u.s.ptr, cred->u.s.len, " \r\n", &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return gw_fault(call, GW_FAULT_AUTH, "Login failed: credentials are not base64 \"user:password\"");
    const uint8_t *colon = memchr(raw, ':', n);
    if (!colon) return gw_fault(call, GW_FAULT_AUTH, "Login failed: credentials are not \"user:password\"");
    size_t ulen = (size_t)(colon - raw);
    int rc = gw_login(call, (const char *)raw, ulen, (const char *)colon + 1, n - ulen - 1);
    sodium_memzero(raw, n);
    return rc;
}

static int flex_body(struct gw_req *rq, const struct in_body *b, const struct amf_flex_msg *m, struct amf_value **out)
{
    struct gateway *gw = rq->gw;
    amf_arena *a = rq->arena;
    struct gw_session *sess = NULL;
    char dsid[37];
    if (m->ds_id.ptr && m->ds_id.len == 36) {
        memcpy(dsid, m->ds_id.ptr, 36);
        dsid[36] = 0;
        sess = gw_session_by_dsid(gw, dsid);
        /* A session logged in with a cookie is not carried by its DSId alone. */
        if (sess && sess->user[0] && sess->bound && sess != rq->cookie_sess) {
            log_event(LOG_INFO, rq->in.peer, sess->user, "amf_dsid_without_cookie", 0, NULL);
            sess = NULL;
        }
    }
    if (!sess) sess = rq->cookie_sess;
    struct gw_call call;
    call_init(rq, &call, sess);
    call.amf3 = 1;
    struct amf_value *res = NULL;
    int rc = 0;
    (void)b;
    switch (m->kind) {
    case AMF_FLEX_COMMAND:
        switch (m->operation) {
        case AMF_FLEX_OP_CLIENT_PING:
        case AMF_FLEX_OP_CLUSTER_REQUEST:
        case AMF_FLEX_OP_TRIGGER_CONNECT:
            if (!call.sess && !(call.sess = gw_session_new(gw)))
                rc = gw_fault(&call, GW_FAULT_BUSY, "too many sessions; try again later");
            break;
        case AMF_FLEX_OP_LOGIN: {
            int ok = login_b64(&call, m->body);
            if (ok == 0) rc = gw_fault(&call, GW_FAULT_AUTH, "Login failed: wrong user name or password");
            else if (ok < 0) rc = -1;
            else if (!(res = amf_new_stringz(a, "success"))) rc = gw_fault(&call, GW_FAULT_BUSY, "out of memory");
            break;
        }
        case AMF_FLEX_OP_LOGOUT:
        case AMF_FLEX_OP_DISCONNECT:
            gw_logout(&call);
            break;
        default:
            rc = gw_fault(&call, GW_FAULT_MESSAGE, "CommandMessage operation %d is not supported by this endpoint",
                          (int)m->operation);
        }
        break;
    case AMF_FLEX_REMOTING: {
        const char *op = cstr(a, m->operation_name, GW_MAX_TARGET);
        const char *src = m->source.len ? cstr(a, m->source, GW_MAX_TARGET) : "";
        const char *dst = m->destination.len ? cstr(a, m->destination, GW_MAX_TARGET) : "";
        if (!op || !*op || !src || !dst) {
            rc = gw_fault(&call, GW_FAULT_NO_SERVICE, "RemotingMessage without a valid operation");
            break;
        }
        /* Service: source when set; else a dotted operation ("Phonebook.login", the seed's client);
         * else the destination (PyAMF's destination.operation). */
        if (*src) {
            call.service = src;
            call.method = op;
        } else if (split_target(a, op, &call.service, &call.method) < 0) {
            call.service = dst;
            call.method = op;
        }
        /* DSRemoteCredentials (RemoteObject.setRemoteCredentials): log in when not already. */
        struct amf_value *rcred = m->headers ? amf_object_get(m->headers, "DSRemoteCredentials") : NULL;
        if (rcred && rcred->type == AMF_STRING && rcred->u.s.len) {
            int ok = login_b64(&call, rcred);
            if (ok == 0) rc = gw_fault(&call, GW_FAULT_AUTH, "Login failed: wrong user name or password");
            else if (ok < 0) rc = -1;
            if (rc) break;
        }
        rc = run_call(rq, &call, m->body, &res);
        break;
    }
    default:
        rc = gw_fault(&call, GW_FAULT_MESSAGE, "%s is not a request message", amf_flex_class(m->kind));
    }
    use_session(rq, call.sess);
    *out = flex_reply(rq, m, call.sess, rc == 0 ? res : NULL, rc == 0 ? NULL : &call);
    return rc == 0;
}

/* Header "Credentials" {userid, password}: log in before the bodies run. */
static void credentials_header(struct gw_req *rq, const struct amf_value *v)
{
    struct gw_call call;
    call_init(rq, &call, rq->cookie_sess);
    const struct amf_value *u = amf_object_get(v, "userid"), *p = amf_object_get(v, "password");
    int rc;
    if (!u || u->type != AMF_STRING || !p || p->type != AMF_STRING)
        rc = gw_fault(&call, GW_FAULT_AUTH, "Credentials header needs string userid and password");
    else
        rc = gw_login(&call, u->u.s.ptr, u->u.s.len, p->u.s.ptr, p->u.s.len);
    if (rc == 0) gw_fault(&call, GW_FAULT_AUTH, "Credentials: wrong user name or password");
    rq->cookie_sess = call.sess;
    use_session(rq, call.sess);
    if (rc == 1) {
        rq->cred_state = 1;
        return;
    }
    rq->cred_state = -1;
    snprintf(rq->cred_code, sizeof rq->cred_code, "%s", call.fault_code);
    snprintf(rq->cred_text, sizeof rq->cred_text, "%s", call.fault_string);
}

static void reply_text(struct gw_response *out, int status, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reply_text(struct gw_response *out, int status, const char *reason, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n > sizeof buf - 2) n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    out->status = status;
    out->reason = reason;
    out->content_type = GW_TEXT;
    out->body = malloc((size_t)n);
    if (out->body) {
        memcpy(out->body, buf, (size_t)n);
        out->len = (size_t)n;
    }
}

static int content_type_ok(const char *ct)
{
    if (!ct) return 0;
    while (*ct == ' ' || *ct == '\t') ct++;
    size_t n = strlen(GW_AMF);
    return strncasecmp(ct, GW_AMF, n) == 0 && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

/* Pass 1: frames every header and body and decodes their values.  Returns 0, or -1 with a 400 reply. */
/* An envelope's 16-bit header or body count, within max_messages, and an arena array for that many
 * elements (NULL for none).  0, or -1 with the 400/413 in *out. */
static int read_count(struct gw_req *rq, struct rd *r, const char *what, size_t elem, void **arr, uint32_t *count,
                      struct gw_response *out)
{
    uint16_t n;
    if (rd_u16(r, &n) < 0) {
        reply_text(out, 400, "Bad Request", "AMF: envelope truncated at byte %zu", r->off);
        return -1;
    }
    if (n > rq->gw->cfg.max_messages) {
        reply_text(out, 400, "Bad Request", "AMF: %u %s exceed the limit of %u", n, what, rq->gw->cfg.max_messages);
        return -1;
    }
    *count = n;
    *arr = n ? amf_arena_alloc(rq->arena, n * elem) : NULL;
    if (n && !*arr) {
        reply_text(out, 413, "Payload Too Large", "AMF: request needs more memory than allowed");
        return -1;
    }
    return 0;
}

static int read_envelope(struct gw_req *rq, struct rd *r, uint16_t *version, struct amf_header **hdrs, uint32_t *nh,
                         struct in_body **bodies, uint32_t *nb, struct gw_response *out)
{
    struct gateway *gw = rq->gw;
    amf_arena *a = rq->arena;
    uint32_t n;
    void *arr;
    if (rd_u16(r, version) < 0) goto trunc;
    if (*version != 0 && *version != 1 && *version != 3) {
        reply_text(out, 400, "Bad Request", "AMF: unknown remoting version %u", *version);
        return -1;
    }
    if (read_count(rq, r, "headers", sizeof **hdrs, &arr, &n, out) < 0) return -1;
    *hdrs = arr;
    *nh = n;
    for (uint32_t i = 0; i < n; i++) {
        struct amf_header *h = &(*hdrs)[i];
        size_t consumed = 0;
        if (rd_str(r, &h->name) < 0 || r->off >= r->len) goto trunc;
        h->must_understand = r->p[r->off++];
        if (rd_u32(r, &h->length) < 0) goto trunc;
        int e = amf_decode(&gw->opts, a, AMF_AMF0, r->p + r->off, r->len - r->off, &h->value, &consumed);
        if (e) {
            reply_text(out, 400, "Bad Request", "AMF: header %u: %s at byte %zu", i + 1, amf_strerror(e),
                       r->off + consumed);
            return -1;
        }
        r->off += consumed;
    }
    if (read_count(rq, r, "bodies", sizeof **bodies, &arr, &n, out) < 0) return -1;
    *bodies = arr;
    *nb = n;
    for (uint32_t i = 0; i < n; i++) {
        struct in_body *b = &(*bodies)[i];
        uint32_t length;
        size_t consumed = 0;
        memset(b, 0, sizeof *b);
        if (rd_str(r, &b->target) < 0 || rd_str(r, &b->response) < 0 || rd_u32(r, &length) < 0) goto trunc;
        size_t start = r->off;
        int e = amf_decode(&gw->opts, a, AMF_AMF0, r->p + start, r->len - start, &b->value, &consumed);
        if (!e) {
            r->off = start + consumed;
            continue;
        }
        if (e == AMF_EARENA || e == AMF_ENOMEM) {
            reply_text(out, 413, "Payload Too Large", "AMF: body %u needs more memory than allowed", i + 1);
            return -1;
        }
        /* A bad value: the body gets a fault, provided we can find where the next one starts (the
         * length field, when it is real) or there is no next one. */
        b->value = NULL;
        b->err = e;
        b->err_off = start + consumed;
        if (i + 1 == n) {
            r->off = r->len;
        } else if (length != 0xFFFFFFFFu && length <= r->len - start && length > 0) {
            r->off = start + length;
        } else {
            reply_text(out, 400, "Bad Request", "AMF: body %u: %s at byte %zu", i + 1, amf_strerror(e), b->err_off);
            return -1;
        }
    }
    if (r->off != r->len) {
        reply_text(out, 400, "Bad Request", "AMF: %zu bytes after the last body", r->len - r->off);
        return -1;
    }
    return 0;
trunc:
    reply_text(out, 400, "Bad Request", "AMF: envelope truncated at byte %zu", r->off);
    return -1;
}

/* Builds the reply from the bodies run so far (all of them). */
static void encode_reply(struct gw_req *rq, struct gw_response *out)
{
    struct gateway *gw = rq->gw;
    struct amf_buf buf;
    amf_buf_init(&buf, 64u << 20);
    int e = amf_packet_encode(&gw->opts, &rq->reply, &buf);
    if (e) {
        amf_buf_free(&buf);
        log_event(LOG_WARN, rq->in.peer, NULL, "amf_encode_failed", 0, "%s", amf_strerror(e));
        reply_text(out, 500, "Internal Server Error", "AMF: cannot encode the reply: %s", amf_strerror(e));
        return;
    }
    out->status = 200;
    out->reason = "OK";
    out->content_type = GW_AMF;
    out->body = buf.data;
    out->len = buf.len;
}

/* A Flex ErrorMessage (GW_FAULT_MESSAGE, text) for a body that names no message to answer. */
static struct amf_value *flex_error(struct gw_req *rq, const char *text)
{
    struct amf_flex_msg none;
    struct gw_call fc;
    amf_flex_init(&none, AMF_FLEX_REMOTING);
    call_init(rq, &fc, NULL);
    gw_fault(&fc, GW_FAULT_MESSAGE, "%s", text);
    return flex_reply(rq, &none, NULL, NULL, &fc);
}

/* Runs one body and appends its reply.  0, or -1 with *out set (500). */
static int run_body(struct gw_req *rq, const struct in_body *b, struct gw_response *out)
{
    amf_arena *a = rq->arena;
    struct amf_value *v = NULL;
    int ok = 0;
    struct amf_flex_msg m;
    if (!b->value) {
        char text[160];
        snprintf(text, sizeof text, "undecodable AMF value: %s at byte %zu", amf_strerror(b->err), b->err_off);
        v = classic_fault(a, GW_FAULT_MESSAGE, text);
        if (v && rq->amf3) {
            /* Keep a Flex client's error handler working: answer with an ErrorMessage. */
            v = flex_error(rq, text);
        }
    } else if (rq->unknown_mu) {
        char text[160];
        snprintf(text, sizeof text, "header \"%s\" must be understood but is not supported", rq->unknown_mu);
        v = classic_fault(a, "Client.Header.MustUnderstand", text);
    } else if (b->target.len == 4 && !memcmp(b->target.ptr, "null", 4) && amf_flex_parse(a, b->value, &m) == 0) {
        ok = flex_body(rq, b, &m, &v);
    } else {
        ok = classic_body(rq, b, &v);
    }
    if (rq->suspended) return 0; /* this body runs again when the password check is done */
    const char *target = reply_target(a, b->response, ok);
    if (!v || !target || amf_packet_add_body(a, &rq->reply, target, "null", v) != 0) {
        reply_text(out, 500, "Internal Server Error", "AMF: out of memory building the reply");
        return -1;
    }
    return 0;
}

/* Holds (d = 1) or lets go of (d = -1) the sessions a waiting request refers to, so that neither
 * eviction nor expiry frees them meanwhile. */
static void req_pin(struct gw_req *rq, int d)
{
    if ((d > 0) == (rq->pinned != 0)) return;
    rq->pinned = d > 0;
    if (rq->cookie_sess) rq->cookie_sess->pins = (uint32_t)((int)rq->cookie_sess->pins + d);
    if (rq->out_sess) rq->out_sess->pins = (uint32_t)((int)rq->out_sess->pins + d);
}

/* Runs the headers and bodies not run yet.  Returns 1 when a login suspended the request (pins
 * held), else 0 with *out filled. */
static int req_run(struct gw_req *rq, struct gw_response *out)
{
    struct gateway *gw = rq->gw;
    req_pin(rq, -1);
    /* Sessions this request uses are not evicted for sessions it creates. */
    gw->req_gen++;
    if (rq->cookie_sess) rq->cookie_sess->gen = gw->req_gen;
    if (rq->out_sess) rq->out_sess->gen = gw->req_gen;
    for (; rq->next_hdr < rq->nh; rq->next_hdr++) {
        struct amf_str nm = rq->hdrs[rq->next_hdr].name;
        if (nm.len == 11 && !memcmp(nm.ptr, "Credentials", 11)) {
            rq->suspended = 0;
            credentials_header(rq, rq->hdrs[rq->next_hdr].value);
            if (rq->suspended) goto wait;
        }
    }
    for (; rq->next_body < rq->nb; rq->next_body++) {
        rq->suspended = 0;
        if (run_body(rq, &rq->bodies[rq->next_body], out) < 0) return 0;
        if (rq->suspended) goto wait;
    }
    encode_reply(rq, out);
    return 0;
wait:
    req_pin(rq, 1);
    return 1;
}

/* A request larger than amf_max_body (issue 9 item 10): the gateway's own limit answers, as an AMF
 * fault on "/N/onStatus" for every body whose response URI can be found in the first GW_HEAD_MAX
 * bytes (the framing only; no value is decoded), so a Flash or Flex client shows it like any other
 * fault.  Without a single response URI: a plain 413. */
static void oversize_reply(struct gw_req *rq, struct gw_response *out)
{
    struct gateway *gw = rq->gw;
    amf_arena *a = rq->arena;
    struct rd r = {rq->in.body, rq->in.len < GW_HEAD_MAX ? rq->in.len : GW_HEAD_MAX, 0};
    uint16_t version = 0, n = 0;
    uint32_t found = 0;
    char text[160];
    snprintf(text, sizeof text, "request of %zu bytes exceeds amf_max_body (%zu bytes)", rq->in.len,
             gw->cfg.max_body);
    log_event(LOG_INFO, rq->in.peer, NULL, "amf_too_large", 0, "%s", text);
    if (!r.p || rd_u16(&r, &version) < 0 || (version != 0 && version != 1 && version != 3) || rd_u16(&r, &n) < 0)
        goto plain;
    amf_packet_init(&rq->reply, version);
    for (uint32_t i = 0; i < n; i++) { /* headers: skipped by their length (an unknown length ends the walk) */
        struct amf_str name;
        uint32_t len;
        if (rd_str(&r, &name) < 0 || r.off >= r.len) goto plain;
        r.off++;
        if (rd_u32(&r, &len) < 0 || len > r.len - r.off) goto plain;
        r.off += len;
    }
    if (rd_u16(&r, &n) < 0) goto plain;
    for (uint32_t i = 0; i < n && i < gw->cfg.max_messages; i++) {
        struct amf_str target, resp;
        uint32_t len;
        if (rd_str(&r, &target) < 0 || rd_str(&r, &resp) < 0 || rd_u32(&r, &len) < 0) break;
        struct amf_value *v;
        if (target.len == 4 && !memcmp(target.ptr, "null", 4)) { /* Flex: an ErrorMessage */
            v = flex_error(rq, text);
        } else {
            v = classic_fault(a, GW_FAULT_MESSAGE, text);
        }
        const char *t = reply_target(a, resp, 0);
        if (!v || !t || amf_packet_add_body(a, &rq->reply, t, "null", v) != 0) goto plain;
        found++;
        if (len > r.len - r.off) break; /* the next body starts beyond what was kept */
        r.off += len;
    }
    if (!found) goto plain;
    encode_reply(rq, out);
    return;
plain:
    reply_text(out, 413, "Payload Too Large", "AMF gateway: %s", text);
}

/* Decodes the envelope and runs it.  Returns 1 when suspended, else 0 with *out filled. */
static int req_start(struct gw_req *rq, struct gw_response *out)
{
    amf_arena *a = rq->arena;
    struct rd r = {rq->in.body, rq->in.len, 0};
    uint16_t version = 0;
    if (rq->in.len > rq->gw->cfg.max_body) {
        oversize_reply(rq, out);
        return 0;
    }
    if (read_envelope(rq, &r, &version, &rq->hdrs, &rq->nh, &rq->bodies, &rq->nb, out) < 0) return 0;
    rq->amf3 = 0;
    for (uint32_t i = 0; i < rq->nb; i++)
        if (rq->bodies[i].value && has_avmplus(rq->bodies[i].value)) rq->amf3 = 1;
    amf_packet_init(&rq->reply, version);
    for (uint32_t i = 0; i < rq->nh; i++) {
        struct amf_str nm = rq->hdrs[i].name;
        if (nm.len == 11 && !memcmp(nm.ptr, "Credentials", 11)) continue;
        if (rq->hdrs[i].must_understand && !rq->unknown_mu) rq->unknown_mu = cstr(a, nm, 64) ? cstr(a, nm, 64) : "?";
    }
    return req_run(rq, out);
}

/* The reply's cookie and the last-resort 500. */
static void req_finish(struct gw_req *rq, struct gw_response *out)
{
    if (out->status == 200 && rq->out_sess && !rq->out_sess->cookie_sent) {
        memcpy(out->set_cookie, rq->out_sess->cookie, sizeof out->set_cookie);
        rq->out_sess->cookie_sent = 1;
    }
    if (!out->body && out->status != 200) reply_text(out, 500, "Internal Server Error", "AMF: out of memory");
}

/* Lets go of the pins and hands the arena back to the gateway (for the next request). */
static void req_release(struct gw_req *rq)
{
    struct gateway *gw = rq->gw;
    req_pin(rq, -1);
    if (rq->arena) {
        amf_arena_reset(rq->arena);
        if (!gw->arena) gw->arena = rq->arena; /* reused by the next request */
        else amf_arena_free(rq->arena);
        rq->arena = NULL;
    }
}

/* Checks the method and headers and sets the request up.  Returns 0, or -1 with *out set. */
static int req_init(struct gateway *gw, struct gw_req *rq, const struct gw_request *in, struct gw_response *out)
{
    memset(out, 0, sizeof *out);
    if (!in->is_post) {
        reply_text(out, 405, "Method Not Allowed", "AMF gateway: send POST with Content-Type: application/x-amf");
        return -1;
    }
    if (!content_type_ok(in->content_type)) {
        reply_text(out, 415, "Unsupported Media Type", "AMF gateway: Content-Type must be application/x-amf");
        return -1;
    }
    if (in->len > gw->cfg.max_body && !in->body) {
        reply_text(out, 413, "Payload Too Large", "AMF gateway: request of %zu bytes exceeds amf_max_body (%zu bytes)",
                   in->len, gw->cfg.max_body);
        return -1;
    }
    rq->gw = gw;
    rq->in = *in;
    snprintf(rq->peer, sizeof rq->peer, "%s", in->peer ? in->peer : "");
    /* Only a value of the right length can name a session (never a truncated longer one). */
    int cookie_ok = in->cookie && strlen(in->cookie) == GW_COOKIE_LEN;
    snprintf(rq->cookie, sizeof rq->cookie, "%s", cookie_ok ? in->cookie : "");
    rq->in.peer = rq->peer;
    rq->in.cookie = cookie_ok ? rq->cookie : NULL;
    rq->in.content_type = NULL;
    rq->arena = gw->arena ? gw->arena : amf_arena_new(gw->cfg.max_arena);
    if (!rq->arena) {
        reply_text(out, 500, "Internal Server Error", "AMF: out of memory");
        return -1;
    }
    gw->arena = NULL;
    gw->req_gen++;
    rq->cookie_sess = gw_session_by_cookie(gw, rq->in.cookie);
    return 0;
}

void gateway_handle(struct gateway *gw, const struct gw_request *in, struct gw_response *out)
{
    struct gw_req rq;
    memset(&rq, 0, sizeof rq);
    if (req_init(gw, &rq, in, out) < 0) return;
    req_start(&rq, out); /* never suspends: async is off */
    req_finish(&rq, out);
    req_release(&rq);
}

int gateway_handle_async(struct gateway *gw, const struct gw_request *in, struct gw_response *out,
                         struct gw_req **pend)
{
    *pend = NULL;
    if (!gw->pw) {
        gateway_handle(gw, in, out);
        return 0;
    }
    struct gw_req *rq = calloc(1, sizeof *rq);
    if (!rq) {
        memset(out, 0, sizeof *out);
        reply_text(out, 500, "Internal Server Error", "AMF: out of memory");
        return 0;
    }
    if (req_init(gw, rq, in, out) < 0) {
        free(rq);
        return 0;
    }
    rq->async = 1;
    if (req_start(rq, out)) {
        *pend = rq;
        return 1;
    }
    req_finish(rq, out);
    req_release(rq);
    sodium_memzero(rq, sizeof *rq);
    free(rq);
    return 0;
}

void gateway_pending_wait(struct gw_req *pend, gw_done_fn done, void *arg)
{
    pend->done = done;
    pend->done_arg = arg;
}

void gateway_pending_abandon(struct gw_req *pend)
{
    pend->abandoned = 1;
    pend->done = NULL;
    pend->in.body = NULL;
}

void gw_store_done(struct gw_req *rq)
{
    struct gw_response out;
    memset(&out, 0, sizeof out);
    if (rq->abandoned || rq->gw->closing) {
        if (rq->done) rq->done(rq->done_arg, NULL);
    } else {
        if (req_run(rq, &out)) return; /* waits again (another body) */
        req_finish(rq, &out);
        if (rq->done) rq->done(rq->done_arg, &out);
        else free(out.body);
    }
    free(rq->pb_blob);
    rq->pb_blob = NULL;
    req_release(rq);
    sodium_memzero(rq, sizeof *rq);
    free(rq);
}

/* A hash worker's answer (ok = -1: the gateway is going away); see internal.h. */
void gw_login_checked(void *arg, int ok)
{
    struct gw_req *rq = arg;
    struct gw_response out;
    memset(&out, 0, sizeof out);
    if (ok < 0 || rq->abandoned) {
        if (rq->done) rq->done(rq->done_arg, NULL);
    } else {
        rq->have_verdict = 1;
        rq->verdict = ok;
        if (req_run(rq, &out)) return; /* another login in the same request */
        req_finish(rq, &out);
        if (rq->done) rq->done(rq->done_arg, &out);
        else free(out.body);
    }
    req_release(rq);
    sodium_memzero(rq, sizeof *rq);
    free(rq);
}

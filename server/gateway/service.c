/* Service registry and argument checking; see service.h. */
#include "service.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int gw_registry_add(struct gw_registry *r, const struct gw_service *s)
{
    if (r->count >= GW_MAX_SERVICES) return -1;
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->services[i]->name, s->name) == 0) return -1;
    r->services[r->count++] = s;
    return 0;
}

int gw_fault(struct gw_call *call, const char *code, const char *fmt, ...)
{
    va_list ap;
    snprintf(call->fault_code, sizeof call->fault_code, "%s", code);
    va_start(ap, fmt);
    vsnprintf(call->fault_string, sizeof call->fault_string, fmt, ap);
    va_end(ap);
    return -1;
}

/* Class names may borrow from the request bytes (not NUL-terminated): compare by length. */
static int class_is(const struct amf_value *v, const char *name)
{
    const struct amf_str *cn = &v->u.object->traits->class_name;
    return cn->len == strlen(name) && !memcmp(cn->ptr, name, cn->len);
}

static int is_list_class(const struct amf_value *v)
{
    return class_is(v, "flex.messaging.io.ArrayCollection") || class_is(v, "flex.messaging.io.ArrayList") ||
           class_is(v, "mx.collections.ArrayCollection");
}

unsigned gw_type_of(const struct amf_value *v)
{
    if (!v) return GW_T_NULL;
    switch (v->type) {
    case AMF_UNDEFINED:
    case AMF_NULL: return GW_T_NULL;
    case AMF_BOOL: return GW_T_BOOL;
    case AMF_INT:
    case AMF_DOUBLE: return GW_T_NUMBER;
    case AMF_STRING: return GW_T_STRING;
    case AMF_DATE: return GW_T_DATE;
    case AMF_XML:
    case AMF_XMLDOC: return GW_T_XML;
    case AMF_ARRAY: return GW_T_ARRAY;
    case AMF_BYTEARRAY: return GW_T_BYTES;
    case AMF_OBJECT:
        if (v->u.object->traits->externalizable && is_list_class(v) && v->u.object->ext &&
            v->u.object->ext->type == AMF_ARRAY)
            return GW_T_LIST;
        return GW_T_OBJECT;
    default: return GW_T_OTHER;
    }
}

struct amf_value *gw_list_array(struct amf_value *v)
{
    unsigned t = gw_type_of(v);
    if (t == GW_T_ARRAY) return v;
    if (t == GW_T_LIST) return v->u.object->ext;
    return NULL;
}

/* Human name of a value's type for fault texts (class names cut at 64 bytes). */
static const char *type_word(const struct amf_value *v, char *buf, size_t cap)
{
    switch (gw_type_of(v)) {
    case GW_T_NULL: return v && v->type == AMF_UNDEFINED ? "undefined" : "null";
    case GW_T_LIST: return "ArrayCollection";
    case GW_T_NUMBER: return "number";
    case GW_T_OBJECT: {
        const struct amf_str *cn = &v->u.object->traits->class_name;
        if (!cn->len) return "object";
        snprintf(buf, cap, "%.*s", (int)(cn->len > 64 ? 64 : cn->len), cn->ptr);
        return buf;
    }
    default: return amf_type_name(v->type);
    }
}

/* "a string or null" for a GW_T_* mask. */
static void types_text(unsigned types, char *out, size_t cap)
{
    static const struct {
        unsigned bit;      /* GW_T_* */
        const char *word;  /* its name */
    } names[] = {
        {GW_T_STRING, "a string"}, {GW_T_NUMBER, "a number"},   {GW_T_BOOL, "a boolean"},
        {GW_T_ARRAY, "an array"},  {GW_T_LIST, "an ArrayCollection"}, {GW_T_OBJECT, "an object"},
        {GW_T_DATE, "a date"},     {GW_T_BYTES, "a ByteArray"}, {GW_T_XML, "XML"},
        {GW_T_OTHER, "a vector or dictionary"}, {GW_T_NULL, "null"},
    };
    size_t n = 0, used = 0, total = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (types & names[i].bit) total++;
    out[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(types & names[i].bit)) continue;
        const char *sep = n == 0 ? "" : (n + 1 == total ? " or " : ", ");
        int w = snprintf(out + used, cap - used, "%s%s", sep, names[i].word);
        if (w < 0 || (size_t)w >= cap - used) break;
        used += (size_t)w;
        n++;
    }
}

int gw_invoke(const struct gw_registry *r, struct gw_call *call, struct amf_value **result)
{
    const struct gw_service *svc = NULL;
    const struct gw_method *m = NULL;
    *result = NULL;
    for (size_t i = 0; i < r->count && !svc; i++)
        if (strcmp(r->services[i]->name, call->service) == 0) svc = r->services[i];
    if (!svc)
        return gw_fault(call, GW_FAULT_NO_SERVICE, "unknown service \"%.64s\" (in %.64s.%.64s)", call->service,
                        call->service, call->method);
    for (size_t i = 0; i < svc->count && !m; i++)
        if (strcmp(svc->methods[i].name, call->method) == 0) m = &svc->methods[i];
    if (!m) return gw_fault(call, GW_FAULT_NO_SERVICE, "unknown method %s.%.64s", svc->name, call->method);
    if (call->nargs < m->min_args || call->nargs > m->max_args) {
        if (m->min_args == m->max_args)
            return gw_fault(call, GW_FAULT_ARGUMENT, "%s.%s takes %u argument%s, got %u", svc->name, m->name,
                            m->min_args, m->min_args == 1 ? "" : "s", call->nargs);
        return gw_fault(call, GW_FAULT_ARGUMENT, "%s.%s takes %u to %u arguments, got %u", svc->name, m->name,
                        m->min_args, m->max_args, call->nargs);
    }
    for (uint32_t i = 0; i < call->nargs; i++) {
        const struct gw_param *p = &m->params[i];
        if (gw_type_of(call->args[i]) & p->types) continue;
        char want[160], got[80];
        types_text(p->types, want, sizeof want);
        return gw_fault(call, GW_FAULT_ARGUMENT, "%s.%s: argument %u (%s) must be %s, got %s", svc->name, m->name,
                        i + 1, p->name, want, type_word(call->args[i], got, sizeof got));
    }
    int rc = m->fn(call, result);
    if (rc == 0 && !*result) {
        *result = amf_new_null(call->arena);
        if (!*result) return gw_fault(call, GW_FAULT_BUSY, "%s.%s: out of memory", svc->name, m->name);
    }
    if (rc != 0 && !call->fault_code[0]) gw_fault(call, GW_FAULT_PROCESSING, "%s.%s failed", svc->name, m->name);
    return rc == 0 ? 0 : -1;
}

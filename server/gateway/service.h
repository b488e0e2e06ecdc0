/* Service registry of the AMF gateway: services register methods with their arity and argument
 * types; gw_invoke() finds the method, checks the arguments and calls it, turning every problem
 * (unknown service or method, wrong count, wrong type) into a precise fault instead of a crash. */
#ifndef YMSGD_GATEWAY_SERVICE_H
#define YMSGD_GATEWAY_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include <amf/amf.h>

struct gateway;
struct gw_req;
struct gw_session;

/* Argument type bits (a parameter accepts the union of its bits). */
#define GW_T_NULL    0x0001u /* null or undefined (also what a missing optional argument is) */
#define GW_T_BOOL    0x0002u
#define GW_T_NUMBER  0x0004u /* AMF3 integer or double */
#define GW_T_STRING  0x0008u
#define GW_T_DATE    0x0010u
#define GW_T_ARRAY   0x0020u /* AMF0 strict/ECMA or AMF3 array */
#define GW_T_LIST    0x0040u /* ArrayCollection / ArrayList (externalizable wrapper of an array) */
#define GW_T_OBJECT  0x0080u /* any other object (anonymous or typed) */
#define GW_T_BYTES   0x0100u /* ByteArray */
#define GW_T_XML     0x0200u /* XML or XMLDocument */
#define GW_T_OTHER   0x0400u /* vectors, dictionaries */
#define GW_T_ANY     0x07FFu

/* Fault codes used by the gateway (Flex/BlazeDS spelling). */
#define GW_FAULT_NO_SERVICE  "Server.ResourceUnavailable"
#define GW_FAULT_ARGUMENT    "Client.Argument"
#define GW_FAULT_AUTH        "Client.Authentication"
#define GW_FAULT_PROCESSING  "Server.Processing"
#define GW_FAULT_BUSY        "Server.Busy"
#define GW_FAULT_MESSAGE     "Client.Message"

struct gw_call {
    struct gateway *gw;          /* the gateway (store, config) */
    struct gw_session *sess;     /* caller's session, or NULL (methods may create one) */
    amf_arena *arena;            /* the request's arena: results are built here */
    const char *peer;            /* client address */
    const char *service;         /* service name as called */
    const char *method;          /* method name as called */
    struct amf_value **args;     /* arguments */
    uint32_t nargs;              /* number of arguments */
    int amf3;                    /* 1 when the request carried AMF3 values (Flex, or 0x11 in AMF0) */
    char fault_code[48];         /* set by gw_fault() */
    char fault_string[256];      /* set by gw_fault() */
    struct gw_req *req;          /* request running the call (password checks may suspend it), or NULL */
};

/* A method returns 0 with *result set (built in call->arena), or -1 after gw_fault(). */
typedef int (*gw_method_fn)(struct gw_call *call, struct amf_value **result);

struct gw_param {
    const char *name;            /* for fault texts */
    unsigned types;              /* GW_T_* bits accepted */
};

struct gw_method {
    const char *name;            /* method name */
    uint32_t min_args;           /* arguments required */
    uint32_t max_args;           /* arguments accepted (entries in params) */
    const struct gw_param *params; /* max_args entries */
    gw_method_fn fn;             /* implementation */
};

struct gw_service {
    const char *name;            /* service (class) name, e.g. "Phonebook" */
    const struct gw_method *methods; /* its methods */
    size_t count;                /* number of methods */
};

#define GW_MAX_SERVICES 16

struct gw_registry {
    const struct gw_service *services[GW_MAX_SERVICES]; /* registered services */
    size_t count;                /* entries used */
};

/* Returns 0, or -1 when the registry is full or the name is taken. */
int gw_registry_add(struct gw_registry *r, const struct gw_service *s);
/* Records a fault on call (printf-style faultString).  Always returns -1. */
int gw_fault(struct gw_call *call, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Finds call->service/call->method, checks call->args and runs the method.  0 with *result, or -1
 * with the fault set on call. */
int gw_invoke(const struct gw_registry *r, struct gw_call *call, struct amf_value **result);
/* The GW_T_* bit describing v. */
unsigned gw_type_of(const struct amf_value *v);
/* The array inside v: v itself for arrays, the source of an ArrayCollection/ArrayList, else NULL. */
struct amf_value *gw_list_array(struct amf_value *v);

#endif

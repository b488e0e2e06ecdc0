/* librtmp (Debian librtmp-dev) AMF0 decode/encode for bench_amf; see bench_rtmp.h. */
#include "bench_rtmp.h"

#include <librtmp/amf.h>
#include <stdlib.h>

int rtmp_decode_once(const void *buf, size_t len)
{
    AMFObjectProperty p;
    int n = AMFProp_Decode(&p, buf, (int)len, 0);
    AMFProp_Reset(&p);
    return n;
}

void *rtmp_tree_new(const void *buf, size_t len)
{
    AMFObjectProperty *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    if (AMFProp_Decode(p, buf, (int)len, 0) != (int)len) {
        AMFProp_Reset(p);
        free(p);
        return NULL;
    }
    return p;
}

size_t rtmp_tree_encode(void *tree, void *out, size_t cap)
{
    char *end = AMFProp_Encode(tree, out, (char *)out + cap);
    return end ? (size_t)(end - (char *)out) : 0;
}

void rtmp_tree_free(void *tree)
{
    if (!tree) return;
    AMFProp_Reset(tree);
    free(tree);
}

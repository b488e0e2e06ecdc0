/* librtmp's AMF0 codec behind a narrow interface: its amf.h enum names (AMF_STRING, AMF_OBJECT, ...)
 * collide with libamf's, so it lives in its own translation unit. */
#ifndef BENCH_RTMP_H
#define BENCH_RTMP_H
#include <stddef.h>

/* Decodes one AMF0 value and frees the tree; returns the bytes consumed, or -1. */
int rtmp_decode_once(const void *buf, size_t len);
/* librtmp's property tree of one AMF0 value (strings point into buf); NULL on failure. */
void *rtmp_tree_new(const void *buf, size_t len);
/* Encodes the tree into out; returns the length or 0 when it does not fit. */
size_t rtmp_tree_encode(void *tree, void *out, size_t cap);
void rtmp_tree_free(void *tree);
#endif

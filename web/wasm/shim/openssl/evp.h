/* The slice of OpenSSL's EVP digest interface that lib/ymsg/auth.c uses, for the WebAssembly build
 * only: emscripten has no OpenSSL, and lib/ stays untouched.  MD5 is the only digest (md5.c). */
#ifndef YMSG_WEB_SHIM_EVP_H
#define YMSG_WEB_SHIM_EVP_H

#include <stddef.h>

#define EVP_MAX_MD_SIZE 64

typedef struct evp_md_st EVP_MD;
typedef struct evp_md_ctx_st EVP_MD_CTX;
typedef struct engine_st ENGINE;

const EVP_MD *EVP_md5(void);
EVP_MD_CTX *EVP_MD_CTX_new(void);
void EVP_MD_CTX_free(EVP_MD_CTX *ctx);
int EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl);
int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t cnt);
int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s);

#endif

/* crypt_r() for the WebAssembly build (lib/ymsg/auth.c's method-0 hashes): emscripten's libc has no
 * libcrypt.  Only the MD5-crypt "$1$" scheme is implemented (md5.c); other settings fail with NULL. */
#ifndef YMSG_WEB_SHIM_CRYPT_H
#define YMSG_WEB_SHIM_CRYPT_H

struct crypt_data {
    char output[128];   /* the "$1$salt$hash" result */
};

char *crypt_r(const char *phrase, const char *setting, struct crypt_data *data);

#endif

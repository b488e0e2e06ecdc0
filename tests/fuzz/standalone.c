/* Replays a libFuzzer seed corpus through a harness without libFuzzer (gcc builds, plain `meson test`).
 * Usage: fuzz_NAME FILE_OR_DIR...  Every regular file is fed once to LLVMFuzzerTestOneInput; a harness
 * that crashes or trips a sanitizer fails the test.  It also feeds every prefix of each seed, so the
 * "truncated input" paths are exercised even without a fuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return -1; }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) { fclose(f); return -1; }
    for (;;) {
        if (len == cap) {
            uint8_t *n = realloc(buf, cap * 2);
            if (!n) { free(buf); fclose(f); return -1; }
            buf = n; cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        if (got == 0) break;
        len += got;
    }
    fclose(f);
    /* the whole seed, then every prefix up to 4 KiB (copied so ASan sees the exact bounds) */
    LLVMFuzzerTestOneInput(buf, len);
    size_t lim = len < 4096 ? len : 4096;
    for (size_t i = 0; i < lim; i++) {
        uint8_t *p = malloc(i ? i : 1);
        if (!p) break;
        memcpy(p, buf, i);
        LLVMFuzzerTestOneInput(p, i);
        free(p);
    }
    free(buf);
    return 0;
}

static int run_path(const char *path, int *count)
{
    struct stat st;
    if (stat(path, &st) != 0) { perror(path); return -1; }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) { perror(path); return -1; }
        struct dirent *e;
        int rc = 0;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            if (run_path(sub, count) != 0) rc = -1;
        }
        closedir(d);
        return rc;
    }
    (*count)++;
    return run_file(path);
}

int main(int argc, char **argv)
{
    int count = 0, rc = 0;
    for (int i = 1; i < argc; i++)
        if (run_path(argv[i], &count) != 0) rc = 1;
    printf("replayed %d seed file(s)\n", count);
    if (count == 0) { fprintf(stderr, "no seed files found\n"); return 1; }
    return rc;
}

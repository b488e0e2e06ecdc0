/* Fuzz harness for the control socket's request decoder (server/admin/admin_proto.c): every line of
 * the input is split into words; the words must be non-empty, free of separators, inside the line,
 * in order, and a word limit must hold exactly; the free text of a `broadcast` line stays inside it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    for (char *line = buf, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        size_t len = strlen(line);
        char *copy = strdup(line);
        char *argv[8];
        int n = admin_split(line, argv, 8);
        if (n < -1 || n > 8) abort();
        if (n >= 0) {
            const char *prev = line;
            for (int i = 0; i < n; i++) {
                if (!argv[i][0] || strpbrk(argv[i], " \t\r")) abort();
                if (argv[i] < prev || argv[i] + strlen(argv[i]) > line + len) abort();
                prev = argv[i] + strlen(argv[i]);
            }
        }
        /* free-text commands: the text lies inside the line, after the name, and holds no CR */
        char *copy2 = strdup(copy ? copy : "");
        if (copy2) {
            char *text = admin_rest(copy2, "broadcast");
            if (text && (text < copy2 || text > copy2 + strlen(copy2) || strchr(text, '\r'))) abort();
            if (text && !strstr(copy ? copy : "", "broadcast")) abort();
            /* valid UTF-8 stays valid when cut after any complete character (ASCII) */
            if (text && admin_utf8_valid(text)) {
                size_t tl = strlen(text);
                while (tl && ((unsigned char)text[tl - 1] >= 0x80)) tl--;
                text[tl] = 0;
                if (!admin_utf8_valid(text)) abort();
            }
            free(copy2);
        }
        /* a larger limit never gives a different answer when the smaller one sufficed */
        if (copy) {
            char *argv2[64];
            int m = admin_split(copy, argv2, 64);
            if (n >= 0 && m != n) abort();
            if (n < 0 && m >= 0 && m <= 8) abort();
            free(copy);
        }
    }
    free(buf);
    return 0;
}

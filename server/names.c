/* Yahoo id validation shared by every module. */
#include <stddef.h>

#include "server.h"

int name_normalize(const char *in, size_t len, char out[NAME_MAX_LEN + 1])
{
    if (!in || len == 0 || len > NAME_MAX_LEN) return -1;
    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (i > 0 && (ch == '.' || ch == '_' || ch == '-'));
        if (!ok) return -1;
        out[i] = ch;
    }
    out[len] = 0;
    return 0;
}

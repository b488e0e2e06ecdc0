/* One growth rule for the server's arrays; see grow.h. */
#include "grow.h"

#include <stdint.h>
#include <stdlib.h>

void *(*grow_realloc)(void *p, size_t n) = realloc;

int grow_array(void **v, size_t *cap, size_t n, size_t size, size_t first)
{
    if (n < *cap) return 0;
    if (*cap > SIZE_MAX / 2) return -1;
    /* x1.5: still amortised O(1) per element, and a full array wastes a third at most instead of a
     * half (every online session holds such arrays: its watch list, its watchers' entries). */
    size_t ncap = *cap ? *cap + (*cap > 1 ? *cap / 2 : 1) : (first ? first : 1);
    while (ncap <= n) {
        if (ncap > SIZE_MAX / 2) return -1;
        ncap += ncap > 1 ? ncap / 2 : 1;
    }
    if (size && ncap > SIZE_MAX / size) return -1;
    void *nv = grow_realloc(*v, ncap * size);
    if (!nv) return -1;
    *v = nv;
    *cap = ncap;
    return 0;
}

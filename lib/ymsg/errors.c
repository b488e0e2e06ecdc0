/* Error texts, generated from the YMSG_ERRORS X-macro so a new code cannot lack one. */
#include "ymsg/ymsg.h"

const char *ymsg_strerror(int err)
{
    switch (err) {
    case YMSG_OK:
        return "success";
#define YMSG_ERR_CASE_(name, val, text) \
    case val:                            \
        return text;
        YMSG_ERRORS(YMSG_ERR_CASE_)
#undef YMSG_ERR_CASE_
    default:
        return "unknown error";
    }
}

/* The control socket's request decoder, on its own so the fuzz harness compiles it in (admin.h). */
#ifndef YMSGD_ADMIN_PROTO_H
#define YMSGD_ADMIN_PROTO_H

/* Splits one request line in place into at most max words (separated by spaces, tabs and CRs; the
 * line holds no LF).  Returns their number, or -1 when there are more than max. */
int admin_split(char *line, char **argv, int max);

/* For a command whose argument is free text (broadcast TEXT): when line's first word is name, returns
 * the text after it and one blank (spaces kept, CRs cut off at the first one), else NULL. */
char *admin_rest(char *line, const char *name);

/* 1 when s is well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF):
 * clients drop a system message that is not (Pidgin checks with g_utf8_validate). */
int admin_utf8_valid(const char *s);

#endif

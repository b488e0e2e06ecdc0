/* The 71 RocketAMF fixtures: every file decodes to exactly what EXPECTED.md says (transcribed into
 * fixtures_expected.txt in amf_dump() notation), uses every byte, re-encodes to bytes our decoder
 * reads back as an identical graph, and re-encodes byte for byte (packets: except the length fields,
 * which RocketAMF left at 0xFFFFFFFF and we write as real lengths).  Usage: test_amf_fixtures FIXTURE_DIR EXPECTED_TXT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amf/amf.h"

static const char *fixture_dir;
static const char *expected_path;

/* ---------------------------------------------------------------------------------------------- */
/* The test class of amf3-externalizable.bin: two raw big-endian doubles, {one, two}. */

static int ext_test_read(struct amf_ext_io *io, struct amf_value *obj, void *user)
{
    double one, two;
    int r = amf_ext_read_double(io, &one);
    if (!r) r = amf_ext_read_double(io, &two);
    if (r) return r;
    amf_arena *a = amf_ext_arena(io);
    struct amf_value *o = amf_new_object(a, NULL);
    if (!o || amf_object_set(a, o, "one", amf_new_double(a, one)) ||
        amf_object_set(a, o, "two", amf_new_double(a, two)))
        return AMF_EARENA;
    obj->u.object->ext = o;
    return 0;
}

static int ext_test_write(struct amf_ext_io *io, const struct amf_value *obj, void *user)
{
    int ok1, ok2;
    double one = amf_number(amf_object_get(obj->u.object->ext, "one"), &ok1);
    double two = amf_number(amf_object_get(obj->u.object->ext, "two"), &ok2);
    if (!ok1 || !ok2) return AMF_ETYPE;
    int r = amf_ext_write_double(io, one);
    return r ? r : amf_ext_write_double(io, two);
}

static const struct amf_ext_class test_classes[] = {
    { "ExternalizableTest", ext_test_read, ext_test_write, NULL },
};
static const struct amf_registry test_registry = { test_classes, 1, 0 };
static const struct amf_opts test_opts = { NULL, &test_registry, 0 };

/* ---------------------------------------------------------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n + 1 : 1);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    fclose(f);
    if (buf) buf[n > 0 ? n : 0] = 0;
    *len = n > 0 ? (size_t)n : 0;
    return buf;
}

static char *fixture_path(const char *rel)
{
    size_t n = strlen(fixture_dir) + strlen(rel) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", fixture_dir, rel);
    return p;
}

/* Expected sections: name -> text */
struct section {
    char name[128];  /* "objects/amf0-boolean.bin" */
    char *text;      /* expected dump (malloc) */
};
static struct section sections[128];
static size_t nsections;

static void load_expected(void)
{
    size_t len;
    char *all = (char *)read_file(expected_path, &len);
    if (!all) fail_msg("cannot read %s", expected_path);
    char *line = all, *cur = NULL;
    size_t curlen = 0, curcap = 0;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        size_t ll = nl ? (size_t)(nl - line) : strlen(line);
        if (ll >= 4 && !strncmp(line, "=== ", 4)) {
            if (nsections) sections[nsections - 1].text = cur ? cur : strdup("");
            assert_true(nsections < 128);
            snprintf(sections[nsections].name, sizeof sections[0].name, "%.*s", (int)(ll - 4),
                     line + 4);
            nsections++;
            cur = NULL; curlen = curcap = 0;
        } else if (nsections && !(ll && line[0] == '#')) {
            if (curlen + ll + 2 > curcap) {
                curcap = (curlen + ll + 2) * 2;
                cur = realloc(cur, curcap);
                assert_non_null(cur);
            }
            memcpy(cur + curlen, line, ll);
            curlen += ll;
            cur[curlen++] = '\n';
            cur[curlen] = 0;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (nsections) sections[nsections - 1].text = cur ? cur : strdup("");
    free(all);
}

static const struct section *find_section(const char *name)
{
    for (size_t i = 0; i < nsections; i++)
        if (!strcmp(sections[i].name, name)) return &sections[i];
    return NULL;
}

static void dump_packet(const struct amf_packet *p, struct amf_buf *out)
{
    char line[512];
    int n = snprintf(line, sizeof line, "version %u\n", p->version);
    assert_int_equal(amf_buf_append(out, line, (size_t)n), 0);
    for (uint32_t i = 0; i < p->header_count; i++) {
        const struct amf_header *h = &p->headers[i];
        n = snprintf(line, sizeof line, "header[%u] name \"%.*s\" must %u length %u\n", i,
                     (int)h->name.len, h->name.ptr, h->must_understand, h->length);
        assert_int_equal(amf_buf_append(out, line, (size_t)n), 0);
        assert_int_equal(amf_dump(h->value, out), 0);
    }
    for (uint32_t i = 0; i < p->body_count; i++) {
        const struct amf_body *b = &p->bodies[i];
        n = snprintf(line, sizeof line, "body[%u] target \"%.*s\" response \"%.*s\" length %u\n", i,
                     (int)b->target.len, b->target.ptr, (int)b->response.len, b->response.ptr,
                     b->length);
        assert_int_equal(amf_buf_append(out, line, (size_t)n), 0);
        assert_int_equal(amf_dump(b->value, out), 0);
    }
}

static int check_text(const char *name, const char *expected, const struct amf_buf *got)
{
    if (got->len == strlen(expected) && !memcmp(got->data, expected, got->len)) return 0;
    print_message("MISMATCH %s\n--- expected\n%s--- got\n%.*s---\n", name, expected, (int)got->len,
                  (const char *)got->data);
    return 1;
}

/* Decodes, compares, re-encodes, re-decodes: returns the number of problems. */
static int check_object_file(const struct section *s)
{
    int bad = 0;
    size_t len, used = 0;
    char *path = fixture_path(s->name);
    uint8_t *data = read_file(path, &len);
    if (!data) fail_msg("missing fixture %s (expected under %s)", path, fixture_dir);
    int enc = strstr(s->name, "/amf3-") ? AMF_AMF3 : AMF_AMF0;
    amf_arena *a = amf_arena_new(0);
    struct amf_value *v = NULL, *w = NULL;
    int r = amf_decode(&test_opts, a, enc, data, len, &v, &used);
    if (r) {
        print_message("%s: decode failed: %s at %zu\n", s->name, amf_strerror(r), used);
        bad++;
        goto out;
    }
    if (used != len) { print_message("%s: consumed %zu of %zu\n", s->name, used, len); bad++; }
    struct amf_buf dump, re;
    amf_buf_init(&dump, 0);
    amf_buf_init(&re, 0);
    assert_int_equal(amf_dump(v, &dump), 0);
    bad += check_text(s->name, s->text, &dump);
    r = amf_encode(&test_opts, enc, v, &re);
    if (r) { print_message("%s: encode failed: %s\n", s->name, amf_strerror(r)); bad++; }
    else {
        size_t used2;
        r = amf_decode(&test_opts, a, enc, re.data, re.len, &w, &used2);
        if (r || used2 != re.len || amf_value_equal(v, w, 0) != 1) {
            print_message("%s: re-encoded bytes do not read back identical (%s)\n", s->name,
                          amf_strerror(r));
            bad++;
        }
        /* every object fixture is canonical for our writer: same references, same choices */
        int same = re.len == len && !memcmp(re.data, data, len);
        if (!same) {
            print_message("%s: re-encoding differs from the fixture (%zu vs %zu bytes)\n", s->name,
                          re.len, len);
            bad++;
        }
    }
    amf_buf_free(&dump);
    amf_buf_free(&re);
out:
    amf_arena_free(a);
    free(data);
    free(path);
    return bad;
}

static int check_request_file(const struct section *s)
{
    int bad = 0;
    size_t len, off = 0;
    char *path = fixture_path(s->name);
    uint8_t *data = read_file(path, &len);
    if (!data) fail_msg("missing fixture %s (expected under %s)", path, fixture_dir);
    amf_arena *a = amf_arena_new(0);
    struct amf_packet p, q;
    int r = amf_packet_decode(&test_opts, a, data, len, &p, &off);
    if (r) {
        print_message("%s: decode failed: %s at %zu\n", s->name, amf_strerror(r), off);
        bad++;
        goto out;
    }
    struct amf_buf dump, re;
    amf_buf_init(&dump, 0);
    amf_buf_init(&re, 0);
    dump_packet(&p, &dump);
    bad += check_text(s->name, s->text, &dump);
    r = amf_packet_encode(&test_opts, &p, &re);
    if (r) { print_message("%s: encode failed: %s\n", s->name, amf_strerror(r)); bad++; }
    else {
        r = amf_packet_decode(&test_opts, a, re.data, re.len, &q, &off);
        if (r || q.version != p.version || q.body_count != p.body_count ||
            q.header_count != p.header_count) {
            print_message("%s: re-encoded packet does not read back (%s)\n", s->name,
                          amf_strerror(r));
            bad++;
        } else {
            for (uint32_t i = 0; i < p.body_count; i++) {
                if (amf_value_equal(p.bodies[i].value, q.bodies[i].value, 0) != 1) {
                    print_message("%s: body %u differs after re-encoding\n", s->name, i);
                    bad++;
                }
            }
            /* identical bytes except the length fields, which RocketAMF left at 0xFFFFFFFF */
            if (re.len != len) {
                print_message("%s: re-encoded packet is %zu bytes, fixture %zu\n", s->name, re.len,
                              len);
                bad++;
            } else {
                size_t diff = 0;
                for (size_t i = 0; i < len; i++) diff += re.data[i] != data[i];
                int lengths_only = 1;
                for (uint32_t i = 0; i < p.body_count; i++)
                    if (p.bodies[i].length != 0xFFFFFFFFu &&
                        p.bodies[i].length != q.bodies[i].length)
                        lengths_only = 0;
                if (diff && !lengths_only) {
                    print_message("%s: re-encoded packet differs in %zu bytes\n", s->name, diff);
                    bad++;
                }
                for (uint32_t i = 0; i < p.body_count; i++)
                    if (p.bodies[i].length != 0xFFFFFFFFu &&
                        p.bodies[i].length != q.bodies[i].length) {
                        print_message("%s: body %u length %u, fixture %u\n", s->name, i,
                                      q.bodies[i].length, p.bodies[i].length);
                        bad++;
                    }
            }
        }
    }
    amf_buf_free(&dump);
    amf_buf_free(&re);
out:
    amf_arena_free(a);
    free(data);
    free(path);
    return bad;
}

static void test_every_fixture(void **state)
{
    int bad = 0;
    size_t objects = 0, requests = 0;
    for (size_t i = 0; i < nsections; i++) {
        if (!strncmp(sections[i].name, "objects/", 8)) { bad += check_object_file(&sections[i]); objects++; }
        else { bad += check_request_file(&sections[i]); requests++; }
    }
    assert_int_equal(objects, 61);
    assert_int_equal(requests, 10);
    assert_int_equal(bad, 0);
}

/* Every .bin file in the fixture directories has an expected section (none silently skipped). */
static void test_all_files_listed(void **state)
{
    const char *dirs[] = { "objects", "request" };
    size_t count = 0;
    for (int d = 0; d < 2; d++) {
        char *path = fixture_path(dirs[d]);
        DIR *dir = opendir(path);
        if (!dir) fail_msg("fixture directory %s missing: the RocketAMF fixtures must be at "
                           "../shared/fixtures/amf/rocketamf relative to the repository", path);
        struct dirent *de;
        while ((de = readdir(dir))) {
            size_t n = strlen(de->d_name);
            if (n < 4 || strcmp(de->d_name + n - 4, ".bin")) continue;
            char name[300];
            snprintf(name, sizeof name, "%s/%s", dirs[d], de->d_name);
            if (!find_section(name)) fail_msg("no expected value for %s", name);
            count++;
        }
        closedir(dir);
        free(path);
    }
    assert_int_equal(count, 71);
}

/* Without its class the externalizable fixture fails cleanly right after the class name. */
static void test_unknown_externalizable(void **state)
{
    size_t len, used;
    char *path = fixture_path("objects/amf3-externalizable.bin");
    uint8_t *data = read_file(path, &len);
    assert_non_null(data);
    amf_arena *a = amf_arena_new(0);
    struct amf_value *v = (struct amf_value *)1;
    assert_int_equal(amf_decode(NULL, a, AMF_AMF3, data, len, &v, &used), AMF_EEXTERNAL);
    assert_null(v);
    assert_int_equal(used, 24);
    free(data);
    free(path);
    /* and DSK without the built-ins */
    path = fixture_path("request/blaze-response.bin");
    data = read_file(path, &len);
    assert_non_null(data);
    struct amf_registry none = { NULL, 0, AMF_REG_NO_BUILTINS };
    struct amf_opts o = { NULL, &none, 0 };
    struct amf_packet p;
    assert_int_equal(amf_packet_decode(&o, a, data, len, &p, &used), AMF_EEXTERNAL);
    free(data);
    free(path);
    amf_arena_free(a);
}

static struct amf_packet load_packet(amf_arena *a, const char *rel)
{
    size_t len, off;
    char *path = fixture_path(rel);
    uint8_t *data = read_file(path, &len);
    assert_non_null(data);
    /* borrowed strings would dangle after free(): copy (the default) */
    struct amf_packet p;
    assert_int_equal(amf_packet_decode(NULL, a, data, len, &p, &off), 0);
    free(data);
    free(path);
    return p;
}

static void assert_str(struct amf_str s, const char *want)
{
    if (!want) { assert_null(s.ptr); return; }
    assert_non_null(s.ptr);
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.ptr, want, s.len);
}

/* The "Flex:" blocks of EXPECTED.md through amf_flex_parse(). */
static void test_flex_messages(void **state)
{
    amf_arena *a = amf_arena_new(0);
    struct amf_flex_msg m;

    struct amf_packet p = load_packet(a, "request/commandMessage.bin");
    assert_int_equal(amf_flex_parse(a, p.bodies[0].value, &m), 0);
    assert_int_equal(m.kind, AMF_FLEX_COMMAND);
    assert_int_equal(m.small, 0);
    assert_int_equal(m.operation, AMF_FLEX_OP_CLIENT_PING);
    assert_str(m.message_id, "7B0ACE15-8D57-6AE5-B9D4-99C2D32C8246");
    assert_str(m.client_id, NULL);
    assert_str(m.correlation_id, "");
    assert_str(m.destination, "");
    assert_str(m.source, NULL);
    assert_str(m.ds_id, "nil");
    assert_int_equal(amf_object_get(m.headers, "DSMessagingVersion")->type, AMF_INT);
    assert_int_equal(amf_object_get(m.headers, "DSMessagingVersion")->u.i, 1);
    assert_int_equal(m.body->type, AMF_OBJECT);
    assert_int_equal(m.body->u.object->dyn_count, 0);
    assert_true(m.timestamp == 0 && m.time_to_live == 0);

    p = load_packet(a, "request/unsupportedCommandMessage.bin");
    assert_int_equal(amf_flex_parse(a, p.bodies[0].value, &m), 0);
    assert_int_equal(m.operation, 10000);
    assert_str(m.correlation_id, NULL);

    p = load_packet(a, "request/remotingMessage.bin");
    assert_int_equal(amf_flex_parse(a, p.bodies[0].value, &m), 0);
    assert_int_equal(m.kind, AMF_FLEX_REMOTING);
    assert_str(m.message_id, "FE4AF2BC-DD3C-5470-05D8-9971D51FF89D");
    assert_str(m.client_id, NULL);
    assert_str(m.correlation_id, NULL);
    assert_str(m.destination, "rubyamf");
    assert_str(m.source, "WritesController");
    assert_str(m.operation_name, "save");
    assert_str(m.ds_id, "nil");
    assert_str(m.ds_endpoint, NULL);
    assert_non_null(amf_object_get(m.headers, "DSEndpoint"));
    assert_int_equal(m.body->type, AMF_ARRAY);
    assert_int_equal(m.body->u.array->dense_count, 1);
    assert_int_equal(m.body->u.array->dense[0]->type, AMF_BOOL);
    assert_int_equal(m.body->u.array->dense[0]->u.b, 1);

    p = load_packet(a, "request/flex-request.bin");
    assert_int_equal(amf_flex_parse(a, p.bodies[0].value, &m), 0);
    assert_int_equal(m.kind, AMF_FLEX_REMOTING);
    assert_str(m.message_id, "9D108E33-B591-BE79-210D-F1A72D06B578");
    assert_str(m.destination, NULL);
    assert_str(m.source, "TestController");
    assert_str(m.operation_name, "test");
    assert_int_equal(m.body->u.array->dense_count, 2);
    assert_true(amf_str_eq(m.body->u.array->dense[1], "second_arg"));
    assert_int_equal(m.headers->u.object->dyn_count, 0);

    p = load_packet(a, "request/acknowledge-response.bin");
    assert_int_equal(amf_flex_parse(a, p.bodies[0].value, &m), 0);
    assert_int_equal(m.kind, AMF_FLEX_ACK);
    assert_str(m.message_id, "7B0ACE15-8D57-6AE5-B9D4-99C2D32C8246");
    assert_str(m.client_id, "7B0ACE15-8D57-6AE5-B9D4-99C2D32C8246");
    assert_str(m.correlation_id, NULL);
    assert_int_equal(m.body->type, AMF_NULL);

    p = load_packet(a, "request/blaze-response.bin");
    assert_int_equal(amf_flex_parse(a, p.bodies[0].value, &m), 0);
    assert_int_equal(m.kind, AMF_FLEX_ACK);
    assert_int_equal(m.small, 1);
    assert_str(m.client_id, "8814A067-FE0D-3A9C-A274-4AAED9BD7B0B");
    assert_str(m.message_id, "8817EEF6-BE0D-8462-17F1-38B6A43414DE");
    assert_str(m.correlation_id, "7BB01BC0-C836-8F4D-7B47-241543357109");
    assert_str(m.destination, NULL);
    assert_null(m.headers);
    assert_true(m.timestamp == 1306275431838.0);
    assert_int_equal(m.body->type, AMF_STRING);
    assert_non_null(memmem(m.body->u.s.ptr, m.body->u.s.len, "xmlsoap.org", 11));

    p = load_packet(a, "request/amf0-error-response.bin");
    assert_int_equal(amf_flex_parse(a, p.bodies[0].value, &m), AMF_ETYPE);  /* AMF0 fault object */
    amf_arena_free(a);
}

/* Identity facts of EXPECTED.md's notes, checked on pointers directly. */
static void test_identity(void **state)
{
    amf_arena *a = amf_arena_new(0);
    size_t len, used;
    struct amf_value *v;
    char *path = fixture_path("objects/amf3-complex-array-collection.bin");
    uint8_t *data = read_file(path, &len);
    assert_non_null(data);
    assert_int_equal(amf_decode(NULL, a, AMF_AMF3, data, len, &v, &used), 0);
    assert_ptr_equal(amf_array_get(v, 2), amf_array_get(v, 1));
    assert_ptr_not_equal(amf_array_get(v, 0), amf_array_get(v, 1));
    free(data); free(path);

    path = fixture_path("objects/amf3-graph-member.bin");
    data = read_file(path, &len);
    assert_int_equal(amf_decode(NULL, a, AMF_AMF3, data, len, &v, &used), 0);
    struct amf_value *kids = amf_object_get(v, "children");
    assert_ptr_equal(amf_object_get(amf_array_get(kids, 0), "parent"), v);
    assert_ptr_equal(amf_object_get(amf_array_get(kids, 1), "parent"), v);
    free(data); free(path);

    path = fixture_path("objects/amf0-ref-test.bin");
    data = read_file(path, &len);
    assert_int_equal(amf_decode(NULL, a, AMF_AMF0, data, len, &v, &used), 0);
    assert_ptr_equal(amf_object_get(v, "0"), amf_object_get(v, "1"));
    free(data); free(path);
    amf_arena_free(a);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s FIXTURE_DIR EXPECTED_TXT\n", argv[0]);
        return 2;
    }
    fixture_dir = argv[1];
    expected_path = argv[2];
    load_expected();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_files_listed),
        cmocka_unit_test(test_every_fixture),
        cmocka_unit_test(test_unknown_externalizable),
        cmocka_unit_test(test_flex_messages),
        cmocka_unit_test(test_identity),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    for (size_t i = 0; i < nsections; i++) free(sections[i].text);
    return r;
}

/* test_codec.c — parse/write round trips in every transfer syntax, big
 * endian byte order, deferred values, and malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "dicom/dicom.h"

static const char *SYNTAXES[] = {DCM_TS_IMPLICIT_LE, DCM_TS_EXPLICIT_LE, DCM_TS_EXPLICIT_BE,
                                 DCM_TS_DEFLATED_LE};

/* A dataset with one of everything the codec must carry. */
static dcm_dataset *sample(void)
{
    dqr_error err = {0};
    dcm_dataset *ds = dcm_dataset_new();
    static const uint8_t us[4] = {0x02, 0x01, 0x04, 0x03};            /* 0x0102, 0x0304 */
    static const uint8_t ul[4] = {0x04, 0x03, 0x02, 0x01};            /* 0x01020304 */
    static const uint8_t at[4] = {0x10, 0x00, 0x20, 0x00};            /* (0010,0020) */
    static const uint8_t fd[8] = {0, 0, 0, 0, 0, 0, 0xF8, 0x3F};      /* 1.5 */
    uint8_t ow[6] = {1, 2, 3, 4, 5, 6};
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0005), DCM_VR_CS, "ISO_IR 100", &err));
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0016), DCM_VR_UI, "1.2.840.10008.5.1.4.1.1.7", &err));
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0018), DCM_VR_UI, "1.2.3.4.5", &err));
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0010, 0x0010), DCM_VR_PN, "Doe^Jane", &err));
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0010, 0x0020), DCM_VR_LO, "ID123", &err)); /* odd: padded */
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0010, 0x0030), DCM_VR_DA, "", &err));     /* empty */
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG(0x0028, 0x0010), DCM_VR_US, us, 2, &err));
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG(0x0028, 0x0034), DCM_VR_IS, "1\\1", 3, &err));
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG(0x0018, 0x9219), DCM_VR_SS, us, 4, &err));
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG(0x0020, 0x9165), DCM_VR_AT, at, 4, &err));
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG(0x0018, 0x9087), DCM_VR_FD, fd, 8, &err));
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG(0x0008, 0x1163), DCM_VR_FD, fd, 8, &err));
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG(0x0018, 0x6016), DCM_VR_UL, ul, 4, &err));
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0029, 0x0010), DCM_VR_LO, "ACME 1.0", &err));
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0029, 0x1001), DCM_VR_LO, "private", &err));
    dcm_element *sq = dcm_dataset_set_sequence(ds, DCM_TAG(0x0008, 0x1140), &err);
    for (int i = 0; i < 2; i++) {
        dcm_dataset *item = dcm_element_append_item(sq, &err);
        assert_non_null(dcm_dataset_set_string(item, DCM_TAG(0x0008, 0x1155), DCM_VR_UI, i ? "1.2.3" : "1.2.33", &err));
        dcm_element *inner = dcm_dataset_set_sequence(item, DCM_TAG(0x0040, 0xA730), &err);
        dcm_dataset *deep = dcm_element_append_item(inner, &err);
        assert_non_null(dcm_dataset_set_string(deep, DCM_TAG(0x0040, 0xA160), DCM_VR_UT, "nested text", &err));
    }
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG_PIXEL_DATA, DCM_VR_OW, ow, sizeof ow, &err));
    return ds;
}

static uint8_t *encode(dcm_dataset *ds, const char *ts, size_t *len)
{
    dqr_error err = {0};
    dcm_file *f = dcm_file_wrap(NULL, ds, ts, &err);
    assert_non_null(f);
    uint8_t *out = NULL;
    assert_int_equal(dcm_file_encode(f, NULL, &out, len, &err), DQR_OK);
    dcm_file_close(f);
    return out;
}

static void check_sample(const dcm_dataset *ds)
{
    char buf[64];
    long v;
    assert_string_equal(dcm_dataset_get_string(ds, DCM_TAG(0x0010, 0x0010), buf, sizeof buf), "Doe^Jane");
    assert_string_equal(dcm_dataset_get_string(ds, DCM_TAG(0x0010, 0x0020), buf, sizeof buf), "ID123");
    assert_int_equal(dcm_element_length(dcm_dataset_get(ds, DCM_TAG(0x0010, 0x0020))), 6);
    assert_int_equal(dcm_element_length(dcm_dataset_get(ds, DCM_TAG(0x0010, 0x0030))), 0);
    assert_true(dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0010), &v));
    assert_int_equal(v, 0x0102);
    const dcm_element *ss = dcm_dataset_get(ds, DCM_TAG(0x0018, 0x9219));
    assert_int_equal(dcm_element_vm(ss), 2);
    assert_memory_equal(dcm_element_bytes(ss), "\x02\x01\x04\x03", 4);
    assert_memory_equal(dcm_element_bytes(dcm_dataset_get(ds, DCM_TAG(0x0018, 0x6016))), "\x04\x03\x02\x01", 4);
    assert_memory_equal(dcm_element_bytes(dcm_dataset_get(ds, DCM_TAG(0x0020, 0x9165))), "\x10\x00\x20\x00", 4);
    const dcm_element *sq = dcm_dataset_get(ds, DCM_TAG(0x0008, 0x1140));
    assert_true(dcm_element_is_sequence(sq));
    assert_int_equal(dcm_element_item_count(sq), 2);
    const dcm_dataset *item = dcm_element_item(sq, 1);
    assert_string_equal(dcm_dataset_get_string(item, DCM_TAG(0x0008, 0x1155), buf, sizeof buf), "1.2.3");
    const dcm_element *inner = dcm_dataset_get(item, DCM_TAG(0x0040, 0xA730));
    assert_string_equal(dcm_dataset_get_string(dcm_element_item(inner, 0), DCM_TAG(0x0040, 0xA160), buf, sizeof buf),
                        "nested text");
    const dcm_element *px = dcm_dataset_get(ds, DCM_TAG_PIXEL_DATA);
    if (dcm_element_length(px) == 6) /* the deferred test swaps in a large value */
        assert_memory_equal(dcm_element_bytes(px), "\x01\x02\x03\x04\x05\x06", 6);
    /* In implicit VR a private element's VR is unknown (UN): compare bytes. */
    assert_memory_equal(dcm_element_bytes(dcm_dataset_get(ds, DCM_TAG(0x0029, 0x1001))), "private ", 8);
}

static void test_round_trip_every_syntax(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof SYNTAXES / sizeof SYNTAXES[0]; i++) {
        size_t len, len2;
        uint8_t *bytes = encode(sample(), SYNTAXES[i], &len);
        dqr_error err = {0};
        dcm_file *f = dcm_file_parse(bytes, len, &err);
        if (!f)
            fail_msg("%s: %s", SYNTAXES[i], err.message);
        assert_string_equal(dcm_file_transfer_syntax(f), SYNTAXES[i]);
        check_sample(dcm_file_dataset(f));
        uint8_t *again = NULL;
        dcm_write_options keep = {.keep_meta = true};
        assert_int_equal(dcm_file_encode(f, &keep, &again, &len2, &err), DQR_OK);
        assert_int_equal(len, len2); /* unchanged data, same syntax: same bytes */
        assert_memory_equal(bytes, again, len);
        dcm_file_close(f);
        free(bytes);
        free(again);
    }
}

static void test_big_endian_bytes(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = encode(sample(), DCM_TS_EXPLICIT_BE, &len);
    /* (0028,0010) US 0x0102 in big endian: 00 28 00 10 'U' 'S' 00 02 01 02 */
    static const uint8_t want[] = {0x00, 0x28, 0x00, 0x10, 'U', 'S', 0x00, 0x02, 0x01, 0x02};
    assert_non_null(memmem(b, len, want, sizeof want));
    /* OW pixel data swapped in pairs */
    static const uint8_t px[] = {0x02, 0x01, 0x04, 0x03, 0x06, 0x05};
    assert_non_null(memmem(b, len, px, sizeof px));
    free(b);
}

static void test_deferred_values_stream(void **state)
{
    (void)state;
    char in[] = "/tmp/dqr_test_XXXXXX", out[64];
    int fd = mkstemp(in);
    assert_true(fd >= 0);
    size_t n = 3 * DCM_DEFER_MIN + 2;
    uint8_t *px = malloc(n);
    for (size_t i = 0; i < n; i++)
        px[i] = (uint8_t)(i * 7);
    dcm_dataset *ds = sample();
    dqr_error err = {0};
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG_PIXEL_DATA, DCM_VR_OW, px, n, &err));
    size_t len;
    uint8_t *bytes = encode(ds, DCM_TS_EXPLICIT_BE, &len);
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    close(fd);

    dcm_file *f = dcm_file_open(in, &err);
    assert_non_null(f);
    const dcm_element *el = dcm_dataset_get(dcm_file_dataset(f), DCM_TAG_PIXEL_DATA);
    assert_null(dcm_element_bytes(el)); /* left on disk */
    uint8_t chunk[8];
    assert_int_equal(dcm_element_read(el, 1000, chunk, 8, &err), DQR_OK); /* swapped back to LE */
    assert_memory_equal(chunk, px + 1000, 8);
    assert_int_not_equal(dcm_element_read(el, n - 4, chunk, 8, &err), DQR_OK); /* past the end */

    snprintf(out, sizeof out, "%s.out", in);
    dcm_write_options keep = {.keep_meta = true};
    assert_int_equal(dcm_file_write(f, out, &keep, &err), DQR_OK);
    dcm_write_options le = {.transfer_syntax = DCM_TS_EXPLICIT_LE};
    char out_le[80];
    snprintf(out_le, sizeof out_le, "%s.le", in);
    assert_int_equal(dcm_file_write(f, out_le, &le, &err), DQR_OK);
    dcm_file_close(f);

    FILE *fp = fopen(out, "rb");
    uint8_t *copy = malloc(len + 1);
    assert_int_equal(fread(copy, 1, len + 1, fp), len);
    fclose(fp);
    assert_memory_equal(copy, bytes, len);

    f = dcm_file_open(out_le, &err);
    assert_non_null(f);
    uint8_t *all = malloc(n);
    assert_int_equal(dcm_element_read(dcm_dataset_get(dcm_file_dataset(f), DCM_TAG_PIXEL_DATA), 0, all, n, &err), DQR_OK);
    assert_memory_equal(all, px, n);
    check_sample(dcm_file_dataset(f));
    dcm_file_close(f);
    unlink(in);
    unlink(out);
    unlink(out_le);
    free(all);
    free(copy);
    free(bytes);
    free(px);
}

/* ---- malformed input: each case must fail with its message, no crash --- */

typedef struct bad_case {
    const char *name;
    const uint8_t *bytes;
    size_t len;
    const char *expect; /* substring of the error message */
} bad_case;

#define B(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})
/* an explicit VR LE element header for (0010,0010) PN */
#define PN_HDR 0x10, 0x00, 0x10, 0x00, 'P', 'N'

static const bad_case BAD[] = {
    {"value longer than data", B(PN_HDR, 0x10, 0x00, 'D', 'o'), "value length 16 exceeds the 2 bytes left"},
    {"invalid VR", B(0x08, 0x00, 0x05, 0x00, 'C', 'S', 0x02, 0x00, 'A', 'B',
                     0x10, 0x00, 0x10, 0x00, 'Q', 'Q', 0x00, 0x00), "offset 10, tag (0010,0010): invalid VR"},
    {"huge length", B(0x10, 0x00, 0x10, 0x00, 'U', 'T', 0, 0, 0xF0, 0xFF, 0xFF, 0x7F), "exceeds"},
    {"item tag missing", B(0x08, 0x00, 0x40, 0x11, 'S', 'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
                           0x10, 0x00, 0x10, 0x00, 0, 0, 0, 0), "expected an item tag"},
    {"no item delimiter", B(0x08, 0x00, 0x40, 0x11, 'S', 'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
                            0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF,
                            PN_HDR, 0x02, 0x00, 'D', 'o'), "data ends inside an item"},
    {"item tag in dataset", B(0x08, 0x00, 0x05, 0x00, 'C', 'S', 0x00, 0x00,
                              0xFE, 0xFF, 0x00, 0xE0, 0x04, 0x00, 0x00, 0x00, 1, 2, 3, 4), "unexpected item tag"},
    {"fragment not an item", B(0x08, 0x00, 0x05, 0x00, 'C', 'S', 0x02, 0x00, 'A', 'B',
                               0xE0, 0x7F, 0x10, 0x00, 'O', 'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
                               0x10, 0x00, 0x10, 0x00, 0, 0, 0, 0), "expected a fragment item"},
    {"text file", (const uint8_t *)"hello, this is not DICOM at all\n", 32, "not a DICOM file"},
    {"empty", (const uint8_t *)"", 0, "empty file"},
};

static void test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        dqr_error err = {0};
        dcm_file *f = dcm_file_parse(BAD[i].bytes, BAD[i].len, &err);
        if (f)
            fail_msg("%s: parsed but should fail", BAD[i].name);
        if (!strstr(err.message, BAD[i].expect))
            fail_msg("%s: message '%s' lacks '%s'", BAD[i].name, err.message, BAD[i].expect);
        assert_int_equal(err.code, strstr(BAD[i].expect, "DICOM") || strstr(BAD[i].expect, "empty")
                                       ? DQR_E_NOT_DICOM : DQR_E_PARSE);
    }
}

/* n nested undefined-length sequences (0008,1140), each with one item, malloc'd. */
static uint8_t *nested_sequences(size_t n, size_t *len)
{
    static const uint8_t level[] = {0x08, 0x00, 0x40, 0x11, 'S', 'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
                                    0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF};
    static const uint8_t close[] = {0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0,  /* item delimiter */
                                    0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0}; /* sequence delimiter */
    *len = n * (sizeof level + sizeof close);
    uint8_t *buf = malloc(*len);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++) {
        memcpy(buf + i * sizeof level, level, sizeof level);
        memcpy(buf + n * sizeof level + i * sizeof close, close, sizeof close);
    }
    return buf;
}

static void test_nesting_limit(void **state)
{
    (void)state;
    /* 100,000 nested sequences: refused with the tag path, not a stack overflow. */
    size_t len;
    uint8_t *buf = nested_sequences(100000, &len);
    dqr_error err = {0};
    assert_null(dcm_file_parse(buf, len, &err));
    assert_int_equal(err.code, DQR_E_PARSE);
    assert_non_null(strstr(err.message, "tag path (0008,1140)/(0008,1140)/(0008,1140)/.../(0008,1140)/"));
    assert_non_null(strstr(err.message, "sequences nested deeper than 64 levels"));
    free(buf);
    /* DCM_MAX_DEPTH levels parse, and the tree writes and dumps back. */
    buf = nested_sequences(DCM_MAX_DEPTH, &len);
    dcm_file *f = dcm_file_parse(buf, len, &err);
    assert_non_null(f);
    dcm_dataset *ds = dcm_file_dataset(f);
    size_t depth = 0;
    for (dcm_element *el; (el = dcm_dataset_get(ds, DCM_TAG(0x0008, 0x1140))); depth++)
        ds = dcm_element_item(el, 0);
    assert_int_equal(depth, DCM_MAX_DEPTH);
    uint8_t *out;
    size_t out_len;
    assert_int_equal(dcm_file_encode(f, NULL, &out, &out_len, &err), DQR_OK);
    dcm_file_close(f);
    assert_non_null(f = dcm_file_parse(out, out_len, &err));
    dcm_file_close(f);
    free(out);
    free(buf);
}

/* A tree built by hand stops at the same depth, so every walk over it is bounded. */
static void test_nesting_limit_built(void **state)
{
    (void)state;
    dqr_error err = {0};
    dcm_dataset *root = dcm_dataset_new(), *ds = root;
    for (int i = 0; i < DCM_MAX_DEPTH; i++) {
        dcm_element *el = dcm_dataset_set_sequence(ds, DCM_TAG(0x0008, 0x1140), &err);
        assert_non_null(el);
        assert_non_null(ds = dcm_element_append_item(el, &err));
    }
    dcm_element *el = dcm_dataset_set_sequence(ds, DCM_TAG(0x0008, 0x1140), &err);
    assert_null(dcm_element_append_item(el, &err));
    assert_int_equal(err.code, DQR_E_LIMIT);
    assert_non_null(strstr(err.message, "deeper than 64 levels"));
    /* a copy keeps the depth of what it copied */
    dcm_dataset *copy = dcm_dataset_copy(root);
    assert_non_null(copy);
    ds = copy;
    for (int i = 0; i < DCM_MAX_DEPTH; i++)
        ds = dcm_element_item(dcm_dataset_get(ds, DCM_TAG(0x0008, 0x1140)), 0);
    el = dcm_dataset_set_sequence(ds, DCM_TAG(0x0008, 0x1140), &err);
    assert_null(dcm_element_append_item(el, &err));
    dcm_dataset_free(copy);
    dcm_dataset_free(root);
}

static void test_bare_dataset_guess(void **state)
{
    (void)state;
    dcm_dataset *ds = sample();
    for (size_t i = 0; i < 3; i++) { /* not deflate: a bare deflated stream can't be recognized */
        uint8_t *bytes;
        size_t len;
        dqr_error err = {0};
        assert_int_equal(dcm_dataset_encode(ds, SYNTAXES[i], &bytes, &len, &err), DQR_OK);
        dcm_file *f = dcm_file_parse(bytes, len, &err);
        assert_non_null(f);
        assert_false(dcm_file_has_preamble(f));
        assert_string_equal(dcm_file_transfer_syntax(f), SYNTAXES[i]);
        check_sample(dcm_file_dataset(f));
        dcm_file_close(f);
        free(bytes);
    }
    dcm_dataset_free(ds);
}

static void test_edit_and_copy(void **state)
{
    (void)state;
    dcm_dataset *ds = sample();
    dqr_error err = {0};
    dcm_dataset *copy = dcm_dataset_copy(ds);
    assert_true(dcm_dataset_remove(ds, DCM_TAG(0x0010, 0x0010)));
    assert_false(dcm_dataset_remove(ds, DCM_TAG(0x0010, 0x0010)));
    assert_null(dcm_dataset_get(ds, DCM_TAG(0x0010, 0x0010)));
    check_sample(copy); /* the copy is deep */
    /* elements stay sorted whatever the insertion order */
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0001), DCM_VR_UL, "", &err));
    for (size_t i = 1; i < dcm_dataset_count(ds); i++)
        assert_true(dcm_element_tag(dcm_dataset_at(ds, i - 1)) < dcm_element_tag(dcm_dataset_at(ds, i)));
    dcm_dataset_free(ds);
    dcm_dataset_free(copy);
}

static void test_group_length_recomputed(void **state)
{
    (void)state;
    dcm_dataset *ds = dcm_dataset_new();
    dqr_error err = {0};
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG(0x0010, 0x0000), DCM_VR_UL, "\x01\0\0\0", 4, &err));
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0010, 0x0010), DCM_VR_PN, "Doe", &err)); /* 8+4 */
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0010, 0x0020), DCM_VR_LO, "1", &err));   /* 8+2 */
    uint8_t *b;
    size_t len;
    assert_int_equal(dcm_dataset_encode(ds, DCM_TS_EXPLICIT_LE, &b, &len, &err), DQR_OK);
    assert_int_equal(b[8], 22);
    free(b);
    dcm_dataset_free(ds);
}

/* A group 0002 element in the dataset (a malformed input's meta cut short)
 * is not written after the meta: read back it would join the meta, and its
 * Transfer Syntax UID would contradict the one the file is written in. */
static void test_stray_meta_not_written(void **state)
{
    (void)state;
    dqr_error err = {0};
    dcm_dataset *ds = sample();
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG_TRANSFER_SYNTAX, DCM_VR_UI, "1.2.840.10008.1.2.5", &err));
    size_t len;
    uint8_t *out = encode(ds, DCM_TS_EXPLICIT_LE, &len);
    dcm_file *f = dcm_file_parse(out, len, &err);
    assert_non_null(f);
    char ts[65];
    assert_string_equal(dcm_dataset_get_string(dcm_file_meta(f), DCM_TAG_TRANSFER_SYNTAX, ts, sizeof ts),
                        DCM_TS_EXPLICIT_LE);
    assert_null(dcm_dataset_get(dcm_file_dataset(f), DCM_TAG_TRANSFER_SYNTAX));
    check_sample(dcm_file_dataset(f));
    dcm_file_close(f);
    free(out);
}

static void test_private_blocks(void **state)
{
    (void)state;
    dcm_dataset *ds = sample(); /* has (0029,0010) "ACME 1.0" and (0029,1001) */
    dqr_error err = {0};
    char buf[64];
    assert_int_equal(dcm_private_tag(ds, 0x0029, "ACME 1.0", 0x01), DCM_TAG(0x0029, 0x1001));
    assert_int_equal(dcm_private_tag(ds, 0x0029, "OTHER", 0x01), 0);
    assert_int_equal(dcm_private_tag(ds, 0x0028, "ACME 1.0", 0x01), 0); /* even group */
    assert_string_equal(dcm_private_creator(ds, DCM_TAG(0x0029, 0x1001), buf, sizeof buf), "ACME 1.0");
    assert_null(dcm_private_creator(ds, DCM_TAG(0x0029, 0x1101), buf, sizeof buf)); /* no creator 0x11 */
    assert_null(dcm_private_creator(ds, DCM_TAG(0x0010, 0x1001), buf, sizeof buf));
    /* a second creator gets the next free block */
    assert_int_equal(dcm_private_reserve(ds, 0x0029, "OTHER", 0x05, &err), DCM_TAG(0x0029, 0x1105));
    assert_int_equal(dcm_private_reserve(ds, 0x0029, "ACME 1.0", 0x02, &err), DCM_TAG(0x0029, 0x1002));
    assert_int_equal(dcm_private_reserve(ds, 0x0010, "X", 0x02, &err), 0);
    dcm_dataset_free(ds);
}

static void test_parse_borrowed(void **state)
{
    (void)state;
    dcm_dataset *ds = sample();
    dqr_error err = {0};
    size_t n = 2 * DCM_DEFER_MIN;
    uint8_t *px = calloc(1, n);
    px[100] = 42;
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG_PIXEL_DATA, DCM_VR_OW, px, n, &err));
    size_t len;
    uint8_t *bytes = encode(ds, DCM_TS_EXPLICIT_LE, &len);
    dcm_file *f = dcm_file_parse_borrowed(bytes, len, &err);
    assert_non_null(f);
    const uint8_t *v = dcm_element_bytes(dcm_dataset_get(dcm_file_dataset(f), DCM_TAG_PIXEL_DATA));
    assert_true(v >= bytes && v + n <= bytes + len); /* points into the buffer: no copy */
    assert_int_equal(v[100], 42);
    check_sample(dcm_file_dataset(f));
    dcm_dataset *copy = dcm_dataset_copy(dcm_file_dataset(f)); /* a copy owns its bytes */
    dcm_file_close(f);
    memset(bytes, 0, len);
    assert_int_equal(dcm_element_bytes(dcm_dataset_get(copy, DCM_TAG_PIXEL_DATA))[100], 42);
    dcm_dataset_free(copy);
    free(bytes);
    free(px);
}

/* Tags in descending order parse in O(n log n): 200,000 of them inserted
 * one by one into a sorted array took minutes (each moved every element). */
static void test_descending_tags_parse_fast(void **state)
{
    (void)state;
    enum { N = 200000 };
    /* Part 10: preamble, DICM, a meta group naming Explicit VR LE */
    static const uint8_t meta[] = {'D', 'I', 'C', 'M', 0x02, 0, 0, 0, 'U', 'L', 4, 0, 28, 0, 0, 0,
                                   0x02, 0, 0x10, 0, 'U', 'I', 20, 0, '1', '.', '2', '.', '8', '4',
                                   '0', '.', '1', '0', '0', '0', '8', '.', '1', '.', '2', '.', '1', 0};
    size_t head = 128 + sizeof meta;
    uint8_t *buf = calloc(1, head + (size_t)N * 10);
    assert_non_null(buf);
    memcpy(buf + 128, meta, sizeof meta);
    for (size_t k = 0; k < N; k++) { /* explicit VR LE "LO" elements, 10 bytes each */
        size_t i = N - 1 - k;
        uint16_t g = (uint16_t)(0x1000 + 2 * (i >> 12)), e = (uint16_t)(0x1000 + (i & 0xFFF));
        uint8_t *p = buf + head + k * 10;
        p[0] = (uint8_t)g, p[1] = (uint8_t)(g >> 8), p[2] = (uint8_t)e, p[3] = (uint8_t)(e >> 8);
        static const uint8_t lo_a[6] = {'L', 'O', 2, 0, 'A', ' '};
        memcpy(p + 4, lo_a, sizeof lo_a);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    dqr_error err = {0};
    dcm_file *f = dcm_file_parse(buf, head + (size_t)N * 10, &err);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (!f)
        fail_msg("%s", err.message);
    if (secs > 2.0) /* about 0.05 s here; the quadratic insertion took minutes */
        fail_msg("200,000 descending tags parsed in %.2f s", secs);
    const dcm_dataset *ds = dcm_file_dataset(f);
    assert_int_equal(dcm_dataset_count(ds), N);
    for (size_t i = 1; i < N; i++)
        assert_true(dcm_element_tag(dcm_dataset_at(ds, i - 1)) < dcm_element_tag(dcm_dataset_at(ds, i)));
    uint8_t *out;
    size_t len;
    assert_int_equal(dcm_dataset_encode(ds, "1.2.840.10008.1.2.1", &out, &len, &err), DQR_OK);
    assert_int_equal(len, (size_t)N * 10);
    for (size_t k = 1; k < N; k++) { /* written back in ascending order */
        const uint8_t *a = out + (k - 1) * 10, *b = out + k * 10;
        uint32_t ta = (uint32_t)(a[1] << 24 | a[0] << 16 | a[3] << 8 | a[2]);
        uint32_t tb = (uint32_t)(b[1] << 24 | b[0] << 16 | b[3] << 8 | b[2]);
        assert_true(ta < tb);
    }
    free(out);
    dcm_file_close(f);
    free(buf);
}

/* Out of order and repeated tags: sorted, and of a repeated tag the last one
 * read stays (as before), in items too. */
static void test_unordered_and_repeated_tags(void **state)
{
    (void)state;
    static const uint8_t bytes[] = {
        0x10, 0x00, 0x20, 0x00, 'L', 'O', 2, 0, 'B', ' ',           /* (0010,0020) B */
        0x10, 0x00, 0x10, 0x00, 'P', 'N', 2, 0, 'X', ' ',           /* (0010,0010) X */
        0x10, 0x00, 0x20, 0x00, 'L', 'O', 2, 0, 'C', ' ',           /* (0010,0020) C again */
        0x08, 0x00, 0x20, 0x00, 'D', 'A', 8, 0, '2', '0', '2', '0', '0', '1', '0', '1',
    };
    dqr_error err = {0};
    dcm_file *f = dcm_file_parse(bytes, sizeof bytes, &err);
    assert_non_null(f);
    const dcm_dataset *ds = dcm_file_dataset(f);
    assert_int_equal(dcm_dataset_count(ds), 3);
    assert_int_equal(dcm_element_tag(dcm_dataset_at(ds, 0)), DCM_TAG(0x0008, 0x0020));
    assert_int_equal(dcm_element_tag(dcm_dataset_at(ds, 1)), DCM_TAG(0x0010, 0x0010));
    char v[16];
    assert_string_equal(dcm_dataset_get_string(ds, DCM_TAG(0x0010, 0x0020), v, sizeof v), "C");
    dcm_file_close(f);
}

/* A Part 10 file in Deflated Explicit VR LE holding one OB value of n bytes
 * (zeros, or noise that does not compress); malloc'd, length in *len. */
static uint8_t *deflated_file(size_t n, bool noise, size_t *len)
{
    static const uint8_t meta[] = {'D', 'I', 'C', 'M', 0x02, 0, 0, 0, 'U', 'L', 4, 0, 32, 0, 0, 0,
                                   0x02, 0, 0x10, 0, 'U', 'I', 24, 0, '1', '.', '2', '.', '8', '4',
                                   '0', '.', '1', '0', '0', '0', '8', '.', '1', '.', '2', '.', '1', '.',
                                   '9', '9', 0, 0};
    uint8_t head[12] = {0x42, 0x00, 0x11, 0x00, 'O', 'B', 0, 0};
    head[8] = (uint8_t)n, head[9] = (uint8_t)(n >> 8), head[10] = (uint8_t)(n >> 16), head[11] = (uint8_t)(n >> 24);
    uint8_t *plain = calloc(1, n + sizeof head);
    assert_non_null(plain);
    memcpy(plain, head, sizeof head);
    for (size_t i = 0; noise && i < n; i++)
        plain[sizeof head + i] = (uint8_t)((i * 2654435761u) >> 13);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = 128 + sizeof meta + deflateBound(&z, n + sizeof head);
    uint8_t *out = calloc(1, cap);
    assert_non_null(out);
    memcpy(out + 128, meta, sizeof meta);
    z.next_in = plain;
    z.avail_in = (uInt)(n + sizeof head);
    z.next_out = out + 128 + sizeof meta;
    z.avail_out = (uInt)(cap - 128 - sizeof meta);
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *len = 128 + sizeof meta + z.total_out;
    deflateEnd(&z);
    free(plain);
    return out;
}

/* A deflate bomb (64 MiB of zeros in about 64 KB) is refused by its ratio,
 * a file that inflates past the caller's cap by the cap; honest data passes. */
static void test_inflate_bounded(void **state)
{
    (void)state;
    size_t len;
    dqr_error err = {0};
    uint8_t *bomb = deflated_file(64u << 20, false, &len);
    assert_true(len < (512u << 10));
    assert_null(dcm_file_parse(bomb, len, &err));
    assert_int_equal(err.code, DQR_E_LIMIT);
    assert_non_null(strstr(err.message, "deflated data expands more than 200 times"));
    free(bomb);

    uint8_t *honest = deflated_file(3u << 20, true, &len);
    dcm_file *f = dcm_file_parse(honest, len, &err);
    assert_non_null(f);
    assert_int_equal(dcm_element_length(dcm_dataset_get(dcm_file_dataset(f), DCM_TAG(0x0042, 0x0011))), 3u << 20);
    dcm_file_close(f);
    dcm_read_options capped = {2u << 20, false};
    assert_null(dcm_file_parse_with(honest, len, &capped, &err));
    assert_int_equal(err.code, DQR_E_LIMIT);
    assert_non_null(strstr(err.message, "deflated data expands beyond 2097152 bytes"));
    free(honest);
    /* small files are never refused for their ratio: 512 KiB of zeros */
    uint8_t *small = deflated_file(512u << 10, false, &len);
    assert_non_null(f = dcm_file_parse(small, len, &err));
    dcm_file_close(f);
    free(small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_syntax),
        cmocka_unit_test(test_big_endian_bytes),
        cmocka_unit_test(test_deferred_values_stream),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_nesting_limit_built),
        cmocka_unit_test(test_bare_dataset_guess),
        cmocka_unit_test(test_edit_and_copy),
        cmocka_unit_test(test_group_length_recomputed),
        cmocka_unit_test(test_stray_meta_not_written),
        cmocka_unit_test(test_private_blocks),
        cmocka_unit_test(test_parse_borrowed),
        cmocka_unit_test(test_descending_tags_parse_fast),
        cmocka_unit_test(test_unordered_and_repeated_tags),
        cmocka_unit_test(test_inflate_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
